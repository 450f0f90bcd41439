//! `securedoc seal`: compose (or take) a message and seal one envelope per recipient.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{ArgGroup, Args};
use envelope_core::{
    compose, validate_address, Draft, DraftAttachment, EnvelopeInfo, Flags, Sealer, DEFAULT_M_KIB,
    DEFAULT_P, DEFAULT_T,
};
use indicatif::{ProgressBar, ProgressStyle};
use securedoc_templates::EnvelopePage;

use super::PassphraseSource;
use crate::envelope_file::seal_to_file;
use crate::input::{check_output, format_size, format_time, parse_expiry, parse_size, read_file};

/// Inputs larger than this get a progress bar (when stderr is a terminal).
const PROGRESS_THRESHOLD: usize = 8 << 20;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("destination").required(true).args(["output", "out_dir"])))]
pub struct SealArgs {
    /// Sender address.
    #[arg(long, value_name = "ADDR")]
    from: String,
    /// Recipient address; repeat for several recipients (one envelope each).
    #[arg(long = "to", value_name = "ADDR", required = true)]
    to: Vec<String>,
    /// Subject (required unless --eml gives a whole message).
    #[arg(long, required_unless_present = "eml")]
    subject: Option<String>,
    /// Plain-text body.
    #[arg(long, conflicts_with_all = ["body_file", "eml"])]
    body: Option<String>,
    /// Plain-text body from a file (UTF-8).
    #[arg(long, value_name = "FILE", conflicts_with = "eml")]
    body_file: Option<PathBuf>,
    /// HTML body from a file (UTF-8); shown in a sandbox that runs no script and loads nothing remote.
    #[arg(long, value_name = "FILE", conflicts_with = "eml")]
    html_file: Option<PathBuf>,
    /// Attach a file; repeat for several.
    #[arg(long, value_name = "FILE", conflicts_with = "eml")]
    attach: Vec<PathBuf>,
    /// Seal an existing RFC 5322 message (.eml) instead of composing one.
    #[arg(long, value_name = "FILE", conflicts_with = "subject")]
    eml: Option<PathBuf>,
    #[command(flatten)]
    passphrase: PassphraseSource,
    /// When the message expires: 1d, 7d, 30d (any number of days, or hours as 12h) or a date YYYY-MM-DD.
    #[arg(long, value_name = "WHEN")]
    expires: Option<String>,
    /// Ask the opener not to offer printing.
    #[arg(long)]
    no_print: bool,
    /// Largest message accepted: bodies plus attachments (1 MB = 1024 KB).
    #[arg(long, value_name = "SIZE", default_value = "35MB", value_parser = parse_size)]
    max_size: u64,
    /// Write the envelope here (one recipient only).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write one envelope per recipient into this directory.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Replace output files that already exist.
    #[arg(long)]
    force: bool,
}

pub fn run(args: SealArgs) -> anyhow::Result<ExitCode> {
    let now = jiff::Timestamp::now();
    validate_address("--from", &args.from).map_err(anyhow::Error::msg)?;
    for to in &args.to {
        validate_address("--to", to).map_err(anyhow::Error::msg)?;
    }
    let expires = args
        .expires
        .as_deref()
        .map(|e| parse_expiry(e, now))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let outputs = output_paths(&args)?;
    for path in &outputs {
        check_output(path, args.force)?;
    }
    let message = message_bytes(&args, now)?;
    let passphrase = args.passphrase.read()?;
    if let Some(dir) = &args.out_dir {
        // Created only now, so a run that fails on its inputs leaves nothing behind.
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    }

    let info = |to: &str| EnvelopeInfo {
        from: args.from.clone(),
        to: to.to_string(),
        created: now.as_second(),
        expires: expires.map(|e| e.as_second()),
        flags: Flags {
            print: !args.no_print,
            ..Flags::default()
        },
    };
    // An --eml message's size is only known once its MIME parts are decoded;
    // that runs beside the sealing and is waited for before any file is put in place.
    let eml_check = |message: &[u8]| -> anyhow::Result<()> {
        match &args.eml {
            Some(path) => check_eml(message, args.max_size, path),
            None => Ok(()),
        }
    };
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let mut check = Some(scope.spawn(|| eml_check(&message)));
        for (to, path) in args.to.iter().zip(&outputs) {
            let header = info(to).passphrase_header(DEFAULT_M_KIB, DEFAULT_T, DEFAULT_P)?;
            let page = EnvelopePage::new(&header);
            let sealer = Sealer::new(header, envelope_core::ContentKey::generate())?;
            let progress = progress_bar(message.len(), path);
            let wait_for_check = || match check.take() {
                Some(check) => check.join().expect("the size check does not panic"),
                None => Ok(()),
            };
            seal_to_file(
                &page,
                &sealer,
                &passphrase,
                &message,
                (path, args.force),
                &progress,
                wait_for_check,
            )
            .with_context(|| format!("sealing for {to} failed"))?;
            progress.finish_and_clear();
            println!("{}", path.display());
        }
        Ok(())
    })?;
    let expiry = expires
        .map(|e| format!(", expires {}", format_time(e.as_second())))
        .unwrap_or_default();
    eprintln!(
        "Sealed {} envelope{} ({}{expiry}). Open in any browser (double-click the file) with the passphrase.\n\
         Give the passphrase to the recipient another way (phone, text message), never in the same e-mail.",
        outputs.len(),
        if outputs.len() == 1 { "" } else { "s" },
        format_size(message.len() as u64),
    );
    Ok(ExitCode::SUCCESS)
}

