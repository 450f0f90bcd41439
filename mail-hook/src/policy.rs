//! Which recipients of a message get a sealed envelope, and how
//! (docs/MAIL-HOOK.md, "Rules"): `hook.toml`'s triggers, its rules by sender
//! and recipient, and `internal_domains`.
//!
//! A recipient inside the organisation (`internal_domains`) always gets the
//! message as it came. An outside recipient gets an envelope when the first
//! rule that matches the message and that recipient says so, or else when
//! the message carries a trigger (a subject tag or a header); the trigger's
//! options are `[seal]`'s. Anyone else gets the message as it came.

use envelope_core::{Flags, SecurityLevel};
use serde::Deserialize;

use crate::trigger::Triggers;

/// How a rule (or a trigger) seals.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SealOptions {
    /// How often the key server asks the recipient for a password.
    pub security: SecurityLevel,
    /// Days until the message expires (its key is deleted); none: the key
    /// server's retention.
    pub expires_days: Option<u32>,
    /// What the recipient may not do: `reply`, `reply_all`, `forward`, `print`.
    pub restrict: Vec<Restriction>,
    /// Mail the sender a read receipt when each recipient first opens it.
    pub read_receipt: bool,
    /// `push` (the envelope attached to the notification), `pull` (the
    /// envelope kept at the key server, the notification links to it), or
    /// `auto` (push up to `auto_pull_over`, pull above).
    pub delivery: Delivery,
    /// With `delivery = "auto"`: the largest envelope file (bytes) that is
    /// still attached; written as a size, `"20MB"`. Default
    /// [`DEFAULT_AUTO_PULL_OVER`].
    #[serde(deserialize_with = "crate::size::optional_size")]
    pub auto_pull_over: Option<u64>,
}

/// `auto_pull_over` when a rule does not say: 20 MB.
pub const DEFAULT_AUTO_PULL_OVER: u64 = 20 * 1024 * 1024;

impl Default for SealOptions {
    fn default() -> Self {
        SealOptions {
            security: SecurityLevel::High,
            expires_days: Some(30),
            restrict: Vec::new(),
            read_receipt: false,
            delivery: Delivery::Push,
            auto_pull_over: None,
        }
    }
}

impl SealOptions {
    /// The flags sealed in the header and registered at the key server.
    pub fn flags(&self) -> Flags {
        let allowed = |what| !self.restrict.contains(&what);
        Flags {
            reply: allowed(Restriction::Reply),
            reply_all: allowed(Restriction::ReplyAll),
            forward: allowed(Restriction::Forward),
            print: allowed(Restriction::Print),
            read_receipt: self.read_receipt,
        }
    }

    /// Whether an envelope whose file (`securedoc.html`) would be
    /// `envelope_file_len` bytes is kept at the key server rather than
    /// attached.
    pub fn pulls(&self, envelope_file_len: u64) -> bool {
        self.delivery.pulls(
            envelope_file_len,
            self.auto_pull_over.unwrap_or(DEFAULT_AUTO_PULL_OVER),
        )
    }
}

/// Something the recipient may be kept from doing.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Restriction {
    /// Reply.
    Reply,
    /// Reply all.
    ReplyAll,
    /// Forward.
    Forward,
    /// Print.
    Print,
}

/// How an envelope reaches its recipient.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    /// Attached to the notification.
    #[default]
    Push,
    /// Kept at the key server (server mode only); the notification links
    /// to the recipient's portal.
    Pull,
    /// Push while the envelope file is at most a size, pull above it.
    Auto,
}

impl Delivery {
    /// Whether an envelope whose file would be `envelope_file_len` bytes is
    /// kept at the key server: always for pull, never for push, and for
    /// auto when it is over `auto_pull_over`.
    pub fn pulls(self, envelope_file_len: u64, auto_pull_over: u64) -> bool {
        match self {
            Delivery::Push => false,
            Delivery::Pull => true,
            Delivery::Auto => envelope_file_len > auto_pull_over,
        }
    }
}

