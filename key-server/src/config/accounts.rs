//! `[accounts]`: the account lifecycle (docs/PORTAL.md, "Account lifecycle"):
//! password expiry and its warning, disabling after inactivity, deleting
//! after that. The password policy's preset gives the defaults (MailGate:
//! passwords expire after 60 days, accounts are disabled after 90 days
//! without a login and deleted 90 days after that); every key overrides it.

use serde::Deserialize;

use crate::{Error, Preset};

/// Days are at most this many (a hundred years): no overflow, no typo of
/// a few extra zeros taken at its word.
const MOST_DAYS: u32 = 36_500;

/// The lifecycle settings as written under `[accounts]`; unset keys take
/// the preset's value, and 0 turns a step off.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountsConfig {
    /// Days until a password must be changed (default: the preset's; 0: never).
    pub password_expiry_days: Option<u32>,
    /// The owner is warned (once per password, by mail, and in the portal)
    /// this many days before the password expires (default: 7 when
    /// passwords expire; 0: no warning).
    pub expiry_warning_days: Option<u32>,
    /// An account nobody logged in to for this many days is disabled
    /// (default: the preset's, MailGate 90, others off; 0: off).
    pub disable_after_days: Option<u32>,
    /// An account disabled for inactivity is deleted this many days later
    /// (default: the preset's, MailGate 90, others off; 0: off). Accounts an
    /// administrator disabled are never deleted by it.
    pub delete_after_days: Option<u32>,
    /// Who a disabled account's owner should contact, named on the login
    /// page: an address or a short sentence ("helpdesk@clinic.example",
    /// "the IT desk, 555-0100"). Default: none (they are told to ask the
    /// sender of their message).
    pub help_desk: Option<String>,
}

/// The lifecycle in effect: the preset's defaults with the configuration's
/// overrides, checked. `None` is off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountLifecycle {
    /// Days until a password expires.
    pub password_expiry_days: Option<u32>,
    /// Days before the expiry that the warning comes.
    pub expiry_warning_days: Option<u32>,
    /// Days without a login before an account is disabled.
    pub disable_after_days: Option<u32>,
    /// Days after a disabling for inactivity before the account is deleted.
    pub delete_after_days: Option<u32>,
    /// Who to contact about a disabled account, trimmed, one line.
    pub help_desk: Option<String>,
}

/// `days` as seconds.
fn seconds(days: Option<u32>) -> Option<i64> {
    days.map(|d| i64::from(d) * 86_400)
}

impl AccountLifecycle {
    /// A password expires this long after it was set, seconds.
    pub fn expiry_seconds(&self) -> Option<i64> {
        seconds(self.password_expiry_days)
    }

    /// The warning comes this long before the expiry, seconds.
    pub fn warning_seconds(&self) -> Option<i64> {
        seconds(self.expiry_warning_days)
    }

    /// An account is disabled this long after its last login, seconds.
    pub fn disable_seconds(&self) -> Option<i64> {
        seconds(self.disable_after_days)
    }

    /// An account disabled for inactivity is deleted this long after, seconds.
    pub fn delete_seconds(&self) -> Option<i64> {
        seconds(self.delete_after_days)
    }
}

/// The preset's defaults: (disable after, delete after) days.
fn preset_inactivity(preset: Preset) -> (Option<u32>, Option<u32>) {
    match preset {
        // Axway MailGate: disabled after 90 days without a login, deleted
        // 90 days after that.
        Preset::Mailgate => (Some(90), Some(90)),
        Preset::Nist | Preset::Cres | Preset::Mimecast | Preset::Trustwave => (None, None),
    }
}

