//! Key release (server mode): the content key travels from the key server to
//! the opener sealed with HPKE (RFC 9180) to a one-time X25519 key that the
//! opener made for this request, so it never crosses the wire in the clear,
//! even inside TLS, and a recorded response is useless later.
//!
//! Suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, base
//! mode; `info` names the protocol, the message id is the AAD. Both sides use
//! this module, so they cannot disagree on it.

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};

use crate::keys::ContentKey;

/// HPKE `info`: binds a released key to this protocol and version.
pub const HPKE_INFO: &[u8] = b"securedoc v1 key release";

/// HPKE `info` of the answer token that comes with a released key (the
/// recipient's proof, for Reply / Reply all / Forward, that the key server
/// released this message to them). Its own `info`, so a token can never be
/// taken for a key, nor a key for a token.
pub const ANSWER_TOKEN_INFO: &[u8] = b"securedoc v1 answer token";

type PrivateKey = <X25519HkdfSha256 as Kem>::PrivateKey;
type PublicKey = <X25519HkdfSha256 as Kem>::PublicKey;
type EncappedKey = <X25519HkdfSha256 as Kem>::EncappedKey;

/// Why a released key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReleaseError {
    /// A public key, encapsulated key or ciphertext is malformed.
    #[error("malformed key-release data")]
    Malformed,
    /// The sealed key does not open: not for this request or this message.
    #[error("the released key does not open")]
    DoesNotOpen,
}

/// The opener's side of one request: a fresh key pair whose public half goes
/// to the server.
pub struct KeyRequest {
    private: PrivateKey,
    public: PublicKey,
}

impl KeyRequest {
    /// A new one-time key pair.
    pub fn new() -> KeyRequest {
        let (private, public) = X25519HkdfSha256::gen_keypair(&mut rand_core::OsRng);
        KeyRequest { private, public }
    }

    /// The public key to send (32 bytes).
    pub fn public_key(&self) -> Vec<u8> {
        self.public.to_bytes().to_vec()
    }

    /// Opens the server's answer for `message_id`.
    pub fn open(
        &self,
        message_id: &str,
        enc: &[u8],
        ciphertext: &[u8],
    ) -> Result<ContentKey, ReleaseError> {
        let key =
            zeroize::Zeroizing::new(self.open_sealed(HPKE_INFO, message_id, enc, ciphertext)?);
        ContentKey::from_slice(&key).ok_or(ReleaseError::Malformed)
    }

    /// Opens the answer token that came with the key for `message_id`.
    pub fn open_answer_token(
        &self,
        message_id: &str,
        enc: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, ReleaseError> {
        self.open_sealed(ANSWER_TOKEN_INFO, message_id, enc, ciphertext)
    }

    fn open_sealed(
        &self,
        info: &[u8],
        message_id: &str,
        enc: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, ReleaseError> {
        let enc = EncappedKey::from_bytes(enc).map_err(|_| ReleaseError::Malformed)?;
        hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
            &OpModeR::Base,
            &self.private,
            &enc,
            info,
            ciphertext,
            message_id.as_bytes(),
        )
        .map_err(|_| ReleaseError::DoesNotOpen)
    }
}

impl Default for KeyRequest {
    fn default() -> Self {
        KeyRequest::new()
    }
}

/// The server's side: seals `key` for the requester's `public_key`.
/// Returns the encapsulated key and the ciphertext.
pub fn seal_released_key(
    public_key: &[u8],
    message_id: &str,
    key: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), ReleaseError> {
    seal_to(HPKE_INFO, public_key, message_id, key)
}

/// The server's side of the answer token: sealed to the same one-time key
/// as the content key, under its own `info`.
pub fn seal_answer_token(
    public_key: &[u8],
    message_id: &str,
    token: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), ReleaseError> {
    seal_to(ANSWER_TOKEN_INFO, public_key, message_id, token)
}

fn seal_to(
    info: &[u8],
    public_key: &[u8],
    message_id: &str,
    plaintext: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), ReleaseError> {
    let public = PublicKey::from_bytes(public_key).map_err(|_| ReleaseError::Malformed)?;
    let (enc, ciphertext) =
        hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256, _>(
            &OpModeS::Base,
            &public,
            info,
            plaintext,
            message_id.as_bytes(),
            &mut rand_core::OsRng,
        )
        .map_err(|_| ReleaseError::Malformed)?;
    Ok((enc.to_bytes().to_vec(), ciphertext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_released_key_opens_only_for_its_request_and_message() {
        let request = KeyRequest::new();
        let key = [9u8; 32];
        let (enc, ciphertext) = seal_released_key(&request.public_key(), "m1", &key).unwrap();
        assert_eq!(
            request.open("m1", &enc, &ciphertext).unwrap().as_bytes(),
            &key
        );
        assert_eq!(
            request.open("m2", &enc, &ciphertext).unwrap_err(),
            ReleaseError::DoesNotOpen
        );
        assert_eq!(
            KeyRequest::new().open("m1", &enc, &ciphertext).unwrap_err(),
            ReleaseError::DoesNotOpen
        );
        let mut flipped = ciphertext.clone();
        flipped[0] ^= 1;
        assert_eq!(
            request.open("m1", &enc, &flipped).unwrap_err(),
            ReleaseError::DoesNotOpen
        );
        assert_eq!(
            request.open("m1", &enc[..16], &ciphertext).unwrap_err(),
            ReleaseError::Malformed
        );
        assert_eq!(
            seal_released_key(&[1, 2, 3], "m1", &key).unwrap_err(),
            ReleaseError::Malformed
        );
    }

    #[test]
    fn an_answer_token_opens_as_a_token_only() {
        let request = KeyRequest::new();
        let token = b"a token".to_vec();
        let (enc, ciphertext) = seal_answer_token(&request.public_key(), "m1", &token).unwrap();
        assert_eq!(
            request.open_answer_token("m1", &enc, &ciphertext).unwrap(),
            token
        );
        // Not for another message, and never taken for a content key.
        assert_eq!(
            request
                .open_answer_token("m2", &enc, &ciphertext)
                .unwrap_err(),
            ReleaseError::DoesNotOpen
        );
        assert_eq!(
            request.open("m1", &enc, &ciphertext).unwrap_err(),
            ReleaseError::DoesNotOpen
        );
        // Nor a content key for a token.
        let (enc, ciphertext) = seal_released_key(&request.public_key(), "m1", &[9u8; 32]).unwrap();
        assert_eq!(
            request
                .open_answer_token("m1", &enc, &ciphertext)
                .unwrap_err(),
            ReleaseError::DoesNotOpen
        );
    }
}
