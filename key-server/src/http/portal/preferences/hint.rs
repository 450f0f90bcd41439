//! The password hint (`[portal] password_hint = true`, MailGate's): a few
//! words of the owner's, mailed to the address from "Forgot your
//! password?" (`pages/forgot.rs`). Stored sealed under the master key and
//! bound to the address, never in the clear. It must not give the password
//! away: setting one takes the current password, and a hint that holds it
//! is refused; a new password that the hint holds is refused too.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use securedoc_templates::{fill, text};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{answer, current_password_refused, error, refused, saved, Posted, Typed};
use crate::http::pages::{normalise_answer, printable};
use crate::http::AppState;
use crate::Error;

/// The longest hint.
pub(crate) const MAX_HINT: usize = 100;

/// What a sealed hint is bound to: its purpose and the address, so a hint
/// copied to another account's row does not open.
fn bound_to(address: &str) -> String {
    format!("password_hint|{}", address.to_ascii_lowercase())
}

/// `hint` sealed for `address` (base64), as the store keeps it.
pub(crate) fn seal(state: &AppState, address: &str, hint: &str) -> String {
    STANDARD.encode(
        state
            .master_key
            .seal_bytes(bound_to(address).as_bytes(), hint.as_bytes()),
    )
}

/// A sealed hint of `address`, opened; `None` if it does not open (another
/// master key, another address).
pub(crate) fn open(state: &AppState, address: &str, sealed: &str) -> Option<Zeroizing<String>> {
    let bytes = STANDARD.decode(sealed).ok()?;
    let plain = state
        .master_key
        .open_bytes(bound_to(address).as_bytes(), &bytes)?;
    std::str::from_utf8(&plain)
        .ok()
        .map(|hint| Zeroizing::new(hint.to_string()))
}

/// Whether `hint` holds `password`, case and spacing aside.
pub(crate) fn holds(hint: &str, password: &str) -> bool {
    let password = normalise_answer(password);
    !password.is_empty() && normalise_answer(hint).contains(password.as_str())
}

/// Whether `address`'s hint (if any) holds `password`.
pub(super) async fn gives_away(
    state: &AppState,
    address: &str,
    password: &str,
) -> Result<bool, Error> {
    let Some(prefs) = state.store.preferences(address).await? else {
        return Ok(false);
    };
    Ok(prefs
        .hint_sealed
        .and_then(|sealed| open(state, address, &sealed))
        .is_some_and(|hint| holds(&hint, password)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct HintForm {
    hint: Zeroizing<String>,
    hint_password: Zeroizing<String>,
    /// The "Remove my hint" button.
    remove: Option<String>,
}

/// `POST /portal/preferences/hint`: sets the hint (for the current
/// password), or removes it (always possible, even with hints turned off).
pub(super) async fn change(State(state): State<AppState>, posted: Posted<HintForm>) -> Response {
    let (form, lang, client) = (&posted.form, posted.lang, &posted.client);
    let result = async {
        let address = &posted.prefs.address;
        if form.remove.is_some() {
            state.store.set_password_hint(address, None).await?;
            state
                .store
                .audit(Some(address), None, client, "hint_removed")
                .await?;
            return Ok(saved("hint_removed"));
        }
        if !state.settings.portal.password_hint {
            return Ok(StatusCode::NOT_FOUND.into_response());
        }
        let hint = form.hint.trim();
        let mut errors = std::collections::BTreeMap::new();
        if hint.is_empty() {
            errors.insert("hint".to_string(), text(lang, "errors.required"));
        } else if hint.chars().count() > MAX_HINT || !printable(hint) {
            let message = fill(
                &text(lang, "errors.too_long"),
                &[("max", MAX_HINT.to_string())],
            );
            errors.insert("hint".to_string(), message);
        }
        let (field, current) = ("hint_password", &form.hint_password);
        if current.is_empty() {
            errors.insert(field.into(), text(lang, "errors.required"));
        }
        if !errors.is_empty() {
            return refused(&state, &posted, errors, Typed::default()).await;
        }
        let typed = Typed::default();
        if let Some(refusal) =
            current_password_refused(&state, &posted, field, current, typed).await?
        {
            return Ok(refusal);
        }
        // The password is known here (it was just checked): the hint must
        // not hold it.
        if holds(hint, current) {
            let errors = error("hint", text(lang, "preferences.hint.holds_password"));
            return refused(&state, &posted, errors, Typed::default()).await;
        }
        let sealed = seal(&state, address, hint);
        state
            .store
            .set_password_hint(address, Some(&sealed))
            .await?;
        state
            .store
            .audit(Some(address), None, client, "hint_set")
            .await?;
        Ok(saved("hint"))
    };
    answer(lang, result.await)
}

#[cfg(test)]
mod tests {
    use super::holds;

    #[test]
    fn a_hint_holds_a_password_whatever_its_case_and_spacing() {
        assert!(holds("my pw is Correct  Horse", "correct horse"));
        assert!(holds("Harbour#Lantern7", "harbour#lantern7"));
        assert!(!holds("the boat in the harbour", "Harbour#Lantern7"));
        assert!(!holds("anything", ""));
    }
}
