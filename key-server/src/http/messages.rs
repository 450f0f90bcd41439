//! Senders register messages: `POST /api/v1/messages`.
//!
//! One envelope = one id = one content key = one recipient: a message to
//! three people is three envelopes, registered together. The key server
//! releases each key only to its one recipient, so a co-recipient cannot use
//! their own key to forge an envelope "from" the sender to anyone else.

use axum::extract::{FromRequest, Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{ApiJson, AppState};
use crate::{Error, NewEnvelope, NewMessage, Sender};

/// At most this many envelopes (recipients) per registration.
pub const MAX_ENVELOPES: usize = 500;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/messages", post(register))
}

/// The request body: `{"message": {...}}`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    message: MessageRegistration,
}

/// A message and its envelopes, as a sender registers them. The key server
/// never sees the message body: only what it needs to release each key.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MessageRegistration {
    /// The sender's From address (checked against the token's From domains).
    pub from: String,
    /// Expiry, Unix seconds.
    pub expires: Option<i64>,
    /// The sender's flags, as in the envelope headers.
    pub flags: envelope_core::Flags,
    /// Security level.
    pub security: envelope_core::SecurityLevel,
    /// One per recipient, each with its own id and key.
    pub envelopes: Vec<EnvelopeRegistration>,
    /// The language of the sender's read receipts (`en`, `fr`; English when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_lang: Option<String>,
    /// Every recipient reads with a one-time passcode mailed on request,
    /// without an account (`securedoc seal --security passcode`; the
    /// envelopes say `high`). Left out when false, so older key servers
    /// still take the registrations that do not use it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub passcode: bool,
}

/// One recipient's envelope.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeRegistration {
    /// The envelope header's id: 32 lowercase hex digits, fresh for this envelope.
    pub id: String,
    /// The envelope's one recipient.
    pub recipient: String,
    /// This envelope's content key, base64 (32 bytes).
    pub content_key: String,
}

/// What the sender learns about each envelope's recipient.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct RegisteredEnvelope {
    /// The envelope id.
    pub id: String,
    /// Its recipient (lowercased).
    pub recipient: String,
    /// Whether the recipient has a confirmed account.
    pub registered: bool,
    /// The recipient's personal security phrase, if they enabled it: the
    /// sealer shows it in this envelope.
    pub phrase: Option<String>,
    /// The language the recipient chose for their account (`en`, `fr`, …),
    /// if they have a confirmed one: the sealer writes the envelope in it.
    #[serde(default)]
    pub language: Option<String>,
    /// False when the recipient turned notification mails off (the
    /// portal's Preferences): a sender skips the notification of a pull
    /// message, which waits in the recipient's Inbox. True by default, and
    /// from key servers that predate the field.
    #[serde(default = "notify_by_default")]
    pub notify: bool,
    /// The recipient reads this envelope with a one-time passcode (asked
    /// for by the sender, or `[portal] first_contact = "passcode"` for an
    /// address without an account). False from key servers that predate it.
    #[serde(default)]
    pub passcode: bool,
}

fn notify_by_default() -> bool {
    true
}

#[derive(Serialize)]
struct RegisterResponse {
    /// This sending's id: the sender's handle on every envelope of it
    /// (`GET /api/v1/messages/{message}`).
    message: String,
    envelopes: Vec<RegisteredEnvelope>,
    /// `organization_name` from the config: envelopes name the key server by it.
    organization: Option<String>,
}

impl MessageRegistration {
    /// The shape the key server accepts: 1 to 500 envelopes, each with a
    /// fresh id of its own and one valid recipient, a valid From, no past expiry.
    fn validate(&self, now: i64) -> Result<(), Error> {
        let bad = |why: String| Err(Error::Unprocessable(why));
        envelope_core::validate_address("from", &self.from).map_err(Error::Unprocessable)?;
        if self.envelopes.is_empty() || self.envelopes.len() > MAX_ENVELOPES {
            return bad(format!(
                "a message has 1 to {MAX_ENVELOPES} envelopes (one per recipient)"
            ));
        }
        let mut ids = std::collections::HashSet::new();
        let mut recipients = std::collections::HashSet::new();
        for envelope in &self.envelopes {
            let id = &envelope.id;
            if id.len() != 32 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return bad("an envelope id is 32 lowercase hex digits".into());
            }
            if !ids.insert(id.as_str()) {
                return bad(format!(
                    "two envelopes share the id {id}: every recipient's envelope needs its own id and content key"
                ));
            }
            envelope_core::validate_address("recipient", &envelope.recipient)
                .map_err(Error::Unprocessable)?;
            if !recipients.insert(envelope.recipient.to_ascii_lowercase()) {
                return bad(format!(
                    "{} has two envelopes; a message has one envelope per recipient",
                    envelope.recipient
                ));
            }
        }
        if self.expires.is_some_and(|e| e <= now) {
            return bad("expires is in the past".into());
        }
        if let Some(lang) = &self.sender_lang {
            let known: Vec<&str> = securedoc_templates::languages()
                .into_iter()
                .map(|(code, _)| code)
                .collect();
            if !known.contains(&lang.as_str()) {
                return bad(format!("sender_lang is one of {}", known.join(", ")));
            }
        }
        Ok(())
    }
}

