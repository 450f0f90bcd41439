//! Key release: `POST /api/v1/keys/release` (DESIGN.md §4).
//!
//! The envelope's opener sends the message id, the recipient, the password
//! and an ephemeral X25519 public key. If the account may open that message,
//! the content key comes back sealed to the ephemeral key with HPKE
//! (`envelope_core::seal_released_key`, RFC 9180), so it never crosses the
//! wire in the clear, even inside TLS.
//!
//! The page that calls this is opened from disk (`Origin: null`), so the
//! origin proves nothing: every request is judged by what it carries, and
//! limited per account (lockout) and per client address, both in the store.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use tower_http::cors::{AllowOrigin, CorsLayer};
use zeroize::Zeroizing;

use super::AppState;
use crate::Error;

pub fn router() -> Router<AppState> {
    // Envelopes are opened from file://, whose requests say `Origin: null`;
    // CORS is opened for that, on this endpoint only.
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::exact(
            "null".parse().expect("a valid header value"),
        ))
        .allow_methods([Method::POST])
        .allow_headers([header::CONTENT_TYPE]);
    Router::new().route("/api/v1/keys/release", post(release).layer(cors))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseRequest {
    message_id: String,
    recipient: String,
    password: Zeroizing<String>,
    /// The opener's ephemeral X25519 public key, base64 (32 bytes).
    public_key: String,
}

/// A refusal the opener can explain to the recipient.
struct Refusal {
    status: StatusCode,
    kind: &'static str,
    message: String,
    extra: serde_json::Value,
}

impl Refusal {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            kind,
            message: message.into(),
            extra: json!({}),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.kind, "message": self.message });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), self.extra.as_object()) {
            body.extend(extra.clone());
        }
        (self.status, Json(body)).into_response()
    }
}

enum Outcome {
    Released(serde_json::Value),
    Refused(Refusal),
}

async fn release(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(request): Json<ReleaseRequest>,
) -> Result<Response, Error> {
    let client = peer.ip().to_string();
    let (outcome, audit) = decide(&state, &request, &client).await?;
    state
        .store
        .audit(
            Some(&request.recipient),
            Some(&request.message_id),
            &client,
            audit,
        )
        .await?;
    Ok(match outcome {
        Outcome::Released(body) => (StatusCode::OK, Json(body)).into_response(),
        Outcome::Refused(refusal) => refusal.into_response(),
    })
}

/// The checks of DESIGN.md §4, in order; returns the answer and the audit outcome.
async fn decide(
    state: &AppState,
    request: &ReleaseRequest,
    client: &str,
) -> Result<(Outcome, &'static str), Error> {
    let refuse = |status, kind, message: &str| {
        Ok((Outcome::Refused(Refusal::new(status, kind, message)), kind))
    };
    let settings = &state.settings;
    if state
        .store
        .recent_failures_from(client, settings.client_window_seconds)
        .await?
        >= settings.client_failure_limit
    {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many failed attempts from this network. Wait a few minutes and try again.",
        );
    }
    let public_key = match STANDARD.decode(&request.public_key) {
        Ok(key) if key.len() == 32 => key,
        _ => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_request",
                "public_key must be a base64 X25519 public key",
            )
        }
    };
    if request.password.len() > 1024
        || request.recipient.len() > 320
        || request.message_id.len() != 32
    {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_request",
            "a field is too long or malformed",
        );
    }

    let account = state.store.account(&request.recipient).await?;
    if let Some(account) = &account {
        if let Some(until) = account.locked_until {
            let mut refusal = Refusal::new(StatusCode::LOCKED, "locked", "This account is locked after too many wrong passwords. Wait until the time shown, or reset your password.");
            refusal.extra = json!({ "locked_until": until });
            return Ok((Outcome::Refused(refusal), "locked"));
        }
    }
    let known = account.is_some();
    let hash = account.as_ref().map(|a| a.password_hash.clone());
    let right = state
        .passwords
        .verify(request.password.clone(), hash)
        .await?;
    let Some(account) = account.filter(|_| right) else {
        // Unknown account and wrong password look the same (no user enumeration).
        let attempts_left = if known {
            Some(
                state
                    .store
                    .record_failed_login(
                        &request.recipient,
                        settings.lockout_attempts,
                        settings.lockout_seconds,
                    )
                    .await?,
            )
        } else {
            None
        };
        let mut refusal = Refusal::new(
            StatusCode::UNAUTHORIZED,
            "wrong_password",
            "Wrong password.",
        );
        if let Some(left) = attempts_left {
            refusal.extra = json!({ "attempts_left": left });
        }
        return Ok((Outcome::Refused(refusal), "wrong_password"));
    };
    state
        .store
        .record_successful_login(&account.address)
        .await?;
    if !account.confirmed {
        return refuse(
            StatusCode::FORBIDDEN,
            "unconfirmed",
            "Confirm your e-mail address first: follow the link in the confirmation e-mail.",
        );
    }
    if account.disabled {
        return refuse(
            StatusCode::FORBIDDEN,
            "disabled",
            "This account is disabled. Ask the sender for help.",
        );
    }
    if !state
        .store
        .is_recipient(&request.message_id, &account.address)
        .await?
    {
        return refuse(
            StatusCode::FORBIDDEN,
            "not_a_recipient",
            "This message was not sent to this address.",
        );
    }
    let Some(sealed) = state.store.sealed_key(&request.message_id).await? else {
        return refuse(
            StatusCode::GONE,
            "gone",
            "This message has expired or been withdrawn by its sender and can no longer be opened.",
        );
    };
    let key = state
        .master_key
        .open(&request.message_id, &sealed)
        .ok_or_else(|| {
            Error::MasterKey(format!(
                "the key of message {} does not open under this master key",
                request.message_id
            ))
        })?;
    let (enc, ciphertext) =
        envelope_core::seal_released_key(&public_key, &request.message_id, &key)
            .map_err(|e| Error::Unprocessable(e.to_string()))?;
    let body = json!({ "enc": STANDARD.encode(enc), "ciphertext": STANDARD.encode(ciphertext) });
    Ok((Outcome::Released(body), "released"))
}
