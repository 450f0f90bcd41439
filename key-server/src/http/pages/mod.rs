//! The recipient's pages (see docs/ACCOUNTS.md): registration, e-mail
//! confirmation, "Forgot password?" and the reset with security questions;
//! and the live password check they call. One module per flow; what they
//! share is here.
//!
//! No sessions and no cookies here (the portal has them: `http/portal`):
//! each step carries what proves it (a
//! single-use link token from the e-mail), so there is nothing to steal or
//! forge across sites. Answers that could tell a stranger whether an address
//! has an account are the same either way (no user enumeration), and come
//! at once: mail goes through the queue in the store. The e-mail says the
//! rest, to the owner of the address only.

mod confirm;
mod forgot;
mod password_check;
mod register;
mod reset;

use super::ClientAddr;
use std::collections::BTreeMap;

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use securedoc_templates::{
    context, fill, language, render_account_email, render_page, text, Value, OPEN_ONLINE_JS,
    PAGE_CSP, PASSWORD_CHECK_JS, PORTAL_CSS, PORTAL_DRAFTS_JS, PORTAL_EDITOR_JS, PORTAL_SESSION_JS,
};
use zeroize::Zeroizing;

use super::AppState;
use crate::mail::Mailer;
use crate::policy::{PasswordPolicy, Person};
use crate::store::Limit;
use crate::Error;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/register",
            get(register::register_form).post(register::register),
        )
        .route(
            "/confirm",
            get(confirm::confirm_form).post(confirm::confirm),
        )
        .route("/forgot", get(forgot::forgot_form).post(forgot::forgot))
        .route("/reset", get(reset::reset_form).post(reset::reset))
        // Only the pages: the JSON API keeps its own `busy` refusal.
        .layer(axum::middleware::from_fn(busy_page))
        .route(
            "/api/v1/password/check",
            post(password_check::password_check),
        )
        .route(
            "/static/portal.css",
            get(|| async { asset("text/css", PORTAL_CSS) }),
        )
        .route(
            "/static/password-check.js",
            get(|| async { asset("text/javascript", PASSWORD_CHECK_JS) }),
        )
        .route(
            "/static/open-online.js",
            get(|| async { asset("text/javascript", OPEN_ONLINE_JS) }),
        )
        .route(
            "/static/portal-session.js",
            get(|| async { asset("text/javascript", PORTAL_SESSION_JS) }),
        )
        .route(
            "/static/portal-drafts.js",
            get(|| async { asset("text/javascript", PORTAL_DRAFTS_JS) }),
        )
        .route(
            "/static/portal-editor.js",
            get(|| async { asset("text/javascript", PORTAL_EDITOR_JS) }),
        )
}

/// Longest name, phrase and answer accepted.
const MAX_NAME: usize = 100;
pub(super) const MAX_PHRASE: usize = 100;
const MAX_ANSWER: usize = 200;

const HOUR: i64 = 3600;
/// Registrations of one address: enough for typos, too few to flood its
/// owner with confirmation mail.
const REGISTER_PER_ADDRESS: Limit = Limit {
    max: 3,
    window_seconds: HOUR,
};
/// Form posts that cost Argon2 work or send mail, per client address and flow.
const POSTS_PER_CLIENT: Limit = Limit {
    max: 20,
    window_seconds: HOUR,
};
/// Mail sent to one address at anyone's request ("Forgot password?", "you
/// already have an account").
const MAIL_PER_ADDRESS: Limit = Limit {
    max: 3,
    window_seconds: HOUR,
};
/// Answer checks on one account, over all its reset links.
const RESET_PER_ACCOUNT: Limit = Limit {
    max: 10,
    window_seconds: HOUR,
};

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// A page: its CSP, not cached (forms hold personal data), not framed.
fn page(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::CONTENT_TYPE, "text/html; charset=utf-8");
    set(headers, header::CONTENT_SECURITY_POLICY, PAGE_CSP);
    set(headers, header::CACHE_CONTROL, "no-store");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    response
}

