//! `securedoc serve`: the key server, and `securedoc admin`: its administration.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML); `SECUREDOC_*` environment variables override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

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
    Token(TokenCommand),
    /// Recipient accounts.
    #[command(subcommand)]
    Account(AccountCommand),
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// Create a confirmed recipient account (pre-provisioning, or for tests);
    /// recipients normally register themselves from an envelope.
    Create {
        /// The recipient's e-mail address.
        #[arg(long)]
        address: String,
        /// File holding the password (one trailing newline is ignored).
        #[arg(long, value_name = "FILE")]
        password_file: PathBuf,
        /// First name.
        #[arg(long, default_value = "")]
        first_name: String,
        /// Last name.
        #[arg(long, default_value = "")]
        last_name: String,
        /// Personal security phrase, shown on envelopes sealed for this address.
        #[arg(long)]
        phrase: Option<String>,
    },
    /// End a lockout now (it also ends by itself after the lock time, or with
    /// a password reset).
    Unlock {
        /// The recipient's e-mail address.
        #[arg(long)]
        address: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a sender and print its API token (shown once; stored only hashed).
    Create {
        /// A name for the sender, e.g. the system or person that will use the token.
        #[arg(long)]
        name: String,
    },
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("cannot start the async runtime")
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = key_server::Config::load(args.config.as_deref())?;
    runtime()?.block_on(key_server::serve(&config, |addr| {
        eprintln!(
            "securedoc key server listening on http://{addr} (data in {}, database {})",
            config.data_dir.display(),
            redact(&config.database_url())
        );
    }))?;
    Ok(ExitCode::SUCCESS)
}

pub fn admin(args: AdminArgs) -> anyhow::Result<ExitCode> {
    let config = key_server::Config::load(args.config.as_deref())?;
    match args.command {
        AdminCommand::Token(TokenCommand::Create { name }) => {
            let token = runtime()?.block_on(async {
                let store = open_store(&config).await?;
                anyhow::Ok(store.create_sender(&name).await?)
            })?;
            println!("{token}");
            eprintln!("Created sender '{name}'. Store the token now: it is not shown again.");
        }
        AdminCommand::Account(AccountCommand::Create {
            address,
            password_file,
            first_name,
            last_name,
            phrase,
        }) => {
            envelope_core::validate_address("--address", &address).map_err(anyhow::Error::msg)?;
            let password = crate::cli::PassphraseSource {
                passphrase_file: Some(password_file),
                passphrase_stdin: false,
            }
            .read()
            .context("cannot read the password")?;
            let password = zeroize::Zeroizing::new(
                String::from_utf8(password.to_vec())
                    .map_err(|_| anyhow::anyhow!("the password is not UTF-8 text"))?,
            );
            runtime()?.block_on(async {
                let store = open_store(&config).await?;
                let hasher = key_server::PasswordHasher::new(
                    config.password_m_kib,
                    config.password_t,
                    config.password_p,
                    1,
                )?;
                let account = key_server::NewAccount {
                    address: address.clone(),
                    first_name,
                    last_name,
                    language: "en".into(),
                    password_hash: hasher.hash(password).await?,
                    phrase,
                };
                store.create_account(&account).await?;
                store.confirm_account(&address).await?;
                anyhow::Ok(())
            })?;
            eprintln!("Created the confirmed account {address}.");
        }
        AdminCommand::Account(AccountCommand::Unlock { address }) => {
            let found = runtime()?.block_on(async {
                let store = open_store(&config).await?;
                anyhow::Ok(store.unlock_account(&address).await?)
            })?;
            if !found {
                anyhow::bail!("there is no account for {address}");
            }
            eprintln!("Unlocked {address}: the next right password opens its messages.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The store the server would use, created if it does not exist yet.
async fn open_store(config: &key_server::Config) -> anyhow::Result<key_server::Store> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    Ok(key_server::Store::connect(&config.database_url()).await?)
}

/// A database URL without its password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_stay_out_of_the_log() {
        assert_eq!(
            super::redact("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            super::redact("sqlite://./data/securedoc.db?mode=rwc"),
            "sqlite://./data/securedoc.db?mode=rwc"
        );
    }
}
