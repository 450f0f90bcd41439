//! Finding a MIME message's base64 bodies without decoding anything.
//!
//! This walks the structure only: header blocks, `multipart/*` boundaries and
//! `message/rfc822` bodies. It need not agree with a full MIME parser on every
//! odd message: the packer keeps a body decoded only if its text re-encodes to
//! the same bytes and `mail-parser`, reading the message without it, finds an
//! attachment there; anything else stays as it came.

use std::ops::Range;

use memchr::memmem;

/// Nesting deeper than this is left as it is (and costs only size).
const MAX_DEPTH: usize = 32;

/// The text of every base64 body worth storing decoded, in message order:
/// attachments and inline parts, not text bodies (which the opener shows and
/// which are small).
pub(crate) fn base64_bodies(eml: &[u8]) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    entity(eml, 0..eml.len(), 0, &mut found);
    found
}

fn entity(eml: &[u8], range: Range<usize>, depth: usize, found: &mut Vec<Range<usize>>) {
    if depth > MAX_DEPTH {
        return;
    }
    let Some((header, body_start)) = split_header(&eml[range.clone()]) else {
        return;
    };
    let fields = Fields::read(header);
    let body = range.start + body_start..range.end;
    match (fields.media_type.as_str(), fields.subtype.as_str()) {
        ("multipart", _) => {
            if let (Some(boundary), false) = (&fields.boundary, fields.encoded()) {
                for part in parts(eml, body, boundary.as_bytes()) {
                    entity(eml, part, depth + 1, found);
                }
            }
        }
        ("message", "rfc822" | "global") if !fields.encoded() => {
            entity(eml, body, depth + 1, found);
        }
        ("message", _) => {}
        (media_type, _) => {
            let worth_it = media_type != "text" || fields.attachment;
            if fields.encoding == "base64" && worth_it && !body.is_empty() {
                found.push(body);
            }
        }
    }
}

/// The header block and where the body starts, if there is a blank line.
fn split_header(entity: &[u8]) -> Option<(&[u8], usize)> {
    for blank in [&b"\r\n"[..], b"\n"] {
        if entity.starts_with(blank) {
            return Some((&[], blank.len()));
        }
    }
    // The first line ending followed by an empty line; header lines are
    // short, so this stops early however large the body.
    for at in memchr::memchr_iter(b'\n', entity) {
        match &entity[at + 1..] {
            [b'\n', ..] => return Some((&entity[..at + 1], at + 2)),
            [b'\r', b'\n', ..] => return Some((&entity[..at + 1], at + 3)),
            _ => {}
        }
    }
    None
}

/// The MIME fields of one header block that decide its structure.
#[derive(Debug, Default)]
struct Fields {
    media_type: String,
    subtype: String,
    boundary: Option<String>,
    encoding: String,
    attachment: bool,
}

impl Fields {
    fn read(header: &[u8]) -> Fields {
        let mut fields = Fields {
            media_type: "text".into(),
            subtype: "plain".into(),
            ..Fields::default()
        };
        for (name, value) in unfolded(header) {
            let value = String::from_utf8_lossy(&value);
            if name.eq_ignore_ascii_case(b"content-type") {
                let (kind, params) = split_value(&value);
                if let Some((media_type, subtype)) = kind.split_once('/') {
                    fields.media_type = media_type.trim().to_ascii_lowercase();
                    fields.subtype = subtype.trim().to_ascii_lowercase();
                }
                fields.boundary = params
                    .into_iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case("boundary"))
                    .map(|(_, value)| value)
                    .filter(|b| !b.is_empty());
            } else if name.eq_ignore_ascii_case(b"content-transfer-encoding") {
                fields.encoding = value.trim().to_ascii_lowercase();
            } else if name.eq_ignore_ascii_case(b"content-disposition") {
                fields.attachment = split_value(&value).0.eq_ignore_ascii_case("attachment");
            }
        }
        fields
    }

    /// A body that is itself encoded is not walked into.
    fn encoded(&self) -> bool {
        matches!(self.encoding.as_str(), "base64" | "quoted-printable")
    }
}

/// Header fields as (name, unfolded value).
fn unfolded(header: &[u8]) -> Vec<(&[u8], Vec<u8>)> {
    let mut fields: Vec<(&[u8], Vec<u8>)> = Vec::new();
    for line in header.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            if let Some((_, value)) = fields.last_mut() {
                value.extend_from_slice(line);
            }
        } else if let Some(colon) = line.iter().position(|&b| b == b':') {
            fields.push((&line[..colon], line[colon + 1..].to_vec()));
        }
    }
    fields
        .into_iter()
        .map(|(name, value)| (name.trim_ascii(), value))
        .collect()
}

