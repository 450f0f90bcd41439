//! `securedoc message`: the sender's controls after sending, over the key
//! server's sender API (docs/PROTOCOL.md) — status, lock, unlock, revoke,
//! expire. `ID` is the message id `securedoc seal` printed (every
//! recipient's envelope) or one envelope's id (`securedoc inspect` shows it:
//! that recipient only).
//!
//! The key server and the token come from `--key-server` and
//! `--token-file`, as for `seal`, or else from
//! `$XDG_CONFIG_HOME/securedoc/sender.toml` (`~/.config/…` by default):
//!
//! ```toml
//! key_server = "https://keys.example.org"
//! token_file = "/home/alice/.config/securedoc/token"   # or: token = "…"
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{ArgGroup, Args, Subcommand};
use serde::Deserialize;
use serde_json::{json, Value};

use super::register::{is_message_id, read_token};
use crate::display::printable;
use crate::input::{format_time, parse_expiry};

#[derive(Debug, Args)]
pub struct MessageArgs {
    #[command(subcommand)]
    command: MessageCommand,
    /// The key server the message was registered at (else `key_server` from sender.toml).
    #[arg(long, value_name = "URL", global = true)]
    key_server: Option<String>,
    /// The sender token the message was registered with (else `token_file` or `token` from sender.toml).
    #[arg(long, value_name = "FILE", global = true)]
    token_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum MessageCommand {
    /// Per recipient: registered?, opened (when, how many times, from where), replies, locked, expiry.
    Status {
        /// The message id `securedoc seal` printed, or one envelope's id.
        id: String,
        /// Print the key server's JSON document instead.
        #[arg(long)]
        json: bool,
    },
    /// Refuse every opening until `unlock` (the keys are kept).
    Lock {
        /// The message id `securedoc seal` printed, or one envelope's id.
        id: String,
    },
    /// Allow opening again after `lock`.
    Unlock {
        /// The message id `securedoc seal` printed, or one envelope's id.
        id: String,
    },
    /// Withdraw the message: its keys are deleted now, and nobody can ever open it again.
    Revoke {
        /// The message id `securedoc seal` printed, or one envelope's id.
        id: String,
    },
    /// Change when the message expires, earlier or later, while its keys exist.
    Expire(ExpireArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("when").required(true).args(["at", "after"])))]
struct ExpireArgs {
    /// The message id `securedoc seal` printed, or one envelope's id.
    id: String,
    /// A date (2026-12-31, end of that day UTC) or an exact time (2026-12-31T17:00:00Z).
    #[arg(long, value_name = "WHEN")]
    at: Option<String>,
    /// From now: 7d (days) or 12h (hours).
    #[arg(long = "in", value_name = "DURATION")]
    after: Option<String>,
}

/// `sender.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SenderConfig {
    key_server: Option<String>,
    token_file: Option<PathBuf>,
    token: Option<String>,
}

/// Where to ask, and with which token.
struct Connection {
    origin: String,
    token: String,
    client: reqwest::blocking::Client,
}

pub fn run(args: MessageArgs) -> anyhow::Result<ExitCode> {
    let connection = connect(&args)?;
    match &args.command {
        MessageCommand::Status { id, json } => {
            let status = connection.call("GET", id, "", None)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print_status(&status);
            }
        }
        MessageCommand::Lock { id } => {
            let status = connection.call("POST", id, "/lock", None)?;
            eprintln!("Locked: nobody can open it until `securedoc message unlock {id}`.");
            print_status(&status);
        }
        MessageCommand::Unlock { id } => {
            let status = connection.call("POST", id, "/unlock", None)?;
            eprintln!("Unlocked: its recipients can open it again.");
            print_status(&status);
        }
        MessageCommand::Revoke { id } => {
            let status = connection.call("POST", id, "/revoke", None)?;
            eprintln!("Withdrawn: its keys are deleted; nobody can open it again.");
            print_status(&status);
        }
        MessageCommand::Expire(expire) => {
            let now = jiff::Timestamp::now();
            let when = match (&expire.at, &expire.after) {
                (Some(at), _) => parse_expiry(at, now)
                    .map_err(|e| anyhow::anyhow!(e.replace("--expires", "--at")))?,
                (None, Some(after)) if after.ends_with(['d', 'h']) => parse_expiry(after, now)
                    .map_err(|e| anyhow::anyhow!(e.replace("--expires", "--in")))?,
                (None, Some(after)) => {
                    bail!("--in {after}: give days (7d) or hours (12h); for a date, use --at")
                }
                (None, None) => unreachable!("clap requires --at or --in"),
            };
            let body = json!({ "expires": when.as_second() });
            let status = connection.call("POST", &expire.id, "/expire", Some(&body))?;
            eprintln!("It now expires {}.", format_time(when.as_second()));
            print_status(&status);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The key server and token: flags first, then sender.toml.
fn connect(args: &MessageArgs) -> anyhow::Result<Connection> {
    let (config, config_path) = read_config()?;
    let origin = match (&args.key_server, &config.key_server) {
        (Some(url), _) | (None, Some(url)) => url.trim_end_matches('/').to_string(),
        (None, None) => bail!(
            "which key server? Give --key-server URL, or put key_server = \"https://…\" in {}",
            config_path.display()
        ),
    };
    envelope_core::validate_origin(&origin).map_err(anyhow::Error::msg)?;
    let token = match (&args.token_file, &config.token_file, &config.token) {
        (Some(file), _, _) => read_token(file)?,
        (None, Some(file), _) => {
            // A relative path in the file is relative to the file.
            let base = config_path.parent().unwrap_or(Path::new("."));
            read_token(&base.join(file))?
        }
        (None, None, Some(token)) if !token.trim().is_empty() => token.trim().to_string(),
        _ => bail!(
            "which sender token? Give --token-file FILE, or put token_file = \"…\" in {}",
            config_path.display()
        ),
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        // The token goes to the key server named, never where a redirect points.
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    Ok(Connection {
        origin,
        token,
        client,
    })
}

/// sender.toml, if it exists (else empty), and where it is looked for.
fn read_config() -> anyhow::Result<(SenderConfig, PathBuf)> {
    let dir = match std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(".config"),
            None => return Ok((SenderConfig::default(), "sender.toml".into())),
        },
    };
    let path = dir.join("securedoc").join("sender.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((SenderConfig::default(), path))
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let config: SenderConfig = toml::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a sender configuration (key_server, token_file or token): {}",
            path.display(),
            e.message()
        )
    })?;
    #[cfg(unix)]
    if config.token.is_some() {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)?.permissions().mode();
        if mode & 0o077 != 0 {
            eprintln!(
                "warning: {} holds a sender token and other users of this machine can read it; run chmod 600 on it",
                path.display()
            );
        }
    }
    Ok((config, path))
}

