//! Is this `securedoc.html` the page this release writes, around its data?
//!
//! The page is deterministic: for a given header, this release renders the
//! same bytes around the envelope's data block (same template, same opener,
//! same script hashes). So a page is genuine exactly when everything outside
//! the data block is what [`EnvelopePage::new`] renders for the header inside
//! it, and the data block is the envelope's text form as securedoc writes it.
//! Anything else — an extra script, an altered opener, another origin in the
//! Content-Security-Policy — could read the password typed into the page.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use envelope_core::Header;
use securedoc_templates::{envelope_text_from_html, EnvelopePage};

use crate::display::printable;

/// This release, as pages name it in `<meta name="generator">`.
pub const RELEASE: &str = env!("CARGO_PKG_VERSION");

/// What inspect concludes about the page around an envelope.
pub enum Verdict {
    /// Byte for byte what this release renders for the header.
    Genuine,
    /// Not what this release renders; each entry says what differs.
    NotGenuine(Vec<String>),
}

/// Judges `page` (a whole securedoc.html) holding `envelope` (its bytes) with `header`.
pub fn judge(page: &str, header: &Header, envelope: &[u8]) -> Verdict {
    let expected = EnvelopePage::new(header);
    let Some(data) = envelope_text_from_html(page) else {
        return Verdict::NotGenuine(vec!["it has no envelope data block".into()]);
    };
    let start = data.as_ptr() as usize - page.as_ptr() as usize;
    let (before, after) = (&page[..start], &page[start + data.len()..]);
    let canonical_data = data == STANDARD.encode(envelope);
    if before == expected.before() && after == expected.after() && canonical_data {
        return Verdict::Genuine;
    }
    let mut differences = Vec::new();
    let generator = meta_content(page, "name=\"generator\"");
    match generator.as_deref() {
        Some(made_by) if made_by != format!("securedoc {RELEASE}") => differences.push(format!(
            "it says it was made by {}, not by this release (securedoc {RELEASE}), which can vouch only for the pages it renders",
            printable(made_by)
        )),
        None => differences.push("it does not say which securedoc release made it".into()),
        Some(_) => {}
    }
    let expected_page = format!("{}{}{}", expected.before(), data, expected.after());
    differences.extend(csp_differences(page, &expected_page, header));
    differences.extend(script_differences(page, &expected_page));
    if !canonical_data {
        differences.push("its data block is not the envelope's text as securedoc writes it".into());
    }
    if differences.is_empty() {
        let (ours, theirs) = if before != expected.before() {
            (expected.before(), before)
        } else {
            (expected.after(), after)
        };
        let at = first_difference(ours, theirs);
        let where_ = if before != expected.before() {
            "before"
        } else {
            "after"
        };
        differences.push(format!(
            "its markup {where_} the data block differs from securedoc's at character {at}: «{}»",
            excerpt(theirs, at)
        ));
    }
    differences.dedup();
    Verdict::NotGenuine(differences)
}

/// The `content` of the first `<meta …>` whose tag contains `selector`.
fn meta_content(page: &str, selector: &str) -> Option<String> {
    let mut rest = page;
    while let Some(open) = find_ci(rest, "<meta") {
        let tag_end = rest[open..].find('>')? + open;
        let tag = &rest[open..tag_end];
        if tag
            .to_ascii_lowercase()
            .contains(&selector.to_ascii_lowercase())
        {
            let content = tag.split("content=\"").nth(1)?;
            return Some(content.split('"').next()?.to_string());
        }
        rest = &rest[tag_end..];
    }
    None
}

/// Every Content-Security-Policy `<meta>` of a page.
fn csps(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = page;
    while let Some(open) = find_ci(rest, "<meta") {
        let Some(len) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open..open + len];
        if tag.to_ascii_lowercase().contains("content-security-policy") {
            if let Some(content) = tag.split("content=\"").nth(1) {
                found.push(unescape(content.split('"').next().unwrap_or_default()));
            }
        }
        rest = &rest[open + len..];
    }
    found
}