/// The request, read only once the token is known good; an old client's
/// shape (one id and key for all recipients) gets a sentence saying so.
fn parse(body: serde_json::Value) -> Result<MessageRegistration, Error> {
    let shared_key =
        body.get("content_key").is_some() || body["message"].get("recipients").is_some();
    serde_json::from_value::<RegisterRequest>(body)
        .map(|request| request.message)
        .map_err(|e| {
            Error::Unprocessable(if shared_key {
                "this key server registers one envelope per recipient, each with its own id and \
                 content key ({\"message\": {\"from\", \"expires\", \"flags\", \"security\", \
                 \"envelopes\": [{\"id\", \"recipient\", \"content_key\"}]}}); update securedoc"
                    .into()
            } else {
                format!("the message registration is malformed: {e}")
            })
        })
}

/// Authenticates first, then reads the JSON body (its faults answered in the
/// error contract, as every API refusal).
async fn register(State(state): State<AppState>, request: Request) -> Response {
    let sender = match authenticate(&state, request.headers()).await {
        Ok(sender) => sender,
        Err(error) => return error.into_response(),
    };
    match ApiJson::<serde_json::Value>::from_request(request, &state).await {
        Ok(ApiJson(body)) => register_envelopes(&state, &sender, body)
            .await
            .into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

async fn register_envelopes(
    state: &AppState,
    sender: &Sender,
    body: serde_json::Value,
) -> Result<Json<RegisterResponse>, Error> {
    let message = parse(body)?;
    message.validate(state.store.now())?;
    if !sender.may_send_from(&message.from) {
        return Err(Error::Forbidden(format!(
            "the sender token '{}' may register messages only From {}, not {}",
            sender.name,
            sender.from_domains.join(", "),
            message.from
        )));
    }
    let mut envelopes = Vec::with_capacity(message.envelopes.len());
    for envelope in &message.envelopes {
        let key = Zeroizing::new(STANDARD.decode(&envelope.content_key).map_err(|_| {
            Error::Unprocessable(format!(
                "the content key for {} is not base64",
                envelope.recipient
            ))
        })?);
        if key.len() != 32 {
            return Err(Error::Unprocessable(format!(
                "the content key for {} must be 32 bytes",
                envelope.recipient
            )));
        }
        envelopes.push(NewEnvelope {
            id: envelope.id.clone(),
            recipient: envelope.recipient.clone(),
            sealed_key: state.master_key.seal(&envelope.id, &key),
        });
    }
    let shared = NewMessage {
        from: message.from.clone(),
        expires: message.expires,
        flags: message.flags,
        security: message.security,
        sending_id: crate::hex(&crate::random::<16>()),
        sender_lang: message.sender_lang.clone(),
    };
    let passcode = super::release::passcode_for(state, message.passcode, message.security);
    let statuses = state
        .store
        .register_envelopes_for(&sender.id, &shared, &envelopes, passcode)
        .await?;
    tracing::info!(
        sender = %sender.name,
        message = %shared.sending_id,
        envelopes = envelopes.len(),
        "registered a message's envelopes"
    );
    let mut answer = Vec::with_capacity(statuses.len());
    for (envelope, status) in envelopes.into_iter().zip(statuses) {
        let recipient = envelope.recipient.to_ascii_lowercase();
        if status.phrase.is_some() {
            // Any sender token can learn any registered recipient's phrase (a
            // sealer must show it); every such disclosure is on record.
            tracing::info!(
                sender = %sender.name,
                recipient = %recipient,
                message_id = %envelope.id,
                "gave a sender a recipient's security phrase"
            );
            state
                .store
                .audit(
                    Some(&recipient),
                    Some(&envelope.id),
                    &format!("sender:{}", sender.name),
                    "phrase_disclosed",
                )
                .await?;
        }
        answer.push(RegisteredEnvelope {
            id: envelope.id,
            recipient,
            registered: status.registered,
            phrase: status.phrase,
            language: status.language,
            notify: status.notify,
            passcode: status.passcode,
        });
    }
    Ok(Json(RegisterResponse {
        message: shared.sending_id,
        envelopes: answer,
        organization: state.settings.organization_name.clone(),
    }))
}

/// The sender behind `Authorization: Bearer <token>`.
pub(super) async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Sender, Error> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(Error::Unauthorized)?;
    state
        .store
        .sender_for_token(token.trim())
        .await?
        .ok_or(Error::Unauthorized)
}
