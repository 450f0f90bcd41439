//! Logging in and out: the e-mail address, then the password (Mimecast's
//! two steps), with "Log in as a different user." and "Forgot your
//! password?".
//!
//! The password is checked exactly as key release checks it, on the same
//! budgets: the per-(client, account) limit under the same key
//! (`release|{client}|{address}`), and the account's own attempts reserved
//! before Argon2 runs, so guesses through the portal, the envelope and Open
//! Online all count toward one lock. What the login form says never tells
//! a stranger anything: an unknown address, a wrong password and a locked
//! account get the same page, status and sentence, after the same Argon2id
//! work (a decoy hash when there is nothing to check). Only the right
//! password learns that the account is unconfirmed, disabled or expired.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use securedoc_templates::{context, fill, text};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::session::{csrf_ok, require_any, start, TokenForm, CHANGE_PASSWORD, FULL};
use super::{local_next, see_other};
use crate::http::pages::{busy, choose_language, client, rate_limited, render};
use crate::http::{AppState, ClientAddr, FromTrustedProxy};
use crate::store::Limit;
use crate::Error;

/// `value` for a query string.
pub(super) fn query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct LoginQuery {
    lang: Option<String>,
    next: String,
    email: String,
    /// Why the last session ended: `timeout=1`, `ended=1`; `out=1` after Log out.
    timeout: Option<String>,
    ended: Option<String>,
    out: Option<String>,
}

struct Step<'a> {
    step: &'static str,
    email: &'a str,
    next: &'a str,
    notice: Option<String>,
    failure: Option<String>,
    errors: BTreeMap<String, String>,
}

