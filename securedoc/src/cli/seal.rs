//! `securedoc seal`: compose (or take) a message and seal one envelope per recipient.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{ArgGroup, Args};
use envelope_core::{
    compose, validate_address, ContentKey, Draft, DraftAttachment, EnvelopeInfo, Sealer,
    SecurityLevel, DEFAULT_M_KIB, DEFAULT_P, DEFAULT_T,
};
use indicatif::{ProgressBar, ProgressStyle};
use securedoc_templates::EnvelopePage;

use super::delivery::{envelope_bytes, envelope_file_len, store, Delivery, KeyServerAccess};
use super::register::{key_server_client, read_token, register_with, Registration, ServerEnvelope};
use super::restrictions::SenderOptions;
use super::PassphraseSource;
use crate::display::printable;
use crate::envelope_file::seal_to_file;
use crate::input::{check_output, format_size, format_time, parse_expiry, parse_size, read_file};

/// Inputs larger than this get a progress bar (when stderr is a terminal).
const PROGRESS_THRESHOLD: usize = 8 << 20;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("destination").args(["output", "out_dir"])))]
pub struct SealArgs {
    /// Sender address.
    #[arg(long, value_name = "ADDR")]
    pub(super) from: String,
    /// Recipient address; repeat for several recipients (one envelope each).
    #[arg(long = "to", value_name = "ADDR", required = true)]
    pub(super) to: Vec<String>,
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
    key: KeySource,
    /// Sender API token for --key-server (from `securedoc admin token create`).
    #[arg(long, value_name = "FILE", requires = "key_server")]
    token_file: Option<PathBuf>,
    /// How often the key server asks the recipient for a password (server mode).
    #[arg(long, value_enum, default_value = "high", requires = "key_server")]
    security: Security,
    /// When the message expires: 1d, 7d, 30d (any number of days, or hours as 12h), a date
    /// YYYY-MM-DD (end of that day, UTC) or an exact time such as 2026-12-31T17:00:00Z.
    #[arg(long, value_name = "WHEN")]
    expires: Option<String>,
    #[command(flatten)]
    options: SenderOptions,
    /// The language of the envelope page and the notification (en, fr). Without it, each
    /// recipient's account language as the key server knows it, else English.
    #[arg(long, value_name = "CODE", value_parser = parse_language)]
    lang: Option<String>,
    /// Largest message accepted: bodies plus attachments (1 MB = 1024 KB).
    #[arg(long, value_name = "SIZE", default_value = "35MB", value_parser = parse_size)]
    max_size: u64,
    /// How each envelope reaches its recipient: push (the envelope file, attached to the
    /// notification), pull (kept at the key server, the notification links to it; server
    /// mode only, no file is written), or auto (push up to --auto-pull-over, pull above).
    #[arg(long, value_enum, default_value = "push")]
    pub(super) delivery: Delivery,
    /// With --delivery auto: the largest envelope file still attached; larger ones are
    /// kept at the key server [default: 20MB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    auto_pull_over: Option<u64>,
    /// Write the envelope here (one recipient only).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub(super) output: Option<PathBuf>,
    /// Write one envelope per recipient into this directory.
    #[arg(long, value_name = "DIR")]
    pub(super) out_dir: Option<PathBuf>,
    /// Replace output files that already exist.
    #[arg(long)]
    pub(super) force: bool,
}

/// How the recipient will get the content key.
#[derive(Debug, Args)]
#[group(id = "key_source", required = true, multiple = false)]
struct KeySource {
    /// Read the passphrase from this file (one trailing newline is ignored).
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Read the passphrase from standard input (one trailing newline is ignored).
    #[arg(long)]
    passphrase_stdin: bool,
    /// Server mode: register the message at this key server (https://host[:port]);
    /// recipients open with their key-server password. Needs --token-file.
    #[arg(long, value_name = "URL", requires = "token_file")]
    key_server: Option<String>,
}

