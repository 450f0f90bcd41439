//! The key server's pages (registration, confirmation, password reset) and its
//! account e-mails, in the user's language.
//!
//! Every user-visible string lives in one file per language,
//! `templates/i18n/<code>.toml`; templates only arrange them. A language file
//! may leave keys out: they fall back to English, so a partial translation is
//! still a usable one.

use std::sync::OnceLock;

use minijinja::value::Kwargs;
use minijinja::{Error, ErrorKind, Value};

use crate::email::Email;

/// A part's file: its name under `i18n/` and its text.
type Part = (&'static str, &'static str);

/// The languages, English first (the fallback): each is its main file and
/// the files of the parts that keep their strings apart (the portal,
/// account lifecycle: `i18n/<part>/<code>.toml`), merged into one table.
const LANGUAGE_FILES: &[(&str, &str, &[Part])] = &[
    (
        "en",
        include_str!("../i18n/en.toml"),
        &[
            ("portal/en.toml", include_str!("../i18n/portal/en.toml")),
            ("accounts/en.toml", include_str!("../i18n/accounts/en.toml")),
            (
                "preferences/en.toml",
                include_str!("../i18n/preferences/en.toml"),
            ),
            ("contacts/en.toml", include_str!("../i18n/contacts/en.toml")),
            ("staff/en.toml", include_str!("../i18n/staff/en.toml")),
            ("passcode/en.toml", include_str!("../i18n/passcode/en.toml")),
        ],
    ),
    (
        "fr",
        include_str!("../i18n/fr.toml"),
        &[
            ("portal/fr.toml", include_str!("../i18n/portal/fr.toml")),
            ("accounts/fr.toml", include_str!("../i18n/accounts/fr.toml")),
            (
                "preferences/fr.toml",
                include_str!("../i18n/preferences/fr.toml"),
            ),
            ("contacts/fr.toml", include_str!("../i18n/contacts/fr.toml")),
            ("staff/fr.toml", include_str!("../i18n/staff/fr.toml")),
            ("passcode/fr.toml", include_str!("../i18n/passcode/fr.toml")),
        ],
    ),
];

/// The pages, registered in the one environment (`email::environment`).
pub(crate) const PAGE_TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../pages/layout.html.j2")),
    ("register.html", include_str!("../pages/register.html.j2")),
    ("notice.html", include_str!("../pages/notice.html.j2")),
    ("confirm.html", include_str!("../pages/confirm.html.j2")),
    ("forgot.html", include_str!("../pages/forgot.html.j2")),
    ("reset.html", include_str!("../pages/reset.html.j2")),
    ("fields.html", include_str!("../pages/fields.html.j2")),
    (
        "online_password.html",
        include_str!("../pages/online_password.html.j2"),
    ),
    (
        "online_message.html",
        include_str!("../pages/online_message.html.j2"),
    ),
    ("compose.html", include_str!("../pages/compose.html.j2")),
    (
        "online_continue.html",
        include_str!("../pages/online_continue.html.j2"),
    ),
    (
        "message_view.html",
        include_str!("../pages/message_view.html.j2"),
    ),
    (
        "portal/layout.html",
        include_str!("../pages/portal/layout.html.j2"),
    ),
    (
        "portal/login.html",
        include_str!("../pages/portal/login.html.j2"),
    ),
    (
        "portal/continue.html",
        include_str!("../pages/portal/continue.html.j2"),
    ),
    (
        "portal/inbox.html",
        include_str!("../pages/portal/inbox.html.j2"),
    ),
    (
        "portal/message.html",
        include_str!("../pages/portal/message.html.j2"),
    ),
    (
        "portal/sending_status.html",
        include_str!("../pages/portal/sending_status.html.j2"),
    ),
    (
        "portal/password.html",
        include_str!("../pages/portal/password.html.j2"),
    ),
    (
        "portal/passcode.html",
        include_str!("../pages/portal/passcode.html.j2"),
    ),
    (
        "portal/preferences.html",
        include_str!("../pages/portal/preferences.html.j2"),
    ),
    (
        "portal/folders.html",
        include_str!("../pages/portal/folders.html.j2"),
    ),
    (
        "portal/contacts.html",
        include_str!("../pages/portal/contacts.html.j2"),
    ),
    (
        "portal/contact_fields.html",
        include_str!("../pages/portal/contact_fields.html.j2"),
    ),
    (
        "portal/contact.html",
        include_str!("../pages/portal/contact.html.j2"),
    ),
    (
        "portal/groups.html",
        include_str!("../pages/portal/groups.html.j2"),
    ),
    (
        "portal/group.html",
        include_str!("../pages/portal/group.html.j2"),
    ),
    (
        "email/subject.txt",
        include_str!("../email/account/subject.txt.j2"),
    ),
    (
        "email/body.txt",
        include_str!("../email/account/body.txt.j2"),
    ),
    (
        "email/body.html",
        include_str!("../email/account/body.html.j2"),
    ),
];

