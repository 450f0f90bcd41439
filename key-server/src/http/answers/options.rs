//! How a message written in the portal is sent: an answer (and a new
//! message from an outside recipient) as always — sealed, attached, the
//! sender's defaults — and a new message from staff with the sender
//! options Mimecast's portal offers after Send: Request Read Receipt,
//! Restricted (No Print; No Print, No Reply), Expire in 1 / 7 / 30 days or
//! on a date, and here also the security level and push or pull delivery
//! (docs/PORTAL.md, "Staff").
//!
//! The options are read from a post only for staff: an outside account's
//! post that carries them is sent with the defaults, whatever it says.

use envelope_core::{Flags, SecurityLevel};
use securedoc_templates::{fill, text};
use serde::Serialize;

use crate::http::AppState;

/// How one message is sealed, registered and delivered.
#[derive(Debug, Clone)]
pub(crate) struct SendOptions {
    pub flags: Flags,
    pub security: SecurityLevel,
    /// Expiry, Unix seconds.
    pub expires: i64,
    /// Kept at the key server for the recipient's portal (pull), or
    /// attached to the notification (push).
    pub pull: bool,
    /// Every recipient reads with a one-time passcode mailed on request
    /// (no account needed), as `securedoc seal --security passcode`.
    pub passcode: bool,
    /// The internal sender the message is registered under.
    pub sender: &'static str,
}

/// The internal sender of answers and outside recipients' new messages.
pub(crate) const ANSWERS: &str = "securedoc-answers";
/// The internal sender of staff's messages (their Sent view controls them).
pub(crate) const STAFF: &str = "securedoc-portal";

impl SendOptions {
    /// An answer: the default flags, asked every time, the configured
    /// answer expiry, attached.
    pub(crate) fn answer(state: &AppState) -> SendOptions {
        SendOptions {
            flags: Flags::default(),
            security: SecurityLevel::High,
            expires: state.store.now() + state.settings.compose.expires_seconds,
            pull: false,
            passcode: false,
            sender: ANSWERS,
        }
    }
}

