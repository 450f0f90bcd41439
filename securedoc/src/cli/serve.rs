//! `securedoc serve`: the key server, with its log.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML); `SECUREDOC_*` environment variables override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// How the log on stderr is written: `human` lines, or `json` (one object
    /// per line, for a log collector). `RUST_LOG` chooses what is logged
    /// (default `info`).
    #[arg(long, value_enum, default_value_t = LogFormat::Human, env = "SECUREDOC_LOG_FORMAT")]
    log_format: LogFormat,
}

/// The log's shape on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum LogFormat {
    /// One readable line per event.
    Human,
    /// One JSON object per line.
    Json,
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("cannot start the async runtime")
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    install_log(args.log_format)?;
    let config = key_server::Config::load(args.config.as_deref())?;
    runtime()?.block_on(key_server::serve(&config, |addr| {
        let data = config.data_dir.display();
        let database = redact(&config.database_url());
        // The first line on stderr, which scripts read the address from.
        match args.log_format {
            LogFormat::Human => eprintln!(
                "securedoc key server listening on http://{addr} (data in {data}, database {database})"
            ),
            LogFormat::Json => tracing::info!(
                %data,
                %database,
                "securedoc key server listening on http://{addr}"
            ),
        }
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// Sends the server's `tracing` events to stderr, filtered by `RUST_LOG`.
/// What the key server logs says what happened, never a secret: request
/// lines carry the method, the path without its query, status and latency.
pub(super) fn install_log(format: LogFormat) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::try_new(&directives)
            .with_context(|| {
                format!(
                    "RUST_LOG '{directives}' is not a log filter like 'info' or 'key_server=debug'"
                )
            })?,
        _ => EnvFilter::new("info"),
    };
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // When stderr is gone (the reader hung up), drop the line: the default
        // reports the failure with eprintln!, which panics on a closed stderr
        // and takes the request's connection with it.
        .log_internal_errors(false);
    let installed = match format {
        LogFormat::Human => log.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => log
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot start the log: {e}"))
}

/// A database URL without its password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_stay_out_of_the_log() {
        assert_eq!(
            super::redact("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            super::redact("sqlite://./data/securedoc.db?mode=rwc"),
            "sqlite://./data/securedoc.db?mode=rwc"
        );
    }
}
