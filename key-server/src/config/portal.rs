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
    /// about three times its envelope (the envelope, the plaintext, the
    /// page); past the budget a request waits a few seconds, then gets
    /// "busy" (503) instead of the server running out of memory.
    pub decrypt_memory_mb: u32,
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
        }
    }
}

impl super::Config {
    /// The domains Compose may write to, lower-cased: `[portal]
    /// compose_domains`, else `internal_domains`.
    pub fn compose_domains(&self) -> Vec<String> {
        self.portal
            .compose_domains
            .as_ref()
            .unwrap_or(&self.internal_domains)
            .iter()
            .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect()
    }
}
