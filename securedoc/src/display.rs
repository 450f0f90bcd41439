//! Text from an envelope (its header, the sealed message's headers, a key
//! server's answer) on the terminal. Such text is chosen by whoever made the
//! file: an escape sequence, a carriage return or a bidirectional override in
//! it could repaint the line before it, e.g. into a fake "verified" line. So
//! every such character is shown as a visible escape instead.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with control characters (C0, DEL, C1), line and paragraph
/// separators and bidirectional controls written as `\u{…}` (tab, newline and
/// carriage return as `\t`, `\n`, `\r`). A backslash stays as it is.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// JSON text (as serde_json writes it) with the characters [`printable`]
/// escapes written as `\uXXXX` escapes: the same JSON, safe on a terminal.
pub fn printable_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if needs_escape(c) && !matches!(c, '\n') {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Bidirectional marks, embeddings, overrides and isolates.
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            // Line and paragraph separators; zero-width characters that hide text.
            | '\u{2028}' | '\u{2029}' | '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}'
        )
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn escapes_what_could_repaint_the_terminal() {
        assert_eq!(printable("bob@example.net"), "bob@example.net");
        assert_eq!(
            printable("x\u{1b}[2K\r\u{2705} verified\u{202e}gnp.exe\u{7f}\u{9b}"),
            "x\\u{1b}[2K\\r\u{2705} verified\\u{202e}gnp.exe\\u{7f}\\u{9b}"
        );
        assert_eq!(printable("a\nb\tc"), "a\\nb\\tc");
        assert_eq!(printable("Café – résumé"), "Café – résumé");
    }

    #[test]
    fn json_stays_json() {
        let json =
            serde_json::to_string_pretty(&serde_json::json!({"from": "ali\u{202e}ce\u{1b}"}))
                .unwrap();
        let safe = super::printable_json(&json);
        assert!(safe.contains("ali\\u202ece\\u001b"), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["from"], "ali\u{202e}ce\u{1b}");
    }
}
