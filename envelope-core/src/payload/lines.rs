//! Base64 bodies as MIME writes them: lines of a fixed length with one kind
//! of line ending. A body is stored decoded only when its text is exactly what
//! encoding the bytes again with the same [`Layout`] gives, so the opener can
//! always give back the original bytes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The longest line a layout may have (SMTP allows 998; some encoders write one
/// long line for a whole small body).
pub const MAX_LINE: usize = 1 << 20;

/// A line ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Eol {
    /// `\r\n`, as sent.
    Crlf,
    /// `\n`, as many mail stores keep messages.
    Lf,
}

impl Eol {
    fn bytes(self) -> &'static [u8] {
        match self {
            Eol::Crlf => b"\r\n",
            Eol::Lf => b"\n",
        }
    }
}

/// How a base64 body's text is laid out in lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// Characters in every line but the last (which has 1 to `line`).
    pub line: usize,
    /// The line ending between lines.
    pub eol: Eol,
    /// Whether the last line ends with `eol` too.
    pub last_eol: bool,
}

impl Layout {
    /// The length of the text that encoding `decoded_len` bytes gives.
    pub fn encoded_len(&self, decoded_len: usize) -> usize {
        let chars = decoded_len.div_ceil(3) * 4;
        let lines = chars.div_ceil(self.line);
        let eols = lines.saturating_sub(1) + usize::from(self.last_eol && lines > 0);
        chars + eols * self.eol.bytes().len()
    }

    /// Appends the text of `bytes` in this layout to `out`.
    pub fn encode_into(&self, bytes: &[u8], out: &mut Vec<u8>) {
        let text = STANDARD.encode(bytes);
        out.reserve(self.encoded_len(bytes.len()));
        let mut lines = text.as_bytes().chunks(self.line).peekable();
        while let Some(line) = lines.next() {
            out.extend_from_slice(line);
            if lines.peek().is_some() || self.last_eol {
                out.extend_from_slice(self.eol.bytes());
            }
        }
    }
}

#[cfg(feature = "pack")]
/// Lines decoded per call of the decoder: a multiple of 4, so every batch but
/// the last holds whole base64 groups whatever the line length.
const LINES_PER_BATCH: usize = 2048;

/// Decodes a base64 body onto the end of `out` if its text is canonical: one
/// line length, one line ending, padding only at the very end, no stray bits
/// — exactly what [`Layout::encode_into`] gives back. Otherwise leaves `out`
/// as it was and returns `None` (the body is then kept as it came).
#[cfg(feature = "pack")]
pub fn decode(text: &[u8], out: &mut Vec<u8>) -> Option<Layout> {
    let start = out.len();
    let layout = decode_inner(text, out);
    if layout.is_none() {
        out.truncate(start);
    }
    layout
}

#[cfg(feature = "pack")]
fn decode_inner(text: &[u8], out: &mut Vec<u8>) -> Option<Layout> {
    let (eol, line) = match text.iter().position(|&b| b == b'\n') {
        None => (Eol::Crlf, text.len()),
        Some(0) => return None,
        Some(end) if text[end - 1] == b'\r' => (Eol::Crlf, end - 1),
        Some(end) => (Eol::Lf, end),
    };
    if line == 0 || line > MAX_LINE {
        return None;
    }
    let eol_bytes = eol.bytes();
    let (body, last_eol) = match text.strip_suffix(eol_bytes) {
        Some(body) => (body, true),
        None => (text, false),
    };
    let stride = line + eol_bytes.len();
    let full = body.len() / stride;
    let last = body.len() % stride;
    if last == 0 || last > line {
        return None;
    }
    out.reserve(body.len() / 4 * 3);
    let mut batch = Vec::with_capacity(LINES_PER_BATCH * line);
    let lines = (0..=full).map(|k| {
        let at = k * stride;
        if k < full {
            (&body[at..at + line], &body[at + line..at + stride])
        } else {
            (&body[at..], &b""[..])
        }
    });
    // Compared byte by byte: a slice comparison is a `memcmp` call per line.
    let is_eol = |ending: &[u8]| match eol {
        Eol::Crlf => ending[0] == b'\r' && ending[1] == b'\n',
        Eol::Lf => ending[0] == b'\n',
    };
    for (index, (chars, ending)) in lines.enumerate() {
        if index < full && !is_eol(ending) {
            return None;
        }
        batch.extend_from_slice(chars);
        let last_line = index == full;
        if last_line || (index + 1) % LINES_PER_BATCH == 0 {
            let before = out.len();
            let whole = batch.len() / 4 * 3;
            base64_simd::STANDARD.decode_append(&batch, out).ok()?;
            // Padding belongs only at the very end of the text.
            if !last_line && out.len() - before != whole {
                return None;
            }
            batch.clear();
        }
    }
    Some(Layout {
        line,
        eol,
        last_eol,
    })
}

