//! "Remember me" (medium-security messages only) as a proof of possession.
//!
//! The opener keeps a non-extractable WebCrypto ECDSA P-256 key in
//! IndexedDB; the server stores its public key. A remembered request is
//! signed over `"securedoc-remember-v1\n" + message_id + "\n" +
//! lower(recipient) + "\n" + public_key` — `public_key` being the request's
//! own ephemeral HPKE key, as sent. Nothing the browser stores can be read
//! and replayed from elsewhere: the private key cannot leave the browser,
//! and a captured request is useless, since only its opener holds the
//! private half of the ephemeral key the released key is sealed to.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use envelope_core::SecurityLevel;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};

use super::{AppState, Kind, Refusal, ReleaseRequest, Remembered};

/// What the signature covers (docs/PROTOCOL.md).
pub fn signed_text(message_id: &str, recipient: &str, public_key: &str) -> String {
    format!(
        "securedoc-remember-v1\n{message_id}\n{}\n{public_key}",
        recipient.to_ascii_lowercase()
    )
}

pub(super) fn not_remembered() -> Refusal {
    Refusal::new(
        Kind::NotRemembered,
        "This computer is not remembered for this address any more. Enter your password.",
    )
}

/// A new `remember_key`: base64 of a raw uncompressed P-256 point (65 bytes).
pub(super) fn parse_public_key(encoded: &str) -> Result<String, Refusal> {
    STANDARD
        .decode(encoded)
        .ok()
        .filter(|raw| raw.len() == 65 && raw[0] == 4)
        .filter(|raw| VerifyingKey::from_sec1_bytes(raw).is_ok())
        .map(|raw| STANDARD.encode(raw))
        .ok_or_else(|| {
            Refusal::new(
                Kind::BadRequest,
                "remember_key must be a base64 raw uncompressed P-256 public key (65 bytes).",
            )
        })
}

/// Whether `remembered` proves this request comes from a browser remembered
/// for its recipient; on a high-security message nothing stands in for the password.
pub(super) async fn check(
    state: &AppState,
    request: &ReleaseRequest,
    remembered: &Remembered,
    security: SecurityLevel,
) -> Result<(), Refusal> {
    if security != SecurityLevel::Medium {
        return Err(Refusal::new(
            Kind::NotRemembered,
            "This message asks for your password every time. Enter your password.",
        ));
    }
    if remembered.id.len() > 64 {
        return Err(not_remembered());
    }
    let Some(key) = state
        .store
        .remembered_key(&remembered.id, &request.recipient)
        .await?
    else {
        return Err(not_remembered());
    };
    let verifying_key = STANDARD
        .decode(&key.public_key)
        .ok()
        .and_then(|raw| VerifyingKey::from_sec1_bytes(&raw).ok())
        .ok_or_else(not_remembered)?;
    let signature = STANDARD
        .decode(&remembered.signature)
        .ok()
        .and_then(|raw| Signature::from_slice(&raw).ok())
        .ok_or_else(not_remembered)?;
    let text = signed_text(&request.message_id, &key.address, &request.public_key);
    verifying_key
        .verify(text.as_bytes(), &signature)
        .map_err(|_| not_remembered())
}
