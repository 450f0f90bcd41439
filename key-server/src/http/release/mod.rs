//! Key release: `POST /api/v1/keys/release`, and `POST /api/v1/keys/status`
//! (docs/PROTOCOL.md).
//!
//! The envelope's opener sends the message id, the recipient, the password
//! and an ephemeral X25519 public key. If the account may open that message,
//! the content key comes back sealed to the ephemeral key with HPKE
//! (`envelope_core::seal_released_key`, RFC 9180), so it never crosses the
//! wire in the clear, even inside TLS.
//!
//! The page that calls this is opened from disk (`Origin: null`), so the
//! origin proves nothing: every request is judged by what it carries. The
//! checks are in `decide`, "Remember me" in `remember`; here: the wire
//! types, and the audit row every request leaves, whatever its path.

mod decide;
mod passcode;
mod remember;

pub(crate) use passcode::{check_code, passcode_for, refusal_sentence, send_code};

use axum::extract::State;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use envelope_core::SecurityLevel;
use serde::Deserialize;
use serde_json::json;
use tower_http::cors::{AllowOrigin, CorsLayer};
use zeroize::Zeroizing;

use super::{ApiJson, AppState, ClientAddr, Kind, Refusal};
use crate::KeyState;

pub fn router() -> Router<AppState> {
    // Envelopes are opened from file://, whose requests say `Origin: null`;
    // CORS is opened for that, on these endpoints only.
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::exact(
            "null".parse().expect("a valid header value"),
        ))
        .allow_methods([Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        .expose_headers([header::RETRY_AFTER]);
    Router::new()
        .route("/api/v1/keys/release", post(release).layer(cors.clone()))
        .route("/api/v1/keys/status", post(status).layer(cors.clone()))
        .route("/api/v1/keys/passcode", post(passcode::request).layer(cors))
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
    ApiJson(request): ApiJson<StatusRequest>,
) -> Result<Response, Refusal> {
    if !decide::is_message_id(&request.message_id) || !decide::is_address(&request.recipient) {
        return Err(decide::malformed());
    }
    let Some(registered) = state
        .store
        .recipient_registered(&request.message_id, &request.recipient)
        .await?
    else {
        return Err(decide::not_a_recipient());
    };
    let security = decide::message_security(&state, &request.message_id).await?;
    // A recipient who reads by one-time code: the opener offers "Send me a code".
    let passcode = state
        .store
        .is_passcode_recipient(&request.message_id, &request.recipient)
        .await?;
    Ok(Json(json!({
        "registered": registered,
        "security": security,
        "passcode": passcode,
    }))
    .into_response())
}

/// The request body of key release.
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
    /// "Remember me" was ticked: the browser's new ECDSA P-256 public key,
    /// raw uncompressed, base64 (65 bytes). Medium security only.
    #[serde(default)]
    remember_key: Option<String>,
    /// A remembered browser's proof, instead of the password.
    #[serde(default)]
    remembered: Option<Remembered>,
    /// A one-time passcode mailed to the recipient, instead of the
    /// password (docs/PROTOCOL.md).
    #[serde(default)]
    passcode: Option<Zeroizing<String>>,
}

/// A remembered browser's signature over this request (docs/PROTOCOL.md).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Remembered {
    /// The `remember_id` the server gave when the key was remembered.
    id: String,
    /// ECDSA P-256 / SHA-256, IEEE P1363 `r || s`, base64 (64 bytes).
    signature: String,
}

/// What a request proved, for its audit row: attacker-chosen fields are
/// stored only once they turned out to name a real envelope, or when the
/// request paid a password check for them (and so is limited).
#[derive(Default)]
struct Proven {
    envelope: bool,
}

