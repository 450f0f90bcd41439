//! `securedoc send`: seal, then mail each recipient a notification with the
//! envelope attached (push delivery, as CRES does), or with a link to it at
//! the key server (pull delivery, as MailGate does).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use key_server::{MailAttachment, Mailer};
use securedoc_templates::{context, render_email};

use super::delivery::Delivery;
use super::seal::{seal, Delivered, SealArgs};
use crate::input::format_time;

#[derive(Debug, Args)]
pub struct SendArgs {
    #[command(flatten)]
    seal: SealArgs,
    /// Deliver through this SMTP relay: smtp://host:port (STARTTLS when offered),
    /// smtps://host (TLS), with user:password@ if it needs them.
    #[arg(long, value_name = "URL", env = "SECUREDOC_SMTP_URL")]
    smtp_url: Option<String>,
    /// Without --smtp-url, write each notification here as an .eml file.
    #[arg(long, value_name = "DIR", default_value = "outbox")]
    outbox: PathBuf,
}

pub fn run(mut args: SendArgs) -> anyhow::Result<ExitCode> {
    let mailer = Mailer::new(args.smtp_url.as_deref(), &args.outbox)?;
    // Without -o or --out-dir, the envelopes only travel in the mail (pull
    // delivery writes none).
    let scratch = tempfile::tempdir()?;
    if args.seal.output.is_none()
        && args.seal.out_dir.is_none()
        && args.seal.delivery != Delivery::Pull
    {
        args.seal.out_dir = Some(scratch.path().to_path_buf());
    }
    let sealed = seal(&args.seal)?;
    let mode = if sealed.key_server.is_some() {
        "server"
    } else {
        "passphrase"
    };
    // The key server as the notification names it: its organisation, else its address.
    let key_server = sealed.organization.clone().or(sealed.key_server.clone());
    for ((((to, envelope), lang), notify), passcode) in sealed
        .envelopes
        .iter()
        .zip(&sealed.languages)
        .zip(&sealed.notify)
        .zip(&sealed.passcode)
    {
        // A recipient who turned notification mails off finds a pulled
        // message in their portal Inbox; an attached envelope still goes,
        // since the mail is the only way it travels.
        if !notify && matches!(envelope, Delivered::Portal(_)) {
            eprintln!("Did not notify {to}: they turned notification mails off; the message is in their portal Inbox");
            continue;
        }
        let envelope = match envelope {
            Delivered::File(path) => Envelope::Attached(
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
            ),
            Delivered::Portal(link) => Envelope::Linked(link.clone()),
        };
        let message = notification(
            &Notice {
                from: &args.seal.from,
                to,
                lang,
                // A one-time passcode's recipient is told to ask for a code.
                mode: if *passcode { "passcode" } else { mode },
                key_server: key_server.as_deref(),
                expires: sealed.expires,
                reply_to_sender: false,
            },
            envelope,
        )?;
        mailer
            .send_blocking(&message)
            .with_context(|| format!("cannot send the notification to {to}"))?;
        eprintln!("Sent the notification to {to}");
    }
    if let Some(outbox) = mailer.outbox() {
        eprintln!(
            "The notifications are in {} (one .eml file each).",
            outbox.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What a notification says around its envelope.
pub(crate) struct Notice<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub lang: &'a str,
    /// `server`, `passcode` (server mode, read with a one-time code) or
    /// `passphrase`.
    pub mode: &'a str,
    /// How the notification names the key server (server mode).
    pub key_server: Option<&'a str>,
    /// Unix seconds.
    pub expires: Option<i64>,
    /// A plain reply reaches the sender (the mail hook sets Reply-To), so
    /// the notification says so instead of "do not reply".
    pub reply_to_sender: bool,
}

/// How the notification carries the envelope.
pub(crate) enum Envelope {
    /// `securedoc.html`, attached (push delivery).
    Attached(Vec<u8>),
    /// A link to it at the key server: the recipient's portal (pull delivery).
    Linked(String),
}

/// One recipient's notification with their `securedoc.html` attached, or a
/// link to it, in their language (the mail `send` and the mail hook both
/// send).
pub(crate) fn notification(notice: &Notice, envelope: Envelope) -> anyhow::Result<lettre::Message> {
    let (link, attachments) = match envelope {
        Envelope::Attached(bytes) => (
            None,
            vec![MailAttachment {
                name: "securedoc.html".into(),
                content_type: "text/html; charset=utf-8".into(),
                bytes,
            }],
        ),
        Envelope::Linked(link) => (Some(link), Vec::new()),
    };
    let email = render_email(
        "notification",
        context! {
            lang => notice.lang,
            sender => notice.from,
            mode => notice.mode,
            key_server => notice.key_server,
            expires => notice.expires.map(format_time),
            reply_to_sender => notice.reply_to_sender,
            link,
        },
    )?;
    Mailer::compose(notice.from, notice.to, &email, attachments)
        .context("cannot build the notification")
}