impl Connection {
    /// One call of the sender API for message `id`; the status document it answers.
    fn call(
        &self,
        method: &str,
        id: &str,
        action: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let id = id.trim().to_ascii_lowercase();
        if !is_message_id(&id) {
            bail!(
                "{}: a message id is 32 hex digits, as `securedoc seal` printed it",
                printable(&id)
            );
        }
        let url = format!("{}/api/v1/messages/{id}{action}", self.origin);
        let request = match method {
            "GET" => self.client.get(url),
            _ => self.client.post(url).json(body.unwrap_or(&json!({}))),
        };
        let response = request
            .bearer_auth(&self.token)
            .send()
            .with_context(|| format!("cannot reach the key server at {}", self.origin))?;
        let status = response.status();
        let answer = response.json::<Value>().ok();
        if status.is_success() {
            return answer
                .filter(|a| a["envelopes"].is_array())
                .with_context(|| {
                    format!("{} did not answer like a securedoc key server", self.origin)
                });
        }
        let reason = answer
            .as_ref()
            .and_then(|v| v["message"].as_str())
            .map(|r| printable(r).into_owned())
            .unwrap_or_else(|| status.to_string());
        if status == reqwest::StatusCode::UNAUTHORIZED {
            bail!(
                "the key server at {} refused the token ({reason}); check --token-file or sender.toml",
                self.origin
            );
        }
        bail!("the key server at {} refused: {reason}", self.origin)
    }
}

/// The status, one block per recipient.
fn print_status(status: &Value) {
    let envelopes = status["envelopes"].as_array().map_or(&[][..], |a| a);
    if let Some(id) = status["message"].as_str() {
        println!(
            "Message {} ({} recipient{})",
            printable(id),
            envelopes.len(),
            if envelopes.len() == 1 { "" } else { "s" }
        );
    }
    let time = |value: &Value| value.as_i64().map(format_time);
    for envelope in envelopes {
        let text = |name: &str| printable(envelope[name].as_str().unwrap_or("")).into_owned();
        println!("{}", text("recipient"));
        println!("  envelope    {}", text("id"));
        println!(
            "  registered  {}",
            if envelope["registered"] == json!(true) {
                "yes"
            } else {
                "no (the envelope offers Register)"
            }
        );
        let opened = &envelope["opened"];
        match opened["count"].as_i64().unwrap_or(0) {
            0 => println!("  opened      not yet"),
            count => println!(
                "  opened      {count} time{}: first {}, last {} from {}",
                if count == 1 { "" } else { "s" },
                time(&opened["first"]).unwrap_or_default(),
                time(&opened["last"]).unwrap_or_default(),
                printable(opened["client"].as_str().unwrap_or("?")),
            ),
        }
        println!(
            "  replies     {}",
            envelope["replies_sent"].as_i64().unwrap_or(0)
        );
        let state = if let Some(at) = time(&envelope["revoked"]) {
            format!("withdrawn {at}: the key is deleted")
        } else if envelope["key"] != json!(true) {
            "expired: the key is deleted".to_string()
        } else if envelope["locked"] == json!(true) {
            "locked: opening is refused until unlocked".to_string()
        } else {
            "can be opened".to_string()
        };
        println!("  state       {state}");
        println!(
            "  expires     {}",
            time(&envelope["expires"])
                .unwrap_or_else(|| "never (the server's retention applies)".into())
        );
    }
}
