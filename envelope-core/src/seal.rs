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
        let mut id = [0u8; 16];
        fill_random(&mut id);
        self.header(id, Mode::Passphrase, Some(kdf), None)
    }

    /// A server-mode header for envelope id `id`. Every recipient's envelope
    /// has its own id and content key, registered at the key server for that
    /// recipient alone (docs/FORMAT.md, "What an envelope proves").
    pub fn server_header(
        &self,
        id: [u8; 16],
        key_server: &str,
        security: SecurityLevel,
    ) -> Result<Header, SealError> {
        let mut header = self.header(id, Mode::Server, None, Some(key_server.to_string()))?;
        header.security = security;
        Ok(header)
    }

    fn header(
        &self,
        id: [u8; 16],
        mode: Mode,
        kdf: Option<KdfParams>,
        key_server: Option<String>,
    ) -> Result<Header, SealError> {
        validate_address("sender", &self.from).map_err(SealError::Header)?;
        validate_address("recipient", &self.to).map_err(SealError::Header)?;
        let mut nonce = [0u8; NONCE_PREFIX_LEN];
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
            lang: None,
            organization: None,
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
        let section = header_section(header.v, &header.to_bytes());
        Ok(Sealer {
            header,
            section,
            cek,
        })
    }

    /// The header being sealed.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Encrypts a packed message (format v2); `progress` gets the plaintext
    /// bytes done so far.
    #[cfg(feature = "pack")]
    pub fn encrypt_payload(
        &self,
        message: &crate::Packed,
        progress: impl FnMut(usize),
    ) -> Result<Vec<u8>, SealError> {
        self.check_version()?;
        self.cipher().encrypt(&message.payload, progress)
    }

    /// The whole envelope, binary: the head (with `key_slot`, empty for a
    /// server-mode envelope) and the packed message encrypted; `progress`
    /// gets the plaintext bytes done so far.
    #[cfg(feature = "pack")]
    pub fn seal(
        &self,
        key_slot: &[u8],
        message: &crate::Packed,
        progress: impl FnMut(usize),
    ) -> Result<Vec<u8>, SealError> {
        let mut envelope = self.head(key_slot)?;
        envelope.extend(self.encrypt_payload(message, progress)?);
        Ok(envelope)
    }

    /// Encrypts a packed message chunk by chunk into `sink` (see
    /// [`PayloadCipher::encrypt_into`]).
    #[cfg(feature = "pack")]
    pub fn encrypt_payload_into(
        &self,
        message: &crate::Packed,
        sink: impl FnMut(&[u8], usize),
    ) -> Result<(), SealError> {
        self.check_version()?;
        self.cipher().encrypt_into(&message.payload, sink)
    }

    /// A packed message is a format v2 payload; an older header would make
    /// openers read it as an RFC 5322 message.
    #[cfg(feature = "pack")]
    fn check_version(&self) -> Result<(), SealError> {
        if self.header.v != FORMAT_VERSION {
            return Err(SealError::Header(format!(
                "a packed message is sealed in format {FORMAT_VERSION}, not {}",
                self.header.v
            )));
        }
        Ok(())
    }

    /// Length of [`head`](Self::head)'s output, known before the key slot is:
    /// a caller can lay out the file while Argon2id still runs.
    pub fn head_len(&self) -> usize {
        let slot = match self.header.mode {
            Mode::Passphrase => WRAPPED_KEY_LEN,
            Mode::Server => 0,
        };
        self.section.len() + slot + crate::format::MAC_LEN
    }

    /// The payload cipher, for callers that build unusual envelopes (test vectors).
    #[doc(hidden)]
    pub fn cipher(&self) -> PayloadCipher {
        PayloadCipher::new(
            &self.cek,
            &self.header.id_bytes(),
            &self.header.nonce_bytes(),
            header_digest(&self.section),
        )
    }

    /// Wraps the content key under the passphrase (Argon2id: the slow step).
    #[cfg(feature = "passphrase")]
    pub fn wrap_for_passphrase(
        &self,
        passphrase: &[u8],
    ) -> Result<[u8; WRAPPED_KEY_LEN], SealError> {
        if passphrase.is_empty() {
            return Err(SealError::EmptyPassphrase);
        }
        let kdf = self
            .header
            .kdf
            .as_ref()
            .ok_or_else(|| SealError::Header("not a passphrase-mode header".into()))?;
        let kek = kdf
            .derive_kek(passphrase)
            .map_err(|e| SealError::KdfParams(e.to_string()))?;
        Ok(kek.wrap(&self.cek, &self.header.id_bytes()))
    }

    /// Everything before the payload: header section, key slot, header MAC.
    pub fn head(&self, key_slot: &[u8]) -> Result<Vec<u8>, SealError> {
        let expected = match self.header.mode {
            Mode::Passphrase => WRAPPED_KEY_LEN,
            Mode::Server => 0,
        };
        if key_slot.len() != expected {
            return Err(SealError::Header(format!(
                "{} mode needs a {expected}-byte key slot",
                self.header.mode.as_str()
            )));
        }
        let mut out = Vec::with_capacity(self.section.len() + key_slot.len() + 32);
        out.extend_from_slice(&self.section);
        out.extend_from_slice(key_slot);
        let mac = compute_mac(&self.cek, &self.header.id_bytes(), &out);
        out.extend_from_slice(&mac);
        Ok(out)
    }
}