impl AccountsConfig {
    /// The lifecycle in effect under `preset`, or a clear error.
    pub fn resolve(&self, preset: Preset) -> Result<AccountLifecycle, Error> {
        let bad = |message: String| Err(Error::Config(format!("[accounts] {message}")));
        let on = |days: Option<u32>| days.filter(|d| *d > 0);
        for (key, days) in [
            ("password_expiry_days", self.password_expiry_days),
            ("expiry_warning_days", self.expiry_warning_days),
            ("disable_after_days", self.disable_after_days),
            ("delete_after_days", self.delete_after_days),
        ] {
            if days.is_some_and(|d| d > MOST_DAYS) {
                return bad(format!(
                    "{key} = {} is more than {MOST_DAYS} days; use 0 to turn it off",
                    days.unwrap_or_default()
                ));
            }
        }
        let expiry = on(self.password_expiry_days.or(preset.policy().expiry_days));
        let warning = match (self.expiry_warning_days, expiry) {
            (Some(days), None) if days > 0 => {
                return bad(format!(
                    "expiry_warning_days = {days}, but passwords do not expire under the {} policy: set password_expiry_days too, or remove expiry_warning_days",
                    preset_name(preset)
                ));
            }
            (Some(days), Some(expiry)) if days >= expiry => {
                return bad(format!(
                    "expiry_warning_days = {days} must be fewer than the days a password lasts ({expiry})"
                ));
            }
            (Some(days), _) => on(Some(days)),
            // A week's notice, or a day's for passwords that last a week or less.
            (None, Some(expiry)) => Some(if expiry > 7 {
                7
            } else {
                expiry.saturating_sub(1)
            })
            .filter(|d| *d > 0),
            (None, None) => None,
        };
        let (preset_disable, preset_delete) = preset_inactivity(preset);
        let disable = on(self.disable_after_days.or(preset_disable));
        let delete = match (on(self.delete_after_days), disable) {
            (Some(days), None) => {
                return bad(format!(
                    "delete_after_days = {days} counts from the day an account is disabled for inactivity: set disable_after_days too, or remove delete_after_days"
                ));
            }
            // Without disabling there is nothing to delete after it.
            (_, None) => None,
            (Some(days), Some(_)) => Some(days),
            (None, Some(_)) if self.delete_after_days == Some(0) => None,
            (None, Some(_)) => preset_delete,
        };
        let help_desk = match self.help_desk.as_deref().map(str::trim) {
            Some(text) if text.chars().count() > 200 || text.chars().any(char::is_control) => {
                return bad(
                    "help_desk must be one line of at most 200 characters (an address or a short sentence)".into(),
                );
            }
            Some(text) if !text.is_empty() => Some(text.to_string()),
            _ => None,
        };
        Ok(AccountLifecycle {
            password_expiry_days: expiry,
            expiry_warning_days: warning,
            disable_after_days: disable,
            delete_after_days: delete,
            help_desk,
        })
    }
}

impl super::Config {
    /// The account lifecycle in effect: `[accounts]` over the password
    /// policy's preset.
    pub fn account_lifecycle(&self) -> Result<AccountLifecycle, Error> {
        self.accounts.resolve(self.password_policy)
    }

    /// The password rules in effect: the preset's, with `[accounts]
    /// password_expiry_days` when set.
    pub fn password_rules(&self) -> Result<crate::PasswordPolicy, Error> {
        Ok(crate::PasswordPolicy {
            expiry_days: self.account_lifecycle()?.password_expiry_days,
            ..self.password_policy.policy()
        })
    }
}

