//! Password policies: one preset per system securedoc replaces (docs/ACCOUNTS.md),
//! each stating its rules in words the registration page shows, and checking
//! them. `nist` is the default: length, not a common or guessable password,
//! no composition rules (NIST SP 800-63B).
//!
//! Guessability comes from `zxcvbn` (dictionaries of common passwords,
//! English words, names and keyboard patterns), given the user's own name and
//! address so that those count as guessable too.

use serde::Deserialize;

/// A preset, chosen in the configuration (`password_policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// NIST SP 800-63B: 8 to 64 characters, any Unicode, not common or guessable.
    #[default]
    Nist,
    /// Cisco Registered Envelope Service: 6 or more, letters and numbers.
    Cres,
    /// Mimecast: 8 or more, lower and upper case and a digit.
    Mimecast,
    /// Trustwave portal (Washington State policy): 10 or more, a digit, upper
    /// and lower case, a special character but not `*` or `.`, not the name or
    /// e-mail, not a word, not one of the last four or an increment of one.
    Trustwave,
    /// Axway MailGate: 8 or more, letters and a digit; expires after 60 days.
    Mailgate,
}

/// The rules of one policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Fewest characters (Unicode scalar values).
    pub min_len: usize,
    /// Most characters.
    pub max_len: usize,
    /// Needs a digit.
    pub digit: bool,
    /// Needs a letter.
    pub letter: bool,
    /// Needs upper and lower case.
    pub mixed_case: bool,
    /// Needs a special character (not a letter, digit or space).
    pub special: bool,
    /// Special characters that do not count (and are refused).
    pub refused_specials: &'static str,
    /// May not contain the user's name or e-mail address.
    pub no_personal: bool,
    /// May not be a common or easily guessed password (zxcvbn score 0–1).
    pub not_guessable: bool,
    /// May not be a dictionary word.
    pub not_a_word: bool,
    /// How many previous passwords (and their increments by one) are refused.
    pub history: usize,
    /// Days until a password must be changed.
    pub expiry_days: Option<u32>,
    /// Wrong passwords before a lock, and the lock's minutes.
    pub lockout: (u32, u32),
}

/// Who the password is for: their own details must not be in it.
#[derive(Debug, Clone, Default)]
pub struct Person<'a> {
    /// E-mail address.
    pub email: &'a str,
    /// First name.
    pub first_name: &'a str,
    /// Last name.
    pub last_name: &'a str,
}

/// One broken rule, with the sentence to show next to the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Stable id of the rule (`min_len`, `digit`, …).
    pub rule: &'static str,
    /// What the user should do.
    pub message: String,
}

impl Preset {
    /// The preset's rules.
    pub fn policy(self) -> PasswordPolicy {
        let base = PasswordPolicy {
            min_len: 8,
            max_len: 128,
            digit: false,
            letter: false,
            mixed_case: false,
            special: false,
            refused_specials: "",
            no_personal: false,
            not_guessable: false,
            not_a_word: false,
            history: 0,
            expiry_days: None,
            lockout: (5, 15),
        };
        match self {
            Preset::Nist => PasswordPolicy {
                max_len: 64,
                not_guessable: true,
                no_personal: true,
                ..base
            },
            Preset::Cres => PasswordPolicy {
                min_len: 6,
                digit: true,
                letter: true,
                lockout: (5, 60),
                ..base
            },
            Preset::Mimecast => PasswordPolicy {
                digit: true,
                mixed_case: true,
                ..base
            },
            Preset::Trustwave => PasswordPolicy {
                min_len: 10,
                digit: true,
                mixed_case: true,
                special: true,
                refused_specials: "*.",
                no_personal: true,
                not_a_word: true,
                history: 4,
                lockout: (3, 30),
                ..base
            },
            Preset::Mailgate => PasswordPolicy {
                digit: true,
                letter: true,
                expiry_days: Some(60),
                lockout: (10, 24 * 60),
                ..base
            },
        }
    }
}

