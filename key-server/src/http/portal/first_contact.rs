//! First contact (`[portal] first_contact`), for a recipient with no account:
//!
//! - `register` (default): the login page links to the registration form,
//!   as the envelope does (docs/ACCOUNTS.md);
//! - `temporary_password` (the Mimecast way): when the first message for an
//!   address is stored, the key server creates its account with a generated
//!   password and mails it once ("Secure Messaging Password Notification").
//!   Logging in with it gives a session that may only choose its own
//!   password (`/portal/password`), under the policy; then the portal opens.
//!   Until then key release refuses the account too: the mailed password
//!   is for the first login only.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use securedoc_templates::{context, render_account_email};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::preferences::{new_password_problem, replace_password};
use super::session::{csrf_ok, require_any, CHANGE_PASSWORD};
use super::{local_next, portal_page, refused_form, see_other};
use crate::http::pages::{choose_language, client, rule_list};
use crate::http::{AppState, ClientAddr};
use crate::mail::Mailer;
use crate::policy::Person;
use crate::Error;

/// Letters and digits that no font confuses (no 0/O, 1/l/I), and specials
/// every preset accepts.
const LETTERS: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS: &[u8] = b"23456789";
const SPECIALS: &[u8] = b"#%+=?@";

/// A first-time password: 16 characters with every class, drawn until the
/// policy accepts it (a preset may refuse some specials or words; a few
/// draws always do).
fn temporary_password(state: &AppState, address: &str) -> Zeroizing<String> {
    let policy = &state.settings.policy;
    let person = Person {
        email: address,
        first_name: "",
        last_name: "",
    };
    loop {
        let bytes: [u8; 16] = crate::random();
        let pick = |set: &[u8], b: u8| set[usize::from(b) % set.len()] as char;
        let mut password: String = bytes[..13].iter().map(|&b| pick(LETTERS, b)).collect();
        password.push(pick(DIGITS, bytes[13]));
        password.push(pick(SPECIALS, bytes[14]));
        password.push(pick(DIGITS, bytes[15]));
        let specials_allowed = SPECIALS
            .iter()
            .all(|c| !policy.refused_specials.contains(*c as char));
        if specials_allowed && policy.check(&password, &person).is_empty() {
            return Zeroizing::new(password);
        }
    }
}

/// With `first_contact = "temporary_password"`: creates `address`'s account
/// with a first-time password and queues its mail, once (nothing when the
/// address has an account). `link` is where to log in (the message).
pub(crate) async fn issue_temporary_password(
    state: &AppState,
    address: &str,
    link: &str,
    lang: &str,
) -> Result<(), Error> {
    if state.settings.portal.first_contact != crate::config::FirstContact::TemporaryPassword
        || state.store.account(address).await?.is_some()
    {
        return Ok(());
    }
    let password = temporary_password(state, address);
    let hash = state.passwords.hash(password.clone()).await?;
    let email = render_account_email(
        "temporary",
        lang,
        context! {
            email => address,
            name => "",
            link,
            password => password.as_str(),
            days => state.settings.portal.temporary_seconds / 86_400,
            hours => 0,
            minutes => 0,
        },
    )
    .map_err(|e| Error::Mail(format!("cannot render the temporary password e-mail: {e}")))?;
    let message = Mailer::compose_automatic(&state.settings.mail_from, address, &email)?;
    if state
        .store
        .create_temporary_account(address, lang, &hash, &message.formatted())
        .await?
    {
        tracing::info!("created an account with a temporary password for a first message");
        state.mail_wake.notify_one();
    }
    Ok(())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PasswordQuery {
    next: String,
}

fn form_page(
    state: &AppState,
    live: &super::session::Live,
    status: StatusCode,
    lang: &str,
    next: &str,
    errors: BTreeMap<String, String>,
) -> Response {
    portal_page(
        state,
        live,
        status,
        "portal/password",
        lang,
        "password",
        context! {
            next,
            errors,
            rules => rule_list(&state.settings.policy, lang, true),
        },
    )
}

/// `GET /portal/password`: choose your own password (after a temporary one).
pub(super) async fn password_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PasswordQuery>,
) -> Response {
    let next = local_next(&query.next);
    let live = match require_any(&state, &headers, &next).await {
        Ok(live) => live,
        Err(login) => return login,
    };
    if live.session.scope != CHANGE_PASSWORD {
        return see_other(&next);
    }
    let lang = choose_language(None, &headers);
    form_page(&state, &live, StatusCode::OK, lang, &next, BTreeMap::new())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PasswordForm {
    csrf: String,
    next: String,
    password: Zeroizing<String>,
    password_confirm: Zeroizing<String>,
}

/// `POST /portal/password`: the new password, under the policy and its
/// history; every session of the address ends (the temporary password's
/// with it) and a new, full one begins.
pub(super) async fn choose_password(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Result<Response, Error> {
    let lang = choose_language(None, &headers);
    let next = local_next(&form.next);
    let live = match require_any(&state, &headers, &next).await {
        Ok(live) => live,
        Err(login) => return Ok(login),
    };
    if !csrf_ok(&live, &form.csrf) {
        return Ok(refused_form(lang));
    }
    if live.session.scope != CHANGE_PASSWORD {
        return Ok(see_other(&next));
    }
    let address = live.session.address.clone();
    let person = Person {
        email: &address,
        first_name: "",
        last_name: "",
    };
    let again = |field: &str, message: String| {
        form_page(
            &state,
            &live,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            &next,
            BTreeMap::from([(field.to_string(), message)]),
        )
    };
    // The policy, not the temporary password again, nor a recent one.
    if let Some((field, message)) = new_password_problem(
        &state,
        &address,
        &person,
        &form.password,
        &form.password_confirm,
        lang,
    )
    .await?
    {
        return Ok(again(field, message));
    }
    replace_password(
        &state,
        &headers,
        &address,
        &form.password,
        &client(peer),
        "password_chosen",
        &next,
    )
    .await
}
