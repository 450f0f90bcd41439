//! `securedoc hook`: the mail hook, an SMTP content filter for Postfix
//! (docs/MAIL-HOOK.md). Untagged mail passes through byte for byte; mail a
//! trigger or a rule chooses is sealed per outside recipient through the
//! key server's API, with the hook's own sender token.

mod config;
mod sealing;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::serve::{install_log, runtime, LogFormat};
use crate::input::parse_size;

/// `securedoc hook`'s flags; each also comes from `SECUREDOC_HOOK_*` and
/// overrides the same key in `hook.toml`.
#[derive(Debug, Args)]
pub struct HookArgs {
    /// The hook's config file (docs/MAIL-HOOK.md, "hook.toml").
    #[arg(long, value_name = "FILE", env = "SECUREDOC_HOOK_CONFIG")]
    config: Option<PathBuf>,
    /// Where Postfix hands messages to the hook [default: 127.0.0.1:10025].
    #[arg(long, value_name = "ADDR", env = "SECUREDOC_HOOK_LISTEN")]
    listen: Option<SocketAddr>,
    /// Where the hook hands messages on: Postfix's re-injection listener
    /// [default: 127.0.0.1:10026].
    #[arg(long, value_name = "ADDR", env = "SECUREDOC_HOOK_NEXT_HOP")]
    next_hop: Option<SocketAddr>,
    /// The key server that registers sealed messages (https://host[:port]).
    #[arg(long, value_name = "URL", env = "SECUREDOC_HOOK_KEY_SERVER")]
    key_server: Option<String>,
    /// The hook's sender token (from `securedoc admin token create`).
    #[arg(long, value_name = "FILE", env = "SECUREDOC_HOOK_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// The organisation's domains, comma-separated: their recipients get
    /// the message as it came.
    #[arg(
        long,
        value_name = "DOMAINS",
        env = "SECUREDOC_HOOK_INTERNAL_DOMAINS",
        value_delimiter = ','
    )]
    internal_domains: Option<Vec<String>>,
    /// Mail the sender a "Secure Message Sent" confirmation [default: true].
    #[arg(long, value_name = "BOOL", env = "SECUREDOC_HOOK_CONFIRM_SENDER")]
    confirm_sender: Option<bool>,
    /// The largest message accepted (1 MB = 1024 KB) [default: 35MB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size, env = "SECUREDOC_HOOK_MAX_SIZE")]
    max_size: Option<u64>,
    /// Connections served at once [default: 16].
    #[arg(long, value_name = "N", env = "SECUREDOC_HOOK_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Serve `/metrics` (Prometheus) on this address: messages by outcome,
    /// envelopes sealed. Default: not served.
    #[arg(long, value_name = "ADDR", env = "SECUREDOC_HOOK_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Log lines as text or as JSON objects.
    #[arg(long, value_enum, default_value = "human")]
    log_format: LogFormat,
}

pub fn run(args: HookArgs) -> anyhow::Result<ExitCode> {
    install_log(args.log_format)?;
    let file = config::HookFile::load(args.config.as_deref())?;
    let settings = file.merge(&args)?;
    let listen = settings.listen;
    let next_hop = settings.hook.next_hop;
    let sealing = settings.hook.sealing.is_some();
    let metrics_listen = settings.metrics_listen;
    runtime()?.block_on(async {
        if let Some(listen) = metrics_listen {
            let bound = key_server::serve_metrics_for(listen).await?;
            eprintln!("securedoc hook metrics on http://{bound}/metrics");
        }
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        eprintln!(
            "securedoc hook listening on smtp://{} (next hop {next_hop}; {})",
            listener.local_addr()?,
            if sealing {
                "sealing through the key server"
            } else {
                "no key server: mail to be sealed stays queued"
            }
        );
        mail_hook::serve(listener, settings.hook).await?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The hook's settings once the file, the environment and the flags are merged.
pub(crate) struct Settings {
    listen: SocketAddr,
    metrics_listen: Option<SocketAddr>,
    hook: mail_hook::HookConfig,
}
