//! The portal's one-time passcode (docs/PORTAL.md, "One-time passcode"):
//! a recipient without an account follows the link to a pull message,
//! gives their address, clicks "Send me a code", types the 8 digits from
//! the mail and reads that message.
//!
//! The login's e-mail step leads here only when the address reads the
//! message of `next` by code, which only someone holding the message's
//! random 128-bit id can ask (as the envelope's status call). Codes are
//! made, limited, mailed and checked by `release::passcode`, as the
//! envelope's are. The session a code begins has the scope
//! `passcode:<id>`: it reads that message and its downloads, and every
//! other portal page refuses it ([`limited`]).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use securedoc_templates::{fill, text, Value};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::local_next;
use super::session::{start, PASSCODE};
use crate::http::pages::{choose_language, client, notice, render};
use crate::http::release::{check_code, refusal_sentence, send_code};
use crate::http::{AppState, ClientAddr, Kind};
use crate::Error;

/// The message id of a `next` that is a message's page.
fn message_of(next: &str) -> Option<&str> {
    let id = next.strip_prefix("/portal/m/")?;
    let id = id.split('?').next()?;
    (id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(id)
}

/// What the page shows: `ask` ("Send me a code") or `code` (the field),
/// for `email`, going on to `next`, with a notice or a failure.
#[derive(Serialize)]
struct Step<'a> {
    step: &'static str,
    email: &'a str,
    next: &'a str,
    notice: Option<String>,
    failure: Option<String>,
}

fn page(status: StatusCode, lang: &str, step: Step<'_>) -> Response {
    render(
        status,
        "portal/passcode",
        lang,
        Value::from_serialize(&step),
    )
}

/// From the login's e-mail step: "Send me a code", when `email` reads the
/// message of `next` by code; None otherwise (the password step follows).
pub(super) async fn offer(
    state: &AppState,
    lang: &str,
    email: &str,
    next: &str,
) -> Result<Option<Response>, Error> {
    let Some(id) = message_of(next) else {
        return Ok(None);
    };
    if !state.store.is_passcode_recipient(id, email).await? {
        return Ok(None);
    }
    Ok(Some(page(
        StatusCode::OK,
        lang,
        Step {
            step: "ask",
            email,
            next,
            notice: None,
            failure: None,
        },
    )))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PasscodeForm {
    email: String,
    next: String,
    language: String,
    /// "Send a new code" rather than the first.
    again: String,
    code: Zeroizing<String>,
}

/// What a form of this page names: its language, the address (lower
/// case), the message and where to go after; or, when the address or the
/// message is malformed, the 422 page.
struct Target {
    lang: &'static str,
    address: String,
    id: String,
    next: String,
}

fn target(form: &PasscodeForm, headers: &HeaderMap) -> Result<Target, Box<Response>> {
    let lang = choose_language(Some(&form.language), headers);
    let next = local_next(&form.next);
    let id = message_of(&next).map(str::to_string);
    match (id, envelope_core::validate_address("email", &form.email)) {
        (Some(id), Ok(_)) => Ok(Target {
            lang,
            address: form.email.to_ascii_lowercase(),
            id,
            next,
        }),
        _ => Err(Box::new(notice(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            text(lang, "passcode.title"),
            vec![text(lang, "errors.bad_email")],
        ))),
    }
}

/// `POST /portal/passcode/send`: "Send me a code" (or a new one). The same
/// page follows whatever the address: the code field, saying a code was
/// sent (`release::passcode::send_code` decides whether one really is).
pub(super) async fn send(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<PasscodeForm>,
) -> Result<Response, Error> {
    let (lang, address, id, next) = match target(&form, &headers) {
        Ok(to) => (to.lang, to.address, to.id, to.next),
        Err(page) => return Ok(*page),
    };
    send_code(&state, &id, &address, Some(lang), &client(peer)).await?;
    let key = if form.again.is_empty() {
        "passcode.sent"
    } else {
        "passcode.resent"
    };
    Ok(page(
        StatusCode::OK,
        lang,
        Step {
            step: "code",
            email: &form.email,
            next: &next,
            notice: Some(fill(&text(lang, key), &[("email", address.clone())])),
            failure: None,
        },
    ))
}

/// `POST /portal/passcode`: the code. The right one begins a session for
/// this one message (a new id, whatever cookie came) and opens it.
pub(super) async fn enter(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<PasscodeForm>,
) -> Result<Response, Error> {
    let (lang, address, id, next) = match target(&form, &headers) {
        Ok(to) => (to.lang, to.address, to.id, to.next),
        Err(page) => return Ok(*page),
    };
    let client = client(peer);
    let checked = check_code(&state, &id, &address, &form.code).await;
    let kind = checked.as_ref().err().map(|refusal| refusal.kind());
    // A refusal that says the address is no passcode recipient of this
    // message names nobody: its row keeps neither.
    let named = kind != Some(Kind::BadRequest);
    let outcome = match kind {
        None => "portal_passcode_login",
        Some(kind) => kind.as_str(),
    };
    let audited = state
        .store
        .audit(
            named.then_some(address.as_str()),
            named.then_some(id.as_str()),
            &client,
            outcome,
        )
        .await;
    if let Err(error) = audited {
        tracing::error!(%error, "could not write the audit row of a portal passcode");
    }
    let refusal = match checked {
        Ok(()) => {
            let scope = format!("{PASSCODE}{id}");
            return start(&state, &headers, &address, &client, &scope, &next).await;
        }
        Err(refusal) => refusal,
    };
    let (status, failure) = match refusal.kind() {
        Kind::Gone => (StatusCode::GONE, text(lang, "portal.message.gone")),
        Kind::MessageLocked => (StatusCode::LOCKED, text(lang, "portal.message.locked")),
        Kind::Disabled => (
            StatusCode::FORBIDDEN,
            crate::http::lifecycle::disabled_sentence(&state.settings.accounts, lang, false),
        ),
        // Not a passcode recipient: told apart from "no live code" by nobody.
        Kind::BadRequest => (
            StatusCode::UNAUTHORIZED,
            text(lang, "opener.errors.passcode_expired"),
        ),
        _ => match refusal_sentence(lang, &refusal) {
            Some(sentence) => (StatusCode::UNAUTHORIZED, sentence),
            // The store failed (logged where it did).
            None => (
                refusal.kind().status(),
                fill(
                    &text(lang, "opener.errors.server_internal"),
                    &[("name", state.settings.public_url.clone())],
                ),
            ),
        },
    };
    Ok(page(
        status,
        lang,
        Step {
            step: "code",
            email: &form.email,
            next: &next,
            notice: None,
            failure: Some(failure),
        },
    ))
}

/// 403 for a one-time passcode's session anywhere but its own message.
pub(super) fn limited(headers: &HeaderMap) -> Response {
    let lang = choose_language(None, headers);
    notice(
        StatusCode::FORBIDDEN,
        lang,
        text(lang, "passcode.title"),
        vec![text(lang, "passcode.limited")],
    )
}

#[cfg(test)]
mod tests {
    use super::message_of;

    #[test]
    fn only_a_message_page_names_a_message() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(message_of(&format!("/portal/m/{id}")), Some(id));
        assert_eq!(message_of(&format!("/portal/m/{id}?c=1")), Some(id));
        assert_eq!(message_of("/portal/inbox"), None);
        assert_eq!(message_of(&format!("/portal/m/{id}/message.eml")), None);
        assert_eq!(message_of("/portal/m/0123"), None);
    }
}