async fn release(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    body: Result<ApiJson<ReleaseRequest>, Refusal>,
) -> Response {
    let client = client.to_string();
    let request = match body {
        Ok(ApiJson(request)) => request,
        Err(refusal) => {
            // Junk: one aggregated row per client and hour, nothing else.
            audit(&state, None, None, &client, refusal.kind().as_str()).await;
            return refusal.into_response();
        }
    };
    let mut proven = Proven::default();
    let result = match decide::ephemeral_key(&request.public_key) {
        Ok(public_key) => match opening(&state, &request, &client, &mut proven).await {
            Ok(granted) => decide::sealed_answer(&state, &request, &public_key, granted).await,
            Err(refusal) => Err(refusal),
        },
        Err(refusal) => Err(refusal),
    };
    audit_decision(&state, &request, &client, &proven, result.as_ref().err()).await;
    match result {
        Ok(body) => Json(body).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// Decides a request and, when the key may go out, records the opening
/// (and queues its read receipt) first: key release and Open Online alike.
async fn opening(
    state: &AppState,
    request: &ReleaseRequest,
    client: &str,
    proven: &mut Proven,
) -> Result<decide::Granted, Refusal> {
    let granted = decide::decide(state, request, client, proven).await?;
    super::opened::opened(state, &request.message_id, &request.recipient, client).await?;
    Ok(granted)
}

/// The audit row of a decided request: the account and message it named
/// are kept only when it proved it holds that envelope (or paid a password
/// check for them).
async fn audit_decision(
    state: &AppState,
    request: &ReleaseRequest,
    client: &str,
    proven: &Proven,
    refusal: Option<&Refusal>,
) {
    let released = if request.passcode.is_some() {
        "passcode_released"
    } else {
        "released"
    };
    let outcome = refusal.map_or(released, |refusal| refusal.kind().as_str());
    let kind = refusal.map(Refusal::kind);
    let named = proven.envelope
        || kind == Some(Kind::NotARecipient)
        || (kind == Some(Kind::BadRequest)
            && decide::is_message_id(&request.message_id)
            && decide::is_address(&request.recipient)
            && state
                .store
                .is_recipient(&request.message_id, &request.recipient)
                .await
                .unwrap_or(false));
    let (account, message) = if named {
        (
            Some(request.recipient.as_str()),
            Some(request.message_id.as_str()),
        )
    } else {
        (None, None)
    };
    audit(state, account, message, client, outcome).await;
}

/// Open Online's key: the same checks, limits and audit as key release
/// (the server opens the envelope for the recipient, so there is no
/// ephemeral key to seal to and nothing to remember), with the password
/// or a one-time passcode.
pub(crate) async fn open_online_key(
    state: &AppState,
    message_id: &str,
    recipient: &str,
    password: Zeroizing<String>,
    passcode: Option<Zeroizing<String>>,
    client: &str,
) -> Result<Zeroizing<Vec<u8>>, Refusal> {
    let request = ReleaseRequest {
        message_id: message_id.to_string(),
        recipient: recipient.to_string(),
        password,
        public_key: String::new(),
        remember_key: None,
        remembered: None,
        passcode,
    };
    let mut proven = Proven::default();
    let result = opening(state, &request, client, &mut proven).await;
    audit_decision(state, &request, client, &proven, result.as_ref().err()).await;
    result.map(|granted| granted.key)
}

/// The key for an answer from the envelope (`online::answer`): the answer
/// token stands in for the password; the message and account checks are
/// made again, and the use is audited.
pub(crate) async fn answer_key(
    state: &AppState,
    message_id: &str,
    recipient: &str,
    client: &str,
) -> Result<Zeroizing<Vec<u8>>, Refusal> {
    let request = ReleaseRequest {
        message_id: message_id.to_string(),
        recipient: recipient.to_string(),
        password: Zeroizing::default(),
        public_key: String::new(),
        remember_key: None,
        remembered: None,
        passcode: None,
    };
    let result = decide::answer_key(state, &request).await;
    let outcome = match &result {
        Ok(_) => "answer",
        Err(refusal) => refusal.kind().as_str(),
    };
    audit(state, Some(recipient), Some(message_id), client, outcome).await;
    result.map(|granted| granted.key)
}

/// Writes the audit row and counts the outcome. An audit failure is logged,
/// not shown: the answer was decided already.
async fn audit(
    state: &AppState,
    account: Option<&str>,
    message_id: Option<&str>,
    client: &str,
    outcome: &'static str,
) {
    metrics::counter!("securedoc_key_releases_total", "outcome" => outcome).increment(1);
    if let Err(error) = state
        .store
        .audit(account, message_id, client, outcome)
        .await
    {
        tracing::error!(%error, outcome, "could not write the audit row of a key release");
    }
}

/// The sealed key, or why it may not be released: the sender locked the
/// message, withdrew it, or it expired or outlived the retention (the last
/// two: its key is deleted). Every way of opening a message asks this.
pub(crate) fn releasable(key: KeyState) -> Result<String, Refusal> {
    match key {
        KeyState::Ready(sealed) => Ok(sealed),
        KeyState::Locked => Err(Refusal::new(
            Kind::MessageLocked,
            "The sender has locked this message for now: it cannot be opened until they unlock it. Ask the sender if you need it.",
        )),
        KeyState::Withdrawn => Err(Refusal::new(
            Kind::Gone,
            "This message was withdrawn by its sender and can no longer be opened. Ask the sender to send it again if you need it.",
        )
        .with("reason", "withdrawn")),
        KeyState::Gone => Err(Refusal::new(
            Kind::Gone,
            "This message has expired and can no longer be opened. Ask the sender to send it again if you need it.",
        )
        .with("reason", "expired")),
    }
}

/// The level a message was registered with (unknown: high, the strictest).
fn parse_level(stored: Option<&str>) -> SecurityLevel {
    stored
        .and_then(|level| serde_json::from_value(json!(level)).ok())
        .unwrap_or(SecurityLevel::High)
}