fn output_paths(args: &SealArgs) -> anyhow::Result<Vec<PathBuf>> {
    if let Some(path) = &args.output {
        if args.to.len() > 1 {
            bail!("-o names one file but there are {} recipients; use --out-dir DIR for one envelope per recipient", args.to.len());
        }
        return Ok(vec![path.clone()]);
    }
    let dir = args
        .out_dir
        .as_ref()
        .expect("clap requires -o or --out-dir");
    let mut seen = std::collections::HashSet::new();
    args.to
        .iter()
        .map(|to| {
            if !seen.insert(to.to_ascii_lowercase()) {
                bail!("{to} is given twice with --to");
            }
            Ok(dir.join(format!(
                "securedoc-{}.html",
                envelope_core::sanitize_filename(to)
            )))
        })
        .collect()
}

/// The RFC 5322 message to seal, checked against --max-size.
fn message_bytes(args: &SealArgs, now: jiff::Timestamp) -> anyhow::Result<Vec<u8>> {
    let limit = args.max_size;
    if let Some(path) = &args.eml {
        // Refuse a file far over the limit before reading it; check_eml
        // measures the decoded size once it is read.
        let len = std::fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .len();
        if len > limit.saturating_mul(2) {
            return Err(too_big(len, limit));
        }
        return read_file(path);
    }
    let mut size = 0u64;
    let text = match (&args.body, &args.body_file) {
        (Some(body), _) => Some(body.clone()),
        (None, Some(path)) => Some(read_text(path)?),
        (None, None) => None,
    };
    let html = args.html_file.as_deref().map(read_text).transpose()?;
    size +=
        text.as_ref().map_or(0, |t| t.len() as u64) + html.as_ref().map_or(0, |h| h.len() as u64);
    let mut attachments = Vec::new();
    for path in &args.attach {
        let len = std::fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .len();
        if !std::fs::metadata(path)?.is_file() {
            bail!("{} is not a file", path.display());
        }
        size += len;
        if size > limit {
            return Err(too_big(size, limit));
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "attachment".into());
        attachments.push(DraftAttachment {
            name,
            bytes: read_file(path)?,
        });
    }
    Ok(compose(&Draft {
        from: args.from.clone(),
        to: args.to.clone(),
        subject: args.subject.clone().unwrap_or_default(),
        text,
        html,
        attachments,
        date: now.as_second(),
    }))
}

fn too_big(size: u64, limit: u64) -> anyhow::Error {
    anyhow::anyhow!(
        "the message is {} (bodies and attachments), over the {} limit; send fewer or smaller attachments, or raise --max-size",
        format_size(size),
        format_size(limit)
    )
}

/// An --eml file must be an e-mail message within the size limit.
fn check_eml(message: &[u8], limit: u64, path: &Path) -> anyhow::Result<()> {
    let size = envelope_core::content_size(message)
        .map_err(|_| anyhow::anyhow!("{} is not an e-mail message (RFC 5322)", path.display()))?;
    if size > limit {
        return Err(too_big(size, limit));
    }
    Ok(())
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    String::from_utf8(read_file(path)?)
        .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", path.display()))
}

fn progress_bar(len: usize, path: &Path) -> ProgressBar {
    if len < PROGRESS_THRESHOLD || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64).with_message(format!("sealing {}", path.display()));
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}
