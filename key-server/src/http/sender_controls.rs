//! The sender's controls after sending (docs/PROTOCOL.md), with the sender
//! token that registered the message (`Authorization: Bearer`):
//!
//! - `GET  /api/v1/messages/{id}`: per recipient, registered?, opened
//!   (first, last, how many times, last client address), replies sent,
//!   locked, withdrawn, expiry;
//! - `POST /api/v1/messages/{id}/lock` and `/unlock`: refuse key release
//!   for now, or again allow it;
//! - `POST /api/v1/messages/{id}/revoke`: delete the keys now (crypto-shredding);
//! - `POST /api/v1/messages/{id}/expire` `{"expires": unix seconds}`:
//!   move the expiry, earlier or later, while the keys exist.
//!
//! `{id}` is a message id (every envelope of one sending, as the
//! registration answered it) or one envelope's id (that recipient only).
//! A sender sees and controls only what its own token registered: anything
//! else — another sender's message, a made-up id — is the same `not_found`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::messages::authenticate;
use super::{ApiJson, AppState, Kind, Refusal};
use crate::{EnvelopeState, Sender};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/messages/{id}", get(status))
        .route("/api/v1/messages/{id}/lock", post(lock))
        .route("/api/v1/messages/{id}/unlock", post(unlock))
        .route("/api/v1/messages/{id}/revoke", post(revoke))
        .route("/api/v1/messages/{id}/expire", post(expire))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpireRequest {
    /// The new expiry, Unix seconds.
    expires: i64,
}

fn not_found() -> Refusal {
    Refusal::new(
        Kind::NotFound,
        "No message with this id was registered with this sender token. Check the id (as `securedoc seal` printed it) and the token.",
    )
}

/// The sender and the envelopes `id` names among its own, or the refusal.
pub(super) async fn owned(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
) -> Result<(Sender, Vec<EnvelopeState>), Refusal> {
    let sender = authenticate(state, headers).await?;
    if id.len() != 32 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(Refusal::new(
            Kind::BadRequest,
            "A message id is 32 lowercase hex digits, as `securedoc seal` printed it.",
        ));
    }
    let envelopes = state.store.sender_envelopes(&sender.id, id).await?;
    if envelopes.is_empty() {
        return Err(not_found());
    }
    Ok((sender, envelopes))
}

async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, Refusal> {
    let (_, envelopes) = owned(&state, &headers, &id).await?;
    Ok(Json(describe(&envelopes)))
}

async fn lock(state: State<AppState>, id: Path<String>, headers: HeaderMap) -> Response {
    by_token(state, id, headers, Control::Lock)
        .await
        .into_response()
}

async fn unlock(state: State<AppState>, id: Path<String>, headers: HeaderMap) -> Response {
    by_token(state, id, headers, Control::Unlock)
        .await
        .into_response()
}

async fn revoke(state: State<AppState>, id: Path<String>, headers: HeaderMap) -> Response {
    by_token(state, id, headers, Control::Revoke)
        .await
        .into_response()
}

async fn expire(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<ApiJson<ExpireRequest>, Refusal>,
) -> Result<Json<Value>, Refusal> {
    // The token first: a stranger learns nothing, not even what the body lacks.
    let owned = owned(&state, &headers, &id).await?;
    let ApiJson(body) = body?;
    control(&state, &id, owned, Control::Expire(body.expires)).await
}

/// A control through the API, for the sender token's own message.
async fn by_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    control: Control,
) -> Result<Json<Value>, Refusal> {
    let owned = owned(&state, &headers, &id).await?;
    self::control(&state, &id, owned, control).await
}

/// `control` of the sender's envelopes that `id` names, in the token's name.
async fn control(
    state: &AppState,
    id: &str,
    (sender, envelopes): (Sender, Vec<EnvelopeState>),
    control: Control,
) -> Result<Json<Value>, Refusal> {
    let by = format!("sender:{}", sender.name);
    match apply(state, &sender.id, &by, id, &envelopes, control).await? {
        Ok(envelopes) => Ok(Json(describe(&envelopes))),
        Err(ControlRefusal::InThePast) => Err(Refusal::new(
            Kind::BadRequest,
            "The new expiry is in the past. To end the message now, revoke it.",
        )),
        Err(ControlRefusal::KeysGone) => Err(Refusal::new(
            Kind::Gone,
            "This message's keys are deleted (it expired or was withdrawn), so its expiry can no longer change. Send it again.",
        )),
        Err(ControlRefusal::AfterRetention(last)) => Err(Refusal::new(
            Kind::BadRequest,
            format!("This key server deletes every message's keys {} days after sending, so this message cannot be opened after {}. Choose an expiry no later than that.", state.settings.retention_seconds / 86_400, super::opened::format_time(last)),
        )
        .with("latest", last)),
    }
}