/// One `[[rule]]`: whom it applies to and how it seals. A rule with no
/// `senders` applies to every sender; with no `recipients`, to every
/// outside recipient. A rule with neither is refused (it would seal all
/// outgoing mail; say `senders = ["*"]` if that is what is meant).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Its name in logs and in the sender's confirmation.
    pub name: String,
    /// Addresses (`a@b.example`) and domains (`b.example`, which includes
    /// its subdomains), or `*` for any.
    #[serde(default)]
    pub senders: Vec<String>,
    /// The same, for recipients.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// How it seals.
    #[serde(flatten)]
    pub options: SealOptions,
}

/// Everything that decides what happens to a message.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// What makes a message ask to be sealed.
    pub triggers: Triggers,
    /// How a triggered message is sealed.
    pub seal: SealOptions,
    /// Rules, first match wins.
    pub rules: Vec<Rule>,
    /// The organisation's own domains (and their subdomains).
    pub internal_domains: Vec<String>,
}

/// Why a recipient gets an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealing {
    /// The rule's name, or `trigger`.
    pub rule: String,
    /// How.
    pub options: SealOptions,
}

/// What the policy decided for one message.
#[derive(Debug, Default)]
pub struct Plan {
    /// Recipients who get the message as it came, internal or not.
    pub clear: Vec<String>,
    /// Of those, how many are internal (for the confirmation's wording).
    pub internal: Vec<String>,
    /// Outside recipients who get envelopes, grouped by how they are sealed.
    pub sealed: Vec<(Sealing, Vec<String>)>,
}

impl Plan {
    /// Whether anything is to be sealed.
    pub fn seals(&self) -> bool {
        !self.sealed.is_empty()
    }
}

/// `address`'s domain, lowercase.
fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map(|(_, domain)| domain)
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Whether `address`'s local part is a plain dot-atom: no quotes, no `@`,
/// and none of the `%` and `!` that old routing syntax (which Postfix may
/// still honour) uses to send mail for a local-looking address elsewhere.
/// Only such an address can count as inside the organisation.
pub(crate) fn plain_local(address: &str) -> bool {
    let Some((local, _)) = address.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "#$&'*+-/=?^_`{|}~.".contains(c))
}

/// Whether `address` is one of `patterns`: `*`, an address, or a domain
/// (with its subdomains).
pub(crate) fn matches(patterns: &[String], address: &str) -> bool {
    let domain = domain_of(address);
    patterns.iter().any(|pattern| {
        let pattern = pattern.trim().to_ascii_lowercase();
        if pattern == "*" {
            true
        } else if pattern.contains('@') {
            pattern.eq_ignore_ascii_case(address)
        } else {
            let pattern = pattern.trim_start_matches('.');
            !pattern.is_empty() && (domain == pattern || domain.ends_with(&format!(".{pattern}")))
        }
    })
}

impl Policy {
    /// Checks what serde cannot: rules that would match everything, empty
    /// patterns, `auto_pull_over` without `delivery = "auto"`.
    pub fn check(&self) -> Result<(), String> {
        for rule in &self.rules {
            if rule.senders.is_empty() && rule.recipients.is_empty() {
                return Err(format!(
                    "rule \"{}\" names neither senders nor recipients; it would seal every outgoing message. Say senders = [\"*\"] if that is meant",
                    rule.name
                ));
            }
            if rule
                .senders
                .iter()
                .chain(&rule.recipients)
                .any(|p| p.trim().is_empty())
            {
                return Err(format!("rule \"{}\" has an empty address", rule.name));
            }
        }
        let stray = std::iter::once(("[seal]".to_string(), &self.seal))
            .chain(
                self.rules
                    .iter()
                    .map(|r| (format!("rule \"{}\"", r.name), &r.options)),
            )
            .find(|(_, options)| {
                options.auto_pull_over.is_some() && options.delivery != Delivery::Auto
            });
        if let Some((name, _)) = stray {
            return Err(format!(
                "{name} sets auto_pull_over, which only applies with delivery = \"auto\" (push up to that size, pull above); add delivery = \"auto\" or remove auto_pull_over"
            ));
        }
        Ok(())
    }

