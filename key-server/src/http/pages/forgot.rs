//! `/forgot`: "Forgot password?" mails a reset link to an existing account;
//! with `[portal] password_hint = true`, its "Password hint" button mails
//! the account's password hint instead, if it has one.
//!
//! The page that follows is the same, and comes at once, whether or not the
//! address has an account (or a hint) and whether or not the mail relay
//! works: the lookup and the mail happen after the answer, through the mail
//! queue, under the same limits.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use securedoc_templates::{context, fill, language, text};
use serde::Deserialize;

use super::register::RegisterQuery;
use super::{
    choose_language, client, notice, queue_account_email, rate_limited, render, AppState,
    MAIL_PER_ADDRESS, POSTS_PER_CLIENT,
};
use crate::http::ClientAddr;
use crate::store::LinkPurpose;
use crate::Error;

pub(super) async fn forgot_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<RegisterQuery>,
) -> Response {
    let lang = choose_language(query.lang.as_deref(), &headers);
    let email: String = query.email.chars().take(320).collect();
    render(
        StatusCode::OK,
        "forgot",
        lang,
        context! {
            email,
            errors => BTreeMap::<String, String>::new(),
            hint_enabled => state.settings.portal.password_hint,
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ForgotForm {
    email: String,
    language: String,
    /// `hint`: the "Password hint" button.
    action: String,
}

pub(super) async fn forgot(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Result<Response, Error> {
    let lang = choose_language(Some(&form.language), &headers);
    if envelope_core::validate_address("email", &form.email).is_err() {
        let errors = BTreeMap::from([("email".to_string(), text(lang, "errors.bad_email"))]);
        let email: String = form.email.chars().take(320).collect();
        return Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            "forgot",
            lang,
            context! { email, errors, hint_enabled => state.settings.portal.password_hint },
        ));
    }
    if !state
        .store
        .reserve_attempt(&format!("forgot-client|{}", client(peer)), POSTS_PER_CLIENT)
        .await?
    {
        return Ok(rate_limited(lang, POSTS_PER_CLIENT));
    }
    let background = state.clone();
    let address = form.email.to_ascii_lowercase();
    if form.action == "hint" && state.settings.portal.password_hint {
        tokio::spawn(async move {
            if let Err(error) = mail_password_hint(&background, &address).await {
                tracing::error!(%error, "cannot queue a password hint");
            }
        });
        return Ok(notice(
            StatusCode::OK,
            lang,
            text(lang, "forgot.sent_title"),
            vec![fill(
                &text(lang, "preferences.hint.sent_body"),
                &[("email", form.email.clone())],
            )],
        ));
    }
    tokio::spawn(async move {
        if let Err(error) = mail_reset_link(&background, &address).await {
            tracing::error!(%error, "cannot queue a reset link");
        }
    });
    Ok(notice(
        StatusCode::OK,
        lang,
        text(lang, "forgot.sent_title"),
        vec![fill(
            &text(lang, "forgot.sent_body"),
            &[
                ("email", form.email.clone()),
                (
                    "minutes",
                    (state.settings.reset_link_seconds / 60).to_string(),
                ),
            ],
        )],
    ))
}

/// Whether `address` may be mailed from this page: it has a confirmed,
/// enabled account and is within its mail limit (which this uses up).
async fn may_mail(state: &AppState, address: &str) -> Result<bool, Error> {
    let Some(account) = state.store.account(address).await? else {
        return Ok(false);
    };
    if !account.confirmed || account.disabled {
        return Ok(false);
    }
    let within = state
        .store
        .reserve_attempt(&format!("mail|{address}"), MAIL_PER_ADDRESS)
        .await?;
    if !within {
        tracing::info!("an address had its mail limit; no mail sent from /forgot");
    }
    Ok(within)
}

/// Queues a reset link to `address` if it has a confirmed, enabled
/// account, in the account's language, within the address's mail limit.
async fn mail_reset_link(state: &AppState, address: &str) -> Result<(), Error> {
    if !may_mail(state, address).await? {
        return Ok(());
    }
    let Some(profile) = state.store.profile(address).await? else {
        return Ok(());
    };
    let settings = &state.settings;
    let token = state
        .store
        .create_link(
            &profile.address,
            LinkPurpose::Reset,
            settings.reset_link_seconds,
        )
        .await?;
    let link = format!("{}/reset?token={token}", settings.public_url);
    queue_account_email(
        state,
        "reset",
        language(&profile.language),
        &profile.address,
        &profile.first_name,
        link,
        context! {},
    )
    .await
}

/// Queues `address`'s password hint to it if it has a confirmed, enabled
/// account with a hint, in the account's language, within the address's
/// mail limit (an address without a hint uses none of it).
async fn mail_password_hint(state: &AppState, address: &str) -> Result<(), Error> {
    let Some(prefs) = state.store.preferences(address).await? else {
        return Ok(());
    };
    let Some(sealed) = prefs.hint_sealed.as_deref() else {
        return Ok(());
    };
    let Some(hint) = crate::http::portal::open_password_hint(state, address, sealed) else {
        tracing::error!("a password hint does not open under the master key");
        return Ok(());
    };
    if !may_mail(state, address).await? {
        return Ok(());
    }
    let link = format!("{}/portal/login", state.settings.public_url);
    queue_account_email(
        state,
        "hint",
        language(&prefs.language),
        &prefs.address,
        &prefs.first_name,
        link,
        context! { password => hint.as_str() },
    )
    .await
}
