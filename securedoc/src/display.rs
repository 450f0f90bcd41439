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
}
