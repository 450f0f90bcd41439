//! `securedoc send`: seal, then mail each recipient a notification with the
//! envelope attached (push delivery, as CRES does).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::{FileTransport, Message, SmtpTransport, Transport};
use securedoc_templates::{context, render_email};

use super::seal::{seal, SealArgs};
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

/// Where mail goes.
enum Mailer {
    Outbox(FileTransport),
    Smtp(SmtpTransport),
}

impl Mailer {
    fn send(&self, message: &Message) -> anyhow::Result<()> {
        match self {
            Mailer::Outbox(transport) => transport
                .send(message)
                .map(drop)
                .context("cannot write to the outbox"),
            Mailer::Smtp(transport) => transport
                .send(message)
                .map(drop)
                .context("the SMTP relay refused the message"),
        }
    }
}

pub fn run(mut args: SendArgs) -> anyhow::Result<ExitCode> {
    let mailer = match &args.smtp_url {
        Some(url) => Mailer::Smtp(
            SmtpTransport::from_url(url)
                .with_context(|| {
                    "--smtp-url is not a URL like smtp://mail.example.org:587".to_string()
                })?
                .build(),
        ),
        None => {
            std::fs::create_dir_all(&args.outbox)
                .with_context(|| format!("cannot create the outbox {}", args.outbox.display()))?;
            Mailer::Outbox(FileTransport::new(&args.outbox))
        }
    };
    // Without -o or --out-dir, the envelopes only travel in the mail.
    let scratch = tempfile::tempdir()?;
    if args.seal.output.is_none() && args.seal.out_dir.is_none() {
        args.seal.out_dir = Some(scratch.path().to_path_buf());
    }
    let sealed = seal(&args.seal)?;
    let from: Mailbox = args
        .seal
        .from
        .parse()
        .with_context(|| format!("--from {} is not a mail address", args.seal.from))?;
    let mode = if sealed.key_server.is_some() {
        "server"
    } else {
        "passphrase"
    };
    let email = render_email(
        "notification",
        context! {
            sender => args.seal.from,
            mode,
            key_server => sealed.key_server,
            expires => sealed.expires.map(format_time),
        },
    )?;
    for (to, envelope) in &sealed.envelopes {
        let bytes = std::fs::read(envelope)
            .with_context(|| format!("cannot read {}", envelope.display()))?;
        let message = Message::builder()
            .from(from.clone())
            .to(to
                .parse()
                .with_context(|| format!("--to {to} is not a mail address"))?)
            .subject(&email.subject)
            .multipart(
                MultiPart::mixed()
                    .multipart(MultiPart::alternative_plain_html(
                        email.text.clone(),
                        email.html.clone(),
                    ))
                    .singlepart(Attachment::new("securedoc.html".into()).body(
                        bytes,
                        ContentType::parse("text/html; charset=utf-8").expect("a valid type"),
                    )),
            )
            .context("cannot build the notification")?;
        mailer
            .send(&message)
            .with_context(|| format!("cannot send the notification to {to}"))?;
        eprintln!("Sent the notification to {to}");
    }
    if let Mailer::Outbox(_) = mailer {
        eprintln!(
            "The notifications are in {} (one .eml file each).",
            args.outbox.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