impl<'a> Step<'a> {
    /// Step `step` for `email`, with nothing to say yet.
    fn new(step: &'static str, email: &'a str, next: &'a str) -> Step<'a> {
        Step {
            step,
            email,
            next,
            notice: None,
            failure: None,
            errors: BTreeMap::new(),
        }
    }
}

fn page(state: &AppState, status: StatusCode, lang: &str, step: Step<'_>) -> Response {
    render(
        status,
        "portal/login",
        lang,
        context! {
            step => step.step,
            email => step.email,
            next => step.next,
            notice => step.notice,
            failure => step.failure,
            errors => step.errors,
            temporary_passwords => state.settings.portal.first_contact
                == crate::config::FirstContact::TemporaryPassword,
        },
    )
}

/// `GET /portal/login`: the e-mail step, saying why a session ended.
pub(super) async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: ClientAddr,
    proxy: FromTrustedProxy,
    Query(query): Query<LoginQuery>,
) -> Result<Response, Error> {
    let lang = choose_language(query.lang.as_deref(), &headers);
    let next = local_next(&query.next);
    // Staff signed in by the reverse proxy go straight on (`sso`).
    let who = (lang, client(peer), next.as_str());
    let signed_in = super::sso::log_in(
        &state,
        &headers,
        proxy,
        (who.0, &who.1, who.2),
        query.out.is_some(),
    );
    if let Some(session) = signed_in.await {
        return session;
    }
    let minutes = (state.settings.portal.idle_seconds / 60).to_string();
    let notice = if query.timeout.is_some() {
        Some(fill(
            &text(lang, "portal.login.timed_out"),
            &[("minutes", minutes)],
        ))
    } else if query.ended.is_some() {
        Some(text(lang, "portal.login.ended"))
    } else if query.out.is_some() {
        Some(text(lang, "portal.login.logged_out"))
    } else {
        None
    };
    let email: String = query.email.chars().take(320).collect();
    Ok(page(
        &state,
        StatusCode::OK,
        lang,
        Step {
            notice,
            ..Step::new("email", &email, &next)
        },
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct LoginForm {
    email: String,
    password: Zeroizing<String>,
    language: String,
    next: String,
}

fn bad_email(state: &AppState, lang: &str, email: &str, next: &str) -> Response {
    let errors = BTreeMap::from([("email".to_string(), text(lang, "errors.bad_email"))]);
    let email: String = email.chars().take(320).collect();
    page(
        state,
        StatusCode::UNPROCESSABLE_ENTITY,
        lang,
        Step {
            errors,
            ..Step::new("email", &email, next)
        },
    )
}

/// `POST /portal/login`: the e-mail step leads to the password step,
/// whatever the address (no enumeration: nothing is looked up here).
pub(super) async fn email_step(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = choose_language(Some(&form.language), &headers);
    let next = local_next(&form.next);
    if envelope_core::validate_address("email", &form.email).is_err() {
        return bad_email(&state, lang, &form.email, &next);
    }
    // A message read by one-time passcode: "Send me a code" instead.
    match super::passcode::offer(&state, lang, &form.email, &next).await {
        Ok(Some(offer)) => return offer,
        Ok(None) => {}
        Err(error) => return axum::response::IntoResponse::into_response(error),
    }
    page(
        &state,
        StatusCode::OK,
        lang,
        Step::new("password", &form.email, &next),
    )
}

/// What checking a login's password decided.
pub(super) enum Checked {
    /// The right password for an account that may log in.
    Accepted,
    /// The right temporary password: it may only choose its own.
    Temporary,
    /// Unknown address, wrong password or locked: one answer for all three.
    Failed,
    /// The right password, but the account may not log in (unconfirmed,
    /// expired): the owner may be told which.
    Refused(&'static str),
    /// The right password, but the account is disabled (for inactivity,
    /// or not): the owner is told whom to ask.
    Disabled { for_inactivity: bool },
    /// The per-client limit.
    Limited(Limit),
    /// The password queue is full: nothing was checked or counted.
    Busy,
}

/// The login's password check, on key release's budgets (module comment);
/// Preferences checks a current password with it too.
pub(super) async fn check(
    state: &AppState,
    address: &str,
    password: &Zeroizing<String>,
    client: &str,
) -> Result<Checked, Error> {
    let settings = &state.settings;
    let limit = Limit {
        max: settings.client_failure_limit,
        window_seconds: settings.client_window_seconds,
    };
    let per_client = format!("release|{client}|{address}");
    if !state.store.reserve_attempt(&per_client, limit).await? {
        return Ok(Checked::Limited(limit));
    }
    let account = state.store.account(address).await?;
    // The account's attempt, reserved before the (slow) check; a locked
    // account reserves nothing and is checked against a decoy.
    let reserved = match account.as_ref().filter(|a| a.locked_until.is_none()) {
        Some(_) => {
            state
                .store
                .reserve_login(address, settings.lockout_attempts, settings.lockout_seconds)
                .await?
        }
        None => None,
    };
    let hash = account
        .as_ref()
        .filter(|_| reserved.is_some())
        .map(|a| a.password_hash.clone());
    let right = match state.passwords.verify(password.clone(), hash.clone()).await {
        Ok(right) => right && hash.is_some(),
        Err(Error::Busy) => {
            state.store.release_attempt(&per_client).await?;
            if reserved.is_some() {
                state
                    .store
                    .release_login(address, settings.lockout_attempts)
                    .await?;
            }
            return Ok(Checked::Busy);
        }
        Err(error) => return Err(error),
    };
    let Some(account) = account.filter(|_| right) else {
        return Ok(Checked::Failed);
    };
    state.store.record_successful_login(address).await?;
    state.store.release_attempt(&per_client).await?;
    if !account.confirmed {
        return Ok(Checked::Refused("portal.login.unconfirmed"));
    }
    if account.disabled {
        return Ok(Checked::Disabled {
            for_inactivity: account.disabled_for_inactivity,
        });
    }
    let age = state.store.now() - account.password_set_at.unwrap_or(0);
    if account.must_change_password {
        if age > settings.portal.temporary_seconds {
            return Ok(Checked::Refused("portal.login.temporary_expired"));
        }
        return Ok(Checked::Temporary);
    }
    if let Some(days) = settings.policy.expiry_days {
        if age > i64::from(days) * 86_400 {
            return Ok(Checked::Refused("portal.login.expired"));
        }
    }
    Ok(Checked::Accepted)
}

/// `POST /portal/login/password`: checks the password; the right one
/// starts a new session (a new id, whatever cookie came) and goes on to
/// `next`.
pub(super) async fn password_step(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, Error> {
    let lang = choose_language(Some(&form.language), &headers);
    let next = local_next(&form.next);
    if envelope_core::validate_address("email", &form.email).is_err() {
        return Ok(bad_email(&state, lang, &form.email, &next));
    }
    let address = form.email.to_ascii_lowercase();
    let client = client(peer);
    let password = if form.password.len() > 1024 {
        Zeroizing::new(String::new())
    } else {
        form.password.clone()
    };
    let checked = check(&state, &address, &password, &client).await?;
    let outcome = match &checked {
        Checked::Accepted | Checked::Temporary => "portal_login",
        Checked::Failed => "portal_login_failed",
        Checked::Refused(_) | Checked::Disabled { .. } => "portal_login_refused",
        Checked::Limited(_) => "rate_limited",
        Checked::Busy => "busy",
    };
    if let Err(error) = state
        .store
        .audit(Some(&address), None, &client, outcome)
        .await
    {
        tracing::error!(%error, "could not write the audit row of a portal login");
    }
    let failure = |status, key: &str| {
        page(
            &state,
            status,
            lang,
            Step {
                failure: Some(text(lang, key)),
                ..Step::new("password", &form.email, &next)
            },
        )
    };
    let checked_scope = match checked {
        Checked::Accepted => Some(FULL),
        Checked::Temporary => Some(CHANGE_PASSWORD),
        _ => None,
    };
    match checked {
        Checked::Accepted | Checked::Temporary => {}
        Checked::Failed => return Ok(failure(StatusCode::UNAUTHORIZED, "portal.login.failed")),
        Checked::Refused(key) => return Ok(failure(StatusCode::FORBIDDEN, key)),
        Checked::Disabled { for_inactivity } => {
            let sentence = crate::http::lifecycle::disabled_sentence(
                &state.settings.accounts,
                lang,
                for_inactivity,
            );
            return Ok(page(
                &state,
                StatusCode::FORBIDDEN,
                lang,
                Step {
                    failure: Some(sentence),
                    ..Step::new("password", &form.email, &next)
                },
            ));
        }
        Checked::Limited(limit) => return Ok(rate_limited(lang, limit)),
        Checked::Busy => return Ok(busy(lang, 5)),
    }
    // A new session (whatever the browser had ends: one person per
    // browser); one that logged in with a temporary password may only
    // choose its own first.
    match checked_scope {
        Some(scope) if scope == CHANGE_PASSWORD => {
            let next = format!("/portal/password?next={}", query_value(&next));
            start(&state, &headers, &address, &client, scope, &next).await
        }
        _ => start(&state, &headers, &address, &client, FULL, &next).await,
    }
}

/// `POST /portal/logout`: ends the session here and on every replica.
pub(super) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, Error> {
    // Any session may log out (one that may only choose its password, or
    // read one message by passcode, too).
    let lang = choose_language(None, &headers);
    let live = match require_any(&state, &headers, "/portal/inbox").await {
        Ok(live) => live,
        Err(page) => return Ok(page),
    };
    if !csrf_ok(&live, &form.csrf) {
        return Ok(super::refused_form(lang));
    }
    state.store.end_session(&live.id).await?;
    let mut response = see_other(&format!("/portal/login?out=1&lang={lang}"));
    response
        .headers_mut()
        .insert(header::SET_COOKIE, state.settings.portal.removal());
    Ok(response)
}
