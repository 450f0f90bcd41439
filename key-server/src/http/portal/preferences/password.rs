//! Change password, and what every new password of the portal goes
//! through (Preferences here, "Choose your password" after a first-time
//! password in `first_contact`): the policy and its confirmation, not the
//! current password nor a recent one, not given away by the password hint;
//! then the new hash, every session of the address ended (the store's
//! `set_password`), and a new session for this browser.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use securedoc_templates::text;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{answer, current_password_refused, error, refused, Posted, Typed};
use crate::http::pages::{new_password_error, reuses_a_recent_password};
use crate::http::portal::session::{start, FULL};
use crate::http::AppState;
use crate::policy::Person;
use crate::Error;

/// What is wrong with `password` (and its confirmation) as `address`'s
/// new password, in `lang`: the field to mark and what to say. The cheap
/// checks come first; then Argon2id against the current password and the
/// history, and the hint.
pub(in crate::http::portal) async fn new_password_problem(
    state: &AppState,
    address: &str,
    person: &Person<'_>,
    password: &Zeroizing<String>,
    confirm: &str,
    lang: &str,
) -> Result<Option<(&'static str, String)>, Error> {
    if let Some(problem) =
        new_password_error(&state.settings.policy, password, confirm, person, lang)
    {
        return Ok(Some(problem));
    }
    // Not the current password again (a policy may keep no history), nor
    // a recent one.
    let current = state.store.account(address).await?;
    let same = match current {
        Some(account) => {
            state
                .passwords
                .verify(password.clone(), Some(account.password_hash))
                .await?
        }
        None => false,
    };
    if same || reuses_a_recent_password(state, address, password).await? {
        return Ok(Some(("password", text(lang, "errors.history"))));
    }
    if super::hint::gives_away(state, address, password).await? {
        return Ok(Some((
            "password",
            text(lang, "preferences.password.in_hint"),
        )));
    }
    Ok(None)
}

/// Sets `address`'s new password (checked by [`new_password_problem`]):
/// every session of the address ends, as do its reset links and
/// remembered browsers; the change is audited as `outcome`; this browser
/// gets a new, full session and goes on to `next`.
pub(in crate::http::portal) async fn replace_password(
    state: &AppState,
    headers: &HeaderMap,
    address: &str,
    password: &Zeroizing<String>,
    client: &str,
    outcome: &str,
    next: &str,
) -> Result<Response, Error> {
    let hash = state.passwords.hash(password.clone()).await?;
    state.store.set_password(address, &hash).await?;
    state
        .store
        .audit(Some(address), None, client, outcome)
        .await?;
    start(state, headers, address, client, FULL, next).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PasswordForm {
    current_password: Zeroizing<String>,
    password: Zeroizing<String>,
    password_confirm: Zeroizing<String>,
}

/// `POST /portal/preferences/password`.
pub(super) async fn change(
    State(state): State<AppState>,
    headers: HeaderMap,
    posted: Posted<PasswordForm>,
) -> Response {
    let (form, prefs, lang) = (&posted.form, &posted.prefs, posted.lang);
    let result = async {
        let address = &prefs.address;
        let person = Person {
            email: address,
            first_name: &prefs.first_name,
            last_name: &prefs.last_name,
        };
        let again = |field: &str, message: String| {
            refused(&state, &posted, error(field, message), Typed::default())
        };
        let (new, confirm) = (&form.password, form.password_confirm.as_str());
        // Cheap checks first: the new password's mistakes cost no attempt.
        let policy = &state.settings.policy;
        if let Some((field, message)) = new_password_error(policy, new, confirm, &person, lang) {
            return again(field, message).await;
        }
        let current = &form.current_password;
        let field = "current_password";
        let typed = Typed::default();
        if let Some(refusal) =
            current_password_refused(&state, &posted, field, current, typed).await?
        {
            return Ok(refusal);
        }
        if let Some((field, message)) =
            new_password_problem(&state, address, &person, new, confirm, lang).await?
        {
            return again(field, message).await;
        }
        let next = "/portal/preferences?saved=password";
        let outcome = "password_changed";
        let client = &posted.client;
        replace_password(&state, &headers, address, new, client, outcome, next).await
    };
    answer(lang, result.await)
}
