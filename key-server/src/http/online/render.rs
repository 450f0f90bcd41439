//! A message as Open Online shows it: on the key server's own origin, so the
//! HTML body goes through `ammonia` (no script, no style, no form, no
//! remote content), links open in a new tab with `rel="noopener
//! noreferrer"`, and `cid:` images point at this view's own inline parts.
//! The page's CSP (`default-src 'none'`, `img-src 'self'`) is the second
//! wall: whatever got past the sanitiser could still load nothing.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use envelope_core::MessageView;
use securedoc_templates::{fill, text};
use serde::Serialize;

/// Raster image types shown inline; anything else is only a download (an
/// SVG is a document that can carry script).
pub const INLINE_IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// One attachment as listed.
#[derive(Serialize)]
pub struct Listed {
    pub name: String,
    pub size: String,
    pub url: String,
    pub label: String,
}

/// The sanitised body and what was blocked.
pub struct Body {
    pub html: Option<String>,
    pub text: Option<String>,
    pub remote_blocked: usize,
}

/// `view` is the view's absolute URL (`{origin}/open/view/{id}`).
pub fn body(message: &MessageView, view: &str) -> Body {
    let Some(html) = message.html.as_deref() else {
        return Body {
            html: None,
            text: Some(message.text.clone().unwrap_or_default()),
            remote_blocked: 0,
        };
    };
    let inline: HashMap<String, usize> = message
        .attachments
        .iter()
        .enumerate()
        .filter(|(_, part)| INLINE_IMAGE_TYPES.contains(&part.content_type.as_str()))
        .filter_map(|(n, part)| Some((part.content_id.clone()?, n)))
        .collect();
    let blocked = Arc::new(AtomicUsize::new(0));
    let counted = blocked.clone();
    let view = view.to_string();
    let clean = ammonia::Builder::default()
        // `cid:` only for the filter below to map to this view's own parts.
        .url_schemes(HashSet::from(["http", "https", "mailto", "cid"]))
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer"))
        .set_tag_attribute_value("a", "target", "_blank")
        .attribute_filter(move |element, attribute, value| {
            if element != "img" || attribute != "src" {
                return (!value.starts_with("cid:")).then(|| value.into());
            }
            // Only the message's own images; a remote one would tell the
            // sender (or anyone) when and where the message was read.
            match value
                .strip_prefix("cid:")
                .and_then(|id| inline.get(id.trim_matches(['<', '>'])))
            {
                Some(n) => Some(format!("{view}/inline/{n}").into()),
                None => {
                    counted.fetch_add(1, Ordering::Relaxed);
                    None
                }
            }
        })
        .clean(html)
        .to_string();
    Body {
        html: Some(clean),
        text: None,
        remote_blocked: blocked.load(Ordering::Relaxed),
    }
}

/// The attachments, with their download links and accessible labels.
pub fn attachments(message: &MessageView, view: &str, lang: &str) -> Vec<Listed> {
    message
        .attachments
        .iter()
        .enumerate()
        .map(|(n, part)| {
            let size = size(part.bytes.len(), lang);
            Listed {
                label: fill(
                    &text(lang, "opener.attachment_label"),
                    &[("name", part.name.clone()), ("size", size.clone())],
                ),
                name: part.name.clone(),
                size,
                url: format!("{view}/attachment/{n}"),
            }
        })
        .collect()
}

/// What `message_view.html` shows of `message` (its page at `url`, whose
/// parts are under it), in `lang`; the caller adds `print` and `answers`.
pub fn message_context(message: &MessageView, url: &str, lang: &str) -> securedoc_templates::Value {
    let body = body(message, url);
    let subject = if message.subject.is_empty() {
        text(lang, "opener.no_subject")
    } else {
        message.subject.clone()
    };
    securedoc_templates::context! {
        subject,
        from => message.from,
        to => message.to.join(", "),
        cc => message.cc.join(", "),
        date => message.date,
        html => body.html.map(securedoc_templates::Value::from_safe_string),
        text => body.text,
        remote_notice => remote_notice(body.remote_blocked, lang),
        attachments => attachments(message, url, lang),
        eml => format!("{url}/message.eml"),
    }
}