fn preset_name(preset: Preset) -> &'static str {
    match preset {
        Preset::Nist => "nist",
        Preset::Cres => "cres",
        Preset::Mimecast => "mimecast",
        Preset::Trustwave => "trustwave",
        Preset::Mailgate => "mailgate",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(config: AccountsConfig, preset: Preset) -> AccountLifecycle {
        config.resolve(preset).unwrap()
    }

    fn error(config: AccountsConfig, preset: Preset) -> String {
        config.resolve(preset).unwrap_err().to_string()
    }

    #[test]
    fn the_presets_give_the_defaults() {
        assert_eq!(
            resolve(AccountsConfig::default(), Preset::Mailgate),
            AccountLifecycle {
                password_expiry_days: Some(60),
                expiry_warning_days: Some(7),
                disable_after_days: Some(90),
                delete_after_days: Some(90),
                help_desk: None,
            }
        );
        for preset in [
            Preset::Nist,
            Preset::Cres,
            Preset::Mimecast,
            Preset::Trustwave,
        ] {
            assert_eq!(
                resolve(AccountsConfig::default(), preset),
                AccountLifecycle::default(),
                "{preset:?}"
            );
        }
    }

    #[test]
    fn the_configuration_overrides_and_zero_turns_off() {
        let config = AccountsConfig {
            expiry_warning_days: Some(14),
            disable_after_days: Some(0),
            delete_after_days: Some(0),
            help_desk: Some("  helpdesk@clinic.example ".into()),
            ..AccountsConfig::default()
        };
        let lifecycle = resolve(config, Preset::Mailgate);
        assert_eq!(lifecycle.expiry_warning_days, Some(14));
        assert_eq!(lifecycle.disable_after_days, None);
        assert_eq!(lifecycle.delete_after_days, None);
        assert_eq!(
            lifecycle.help_desk.as_deref(),
            Some("helpdesk@clinic.example")
        );
        // Expiry for a preset that has none, with its default warning.
        let lifecycle = resolve(
            AccountsConfig {
                password_expiry_days: Some(90),
                disable_after_days: Some(30),
                ..AccountsConfig::default()
            },
            Preset::Nist,
        );
        assert_eq!(lifecycle.password_expiry_days, Some(90));
        assert_eq!(lifecycle.expiry_warning_days, Some(7));
        assert_eq!(lifecycle.disable_seconds(), Some(30 * 86_400));
        assert_eq!(lifecycle.delete_after_days, None);
        // No expiry: no warning.
        let lifecycle = resolve(
            AccountsConfig {
                password_expiry_days: Some(0),
                ..AccountsConfig::default()
            },
            Preset::Mailgate,
        );
        assert_eq!(lifecycle.password_expiry_days, None);
        assert_eq!(lifecycle.expiry_warning_days, None);
        let blank = AccountsConfig {
            help_desk: Some("   ".into()),
            ..AccountsConfig::default()
        };
        assert_eq!(resolve(blank, Preset::Nist).help_desk, None);
    }

    #[test]
    fn mistakes_are_clear_errors() {
        let message = error(
            AccountsConfig {
                expiry_warning_days: Some(7),
                ..AccountsConfig::default()
            },
            Preset::Nist,
        );
        assert!(
            message.contains("passwords do not expire under the nist policy"),
            "{message}"
        );
        let message = error(
            AccountsConfig {
                expiry_warning_days: Some(60),
                ..AccountsConfig::default()
            },
            Preset::Mailgate,
        );
        assert!(message.contains("must be fewer than"), "{message}");
        let message = error(
            AccountsConfig {
                delete_after_days: Some(30),
                ..AccountsConfig::default()
            },
            Preset::Cres,
        );
        assert!(message.contains("set disable_after_days too"), "{message}");
        // Turning the preset's disabling off turns its deleting off too.
        let lifecycle = resolve(
            AccountsConfig {
                disable_after_days: Some(0),
                ..AccountsConfig::default()
            },
            Preset::Mailgate,
        );
        assert_eq!(lifecycle.delete_after_days, None);
        let message = error(
            AccountsConfig {
                help_desk: Some("IT\nBcc: eve@evil.test".into()),
                ..AccountsConfig::default()
            },
            Preset::Nist,
        );
        assert!(message.contains("help_desk must be one line"), "{message}");
        let message = error(
            AccountsConfig {
                disable_after_days: Some(1_000_000),
                ..AccountsConfig::default()
            },
            Preset::Nist,
        );
        assert!(
            message.contains("disable_after_days = 1000000"),
            "{message}"
        );
    }
}