/// Security levels (CRES): high asks the password every time, medium offers
/// "Remember me", low asks none; passcode needs no account: the recipient
/// asks for a one-time code, mailed to them, that opens this message once.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Security {
    High,
    Medium,
    Low,
    Passcode,
}

impl From<Security> for SecurityLevel {
    fn from(level: Security) -> Self {
        match level {
            Security::High => SecurityLevel::High,
            Security::Medium => SecurityLevel::Medium,
            Security::Low => SecurityLevel::Low,
            // The envelope format knows three levels: a passcode message
            // is a high one whose registration says `passcode` (the key
            // server, not the file, decides how its key is asked for).
            Security::Passcode => SecurityLevel::High,
        }
    }
}

/// Where one recipient's envelope went.
pub enum Delivered {
    /// Written to this file, for attaching (push).
    File(PathBuf),
    /// Kept at the key server; the recipient reads it at this link (pull).
    Portal(String),
}

/// What a seal produced.
pub struct Sealed {
    /// Each recipient and their envelope, in the order of `--to`.
    pub envelopes: Vec<(String, Delivered)>,
    /// The key server, in server mode.
    pub key_server: Option<String>,
    /// Expiry, Unix seconds.
    pub expires: Option<i64>,
    /// Each envelope's language, in the order of `envelopes`.
    pub languages: Vec<&'static str>,
    /// Whether each recipient wants notification mails (the key server's
    /// `notify`: false once they turned them off in the portal's
    /// Preferences); always true in passphrase mode.
    pub notify: Vec<bool>,
    /// Whether each recipient reads with a one-time passcode (the key
    /// server's `passcode`): their notification says so.
    pub passcode: Vec<bool>,
    /// The organisation that runs the key server, if its config names it.
    pub organization: Option<String>,
}

/// `--lang`: one of the languages securedoc has strings for.
pub(crate) fn parse_language(code: &str) -> Result<String, String> {
    let known = securedoc_templates::languages();
    if known.iter().any(|(c, _)| *c == code) {
        return Ok(code.to_string());
    }
    let list: Vec<&str> = known.iter().map(|(c, _)| *c).collect();
    Err(format!("securedoc speaks {}", list.join(", ")))
}