/// A warning when the message's From is not the sender the key server
/// registered it from (the sender token's, checked against its domains):
/// the From header is whatever the sender wrote; the registration is what
/// the key server vouches for. None when they agree or nothing was registered.
pub fn sender_warning(
    message: &MessageView,
    registered: Option<&str>,
    lang: &str,
) -> Option<String> {
    let registered = registered?.trim().to_ascii_lowercase();
    let claimed = message
        .from
        .rsplit_once('<')
        .map_or(message.from.as_str(), |(_, rest)| {
            rest.trim_end_matches('>')
        })
        .trim()
        .to_ascii_lowercase();
    (!registered.is_empty() && claimed != registered).then(|| {
        fill(
            &text(lang, "portal.message.sender_differs"),
            &[
                ("claimed", message.from.clone()),
                ("registered", registered),
            ],
        )
    })
}

/// "12 KB" in the page's language (the opener's own units).
pub fn size(bytes: usize, lang: &str) -> String {
    let (key, n) = match bytes {
        0..1_000 => ("bytes", bytes.to_string()),
        1_000..1_000_000 => ("kb", (bytes / 1_000).to_string()),
        1_000_000..1_000_000_000 => ("mb", format!("{:.1}", bytes as f64 / 1e6)),
        _ => ("gb", format!("{:.1}", bytes as f64 / 1e9)),
    };
    fill(&text(lang, &format!("opener.size.{key}")), &[("n", n)])
}

/// "N remote images were blocked", or nothing.
pub fn remote_notice(blocked: usize, lang: &str) -> Option<String> {
    match blocked {
        0 => None,
        1 => Some(text(lang, "opener.remote_blocked_one")),
        n => Some(fill(
            &text(lang, "opener.remote_blocked_many"),
            &[("n", n.to_string())],
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view_of(html: &str) -> MessageView {
        MessageView {
            html: Some(html.into()),
            ..MessageView::default()
        }
    }

    const VIEW: &str = "https://keys.example/open/view/abc";

    #[test]
    fn scripts_styles_forms_and_handlers_are_gone() {
        let body = body(
            &view_of(
                r#"<p onclick="alert(1)">Hi</p><script>alert(2)</script><style>p{}</style>
                <form action="https://evil.example"><input name=x></form>
                <a href="javascript:alert(3)">x</a><iframe src="https://evil.example"></iframe>
                <svg><script>alert(4)</script></svg><object data="x"></object>"#,
            ),
            VIEW,
        );
        let html = body.html.unwrap();
        for banned in [
            "onclick",
            "<script",
            "<style",
            "<form",
            "<input",
            "javascript:",
            "<iframe",
            "<svg",
            "<object",
            "alert",
        ] {
            assert!(!html.contains(banned), "{banned} survived: {html}");
        }
        assert!(html.contains("<p>Hi</p>"));
    }

    #[test]
    fn remote_images_are_blocked_and_counted_links_open_apart() {
        let body = body(
            &view_of(
                r#"<img src="https://tracker.example/p.gif" alt=""><img src="http://x.example/a.png">
                <a href="https://example.org/page">page</a><a href="/open/view/other">relative</a>"#,
            ),
            VIEW,
        );
        let html = body.html.unwrap();
        assert_eq!(body.remote_blocked, 2);
        assert!(!html.contains("tracker.example") && !html.contains("x.example"));
        assert!(
            html.contains(
                r#"<a href="https://example.org/page" target="_blank" rel="noopener noreferrer">page</a>"#
            ),
            "{html}"
        );
        assert!(!html.contains("/open/view/other"), "relative links go");
    }

    #[test]
    fn cid_images_point_at_the_views_own_inline_parts_if_raster() {
        let mut message = view_of(r#"<img src="cid:logo@x" alt="Logo"><img src="cid:drawing@x">"#);
        for (id, content_type) in [("logo@x", "image/png"), ("drawing@x", "image/svg+xml")] {
            message.attachments.push(envelope_core::Attachment {
                name: id.into(),
                content_type: content_type.into(),
                content_id: Some(id.into()),
                bytes: vec![1, 2, 3],
            });
        }
        let body = body(&message, VIEW);
        let html = body.html.unwrap();
        assert!(
            html.contains(&format!(r#"src="{VIEW}/inline/0""#)),
            "{html}"
        );
        assert!(!html.contains("inline/1"), "an SVG is not shown inline");
        assert_eq!(body.remote_blocked, 1);
    }
}
