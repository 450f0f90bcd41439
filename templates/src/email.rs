//! E-mails: each one a subject, a plain-text part and an HTML part, from
//! `templates/email/<name>/{subject.txt,body.txt,body.html}.j2`. Strict: a
//! missing variable is an error, not an empty string. HTML parts escape every
//! value.

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

const TEMPLATES: &[(&str, &str)] = &[
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
];

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .expect("e-mail templates parse");
    }
    env
}

/// Renders e-mail `name` (a folder under `templates/email`) with `context`.
pub fn render_email(name: &str, context: Value) -> Result<Email, minijinja::Error> {
    let env = environment();
    let render = |part: &str| {
        env.get_template(&format!("{name}/{part}"))?
            .render(&context)
    };
    let subject = render("subject.txt")?;
    Ok(Email {
        // A subject is one line whatever a value held: no header injection.
        subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
        text: render("body.txt")?,
        html: render("body.html")?,
    })
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
