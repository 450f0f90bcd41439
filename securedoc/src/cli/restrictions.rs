//! The sender's options sealed into every envelope's header and registered
//! at the key server: what the recipient may do with the message (reply,
//! reply all, forward, print) and whether the sender wants a read receipt.

use clap::Args;
use envelope_core::Flags;

/// Options for `seal` and `send`.
#[derive(Debug, Args)]
pub struct SenderOptions {
    /// Mail me a read receipt when each recipient first opens the message (server mode).
    #[arg(long, requires = "key_server")]
    read_receipt: bool,
    /// The language of the read receipts: en or fr.
    #[arg(long, value_name = "LANG", requires = "read_receipt")]
    pub(super) receipt_lang: Option<String>,
    /// Recipients may not reply (the key server refuses a secure reply).
    #[arg(long)]
    no_reply: bool,
    /// Recipients may not reply to all.
    #[arg(long)]
    no_reply_all: bool,
    /// Recipients may not forward the message.
    #[arg(long)]
    no_forward: bool,
    /// Ask the opener not to offer printing.
    #[arg(long)]
    no_print: bool,
}

impl SenderOptions {
    /// The flags as the header and the key server carry them.
    pub fn flags(&self) -> Flags {
        Flags {
            reply: !self.no_reply,
            reply_all: !self.no_reply_all,
            forward: !self.no_forward,
            print: !self.no_print,
            read_receipt: self.read_receipt,
        }
    }

    /// The receipt language, checked against the languages there are.
    pub fn receipt_lang(&self) -> anyhow::Result<Option<String>> {
        let Some(lang) = &self.receipt_lang else {
            return Ok(None);
        };
        let known: Vec<&str> = securedoc_templates::languages()
            .into_iter()
            .map(|(code, _)| code)
            .collect();
        if !known.contains(&lang.as_str()) {
            anyhow::bail!("--receipt-lang {lang}: choose one of {}", known.join(", "));
        }
        Ok(Some(lang.clone()))
    }
}
