//! Opening: check the header, get the content key, verify, decrypt.

use crate::error::OpenError;
use crate::format::{header_digest, verify_mac, Envelope};
#[cfg(feature = "passphrase")]
use crate::header::Mode;
use crate::keys::ContentKey;
use crate::stream::PayloadCipher;

impl Envelope<'_> {
    /// Unlocks a passphrase-mode envelope: checks the KDF parameters against the
    /// floor and ceiling *before* running Argon2id, unwraps the content key and
    /// verifies the header MAC.
    #[cfg(feature = "passphrase")]
    pub fn unlock_with_passphrase(&self, passphrase: &[u8]) -> Result<PayloadCipher, OpenError> {
        let kdf = match (&self.header.mode, &self.header.kdf) {
            (Mode::Passphrase, Some(kdf)) => kdf,
            _ => {
                return Err(OpenError::WrongMode {
                    expected: "the key server",
                    given: "a passphrase",
                })
            }
        };
        kdf.check()?;
        if passphrase.is_empty() {
            return Err(OpenError::WrongPassphrase);
        }
        let cek = kdf
            .derive_kek(passphrase)?
            .unwrap(self.key_slot, &self.header.id_bytes())?;
        self.unlock_with_key(&cek)
    }

    /// Unlocks with a content key (from a key server), verifying that the key
    /// and the header belong together.
    pub fn unlock_with_key(&self, cek: &ContentKey) -> Result<PayloadCipher, OpenError> {
        let id = self.header.id_bytes();
        verify_mac(cek, &id, self.authenticated, self.mac)?;
        Ok(PayloadCipher::new(
            cek,
            &id,
            &self.header.nonce_bytes(),
            header_digest(self.header_section),
        ))
    }

    /// The encrypted payload, for [`PayloadCipher::decrypt_chunks`].
    pub fn sealed_payload(&self) -> &[u8] {
        self.payload
    }
}

/// Opens envelope bytes with a passphrase and returns the message bytes.
#[cfg(feature = "passphrase")]
pub fn open_with_passphrase(bytes: &[u8], passphrase: &[u8]) -> Result<Vec<u8>, OpenError> {
    let envelope = Envelope::parse(bytes)?;
    envelope
        .unlock_with_passphrase(passphrase)?
        .decrypt(envelope.payload)
}
