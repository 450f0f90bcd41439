//! One-time passcodes (docs/PORTAL.md, "One-time passcode";
//! docs/PROTOCOL.md, `POST /api/v1/keys/passcode`): a recipient without an
//! account asks for a code, the key server mails 8 digits, and the code
//! releases that one message's key once.
//!
//! - Asking (`POST /api/v1/keys/passcode`, and the portal's "Send me a
//!   code") always gets the same 202 answer, after about the same work: a
//!   code is made, MACed and its mail rendered whether or not it is sent, so
//!   neither the answer nor its time says whether the address reads that
//!   message by code. Requests are limited per client (as key release's
//!   are) and codes per address, each reserved in the store before
//!   anything else is done.
//! - Using a code: the key's state first (a locked or gone message does not
//!   use the code up), then one try reserved atomically on the live code
//!   (at most [`MAX_TRIES`] comparisons, whatever the burst), the MAC
//!   compared in constant time, and the code marked used by one
//!   conditional UPDATE (single use, even to two right guesses at once).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use securedoc_templates::{context, fill, render_account_email, text};
use serde::Deserialize;
use serde_json::json;

use super::decide::{is_address, is_message_id};
use super::{audit, AppState, ClientAddr, Kind, Refusal};
use crate::mail::Mailer;
use crate::store::{Limit, PasscodeFor};
use crate::Error;

/// A code works this long, seconds.
pub(crate) const CODE_SECONDS: i64 = 15 * 60;
/// Wrong codes before a code is dead.
pub(crate) const MAX_TRIES: i64 = 5;
/// Codes mailed to one address per hour (every message together).
const PER_ADDRESS: Limit = Limit {
    max: 5,
    window_seconds: 3600,
};
/// What the code's MAC is computed under (a subkey of the master key).
const MAC_PURPOSE: &str = "passcode";

/// Who reads a message being registered with a code: everyone when the
/// sender asked (`--security passcode`), else, with `[portal]
/// first_contact = "passcode"`, those without an account (not for a low
/// security message, which needs no secret at all).
pub(crate) fn passcode_for(
    state: &AppState,
    asked: bool,
    security: envelope_core::SecurityLevel,
) -> PasscodeFor {
    if asked {
        PasscodeFor::Everyone
    } else if state.settings.portal.first_contact == crate::config::FirstContact::Passcode
        && security != envelope_core::SecurityLevel::Low
    {
        PasscodeFor::Unregistered
    } else {
        PasscodeFor::Nobody
    }
}

/// The request body of `POST /api/v1/keys/passcode`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PasscodeRequest {
    message_id: String,
    recipient: String,
    /// The envelope's language, for the mail when the address has no
    /// account whose language says better.
    #[serde(default)]
    lang: Option<String>,
}

/// The one answer to every well-formed request.
fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        Json(json!({
            "status": "accepted",
            "message": "If this message is read with a one-time code, a code is on its way to the recipient's address. It works for 15 minutes.",
        })),
    )
        .into_response()
}

/// `POST /api/v1/keys/passcode`: "Send me a code".
pub(super) async fn request(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    super::ApiJson(request): super::ApiJson<PasscodeRequest>,
) -> Result<Response, Refusal> {
    if !is_message_id(&request.message_id) || !is_address(&request.recipient) {
        return Err(Refusal::new(
            Kind::BadRequest,
            "message_id is 32 hex digits and recipient an e-mail address.",
        ));
    }
    send_code(
        &state,
        &request.message_id.to_ascii_lowercase(),
        &request.recipient,
        request.lang.as_deref(),
        &client.to_string(),
    )
    .await?;
    Ok(accepted())
}

