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
    set_locked(state, id, headers, true).await.into_response()
}

async fn unlock(state: State<AppState>, id: Path<String>, headers: HeaderMap) -> Response {
    set_locked(state, id, headers, false).await.into_response()
}

async fn set_locked(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    locked: bool,
) -> Result<Json<Value>, Refusal> {
    let (sender, _) = owned(&state, &headers, &id).await?;
    let n = state
        .store
        .set_message_locked(&sender.id, &id, locked)
        .await?;
    let what = if locked { "locked" } else { "unlocked" };
    tracing::info!(sender = %sender.name, id = %id, envelopes = n, "a sender {what} a message");
    answer(&state, &sender, &id, what).await
}

async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, Refusal> {
    let (sender, _) = owned(&state, &headers, &id).await?;
    let n = state.store.revoke_message(&sender.id, &id).await?;
    // Keys first (above), then the envelopes stored for pull delivery.
    state.store.delete_keyless_envelopes().await?;
    tracing::info!(sender = %sender.name, id = %id, envelopes = n, "a sender withdrew a message: its keys are deleted");
    answer(&state, &sender, &id, "revoked").await
}

async fn expire(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<ApiJson<ExpireRequest>, Refusal>,
) -> Result<Json<Value>, Refusal> {
    // The token first: a stranger learns nothing, not even what the body lacks.
    let (sender, envelopes) = owned(&state, &headers, &id).await?;
    let ApiJson(body) = body?;
    if body.expires <= state.store.now() {
        return Err(Refusal::new(
            Kind::BadRequest,
            "The new expiry is in the past. To end the message now, revoke it.",
        ));
    }
    if !envelopes.iter().any(|e| e.key_present) {
        return Err(Refusal::new(
            Kind::Gone,
            "This message's keys are deleted (it expired or was withdrawn), so its expiry can no longer change. Send it again.",
        ));
    }
    // Retention deletes every key in the end, whatever the expiry says: a
    // later date would be a promise the server does not keep.
    let registered = envelopes.iter().map(|e| e.created_at).min().unwrap_or(0);
    let last = registered + state.settings.retention_seconds;
    if body.expires > last {
        let date = jiff::Timestamp::from_second(last)
            .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        return Err(Refusal::new(
            Kind::BadRequest,
            format!("This key server deletes every message's keys {} days after sending, so this message cannot be opened after {date}. Choose an expiry no later than that.", state.settings.retention_seconds / 86_400),
        )
        .with("latest", last));
    }
    let n = state
        .store
        .set_message_expiry(&sender.id, &id, body.expires)
        .await?;
    tracing::info!(sender = %sender.name, id = %id, envelopes = n, expires = body.expires, "a sender changed a message's expiry");
    answer(&state, &sender, &id, "expiry_changed").await
}

/// After a control: an audit row per envelope, and the new status.
async fn answer(
    state: &AppState,
    sender: &Sender,
    id: &str,
    outcome: &str,
) -> Result<Json<Value>, Refusal> {
    let envelopes = state.store.sender_envelopes(&sender.id, id).await?;
    let by = format!("sender:{}", sender.name);
    for envelope in &envelopes {
        state
            .store
            .audit(
                Some(&envelope.recipient),
                Some(&envelope.id),
                &by,
                &format!("sender_{outcome}"),
            )
            .await?;
    }
    Ok(Json(describe(&envelopes)))
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
