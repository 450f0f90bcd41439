//! `/confirm`: the link of a registration's e-mail opens a page with a
//! button; only its post, with the password chosen on that registration,
//! confirms it.
//!
//! A GET changes nothing, so a mail scanner that prefetches links confirms
//! nothing. The password makes a link confirm only its own registration:
//! someone who registered the owner's address cannot get the owner to
//! confirm it by clicking (the owner does not know that password).

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use securedoc_templates::{context, fill, language, text};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{choose_language, client, notice, rate_limited, render, AppState, POSTS_PER_CLIENT};
use crate::http::ClientAddr;
use crate::Error;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct TokenQuery {
    pub(super) token: String,
    pub(super) lang: Option<String>,
}

fn bad_link(lang: &str) -> Response {
    notice(
        StatusCode::GONE,
        lang,
        text(lang, "confirm.bad_title"),
        vec![text(lang, "confirm.bad_body")],
    )
}

fn confirm_page(
    status: StatusCode,
    lang: &str,
    email: &str,
    token: &str,
    errors: BTreeMap<String, String>,
) -> Response {
    render(status, "confirm", lang, context! { email, token, errors })
}

pub(super) async fn confirm_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Response, Error> {
    let asked = choose_language(query.lang.as_deref(), &headers);
    let Some(pending) = state.store.pending_registration(&query.token).await? else {
        return Ok(bad_link(asked));
    };
    Ok(confirm_page(
        StatusCode::OK,
        language(&pending.language),
        &pending.address,
        &query.token,
        BTreeMap::new(),
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ConfirmForm {
    token: String,
    password: Zeroizing<String>,
}

pub(super) async fn confirm(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, Error> {
    let asked = choose_language(None, &headers);
    let Some(pending) = state.store.pending_registration(&form.token).await? else {
        return Ok(bad_link(asked));
    };
    let lang = language(&pending.language);
    let again = |message: String| {
        confirm_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            &pending.address,
            &form.token,
            BTreeMap::from([("password".to_string(), message)]),
        )
    };
    if form.password.is_empty() {
        return Ok(again(text(lang, "errors.required")));
    }
    if form.password.len() > 1024 {
        return Ok(again(text(lang, "confirm.wrong_password")));
    }
    if !state
        .store
        .reserve_attempt(
            &format!("confirm-client|{}", client(peer)),
            POSTS_PER_CLIENT,
        )
        .await?
    {
        return Ok(rate_limited(lang, POSTS_PER_CLIENT));
    }
    // The check is reserved on the link before the (slow) password check:
    // a burst cannot try more passwords than the limit.
    let Some(pending) = state
        .store
        .reserve_confirm_attempt(&form.token, state.settings.reset_attempts)
        .await?
    else {
        return Ok(bad_link(lang));
    };
    if !state
        .passwords
        .verify(form.password.clone(), Some(pending.password_hash.clone()))
        .await?
    {
        tracing::info!("a confirmation with a password other than the registration's");
        return Ok(again(text(lang, "confirm.wrong_password")));
    }
    let Some(address) = state.store.confirm_registration(&form.token).await? else {
        return Ok(bad_link(lang));
    };
    tracing::info!("an address was confirmed; its account is ready");
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