/// Seals `payload` for one recipient under a passphrase, on the calling
/// thread: the plaintext as it is (for format v2, a payload from
/// [`crate::pack`]; [`open_with_passphrase`](crate::open_with_passphrase) gives it back).
#[cfg(feature = "passphrase")]
pub fn seal_with_passphrase(
    header: Header,
    passphrase: &[u8],
    payload: &[u8],
) -> Result<Vec<u8>, SealError> {
    let sealer = Sealer::new(header, ContentKey::generate())?;
    let slot = sealer.wrap_for_passphrase(passphrase)?;
    let mut out = sealer.head(&slot)?;
    out.extend_from_slice(&sealer.cipher().encrypt(payload, |_| {})?);
    Ok(out)
}

#[cfg(all(test, feature = "passphrase"))]
mod tests {
    use super::*;
    use crate::{open_with_passphrase, Envelope, OpenError, MIN_M_KIB, MIN_T};

    fn info() -> EnvelopeInfo {
        EnvelopeInfo {
            from: "alice@example.org".into(),
            to: "bob@example.net".into(),
            created: 1_800_000_000,
            expires: Some(1_800_604_800),
            flags: Flags::default(),
        }
    }

    #[test]
    fn every_payload_length_round_trips_across_chunk_boundaries() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let header = info().passphrase_header(MIN_M_KIB, MIN_T, 1).unwrap();
            let sealed = seal_with_passphrase(header, b"pass", &payload).unwrap();
            assert_eq!(
                open_with_passphrase(&sealed, b"pass").unwrap(),
                payload,
                "length {len}"
            );
        }
    }

    #[test]
    fn the_payload_is_encrypted_while_the_key_is_derived() {
        // The split API gives the same envelope as the one-call API would.
        let header = info().passphrase_header(MIN_M_KIB, MIN_T, 1).unwrap();
        let sealer = Sealer::new(header, ContentKey::generate()).unwrap();
        let payload = b"From: a@example.org\r\n\r\nhello".to_vec();
        let sealed = sealer.cipher().encrypt(&payload, |_| {}).unwrap();
        let mut envelope = sealer
            .head(&sealer.wrap_for_passphrase(b"pass").unwrap())
            .unwrap();
        envelope.extend_from_slice(&sealed);
        assert_eq!(open_with_passphrase(&envelope, b"pass").unwrap(), payload);
        assert_eq!(
            open_with_passphrase(&envelope, b"Pass").unwrap_err(),
            OpenError::WrongPassphrase
        );
        assert_eq!(
            Envelope::parse(&envelope).unwrap().header().to,
            "bob@example.net"
        );
    }

    #[test]
    fn sealing_refuses_what_an_opener_would_refuse() {
        let header = info().passphrase_header(MIN_M_KIB, MIN_T, 1).unwrap();
        assert_eq!(
            seal_with_passphrase(header, b"", b"x").unwrap_err(),
            SealError::EmptyPassphrase
        );
        assert!(matches!(
            info().passphrase_header(1024, 1, 1),
            Err(SealError::KdfParams(_))
        ));
        let bad = EnvelopeInfo {
            to: "bob".into(),
            ..info()
        };
        assert!(matches!(
            bad.passphrase_header(MIN_M_KIB, MIN_T, 1),
            Err(SealError::Header(_))
        ));
        let backwards = EnvelopeInfo {
            expires: Some(1),
            ..info()
        };
        assert!(matches!(
            backwards.passphrase_header(MIN_M_KIB, MIN_T, 1),
            Err(SealError::Header(_))
        ));
    }

    const CHUNK: usize = crate::CHUNK_LEN;
}
