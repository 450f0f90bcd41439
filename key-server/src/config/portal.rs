//! `[portal]`: pull delivery and the secure-mail portal (docs/PORTAL.md).

use serde::Deserialize;

/// How a recipient without an account gets one (`first_contact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstContact {
    /// They register themselves (the CRES way): the login page links to the
    /// registration form.
    Register,
    /// The key server creates the account when the first message for the
    /// address is stored, and mails a first-time password once (the
    /// Mimecast way); the first login must choose a new one.
    TemporaryPassword,
    /// No account at all: every message to an address without a confirmed
    /// account when it is registered is read with a one-time code mailed
    /// on request (Microsoft Purview's one-time passcode).
    Passcode,
}

/// The portal's settings, under `[portal]` in the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PortalConfig {
    /// The largest envelope a sender may store for pull delivery, MB (its
    /// binary form, as `PUT /api/v1/messages/{id}/envelope` takes it).
    pub max_envelope_mb: u32,
    /// A portal session ends after this many minutes without activity
    /// (Trustwave's "automatic logouts", MailGate's session timeout).
    pub session_idle_minutes: u32,
    /// The page warns this many seconds before it ends, with "Stay logged in".
    pub session_warning_seconds: u32,
    /// A session ends this many hours after login, active or not.
    pub session_max_hours: u32,
    /// Messages per Inbox page.
    pub page_size: u32,
    /// `register` (default), `temporary_password` or `passcode`.
    pub first_contact: FirstContact,
    /// A mailed first-time password works this many days.
    pub temporary_password_days: u32,
    /// Recipients may write new messages (Compose) to these domains;
    /// default: `internal_domains` (the organisation's own).
    pub compose_domains: Option<Vec<String>>,
    /// Keep a copy of what recipients send from the portal (Sent items);
    /// `false` as Trustwave's portal does.
    pub keep_sent: bool,
    /// An optional password hint in Preferences, mailed on request from
    /// "Forgot your password?" (MailGate's). Off by default: OWASP ASVS
    /// 6.4.2 says no hints.
    pub password_hint: bool,
    /// Memory for messages the portal decrypts at once, MB. A view costs
    /// about four times its envelope (the envelope, the plaintext, the
    /// parsed message, the page); past the budget a request waits a few seconds, then gets
    /// "busy" (503) instead of the server running out of memory.
    pub decrypt_memory_mb: u32,
    /// A header the reverse proxy sets to the address of the member of
    /// staff it signed in (single sign-on), e.g. `X-Remote-User`. Believed
    /// only from `trusted_proxies`, and only for `internal_domains`; the
    /// proxy must remove it from what clients send.
    pub trusted_sso_header: Option<String>,
}

impl Default for PortalConfig {
    fn default() -> Self {
        PortalConfig {
            max_envelope_mb: 100,
            session_idle_minutes: 15,
            session_warning_seconds: 60,
            session_max_hours: 12,
            page_size: 50,
            first_contact: FirstContact::Register,
            temporary_password_days: 14,
            compose_domains: None,
            keep_sent: true,
            password_hint: false,
            decrypt_memory_mb: 512,
            trusted_sso_header: None,
        }
    }
}

/// Mail domains as configured (`clinic.example`, `@Clinic.example`),
/// lower-cased, blanks dropped.
pub(super) fn domain_list(domains: &[String]) -> Vec<String> {
    domains
        .iter()
        .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect()
}

impl super::Config {
    /// The domains Compose may write to, lower-cased: `[portal]
    /// compose_domains`, else `internal_domains`.
    pub fn compose_domains(&self) -> Vec<String> {
        domain_list(
            self.portal
                .compose_domains
                .as_ref()
                .unwrap_or(&self.internal_domains),
        )
    }

    /// `internal_domains`, lower-cased: the organisation's own, where staff
    /// accounts live.
    pub fn staff_domains(&self) -> Vec<String> {
        domain_list(&self.internal_domains)
    }

    /// `[portal] trusted_sso_header` as a header name, if set: refused
    /// without `trusted_proxies` (anyone could send it) or without
    /// `internal_domains` (nobody could be signed in by it).
    pub fn sso_header(&self) -> Result<Option<axum::http::HeaderName>, crate::Error> {
        let Some(name) = self.portal.trusted_sso_header.as_deref().map(str::trim) else {
            return Ok(None);
        };
        let config =
            |why: String| crate::Error::Config(format!("[portal] trusted_sso_header: {why}"));
        let header = axum::http::HeaderName::try_from(name)
            .map_err(|_| config(format!("'{name}' is not a header name like X-Remote-User")))?;
        if self.trusted_proxies.is_empty() {
            return Err(config(
                "set trusted_proxies to the reverse proxy that signs staff in: the header is believed only from it, since any client can send a header".into(),
            ));
        }
        if self.staff_domains().is_empty() {
            return Err(config(
                "set internal_domains to the organisation's mail domains: the header signs in staff of those domains only".into(),
            ));
        }
        Ok(Some(header))
    }
}