/// Mails a new code for (`message_id`, `address`) if that address reads
/// that message by code and is within the limits; otherwise does the same
/// work and sends nothing. Every request leaves an audit row; its account
/// and message only when they name a real passcode recipient.
pub(crate) async fn send_code(
    state: &AppState,
    message_id: &str,
    address: &str,
    lang: Option<&str>,
    client: &str,
) -> Result<(), Error> {
    let address = address.to_ascii_lowercase();
    // One client's requests, answered or not: as many as key release
    // allows a client (`client_failure_limit` per `client_window_minutes`),
    // counted apart.
    let per_client = Limit {
        max: state.settings.client_failure_limit,
        window_seconds: state.settings.client_window_seconds,
    };
    if !state
        .store
        .reserve_attempt(&format!("passcode|client|{client}"), per_client)
        .await?
    {
        audit(state, None, None, client, "passcode_rate_limited").await;
        return Ok(());
    }
    let real = state
        .store
        .is_passcode_recipient(message_id, &address)
        .await?;
    // The address's own limit, reserved before the code is made or mailed.
    let within = real
        && state
            .store
            .reserve_attempt(&format!("passcode|{address}"), PER_ADDRESS)
            .await?;
    let lang = match state.store.profile(&address).await? {
        Some(profile) if real => securedoc_templates::language(&profile.language),
        _ => securedoc_templates::language(lang.unwrap_or("en")),
    };
    let id = crate::http::online::secret();
    let code = new_code();
    let code_mac = mac(state, &id, message_id, &address, &code);
    let email = render_account_email(
        "passcode",
        lang,
        context! {
            email => address.as_str(),
            name => "",
            link => "",
            password => code.as_str(),
            minutes => CODE_SECONDS / 60,
            hours => 0,
            days => 0,
        },
    )
    .map_err(|e| Error::Mail(format!("cannot render the passcode e-mail: {e}")))?;
    let mail = Mailer::compose_automatic(&state.settings.mail_from, &address, &email)?;
    if !real {
        audit(state, None, None, client, "passcode_request").await;
        return Ok(());
    }
    if !within {
        audit(
            state,
            Some(&address),
            Some(message_id),
            client,
            "passcode_rate_limited",
        )
        .await;
        return Ok(());
    }
    state
        .store
        .create_passcode(&id, message_id, &address, &code_mac, CODE_SECONDS)
        .await?;
    // The mail holds the code in the clear until it is sent, as reset
    // links do; the row keeps only its MAC.
    state
        .store
        .enqueue_mail("passcode", &address, &mail.formatted())
        .await?;
    state.mail_wake.notify_one();
    audit(
        state,
        Some(&address),
        Some(message_id),
        client,
        "passcode_sent",
    )
    .await;
    Ok(())
}

/// 8 random digits, uniformly: 32 random bits, redrawn above the largest
/// multiple of 10^8 (about 2% of draws).
fn new_code() -> String {
    loop {
        let n = u32::from_be_bytes(crate::random());
        if n < 4_200_000_000 {
            return format!("{:08}", n % 100_000_000);
        }
    }
}

/// The MAC a code is stored and compared as: bound to its own row, the
/// message and the address, so a code (or a row) moved elsewhere is wrong.
fn mac(state: &AppState, id: &str, message_id: &str, address: &str, code: &str) -> String {
    state.master_key.mac(
        MAC_PURPOSE,
        &[
            id.as_bytes(),
            message_id.as_bytes(),
            address.as_bytes(),
            code.as_bytes(),
        ],
    )
}