pub(super) fn render(status: StatusCode, name: &str, lang: &str, ctx: Value) -> Response {
    match render_page(name, lang, ctx) {
        Ok(html) => page(status, html),
        Err(error) => {
            tracing::error!(%error, page = name, "cannot render a page");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A page of a title and a few paragraphs.
pub(super) fn notice(
    status: StatusCode,
    lang: &str,
    title: String,
    lines: Vec<String>,
) -> Response {
    render(status, "notice", lang, context! { title, lines })
}

/// The language asked for, else the browser's first choice we have, else English.
pub(super) fn choose_language(asked: Option<&str>, headers: &HeaderMap) -> &'static str {
    if let Some(code) = asked.filter(|c| !c.is_empty()) {
        return language(code);
    }
    let accepted = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // "fr-CH, fr;q=0.9, en;q=0.8": the first primary tag we have a language for.
    accepted
        .split(',')
        .map(|part| {
            part.split([';', '-'])
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .find_map(|tag| {
            let code = language(&tag);
            (code == tag).then_some(code)
        })
        .unwrap_or("en")
}

/// The rules a form lists, as (id, sentence) in `lang`.
pub(super) fn rule_list(
    policy: &PasswordPolicy,
    lang: &str,
    with_history: bool,
) -> Vec<BTreeMap<&'static str, String>> {
    let mut rules = Vec::new();
    let mut add = |id: &'static str, sentence: String| {
        rules.push(BTreeMap::from([("id", id.to_string()), ("text", sentence)]));
    };
    let values = [
        ("min", policy.min_len.to_string()),
        ("max", policy.max_len.to_string()),
        ("n", policy.history.to_string()),
        ("chars", refused(policy)),
    ];
    let t = |key: &str| fill(&text(lang, &format!("rules.{key}")), &values);
    add(
        "min_len",
        t(if policy.max_len < 128 {
            "length_range"
        } else {
            "length_min"
        }),
    );
    if policy.digit {
        add("digit", t("digit"));
    }
    if policy.letter && !policy.mixed_case {
        add("letter", t("letter"));
    }
    if policy.mixed_case {
        add("mixed_case", t("mixed_case"));
    }
    if policy.special {
        add(
            "special",
            t(if policy.refused_specials.is_empty() {
                "special"
            } else {
                "special_not"
            }),
        );
    }
    if policy.no_personal {
        add("personal", t("personal"));
    }
    if policy.not_a_word {
        add("word", t("word"));
    }
    if policy.not_guessable {
        add("guessable", t("guessable"));
    }
    if with_history && policy.history > 0 {
        add("history", t("history"));
    }
    rules
}

fn refused(policy: &PasswordPolicy) -> String {
    policy
        .refused_specials
        .chars()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// What is wrong with a new password and its confirmation, for `person`, in
/// `lang`: the field to mark and what to say (one sentence per broken rule).
pub(super) fn new_password_error(
    policy: &PasswordPolicy,
    password: &str,
    confirm: &str,
    person: &Person<'_>,
    lang: &str,
) -> Option<(&'static str, String)> {
    if password.is_empty() {
        return Some(("password", text(lang, "errors.required")));
    }
    let broken = policy.check(password, person);
    if !broken.is_empty() {
        let values = [
            ("min", policy.min_len.to_string()),
            ("max", policy.max_len.to_string()),
            ("chars", refused(policy)),
        ];
        let sentences: Vec<String> = broken
            .iter()
            .map(|v| fill(&text(lang, &format!("violations.{}", v.rule)), &values))
            .collect();
        return Some(("password", sentences.join(" ")));
    }
    (password != confirm).then(|| ("password_confirm", text(lang, "errors.password_mismatch")))
}

/// Whether `password` is one of `address`'s last `history` passwords, or
/// one of them with a number changed by one (the policy's history rule).
pub(super) async fn reuses_a_recent_password(
    state: &AppState,
    address: &str,
    password: &str,
) -> Result<bool, Error> {
    let history = state.settings.policy.history;
    if history == 0 {
        return Ok(false);
    }
    let recent = state.store.recent_password_hashes(address, history).await?;
    for candidate in crate::policy::history_candidates(password) {
        for hash in &recent {
            if state
                .passwords
                .verify(Zeroizing::new(candidate.clone()), Some(hash.clone()))
                .await?
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Answers are compared case- and space-insensitively: "Rex", " rex " and
/// "REX" are one answer (CRES compares exactly, which locks out people who
/// typed a capital once; the entropy lost is a few bits at most).
pub(super) fn normalise_answer(answer: &str) -> Zeroizing<String> {
    Zeroizing::new(
        answer
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase(),
    )
}

/// Three security questions and their answers, as the registration and
/// the portal's Preferences post them (a form's `#[serde(flatten)]` part).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct QuestionFields {
    pub question1: String,
    pub question2: String,
    pub question3: String,
    answer1: Zeroizing<String>,
    answer1_confirm: Zeroizing<String>,
    answer2: Zeroizing<String>,
    answer2_confirm: Zeroizing<String>,
    answer3: Zeroizing<String>,
    answer3_confirm: Zeroizing<String>,
}

impl QuestionFields {
    /// The question ids chosen, in form order.
    pub(super) fn questions(&self) -> [&str; 3] {
        [&self.question1, &self.question2, &self.question3]
    }

    /// Each answer and its confirmation, in form order.
    fn answers(&self) -> [(&str, &str); 3] {
        [
            (&self.answer1, &self.answer1_confirm),
            (&self.answer2, &self.answer2_confirm),
            (&self.answer3, &self.answer3_confirm),
        ]
    }
}

/// What is wrong with three chosen security questions (ids from the
/// language files, distinct) and their answers (given, confirmation), in
/// `lang`: field (`question1`, `answer2`, `answer3_confirm`, …) → message.
pub(super) fn question_errors(lang: &str, fields: &QuestionFields) -> BTreeMap<String, String> {
    let (questions, answers) = (fields.questions(), fields.answers());
    let mut errors = BTreeMap::new();
    let t = |key: &str| text(lang, key);
    let known: Vec<String> = securedoc_templates::security_questions("en")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for (i, question) in questions.iter().enumerate() {
        let field = format!("question{}", i + 1);
        if question.is_empty() {
            errors.insert(field, t("errors.required"));
        } else if !known.iter().any(|k| k == question) {
            errors.insert(field, t("errors.unknown_question"));
        } else if questions[..i].contains(question) {
            errors.insert(field, t("errors.same_question"));
        }
    }
    for (i, (answer, confirm)) in answers.iter().enumerate() {
        let field = format!("answer{}", i + 1);
        if normalise_answer(answer).is_empty() {
            errors.insert(field, t("errors.required"));
        } else if answer.chars().count() > MAX_ANSWER {
            errors.insert(
                field,
                fill(&t("errors.too_long"), &[("max", MAX_ANSWER.to_string())]),
            );
        } else if normalise_answer(answer) != normalise_answer(confirm) {
            errors.insert(format!("{field}_confirm"), t("errors.answer_mismatch"));
        }
    }
    errors
}

/// (question id, Argon2id hash of the normalised answer), in form order:
/// what the store keeps of security questions checked by [`question_errors`].
pub(super) async fn hash_answers(
    state: &AppState,
    fields: &QuestionFields,
) -> Result<Vec<(String, String)>, Error> {
    let mut hashed = Vec::with_capacity(3);
    for (question, (answer, _)) in fields.questions().iter().zip(fields.answers()) {
        hashed.push((
            question.to_string(),
            state.passwords.hash(normalise_answer(answer)).await?,
        ));
    }
    Ok(hashed)
}

/// No control characters (line breaks included).
pub(super) fn printable(value: &str) -> bool {
    !value.chars().any(char::is_control)
}

/// The client's address, for per-client limits and the audit.
/// Taken from [`ClientAddr`], which believes forwarding headers only from
/// `trusted_proxies`: behind a proxy every TCP peer is the proxy.
pub(super) fn client(peer: ClientAddr) -> String {
    peer.0.to_string()
}

/// Names are letters of any script, spaces and `-'.` only: they appear in
/// mail and on pages, so nothing else gets in (no links, no markup).
fn valid_name(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.' | '\u{2019}'))
}

/// A page whose Argon2 work found the queue full ([`Error::Busy`], 503)
/// is answered with a page saying to try again in a moment, in the
/// asker's language, instead of the API's JSON.
async fn busy_page(request: Request, next: Next) -> Response {
    let lang = choose_language(
        request
            .uri()
            .query()
            .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("lang="))),
        request.headers(),
    );
    let response = next.run(request).await;
    if response.status() != StatusCode::SERVICE_UNAVAILABLE {
        return response;
    }
    busy(lang, BUSY_RETRY_SECONDS)
}

/// The busy page (503): try again in `retry_seconds`.
pub(super) fn busy(lang: &str, retry_seconds: u64) -> Response {
    let mut page = notice(
        StatusCode::SERVICE_UNAVAILABLE,
        lang,
        text(lang, "busy.title"),
        vec![text(lang, "busy.body")],
    );
    page.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_seconds));
    page
}

/// How long a refused page asks to wait: the queue drains in seconds.
const BUSY_RETRY_SECONDS: u64 = 5;

/// The page for a request refused by a limit: 429 and when to come back.
pub(super) fn rate_limited(lang: &str, limit: Limit) -> Response {
    let mut response = notice(
        StatusCode::TOO_MANY_REQUESTS,
        lang,
        text(lang, "limits.title"),
        vec![fill(
            &text(lang, "limits.body"),
            &[("minutes", (limit.window_seconds / 60).to_string())],
        )],
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(limit.window_seconds));
    response
}

/// Renders an account e-mail and queues it; the worker sends it. `name`
/// is only given for confirmed accounts: what a stranger typed is never
/// mailed to the owner of an address. `extra`: more for the mail's
/// template (the hint mail's `password`), else `context! {}`.
async fn queue_account_email(
    state: &AppState,
    kind: &str,
    lang: &str,
    to: &str,
    name: &str,
    link: String,
    extra: Value,
) -> Result<(), Error> {
    let settings = &state.settings;
    let email = render_account_email(
        kind,
        lang,
        context! {
            email => to,
            name => name,
            link => link,
            hours => settings.confirm_link_seconds / 3600,
            minutes => settings.reset_link_seconds / 60,
            ..extra
        },
    )
    .map_err(|e| Error::Mail(format!("cannot render the {kind} e-mail: {e}")))?;
    let message = Mailer::compose_automatic(&settings.mail_from, to, &email)?;
    state
        .store
        .enqueue_mail(kind, &to.to_ascii_lowercase(), &message.formatted())
        .await?;
    state.mail_wake.notify_one();
    Ok(())
}
