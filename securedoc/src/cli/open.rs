//! `securedoc open`: the native opener, for administrators and scripts.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use envelope_core::{Envelope, OpenedMessage};

use super::PassphraseSource;
use crate::display::printable;
use crate::input::{check_output, format_size, format_time, write_atomically};

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The envelope (securedoc.html).
    envelope: PathBuf,
    #[command(flatten)]
    passphrase: PassphraseSource,
    /// Write the message here (.eml).
    #[arg(short = 'o', long = "output", value_name = "OUT.eml")]
    output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
    /// Open even if the envelope has expired.
    #[arg(long)]
    allow_expired: bool,
}

pub fn run(args: OpenArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.output {
        check_output(path, args.force)?;
    }
    let bytes = super::inspect::envelope_bytes(&args.envelope)?;
    let envelope = Envelope::parse(&bytes)
        .with_context(|| format!("cannot open {}", args.envelope.display()))?;
    let header = envelope.header();
    if let Some(expires) = header.expires {
        if expires < jiff::Timestamp::now().as_second() && !args.allow_expired {
            bail!(
                "this message expired on {}; add --allow-expired to open it anyway",
                format_time(expires)
            );
        }
    }
    let passphrase = args.passphrase.read()?;
    let payload = envelope
        .unlock_with_passphrase(&passphrase)
        .and_then(|cipher| cipher.decrypt(envelope.sealed_payload()))
        .with_context(|| format!("cannot open {}", args.envelope.display()))?;
    let opened = OpenedMessage::new(header.v, payload).map_err(|e| anyhow::anyhow!("{e}"))?;
    let view = opened.view().map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("Subject: {}", printable(&view.subject));
    println!("From:    {}", printable(&view.from));
    println!("To:      {}", printable(&view.to.join(", ")));
    if !view.cc.is_empty() {
        println!("Cc:      {}", printable(&view.cc.join(", ")));
    }
    println!(
        "Date:    {}",
        printable(view.date.as_deref().unwrap_or("-"))
    );
    println!(
        "Body:    {}",
        match (&view.text, &view.html) {
            (Some(_), Some(_)) => "text and HTML",
            (Some(_), None) => "text",
            (None, Some(_)) => "HTML",
            (None, None) => "none",
        }
    );
    for attachment in &view.attachments {
        println!(
            "Attachment: {} ({}, {})",
            printable(&attachment.name),
            printable(&attachment.content_type),
            format_size(attachment.bytes.len() as u64)
        );
    }
    match &args.output {
        Some(path) => {
            write_atomically(path, args.force, |out| out.write_all(&opened.eml()))?;
            eprintln!("Wrote the message to {}", path.display());
        }
        None => eprintln!("(add -o FILE.eml to save the message)"),
    }
    Ok(ExitCode::SUCCESS)
}
