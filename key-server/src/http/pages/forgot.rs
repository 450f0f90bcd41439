//! `/forgot`: "Forgot password?" mails a reset link to an existing account.
//!
//! The page that follows is the same, and comes at once, whether or not the
//! address has an account and whether or not the mail relay works: the
//! lookup and the mail happen after the answer, through the mail queue.

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
    headers: HeaderMap,
    Query(query): Query<RegisterQuery>,
) -> Response {
    let lang = choose_language(query.lang.as_deref(), &headers);
    let email: String = query.email.chars().take(320).collect();
    render(
        StatusCode::OK,
        "forgot",
        lang,
        context! { email, errors => BTreeMap::<String, String>::new() },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ForgotForm {
    email: String,
    language: String,
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
            context! { email, errors },
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

/// Queues a reset link to `address` if it has a confirmed, enabled
/// account, in the account's language, within the address's mail limit.
async fn mail_reset_link(state: &AppState, address: &str) -> Result<(), Error> {
    let Some(account) = state.store.account(address).await? else {
        return Ok(());
    };
    if !account.confirmed || account.disabled {
        return Ok(());
    }
    if !state
        .store
        .reserve_attempt(&format!("mail|{address}"), MAIL_PER_ADDRESS)
        .await?
    {
        tracing::info!("an address had its mail limit; no reset link sent");
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
    )
    .await
}
