//! The recipient's pages (docs/ACCOUNTS.md): registration, e-mail confirmation,
//! "Forgot password?" and the reset with security questions; and the live
//! password check they call.
//!
//! No sessions and no cookies: each step carries what proves it (a
//! single-use link token from the e-mail), so there is nothing to steal or
//! forge across sites. Answers that could tell a stranger whether an address
//! has an account are the same either way (no user enumeration); the e-mail
//! says the rest, to the owner of the address only.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use securedoc_templates::{
    context, fill, language, render_account_email, render_page, security_questions, text, Value,
    PAGE_CSP, PASSWORD_CHECK_JS, PORTAL_CSS,
};
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

use super::AppState;
use crate::mail::Mailer;
use crate::policy::{history_candidates, PasswordPolicy, Person};
use crate::store::{LinkPurpose, NewAccount, Registered};
use crate::Error;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/register", get(register_form).post(register))
        .route("/confirm", get(confirm))
        .route("/forgot", get(forgot_form).post(forgot))
        .route("/reset", get(reset_form).post(reset))
        .route("/api/v1/password/check", post(password_check))
        .route(
            "/static/portal.css",
            get(|| async { asset("text/css", PORTAL_CSS) }),
        )
        .route(
            "/static/password-check.js",
            get(|| async { asset("text/javascript", PASSWORD_CHECK_JS) }),
        )
}

/// Longest name, phrase and answer accepted.
const MAX_NAME: usize = 100;
const MAX_PHRASE: usize = 100;
const MAX_ANSWER: usize = 200;

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

