//! Sealing: header, content key, payload, in the order an envelope is built.
//!
//! [`Sealer`] exposes the steps so a caller with threads can run the slow
//! Argon2id derivation beside the payload encryption (the CEK is random, so the
//! payload does not wait for the passphrase); [`seal_with_passphrase`] does it
//! all on one thread.

use crate::error::SealError;
use crate::format::{compute_mac, header_digest, header_section};
use crate::header::{validate_address, Flags, Header, Mode, SecurityLevel, NONCE_PREFIX_LEN};
use crate::kdf::{KdfParams, SALT_LEN, WRAPPED_KEY_LEN};
use crate::keys::ContentKey;
use crate::stream::PayloadCipher;
use crate::{fill_random, FORMAT_VERSION};

/// What the sender decides about an envelope; the rest of the header is random
/// or derived.
#[derive(Debug, Clone)]
pub struct EnvelopeInfo {
    /// Sender address.
    pub from: String,
    /// Recipient address (one envelope per recipient).
    pub to: String,
    /// Sealing time, Unix seconds.
    pub created: i64,
    /// Expiry, Unix seconds.
    pub expires: Option<i64>,
    /// The sender's flags.
    pub flags: Flags,
}

impl EnvelopeInfo {
    /// A passphrase-mode header with a fresh id, nonce and salt.
    pub fn passphrase_header(&self, m_kib: u32, t: u32, p: u32) -> Result<Header, SealError> {
        let mut salt = [0u8; SALT_LEN];
        fill_random(&mut salt);
        let kdf = KdfParams::new(m_kib, t, p, salt)?;
        self.header(Mode::Passphrase, Some(kdf), None)
    }

    fn header(&self, mode: Mode, kdf: Option<KdfParams>, key_server: Option<String>) -> Result<Header, SealError> {
        validate_address("sender", &self.from).map_err(SealError::Header)?;
        validate_address("recipient", &self.to).map_err(SealError::Header)?;
        let mut id = [0u8; 16];
        let mut nonce = [0u8; NONCE_PREFIX_LEN];
        fill_random(&mut id);
        fill_random(&mut nonce);
        let header = Header {
            v: FORMAT_VERSION,
            id: crate::header::encode_hex(&id),
            mode,
            key_server,
            kdf,
            nonce: crate::header::encode_hex(&nonce),
            from: self.from.clone(),
            to: self.to.clone(),
            created: self.created,
            expires: self.expires,
            flags: self.flags,
            security: SecurityLevel::High,
            phrase: None,
        };
        header.validate().map_err(SealError::Header)?;
        Ok(header)
    }
}

/// One envelope being sealed.
pub struct Sealer {
    header: Header,
    section: Vec<u8>,
    cek: ContentKey,
}

impl Sealer {
    /// Starts sealing under `header` with the content key `cek`.
    pub fn new(header: Header, cek: ContentKey) -> Result<Sealer, SealError> {
        header.validate().map_err(SealError::Header)?;
        let section = header_section(&header.to_bytes());
        Ok(Sealer { header, section, cek })
    }

    /// The header being sealed.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Encrypts the payload; `progress` gets the plaintext bytes done so far.
    pub fn encrypt_payload(&self, payload: &[u8], progress: impl FnMut(usize)) -> Result<Vec<u8>, SealError> {
        self.cipher().encrypt(payload, progress)
    }

    /// The payload cipher, for callers that build unusual envelopes (test vectors).
    #[doc(hidden)]
    pub fn cipher(&self) -> PayloadCipher {
        PayloadCipher::new(&self.cek, &self.header.id_bytes(), &self.header.nonce_bytes(), header_digest(&self.section))
    }

    /// Wraps the content key under the passphrase (Argon2id: the slow step).
    pub fn wrap_for_passphrase(&self, passphrase: &[u8]) -> Result<[u8; WRAPPED_KEY_LEN], SealError> {
        if passphrase.is_empty() {
            return Err(SealError::EmptyPassphrase);
        }
        let kdf = self.header.kdf.as_ref().ok_or_else(|| SealError::Header("not a passphrase-mode header".into()))?;
        let kek = kdf.derive_kek(passphrase).map_err(|e| SealError::KdfParams(e.to_string()))?;
        Ok(kek.wrap(&self.cek, &self.header.id_bytes()))
    }

    /// Everything before the payload: header section, key slot, header MAC.
    pub fn head(&self, key_slot: &[u8]) -> Result<Vec<u8>, SealError> {
        let expected = match self.header.mode {
            Mode::Passphrase => WRAPPED_KEY_LEN,
            Mode::Server => 0,
        };
        if key_slot.len() != expected {
            return Err(SealError::Header(format!("{} mode needs a {expected}-byte key slot", self.header.mode.as_str())));
        }
        let mut out = Vec::with_capacity(self.section.len() + key_slot.len() + 32);
        out.extend_from_slice(&self.section);
        out.extend_from_slice(key_slot);
        let mac = compute_mac(&self.cek, &self.header.id_bytes(), &out);
        out.extend_from_slice(&mac);
        Ok(out)
    }
}

/// Seals `payload` for one recipient under a passphrase, on the calling thread.
pub fn seal_with_passphrase(header: Header, passphrase: &[u8], payload: &[u8]) -> Result<Vec<u8>, SealError> {
    let sealer = Sealer::new(header, ContentKey::generate())?;
    let slot = sealer.wrap_for_passphrase(passphrase)?;
    let mut out = sealer.head(&slot)?;
    out.extend_from_slice(&sealer.encrypt_payload(payload, |_| {})?);
    Ok(out)
}
