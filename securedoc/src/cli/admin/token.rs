//! `securedoc admin token …`: senders' API tokens.
//!
//! A token can register messages and so learn every registered recipient's
//! personal security phrase (the sealer must show it in the envelope): give
//! tokens only to systems you trust, limit them to your From domains, and
//! revoke the ones you no longer use.

use anyhow::bail;
use clap::Subcommand;
use key_server::Revoked;

use super::{open_store, runtime};
use crate::display::printable;
use crate::input::format_time;

#[derive(Debug, Subcommand)]
pub(super) enum TokenCommand {
    /// Create a sender and print its API token (shown once; stored only hashed).
    Create {
        /// A name for the sender, e.g. the system or person that will use the token.
        #[arg(long)]
        name: String,
        /// Allow only messages From this domain (e.g. clinic.example); repeat
        /// for several. Without it, the token may send From any address.
        #[arg(long = "from-domain", value_name = "DOMAIN")]
        from_domains: Vec<String>,
    },
    /// List the senders: name, created, revoked, allowed From domains (never the token).
    List,
    /// Revoke a sender's token: it registers nothing more (envelopes sealed
    /// with it keep opening).
    Revoke {
        /// The sender's name, as given at create.
        #[arg(long)]
        name: String,
    },
}

pub(super) fn run(config: &key_server::Config, command: TokenCommand) -> anyhow::Result<()> {
    let runtime = runtime()?;
    match command {
        TokenCommand::Create { name, from_domains } => {
            let token = runtime.block_on(async {
                let store = open_store(config).await?;
                anyhow::Ok(store.create_sender_for(&name, &from_domains).await?)
            })?;
            println!("{token}");
            let limit = if from_domains.is_empty() {
                String::new()
            } else {
                format!(
                    " (From {} only)",
                    from_domains.join(", ").to_ascii_lowercase()
                )
            };
            eprintln!(
                "Created sender '{}'{limit}. Store the token now: it is not shown again.",
                printable(&name)
            );
        }
        TokenCommand::List => {
            let senders = runtime.block_on(async {
                let store = open_store(config).await?;
                anyhow::Ok(store.list_senders().await?)
            })?;
            if senders.is_empty() {
                eprintln!("No senders yet: `securedoc admin token create --name NAME` makes one.");
            }
            for sender in senders {
                let revoked = sender.revoked_at.map_or_else(
                    || "active".to_string(),
                    |at| format!("revoked {}", format_time(at)),
                );
                let domains = if sender.from_domains.is_empty() {
                    "any From domain".to_string()
                } else {
                    format!("From {}", sender.from_domains.join(", "))
                };
                println!(
                    "{}\tcreated {}\t{revoked}\t{domains}",
                    printable(&sender.name),
                    format_time(sender.created_at)
                );
            }
        }
        TokenCommand::Revoke { name } => {
            let revoked = runtime.block_on(async {
                let store = open_store(config).await?;
                anyhow::Ok(store.revoke_sender(&name).await?)
            })?;
            let name = printable(&name);
            match revoked {
                Revoked::Now => eprintln!("Revoked the token of sender '{name}'."),
                Revoked::Already => eprintln!("The token of sender '{name}' was revoked already."),
                Revoked::NoSuchSender => bail!(
                    "there is no sender named '{name}'; `securedoc admin token list` shows them"
                ),
            }
        }
    }
    Ok(())
}
