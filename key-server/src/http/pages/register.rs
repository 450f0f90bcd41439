//! `/register`: the registration form and its post.
//!
//! A registration is stored on its own (`pending_registrations`) and changes
//! nothing else until its link is followed and its password given again on
//! the confirm page: see `confirm`. Cheap checks (fields, limits) come before
//! any Argon2 work; the page that follows is the same whatever the address's
//! state, and comes as soon as the hashes are done, before any mail.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use securedoc_templates::{context, fill, language, security_questions, text};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{
    choose_language, client, hash_answers, new_password_error, notice, printable, question_errors,
    queue_account_email, rate_limited, render, rule_list, valid_name, AppState, QuestionFields,
    MAIL_PER_ADDRESS, MAX_NAME, MAX_PHRASE, POSTS_PER_CLIENT, REGISTER_PER_ADDRESS,
};
use crate::http::portal::{hint_holds, seal_password_hint, MAX_HINT};
use crate::http::ClientAddr;
use crate::policy::Person;
use crate::store::{LinkPurpose, NewRegistration};
use crate::Error;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RegisterQuery {
    pub(super) email: String,
    pub(super) lang: Option<String>,
}

pub(super) async fn register_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<RegisterQuery>,
) -> Response {
    let lang = choose_language(query.lang.as_deref(), &headers);
    // Without an address (the portal's login page, a link typed by hand)
    // the form asks for it: registering only ever mails an address that was
    // sent a message, and the mailed link proves it is the reader's.
    let email = if envelope_core::validate_address("email", &query.email).is_ok() {
        query.email
    } else {
        String::new()
    };
    register_page(
        &state,
        StatusCode::OK,
        lang,
        &RegisterForm {
            email,
            ..Default::default()
        },
        BTreeMap::new(),
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RegisterForm {
    email: String,
    language: String,
    first_name: String,
    last_name: String,
    password: Zeroizing<String>,
    password_confirm: Zeroizing<String>,
    phrase: String,
    phrase_enabled: Option<String>,
    /// The optional password hint (`[portal] password_hint = true`).
    hint: Zeroizing<String>,
    #[serde(flatten)]
    questions: QuestionFields,
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
        hint => keep(&form.hint, MAX_HINT),
        question1 => form.questions.question1,
        question2 => form.questions.question2,
        question3 => form.questions.question3,
    };
    render(
        status,
        "register",
        lang,
        context! {
            email => keep(&form.email, 320),
            // Came with an address (the envelope's Register link): it stays
            // as given; else the reader types it.
            email_fixed => envelope_core::validate_address("email", &form.email).is_ok(),
            values,
            errors,
            rules => rule_list(&state.settings.policy, lang, false),
            password_hint => state.settings.portal.password_hint,
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
        } else if value.chars().count() > MAX_NAME {
            errors.insert(name.into(), too_long(MAX_NAME));
        } else if !valid_name(value) {
            errors.insert(name.into(), t("errors.bad_name"));
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
    } else if form.phrase_enabled.is_none() && !phrase.is_empty() {
        // A phrase typed but not enabled is asked about, never dropped
        // unseen nor shown on envelopes unasked.
        errors.insert("phrase".into(), t("forms.phrase_not_enabled"));
    } else if phrase.chars().count() > MAX_PHRASE || !printable(phrase) {
        errors.insert("phrase".into(), too_long(MAX_PHRASE));
    }
    // The hint (when hints are on): short, printable, and never the password.
    let hint = form.hint.trim();
    if state.settings.portal.password_hint && !hint.is_empty() {
        if hint.chars().count() > MAX_HINT || !printable(hint) {
            errors.insert("hint".into(), too_long(MAX_HINT));
        } else if hint_holds(hint, &form.password) {
            errors.insert("hint".into(), t("preferences.hint.holds_password"));
        }
    }
    errors.extend(question_errors(lang, &form.questions));
    errors
}

pub(super) async fn register(
    State(state): State<AppState>,
    peer: ClientAddr,
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
    match register_checked(&state, &client(peer), &form, lang).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// A well-formed registration: limits, then the hashes, then the store and
/// the mail, in the background.
async fn register_checked(
    state: &AppState,
    client: &str,
    form: &RegisterForm,
    lang: &'static str,
) -> Result<Response, Error> {
    let address = form.email.to_ascii_lowercase();
    // Limits first: a refused request costs no Argon2 and counts nothing else.
    if !state
        .store
        .reserve_attempt(&format!("register-client|{client}"), POSTS_PER_CLIENT)
        .await?
    {
        return Ok(rate_limited(lang, POSTS_PER_CLIENT));
    }
    if !state
        .store
        .reserve_attempt(&format!("register|{address}"), REGISTER_PER_ADDRESS)
        .await?
    {
        return Ok(rate_limited(lang, REGISTER_PER_ADDRESS));
    }
    let password_hash = state.passwords.hash(form.password.clone()).await?;
    let answers = hash_answers(state, &form.questions).await?;
    let registration = NewRegistration {
        address: address.clone(),
        first_name: form.first_name.trim().to_string(),
        last_name: form.last_name.trim().to_string(),
        language: lang.to_string(),
        password_hash,
        phrase: Some(form.phrase.trim().to_string())
            .filter(|p| form.phrase_enabled.is_some() && !p.is_empty()),
        answers,
        // Ignored unless hints are on (a forged field stores nothing).
        password_hint: Some(form.hint.trim())
            .filter(|hint| state.settings.portal.password_hint && !hint.is_empty())
            .map(|hint| seal_password_hint(state, &address, hint)),
    };
    // What the address's state decides happens after the answer, so the
    // answer is the same, and as fast, whatever that state.
    let background = state.clone();
    tokio::spawn(async move {
        if let Err(error) = deliver_registration(&background, registration).await {
            tracing::error!(%error, "cannot complete a registration");
        }
    });
    Ok(notice(
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
    ))
}

/// Stores the registration and mails its link; or, when the address has an
/// account already, tells its owner (with a reset link) and stores nothing.
async fn deliver_registration(
    state: &AppState,
    registration: NewRegistration,
) -> Result<(), Error> {
    let address = registration.address.clone();
    let settings = &state.settings;
    // Only addresses that were sent a message can register: the server will
    // not mail strangers on anyone's say-so.
    if !state.store.has_received_mail(&address).await? {
        tracing::info!("registration for an address that has no messages; no mail sent");
        return Ok(());
    }
    if state
        .store
        .account(&address)
        .await?
        .is_some_and(|account| account.confirmed)
    {
        if !state
            .store
            .reserve_attempt(&format!("mail|{address}"), MAIL_PER_ADDRESS)
            .await?
        {
            tracing::info!("an address had its mail limit; no already-registered notice sent");
            return Ok(());
        }
        let (name, lang) = match state.store.profile(&address).await? {
            Some(p) => (p.first_name, language(&p.language)),
            None => (String::new(), "en"),
        };
        let token = state
            .store
            .create_link(&address, LinkPurpose::Reset, settings.reset_link_seconds)
            .await?;
        let link = format!("{}/reset?token={token}", settings.public_url);
        return queue_account_email(state, "already", lang, &address, &name, link, context! {})
            .await;
    }
    let lang = language(&registration.language);
    let token = state
        .store
        .add_pending_registration(&registration, settings.confirm_link_seconds)
        .await?;
    let link = format!("{}/confirm?token={token}", settings.public_url);
    // No name: it is what someone typed, and the address is not confirmed yet.
    queue_account_email(state, "confirm", lang, &address, "", link, context! {}).await
}
