//! `securedoc inspect`: is this a well-formed envelope, and what does its header say?

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use envelope_core::{Envelope, Header, Mode, CHUNK_LEN, MAGIC, SEALED_CHUNK_LEN};

use super::page_check::{judge, Verdict, RELEASE};
use crate::display::{printable, printable_json};
use crate::input::{format_size, format_time, read_file};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The envelope (securedoc.html).
    envelope: PathBuf,
    /// Print the header as JSON instead.
    #[arg(long)]
    json: bool,
}

/// The envelope bytes from a securedoc.html page, its base64 text, or the raw bytes.
pub fn envelope_bytes(path: &Path) -> anyhow::Result<Vec<u8>> {
    Ok(read_envelope(path)?.0)
}

/// The envelope bytes and, when the file is a page, the page.
fn read_envelope(path: &Path) -> anyhow::Result<(Vec<u8>, Option<String>)> {
    let raw = read_file(path)?;
    if raw.starts_with(MAGIC) {
        return Ok((raw, None));
    }
    let not_envelope = || anyhow::anyhow!("{} is not a securedoc envelope", path.display());
    let text = std::str::from_utf8(&raw).map_err(|_| not_envelope())?;
    let (data, page) = match securedoc_templates::envelope_text_from_html(text) {
        Some(data) => (data, Some(text)),
        None if text.contains("id=\"securedoc-envelope\"") => {
            bail!(
                "{} is damaged or has been altered (the page is cut off)",
                path.display()
            )
        }
        None if text.trim_start().starts_with('<') => return Err(not_envelope()),
        // The text form starts with the base64 of the magic ("SDOC" is "U0RPQ...");
        // any other text is some other file, not a damaged envelope.
        None if !text.trim_start().starts_with("U0RPQ") => return Err(not_envelope()),
        None => (text, None),
    };
    let bytes =
        envelope_core::from_text(data).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if !bytes.starts_with(MAGIC) {
        return Err(not_envelope());
    }
    Ok((bytes, page.map(String::from)))
}

pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let (bytes, page) = read_envelope(&args.envelope)?;
    let envelope = Envelope::parse(&bytes)
        .with_context(|| format!("{} is not a well-formed envelope", args.envelope.display()))?;
    let header = envelope.header();
    if let Some(kdf) = &header.kdf {
        kdf.check().with_context(|| {
            format!("{} would be refused by an opener", args.envelope.display())
        })?;
    }
    check_payload_framing(envelope.payload_len())
        .with_context(|| format!("{} is not a well-formed envelope", args.envelope.display()))?;
    let verdict = page.as_deref().map(|page| judge(page, header, &bytes));
    if args.json {
        println!("{}", printable_json(&serde_json::to_string_pretty(header)?));
    } else {
        print_header(header, envelope.payload_len());
        match &verdict {
            None => println!("  page:        none (the envelope's bytes or text only)"),
            Some(Verdict::Genuine) => {
                println!("  page:        genuine: exactly as securedoc {RELEASE} renders it")
            }
            Some(Verdict::NotGenuine(differences)) => {
                println!("  page:        NOT GENUINE: not what securedoc {RELEASE} renders for this header");
                for difference in differences {
                    println!("               - {difference}");
                }
            }
        }
    }
    if let Some(Verdict::NotGenuine(differences)) = &verdict {
        let what = if args.json {
            differences.join("; ")
        } else {
            "see above".to_string()
        };
        bail!(
            "{} is not a genuine securedoc page ({what}): do not type a password into it",
            args.envelope.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What can be checked of the payload without the key: that it is long
/// enough to hold its final chunk's tag.
fn check_payload_framing(len: usize) -> anyhow::Result<()> {
    let last = len % SEALED_CHUNK_LEN;
    if len == 0 || (last > 0 && last < SEALED_CHUNK_LEN - CHUNK_LEN) {
        bail!("its encrypted payload is truncated");
    }
    Ok(())
}

fn print_header(header: &Header, payload_len: usize) {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    println!("securedoc envelope, format v{}", header.v);
    println!("  id:          {}", printable(&header.id));
    match (&header.mode, &header.kdf) {
        (Mode::Passphrase, Some(kdf)) => {
            println!(
                "  mode:        passphrase (Argon2id, {} MiB, {} passes, {} lane{})",
                kdf.m / 1024,
                kdf.t,
                kdf.p,
                if kdf.p == 1 { "" } else { "s" }
            )
        }
        (mode, _) => println!("  mode:        {}", mode.as_str()),
    }
    println!(
        "  key server:  {}",
        printable(header.key_server.as_deref().unwrap_or("none"))
    );
    println!("  from:        {}", printable(&header.from));
    println!("  to:          {}", printable(&header.to));
    println!("  created:     {}", format_time(header.created));
    let now = jiff::Timestamp::now().as_second();
    match header.expires {
        Some(e) if e < now => println!("  expires:     {} (expired)", format_time(e)),
        Some(e) => println!("  expires:     {}", format_time(e)),
        None => println!("  expires:     never"),
    }
    let f = header.flags;
    println!(
        "  flags:       reply {}, reply-all {}, forward {}, print {}, read receipt {}",
        yes_no(f.reply),
        yes_no(f.reply_all),
        yes_no(f.forward),
        yes_no(f.print),
        yes_no(f.read_receipt)
    );
    println!(
        "  security:    {}",
        serde_json::to_value(header.security)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    );
    if header.phrase.is_some() {
        println!("  phrase:      (present)");
    }
    if let Some(lang) = &header.lang {
        println!("  language:    {}", printable(lang));
    }
    if let Some(organization) = &header.organization {
        println!("  organization: {}", printable(organization));
    }
    let chunks = payload_len.div_ceil(SEALED_CHUNK_LEN);
    println!(
        "  payload:     {} encrypted, {} chunk{}",
        format_size(payload_len as u64),
        chunks,
        if chunks == 1 { "" } else { "s" }
    );
}