fn render(status: StatusCode, name: &str, lang: &str, ctx: Value) -> Response {
    match render_page(name, lang, ctx) {
        Ok(html) => page(status, html),
        Err(error) => {
            tracing::error!(%error, page = name, "cannot render a page");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A page of a title and a few paragraphs.
fn notice(status: StatusCode, lang: &str, title: String, lines: Vec<String>) -> Response {
    render(status, "notice", lang, context! { title, lines })
}

/// The language asked for, else the browser's first choice we have, else English.
fn choose_language(asked: Option<&str>, headers: &HeaderMap) -> &'static str {
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
fn rule_list(
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
fn new_password_error(
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

/// Answers are compared case- and space-insensitively: "Rex", " rex " and
/// "REX" are one answer (CRES compares exactly, which locks out people who
/// typed a capital once; the entropy lost is a few bits at most).
fn normalise_answer(answer: &str) -> Zeroizing<String> {
    Zeroizing::new(
        answer
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase(),
    )
}

fn printable(value: &str) -> bool {
    !value.chars().any(char::is_control)
}

async fn send_account_email(
    state: &AppState,
    kind: &str,
    lang: &str,
    to: &str,
    name: &str,
    link: String,
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
        },
    )
    .map_err(|e| Error::Mail(format!("cannot render the {kind} e-mail: {e}")))?;
    let message = Mailer::compose(&settings.mail_from, to, &email, Vec::new())?;
    state.mailer.send(message).await
}

fn mail_failed(lang: &str, error: &Error) -> Response {
    tracing::error!(%error, "cannot send an account e-mail");
    notice(
        StatusCode::SERVICE_UNAVAILABLE,
        lang,
        text(lang, "errors.mail_title"),
        vec![text(lang, "errors.mail_body")],
    )
}

// ---------------------------------------------------------------- register

#[derive(Deserialize, Default)]
#[serde(default)]
struct RegisterQuery {
    email: String,
    lang: Option<String>,
}

async fn register_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<RegisterQuery>,
) -> Response {
    let lang = choose_language(query.lang.as_deref(), &headers);
    if envelope_core::validate_address("email", &query.email).is_err() {
        return notice(
            StatusCode::BAD_REQUEST,
            lang,
            text(lang, "register.title"),
            vec![text(lang, "register.from_envelope")],
        );
    }
    register_page(
        &state,
        StatusCode::OK,
        lang,
        &RegisterForm {
            email: query.email,
            ..Default::default()
        },
        BTreeMap::new(),
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RegisterForm {
    email: String,
    language: String,
    first_name: String,
    last_name: String,
    password: Zeroizing<String>,
    password_confirm: Zeroizing<String>,
    phrase: String,
    phrase_enabled: Option<String>,
    question1: String,
    question2: String,
    question3: String,
    answer1: Zeroizing<String>,
    answer1_confirm: Zeroizing<String>,
    answer2: Zeroizing<String>,
    answer2_confirm: Zeroizing<String>,
    answer3: Zeroizing<String>,
    answer3_confirm: Zeroizing<String>,
}

impl RegisterForm {
    fn questions(&self) -> [&str; 3] {
        [&self.question1, &self.question2, &self.question3]
    }

    fn answers(&self) -> [(&str, &str); 3] {
        [
            (&self.answer1, &self.answer1_confirm),
            (&self.answer2, &self.answer2_confirm),
            (&self.answer3, &self.answer3_confirm),
        ]
    }
}

/// The form again, with what the user typed except the secrets.
fn register_page(
    state: &AppState,
    status: StatusCode,
    lang: &str,
    form: &RegisterForm,
    errors: BTreeMap<String, String>,
) -> Response {
    // Kept as typed, but never more than a field can hold: the page is no
    // amplifier for whatever was posted.
    let keep = |value: &str, max: usize| value.chars().take(max).collect::<String>();
    let values = context! {
        first_name => keep(&form.first_name, MAX_NAME),
        last_name => keep(&form.last_name, MAX_NAME),
        phrase => keep(&form.phrase, MAX_PHRASE),
        phrase_enabled => form.phrase_enabled.is_some(),
        question1 => form.question1,
        question2 => form.question2,
        question3 => form.question3,
    };
    render(
        status,
        "register",
        lang,
        context! {
            email => keep(&form.email, 320),
            values,
            errors,
            rules => rule_list(&state.settings.policy, lang, false),
            questions => security_questions(lang),
        },
    )
}

fn check_registration(
    state: &AppState,
    form: &RegisterForm,
    lang: &str,
) -> BTreeMap<String, String> {
    let mut errors = BTreeMap::new();
    let t = |key: &str| text(lang, key);
    let too_long = |max: usize| fill(&t("errors.too_long"), &[("max", max.to_string())]);
    if envelope_core::validate_address("email", &form.email).is_err() {
        errors.insert("email".into(), t("errors.bad_email"));
    }
    for (name, value) in [
        ("first_name", &form.first_name),
        ("last_name", &form.last_name),
    ] {
        if value.trim().is_empty() {
            errors.insert(name.into(), t("errors.required"));
        } else if value.chars().count() > MAX_NAME || !printable(value) {
            errors.insert(name.into(), too_long(MAX_NAME));
        }
    }
    let person = Person {
        email: &form.email,
        first_name: form.first_name.trim(),
        last_name: form.last_name.trim(),
    };
    if let Some((field, message)) = new_password_error(
        &state.settings.policy,
        &form.password,
        &form.password_confirm,
        &person,
        lang,
    ) {
        errors.insert(field.into(), message);
    }
    let phrase = form.phrase.trim();
    if form.phrase_enabled.is_some() && phrase.is_empty() {
        errors.insert("phrase".into(), t("errors.phrase_needed"));
    } else if phrase.chars().count() > MAX_PHRASE || !printable(phrase) {
        errors.insert("phrase".into(), too_long(MAX_PHRASE));
    }
    let known: Vec<String> = security_questions("en")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let questions = form.questions();
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
    for (i, (answer, confirm)) in form.answers().iter().enumerate() {
        let field = format!("answer{}", i + 1);
        if normalise_answer(answer).is_empty() {
            errors.insert(field, t("errors.required"));
        } else if answer.chars().count() > MAX_ANSWER {
            errors.insert(field, too_long(MAX_ANSWER));
        } else if normalise_answer(answer) != normalise_answer(confirm) {
            errors.insert(format!("{field}_confirm"), t("errors.answer_mismatch"));
        }
    }
    errors
}

async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<RegisterForm>,
) -> Response {
    let lang = choose_language(Some(&form.language), &headers);
    let errors = check_registration(&state, &form, lang);
    if !errors.is_empty() {
        return register_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            &form,
            errors,
        );
    }
    match complete_registration(&state, &form, lang).await {
        Ok(()) => notice(
            StatusCode::OK,
            lang,
            text(lang, "register.done.title"),
            vec![
                fill(
                    &text(lang, "register.done.body"),
                    &[
                        ("email", form.email.clone()),
                        (
                            "hours",
                            (state.settings.confirm_link_seconds / 3600).to_string(),
                        ),
                    ],
                ),
                text(lang, "register.done.then"),
                text(lang, "register.done.not_received"),
            ],
        ),
        Err(error @ Error::Mail(_)) => mail_failed(lang, &error),
        Err(error) => error.into_response(),
    }
}

/// Hashes, stores and mails. Whatever the address's state, the page that
/// follows is the same; only the mail differs.
async fn complete_registration(
    state: &AppState,
    form: &RegisterForm,
    lang: &str,
) -> Result<(), Error> {
    let address = form.email.to_ascii_lowercase();
    let password_hash = state.passwords.hash(form.password.clone()).await?;
    let mut answers = Vec::new();
    for (question, (answer, _)) in form.questions().iter().zip(form.answers()) {
        answers.push((
            question.to_string(),
            state.passwords.hash(normalise_answer(answer)).await?,
        ));
    }
    // Only addresses that were sent a message can register: the server will
    // not mail strangers on anyone's say-so.
    if !state.store.has_received_mail(&address).await? {
        tracing::info!("registration for an address that has no messages; no mail sent");
        return Ok(());
    }
    let phrase = Some(form.phrase.trim().to_string())
        .filter(|p| form.phrase_enabled.is_some() && !p.is_empty());
    let account = NewAccount {
        address: address.clone(),
        first_name: form.first_name.trim().to_string(),
        last_name: form.last_name.trim().to_string(),
        language: lang.to_string(),
        password_hash,
        phrase,
    };
    let settings = &state.settings;
    match state.store.register_account(&account, &answers).await? {
        Registered::Created => {
            let token = state
                .store
                .create_link(
                    &address,
                    LinkPurpose::Confirm,
                    settings.confirm_link_seconds,
                )
                .await?;
            let link = format!("{}/confirm?token={token}", settings.public_url);
            send_account_email(state, "confirm", lang, &address, &account.first_name, link).await
        }
        Registered::AlreadyConfirmed => {
            let profile = state.store.profile(&address).await?;
            let (name, lang) = profile
                .map(|p| (p.first_name, language(&p.language)))
                .unwrap_or_default();
            let token = state
                .store
                .create_link(&address, LinkPurpose::Reset, settings.reset_link_seconds)
                .await?;
            let link = format!("{}/reset?token={token}", settings.public_url);
            send_account_email(state, "already", lang, &address, &name, link).await
        }
    }
}

// ----------------------------------------------------------------- confirm

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenQuery {
    token: String,
    lang: Option<String>,
}

async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Response, Error> {
    let lang = choose_language(query.lang.as_deref(), &headers);
    let Some(address) = state
        .store
        .use_link(&query.token, LinkPurpose::Confirm)
        .await?
    else {
        return Ok(notice(
            StatusCode::GONE,
            lang,
            text(lang, "confirm.bad_title"),
            vec![text(lang, "confirm.bad_body")],
        ));
    };
    state.store.confirm_account(&address).await?;
    let lang = match state.store.profile(&address).await? {
        Some(profile) => language(&profile.language),
        None => lang,
    };
    Ok(notice(
        StatusCode::OK,
        lang,
        text(lang, "confirm.title"),
        vec![
            fill(&text(lang, "confirm.body"), &[("email", address)]),
            text(lang, "common.back_to_envelope"),
        ],
    ))
}

// ------------------------------------------------------------------ forgot

async fn forgot_form(headers: HeaderMap, Query(query): Query<RegisterQuery>) -> Response {
    let lang = choose_language(query.lang.as_deref(), &headers);
    render(
        StatusCode::OK,
        "forgot",
        lang,
        context! { email => query.email, errors => BTreeMap::<String, String>::new() },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ForgotForm {
    email: String,
    language: String,
}

async fn forgot(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Result<Response, Error> {
    let lang = choose_language(Some(&form.language), &headers);
    if envelope_core::validate_address("email", &form.email).is_err() {
        let errors = BTreeMap::from([("email".to_string(), text(lang, "errors.bad_email"))]);
        return Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            "forgot",
            lang,
            context! { email => form.email, errors },
        ));
    }
    let settings = &state.settings;
    // Mailed only to an existing account, in its language; the page is the same either way.
    if let Some(profile) = state.store.profile(&form.email).await? {
        let token = state
            .store
            .create_link(
                &profile.address,
                LinkPurpose::Reset,
                settings.reset_link_seconds,
            )
            .await?;
        let link = format!("{}/reset?token={token}", settings.public_url);
        let account_lang = language(&profile.language);
        if let Err(error) = send_account_email(
            &state,
            "reset",
            account_lang,
            &profile.address,
            &profile.first_name,
            link,
        )
        .await
        {
            return Ok(mail_failed(lang, &error));
        }
    }
    Ok(notice(
        StatusCode::OK,
        lang,
        text(lang, "forgot.sent_title"),
        vec![fill(
            &text(lang, "forgot.sent_body"),
            &[
                ("email", form.email.clone()),
                ("minutes", (settings.reset_link_seconds / 60).to_string()),
            ],
        )],
    ))
}

// ------------------------------------------------------------------- reset

fn bad_reset_link(lang: &str) -> Response {
    notice(
        StatusCode::GONE,
        lang,
        text(lang, "reset.bad_title"),
        vec![text(lang, "reset.bad_body")],
    )
}

async fn reset_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Response, Error> {
    let lang = choose_language(query.lang.as_deref(), &headers);
    let Some(address) = state
        .store
        .link_address(&query.token, LinkPurpose::Reset)
        .await?
    else {
        return Ok(bad_reset_link(lang));
    };
    reset_page(
        &state,
        StatusCode::OK,
        &address,
        &query.token,
        BTreeMap::new(),
    )
    .await
}

async fn reset_page(
    state: &AppState,
    status: StatusCode,
    address: &str,
    token: &str,
    errors: BTreeMap<String, String>,
) -> Result<Response, Error> {
    let lang = match state.store.profile(address).await? {
        Some(profile) => language(&profile.language),
        None => "en",
    };
    let texts: BTreeMap<String, String> = security_questions(lang).into_iter().collect();
    let questions: Vec<String> = state
        .store
        .security_answers(address)
        .await?
        .into_iter()
        .map(|a| texts.get(&a.question).cloned().unwrap_or(a.question))
        .collect();
    Ok(render(
        status,
        "reset",
        lang,
        context! {
            email => address,
            token,
            questions,
            errors,
            rules => rule_list(&state.settings.policy, lang, true),
        },
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResetForm {
    token: String,
    answer1: Zeroizing<String>,
    answer2: Zeroizing<String>,
    answer3: Zeroizing<String>,
    password: Zeroizing<String>,
    password_confirm: Zeroizing<String>,
}

async fn reset(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<ResetForm>,
) -> Result<Response, Error> {
    // Audited under the client address, as key release is: wrong answers count
    // toward that address's failure limit.
    let client = peer.ip().to_string();
    let asked = choose_language(None, &headers);
    let Some(address) = state
        .store
        .link_address(&form.token, LinkPurpose::Reset)
        .await?
    else {
        return Ok(bad_reset_link(asked));
    };
    let Some(profile) = state.store.profile(&address).await? else {
        return Ok(bad_reset_link(asked));
    };
    let lang = language(&profile.language);
    let t = |key: &str| text(lang, key);
    let policy = &state.settings.policy;
    let person = Person {
        email: &profile.address,
        first_name: &profile.first_name,
        last_name: &profile.last_name,
    };

    // The new password first: its mistakes cost no attempt.
    if let Some((field, message)) = new_password_error(
        policy,
        &form.password,
        &form.password_confirm,
        &person,
        lang,
    ) {
        let errors = BTreeMap::from([(field.to_string(), message)]);
        return reset_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            &address,
            &form.token,
            errors,
        )
        .await;
    }

    // Every answer is checked (no early exit: the time says nothing about which was wrong).
    let stored = state.store.security_answers(&address).await?;
    let given = [&form.answer1, &form.answer2, &form.answer3];
    let mut all_right = stored.len() == given.len();
    for (answer, given) in stored.iter().zip(given) {
        let right = state
            .passwords
            .verify(normalise_answer(given), Some(answer.answer_hash.clone()))
            .await?;
        all_right &= right;
    }
    if !all_right {
        let left = state
            .store
            .link_failure(&form.token, state.settings.reset_attempts)
            .await?;
        state
            .store
            .audit(Some(&address), None, &client, "reset_wrong_answers")
            .await?;
        if left == 0 {
            return Ok(notice(
                StatusCode::GONE,
                lang,
                t("reset.bad_title"),
                vec![t("reset.no_attempts")],
            ));
        }
        let errors = BTreeMap::from([(
            "answer1".to_string(),
            fill(&t("reset.wrong_answers"), &[("left", left.to_string())]),
        )]);
        return reset_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            &address,
            &form.token,
            errors,
        )
        .await;
    }

    // Not one of the last N passwords, nor one of them with a number changed by one.
    if policy.history > 0 {
        let recent = state
            .store
            .recent_password_hashes(&address, policy.history)
            .await?;
        for candidate in history_candidates(&form.password) {
            for hash in &recent {
                if state
                    .passwords
                    .verify(Zeroizing::new(candidate.clone()), Some(hash.clone()))
                    .await?
                {
                    let errors = BTreeMap::from([("password".to_string(), t("errors.history"))]);
                    return reset_page(
                        &state,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        &address,
                        &form.token,
                        errors,
                    )
                    .await;
                }
            }
        }
    }

    if state
        .store
        .use_link(&form.token, LinkPurpose::Reset)
        .await?
        .is_none()
    {
        return Ok(bad_reset_link(lang));
    }
    let hash = state.passwords.hash(form.password.clone()).await?;
    state.store.set_password(&address, &hash).await?;
    state
        .store
        .audit(Some(&address), None, &client, "password_reset")
        .await?;
    Ok(notice(
        StatusCode::OK,
        lang,
        t("reset.done_title"),
        vec![t("reset.done_body"), t("common.back_to_envelope")],
    ))
}

// ---------------------------------------------------------- password check

#[derive(Deserialize, Default)]
#[serde(default)]
struct CheckRequest {
    password: Zeroizing<String>,
    email: String,
    first_name: String,
    last_name: String,
    /// On the reset page: whose password it is comes from the link.
    token: String,
}

async fn password_check(
    State(state): State<AppState>,
    Json(request): Json<CheckRequest>,
) -> Result<Response, Error> {
    if request.password.len() > 1024 {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": "password too long" })),
        )
            .into_response());
    }
    let profile = if request.token.is_empty() {
        None
    } else {
        match state
            .store
            .link_address(&request.token, LinkPurpose::Reset)
            .await?
        {
            Some(address) => state.store.profile(&address).await?,
            None => None,
        }
    };
    let person = match &profile {
        Some(p) => Person {
            email: &p.address,
            first_name: &p.first_name,
            last_name: &p.last_name,
        },
        None => Person {
            email: &request.email,
            first_name: &request.first_name,
            last_name: &request.last_name,
        },
    };
    let broken: Vec<&str> = state
        .settings
        .policy
        .check(&request.password, &person)
        .iter()
        .map(|v| v.rule)
        .collect();
    Ok(Json(json!({ "broken": broken })).into_response())
}