/// The end of day `date` (`YYYY-MM-DD`), UTC, Unix seconds: "until the
/// 3rd" includes the 3rd.
pub(crate) fn end_of_day(date: &str) -> Option<i64> {
    let date: jiff::civil::Date = date.trim().parse().ok()?;
    let end = date
        .at(23, 59, 59, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()?;
    Some(end.timestamp().as_second())
}

/// Expiry choices in days (Mimecast's 1 / 7 / 30).
const EXPIRY_DAYS: [i64; 3] = [1, 7, 30];

/// The sender options as a staff compose form posts them (and shows them
/// again when the form comes back with an error).
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct OptionsForm {
    pub receipt: bool,
    /// `none`, `no_print`, `no_reply`.
    pub restricted: String,
    /// Days (`1`, `7`, `30`), or `date`.
    pub expires: String,
    /// `YYYY-MM-DD`, with `expires = date`.
    pub expires_on: String,
    /// `high`, `medium`, `low`, `passcode`.
    pub security: String,
    /// `pull`, `push`.
    pub delivery: String,
}

impl OptionsForm {
    /// What a new message starts with: no receipt, unrestricted, the
    /// longest expiry retention allows (at most 30 days), a password every
    /// time, read in the portal.
    pub(crate) fn initial(state: &AppState) -> OptionsForm {
        let longest = EXPIRY_DAYS
            .iter()
            .rev()
            .find(|days| **days * 86_400 <= state.settings.retention_seconds)
            .unwrap_or(&EXPIRY_DAYS[0]);
        OptionsForm {
            receipt: false,
            restricted: "none".into(),
            expires: longest.to_string(),
            expires_on: String::new(),
            security: "high".into(),
            delivery: "pull".into(),
        }
    }

    /// Takes a posted field if it is one of the options; false if not.
    pub(crate) fn read(&mut self, name: &str, value: &str) -> bool {
        let value: String = value.trim().chars().take(32).collect();
        match name {
            "receipt" => self.receipt = true,
            "restricted" => self.restricted = value,
            "expires" => self.expires = value,
            "expires_on" => self.expires_on = value,
            "security" => self.security = value,
            "delivery" => self.delivery = value,
            _ => return false,
        }
        true
    }

    /// The options chosen, or the field that is wrong and why (in `lang`).
    pub(crate) fn decide(
        &self,
        state: &AppState,
        lang: &str,
    ) -> Result<SendOptions, (&'static str, String)> {
        let invalid = |field: &'static str| (field, text(lang, "staff.options.invalid"));
        let now = state.store.now();
        let latest = now + state.settings.retention_seconds;
        let expires = match self.expires.as_str() {
            "date" => {
                let end = end_of_day(&self.expires_on)
                    .ok_or_else(|| ("expires_on", text(lang, "staff.options.date_invalid")))?;
                if end <= now {
                    return Err(("expires_on", text(lang, "staff.options.date_past")));
                }
                // Retention deletes every key by then, whatever the expiry says.
                if end > latest + 86_400 {
                    let date = jiff::Timestamp::from_second(latest)
                        .map(|t| t.strftime("%Y-%m-%d").to_string())
                        .unwrap_or_default();
                    return Err((
                        "expires_on",
                        fill(
                            &text(lang, "staff.options.date_too_late"),
                            &[("date", date)],
                        ),
                    ));
                }
                end.min(latest)
            }
            days => {
                let days: i64 = days.parse().map_err(|_| invalid("expires"))?;
                if !EXPIRY_DAYS.contains(&days) || days * 86_400 > state.settings.retention_seconds
                {
                    return Err(invalid("expires"));
                }
                now + days * 86_400
            }
        };
        let mut flags = Flags {
            read_receipt: self.receipt,
            ..Flags::default()
        };
        match self.restricted.as_str() {
            "none" => {}
            "no_print" => flags.print = false,
            "no_reply" => {
                flags.print = false;
                flags.reply = false;
                flags.reply_all = false;
                flags.forward = false;
            }
            _ => return Err(invalid("restricted")),
        }
        // A passcode message is sealed `high`: the code replaces the
        // password, every time (as the CLI's `--security passcode`).
        let (security, passcode) = match self.security.as_str() {
            "high" => (SecurityLevel::High, false),
            "medium" => (SecurityLevel::Medium, false),
            "low" => (SecurityLevel::Low, false),
            "passcode" => (SecurityLevel::High, true),
            _ => return Err(invalid("security")),
        };
        let pull = match self.delivery.as_str() {
            "pull" => true,
            "push" => false,
            _ => return Err(invalid("delivery")),
        };
        Ok(SendOptions {
            flags,
            security,
            expires,
            pull,
            passcode,
            sender: STAFF,
        })
    }

    /// The page's view of the options: what is chosen, and the choices.
    pub(crate) fn view(&self, state: &AppState, lang: &str) -> OptionsView {
        let now = state.store.now();
        let day = |seconds: i64| {
            jiff::Timestamp::from_second(seconds)
                .map(|t| t.strftime("%Y-%m-%d").to_string())
                .unwrap_or_default()
        };
        let retention_days = state.settings.retention_seconds / 86_400;
        OptionsView {
            chosen: self.clone(),
            expiry_days: EXPIRY_DAYS
                .iter()
                .filter(|days| **days <= retention_days)
                .map(|days| {
                    let key = if *days == 1 {
                        "staff.options.day"
                    } else {
                        "staff.options.days"
                    };
                    (
                        days.to_string(),
                        fill(&text(lang, key), &[("n", days.to_string())]),
                    )
                })
                .collect(),
            min_date: day(now + 86_400),
            max_date: day(now + state.settings.retention_seconds),
        }
    }
}

/// The compose page's sender options.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct OptionsView {
    pub chosen: OptionsForm,
    /// (value, label) of each expiry in days that retention allows.
    pub expiry_days: Vec<(String, String)>,
    /// The date field's bounds, `YYYY-MM-DD`.
    pub min_date: String,
    pub max_date: String,
}
