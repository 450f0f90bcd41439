//! Configuration: embedded defaults good enough for the demo, then a TOML
//! file, then `SECUREDOC_*` environment variables (and `DATABASE_URL`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;

mod accounts;
mod portal;

pub use accounts::{AccountLifecycle, AccountsConfig};
pub use portal::{FirstContact, PortalConfig};

/// The key server's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (`SECUREDOC_LISTEN`).
    pub listen: SocketAddr,
    /// Data directory: the SQLite database and the master key (`SECUREDOC_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…` (`DATABASE_URL`); default: SQLite in the data directory.
    pub database_url: Option<String>,
    /// File holding the master key, base64 (`SECUREDOC_MASTER_KEY_FILE`);
    /// default: `master.key` in the data directory, created on first start.
    pub master_key_file: Option<PathBuf>,
    /// The origin envelopes are sealed to (`SECUREDOC_PUBLIC_URL`).
    pub public_url: String,
    /// Recipients' passwords: Argon2id memory in KiB (OWASP: 19 MiB).
    pub password_m_kib: u32,
    /// Argon2id passes.
    pub password_t: u32,
    /// Argon2id lanes.
    pub password_p: u32,
    /// Password hashes computed at once (default: the number of cores).
    pub password_concurrency: Option<usize>,
    /// Password hashes that may wait for their turn; past that, key release
    /// answers `busy` (503, `Retry-After`) at once instead of slowing
    /// everyone down.
    pub password_queue: usize,
    /// Password rules and lockout defaults: `nist` (default), `cres`,
    /// `mimecast`, `trustwave` or `mailgate` (`SECUREDOC_PASSWORD_POLICY`).
    pub password_policy: crate::Preset,
    /// Wrong passwords before an account is locked (default: the policy's).
    pub lockout_attempts: Option<u32>,
    /// How long a lock lasts, minutes (default: the policy's). A lock always
    /// ends by itself, so a stranger cannot keep an account locked out for
    /// ever by trying passwords only at this rate; a password reset also ends it.
    pub lockout_minutes: Option<u32>,
    /// Password checks one client address may make on one account (and
    /// checks on messages not addressed to the address asked for, per
    /// client) per window before it must wait.
    pub client_failure_limit: u32,
    /// The window for `client_failure_limit`, minutes.
    pub client_window_minutes: u32,
    /// Reverse proxies (IP addresses or CIDR ranges, e.g. `10.0.0.0/8`)
    /// whose `X-Forwarded-For` / `Forwarded` header names the client
    /// (`SECUREDOC_TRUSTED_PROXIES`, comma-separated). From any other peer
    /// the header is ignored: the TCP peer is the client.
    pub trusted_proxies: Vec<String>,
    /// Days the audit trail keeps a row after its last attempt.
    pub audit_retention_days: u32,
    /// Days a message's key is kept when the sender set no earlier expiry
    /// (MailGate: 30). Past it, the key is deleted and the message can never
    /// be opened again.
    pub retention_days: u32,
    /// Mail (confirmation and reset links) goes through this SMTP relay
    /// (`SECUREDOC_SMTP_URL`: smtp://host:port, smtps://user:pass@host).
    pub smtp_url: Option<String>,
    /// Without `smtp_url`, each mail is written here as an .eml file
    /// (`SECUREDOC_OUTBOX`); default: `outbox` in the data directory.
    pub outbox_dir: Option<PathBuf>,
    /// The From of the server's mail (`SECUREDOC_MAIL_FROM`). Set it to an
    /// address on a domain you send from (SPF, DKIM): its domain is also the
    /// Message-ID's. The default uses `securedoc.localhost`, a name reserved
    /// for local use (RFC 6761): a real-looking address that can be nobody's.
    pub mail_from: String,
    /// The organisation that runs this key server, as envelopes name it to
    /// recipients ("register once with Example Clinic"); senders learn it
    /// when they register a message (`SECUREDOC_ORGANIZATION_NAME`). Unset,
    /// envelopes name the key server by its host.
    pub organization_name: Option<String>,
    /// Attempts to send one of the server's mails before giving up.
    pub mail_max_attempts: u32,
    /// The first retry of a mail waits this long, seconds; each next one
    /// twice as long (at most an hour).
    pub mail_retry_seconds: u32,
    /// Sent and given-up rows of the mail queue are deleted after this many
    /// days (their bodies, which hold links, as soon as they are sent).
    pub mail_retention_days: u32,
    /// How long an e-mail confirmation link works, hours.
    pub confirm_link_hours: u32,
    /// How long a password-reset link works, minutes.
    pub reset_link_minutes: u32,
    /// Wrong security answers before a reset link stops working (CRES: 5).
    pub reset_attempts: u32,
    /// How long "Remember me on this computer" lasts, days.
    pub remember_days: u32,
    /// Where `/metrics` (Prometheus text format) is served, apart from the
    /// public port (`SECUREDOC_METRICS_LISTEN`); default: not served at all.
    pub metrics_listen: Option<SocketAddr>,
    /// A client must send a request's whole header within this many seconds
    /// of starting it (or, on a kept-alive connection, of the previous
    /// answer); a connection that trickles bytes is closed.
    pub header_timeout_seconds: u64,
    /// A request not answered within this many seconds gets 503 `busy`.
    /// Key release waits for Argon2id, so keep it generous.
    pub request_timeout_seconds: u64,
    /// A connection on which no byte moves either way for this many seconds
    /// is closed (at least the request timeout, so a slow answer is not cut).
    pub idle_timeout_seconds: u64,
    /// Open Online: an envelope posted to `/open`, and the message it opens
    /// to, are kept (in memory only) this many minutes.
    pub open_online_minutes: u32,
    /// Open Online: memory for all envelopes and messages held at once, MB;
    /// past it, `/open` answers "busy" instead of growing.
    pub open_online_memory_mb: u32,
    /// Open Online: the largest envelope accepted, MB (its base64 text form).
    pub open_online_max_mb: u32,
    /// Answers (Reply, Reply all, Forward) may go to the original sender and
    /// to addresses in these domains (the organisation's own).
    pub reply_domains: Vec<String>,
    /// Forward may go to any address (each registers before opening).
    pub forward_outside: bool,
    /// Files one answer may carry.
    pub compose_max_files: u32,
    /// Their total, MB.
    pub compose_max_files_mb: u32,
    /// The whole answer, MB.
    pub compose_max_message_mb: u32,
    /// Answers expire after this many days.
    pub answer_expires_days: u32,
    /// An envelope opened in the browser may lead to Reply, Reply all and
    /// Forward for this many minutes after its key was released.
    pub answer_token_minutes: u32,
    /// The organisation's own mail domains.
    pub internal_domains: Vec<String>,
    /// Deliver answers to addresses in `internal_domains` as ordinary mail,
    /// straight to the relay (`smtp_url`), instead of sealing them. Off by
    /// default: the answer then leaves the key server in the clear.
    pub internal_answers_plain: bool,
    /// Pull delivery and the portal (`[portal]`).
    pub portal: PortalConfig,
    /// Password expiry warnings, inactivity, deletion (`[accounts]`).
    pub accounts: AccountsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            master_key_file: None,
            public_url: "http://127.0.0.1:8080".into(),
            password_m_kib: 19 * 1024,
            password_t: 2,
            password_p: 1,
            password_concurrency: None,
            password_queue: 64,
            password_policy: crate::Preset::Nist,
            lockout_attempts: None,
            lockout_minutes: None,
            client_failure_limit: 30,
            client_window_minutes: 15,
            trusted_proxies: Vec::new(),
            audit_retention_days: 365,
            retention_days: 30,
            smtp_url: None,
            outbox_dir: None,
            mail_from: "Secure messages <no-reply@securedoc.localhost>".into(),
            organization_name: None,
            mail_max_attempts: 8,
            mail_retry_seconds: 30,
            mail_retention_days: 7,
            confirm_link_hours: 24,
            reset_link_minutes: 60,
            reset_attempts: 5,
            remember_days: 30,
            metrics_listen: None,
            header_timeout_seconds: 10,
            request_timeout_seconds: 60,
            idle_timeout_seconds: 120,
            open_online_minutes: 10,
            open_online_memory_mb: 512,
            open_online_max_mb: 100,
            reply_domains: Vec::new(),
            forward_outside: false,
            compose_max_files: 10,
            compose_max_files_mb: 30,
            compose_max_message_mb: 35,
            answer_expires_days: 30,
            answer_token_minutes: 30,
            internal_domains: Vec::new(),
            internal_answers_plain: false,
            portal: PortalConfig::default(),
            accounts: AccountsConfig::default(),
        }
    }
}

