//! `securedoc hook`: the mail hook, an SMTP content filter for Postfix
//! (docs/MAIL-HOOK.md). Untagged mail passes through byte for byte; tagged
//! mail is held back (451) until sealing lands in the hook.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::serve::{install_log, runtime, LogFormat};
use crate::input::parse_size;

#[derive(Debug, Args)]
pub struct HookArgs {
    /// Where Postfix hands messages to the hook.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:10025",
        env = "SECUREDOC_HOOK_LISTEN"
    )]
    listen: SocketAddr,
    /// Where the hook hands messages on: Postfix's re-injection listener.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:10026",
        env = "SECUREDOC_HOOK_NEXT_HOP"
    )]
    next_hop: SocketAddr,
    /// The largest message accepted (1 MB = 1024 KB).
    #[arg(long, value_name = "SIZE", default_value = "35MB", value_parser = parse_size)]
    max_size: u64,
    /// Connections served at once.
    #[arg(long, value_name = "N", default_value_t = 16)]
    max_connections: usize,
    /// Log lines as text or as JSON objects.
    #[arg(long, value_enum, default_value = "human")]
    log_format: LogFormat,
}

pub fn run(args: HookArgs) -> anyhow::Result<ExitCode> {
    install_log(args.log_format)?;
    let config = mail_hook::HookConfig {
        next_hop: args.next_hop,
        max_size: usize::try_from(args.max_size).context("--max-size is too large")?,
        max_connections: args.max_connections,
        ..mail_hook::HookConfig::default()
    };
    runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        eprintln!(
            "securedoc hook listening on smtp://{} (next hop {})",
            listener.local_addr()?,
            args.next_hop
        );
        mail_hook::serve(listener, config).await?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
