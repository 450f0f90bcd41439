//! Passphrase mode: Argon2id turns the passphrase into a key-encryption key
//! (KEK) that wraps the random content key.
//!
//! The opener checks the parameters *before* running Argon2id: below the floor
//! is a downgrade (someone made the passphrase cheap to guess), above the
//! ceiling is a denial of service (the page would hang or run out of memory).

#[cfg(feature = "passphrase")]
use argon2::{Algorithm, Argon2, Params, Version};
#[cfg(feature = "passphrase")]
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
#[cfg(feature = "passphrase")]
use chacha20poly1305::ChaCha20Poly1305;
use serde::{Deserialize, Serialize};
#[cfg(feature = "passphrase")]
use zeroize::Zeroizing;

use crate::error::{OpenError, SealError};
use crate::header::{decode_hex, encode_hex};
#[cfg(feature = "passphrase")]
use crate::keys::ContentKey;

/// Default memory cost: 64 MiB (RFC 9106's second recommended option).
pub const DEFAULT_M_KIB: u32 = 64 * 1024;
/// Default passes.
pub const DEFAULT_T: u32 = 3;
/// Default lanes. One lane: browsers run Argon2 on one thread anyway.
pub const DEFAULT_P: u32 = 1;

/// The floor: OWASP's minimum for Argon2id (19 MiB, 2 passes).
pub const MIN_M_KIB: u32 = 19 * 1024;
/// The floor for passes.
pub const MIN_T: u32 = 2;
/// The ceiling: 256 MiB of memory, which a phone's browser tab can still allocate.
pub const MAX_M_KIB: u32 = 256 * 1024;
/// The ceiling for passes.
pub const MAX_T: u32 = 10;
/// The ceiling for lanes.
pub const MAX_P: u32 = 4;
/// Bytes of salt.
pub const SALT_LEN: usize = 16;
/// Bytes of the wrapped content key: 32 bytes of key and a 16-byte tag.
pub const WRAPPED_KEY_LEN: usize = 48;

#[cfg(feature = "passphrase")]
const WRAP_AD_PREFIX: &[u8] = b"securedoc v1 passphrase key";

/// Argon2id parameters as they appear in the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    /// Always `"argon2id"`.
    pub alg: String,
    /// Memory in KiB.
    pub m: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
    /// Salt, 16 random bytes, lowercase hex.
    pub salt: String,
}

impl KdfParams {
    /// Parameters with the given costs and salt.
    pub fn new(m_kib: u32, t: u32, p: u32, salt: [u8; SALT_LEN]) -> Result<Self, SealError> {
        let params = KdfParams {
            alg: "argon2id".into(),
            m: m_kib,
            t,
            p,
            salt: encode_hex(&salt),
        };
        params
            .check()
            .map_err(|e| SealError::KdfParams(e.to_string()))?;
        Ok(params)
    }

    /// Checks the parameters against the floor and the ceiling.
    pub fn check(&self) -> Result<(), OpenError> {
        if self.alg != "argon2id" {
            return Err(OpenError::MalformedHeader(format!(
                "unknown KDF '{}'",
                self.alg
            )));
        }
        if decode_hex::<SALT_LEN>(&self.salt).is_none() {
            return Err(OpenError::MalformedHeader(
                "salt must be 32 lowercase hex digits".into(),
            ));
        }
        if self.m < MIN_M_KIB || self.t < MIN_T || self.p < 1 {
            return Err(OpenError::KdfTooWeak(format!(
                "m={} KiB t={} p={}, the minimum is m={MIN_M_KIB} KiB t={MIN_T} p=1",
                self.m, self.t, self.p
            )));
        }
        if self.m > MAX_M_KIB || self.t > MAX_T || self.p > MAX_P {
            return Err(OpenError::KdfTooCostly(format!(
                "m={} KiB t={} p={}, the maximum is m={MAX_M_KIB} KiB t={MAX_T} p={MAX_P}",
                self.m, self.t, self.p
            )));
        }
        // Argon2 needs at least 8 KiB per lane.
        if self.m < 8 * self.p {
            return Err(OpenError::MalformedHeader(
                "m must be at least 8 KiB per lane".into(),
            ));
        }
        Ok(())
    }

    /// Runs Argon2id: the slow step. Call [`check`](Self::check) first.
    #[cfg(feature = "passphrase")]
    pub fn derive_kek(&self, passphrase: &[u8]) -> Result<Kek, OpenError> {
        self.check()?;
        let salt: [u8; SALT_LEN] = decode_hex(&self.salt).expect("checked");
        let params = Params::new(self.m, self.t, self.p, Some(32))
            .map_err(|e| OpenError::MalformedHeader(e.to_string()))?;
        let mut out = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase, &salt, out.as_mut())
            .map_err(|e| OpenError::MalformedHeader(e.to_string()))?;
        Ok(Kek(out))
    }
}

