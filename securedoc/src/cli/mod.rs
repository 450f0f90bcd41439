//! Command-line interface: argument definitions and dispatch.

mod admin;
mod delivery;
mod hook;
mod inspect;
mod message;
mod open;
mod page_check;
mod register;
mod restrictions;
mod seal;
mod send;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Seal confidential e-mail into self-contained securedoc.html envelopes.
#[derive(Debug, Parser)]
#[command(name = "securedoc", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Seal a message into one envelope per recipient.
    Seal(Box<seal::SealArgs>),
    /// Seal, then e-mail each recipient a notification with the envelope attached (or, with
    /// --delivery pull, a link to it at the key server).
    Send(Box<send::SendArgs>),
    /// Open an envelope with its passphrase and write the message (.eml).
    Open(open::OpenArgs),
    /// Say whether a file is a well-formed envelope and print its header (no secret needed).
    Inspect(inspect::InspectArgs),
    /// Run the key server.
    Serve(serve::ServeArgs),
    /// Run the mail hook: an SMTP content filter for Postfix.
    Hook(hook::HookArgs),
    /// Administer the key server (sender tokens, recipient accounts).
    Admin(admin::AdminArgs),
    /// After sending: see who opened a message; lock, unlock, revoke it or change its expiry.
    Message(message::MessageArgs),
}

/// Where the passphrase comes from. Never a command-line argument: those are
/// visible to every user of the machine in the process list.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct PassphraseSource {
    /// Read the passphrase from this file (one trailing newline is ignored).
    #[arg(long, value_name = "FILE")]
    pub(crate) passphrase_file: Option<PathBuf>,
    /// Read the passphrase from standard input (one trailing newline is ignored).
    #[arg(long)]
    pub(crate) passphrase_stdin: bool,
}

impl Cli {
    /// Runs the chosen command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Seal(args) => seal::run(*args),
            Command::Send(args) => send::run(*args),
            Command::Open(args) => open::run(args),
            Command::Inspect(args) => inspect::run(args),
            Command::Serve(args) => serve::serve(args),
            Command::Hook(args) => hook::run(args),
            Command::Admin(args) => admin::admin(args),
            Command::Message(args) => message::run(args),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_argument_definitions_are_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
