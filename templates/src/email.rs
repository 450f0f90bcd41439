//! E-mails: each one a subject, a plain-text part and an HTML part, from
//! `templates/email/<name>/{subject.txt,body.txt,body.html}.j2`. Strict: a
//! missing variable is an error, not an empty string. HTML parts escape every
//! value.

use std::sync::OnceLock;

use minijinja::{Environment, Value};

/// A rendered e-mail, ready for the mailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// Subject (one line).
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
}

/// Every e-mail's three parts, by folder.
const EMAIL_TEMPLATES: &[(&str, &str)] = &[
    (
        "notification/subject.txt",
        include_str!("../email/notification/subject.txt.j2"),
    ),
    (
        "notification/body.txt",
        include_str!("../email/notification/body.txt.j2"),
    ),
    (
        "notification/body.html",
        include_str!("../email/notification/body.html.j2"),
    ),
    (
        "account/subject.txt",
        include_str!("../email/account/subject.txt.j2"),
    ),
    (
        "account/body.txt",
        include_str!("../email/account/body.txt.j2"),
    ),
    (
        "account/body.html",
        include_str!("../email/account/body.html.j2"),
    ),
    (
        "sent/subject.txt",
        include_str!("../email/sent/subject.txt.j2"),
    ),
    ("sent/body.txt", include_str!("../email/sent/body.txt.j2")),
    ("sent/body.html", include_str!("../email/sent/body.html.j2")),
    (
        "receipt/subject.txt",
        include_str!("../email/receipt/subject.txt.j2"),
    ),
    (
        "receipt/body.txt",
        include_str!("../email/receipt/body.txt.j2"),
    ),
    (
        "receipt/body.html",
        include_str!("../email/receipt/body.html.j2"),
    ),
];

/// The one template environment for e-mails and pages, parsed once: strict
/// (a missing variable is an error), `.html` templates escape every value.
pub(crate) fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        env.add_filter("fill", crate::pages::fill_filter);
        for (name, source) in EMAIL_TEMPLATES.iter().chain(crate::pages::PAGE_TEMPLATES) {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name} does not parse: {e}"));
        }
        env
    })
}

/// Renders the three parts of the e-mail in `folder` with `context`.
pub(crate) fn render_parts(folder: &str, context: &Value) -> Result<Email, minijinja::Error> {
    let env = environment();
    let render = |part: &str| {
        env.get_template(&format!("{folder}/{part}"))?
            .render(context)
    };
    Ok(Email {
        // A subject is one line whatever a value held: no header injection.
        subject: render("subject.txt")?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        text: render("body.txt")?,
        html: render("body.html")?,
    })
}

/// Renders e-mail `name` (a folder under `templates/email`) with `context`,
/// in the language `context.lang` names (English without one).
pub fn render_email(name: &str, context: Value) -> Result<Email, minijinja::Error> {
    let lang = context
        .get_attr("lang")
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| "en".into());
    render_parts(name, &crate::pages::with_language(&lang, context))
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn the_notification_says_who_sent_it_and_how_to_open_it() {
        let email = render_email(
            "notification",
            context! { sender => "alice@example.org", mode => "server", key_server => "https://keys.example.org", expires => "2026-12-22" },
        )
        .unwrap();
        assert_eq!(email.subject, "Secure message from alice@example.org");
        assert!(email
            .text
            .starts_with("You have received a secure message from alice@example.org."));
        assert!(email.text.contains("https://keys.example.org") && email.text.contains("Register"));
        assert!(email.text.contains("expires on 2026-12-22"));
        assert!(email.html.contains("<h1") && email.html.contains("Register"));
        let passphrase = render_email("notification", context! { sender => "a@example.org", mode => "passphrase", key_server => (), expires => () }).unwrap();
        assert!(
            passphrase
                .text
                .contains("passphrase a@example.org gave you")
                && !passphrase.text.contains("expires")
        );
    }

    #[test]
    fn a_pull_notification_links_to_the_message_and_says_until_when_it_is_there() {
        let link = "https://keys.example.org/portal/m/0123456789abcdef0123456789abcdef";
        let email = render_email(
            "notification",
            context! { sender => "alice@example.org", mode => "server", key_server => "Clinique du Parc", expires => "2026-12-22 17:00:00 UTC", link },
        )
        .unwrap();
        assert_eq!(email.subject, "Secure message from alice@example.org");
        assert!(email
            .html
            .contains(&format!("<a href=\"{}\"", link.replace('/', "&#x2f;"))));
        assert!(email
            .html
            .contains(">Click here to view your secure e-mail</a>"));
        for part in [&email.text, &email.html] {
            assert!(part.contains("This message is available until 2026-12-22 17:00:00 UTC."));
            assert!(part.contains("kept for you at Clinique du Parc"));
            assert!(!part.contains("securedoc.html") && !part.contains("attachment"));
            assert!(part.contains("before following the link"));
        }
        assert!(email
            .text
            .contains(&format!("Click here to view your secure e-mail:\n{link}\n")));
        // The copy-paste form, beside the button.
        assert!(email.html.contains(&format!("copy this address into your web browser:<br><span style=\"word-break: break-all\">{}</span>", link.replace('/', "&#x2f;"))));

        let french = render_email(
            "notification",
            context! { lang => "fr", sender => "alice@example.org", mode => "server", key_server => "Clinique du Parc", expires => (), link },
        )
        .unwrap();
        assert!(french
            .html
            .contains(">Cliquez ici pour consulter votre e-mail sécurisé</a>"));
        assert!(
            !french.text.contains("disponible jusqu"),
            "no expiry, no date"
        );
    }

    #[test]
    fn the_notification_speaks_the_language_it_is_given() {
        let email = render_email(
            "notification",
            context! { lang => "fr", sender => "alice@example.org", mode => "server", key_server => "Clinique du Parc", expires => () },
        )
        .unwrap();
        assert_eq!(email.subject, "Message sécurisé de alice@example.org");
        assert!(email.text.contains("votre compte sur Clinique du Parc"));
        assert!(email.html.contains("<html lang=\"fr\">"));
    }

    #[test]
    fn values_are_escaped_in_html_and_cannot_break_the_subject() {
        let email = render_email(
            "notification",
            context! { sender => "<script>alert(1)</script>\r\nBcc: eve@evil.test", mode => "passphrase", key_server => (), expires => () },
        )
        .unwrap();
        assert!(!email.html.contains("<script>") && email.html.contains("&lt;script&gt;"));
        assert!(!email.subject.contains('\n') && !email.subject.contains('\r'));
    }

    #[test]
    fn a_missing_value_is_an_error_not_an_empty_string() {
        assert!(render_email("notification", context! { sender => "a@example.org" }).is_err());
    }
}
