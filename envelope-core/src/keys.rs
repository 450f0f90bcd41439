//! The content key and the keys derived from it.
//!
//! One random content key (CEK) per message. It never encrypts anything
//! directly: HKDF-SHA256 derives a payload key and a header-MAC key from it, so
//! the same CEK can be released by a key server or wrapped under a passphrase
//! without either use weakening the other.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of the content key in bytes.
pub const CONTENT_KEY_LEN: usize = 32;

/// A message's content key. Zeroed when dropped; never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ContentKey([u8; CONTENT_KEY_LEN]);

impl ContentKey {
    /// A fresh random key from the operating system (or the browser's) CSPRNG.
    pub fn generate() -> ContentKey {
        let mut key = [0u8; CONTENT_KEY_LEN];
        crate::fill_random(&mut key);
        ContentKey(key)
    }

    /// A key from bytes; `None` unless exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<ContentKey> {
        Some(ContentKey(bytes.try_into().ok()?))
    }

    /// The raw key bytes (to hand to a key server or a wrap).
    pub fn as_bytes(&self) -> &[u8; CONTENT_KEY_LEN] {
        &self.0
    }

    pub(crate) fn derive(&self, message_id: &[u8; 16], purpose: &[u8]) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(message_id), &self.0)
            .expand(purpose, out.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        out
    }
}

impl std::fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContentKey(..)")
    }
}

/// HKDF info for the payload key.
pub(crate) const PAYLOAD_KEY_INFO: &[u8] = b"securedoc v1 payload";
/// HKDF info for the header-MAC key.
pub(crate) const HEADER_MAC_INFO: &[u8] = b"securedoc v1 header mac";