/// What a sender may do to a message after sending it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// Refuse key release for now.
    Lock,
    /// Allow it again.
    Unlock,
    /// Delete the keys now (crypto-shredding), then the stored envelopes.
    Revoke,
    /// Move the expiry (Unix seconds), earlier or later, while the keys exist.
    Expire(i64),
}

impl Control {
    /// The audit's outcome (`sender_{outcome}`) and the log's verb.
    pub(crate) fn outcome(self) -> &'static str {
        match self {
            Control::Lock => "locked",
            Control::Unlock => "unlocked",
            Control::Revoke => "revoked",
            Control::Expire(_) => "expiry_changed",
        }
    }
}

/// Why an expiry cannot change; each caller words it for its reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ControlRefusal {
    /// The new expiry is not in the future.
    InThePast,
    /// The keys are deleted already.
    KeysGone,
    /// Retention deletes the keys before then: the latest possible expiry.
    AfterRetention(i64),
}

/// The latest expiry `envelopes` may get: retention deletes every key this
/// long after its message was registered, whatever the expiry says, so a
/// later date would be a promise the server does not keep.
pub(crate) fn latest_expiry(state: &AppState, registered: i64) -> i64 {
    registered + state.settings.retention_seconds
}

/// Applies `control` to the envelopes `id` names among `sender_id`'s (as
/// [`owned`] or the portal's Sent item found them), audits each envelope
/// in the name of `by`, and gives their new state.
pub(crate) async fn apply(
    state: &AppState,
    sender_id: &str,
    by: &str,
    id: &str,
    envelopes: &[EnvelopeState],
    control: Control,
) -> Result<Result<Vec<EnvelopeState>, ControlRefusal>, crate::Error> {
    let store = &state.store;
    let n = match control {
        Control::Lock | Control::Unlock => {
            store
                .set_message_locked(sender_id, id, control == Control::Lock)
                .await?
        }
        Control::Revoke => {
            let n = store.revoke_message(sender_id, id).await?;
            // Keys first (above), then the envelopes stored for pull delivery.
            store.delete_keyless_envelopes().await?;
            n
        }
        Control::Expire(expires) => {
            if expires <= store.now() {
                return Ok(Err(ControlRefusal::InThePast));
            }
            if !envelopes.iter().any(|e| e.key_present) {
                return Ok(Err(ControlRefusal::KeysGone));
            }
            let registered = envelopes.iter().map(|e| e.created_at).min().unwrap_or(0);
            let last = latest_expiry(state, registered);
            if expires > last {
                return Ok(Err(ControlRefusal::AfterRetention(last)));
            }
            store.set_message_expiry(sender_id, id, expires).await?
        }
    };
    let outcome = control.outcome();
    tracing::info!(by, id = %id, envelopes = n, "a sender's control: {outcome}");
    let envelopes = store.sender_envelopes(sender_id, id).await?;
    for envelope in &envelopes {
        store
            .audit(
                Some(&envelope.recipient),
                Some(&envelope.id),
                by,
                &format!("sender_{outcome}"),
            )
            .await?;
    }
    Ok(Ok(envelopes))
}

/// The status document: the message id and one entry per envelope.
fn describe(envelopes: &[EnvelopeState]) -> Value {
    let message = envelopes.iter().find_map(|e| e.sending_id.clone());
    let entries: Vec<Value> = envelopes
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "recipient": e.recipient,
                "registered": e.registered,
                "created": e.created_at,
                "expires": e.expires_at,
                "locked": e.locked,
                "revoked": e.revoked_at,
                "key": e.key_present,
                "opened": {
                    "count": e.open_count,
                    "first": e.first_opened_at,
                    "last": e.last_opened_at,
                    "client": e.last_client,
                },
                "replies_sent": e.replies_sent,
            })
        })
        .collect();
    json!({ "message": message, "envelopes": entries })
}