/// The pages' stylesheet, served as `/static/portal.css`.
pub const PORTAL_CSS: &str = include_str!("../static/portal.css");
/// The live password check, served as `/static/password-check.js`.
pub const PASSWORD_CHECK_JS: &str = include_str!("../static/password-check.js");
/// The portal's formatting editor, served as `/static/portal-editor.js`.
pub const PORTAL_EDITOR_JS: &str = include_str!("../static/portal-editor.js");
/// The portal's draft autosave, served as `/static/portal-drafts.js`.
pub const PORTAL_DRAFTS_JS: &str = include_str!("../static/portal-drafts.js");
/// The portal's inactivity warning, served as `/static/portal-session.js`.
pub const PORTAL_SESSION_JS: &str = include_str!("../static/portal-session.js");
/// Open Online's one script: a Print button where printing is allowed.
pub const OPEN_ONLINE_JS: &str = include_str!("../static/open-online.js");
/// The pages' Content-Security-Policy: their own stylesheet and script, calls
/// to their own origin, nothing else; no framing (clickjacking).
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// One language, its fallbacks to English already merged in.
struct Language {
    code: &'static str,
    /// Its own name, for the Language select.
    name: String,
    strings: toml::Table,
    /// `strings` as the templates see them (`t`), converted once.
    for_templates: Value,
}

fn merge(base: &mut toml::Table, over: &toml::Table) {
    for (key, value) in over {
        match (base.get_mut(key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Every language, English first.
fn catalog() -> &'static [Language] {
    static CATALOG: OnceLock<Vec<Language>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let parse = |file: String, text: &str| -> toml::Table {
            text.parse()
                .unwrap_or_else(|e| panic!("templates/i18n/{file} does not parse: {e}"))
        };
        let all = |code: &str, main: &str, parts: &[(&str, &str)]| {
            let mut strings = parse(format!("{code}.toml"), main);
            for (file, text) in parts {
                merge(&mut strings, &parse(file.to_string(), text));
            }
            strings
        };
        let (_, main, parts) = LANGUAGE_FILES[0];
        let english = all("en", main, parts);
        LANGUAGE_FILES
            .iter()
            .map(|(code, main, parts)| {
                let mut strings = english.clone();
                merge(&mut strings, &all(code, main, parts));
                let name = strings
                    .get("language_name")
                    .and_then(toml::Value::as_str)
                    .unwrap_or(code)
                    .to_string();
                Language {
                    code,
                    name,
                    for_templates: Value::from_serialize(&strings),
                    strings,
                }
            })
            .collect()
    })
}

/// `code`'s language, else English.
fn find(code: &str) -> &'static Language {
    let catalog = catalog();
    catalog
        .iter()
        .find(|l| l.code == code)
        .unwrap_or(&catalog[0])
}

/// The language codes and their names, for the Language select.
pub fn languages() -> Vec<(&'static str, String)> {
    catalog().iter().map(|l| (l.code, l.name.clone())).collect()
}

/// `code` if there is such a language, else English.
pub fn language(code: &str) -> &'static str {
    find(code).code
}

fn strings(code: &str) -> &'static toml::Table {
    &find(code).strings
}

/// One string by dotted key (`"errors.required"`), in `code`'s language.
pub fn text(code: &str, key: &str) -> String {
    let mut value: Option<&toml::Value> = None;
    let mut table = strings(code);
    for part in key.split('.') {
        value = table.get(part);
        if let Some(toml::Value::Table(t)) = value {
            table = t;
        }
    }
    value
        .and_then(toml::Value::as_str)
        .unwrap_or_else(|| panic!("no string {key} in templates/i18n"))
        .to_string()
}

/// One section of the strings (`[online]`) in `code`'s language.
pub(crate) fn section(code: &str, name: &str) -> &'static toml::Value {
    strings(code)
        .get(name)
        .unwrap_or_else(|| panic!("templates/i18n/en.toml has no [{name}] section"))
}

/// The envelope opener's strings (`[opener]`) in `code`'s language.
pub(crate) fn opener_strings(code: &str) -> &'static toml::Value {
    strings(code)
        .get("opener")
        .expect("templates/i18n/en.toml has an [opener] section")
}

