//! Pull delivery's upload (docs/PROTOCOL.md, "Pull delivery"):
//! `PUT /api/v1/messages/{id}/envelope` with the sender token that
//! registered envelope `{id}`, and the envelope (binary) as the body.
//!
//! The key server keeps it for the recipient's portal instead of the
//! envelope travelling by mail. It is stored only if it is what was
//! registered: this server's, for that recipient, and it decrypts with the
//! registered key, which proves it whole and gives the Inbox its summary
//! (subject, sender, size) without the sender having to say it again.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::put;
use axum::{Json, Router};
use envelope_core::{ContentKey, Envelope, Header, Mode, OpenedMessage};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::sender_controls::owned;
use super::{AppState, Kind, Refusal};
use crate::{MasterKey, NewStoredEnvelope};

pub fn router(max_envelope: usize) -> Router<AppState> {
    Router::new().route(
        "/api/v1/messages/{id}/envelope",
        put(store_envelope).layer(DefaultBodyLimit::max(max_envelope)),
    )
}

/// What the Inbox lists of a stored message, taken from it at upload and
/// sealed under the master key to its entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EntrySummary {
    pub subject: String,
    pub from: String,
    /// The Date header, RFC 3339, if the message has one.
    pub date: Option<String>,
    /// The message's size as sealed, bytes.
    pub size: u64,
    /// Attachments (not counting images shown in the body).
    pub attachments: usize,
}

impl EntrySummary {
    fn aad(owner: &str, entry_id: &str) -> Vec<u8> {
        format!(
            "securedoc mailbox summary v2\n{}\n{entry_id}",
            owner.to_ascii_lowercase()
        )
        .into_bytes()
    }

    /// Sealed for storage, bound to its owner and `entry_id` (an entry
    /// moved to another account in the database does not open): base64.
    pub(crate) fn seal(&self, master_key: &MasterKey, owner: &str, entry_id: &str) -> String {
        use base64::Engine;
        let json = serde_json::to_vec(self).expect("a summary serialises");
        base64::engine::general_purpose::STANDARD
            .encode(master_key.seal_bytes(&Self::aad(owner, entry_id), &json))
    }

    /// What [`seal`](Self::seal) sealed for `owner`'s `entry_id`, if it was.
    pub(crate) fn open(
        master_key: &MasterKey,
        owner: &str,
        entry_id: &str,
        sealed: &str,
    ) -> Option<Self> {
        use base64::Engine;
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .ok()?;
        let json = master_key.open_bytes(&Self::aad(owner, entry_id), &sealed)?;
        serde_json::from_slice(&json).ok()
    }
}

fn refused(why: impl Into<String>) -> Refusal {
    Refusal::new(Kind::BadRequest, why)
}