pub fn run(args: SealArgs) -> anyhow::Result<ExitCode> {
    if args.output.is_none() && args.out_dir.is_none() && args.delivery != Delivery::Pull {
        bail!("say where to write the envelope: -o FILE (one recipient) or --out-dir DIR");
    }
    // One line per recipient: the envelope file to attach, or the link to send.
    for (to, delivered) in seal(&args)?.envelopes {
        match delivered {
            Delivered::File(path) => println!("{}", path.display()),
            Delivered::Portal(link) => {
                eprintln!(
                    "{}: nothing to attach; the notification to {} links to its envelope (securedoc send mails it):",
                    printable(&to),
                    printable(&to)
                );
                println!("{link}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses what `--delivery` cannot do: pull without a key server, a file
/// for pull, a size for anything but auto.
fn check_delivery(args: &SealArgs) -> anyhow::Result<()> {
    if args.delivery != Delivery::Push && args.key.key_server.is_none() {
        bail!(
            "--delivery {} keeps envelopes at the key server, so it needs server mode (--key-server URL --token-file FILE); \
             with a passphrase the envelope travels as a file: leave out --delivery",
            if args.delivery == Delivery::Pull { "pull" } else { "auto" }
        );
    }
    if args.delivery == Delivery::Pull && (args.output.is_some() || args.out_dir.is_some()) {
        bail!("--delivery pull writes no envelope file (the key server keeps it); leave out -o and --out-dir");
    }
    if args.auto_pull_over.is_some() && args.delivery != Delivery::Auto {
        bail!(
            "--auto-pull-over applies only with --delivery auto (push up to that size, pull above)"
        );
    }
    Ok(())
}

/// Seals one envelope per recipient (see `SealArgs`).
pub fn seal(args: &SealArgs) -> anyhow::Result<Sealed> {
    let now = jiff::Timestamp::now();
    check_delivery(args)?;
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
    // Pull delivery writes no file.
    let outputs: Vec<Option<PathBuf>> = match args.delivery {
        Delivery::Pull => vec![None; args.to.len()],
        Delivery::Push | Delivery::Auto => output_paths(args)?.into_iter().map(Some).collect(),
    };
    for path in outputs.iter().flatten() {
        check_output(path, args.force)?;
    }
    let info = |to: &str| EnvelopeInfo {
        from: args.from.clone(),
        to: to.to_string(),
        created: now.as_second(),
        expires: expires.map(|e| e.as_second()),
        flags: args.options.flags(),
    };
    // Passphrase mode: the first envelope's Argon2id, the slow step, needs
    // only the passphrase and the header, so it runs while the message is
    // read and packed. (Server mode registers only once the message is
    // known to be one: a refused input leaves nothing at the key server.)
    let passphrase = match &args.key.key_server {
        None => Some(
            PassphraseSource {
                passphrase_file: args.key.passphrase_file.clone(),
                passphrase_stdin: args.key.passphrase_stdin,
            }
            .read()?,
        ),
        Some(_) => None,
    };
    let mut first_key = passphrase
        .as_ref()
        .map(|passphrase| PassphraseKey::start(info(&args.to[0]), args.lang.clone(), passphrase))
        .transpose()?;
    let message = message_bytes(args, now)?;
    // The message is read once here: packed for format v2 (attachments as
    // bytes), which also measures an --eml message for --max-size.
    let packed = envelope_core::pack(&message).map_err(|_| match &args.eml {
        Some(path) => anyhow::anyhow!("{} is not an e-mail message (RFC 5322)", path.display()),
        None => anyhow::anyhow!("the composed message cannot be read back; this is a bug"),
    })?;
    if args.eml.is_some() && packed.content_size > args.max_size {
        return Err(too_big(packed.content_size, args.max_size));
    }
    let receipt_lang = args.options.receipt_lang()?;

    let mode = match &args.key.key_server {
        None => Mode::Passphrase(passphrase.expect("read above in passphrase mode")),
        Some(url) => {
            let origin = url.trim_end_matches('/').to_string();
            envelope_core::validate_origin(&origin).map_err(anyhow::Error::msg)?;
            let token = read_token(
                args.token_file
                    .as_deref()
                    .expect("clap requires --token-file"),
            )?;
            let security = args.security.into();
            let client = key_server_client()?;
            let registered = register_with(
                &client,
                &Registration {
                    origin: &origin,
                    token: &token,
                    from: &args.from,
                    recipients: &args.to,
                    expires: expires.map(|e| e.as_second()),
                    flags: info(&args.to[0]).flags,
                    security,
                    passcode: matches!(args.security, Security::Passcode),
                    sender_lang: receipt_lang,
                },
            )?;
            Mode::Server {
                client,
                token,
                origin,
                security,
                message_id: registered.message,
                envelopes: registered.envelopes,
                organization: registered.organization,
            }
        }
    };
    // Each envelope's language: --lang, else its recipient's account
    // language, else English (no `lang` in the header).
    let notify: Vec<bool> = (0..args.to.len())
        .map(|index| match &mode {
            Mode::Server { envelopes, .. } => envelopes[index].status.notify,
            Mode::Passphrase(_) => true,
        })
        .collect();
    let passcode: Vec<bool> = (0..args.to.len())
        .map(|index| match &mode {
            Mode::Server { envelopes, .. } => envelopes[index].status.passcode,
            Mode::Passphrase(_) => false,
        })
        .collect();
    let languages: Vec<Option<String>> = (0..args.to.len())
        .map(|index| match (&args.lang, &mode) {
            (Some(lang), _) => Some(lang.clone()),
            (None, Mode::Server { envelopes, .. }) => envelopes[index]
                .status
                .language
                .as_deref()
                .map(|code| securedoc_templates::language(code).to_string()),
            (None, Mode::Passphrase(_)) => None,
        })
        .collect();
    if let Some(dir) = &args.out_dir {
        // Created only now, so a run that fails on its inputs leaves nothing behind.
        key_server::create_private_dir(dir)
            .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    }
    let auto_pull_over = args
        .auto_pull_over
        .unwrap_or(mail_hook::DEFAULT_AUTO_PULL_OVER);
    let mut delivered = Vec::with_capacity(args.to.len());
    // Each envelope's size: the file, or what the key server keeps.
    let mut sizes = Vec::with_capacity(args.to.len());
    {
        for (index, (to, path)) in args.to.iter().zip(&outputs).enumerate() {
            let (mut header, cek, slot) = match &mode {
                Mode::Passphrase(passphrase) => {
                    let key = match first_key.take() {
                        Some(key) => key,
                        None => PassphraseKey::start(info(to), args.lang.clone(), passphrase)?,
                    };
                    (key.header, key.cek, Some(key.slot))
                }
                Mode::Server {
                    origin,
                    security,
                    envelopes,
                    organization,
                    ..
                } => {
                    // This recipient's own id and key: nobody else's envelope shares them.
                    let envelope = &envelopes[index];
                    let header =
                        envelope.header(&info(to), origin, *security, organization.as_deref())?;
                    (header, envelope.cek.clone(), None)
                }
            };
            header.lang = languages[index].clone();
            let page = EnvelopePage::new(&header);
            let sealer = Sealer::new(header, cek)?;
            let progress = progress_bar(message.len(), to);
            let pulls = mail_hook::DeliveryMode::from(args.delivery)
                .pulls(envelope_file_len(&page, &sealer, &packed), auto_pull_over);
            if let (
                true,
                Mode::Server {
                    client,
                    token,
                    origin,
                    message_id,
                    ..
                },
            ) = (pulls, &mode)
            {
                let server = KeyServerAccess {
                    client,
                    origin,
                    token,
                };
                let envelope =
                    envelope_bytes(&sealer, &packed, |done| progress.set_position(done as u64))
                        .with_context(|| format!("sealing for {to} failed"))?;
                progress.finish_and_clear();
                let stored = store(&server, to, &sealer, envelope).map_err(|error| {
                    let id = message_id.clone().unwrap_or_else(|| sealer.header().id.clone());
                    anyhow::anyhow!(
                        "{error:#}. The message is registered, but the key server keeps no envelope for {to}: \
                         withdraw it (securedoc message revoke {id}) and send it again"
                    )
                })?;
                sizes.push(stored.size);
                delivered.push((to.clone(), Delivered::Portal(stored.portal_url)));
                continue;
            }
            let path = path
                .as_deref()
                .expect("push and auto delivery have a file for each recipient");
            // Passphrase mode: Argon2id, started with the key; server mode: no slot.
            let key_slot = move || match slot {
                Some(slot) => slot
                    .join()
                    .expect("the key derivation thread does not panic"),
                None => Ok(Vec::new()),
            };
            seal_to_file(
                &page,
                &sealer,
                key_slot,
                &packed,
                (path, args.force),
                &progress,
            )
            .with_context(|| format!("sealing for {to} failed"))?;
            progress.finish_and_clear();
            sizes.push(std::fs::metadata(path).map_or(0, |m| m.len()));
            delivered.push((to.clone(), Delivered::File(path.to_path_buf())));
        }
    }
    if let Mode::Server {
        origin,
        envelopes,
        message_id,
        ..
    } = &mode
    {
        for (to, envelope) in args.to.iter().zip(envelopes) {
            let state = if envelope.status.registered {
                "registered"
            } else {
                "not registered yet: the envelope offers Register"
            };
            eprintln!("{}: {state}", printable(to));
        }
        eprintln!("Registered the message at {origin}; recipients open it with their key-server password.");
        if let Some(id) = message_id {
            eprintln!("Message id: {id} (who opened it: securedoc message status {id})");
        }
    }
    let expiry = expires
        .map(|e| format!(", expires {}", format_time(e.as_second())))
        .unwrap_or_default();
    // What the user attaches is the envelope file: say its size (the
    // message inside, as the recipient will save it, beside it).
    let largest = sizes.iter().copied().max().unwrap_or_default();
    let pulled = delivered
        .iter()
        .filter(|(_, d)| matches!(d, Delivered::Portal(_)))
        .count();
    let kept = match pulled {
        0 => String::new(),
        n if n == delivered.len() => ", kept at the key server".into(),
        n => format!(", {n} kept at the key server"),
    };
    eprintln!(
        "Sealed {} envelope{} ({}{}{kept}; the message inside is {}{expiry}).{}",
        delivered.len(),
        if delivered.len() == 1 { "" } else { "s" },
        format_size(largest),
        if delivered.len() == 1 { "" } else { " each at most" },
        format_size(message.len() as u64),
        match mode {
            Mode::Passphrase(_) => " Open in any browser (double-click the file) with the passphrase.\n\
                Give the passphrase to the recipient another way (phone, text message), never in the same e-mail.",
            Mode::Server { .. } => "",
        }
    );
    Ok(Sealed {
        envelopes: delivered,
        organization: match &mode {
            Mode::Server { organization, .. } => organization.clone(),
            Mode::Passphrase(_) => None,
        },
        key_server: match mode {
            Mode::Server { origin, .. } => Some(origin),
            Mode::Passphrase(_) => None,
        },
        expires: expires.map(|e| e.as_second()),
        notify,
        passcode,
        languages: languages
            .iter()
            .map(|lang| securedoc_templates::language(lang.as_deref().unwrap_or("en")))
            .collect(),
    })
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

fn read_text(path: &Path) -> anyhow::Result<String> {
    String::from_utf8(read_file(path)?)
        .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", path.display()))
}

fn progress_bar(len: usize, to: &str) -> ProgressBar {
    if len < PROGRESS_THRESHOLD || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64).with_message(format!("sealing for {}", printable(to)));
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}

/// A passphrase-mode envelope's header and content key, with its key slot
/// (Argon2id, the slow step) being made on another thread from the start.
struct PassphraseKey {
    header: envelope_core::Header,
    cek: ContentKey,
    slot: std::thread::JoinHandle<Result<Vec<u8>, envelope_core::SealError>>,
}

impl PassphraseKey {
    fn start(
        info: EnvelopeInfo,
        lang: Option<String>,
        passphrase: &zeroize::Zeroizing<Vec<u8>>,
    ) -> anyhow::Result<PassphraseKey> {
        let mut header = info.passphrase_header(DEFAULT_M_KIB, DEFAULT_T, DEFAULT_P)?;
        header.lang = lang;
        let cek = ContentKey::generate();
        let sealer = Sealer::new(header.clone(), cek.clone())?;
        let passphrase = passphrase.clone();
        let slot = std::thread::spawn(move || {
            sealer
                .wrap_for_passphrase(&passphrase)
                .map(|slot| slot.to_vec())
        });
        Ok(PassphraseKey { header, cek, slot })
    }
}

/// How this run gets its content keys.
enum Mode {
    /// One random key per envelope, wrapped under the passphrase.
    Passphrase(zeroize::Zeroizing<Vec<u8>>),
    /// One id and key per envelope, held by the key server for that
    /// envelope's recipient only.
    Server {
        /// Kept for the uploads of pull delivery, so its connection is reused.
        client: reqwest::blocking::Client,
        /// The sender token.
        token: String,
        origin: String,
        security: SecurityLevel,
        /// The sending's id at the key server (None from an older server).
        message_id: Option<String>,
        /// In the order of `--to`.
        envelopes: Vec<ServerEnvelope>,
        /// How envelopes name the key server, if its config says.
        organization: Option<String>,
    },
}