/// `type/subtype; name=value; name="quoted; value"` → the first token and
/// the parameters (names as written, values unquoted).
fn split_value(value: &str) -> (&str, Vec<(String, String)>) {
    let (first, rest) = value.split_once(';').unwrap_or((value, ""));
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        let name: String = chars
            .by_ref()
            .take_while(|&c| c != '=')
            .collect::<String>()
            .trim_matches(|c: char| c == ';' || c.is_whitespace())
            .to_string();
        if name.is_empty() && chars.peek().is_none() {
            break;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
            chars.by_ref().take_while(|&c| c != ';').for_each(drop);
        } else {
            value = chars.by_ref().take_while(|&c| c != ';').collect();
            value = value.trim().to_string();
        }
        params.push((name, value));
    }
    (first.trim(), params)
}

/// The parts of a multipart body: between delimiter lines, each without the
/// line ending that belongs to the next delimiter (RFC 2046 §5.1.1).
fn parts(eml: &[u8], body: Range<usize>, boundary: &[u8]) -> Vec<Range<usize>> {
    let mut delimiter = b"--".to_vec();
    delimiter.extend_from_slice(boundary);
    let finder = memmem::Finder::new(&delimiter);
    let mut parts = Vec::new();
    let mut open: Option<usize> = None;
    let mut search = body.start;
    while let Some(found) = finder.find(&eml[search..body.end]) {
        let at = search + found;
        search = at + delimiter.len();
        if at != body.start && eml[at - 1] != b'\n' {
            continue;
        }
        let after = &eml[search..body.end];
        let close = after.starts_with(b"--");
        let rest = if close { &after[2..] } else { after };
        let padding = rest
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        let line_end = match &rest[padding..] {
            [] => 0,
            [b'\r', b'\n', ..] => 2,
            [b'\n', ..] => 1,
            _ => continue,
        };
        if let Some(start) = open.take() {
            let mut end = at;
            if end > start && eml[end - 1] == b'\n' {
                end -= 1;
                if end > start && eml[end - 1] == b'\r' {
                    end -= 1;
                }
            }
            parts.push(start..end.max(start));
        }
        if close {
            return parts;
        }
        let next = search + padding + line_end;
        open = Some(next);
        search = skip_base64_lines(eml, next..body.end);
    }
    if let Some(start) = open {
        parts.push(start..body.end);
    }
    parts
}

/// Where to look for the delimiter after the part starting at `part.start`:
/// past its base64 lines, if it has them. Base64 has no `-`, so no delimiter
/// can start a line among them; jumping line to line makes finding the end
/// of a 35 MB attachment cost its number of lines, not its bytes.
fn skip_base64_lines(eml: &[u8], part: Range<usize>) -> usize {
    let Some((header, body_start)) = split_header(&eml[part.clone()]) else {
        return part.start;
    };
    let mut at = part.start + body_start;
    if Fields::read(header).encoding != "base64" {
        return at;
    }
    let Some(first) = memchr::memchr(b'\n', &eml[at..part.end]) else {
        return at;
    };
    let stride = first + 1;
    // Only lines of the first line's length, not starting with `-`, are
    // jumped; the last line and anything irregular are searched byte by byte.
    while at + stride <= part.end && eml[at + stride - 1] == b'\n' && eml[at] != b'-' {
        at += stride;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bodies(eml: &str) -> Vec<&str> {
        base64_bodies(eml.as_bytes())
            .into_iter()
            .map(|r| &eml[r])
            .collect()
    }

    #[test]
    fn attachments_in_nested_multiparts_and_messages_are_found() {
        let eml = concat!(
            "Content-Type: multipart/mixed; boundary=\"outer; b\"\r\n\r\n",
            "preamble\r\n--outer; b\r\n",
            "Content-Type: multipart/alternative; boundary=alt\r\n\r\n",
            "--alt\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nSGk=\r\n",
            "--alt--\r\n",
            "--outer; b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: Base64\r\n\r\nAAAA\r\n\r\n",
            "--outer; b\r\nContent-Type: message/rfc822\r\n\r\n",
            "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBE\r\n",
            "--outer; b\r\nContent-Type: text/csv\r\nContent-Disposition: attachment;\r\n filename=x.csv\r\n",
            "Content-Transfer-Encoding: base64\r\n\r\nYSxi\r\n",
            "--outer; b--  \r\nepilogue --outer; b\r\n",
        );
        assert_eq!(bodies(eml), ["AAAA\r\n", "JVBE", "YSxi"]);
    }

    #[test]
    fn bare_line_feeds_and_a_missing_close_delimiter() {
        let eml = "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: image/gif\nContent-Transfer-Encoding: base64\n\nR0lG\n";
        assert_eq!(bodies(eml), ["R0lG\n"]);
    }

    #[test]
    fn a_boundary_inside_a_longer_line_is_not_a_delimiter() {
        let eml = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: image/gif\r\nContent-Transfer-Encoding: base64\r\n\r\nR0lG\r\n--bb\r\nR0lG\r\n--b--\r\n";
        assert_eq!(bodies(eml), ["R0lG\r\n--bb\r\nR0lG"]);
    }

    #[test]
    fn a_single_part_attachment_and_no_body() {
        assert_eq!(
            bodies("Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBE\r\n"),
            ["JVBE\r\n"]
        );
        assert!(bodies("Subject: no body").is_empty());
        assert!(bodies("Subject: text\r\n\r\nhello").is_empty());
    }
}
