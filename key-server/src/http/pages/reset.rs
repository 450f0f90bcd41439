//! `/reset`: the link of a "Forgot password?" e-mail; security answers and
//! a new password.
//!
//! Each answer check is reserved on the link (and under the client's and the
//! account's limits) before the Argon2 work, so a burst of posts on one link
//! checks at most `reset_attempts` answer sets. Wrong answers and a link that
//! can take no more get the same answer: it tells a guesser nothing.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use securedoc_templates::{context, language, security_questions, text};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::confirm::TokenQuery;
use super::{
    choose_language, client, new_password_error, normalise_answer, notice, rate_limited, render,
    reuses_a_recent_password, rule_list, AppState, POSTS_PER_CLIENT, RESET_PER_ACCOUNT,
};
use crate::http::ClientAddr;
use crate::policy::Person;
use crate::store::LinkPurpose;
use crate::Error;

fn bad_reset_link(lang: &str) -> Response {
    notice(
        StatusCode::GONE,
        lang,
        text(lang, "reset.bad_title"),
        vec![text(lang, "reset.bad_body")],
    )
}

pub(super) async fn reset_form(
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
pub(super) struct ResetForm {
    token: String,
    answer1: Zeroizing<String>,
    answer2: Zeroizing<String>,
    answer3: Zeroizing<String>,
    password: Zeroizing<String>,
    password_confirm: Zeroizing<String>,
}

pub(super) async fn reset(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<ResetForm>,
) -> Result<Response, Error> {
    // Audited under the client address, as key release is.
    let client = client(peer);
    let asked = choose_language(None, &headers);
    // The link's owner whatever its state: a used-up link answers as wrong
    // answers do.
    let Some(address) = state
        .store
        .link_owner(&form.token, LinkPurpose::Reset)
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
    let form_again = |errors: BTreeMap<String, String>| {
        reset_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            &address,
            &form.token,
            errors,
        )
    };
    // Wrong answers, a used-up link: one answer for both, said of the
    // answers together (never pinned on one question it may not be about).
    let refused = || {
        form_again(BTreeMap::from([(
            "answers".to_string(),
            t("reset.refused"),
        )]))
    };

    // Cheap checks first: the new password's mistakes cost no attempt.
    if let Some((field, message)) = new_password_error(
        policy,
        &form.password,
        &form.password_confirm,
        &person,
        lang,
    ) {
        return form_again(BTreeMap::from([(field.to_string(), message)])).await;
    }
    let given = [&form.answer1, &form.answer2, &form.answer3];
    if given.iter().any(|a| a.len() > 1024) {
        return refused().await;
    }

    // Then the limits, each reserved before any Argon2 work.
    let client_key = format!("reset-client|{client}");
    let account_key = format!("reset|{address}");
    if !state
        .store
        .reserve_attempt(&client_key, POSTS_PER_CLIENT)
        .await?
    {
        return Ok(rate_limited(lang, POSTS_PER_CLIENT));
    }
    if !state
        .store
        .reserve_attempt(&account_key, RESET_PER_ACCOUNT)
        .await?
    {
        return Ok(rate_limited(lang, RESET_PER_ACCOUNT));
    }
    if state
        .store
        .reserve_link_attempt(
            &form.token,
            LinkPurpose::Reset,
            state.settings.reset_attempts,
        )
        .await?
        .is_none()
    {
        return refused().await;
    }

    // Every answer is checked (no early exit: the time says nothing about which was wrong).
    let stored = state.store.security_answers(&address).await?;
    let mut all_right = stored.len() == given.len();
    for (answer, given) in stored.iter().zip(given) {
        let right = state
            .passwords
            .verify(normalise_answer(given), Some(answer.answer_hash.clone()))
            .await?;
        all_right &= right;
    }
    if !all_right {
        state
            .store
            .audit(Some(&address), None, &client, "reset_wrong_answers")
            .await?;
        return refused().await;
    }
    // Right answers: the attempt does not count against anyone.
    state.store.release_link_attempt(&form.token).await?;
    state.store.release_attempt(&account_key).await?;
    state.store.release_attempt(&client_key).await?;

    // Not one of the last N passwords, nor one of them with a number changed by one.
    if reuses_a_recent_password(&state, &address, &form.password).await? {
        return form_again(BTreeMap::from([(
            "password".to_string(),
            t("errors.history"),
        )]))
        .await;
    }

    if state
        .store
        .use_link(&form.token, LinkPurpose::Reset)
        .await?
        .is_none()
    {
        return refused().await;
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
