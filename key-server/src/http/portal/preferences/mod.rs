//! Preferences (docs/PORTAL.md, "Preferences"): one page of small forms,
//! each saved on its own with the session's token — language, change
//! password, personal security phrase, security questions, the password
//! hint (`[portal] password_hint`) and notification mails.
//!
//! The page is in the account's language (the one its mails use), whatever
//! the browser asks for. Forms that change a secret (the password, the
//! questions, the hint) take the current password, checked as the login
//! checks it: the same limits, and a wrong one counts toward the account's
//! lock. A form with a mistake comes back (422) with the error summary and
//! nothing saved; a saved form sends the browser back to the page, which
//! says what was saved.

mod hint;
mod password;
mod questions;

pub(crate) use hint::open as open_password_hint;
pub(crate) use hint::{holds as hint_holds, seal as seal_password_hint, MAX_HINT};
pub(super) use password::{new_password_problem, replace_password};

use std::collections::BTreeMap;

use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use securedoc_templates::{context, fill, language, languages, security_questions, text};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::login::{check, Checked};
use super::session::{require_form, Live, PortalPage};
use super::{portal_page, see_other};
use crate::http::pages::{busy, client, printable, rate_limited, rule_list, MAX_PHRASE};
use crate::http::{AppState, ClientAddr};
use crate::store::Preferences;
use crate::Error;

const HERE: &str = "/portal/preferences";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(HERE, get(page))
        .route("/portal/preferences/language", post(save_language))
        .route(
            "/portal/preferences/notifications",
            post(save_notifications),
        )
        .route("/portal/preferences/phrase", post(save_phrase))
        .route("/portal/preferences/password", post(password::change))
        .route("/portal/preferences/questions", post(questions::change))
        .route("/portal/preferences/hint", post(hint::change))
}

/// What a form with a mistake gives back besides its errors: what was
/// typed, except secrets (passwords, answers, the hint).
#[derive(Default)]
struct Typed {
    phrase: Option<(String, bool)>,
    questions: Option<[String; 3]>,
}

/// The page, for `prefs`'s account, in its language.
async fn show(
    state: &AppState,
    live: &Live,
    prefs: &Preferences,
    status: StatusCode,
    errors: BTreeMap<String, String>,
    saved: Option<String>,
    typed: Typed,
) -> Result<Response, Error> {
    let lang = language(&prefs.language);
    let mut chosen: Vec<String> = match typed.questions {
        Some(typed) => typed.to_vec(),
        None => state
            .store
            .security_answers(&prefs.address)
            .await?
            .into_iter()
            .map(|a| a.question)
            .collect(),
    };
    // An account made with a first-time password has none yet.
    chosen.resize(3, String::new());
    let (phrase, phrase_enabled) = typed.phrase.unwrap_or_else(|| {
        (
            prefs.phrase.clone().unwrap_or_default(),
            prefs.phrase_enabled,
        )
    });
    Ok(portal_page(
        state,
        live,
        status,
        "portal/preferences",
        lang,
        "preferences",
        context! {
            saved,
            errors,
            first_name => prefs.first_name,
            last_name => prefs.last_name,
            rules => rule_list(&state.settings.policy, lang, true),
            questions => security_questions(lang),
            chosen,
            phrase,
            phrase_enabled,
            notify => prefs.notify_mail,
            hint_enabled => state.settings.portal.password_hint,
            has_hint => prefs.hint_sealed.is_some(),
        },
    ))
}

/// A failed action's page: Busy is the busy page, anything else the error.
fn answer(lang: &str, result: Result<Response, Error>) -> Response {
    match result {
        Ok(response) => response,
        Err(Error::Busy) => busy(lang, 5),
        Err(error) => error.into_response(),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PageQuery {
    saved: String,
}

/// What `?saved=` may say.
const SAVED: &[&str] = &[
    "language",
    "password",
    "phrase",
    "questions",
    "notifications",
    "hint",
    "hint_removed",
];

/// `GET /portal/preferences`.
async fn page(
    State(state): State<AppState>,
    PortalPage { live, lang: _ }: PortalPage,
    Query(query): Query<PageQuery>,
) -> Response {
    let prefs = match state.store.preferences(&live.session.address).await {
        Ok(Some(prefs)) => prefs,
        Ok(None) => return see_other("/portal/login"),
        Err(error) => return error.into_response(),
    };
    let lang = language(&prefs.language);
    let saved = SAVED
        .contains(&query.saved.as_str())
        .then(|| text(lang, &format!("preferences.saved.{}", query.saved)));
    let shown = show(
        &state,
        &live,
        &prefs,
        StatusCode::OK,
        BTreeMap::new(),
        saved,
        Typed::default(),
    )
    .await;
    answer(lang, shown)
}

/// A Preferences form post, its session's token checked: the session, the
/// account's preferences and language, the client and the form's fields
/// (`F`); else the answer (the login page, the refusal).
struct Posted<F> {
    live: Live,
    prefs: Preferences,
    lang: &'static str,
    client: String,
    form: F,
}

/// A form's fields beside its token.
#[derive(Deserialize)]
struct WithToken<F> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: F,
}

impl<F: DeserializeOwned + Send> FromRequest<AppState> for Posted<F> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let Ok(peer) = ClientAddr::from_request_parts(&mut parts, state).await;
        let headers = parts.headers.clone();
        let Form(WithToken { csrf, form }) =
            Form::<WithToken<F>>::from_request(Request::from_parts(parts, body), state)
                .await
                .map_err(IntoResponse::into_response)?;
        let (live, _) = require_form(state, &headers, HERE, &csrf).await?;
        let prefs = match state.store.preferences(&live.session.address).await {
            Ok(Some(prefs)) => prefs,
            Ok(None) => return Err(see_other("/portal/login")),
            Err(error) => return Err(error.into_response()),
        };
        Ok(Posted {
            live,
            lang: language(&prefs.language),
            prefs,
            client: client(peer),
            form,
        })
    }
}

