//! What makes a message one to seal (docs/MAIL-HOOK.md, "Triggers"): a tag
//! in the subject (`[secure]`, `[encrypt]`, `[confidential]` by default,
//! any case, anywhere), or a header (`X-Securedoc: seal`; Outlook's
//! `Sensitivity: Company-Confidential`). A securedoc notification is never
//! sealed again.

/// The triggers in effect.
#[derive(Debug, Clone)]
pub struct Triggers {
    /// Subject tags, compared without regard to case.
    pub subject_tags: Vec<String>,
}

impl Default for Triggers {
    fn default() -> Self {
        Triggers {
            subject_tags: ["[secure]", "[encrypt]", "[confidential]"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// The header every securedoc notification carries.
pub const NOTIFICATION_HEADER: &str = "X-Securedoc-Notification";

impl Triggers {
    /// Whether `message` (RFC 5322 bytes) asks to be sealed.
    pub fn matches(&self, message: &[u8]) -> bool {
        let Some(parsed) = mail_parser::MessageParser::default().parse_headers(message) else {
            return false;
        };
        if parsed.header(NOTIFICATION_HEADER).is_some() {
            return false;
        }
        let header_is = |name: &str, value: &str| {
            parsed
                .header(name)
                .and_then(|h| h.as_text())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case(value))
        };
        if header_is("X-Securedoc", "seal") || header_is("Sensitivity", "Company-Confidential") {
            return true;
        }
        let subject = parsed.subject().unwrap_or_default().to_lowercase();
        self.subject_tags
            .iter()
            .any(|tag| !tag.is_empty() && subject.contains(&tag.to_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(headers: &str) -> Vec<u8> {
        format!("From: a@clinic.example\r\nTo: b@example.net\r\n{headers}\r\nHello.\r\n")
            .into_bytes()
    }

    #[test]
    fn a_tag_anywhere_in_the_subject_in_any_case_seals() {
        let triggers = Triggers::default();
        for subject in [
            "[secure] Results",
            "Results [SECURE]",
            "Re: [Confidential] x",
            "=?utf-8?q?=5Bencrypt=5D_R=C3=A9sultats?=",
        ] {
            assert!(
                triggers.matches(&message(&format!("Subject: {subject}\r\n"))),
                "{subject}"
            );
        }
        for subject in ["Results", "secure results", "[secured] results", ""] {
            assert!(
                !triggers.matches(&message(&format!("Subject: {subject}\r\n"))),
                "{subject}"
            );
        }
    }

    #[test]
    fn headers_seal_and_a_notification_is_never_sealed_again() {
        let triggers = Triggers::default();
        assert!(triggers.matches(&message("X-Securedoc: seal\r\n")));
        assert!(triggers.matches(&message("Sensitivity: Company-Confidential\r\n")));
        assert!(!triggers.matches(&message("Sensitivity: Personal\r\n")));
        assert!(!triggers.matches(&message(
            "Subject: [secure] x\r\nX-Securedoc-Notification: 1\r\n"
        )));
    }
}
