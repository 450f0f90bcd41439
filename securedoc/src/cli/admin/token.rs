//! `securedoc admin token …`: senders' API tokens.

use clap::Subcommand;

use super::{open_store, runtime};

#[derive(Debug, Subcommand)]
pub(super) enum TokenCommand {
    /// Create a sender and print its API token (shown once; stored only hashed).
    Create {
        /// A name for the sender, e.g. the system or person that will use the token.
        #[arg(long)]
        name: String,
    },
}

pub(super) fn run(config: &key_server::Config, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { name } => {
            let token = runtime()?.block_on(async {
                let store = open_store(config).await?;
                anyhow::Ok(store.create_sender(&name).await?)
            })?;
            println!("{token}");
            eprintln!("Created sender '{name}'. Store the token now: it is not shown again.");
        }
    }
    Ok(())
}