/// The page again with `errors` (422), nothing saved.
async fn refused<F>(
    state: &AppState,
    posted: &Posted<F>,
    errors: BTreeMap<String, String>,
    typed: Typed,
) -> Result<Response, Error> {
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    show(
        state,
        &posted.live,
        &posted.prefs,
        status,
        errors,
        None,
        typed,
    )
    .await
}

/// One error on `field`.
fn error(field: &str, message: String) -> BTreeMap<String, String> {
    BTreeMap::from([(field.to_string(), message)])
}

/// Back to the page, saying what was saved.
fn saved(what: &str) -> Response {
    see_other(&format!("{HERE}?saved={what}"))
}

/// Checks the current password typed in `field` of a form as the login
/// checks it (`login::check`: the per-client limit under key release's
/// key, the account's attempt reserved before Argon2id), so a wrong one
/// counts toward the account's lock wherever it is typed. `None`: the
/// right password; else the answer: the page again with the error on
/// `field` (wrong, or the account is locked), a limit, the busy page.
async fn current_password_refused<F>(
    state: &AppState,
    posted: &Posted<F>,
    field: &str,
    password: &Zeroizing<String>,
    typed: Typed,
) -> Result<Option<Response>, Error> {
    let (lang, address, client) = (posted.lang, &posted.prefs.address, &posted.client);
    let message = if password.is_empty() {
        text(lang, "errors.required")
    } else {
        let password = if password.len() > 1024 {
            Zeroizing::new(String::new())
        } else {
            password.clone()
        };
        match check(state, address, &password, client).await? {
            // The right password: an expired one may still be changed here.
            Checked::Accepted | Checked::Temporary | Checked::Refused(_) => return Ok(None),
            Checked::Failed => wrong_password(state, address, client, lang).await?,
            Checked::Limited(limit) => return Ok(Some(rate_limited(lang, limit))),
            Checked::Busy => return Ok(Some(busy(lang, 5))),
            // Disabling ends sessions; this one ends now.
            Checked::Disabled { .. } => {
                state.store.end_sessions_of(address).await?;
                return Ok(Some(see_other("/portal/login?ended=1")));
            }
        }
    };
    let errors = error(field, message);
    refused(state, posted, errors, typed).await.map(Some)
}

/// A wrong current password: audited; what to say (that the account is
/// locked, once it is).
async fn wrong_password(
    state: &AppState,
    address: &str,
    client: &str,
    lang: &str,
) -> Result<String, Error> {
    state
        .store
        .audit(Some(address), None, client, "preferences_wrong_password")
        .await?;
    let locked = state
        .store
        .account(address)
        .await?
        .is_some_and(|account| account.locked_until.is_some());
    Ok(if locked {
        fill(
            &text(lang, "preferences.current.locked"),
            &[(
                "minutes",
                (state.settings.lockout_seconds / 60).max(1).to_string(),
            )],
        )
    } else {
        text(lang, "preferences.current.wrong")
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LanguageForm {
    language: String,
}

/// `POST /portal/preferences/language`.
async fn save_language(State(state): State<AppState>, posted: Posted<LanguageForm>) -> Response {
    let (code, lang) = (&posted.form.language, posted.lang);
    let result = async {
        if !languages().iter().any(|(known, _)| known == code) {
            let errors = error("language", text(lang, "preferences.language.unknown"));
            return refused(&state, &posted, errors, Typed::default()).await;
        }
        state
            .store
            .set_language(&posted.prefs.address, code)
            .await?;
        Ok(saved("language"))
    };
    answer(lang, result.await)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NotificationsForm {
    notify: Option<String>,
}

/// `POST /portal/preferences/notifications`.
async fn save_notifications(
    State(state): State<AppState>,
    posted: Posted<NotificationsForm>,
) -> Response {
    let result = state
        .store
        .set_notify_mail(&posted.prefs.address, posted.form.notify.is_some())
        .await
        .map(|()| saved("notifications"));
    answer(posted.lang, result)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PhraseForm {
    security_phrase: String,
    phrase_enabled: Option<String>,
}

/// `POST /portal/preferences/phrase`: the phrase and whether envelopes
/// show it. Unlike the registration, a phrase may be kept while not shown.
async fn save_phrase(State(state): State<AppState>, posted: Posted<PhraseForm>) -> Response {
    let (form, lang) = (&posted.form, posted.lang);
    let result = async {
        let phrase = form.security_phrase.trim();
        let enabled = form.phrase_enabled.is_some();
        let mistake = if enabled && phrase.is_empty() {
            Some(text(lang, "errors.phrase_needed"))
        } else if phrase.chars().count() > MAX_PHRASE || !printable(phrase) {
            Some(fill(
                &text(lang, "errors.too_long"),
                &[("max", MAX_PHRASE.to_string())],
            ))
        } else {
            None
        };
        if let Some(message) = mistake {
            let typed = Typed {
                phrase: Some((phrase.chars().take(MAX_PHRASE).collect(), enabled)),
                ..Typed::default()
            };
            let errors = error("security_phrase", message);
            return refused(&state, &posted, errors, typed).await;
        }
        let phrase = Some(phrase).filter(|p| !p.is_empty());
        let address = &posted.prefs.address;
        state.store.set_phrase(address, phrase, enabled).await?;
        state
            .store
            .audit(Some(address), None, &posted.client, "phrase_changed")
            .await?;
        Ok(saved("phrase"))
    };
    answer(lang, result.await)
}
