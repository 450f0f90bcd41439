//! `securedoc admin account …`: recipients' accounts.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use super::{open_store, runtime};

#[derive(Debug, Subcommand)]
pub(super) enum AccountCommand {
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
        /// The account's language (en, fr): envelopes sealed for it speak it.
        #[arg(long, default_value = "en", value_parser = crate::cli::seal::parse_language)]
        language: String,
        /// A member of staff: the portal's Compose offers the sender options
        /// (read receipt, restrictions, expiry, security, delivery) and may
        /// write to any address. The address must be in `internal_domains`.
        #[arg(long)]
        internal: bool,
    },
    /// End a lockout now (it also ends by itself after the lock time, or with
    /// a password reset).
    Unlock {
        /// The recipient's e-mail address.
        #[arg(long)]
        address: String,
    },
    /// Remove the password, security questions, phrase, remembered browsers,
    /// pending registrations and links of an address: its owner registers
    /// again from any envelope. Messages sent to it stay openable.
    Reset {
        /// The recipient's e-mail address.
        #[arg(long)]
        address: String,
    },
    /// Remove the account and everything the key server keeps about the
    /// address, including its place on messages (it can no longer open them).
    Delete {
        /// The recipient's e-mail address.
        #[arg(long)]
        address: String,
    },
    /// Stop an account from opening messages or resetting its password.
    Disable {
        /// The recipient's e-mail address.
        #[arg(long)]
        address: String,
    },
    /// Let a disabled account open messages again.
    Enable {
        /// The recipient's e-mail address.
        #[arg(long)]
        address: String,
    },
}

pub(super) fn run(config: &key_server::Config, command: AccountCommand) -> anyhow::Result<()> {
    match command {
        AccountCommand::Create {
            address,
            password_file,
            first_name,
            last_name,
            phrase,
            language,
            internal,
        } => {
            envelope_core::validate_address("--address", &address).map_err(anyhow::Error::msg)?;
            if internal {
                staff_address(config, &address)?;
            }
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
                let store = open_store(config).await?;
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
                    language,
                    password_hash: hasher.hash(password).await?,
                    phrase,
                };
                store.create_account(&account).await?;
                store.confirm_account(&address).await?;
                if internal {
                    store.set_internal(&address, true).await?;
                }
                anyhow::Ok(())
            })?;
            let kind = if internal { "staff account" } else { "account" };
            eprintln!("Created the confirmed {kind} {address}.");
        }
        AccountCommand::Unlock { address } => {
            let found = runtime()?.block_on(async {
                let store = open_store(config).await?;
                anyhow::Ok(store.unlock_account(&address).await?)
            })?;
            if !found {
                anyhow::bail!("there is no account for {address}");
            }
            eprintln!("Unlocked {address}: the next right password opens its messages.");
        }
        AccountCommand::Reset { address } => {
            let address = address.to_ascii_lowercase();
            let removed = runtime()?.block_on(async {
                let store = open_store(config).await?;
                anyhow::Ok(store.reset_account(&address).await?)
            })?;
            if removed == key_server::Removed::default() {
                anyhow::bail!("there is no account, registration or link for {address}");
            }
            eprintln!(
                "Reset {address}: removed {} account, {} pending registration(s), {} link(s). \
                 Its owner registers again from any secure message sent to it.",
                removed.accounts, removed.pending_registrations, removed.links
            );
        }
        AccountCommand::Delete { address } => {
            let address = address.to_ascii_lowercase();
            let removed = runtime()?.block_on(async {
                let store = open_store(config).await?;
                anyhow::Ok(store.delete_account(&address).await?)
            })?;
            eprintln!(
                "Deleted {address}: removed {} account, {} pending registration(s), {} link(s), \
                 and its place on the messages sent to it.",
                removed.accounts, removed.pending_registrations, removed.links
            );
        }
        AccountCommand::Disable { address } => set_disabled(config, &address, true)?,
        AccountCommand::Enable { address } => set_disabled(config, &address, false)?,
    }
    Ok(())
}

fn set_disabled(config: &key_server::Config, address: &str, disable: bool) -> anyhow::Result<()> {
    let found = runtime()?.block_on(async {
        let store = open_store(config).await?;
        anyhow::Ok(store.set_account_disabled(address, disable).await?)
    })?;
    if !found {
        anyhow::bail!("there is no account for {address}");
    }
    if disable {
        eprintln!("Disabled {address}: it gets no key and no reset link until enabled.");
    } else {
        eprintln!("Enabled {address}: it opens its messages again.");
    }
    Ok(())
}

/// Staff accounts live in the organisation's own domains only.
fn staff_address(config: &key_server::Config, address: &str) -> anyhow::Result<()> {
    let domains = config.staff_domains();
    let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
    if domains.is_empty() {
        anyhow::bail!(
            "--internal makes a staff account, and staff accounts live in the organisation's own mail domains: set internal_domains in the configuration first, e.g. internal_domains = [\"clinic.example\"]"
        );
    }
    if !domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
        anyhow::bail!(
            "{address} is not in internal_domains ({}): a staff account must be one of the organisation's own addresses",
            domains.join(", ")
        );
    }
    Ok(())
}