async fn store_envelope(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), Refusal> {
    // The token first: a stranger learns nothing, not even what the body lacks.
    let (_, envelopes) = owned(&state, &headers, &id).await?;
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Refusal::new(
            Kind::PayloadTooLarge,
            format!(
                "The envelope is larger than this key server keeps: at most {} MB ([portal] max_envelope_mb). Send it attached to the notification instead (push delivery), or ask the key server's administrator to raise the limit.",
                state.pull_max_bytes / (1024 * 1024)
            ),
        ),
        _ => refused(format!("The envelope was not received whole: {}.", rejection.body_text())),
    })?;
    let [envelope] = envelopes.as_slice() else {
        return Err(refused(
            "This id is a sending with several recipients: store each recipient's envelope under its own envelope id (the registration answered them).",
        ));
    };
    if envelope.id != id {
        return Err(refused(
            "Store the envelope under its own envelope id (the registration answered it), not the sending's.",
        ));
    }
    let header = Envelope::parse(&body)
        .map_err(|e| {
            refused(format!(
                "The body is not a securedoc envelope (binary): {e}."
            ))
        })?
        .header()
        .clone();
    if header.id != id {
        return Err(refused(format!(
            "This envelope is {}, not {id}: store each envelope under its own id.",
            header.id
        )));
    }
    if header.mode != Mode::Server
        || header.key_server.as_deref() != Some(state.settings.public_url.as_str())
    {
        return Err(refused(format!(
            "This envelope's key is not held by this key server ({}): only server-mode envelopes registered here can be stored.",
            state.settings.public_url
        )));
    }
    if !header.to.eq_ignore_ascii_case(&envelope.recipient) {
        return Err(refused(format!(
            "This envelope is addressed to {}, but {id} was registered for {}.",
            header.to, envelope.recipient
        )));
    }
    let Some(sealed_key) = state.store.key_for_storing(&id).await? else {
        return Err(Refusal::new(
            Kind::Gone,
            "This message was withdrawn or has expired: its key is gone, so there is nothing to store.",
        ));
    };
    let key = state
        .master_key
        .open(&id, &sealed_key)
        .ok_or_else(|| Refusal::of(Kind::Internal))?;
    // Decrypting tens of megabytes is work for a blocking thread; the
    // plaintext lives only there, long enough to read the summary. It takes
    // its room in the decryption budget the portal's views share.
    let Some(_memory) =
        crate::http::portal::reserve_decryption(&state, body.len() as u64 * 2).await
    else {
        return Err(Refusal::of(Kind::Busy).retry_after(5));
    };
    let verify = body.clone();
    let summary = tokio::task::spawn_blocking(move || summarise(&verify, &key))
        .await
        .map_err(|_| Refusal::of(Kind::Internal))?
        .ok_or_else(|| {
            refused("This envelope does not decrypt with the key registered for it: it was changed, or sealed with another key. Seal the message again.")
        })?;

    let lang = match state.store.receipt_details(&id).await? {
        Some(details) => details.sender_lang,
        None => None,
    };
    let passcode = state
        .store
        .is_passcode_recipient(&id, &envelope.recipient)
        .await?;
    let (portal_url, stored) = keep_for_portal(
        &state,
        (&id, &envelope.recipient, passcode),
        &body,
        &summary,
        lang.as_deref(),
    )
    .await?;
    if !stored {
        return Err(Refusal::new(
            Kind::Conflict,
            "This envelope is stored already.",
        ));
    }
    tracing::info!(envelope = %id, bytes = body.len(), "stored an envelope for pull delivery");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "stored": true,
            "size": body.len(),
            "portal_url": portal_url,
        })),
    ))
}

/// Keeps envelope `id` (binary `bytes`) for `recipient`'s portal Inbox
/// with its `summary`: the upload of `--delivery pull`, and staff's pull
/// messages. First contact by temporary password comes first: the account
/// and its mail, once, before the envelope is stored (a full password queue
/// refuses, to be tried again, rather than storing a message nobody can
/// read); not for a recipient who reads by one-time passcode (no account
/// needed). Gives the portal link, and false when it was stored already.
pub(crate) async fn keep_for_portal(
    state: &AppState,
    (id, recipient, passcode): (&str, &str, bool),
    bytes: &[u8],
    summary: &EntrySummary,
    lang: Option<&str>,
) -> Result<(String, bool), crate::Error> {
    let link = format!("{}/portal/m/{id}", state.settings.public_url);
    if !passcode {
        let lang = securedoc_templates::language(lang.unwrap_or("en"));
        crate::http::portal::issue_temporary_password(state, recipient, &link, lang).await?;
    }
    let entry_id = crate::hex(&crate::random::<16>());
    let stored = state
        .store
        .store_envelope(NewStoredEnvelope {
            message_id: id,
            recipient,
            bytes,
            entry_id: &entry_id,
            summary_sealed: &summary.seal(&state.master_key, recipient, &entry_id),
        })
        .await?;
    Ok((link, stored))
}

/// Decrypts envelope `bytes` (binary) with its content `key` and reads the
/// payload by the envelope's format: its header and the message, or None
/// if it does not parse, decrypt or read. Blocking work (tens of megabytes).
pub(crate) fn decrypt_with_key(bytes: &[u8], key: &[u8]) -> Option<(Header, OpenedMessage)> {
    let envelope = Envelope::parse(bytes).ok()?;
    let key = ContentKey::from_slice(key)?;
    let payload = envelope
        .unlock_with_key(&key)
        .and_then(|cipher| cipher.decrypt(envelope.sealed_payload()))
        .ok()?;
    let header = envelope.header().clone();
    let opened = OpenedMessage::new(header.v, payload).ok()?;
    Some((header, opened))
}

/// Decrypts the envelope with its key and reads what the Inbox shows; None
/// if it does not decrypt or read.
fn summarise(bytes: &[u8], key: &[u8]) -> Option<EntrySummary> {
    let (_, opened) = decrypt_with_key(bytes, key)?;
    let size = opened.eml().len() as u64;
    let view = opened.view().ok()?;
    Some(EntrySummary {
        subject: view.subject,
        from: view.from,
        date: view.date,
        size,
        attachments: view
            .attachments
            .iter()
            .filter(|a| a.content_id.is_none())
            .count(),
    })
}