impl PasswordPolicy {
    /// The rules as the registration page lists them.
    pub fn rules(&self) -> Vec<String> {
        let mut rules = vec![if self.max_len < 128 {
            format!("{} to {} characters", self.min_len, self.max_len)
        } else {
            format!("At least {} characters", self.min_len)
        }];
        if self.digit {
            rules.push("At least one number (0-9)".into());
        }
        if self.letter && !self.mixed_case {
            rules.push("At least one letter".into());
        }
        if self.mixed_case {
            rules.push("Both upper-case and lower-case letters".into());
        }
        if self.special {
            rules.push(format!(
                "At least one special character such as ~!@#$?^&{}",
                if self.refused_specials.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (not {})",
                        self.refused_specials
                            .chars()
                            .map(|c| c.to_string())
                            .collect::<Vec<_>>()
                            .join(" or ")
                    )
                }
            ));
        }
        if self.no_personal {
            rules.push("Not your name or e-mail address".into());
        }
        if self.not_a_word {
            rules.push("Not a complete word".into());
        }
        if self.not_guessable {
            rules.push("Not a common or easily guessed password".into());
        }
        if self.history > 0 {
            rules.push(format!("Different from your last {} passwords, and not one of them with a number changed by one", self.history));
        }
        rules
    }

    /// Every rule `password` breaks; empty when it is acceptable. (History is
    /// checked separately, against stored hashes: see [`history_candidates`].)
    pub fn check(&self, password: &str, person: &Person<'_>) -> Vec<Violation> {
        let mut broken = Vec::new();
        let mut add = |rule, message: &str| {
            broken.push(Violation {
                rule,
                message: message.to_string(),
            })
        };
        let len = password.chars().count();
        if len < self.min_len {
            add(
                "min_len",
                &format!("Use at least {} characters.", self.min_len),
            );
        }
        if len > self.max_len {
            add(
                "max_len",
                &format!("Use at most {} characters.", self.max_len),
            );
        }
        if self.digit && !password.chars().any(|c| c.is_ascii_digit()) {
            add("digit", "Add a number.");
        }
        if self.letter && !password.chars().any(char::is_alphabetic) {
            add("letter", "Add a letter.");
        }
        if self.mixed_case
            && !(password.chars().any(char::is_uppercase)
                && password.chars().any(char::is_lowercase))
        {
            add("mixed_case", "Use both upper-case and lower-case letters.");
        }
        if password.chars().any(|c| self.refused_specials.contains(c)) {
            add(
                "refused_special",
                &format!(
                    "Do not use {}.",
                    self.refused_specials
                        .chars()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            );
        }
        let is_special = |c: char| {
            !c.is_alphanumeric() && !c.is_whitespace() && !self.refused_specials.contains(c)
        };
        if self.special && !password.chars().any(is_special) {
            add("special", "Add a special character such as ~!@#$?^&.");
        }
        let lower = password.to_lowercase();
        if self.no_personal
            && personal_parts(person)
                .iter()
                .any(|part| lower.contains(part.as_str()))
        {
            add("personal", "Do not use your name or e-mail address.");
        }
        if self.not_a_word && is_a_word(password) {
            add("word", "Do not use a complete word on its own.");
        }
        if self.not_guessable && len >= self.min_len && guessable(password, person) {
            add(
                "guessable",
                "This password is too common or easy to guess; try a few unrelated words.",
            );
        }
        broken
    }
}

/// The user's name parts and address parts (3 characters or more), lower-cased.
fn personal_parts(person: &Person<'_>) -> Vec<String> {
    let (local, domain) = person.email.split_once('@').unwrap_or((person.email, ""));
    let domain_name = domain.split('.').next().unwrap_or("");
    [
        person.first_name,
        person.last_name,
        local,
        domain_name,
        person.email,
    ]
    .iter()
    .flat_map(|part| part.split(|c: char| !c.is_alphanumeric()))
    .map(str::to_lowercase)
    .filter(|part| part.chars().count() >= 3)
    .collect()
}

fn guessable(password: &str, person: &Person<'_>) -> bool {
    let inputs: Vec<&str> = [person.email, person.first_name, person.last_name]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    u8::from(zxcvbn::zxcvbn(password, &inputs).score()) <= 1
}

/// A password that is one dictionary word, ignoring case and the digits or
/// symbols around it ("Password1!" is the word "password").
fn is_a_word(password: &str) -> bool {
    let core: String = password
        .trim_matches(|c: char| !c.is_alphabetic())
        .to_lowercase();
    if core.chars().count() < 3 || !core.chars().all(char::is_alphabetic) {
        return false;
    }
    zxcvbn::zxcvbn(&core, &[]).sequence().iter().any(|m| {
        m.token.to_lowercase() == core
            && matches!(&m.pattern, zxcvbn::matching::patterns::MatchPattern::Dictionary(d) if !d.l33t)
    })
}

