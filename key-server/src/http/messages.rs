//! Senders register messages: `POST /api/v1/messages`.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{ApiJson, AppState};
use crate::{Error, NewMessage, RecipientStatus};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/messages", post(register))
}

/// The request: the message and its content key. The key server never sees
/// the message body: only what it needs to release the key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    message: NewMessage,
    /// The content key, base64 (32 bytes).
    content_key: String,
}

#[derive(Serialize)]
struct RegisterResponse {
    recipients: Vec<RecipientStatus>,
}

async fn register(
    State(state): State<AppState>,
    // The token is checked before the body is read: a stranger learns
    // nothing from how a body is refused.
    Sender(sender): Sender,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> Result<Json<RegisterResponse>, Error> {
    let key = Zeroizing::new(
        STANDARD
            .decode(&request.content_key)
            .map_err(|_| Error::Unprocessable("content_key must be base64".into()))?,
    );
    if key.len() != 32 {
        return Err(Error::Unprocessable("content_key must be 32 bytes".into()));
    }
    let sealed = state.master_key.seal(&request.message.id, &key);
    let recipients = state
        .store
        .register_message(&sender, &request.message, &sealed)
        .await?;
    Ok(Json(RegisterResponse { recipients }))
}

/// The sender behind `Authorization: Bearer <token>`.
struct Sender(String);

impl FromRequestParts<AppState> for Sender {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(Error::Unauthorized)?;
        state
            .store
            .sender_for_token(token.trim())
            .await?
            .map(Sender)
            .ok_or(Error::Unauthorized)
    }
}