#[cfg(all(test, feature = "pack"))]
mod tests {
    use super::*;

    fn round_trip(text: &[u8]) -> Option<Vec<u8>> {
        let mut bytes = Vec::new();
        let layout = decode(text, &mut bytes)?;
        let mut again = Vec::new();
        layout.encode_into(&bytes, &mut again);
        assert_eq!(
            layout.encoded_len(bytes.len()),
            again.len(),
            "encoded_len for {:?}",
            String::from_utf8_lossy(text)
        );
        Some(again)
    }

    #[test]
    fn canonical_bodies_come_back_exactly() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for (line, eol, last_eol) in [
            (76, Eol::Crlf, true),
            (76, Eol::Crlf, false),
            (76, Eol::Lf, true),
            (72, Eol::Lf, false),
            (4, Eol::Crlf, true),
            (74, Eol::Crlf, true), // not a multiple of 4
            (2000, Eol::Crlf, false),
        ] {
            for len in [1, 2, 3, 56, 57, 58, 999, 1000] {
                let layout = Layout {
                    line,
                    eol,
                    last_eol,
                };
                let mut text = Vec::new();
                layout.encode_into(&bytes[..len], &mut text);
                let mut decoded = Vec::new();
                let found = decode(&text, &mut decoded).expect("canonical");
                // One line says nothing of the line length; more lines do.
                if text.len() > line + 2 {
                    assert_eq!(found, layout, "{len} bytes");
                }
                assert_eq!(decoded, &bytes[..len]);
                assert_eq!(round_trip(&text).unwrap(), text);
            }
        }
    }

    #[test]
    fn anything_else_is_kept_as_it_came() {
        for text in [
            &b""[..],
            b"\r\n",
            b"QUJD\r\n\r\n",             // a blank line at the end
            b"QUJD\r\nQUJD\nQUJD",       // mixed line endings
            b"QUJDRA==\r\nQUJD",         // padding in the middle
            b"QUJDQUJD\r\nQUJD\r\nQUJD", // a short line in the middle
            b"QUJD\r\nQUJDQUJD",         // last line longer than the rest
            b"QR==",                     // stray bits in the last group
            b"QQ",                       // no padding
            b"QUJD QUJD",                // a space
            b"QUJD\rQUJD",               // a lone CR
            b"\nQUJD",                   // starts with a line ending
        ] {
            let mut out = vec![7];
            assert_eq!(
                decode(text, &mut out),
                None,
                "{:?}",
                String::from_utf8_lossy(text)
            );
            assert_eq!(out, [7], "nothing is left behind");
        }
    }

    #[test]
    fn padding_between_batches_is_refused() {
        // A batch that ends in padding, then more: each batch would decode on its own.
        let mut text = b"QUJD\r\n".repeat(LINES_PER_BATCH - 1);
        text.extend_from_slice(b"QQ==\r\nQUJD");
        assert_eq!(decode(&text, &mut Vec::new()), None);
    }
}
