//! What makes a message one to seal (docs/MAIL-HOOK.md, "Who gets what"): a
//! tag in the subject (`[secure]`, `[encrypt]`, `[confidential]`,
//! `(secure)`, `{secure}` by default, any case, anywhere), or a header
//! (`X-Securedoc: seal`; Outlook's `Sensitivity: Company-Confidential`). A
//! securedoc notification is never sealed again because of a trigger (rules,
//! which an organisation makes mandatory, still apply: anyone can write the
//! header).

use mail_builder::headers::Header;

/// The triggers in effect.
#[derive(Debug, Clone)]
pub struct Triggers {
    /// Subject tags, compared without regard to case.
    pub subject_tags: Vec<String>,
}

impl Default for Triggers {
    fn default() -> Self {
        Triggers {
            subject_tags: [
                "[secure]",
                "[encrypt]",
                "[confidential]",
                "(secure)",
                "{secure}",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

/// The header every securedoc notification carries.
pub const NOTIFICATION_HEADER: &str = "X-Securedoc-Notification";

/// What the hook reads from a message's header, parsed once.
#[derive(Debug, Default)]
pub(crate) struct Reading {
    /// A tag or a header asks for sealing (and it is not a notification).
    pub triggered: bool,
    /// The first From address.
    pub from: Option<String>,
    /// The first Reply-To address.
    pub reply_to: Option<String>,
    /// The subject with the tags taken out.
    pub subject: String,
    /// Where the Subject field is (start, end), when tags are to come out of it.
    tagged_subject: Option<(usize, usize)>,
}

impl Triggers {
    /// Reads `message`'s header (RFC 5322 bytes): whether it asks to be
    /// sealed, who sent it, and its subject without the tags.
    pub(crate) fn read(&self, message: &[u8]) -> Reading {
        let Some(parsed) = mail_parser::MessageParser::default().parse_headers(message) else {
            return Reading::default();
        };
        let first = |address: Option<&mail_parser::Address>| {
            address
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .map(str::to_string)
        };
        let header_is = |name: &str, value: &str| {
            parsed
                .header(name)
                .and_then(|h| h.as_text())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case(value))
        };
        let subject = parsed.subject().unwrap_or_default();
        let lowercase = subject.to_lowercase();
        let tagged = self
            .subject_tags
            .iter()
            .any(|tag| !tag.is_empty() && lowercase.contains(&tag.to_lowercase()));
        let triggered = parsed.header(NOTIFICATION_HEADER).is_none()
            && (tagged
                || header_is("X-Securedoc", "seal")
                || header_is("Sensitivity", "Company-Confidential"));
        let tagged_subject = parsed
            .headers()
            .iter()
            .find(|h| h.name == mail_parser::HeaderName::Subject)
            .filter(|_| tagged)
            .map(|h| (h.offset_field as usize, h.offset_end as usize));
        Reading {
            triggered,
            from: first(parsed.from()),
            reply_to: first(parsed.reply_to()),
            subject: self.without_tags(subject),
            tagged_subject,
        }
    }

    /// `message` with every subject tag taken out of its Subject, the rest
    /// byte for byte; `None` when its subject has no tag. The subject is
    /// written again as one RFC 2047 header when it is not plain ASCII.
    pub(crate) fn strip_tags(&self, message: &[u8], reading: &Reading) -> Option<Vec<u8>> {
        let (start, end) = reading.tagged_subject?;
        let mut out = Vec::with_capacity(message.len());
        out.extend_from_slice(&message[..start]);
        out.extend_from_slice(b"Subject: ");
        let _ = mail_builder::headers::text::Text::new(reading.subject.as_str())
            .write_header(&mut out, "Subject: ".len());
        out.extend_from_slice(&message[end..]);
        Some(out)
    }

    /// `subject` without the tags (any case) and the spaces they leave.
    fn without_tags(&self, subject: &str) -> String {
        let mut text = subject.to_string();
        for tag in self.subject_tags.iter().filter(|t| !t.is_empty()) {
            // Lowercasing keeps byte offsets only for ASCII; tags are ASCII in practice,
            // and a tag that is not is matched exactly.
            loop {
                let found = if tag.is_ascii() {
                    text.to_ascii_lowercase().find(&tag.to_ascii_lowercase())
                } else {
                    text.find(tag.as_str())
                };
                let Some(at) = found else { break };
                text.replace_range(at..at + tag.len(), "");
            }
        }
        text.split_whitespace().collect::<Vec<_>>().join(" ")
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
            "(Secure) Results",
            "{secure} Results",
        ] {
            assert!(
                triggers
                    .read(&message(&format!("Subject: {subject}\r\n")))
                    .triggered,
                "{subject}"
            );
        }
        for subject in ["Results", "secure results", "[secured] results", ""] {
            assert!(
                !triggers
                    .read(&message(&format!("Subject: {subject}\r\n")))
                    .triggered,
                "{subject}"
            );
        }
    }

    #[test]
    fn headers_seal_and_a_notification_is_never_sealed_again() {
        let triggers = Triggers::default();
        assert!(triggers.read(&message("X-Securedoc: seal\r\n")).triggered);
        assert!(
            triggers
                .read(&message("Sensitivity: Company-Confidential\r\n"))
                .triggered
        );
        assert!(
            !triggers
                .read(&message("Sensitivity: Personal\r\n"))
                .triggered
        );
        assert!(
            !triggers
                .read(&message(
                    "Subject: [secure] x\r\nX-Securedoc-Notification: 1\r\n"
                ))
                .triggered
        );
    }

    /// The message as sealed (tags out, or as it came) and its subject.
    fn strip(triggers: &Triggers, message: &[u8]) -> (Vec<u8>, String) {
        let reading = triggers.read(message);
        let stripped = triggers.strip_tags(message, &reading);
        (
            stripped.unwrap_or_else(|| message.to_vec()),
            reading.subject,
        )
    }

    #[test]
    fn the_tag_leaves_the_subject_and_nothing_else_changes() {
        let triggers = Triggers::default();
        let original = message("Subject: Re: [SECURE]  Results\r\nX-Other: [secure]\r\n");
        let (stripped, subject) = strip(&triggers, &original);
        assert_eq!(subject, "Re: Results");
        let expected = String::from_utf8(original.clone())
            .unwrap()
            .replace("Subject: Re: [SECURE]  Results", "Subject: Re: Results");
        assert_eq!(String::from_utf8(stripped).unwrap(), expected);

        // An encoded subject is written again, encoded, and decodes without the tag.
        let original = message("Subject: =?utf-8?q?=5Bencrypt=5D_R=C3=A9sultats?=\r\n");
        let (stripped, subject) = strip(&triggers, &original);
        assert_eq!(subject, "Résultats");
        let parsed = mail_parser::MessageParser::default()
            .parse(&stripped)
            .unwrap();
        assert_eq!(parsed.subject(), Some("Résultats"));
        assert!(stripped.ends_with(b"\r\nHello.\r\n"));

        // Untagged: the very same bytes.
        let untagged = message("Subject: Results\r\n");
        assert_eq!(strip(&triggers, &untagged).0, untagged);
    }
}
