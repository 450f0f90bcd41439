//! The formatting a message written in the portal may carry. The editor
//! (`/static/portal-editor.js`) makes `<b>`, `<i>`, lists, indents, links,
//! `<font size color>`; whatever the browser posts, only this allowlist
//! reaches the recipient: no script, no style, no event handler, no remote
//! content, links to http, https and mailto only.

use std::collections::{HashMap, HashSet};

/// Tags the editor produces (and the structure a pasted text keeps).
const TAGS: [&str; 16] = [
    "a",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ul",
    "ol",
    "li",
    "blockquote",
    "p",
    "br",
    "div",
    "span",
    "font",
    "pre",
];

/// The largest formatted body kept, bytes (the text alternative is apart).
pub(crate) const MAX_HTML: usize = 2 * 1024 * 1024;

/// `html` as the recipient gets it: only the allowlist, attributes checked.
pub(crate) fn sanitise(html: &str) -> String {
    let attributes = HashMap::from([
        ("a", HashSet::from(["href"])),
        ("font", HashSet::from(["size", "color"])),
    ]);
    ammonia::Builder::default()
        .tags(HashSet::from(TAGS))
        .tag_attributes(attributes)
        .generic_attributes(HashSet::new())
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer"))
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            ("font", "size") => value
                .parse::<u8>()
                .ok()
                .filter(|n| (1..=7).contains(n))
                .map(|n| n.to_string().into()),
            ("font", "color") => is_colour(value).then(|| value.to_ascii_lowercase().into()),
            _ => Some(value.into()),
        })
        .clean(html)
        .to_string()
}

/// `#rgb` or `#rrggbb`, nothing else (no names, no `url()`, no expressions).
fn is_colour(value: &str) -> bool {
    value
        .strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_editors_formatting_stays() {
        let html = "<p><b>Bold</b> <i>it</i> <u>u</u></p><ul><li>one</li></ul><ol><li>two</li></ol>\
                    <blockquote>q</blockquote><font size=\"5\" color=\"#C00\">big red</font>\
                    <a href=\"https://clinic.example/help\">help</a> <a href=\"mailto:a@b.example\">mail</a>";
        let clean = sanitise(html);
        for kept in [
            "<b>Bold</b>",
            "<i>it</i>",
            "<u>u</u>",
            "<ul><li>one</li></ul>",
            "<ol><li>two</li></ol>",
            "<blockquote>q</blockquote>",
            "<font size=\"5\" color=\"#c00\">big red</font>",
            "href=\"https://clinic.example/help\"",
            "href=\"mailto:a@b.example\"",
        ] {
            assert!(clean.contains(kept), "{kept} in {clean}");
        }
    }

    #[test]
    fn script_styles_handlers_and_remote_content_go() {
        let html = "<script>alert(1)</script><style>p{color:red}</style>\
                    <p onclick=\"alert(2)\" style=\"background:url(https://t.example/x)\">text</p>\
                    <img src=\"https://t.example/pixel\" onerror=\"alert(3)\">\
                    <a href=\"javascript:alert(4)\">js</a><a href=\"data:text/html,x\">data</a>\
                    <a href=\"/relative\">rel</a>\
                    <font color=\"red;background:url(x)\" size=\"99\" face=\"x\">f</font>\
                    <iframe src=\"https://t.example\"></iframe><form><input></form><svg onload=alert(5)>";
        let clean = sanitise(html);
        for gone in [
            "script",
            "alert",
            "style",
            "onclick",
            "url(",
            "img",
            "onerror",
            "javascript:",
            "data:",
            "/relative",
            "size=\"99\"",
            "face",
            "iframe",
            "form",
            "input",
            "svg",
            "onload",
        ] {
            assert!(!clean.contains(gone), "{gone} in {clean}");
        }
        assert!(clean.contains("text"));
    }
}
