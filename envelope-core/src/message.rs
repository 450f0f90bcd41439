//! What an opener shows of a message, and how it is read from RFC 5322.
//!
//! Parsing uses `mail-parser` (feature `mime`): the sealer reads every
//! message with it, an opener only format v1 payloads. Nothing here trusts the message: names are
//! sanitised before they become file names, and the HTML body is handed to the
//! caller as text for a sandboxed frame, never interpreted here.

#[cfg(feature = "mime")]
use mail_parser::{Address, Message, MessageParser, MessagePart, MimeHeaders, PartType};
use thiserror::Error;

/// Why a decrypted payload could not be shown.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The payload is not an RFC 5322 message.
    #[error("the sealed message could not be read as an e-mail message")]
    NotAMessage,
    /// A format v2 payload that does not follow the format.
    #[error("the sealed message is malformed ({0})")]
    Malformed(String),
}

/// One attachment, as listed to the recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Sanitised file name, safe to offer as a download name.
    pub name: String,
    /// MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// Content-ID without angle brackets, for inline parts referenced as `cid:`.
    pub content_id: Option<String>,
    /// The decoded bytes.
    pub bytes: Vec<u8>,
}

/// What the opener shows of a message, with the attachments as `A`: their
/// bytes ([`MessageView`]) or where they lie in a container ([`crate::Summary`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct View<A> {
    /// Subject, or empty.
    pub subject: String,
    /// From, as `Name <addr>` or `addr`.
    pub from: String,
    /// To addresses.
    pub to: Vec<String>,
    /// Cc addresses.
    pub cc: Vec<String>,
    /// The Date header as RFC 3339, if present and valid.
    pub date: Option<String>,
    /// The plain-text body, if the message has one.
    pub text: Option<String>,
    /// The HTML body, if the message has one (unsanitised: render it only in a
    /// sandbox without scripts).
    pub html: Option<String>,
    /// Attachments and inline parts, in message order.
    pub attachments: Vec<A>,
}

impl<A> Default for View<A> {
    fn default() -> Self {
        View {
            subject: String::new(),
            from: String::new(),
            to: Vec::new(),
            cc: Vec::new(),
            date: None,
            text: None,
            html: None,
            attachments: Vec::new(),
        }
    }
}

/// What the opener shows of a message, attachments with their bytes.
pub type MessageView = View<Attachment>;

/// What a list of attachments shows of each.
pub trait Listed {
    /// Sanitised file name.
    fn name(&self) -> &str;
    /// MIME type, lower case.
    fn content_type(&self) -> &str;
    /// Content-ID without angle brackets.
    fn content_id(&self) -> Option<&str>;
    /// Size in bytes.
    fn size(&self) -> u64;
}

impl Listed for Attachment {
    fn name(&self) -> &str {
        &self.name
    }
    fn content_type(&self) -> &str {
        &self.content_type
    }
    fn content_id(&self) -> Option<&str> {
        self.content_id.as_deref()
    }
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
}

#[cfg(feature = "mime")]
impl MessageView {
    /// Parses message bytes.
    pub fn parse(bytes: &[u8]) -> Result<MessageView, MessageError> {
        let message = parse_message(bytes)?;
        let attachments = message
            .attachments()
            .enumerate()
            .map(|(i, part)| {
                let (name, content_type, content_id) = describe(part, i);
                Attachment {
                    name,
                    content_type,
                    content_id,
                    bytes: part.contents().to_vec(),
                }
            })
            .collect();
        Ok(MessageView {
            subject: message.subject().unwrap_or_default().to_string(),
            from: addresses_of(message.from()).join(", "),
            to: addresses_of(message.to()),
            cc: addresses_of(message.cc()),
            date: message.date().map(|d| d.to_rfc3339()),
            text: first_body(&message, false).map(str::to_string),
            html: first_body(&message, true).map(str::to_string),
            attachments,
        })
    }
}

/// An attachment's sanitised name (`attachment-N` without one), its MIME
/// type in lower case, and its Content-ID without angle brackets.
#[cfg(feature = "mime")]
pub(crate) fn describe(part: &MessagePart<'_>, index: usize) -> (String, String, Option<String>) {
    let content_type = part
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        })
        .unwrap_or_else(|| "application/octet-stream".into())
        .to_ascii_lowercase();
    let fallback = format!("attachment-{}", index + 1);
    (
        sanitize_filename(part.attachment_name().unwrap_or(&fallback)),
        content_type,
        part.content_id()
            .map(|id| id.trim_matches(['<', '>']).to_string()),
    )
}

/// The size a person would call the message's size: its bodies and
/// attachments, decoded (not their MIME encoding). Copies nothing.
#[cfg(feature = "mime")]
pub fn content_size(bytes: &[u8]) -> Result<u64, MessageError> {
    let message = parse_message(bytes)?;
    let bodies = [false, true].map(|html| first_body(&message, html).map_or(0, str::len));
    let attachments: usize = message
        .attachments()
        .map(|part| part.contents().len())
        .sum();
    Ok((bodies[0] + bodies[1] + attachments) as u64)
}

