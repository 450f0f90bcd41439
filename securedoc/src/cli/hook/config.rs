//! `hook.toml`: the hook's addresses, its key server, and its policy
//! (triggers, `[seal]` options, `[[rule]]`s, `internal_domains`). Every key
//! is optional; a key the hook does not know is an error, so a typo never
//! silently turns sealing off.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use mail_hook::{HookConfig, Policy, Rule, SealOptions, Triggers};
use serde::Deserialize;

use super::{HookArgs, Settings};
use crate::input::parse_size;

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HookFile {
    listen: Option<SocketAddr>,
    next_hop: Option<SocketAddr>,
    hostname: Option<String>,
    metrics_listen: Option<SocketAddr>,
    max_size: Option<String>,
    max_notification_size: Option<String>,
    max_connections: Option<usize>,
    max_sealing: Option<usize>,
    timeout_seconds: Option<u64>,
    key_server: Option<String>,
    token_file: Option<PathBuf>,
    internal_domains: Option<Vec<String>>,
    confirm_sender: Option<bool>,
    /// The From of the confirmation; default `postmaster@` the sender's domain.
    notice_from: Option<String>,
    /// The language of notifications to recipients the key server knows no
    /// language for, and of the confirmation.
    lang: Option<String>,
    subject_tags: Option<Vec<String>>,
    seal: Option<SealOptions>,
    #[serde(default)]
    rule: Vec<Rule>,
}

impl HookFile {
    /// `path`'s contents, or nothing.
    pub(super) fn load(path: Option<&Path>) -> anyhow::Result<HookFile> {
        let Some(path) = path else {
            return Ok(HookFile::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("{} is not a valid hook.toml", path.display()))
    }

    /// The file, with the flags and `SECUREDOC_HOOK_*` over it.
    pub(super) fn merge(self, args: &HookArgs) -> anyhow::Result<Settings> {
        let defaults = HookConfig::default();
        let size = |flag: Option<u64>, file: Option<&str>, name: &str, default: usize| match (
            flag, file,
        ) {
            (Some(bytes), _) => usize::try_from(bytes).context("too large"),
            (None, Some(text)) => parse_size(text)
                .map_err(anyhow::Error::msg)
                .and_then(|b| usize::try_from(b).context("too large"))
                .with_context(|| format!("{name} = \"{text}\"")),
            (None, None) => Ok(default),
        };
        let lang = self.lang.clone().unwrap_or_else(|| "en".into());
        super::super::seal::parse_language(&lang)
            .map_err(|known| anyhow::anyhow!("lang = \"{lang}\": {known}"))?;
        let policy = Policy {
            triggers: match self.subject_tags {
                Some(subject_tags) => Triggers { subject_tags },
                None => Triggers::default(),
            },
            seal: self.seal.unwrap_or_default(),
            rules: self.rule,
            internal_domains: args
                .internal_domains
                .clone()
                .or(self.internal_domains)
                .unwrap_or_default()
                .into_iter()
                .map(|d| d.trim().to_string())
                .filter(|d| !d.is_empty())
                .collect(),
        };
        policy.check().map_err(anyhow::Error::msg)?;
        let sealing = super::sealing::service(
            args.key_server.clone().or(self.key_server),
            args.token_file.clone().or(self.token_file),
            lang,
            self.notice_from,
        )?;
        Ok(Settings {
            metrics_listen: args.metrics_listen.or(self.metrics_listen),
            listen: args
                .listen
                .or(self.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 10025))),
            hook: HookConfig {
                next_hop: args.next_hop.or(self.next_hop).unwrap_or(defaults.next_hop),
                hostname: self.hostname.unwrap_or(defaults.hostname),
                max_size: size(
                    args.max_size,
                    self.max_size.as_deref(),
                    "max_size",
                    defaults.max_size,
                )?,
                max_notification_size: size(
                    None,
                    self.max_notification_size.as_deref(),
                    "max_notification_size",
                    defaults.max_notification_size,
                )?,
                max_connections: args
                    .max_connections
                    .or(self.max_connections)
                    .unwrap_or(defaults.max_connections),
                max_sealing: self.max_sealing.unwrap_or(defaults.max_sealing),
                timeout: self
                    .timeout_seconds
                    .map(Duration::from_secs)
                    .unwrap_or(defaults.timeout),
                confirm_sender: args
                    .confirm_sender
                    .or(self.confirm_sender)
                    .unwrap_or(defaults.confirm_sender),
                policy,
                sealing,
            },
        })
    }
}
