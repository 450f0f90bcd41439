//! `securedoc serve`: the key server.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML); `SECUREDOC_*` environment variables override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("cannot start the async runtime")
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = key_server::Config::load(args.config.as_deref())?;
    runtime()?.block_on(key_server::serve(&config, |addr| {
        eprintln!(
            "securedoc key server listening on http://{addr} (data in {}, database {})",
            config.data_dir.display(),
            redact(&config.database_url())
        );
    }))?;
    Ok(ExitCode::SUCCESS)
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