impl Config {
    /// Defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, Error> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
                toml::from_str(&text)
                    .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), Error> {
        if let Some(listen) = var("SECUREDOC_LISTEN") {
            self.listen = listen.parse().map_err(|_| {
                Error::Config(format!(
                    "SECUREDOC_LISTEN '{listen}' is not an address like 127.0.0.1:8080"
                ))
            })?;
        }
        if let Some(dir) = var("SECUREDOC_DATA_DIR") {
            self.data_dir = dir.into();
        }
        if let Some(url) = var("DATABASE_URL").or_else(|| var("SECUREDOC_DATABASE_URL")) {
            self.database_url = Some(url);
        }
        if let Some(file) = var("SECUREDOC_MASTER_KEY_FILE") {
            self.master_key_file = Some(file.into());
        }
        if let Some(url) = var("SECUREDOC_PUBLIC_URL") {
            self.public_url = url;
        }
        if let Some(url) = var("SECUREDOC_SMTP_URL") {
            self.smtp_url = Some(url);
        }
        if let Some(dir) = var("SECUREDOC_OUTBOX") {
            self.outbox_dir = Some(dir.into());
        }
        if let Some(from) = var("SECUREDOC_MAIL_FROM") {
            self.mail_from = from;
        }
        if let Some(name) = var("SECUREDOC_ORGANIZATION_NAME") {
            self.organization_name = Some(name);
        }
        if let Some(proxies) = var("SECUREDOC_TRUSTED_PROXIES") {
            self.trusted_proxies = proxies
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect();
        }
        if let Some(policy) = var("SECUREDOC_PASSWORD_POLICY") {
            self.password_policy = serde_json::from_value(serde_json::Value::String(policy.to_lowercase())).map_err(|_| {
                Error::Config(format!(
                    "SECUREDOC_PASSWORD_POLICY '{policy}' is not one of nist, cres, mimecast, trustwave, mailgate"
                ))
            })?;
        }
        if let Some(listen) = var("SECUREDOC_METRICS_LISTEN") {
            self.metrics_listen = Some(listen.parse().map_err(|_| {
                Error::Config(format!(
                    "SECUREDOC_METRICS_LISTEN '{listen}' is not an address like 127.0.0.1:9090"
                ))
            })?);
        }
        Ok(())
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("securedoc.db").display()
            )
        })
    }

    /// The lockout in effect: (attempts, minutes).
    pub fn lockout(&self) -> (u32, u32) {
        let (attempts, minutes) = self.password_policy.policy().lockout;
        (
            self.lockout_attempts.unwrap_or(attempts),
            self.lockout_minutes.unwrap_or(minutes),
        )
    }

    /// `trusted_proxies` as networks; a plain address is a network of one.
    pub fn trusted_proxy_networks(&self) -> Result<Vec<ipnet::IpNet>, Error> {
        self.trusted_proxies
            .iter()
            .map(|entry| {
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        Error::Config(format!(
                            "trusted_proxies: '{entry}' is not an IP address or a CIDR range like 10.0.0.0/8"
                        ))
                    })
            })
            .collect()
    }

    /// `organization_name`, trimmed; unset or blank is `None`. Envelopes
    /// show it, so it is one line of at most 320 characters.
    pub fn organization_name(&self) -> Result<Option<String>, Error> {
        let Some(name) = self.organization_name.as_deref().map(str::trim) else {
            return Ok(None);
        };
        if name.chars().count() > 320 || name.chars().any(char::is_control) {
            return Err(Error::Config(
                "organization_name must be one line of at most 320 characters".into(),
            ));
        }
        Ok(Some(name.to_string()).filter(|n| !n.is_empty()))
    }

    /// The domains answers go to in the clear (`internal_answers_plain`),
    /// lower-cased: none unless it is on, and then only with a relay, since
    /// an outbox file would keep the answer's plaintext at rest.
    pub fn plain_answer_domains(&self) -> Result<Vec<String>, Error> {
        if !self.internal_answers_plain {
            return Ok(Vec::new());
        }
        if self.smtp_url.is_none() {
            return Err(Error::Config(
                "internal_answers_plain sends answers as ordinary mail straight to the relay: set smtp_url (without it, mail would be written to the outbox, keeping answers in the clear on disk)".into(),
            ));
        }
        let domains = self.staff_domains();
        if domains.is_empty() {
            return Err(Error::Config(
                "internal_answers_plain needs internal_domains: the organisation's own mail domains, e.g. internal_domains = [\"clinic.example\"]".into(),
            ));
        }
        Ok(domains)
    }

    /// The outbox directory in effect (used when there is no SMTP relay).
    pub fn outbox_dir(&self) -> PathBuf {
        self.outbox_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("outbox"))
    }

    /// The master-key file in effect.
    pub fn master_key_file(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_overrides_the_defaults() {
        let mut config = Config::default();
        config
            .apply_env(|name| match name {
                "SECUREDOC_LISTEN" => Some("127.0.0.1:9999".into()),
                "DATABASE_URL" => Some("postgres://db/securedoc".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config.listen.port(), 9999);
        assert_eq!(config.lockout(), (5, 15));
        config
            .apply_env(|name| (name == "SECUREDOC_PASSWORD_POLICY").then(|| "Trustwave".into()))
            .unwrap();
        assert_eq!(
            config.lockout(),
            (3, 30),
            "the policy's lockout unless configured"
        );
        assert!(config
            .apply_env(|name| (name == "SECUREDOC_PASSWORD_POLICY").then(|| "lax".into()))
            .is_err());
        assert_eq!(config.database_url(), "postgres://db/securedoc");
        assert!(Config::default()
            .database_url()
            .starts_with("sqlite://./data/securedoc.db"));
    }

    #[test]
    fn the_organisation_name_is_one_trimmed_line_or_none() {
        let mut config = Config::default();
        assert_eq!(config.organization_name().unwrap(), None);
        config
            .apply_env(|name| {
                (name == "SECUREDOC_ORGANIZATION_NAME").then(|| " Example Clinic ".into())
            })
            .unwrap();
        assert_eq!(
            config.organization_name().unwrap().as_deref(),
            Some("Example Clinic")
        );
        config.organization_name = Some("  ".into());
        assert_eq!(config.organization_name().unwrap(), None);
        config.organization_name = Some("Clinic\nBcc: eve@evil.test".into());
        assert!(config.organization_name().is_err());
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let mut config = Config::default();
        config
            .apply_env(|name| {
                (name == "SECUREDOC_TRUSTED_PROXIES").then(|| "10.0.0.0/8, 192.0.2.1,::1".into())
            })
            .unwrap();
        let networks = config.trusted_proxy_networks().unwrap();
        assert_eq!(networks.len(), 3);
        assert!(networks[1].contains(&"192.0.2.1".parse::<std::net::IpAddr>().unwrap()));
        config.trusted_proxies = vec!["the proxy".into()];
        let error = config.trusted_proxy_networks().unwrap_err().to_string();
        assert!(
            error.contains("'the proxy' is not an IP address"),
            "{error}"
        );
    }

    #[test]
    fn a_bad_listen_address_is_a_clear_error() {
        let mut config = Config::default();
        let error = config
            .apply_env(|name| (name == "SECUREDOC_LISTEN").then(|| "everywhere".into()))
            .unwrap_err();
        assert!(error.to_string().contains("SECUREDOC_LISTEN 'everywhere'"));
    }
}