    /// Decides, for a message from `senders` (its From and its envelope
    /// sender: a rule for a sender matches either) to `recipients`, who gets
    /// what. `triggered`: the message carries a tag or a header that asks
    /// for sealing.
    pub fn plan(&self, senders: &[&str], recipients: &[String], triggered: bool) -> Plan {
        let mut plan = Plan::default();
        for to in recipients {
            if plain_local(to) && matches(&self.internal_domains, to) {
                plan.clear.push(to.clone());
                plan.internal.push(to.clone());
                continue;
            }
            let rule = self.rules.iter().find(|rule| {
                (rule.senders.is_empty() || senders.iter().any(|s| matches(&rule.senders, s)))
                    && (rule.recipients.is_empty() || matches(&rule.recipients, to))
            });
            let sealing = match (rule, triggered) {
                (Some(rule), _) => Sealing {
                    rule: rule.name.clone(),
                    options: rule.options.clone(),
                },
                (None, true) => Sealing {
                    rule: "trigger".into(),
                    options: self.seal.clone(),
                },
                (None, false) => {
                    plan.clear.push(to.clone());
                    continue;
                }
            };
            match plan.sealed.iter_mut().find(|(s, _)| *s == sealing) {
                Some((_, group)) => group.push(to.clone()),
                None => plan.sealed.push((sealing, vec![to.clone()])),
            }
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, senders: &[&str], recipients: &[&str]) -> Rule {
        Rule {
            name: name.into(),
            senders: senders.iter().map(|s| s.to_string()).collect(),
            recipients: recipients.iter().map(|s| s.to_string()).collect(),
            options: SealOptions::default(),
        }
    }

    fn to(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn domains_match_their_subdomains_and_nothing_that_merely_ends_alike() {
        let patterns = to(&["clinic.example"]);
        assert!(matches(&patterns, "a@clinic.example"));
        assert!(matches(&patterns, "a@Lab.Clinic.Example"));
        assert!(!matches(&patterns, "a@evilclinic.example"));
        assert!(!matches(&patterns, "clinic.example@evil.example"));
        assert!(matches(&to(&["x@partner.example"]), "X@Partner.Example"));
        assert!(!matches(&to(&["x@partner.example"]), "y@partner.example"));
    }

    #[test]
    fn internal_recipients_stay_clear_and_outside_ones_follow_rules_then_triggers() {
        let policy = Policy {
            internal_domains: to(&["clinic.example"]),
            rules: vec![rule("partners", &[], &["partner.example"])],
            ..Policy::default()
        };
        let recipients = to(&["in@clinic.example", "p@partner.example", "o@other.example"]);
        let plan = policy.plan(&["dr@clinic.example"], &recipients, false);
        assert_eq!(plan.clear, to(&["in@clinic.example", "o@other.example"]));
        assert_eq!(plan.internal, to(&["in@clinic.example"]));
        assert_eq!(plan.sealed.len(), 1);
        assert_eq!(plan.sealed[0].0.rule, "partners");
        assert_eq!(plan.sealed[0].1, to(&["p@partner.example"]));

        let plan = policy.plan(&["dr@clinic.example"], &recipients, true);
        assert_eq!(plan.clear, to(&["in@clinic.example"]));
        let rules: Vec<&str> = plan.sealed.iter().map(|(s, _)| s.rule.as_str()).collect();
        assert_eq!(rules, ["partners", "trigger"]);
    }

    #[test]
    fn a_rule_by_sender_seals_all_their_outside_mail() {
        let policy = Policy {
            internal_domains: to(&["clinic.example"]),
            rules: vec![rule("billing", &["billing@clinic.example"], &[])],
            ..Policy::default()
        };
        let plan = policy.plan(
            &["billing@clinic.example"],
            &to(&["a@x.example", "b@clinic.example"]),
            false,
        );
        assert_eq!(plan.sealed[0].1, to(&["a@x.example"]));
        assert!(!policy
            .plan(&["other@clinic.example"], &to(&["a@x.example"]), false)
            .seals());
    }

    #[test]
    fn an_internal_looking_address_that_routes_elsewhere_is_outside() {
        let policy = Policy {
            internal_domains: to(&["clinic.example"]),
            ..Policy::default()
        };
        // What smtp-proto gives for "x@partner.example"@clinic.example, and
        // the % and ! routing forms Postfix may still honour.
        let tricks = to(&[
            "x@partner.example@clinic.example",
            "x%partner.example@clinic.example",
            "partner.example!x@clinic.example",
        ]);
        let plan = policy.plan(&["dr@clinic.example"], &tricks, true);
        assert!(plan.internal.is_empty(), "{:?}", plan.internal);
        assert_eq!(plan.sealed[0].1, tricks, "each gets an envelope");
        let plan = policy.plan(
            &["dr@clinic.example"],
            &to(&["Nurse.J+x@clinic.example"]),
            true,
        );
        assert_eq!(plan.internal, to(&["Nurse.J+x@clinic.example"]));
    }

    #[test]
    fn a_rule_by_sender_also_matches_the_envelope_sender() {
        let policy = Policy {
            rules: vec![rule("billing", &["billing@clinic.example"], &[])],
            ..Policy::default()
        };
        // A changed From does not escape the rule.
        let plan = policy.plan(
            &["someone@clinic.example", "billing@clinic.example"],
            &to(&["a@x.example"]),
            false,
        );
        assert!(plan.seals());
    }

    #[test]
    fn a_rule_for_everything_and_a_stray_auto_pull_over_are_refused_with_a_reason() {
        let everything = Policy {
            rules: vec![rule("all", &[], &[])],
            ..Policy::default()
        };
        assert!(everything.check().unwrap_err().contains("every outgoing"));
        let mut pull = Policy::default();
        pull.seal.delivery = Delivery::Pull;
        assert!(pull.check().is_ok(), "pull delivery is allowed");
        pull.seal.auto_pull_over = Some(1024);
        let refused = pull.check().unwrap_err();
        assert!(
            refused.contains("[seal] sets auto_pull_over")
                && refused.contains("delivery = \"auto\""),
            "{refused}"
        );
        pull.seal.delivery = Delivery::Auto;
        assert!(pull.check().is_ok());
        assert!(Policy::default().check().is_ok());
    }

    #[test]
    fn auto_delivery_pushes_up_to_its_size_and_pulls_above() {
        let auto = toml_options("delivery = \"auto\"\nauto_pull_over = \"1MB\"");
        assert_eq!(auto.auto_pull_over, Some(1024 * 1024));
        assert!(!auto.pulls(1024 * 1024), "at the size: attached");
        assert!(
            auto.pulls(1024 * 1024 + 1),
            "above it: kept at the key server"
        );
        let default = toml_options("delivery = \"auto\"");
        assert!(
            !default.pulls(DEFAULT_AUTO_PULL_OVER) && default.pulls(DEFAULT_AUTO_PULL_OVER + 1)
        );
        assert!(toml_options("delivery = \"pull\"").pulls(1));
        assert!(
            !toml_options("").pulls(u64::MAX),
            "push by default, whatever the size"
        );
        let bad = toml::from_str::<SealOptions>("auto_pull_over = \"20 parsecs\"");
        assert!(bad.unwrap_err().to_string().contains("unknown unit"));
    }

    /// `SealOptions` as `hook.toml` writes them.
    fn toml_options(text: &str) -> SealOptions {
        toml::from_str(text).unwrap()
    }
}