fn csp_differences(page: &str, expected_page: &str, header: &Header) -> Vec<String> {
    let (theirs, ours) = (csps(page), csps(expected_page));
    if theirs == ours {
        return Vec::new();
    }
    let sealed = header.key_server.as_deref().unwrap_or("'none'");
    let connect = |csp: &str| {
        csp.split(';')
            .map(str::trim)
            .find_map(|d| d.strip_prefix("connect-src "))
            .map(|d| d.trim().to_string())
    };
    let mut differences = Vec::new();
    for csp in &theirs {
        match connect(csp) {
            Some(origins) if origins != sealed => differences.push(format!(
                "its Content-Security-Policy lets it connect to {}, but the key server in its header is {sealed}",
                printable(&origins)
            )),
            None => differences.push(
                "its Content-Security-Policy does not limit where it connects".into(),
            ),
            _ => {}
        }
    }
    if differences.is_empty() {
        differences.push(if theirs.is_empty() {
            "it has no Content-Security-Policy".into()
        } else {
            format!(
                "its Content-Security-Policy is not securedoc's: «{}»",
                printable(&theirs.join(" | "))
            )
        });
    }
    differences
}

/// A `<script …>` element: its opening tag and its text.
#[derive(PartialEq)]
struct Script<'a> {
    tag: &'a str,
    text: &'a str,
}

fn scripts(page: &str) -> Vec<Script<'_>> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(open) = find_ci(&page[at..], "<script") {
        let open = at + open;
        let Some(tag_len) = page[open..].find('>') else {
            break;
        };
        let body = open + tag_len + 1;
        let close = find_ci(&page[body..], "</script").map_or(page.len(), |c| body + c);
        found.push(Script {
            tag: &page[open..body],
            text: &page[body..close],
        });
        at = close.max(body);
    }
    found
}

fn script_differences(page: &str, expected_page: &str) -> Vec<String> {
    let is_data = |script: &Script| script.tag.contains("\"securedoc-envelope\"");
    // The data block's text is judged apart (it is the envelope).
    let mut theirs: Vec<Script> = scripts(page).into_iter().filter(|s| !is_data(s)).collect();
    let mut ours: Vec<Script> = scripts(expected_page)
        .into_iter()
        .filter(|s| !is_data(s))
        .collect();
    // Pair off the scripts that are exactly securedoc's.
    theirs.retain(|script| match ours.iter().position(|s| s == script) {
        Some(i) => {
            ours.remove(i);
            false
        }
        None => true,
    });
    let mut differences = Vec::new();
    for script in &theirs {
        let replaced = ours.iter().position(|s| s.tag == script.tag);
        differences.push(match replaced {
            Some(i) => {
                ours.remove(i);
                if script.tag.contains("\"securedoc-opener\"") {
                    "its opener (the securedoc-opener block) is not securedoc's".to_string()
                } else {
                    format!(
                        "its script {} is not securedoc's ({} characters)",
                        printable(script.tag),
                        script.text.len()
                    )
                }
            }
            None => format!(
                "an extra script that securedoc does not write: {} ({} characters)",
                excerpt(script.tag, 0),
                script.text.len()
            ),
        });
    }
    for missing in &ours {
        differences.push(format!(
            "securedoc's script {} is missing",
            printable(missing.tag)
        ));
    }
    differences
}

/// The text of an HTML attribute value (the entities minijinja writes).
fn unescape(value: &str) -> String {
    value
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Case-insensitive find of an ASCII `needle`.
fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Index (in characters) of the first character where `a` and `b` differ.
fn first_difference(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// Up to 60 characters of `text` from character `at`, escaped for the terminal.
fn excerpt(text: &str, at: usize) -> String {
    let piece: String = text.chars().skip(at).take(60).collect();
    printable(&piece).into_owned()
}