/// The passwords a new one must not match in the history: itself, and itself
/// with its last number one lower or one higher ("Password3" → "Password2",
/// "Password4"). The caller verifies each against the last stored hashes.
pub fn history_candidates(password: &str) -> Vec<String> {
    let mut candidates = vec![password.to_string()];
    let digits_start = password
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .len();
    let (stem, number) = password.split_at(digits_start);
    if let Ok(n) = number.parse::<u64>() {
        let width = number.len();
        for other in [n.checked_sub(1), n.checked_add(1)].into_iter().flatten() {
            candidates.push(format!("{stem}{other:0width$}"));
        }
    }
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> Person<'static> {
        Person {
            email: "jane.doe@example.org",
            first_name: "Jane",
            last_name: "Doe",
        }
    }

    fn rules_broken(preset: Preset, password: &str) -> Vec<&'static str> {
        preset
            .policy()
            .check(password, &person())
            .into_iter()
            .map(|v| v.rule)
            .collect()
    }

    #[test]
    fn nist_asks_for_length_and_not_guessable_only() {
        assert_eq!(rules_broken(Preset::Nist, "short"), ["min_len"]);
        assert!(rules_broken(Preset::Nist, "password").contains(&"guessable"));
        assert!(rules_broken(Preset::Nist, "12345678").contains(&"guessable"));
        assert!(rules_broken(Preset::Nist, "janedoe2024").contains(&"personal"));
        assert_eq!(
            rules_broken(Preset::Nist, "correct horse battery staple"),
            Vec::<&str>::new()
        );
        // Any Unicode, no composition rules.
        assert_eq!(
            rules_broken(Preset::Nist, "ночь улица фонарь аптека"),
            Vec::<&str>::new()
        );
        let long = "the quick brown fox jumps over the lazy dog near lake geneva at dawn 42";
        assert_eq!(rules_broken(Preset::Nist, long), ["max_len"]);
    }

    #[test]
    fn cres_wants_six_with_letters_and_numbers() {
        assert_eq!(rules_broken(Preset::Cres, "abc12"), ["min_len"]);
        assert_eq!(rules_broken(Preset::Cres, "abcdef"), ["digit"]);
        assert_eq!(rules_broken(Preset::Cres, "123456"), ["letter"]);
        assert_eq!(rules_broken(Preset::Cres, "abc123"), Vec::<&str>::new());
    }

    #[test]
    fn mimecast_wants_eight_with_lower_upper_and_a_digit() {
        assert_eq!(
            rules_broken(Preset::Mimecast, "abcdefgh"),
            ["digit", "mixed_case"]
        );
        assert_eq!(
            rules_broken(Preset::Mimecast, "Abcdefg1"),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn trustwave_follows_the_washington_state_rules() {
        let p = Preset::Trustwave;
        assert!(rules_broken(p, "Ab1!").contains(&"min_len"));
        assert_eq!(rules_broken(p, "abcdefgh1!x"), ["mixed_case"]);
        assert_eq!(rules_broken(p, "Abcdefghij!"), ["digit"]);
        assert_eq!(rules_broken(p, "Abcdefghij1"), ["special"]);
        // The asterisk and the period are not valid special characters.
        assert_eq!(
            rules_broken(p, "Abcdefghi1*"),
            ["refused_special", "special"]
        );
        assert_eq!(
            rules_broken(p, "Abcdefghi1."),
            ["refused_special", "special"]
        );
        // Not the name or the e-mail address.
        assert!(rules_broken(p, "JaneDoe#2024x").contains(&"personal"));
        assert!(rules_broken(p, "Example#2024x").contains(&"personal"));
        // Not a complete word (with the usual digits and symbols around it).
        assert_eq!(rules_broken(p, "Basketball1!"), ["word"]);
        assert_eq!(rules_broken(p, "Tr0ub4dor&3x"), Vec::<&str>::new());
        assert_eq!(p.policy().history, 4);
        assert_eq!(p.policy().lockout, (3, 30));
    }

    #[test]
    fn increments_of_one_count_as_the_same_password() {
        assert_eq!(
            history_candidates("Password3"),
            ["Password3", "Password2", "Password4"]
        );
        assert_eq!(
            history_candidates("Spring#09"),
            ["Spring#09", "Spring#08", "Spring#10"]
        );
        assert_eq!(history_candidates("Winter#0"), ["Winter#0", "Winter#1"]);
        assert_eq!(history_candidates("NoNumber!"), ["NoNumber!"]);
    }

    #[test]
    fn mailgate_passwords_expire_after_sixty_days() {
        assert_eq!(Preset::Mailgate.policy().expiry_days, Some(60));
        assert_eq!(rules_broken(Preset::Mailgate, "abcdefgh"), ["digit"]);
    }

    #[test]
    fn the_rules_are_stated_for_the_form() {
        let rules = Preset::Trustwave.policy().rules();
        assert!(
            rules.contains(&"At least 10 characters".to_string()),
            "{rules:?}"
        );
        assert!(
            rules.iter().any(|r| r.contains("(not * or .)")),
            "{rules:?}"
        );
        assert_eq!(Preset::Nist.policy().rules()[0], "8 to 64 characters");
    }
}