#[cfg(feature = "mime")]
pub(crate) fn parse_message(bytes: &[u8]) -> Result<Message<'_>, MessageError> {
    let message = MessageParser::default()
        .parse(bytes)
        .ok_or(MessageError::NotAMessage)?;
    if message.headers().is_empty() {
        return Err(MessageError::NotAMessage);
    }
    Ok(message)
}

/// The first plain-text (or HTML) body. mail-parser lists a text-only
/// message's text part among its HTML bodies too, so the part's type decides.
#[cfg(feature = "mime")]
pub(crate) fn first_body<'a>(message: &'a Message<'_>, html: bool) -> Option<&'a str> {
    let ids = if html {
        &message.html_body
    } else {
        &message.text_body
    };
    ids.iter().find_map(|&id| match &message.part(id)?.body {
        PartType::Html(text) if html => Some(text.as_ref()),
        PartType::Text(text) if !html => Some(text.as_ref()),
        _ => None,
    })
}

#[cfg(feature = "mime")]
pub(crate) fn addresses_of(address: Option<&Address<'_>>) -> Vec<String> {
    let Some(address) = address else {
        return Vec::new();
    };
    address
        .iter()
        .filter_map(|a| match (a.name(), a.address()) {
            (Some(name), Some(addr)) if !name.is_empty() => Some(format!("{name} <{addr}>")),
            (_, Some(addr)) => Some(addr.to_string()),
            (Some(name), None) => Some(name.to_string()),
            (None, None) => None,
        })
        .collect()
}

/// Makes an attacker-chosen attachment name safe to save: no directories, no
/// control or reserved characters, no leading dots, no Windows device names,
/// at most 150 characters (keeping the extension).
pub fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_control() || "<>:\"|?*".contains(c) || is_bidi_control(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    let mut cleaned = cleaned
        .trim()
        .trim_start_matches('.')
        .trim_end_matches(['.', ' '])
        .to_string();
    if cleaned.chars().count() > 150 {
        let ext: String = match cleaned.rsplit_once('.') {
            Some((_, ext)) if ext.chars().count() <= 10 => format!(".{ext}"),
            _ => String::new(),
        };
        let stem: String = cleaned.chars().take(150 - ext.chars().count()).collect();
        cleaned = stem + &ext;
    }
    let stem = cleaned
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let reserved = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        cleaned.insert(0, '_');
    }
    if cleaned.is_empty() {
        "attachment".into()
    } else {
        cleaned
    }
}

/// Unicode bidirectional controls let `invoice_fdp.exe` display as `invoice_exe.pdf`.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(all(test, feature = "mime"))]
mod tests {
    use super::*;

    #[test]
    fn hostile_file_names_are_made_safe() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("C:\\Windows\\evil.bat"), "evil.bat");
        assert_eq!(sanitize_filename("..."), "attachment");
        assert_eq!(sanitize_filename(".bashrc"), "bashrc");
        assert_eq!(sanitize_filename("CON.txt"), "_CON.txt");
        assert_eq!(sanitize_filename("a\u{202e}fdp.exe"), "a_fdp.exe");
        assert_eq!(sanitize_filename("what?.pdf"), "what_.pdf");
        assert_eq!(sanitize_filename("report.pdf"), "report.pdf");
        let long = format!("{}.pdf", "x".repeat(300));
        let short = sanitize_filename(&long);
        assert_eq!(short.chars().count(), 150);
        assert!(short.ends_with(".pdf"));
    }

    #[test]
    fn a_mime_message_shows_its_parts() {
        let eml = concat!(
            "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: =?utf-8?q?Caf=C3=A9?=\r\n",
            "Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n",
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n",
            "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello Bob\r\n",
            "--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"../x.pdf\"\r\n",
            "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n"
        );
        let view = MessageView::parse(eml.as_bytes()).unwrap();
        assert_eq!(view.subject, "Café");
        assert_eq!(view.from, "Alice <alice@example.org>");
        assert_eq!(view.to, vec!["bob@example.net"]);
        assert_eq!(view.text.as_deref().map(str::trim), Some("Hello Bob"));
        assert_eq!(view.html, None);
        assert_eq!(view.attachments.len(), 1);
        assert_eq!(view.attachments[0].name, "x.pdf");
        assert_eq!(view.attachments[0].bytes, b"%PDF-");
        assert_eq!(view.date.as_deref(), Some("2026-11-22T10:00:00Z"));
        let shown = view.text.unwrap().len() + view.attachments[0].bytes.len();
        assert_eq!(content_size(eml.as_bytes()), Ok(shown as u64));
    }

    #[test]
    fn bytes_that_are_not_a_message_are_refused() {
        assert_eq!(
            MessageView::parse(b"").unwrap_err(),
            MessageError::NotAMessage
        );
    }
}
