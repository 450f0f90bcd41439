//! `securedoc admin`: the key server's administration, run against its store
//! with the same configuration as `serve`. One module per subject.

mod account;
mod token;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::serve::runtime;

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Configuration file (TOML), as for `serve`.
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Sender API tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Recipient accounts.
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Run the scheduled sweep once, now (`serve` runs it every minute):
    /// delete the keys of expired and withdrawn messages and what they
    /// opened, end idle portal sessions, and apply the account lifecycle
    /// (expiry warnings, inactive accounts disabled, then deleted). Useful
    /// after lowering `retention_days`, or from a scheduler when no server
    /// runs.
    Sweep,
}

pub fn admin(args: AdminArgs) -> anyhow::Result<ExitCode> {
    let config = key_server::Config::load(args.config.as_deref())?;
    match args.command {
        AdminCommand::Token(command) => token::run(&config, command)?,
        AdminCommand::Account(command) => account::run(&config, command)?,
        AdminCommand::Sweep => {
            runtime()?.block_on(async {
                let store = open_store(&config).await?;
                key_server::sweep_once(&store, &config).await;
                anyhow::Ok(())
            })?;
            eprintln!("Swept: expired keys, ended sessions and the account lifecycle are done.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The store the server would use, created if it does not exist yet.
async fn open_store(config: &key_server::Config) -> anyhow::Result<key_server::Store> {
    key_server::create_private_dir(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    Ok(key_server::Store::connect(&config.database_url()).await?)
}
