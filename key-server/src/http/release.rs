//! Key release: `POST /api/v1/keys/release` (docs/ARCHITECTURE.md §3, docs/PROTOCOL.md).
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
    Router::new()
        .route("/api/v1/keys/release", post(release).layer(cors.clone()))
        .route("/api/v1/keys/status", post(status).layer(cors))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusRequest {
    message_id: String,
    recipient: String,
}

/// `POST /api/v1/keys/status`: may `recipient` open `message_id` once they
/// have an account, and do they have one? The opener shows Register or
/// Open from this, and switches when the recipient comes back from
/// registering. Asking needs the message's random 128-bit id, which only
/// the envelope carries, so this tells strangers nothing.
async fn status(
    State(state): State<AppState>,
    Json(request): Json<StatusRequest>,
) -> Result<Response, Error> {
    if request.message_id.len() != 32 || request.recipient.len() > 320 {
        return Ok(Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_request",
            "a field is too long or malformed",
        )
        .into_response());
    }
    let Some(registered) = state
        .store
        .recipient_registered(&request.message_id, &request.recipient)
        .await?
    else {
        return Ok(Refusal::new(
            StatusCode::NOT_FOUND,
            "not_a_recipient",
            "This message was not sent to this address.",
        )
        .into_response());
    };
    let security = state
        .store
        .message_security(&request.message_id)
        .await?
        .unwrap_or_else(|| "high".into());
    Ok(Json(json!({ "registered": registered, "security": security })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseRequest {
    message_id: String,
    recipient: String,
    /// Needed unless the message is low security, or medium with a
    /// remembered browser.
    #[serde(default)]
    password: Zeroizing<String>,
    /// The opener's ephemeral X25519 public key, base64 (32 bytes).
    public_key: String,
    /// "Remember me on this computer" was ticked (medium security only).
    #[serde(default)]
    remember: bool,
    /// The token a remembered browser keeps (medium security only).
    #[serde(default)]
    remember_token: Option<String>,
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

/// A refusal, audited under its kind.
fn refuse(
    status: StatusCode,
    kind: &'static str,
    message: &str,
) -> Result<(Outcome, &'static str), Error> {
    Ok((Outcome::Refused(Refusal::new(status, kind, message)), kind))
}

/// The checks of docs/ARCHITECTURE.md §3, in order; returns the answer and the audit outcome.
async fn decide(
    state: &AppState,
    request: &ReleaseRequest,
    client: &str,
) -> Result<(Outcome, &'static str), Error> {
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

    let security = state
        .store
        .message_security(&request.message_id)
        .await?
        .unwrap_or_else(|| "high".into());
    if security == "low" {
        // The sender chose no password: the envelope itself is the credential.
        return release_key(state, request, &public_key, None).await;
    }

    let account = state.store.account(&request.recipient).await?;
    if let Some(account) = &account {
        if let Some(until) = account.locked_until {
            let mut refusal = Refusal::new(StatusCode::LOCKED, "locked", "This account is locked after too many wrong passwords. Wait until the time shown, or reset your password.");
            refusal.extra = json!({ "locked_until": until });
            return Ok((Outcome::Refused(refusal), "locked"));
        }
    }
    // A remembered browser stands in for the password, on medium-security
    // messages only; high always asks.
    let remembered = match &request.remember_token {
        Some(token) if security == "medium" && request.password.is_empty() => {
            if account.is_none() || !state.store.is_remembered(token, &request.recipient).await? {
                return refuse(
                    StatusCode::UNAUTHORIZED,
                    "not_remembered",
                    "This computer is no longer remembered. Enter your password.",
                );
            }
            true
        }
        _ => false,
    };
    let account = if remembered {
        account.expect("checked above")
    } else {
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
        account
    };
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
    if let (Some(days), Some(set_at)) = (settings.policy.expiry_days, account.password_set_at) {
        if crate::now() - set_at > i64::from(days) * 86_400 {
            return refuse(
                StatusCode::FORBIDDEN,
                "password_expired",
                &format!("Your password has expired (passwords last {days} days). Use \u{201c}Forgot password?\u{201d} to choose a new one."),
            );
        }
    }
    let remember = (request.remember && security == "medium" && !remembered)
        .then_some(account.address.as_str());
    release_key(state, request, &public_key, remember).await
}

/// For the recipient of the message only: its key, sealed to the opener's
/// ephemeral key; with a new "Remember me" token for `remember`'s browser if
/// asked.
async fn release_key(
    state: &AppState,
    request: &ReleaseRequest,
    public_key: &[u8],
    remember: Option<&str>,
) -> Result<(Outcome, &'static str), Error> {
    if !state
        .store
        .is_recipient(&request.message_id, &request.recipient)
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
    let (enc, ciphertext) = envelope_core::seal_released_key(public_key, &request.message_id, &key)
        .map_err(|e| Error::Unprocessable(e.to_string()))?;
    let mut body =
        json!({ "enc": STANDARD.encode(enc), "ciphertext": STANDARD.encode(ciphertext) });
    if let Some(address) = remember {
        let token = state
            .store
            .remember_browser(address, state.settings.remember_seconds)
            .await?;
        body["remember_token"] = json!(token);
    }
    Ok((Outcome::Released(body), "released"))
}
