//! "Download attachments": one .zip with the message as `message.txt` (its
//! headers and text) and every attachment, as Trustwave's portal gives it.
//!
//! Names come from the message, so they are the sender's (or an attacker's)
//! choice: each is the opener's sanitised file name (no path, no control or
//! bidi characters, no reserved device names), made unique in the archive,
//! so unpacking writes exactly these files side by side and nowhere else.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use envelope_core::MessageView;
use securedoc_templates::text;

/// The archive, in memory (the message already is).
pub(super) fn attachments_zip(
    message: &MessageView,
    lang: &str,
) -> zip::result::ZipResult<Vec<u8>> {
    let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    // Stored, not compressed: attachments are mostly compressed already, and
    // the archive is made per request.
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(
            message
                .attachments
                .iter()
                .map(|a| a.bytes.len())
                .sum::<usize>()
                > u32::MAX as usize / 2,
        );
    let mut taken = Names::default();
    archive.start_file(unique("message.txt", &mut taken), options)?;
    archive.write_all(message_text(message, lang).as_bytes())?;
    for attachment in &message.attachments {
        let name = envelope_core::sanitize_filename(&attachment.name);
        archive.start_file(unique(&name, &mut taken), options)?;
        archive.write_all(&attachment.bytes)?;
    }
    Ok(archive.finish()?.into_inner())
}

/// The names given so far (lower-cased), and for each name asked for, the
/// next number to try: a message of many parts with one name costs one
/// step per part, not a pass over all the numbers before.
#[derive(Default)]
struct Names {
    taken: HashSet<String>,
    next: HashMap<String, usize>,
}

/// `name`, or `name (2)`, `name (3)`… before its extension, whichever is
/// not taken yet (compared case-insensitively: Windows and macOS would
/// otherwise overwrite one file with the other).
fn unique(name: &str, names: &mut Names) -> String {
    let (stem, extension) = match name.rfind('.') {
        Some(dot) if dot > 0 => (&name[..dot], &name[dot..]),
        _ => (name, ""),
    };
    let mut candidate = name.to_string();
    let n = names.next.entry(name.to_lowercase()).or_insert(2);
    while !names.taken.insert(candidate.to_lowercase()) {
        candidate = format!("{stem} ({n}){extension}");
        *n += 1;
    }
    candidate
}

/// The message as plain text: its headers, then the text body (or the HTML
/// body's text when it has only HTML).
fn message_text(message: &MessageView, lang: &str) -> String {
    let t = |key: &str| text(lang, &format!("opener.headers.{key}"));
    let mut out = String::new();
    let mut line = |label: String, value: &str| {
        if !value.is_empty() {
            out.push_str(&format!("{label}: {value}\r\n"));
        }
    };
    line(t("from"), &message.from);
    line(t("to"), &message.to.join(", "));
    line(t("cc"), &message.cc.join(", "));
    line(t("date"), message.date.as_deref().unwrap_or_default());
    line(text(lang, "portal.inbox.subject"), &message.subject);
    out.push_str("\r\n");
    let body = match (&message.text, &message.html) {
        (Some(text), _) => text.clone(),
        (None, Some(html)) => html_text(html),
        (None, None) => String::new(),
    };
    out.push_str(&body.replace("\r\n", "\n").replace('\n', "\r\n"));
    out
}

/// The text of an HTML body: every tag dropped (ammonia with nothing
/// allowed, so scripts and styles go with their content), then the few
/// entities that leaves turned back into characters.
fn html_text(html: &str) -> String {
    let spaced = html
        .replace("<br", "\n<br")
        .replace("</p>", "</p>\n")
        .replace("</div>", "</div>\n")
        .replace("</li>", "</li>\n");
    let clean = ammonia::Builder::empty().clean(&spaced).to_string();
    clean
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_whatever_their_case() {
        let mut taken = Names::default();
        assert_eq!(unique("message.txt", &mut taken), "message.txt");
        assert_eq!(unique("Message.TXT", &mut taken), "Message (2).TXT");
        assert_eq!(unique("a.pdf", &mut taken), "a.pdf");
        assert_eq!(unique("a.pdf", &mut taken), "a (2).pdf");
        assert_eq!(unique("a.pdf", &mut taken), "a (3).pdf");
        assert_eq!(unique(".profile", &mut taken), ".profile");
        assert_eq!(unique(".profile", &mut taken), ".profile (2)");
        assert_eq!(
            unique("a (2).pdf", &mut taken),
            "a (2) (2).pdf",
            "a name given already"
        );
    }

    #[test]
    fn many_parts_of_one_name_take_one_step_each() {
        let mut taken = Names::default();
        let started = std::time::Instant::now();
        for _ in 0..50_000 {
            unique("a", &mut taken);
        }
        assert!(taken.taken.contains("a (50000)"));
        // Quadratic would be 1.25 billion string formats; linear is instant.
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn an_html_body_becomes_its_text_without_script_or_style() {
        let text = html_text(
            "<style>p{color:red}</style><p>Hello &amp; <b>welcome</b></p><script>alert(1)</script><p>1 &lt; 2</p>",
        );
        assert_eq!(text.trim(), "Hello & welcome\n1 < 2");
    }
}