/// A key-encryption key derived from a passphrase.
#[cfg(feature = "passphrase")]
pub struct Kek(Zeroizing<[u8; 32]>);

#[cfg(feature = "passphrase")]
impl Kek {
    /// Wraps the content key. The KEK is unique per envelope (random salt), so a
    /// fixed nonce is safe, as in age's scrypt recipient.
    pub fn wrap(&self, cek: &ContentKey, message_id: &[u8; 16]) -> [u8; WRAPPED_KEY_LEN] {
        let aad = wrap_aad(message_id);
        let out = ChaCha20Poly1305::new(self.0.as_ref().into())
            .encrypt(
                &[0u8; 12].into(),
                Payload {
                    msg: cek.as_bytes(),
                    aad: &aad,
                },
            )
            .expect("in-memory encryption cannot fail");
        out.try_into().expect("32-byte key plus 16-byte tag")
    }

    /// Unwraps the content key; failure means the passphrase is wrong.
    pub fn unwrap(&self, wrapped: &[u8], message_id: &[u8; 16]) -> Result<ContentKey, OpenError> {
        let aad = wrap_aad(message_id);
        let key = ChaCha20Poly1305::new(self.0.as_ref().into())
            .decrypt(
                &[0u8; 12].into(),
                Payload {
                    msg: wrapped,
                    aad: &aad,
                },
            )
            .map_err(|_| OpenError::WrongPassphrase)?;
        let key = Zeroizing::new(key);
        ContentKey::from_slice(&key).ok_or(OpenError::WrongPassphrase)
    }
}

#[cfg(feature = "passphrase")]
fn wrap_aad(message_id: &[u8; 16]) -> Vec<u8> {
    [WRAP_AD_PREFIX, message_id.as_slice()].concat()
}

#[cfg(all(test, feature = "passphrase"))]
mod tests {
    use super::*;

    fn params(m: u32, t: u32, p: u32) -> KdfParams {
        KdfParams {
            alg: "argon2id".into(),
            m,
            t,
            p,
            salt: "00".repeat(SALT_LEN),
        }
    }

    #[test]
    fn floor_and_ceiling_are_enforced_before_any_work() {
        assert_eq!(
            params(MIN_M_KIB - 1, 3, 1).check().unwrap_err().kind(),
            "kdf_too_weak"
        );
        assert_eq!(
            params(MIN_M_KIB, 1, 1).check().unwrap_err().kind(),
            "kdf_too_weak"
        );
        assert_eq!(
            params(MAX_M_KIB + 1, 3, 1).check().unwrap_err().kind(),
            "kdf_too_costly"
        );
        assert_eq!(
            params(MIN_M_KIB, MAX_T + 1, 1).check().unwrap_err().kind(),
            "kdf_too_costly"
        );
        assert_eq!(
            params(MIN_M_KIB, 2, MAX_P + 1).check().unwrap_err().kind(),
            "kdf_too_costly"
        );
        assert!(params(DEFAULT_M_KIB, DEFAULT_T, DEFAULT_P).check().is_ok());
        let mut other = params(MIN_M_KIB, 2, 1);
        other.alg = "scrypt".into();
        assert_eq!(other.check().unwrap_err().kind(), "malformed_header");
    }

    #[test]
    fn wrong_passphrase_does_not_unwrap() {
        let p = params(MIN_M_KIB, MIN_T, 1);
        let cek = ContentKey::from_slice(&[7u8; 32]).unwrap();
        let id = [1u8; 16];
        let wrapped = p.derive_kek(b"correct horse").unwrap().wrap(&cek, &id);
        let good = p
            .derive_kek(b"correct horse")
            .unwrap()
            .unwrap(&wrapped, &id)
            .unwrap();
        assert_eq!(good.as_bytes(), cek.as_bytes());
        let bad = p.derive_kek(b"correct hors").unwrap().unwrap(&wrapped, &id);
        assert_eq!(bad.unwrap_err(), OpenError::WrongPassphrase);
        // The wrapped key is bound to its message id.
        let moved = p
            .derive_kek(b"correct horse")
            .unwrap()
            .unwrap(&wrapped, &[2u8; 16]);
        assert_eq!(moved.unwrap_err(), OpenError::WrongPassphrase);
    }
}