/// [`opener_strings`] as the JSON the page carries for its script, less the
/// page's own words (`[opener.page]`, already in the HTML): safe inside
/// `<script>` (no `<`, `>` or `&` left to end it early).
pub(crate) fn opener_strings_json(code: &str) -> String {
    let mut for_script = opener_strings(code).clone();
    if let Some(table) = for_script.as_table_mut() {
        table.remove("page");
    }
    serde_json::to_string(&for_script)
        .expect("strings serialise")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Replaces `{name}` placeholders with values.
pub fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// The security questions (id, text), in `code`'s language.
pub fn security_questions(code: &str) -> Vec<(String, String)> {
    strings(code)
        .get("questions")
        .and_then(toml::Value::as_table)
        .map(|t| {
            t.iter()
                .map(|(id, text)| (id.clone(), text.as_str().unwrap_or(id).to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// `{{ text | fill(name=value) }}`: [`fill`] for templates.
pub(crate) fn fill_filter(value: String, kwargs: Kwargs) -> Result<String, Error> {
    let mut out = value;
    for name in kwargs.args() {
        let v: Value = kwargs.get(name)?;
        out = out.replace(&format!("{{{name}}}"), &v.to_string());
    }
    Ok(out)
}

pub(crate) fn with_language(code: &str, context: Value) -> Value {
    let language = find(code);
    minijinja::context! {
        t => language.for_templates.clone(),
        lang => language.code,
        languages => languages(),
        ..context
    }
}

/// Renders page `name` (`register`, `confirm`, `notice`, `forgot`, `reset`) in language `code`.
pub fn render_page(name: &str, code: &str, context: Value) -> Result<String, Error> {
    crate::email::environment()
        .get_template(&format!("{name}.html"))?
        .render(with_language(code, context))
}

/// Renders an account e-mail — `kind` is `confirm`, `already`, `reset`,
/// `temporary`, `expiry_warning` or `hint` — with its `link`, in language
/// `code`.
/// The context needs `email`, `name`, `hours`, `minutes`, `days` and `date`
/// as the strings use them. The `confirm` mail has no greeting: it goes to
/// an address nobody has confirmed yet, so it carries nothing a stranger
/// typed; nor does a mail to an account without a name.
pub fn render_account_email(kind: &str, code: &str, context: Value) -> Result<Email, Error> {
    if !matches!(
        kind,
        "confirm" | "already" | "reset" | "temporary" | "expiry_warning" | "hint" | "passcode"
    ) {
        return Err(Error::new(
            ErrorKind::TemplateNotFound,
            format!("no account e-mail {kind}"),
        ));
    }
    crate::email::render_parts(
        "account",
        &with_language(code, minijinja::context! { kind, ..context }),
    )
}

/// Renders a read receipt in the sender's language `code`: the context
/// needs `message` (the message's short id), `recipient`, `sent` and
/// `opened` (times, already formatted). The key server never sees a
/// message's subject or body, so a receipt names neither.
pub fn render_receipt_email(code: &str, context: Value) -> Result<Email, Error> {
    crate::email::render_parts("receipt", &with_language(code, context))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_english_key_after_fallback_and_its_own_name() {
        let english = strings("en");
        for (code, name) in languages() {
            assert!(!name.is_empty());
            let merged = strings(code);
            fn keys(t: &toml::Table, prefix: &str, out: &mut Vec<String>) {
                for (k, v) in t {
                    match v {
                        toml::Value::Table(t) => keys(t, &format!("{prefix}{k}."), out),
                        _ => out.push(format!("{prefix}{k}")),
                    }
                }
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            keys(english, "", &mut a);
            keys(merged, "", &mut b);
            assert_eq!(a, b, "{code} has keys English does not");
        }
        assert_eq!(language("xx"), "en");
        assert_eq!(language("fr"), "fr");
        assert_ne!(text("fr", "register.submit"), text("en", "register.submit"));
    }

    /// The parts' files (portal, accounts) are complete in every language,
    /// not only through the fallback to English: a page is never half
    /// translated.
    #[test]
    fn every_part_file_has_every_english_key_itself() {
        fn keys(t: &toml::Table, prefix: &str, out: &mut Vec<String>) {
            for (k, v) in t {
                match v {
                    toml::Value::Table(t) => keys(t, &format!("{prefix}{k}."), out),
                    _ => out.push(format!("{prefix}{k}")),
                }
            }
        }
        let table = |text: &str| -> toml::Table { text.parse().unwrap() };
        let english_parts = LANGUAGE_FILES[0].2;
        for (code, _, parts) in LANGUAGE_FILES {
            assert_eq!(parts.len(), english_parts.len(), "{code} has every part");
            for ((file, text), (_, english_text)) in parts.iter().zip(english_parts) {
                let (mut own, mut english) = (Vec::new(), Vec::new());
                keys(&table(english_text), "", &mut english);
                keys(&table(text), "", &mut own);
                assert_eq!(own, english, "i18n/{file}");
            }
        }
        let mut portal = Vec::new();
        keys(&table(english_parts[0].1), "", &mut portal);
        assert!(portal.len() > 40);
        assert_ne!(
            text("fr", "portal.login.submit"),
            text("en", "portal.login.submit")
        );
    }

    #[test]
    fn there_are_enough_distinct_questions_in_every_language() {
        for (code, _) in languages() {
            let questions = security_questions(code);
            assert!(questions.len() >= 6, "{code}");
            let ids: Vec<_> = questions.iter().map(|(id, _)| id).collect();
            let english: Vec<_> = security_questions("en")
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            assert_eq!(ids, english.iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn account_emails_escape_values_and_keep_the_subject_on_one_line() {
        let email = render_account_email(
            "confirm",
            "en",
            minijinja::context! {
                email => "a@example.org",
                name => "<b>Eve</b>\nBcc: x@evil.test",
                link => "https://keys.example.org/confirm?token=abc",
                hours => 24, minutes => 60,
            },
        )
        .unwrap();
        assert_eq!(
            email.subject,
            "Confirm your e-mail address for secure messages"
        );
        assert!(
            !email.html.contains("Eve") && !email.text.contains("Eve"),
            "a name typed before confirmation is not mailed"
        );
        let reset = render_account_email(
            "reset",
            "en",
            minijinja::context! {
                email => "a@example.org",
                name => "<b>Eve</b>",
                link => "https://keys.example.org/reset?token=abc",
                hours => 24, minutes => 60,
            },
        )
        .unwrap();
        assert!(reset.html.contains("&lt;b&gt;Eve"));
        assert!(!reset.html.contains("<b>Eve"));
        assert!(email
            .text
            .contains("https://keys.example.org/confirm?token=abc"));
        assert!(render_account_email("nope", "en", minijinja::context! {}).is_err());
    }

    #[test]
    fn a_read_receipt_says_who_opened_what_in_the_senders_language() {
        let context = || {
            minijinja::context! {
                message => "0a1b2c3d",
                recipient => "<b>bob</b>@example.net",
                sent => "2026-11-20 09:00 UTC",
                opened => "2026-11-22 18:34 UTC",
            }
        };
        let english = render_receipt_email("en", context()).unwrap();
        assert_eq!(
            english.subject,
            "Your secure message to <b>bob</b>@example.net was opened"
        );
        assert!(english.text.contains("Your secure message 0a1b2c3d sent 2026-11-20 09:00 UTC to <b>bob</b>@example.net was opened on 2026-11-22 18:34 UTC."), "{}", english.text);
        assert!(english.html.contains("&lt;b&gt;bob") && !english.html.contains("<b>bob"));
        let french = render_receipt_email("fr", context()).unwrap();
        assert!(
            french.subject.contains("a été ouvert"),
            "{}",
            french.subject
        );
        assert!(french.html.contains("lang=\"fr\""));
    }
}

#[cfg(test)]
mod answer_pages {
    use super::*;

    #[test]
    fn the_compose_and_message_pages_render_in_every_state() {
        let errors =
            std::collections::BTreeMap::from([("to", "To: wrong"), ("file", "Files: too many")]);
        for (errors, left_out) in [(Default::default(), ""), (errors, "carol@outside.example")] {
            let page = render_page(
                "compose",
                "en",
                minijinja::context! {
                    action => "/open/view/x/compose", back => "/open/view/x", kind => "forward",
                    title => "Forward", to => "a@b.example", to_editable => true, subject => "Fwd: x",
                    body => "> quoted", originals => vec![minijinja::context! { n => 0, name => "a.pdf", size => "1 KB" }],
                    kept => vec![0], left_out, limits => "Up to 10 files", errors,
                },
            )
            .unwrap();
            assert!(page.contains("a.pdf"));
        }
        let page = render_page(
            "online_message",
            "fr",
            minijinja::context! {
                subject => "s", from => "f", to => "t", cc => "", date => (), html => (), text => "hello",
                remote_notice => (), attachments => Vec::<String>::new(), eml => "/x.eml", print => true,
                answers => vec![("/x/compose?kind=reply", "Répondre")], minutes => 10,
            },
        )
        .unwrap();
        assert!(
            page.contains(r#"compose?kind=reply">Répondre</a>"#),
            "{page}"
        );
    }
}