/// The code as typed, without the spaces or dashes a mail reader may add:
/// exactly 8 ASCII digits, or None.
fn normalized(typed: &str) -> Option<String> {
    if typed.len() > 64 {
        return None;
    }
    let digits: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// A code that is not right (with the tries left on it, when known).
pub(crate) fn wrong_passcode(left: Option<i64>) -> Refusal {
    let refusal = Refusal::new(
        Kind::WrongPasscode,
        "Wrong code. Check the 8 digits in the latest mail, or ask for a new code.",
    );
    match left {
        Some(left) => refusal.with("attempts_left", left.max(0)),
        None => refusal,
    }
}

/// No code that can still be used: expired, used, too many wrong tries,
/// replaced by a newer one, or never asked for.
pub(crate) fn passcode_expired() -> Refusal {
    Refusal::new(
        Kind::PasscodeExpired,
        "This code can no longer be used (it expired, was used, or was replaced by a newer one). Ask for a new code.",
    )
}

/// What a refusal of a code says to the recipient, in `lang`: the
/// envelope's own sentences (`[opener.errors]`), for the portal and Open
/// Online too; None for a refusal that is not about the code.
pub(crate) fn refusal_sentence(lang: &str, refusal: &Refusal) -> Option<String> {
    let t = |key: &str| text(lang, &format!("opener.errors.{key}"));
    let left = refusal.field("attempts_left").and_then(|v| v.as_i64());
    Some(match (refusal.kind(), left) {
        (Kind::WrongPasscode, None) => t("passcode_malformed"),
        (Kind::WrongPasscode, Some(0)) | (Kind::PasscodeExpired, _) => t("passcode_expired"),
        (Kind::WrongPasscode, Some(1)) => {
            format!(
                "{} {}",
                t("wrong_passcode"),
                t("passcode_attempts_left_one")
            )
        }
        (Kind::WrongPasscode, Some(n)) => format!(
            "{} {}",
            t("wrong_passcode"),
            fill(&t("passcode_attempts_left_many"), &[("n", n.to_string())])
        ),
        _ => return None,
    })
}

/// Checks `typed` for (`message_id`, `address`) and uses the code up.
/// The caller knows the address is a recipient of the message.
pub(crate) async fn check_code(
    state: &AppState,
    message_id: &str,
    address: &str,
    typed: &str,
) -> Result<(), Refusal> {
    let address = address.to_ascii_lowercase();
    if !state
        .store
        .is_passcode_recipient(message_id, &address)
        .await?
    {
        return Err(Refusal::new(
            Kind::BadRequest,
            "This message does not open with a one-time code: use the password of your account.",
        ));
    }
    // An address an administrator disabled gets no key, by code either
    // (one disabled for inactivity does: the code proves the mailbox now).
    if let Some(account) = state.store.account(&address).await? {
        if account.disabled && !account.disabled_for_inactivity {
            return Err(crate::http::lifecycle::disabled_refusal(
                &state.settings.accounts,
                false,
            ));
        }
    }
    // A message that cannot be opened now does not use a code up.
    super::releasable(state.store.key_state(message_id).await?)?;
    let Some(code) = normalized(typed) else {
        return Err(Refusal::new(
            Kind::WrongPasscode,
            "The code is the 8 digits in the mail we sent you.",
        ));
    };
    let Some(reserved) = state
        .store
        .reserve_passcode_try(message_id, &address, MAX_TRIES)
        .await?
    else {
        return Err(passcode_expired());
    };
    let expected = mac(state, &reserved.id, message_id, &address, &code);
    if !crate::http::online::same_secret(&expected, &reserved.code_mac) {
        return Err(wrong_passcode(Some(MAX_TRIES - reserved.tries)));
    }
    if !state.store.use_passcode(&reserved.id).await? {
        return Err(passcode_expired());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_eight_digits() {
        for _ in 0..200 {
            let code = new_code();
            assert_eq!(code.len(), 8);
            assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        }
    }

    #[test]
    fn a_typed_code_is_read_as_a_person_types_it() {
        assert_eq!(normalized("1234 5678").as_deref(), Some("12345678"));
        assert_eq!(normalized(" 1234-5678\n").as_deref(), Some("12345678"));
        assert_eq!(normalized("1234567"), None);
        assert_eq!(normalized("123456789"), None);
        assert_eq!(normalized("1234567a"), None);
        assert_eq!(normalized("１２３４５６７８"), None, "ASCII digits only");
        assert_eq!(normalized(&"1".repeat(100)), None);
    }
}
