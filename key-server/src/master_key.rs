//! The master key: the one secret that protects every content key at rest.
//!
//! Generated on first start into the data directory (mode 0600), or given as a
//! file. Content keys are stored only sealed under it (XChaCha20-Poly1305 with
//! a random nonce, the message id as associated data, so a sealed key cannot
//! be moved to another message).

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::Error;

/// The server's master key.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl MasterKey {
    /// Reads the key from `path`, creating it (mode 0600) if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, Error> {
        match std::fs::read_to_string(path) {
            Ok(text) => MasterKey::from_base64(text.trim()).ok_or_else(|| {
                Error::MasterKey(format!(
                    "{} does not hold a base64 32-byte key",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = MasterKey(Zeroizing::new(crate::random()));
                if let Some(dir) = path.parent() {
                    crate::create_private_dir(dir)?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(|e| {
                    Error::MasterKey(format!("cannot create {}: {e}", path.display()))
                })?;
                writeln!(file, "{}", STANDARD.encode(key.0.as_ref()))?;
                file.sync_all()?;
                Ok(key)
            }
            Err(e) => Err(Error::MasterKey(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    /// A key from its base64 form.
    pub fn from_base64(text: &str) -> Option<MasterKey> {
        let bytes = Zeroizing::new(STANDARD.decode(text).ok()?);
        Some(MasterKey(Zeroizing::new(bytes.as_slice().try_into().ok()?)))
    }

    /// Seals a content key for storage: base64 of nonce, ciphertext and tag.
    pub fn seal(&self, message_id: &str, content_key: &[u8]) -> String {
        STANDARD.encode(self.seal_bytes(message_id.as_bytes(), content_key))
    }

    /// Opens a sealed content key; `None` if it was not sealed under this key
    /// for this message.
    pub fn open(&self, message_id: &str, sealed: &str) -> Option<Zeroizing<Vec<u8>>> {
        self.open_bytes(message_id.as_bytes(), &STANDARD.decode(sealed).ok()?)
    }

    /// Seals `plaintext` bound to `aad`: nonce, ciphertext and tag.
    pub(crate) fn seal_bytes(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let nonce: [u8; 24] = crate::random();
        let sealed = XChaCha20Poly1305::new(self.0.as_ref().into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("in-memory encryption cannot fail");
        [nonce.as_slice(), &sealed].concat()
    }

    /// Encrypts `owner`'s private item (a sent copy, a draft) `id` under a
    /// fresh key of its own: the ciphertext, and that key sealed under the
    /// master key (base64), to store apart. Deleting the sealed key first
    /// makes the ciphertext unreadable wherever copies of it remain. Every
    /// call makes a new key, used once, so its nonce can be fixed. Both are
    /// bound to the owner and the id: a row moved to another account or id
    /// in the database does not open.
    pub(crate) fn seal_item(&self, owner: &str, id: &str, plaintext: &[u8]) -> (String, Vec<u8>) {
        let bound = item_aad(owner, id);
        let key = Zeroizing::new(crate::random::<32>());
        let item = Aead::encrypt(
            &XChaCha20Poly1305::new(key.as_ref().into()),
            XNonce::from_slice(&[0u8; 24]),
            Payload {
                msg: plaintext,
                aad: &bound,
            },
        )
        .expect("in-memory encryption cannot fail");
        let sealed_key = STANDARD.encode(self.seal_bytes(&item_key_aad(owner, id), key.as_ref()));
        (sealed_key, item)
    }

    /// Opens what [`MasterKey::seal_item`] sealed as `owner`'s item `id`.
    pub(crate) fn open_item(
        &self,
        (owner, id): (&str, &str),
        sealed_key: &str,
        item: &[u8],
    ) -> Option<Zeroizing<Vec<u8>>> {
        let sealed_key = STANDARD.decode(sealed_key).ok()?;
        let key = self.open_bytes(&item_key_aad(owner, id), &sealed_key)?;
        (key.len() == 32).then_some(())?;
        XChaCha20Poly1305::new(key.as_slice().into())
            .decrypt(
                XNonce::from_slice(&[0u8; 24]),
                Payload {
                    msg: item,
                    aad: &item_aad(owner, id),
                },
            )
            .ok()
            .map(Zeroizing::new)
    }

    /// A key of its own for `purpose`, derived from the master key with
    /// HKDF-SHA256 (RFC 5869): what it protects cannot be confused with
    /// anything sealed under the master key itself.
    fn subkey(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        let mut key = Zeroizing::new([0u8; 32]);
        hkdf::Hkdf::<sha2::Sha256>::new(None, self.0.as_ref())
            .expand(
                format!("securedoc subkey v1\n{purpose}").as_bytes(),
                &mut *key,
            )
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        key
    }

    /// HMAC-SHA256 over `parts` (each length-prefixed, so no two lists of
    /// parts give the same input) under the subkey for `purpose`, as hex.
    /// One-time passcodes are stored as this: without the master key a copy
    /// of the database cannot try the codes offline.
    pub(crate) fn mac(&self, purpose: &str, parts: &[&[u8]]) -> String {
        use hmac::Mac;
        let key = self.subkey(purpose);
        let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(key.as_ref())
            .expect("HMAC takes a key of any length");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        crate::hex(&mac.finalize().into_bytes())
    }

    /// Opens what [`MasterKey::seal_bytes`] sealed for `aad`.
    pub(crate) fn open_bytes(&self, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (nonce, ciphertext) = sealed.split_at_checked(24)?;
        XChaCha20Poly1305::new(self.0.as_ref().into())
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .ok()
            .map(Zeroizing::new)
    }
}

/// What an item's key is sealed to: what it is, its owner and the item.
fn item_key_aad(owner: &str, id: &str) -> Vec<u8> {
    format!(
        "securedoc item key v2\n{}\n{id}",
        owner.to_ascii_lowercase()
    )
    .into_bytes()
}

/// What an item's ciphertext is bound to: its owner and its id.
fn item_aad(owner: &str, id: &str) -> Vec<u8> {
    format!("securedoc item v2\n{}\n{id}", owner.to_ascii_lowercase()).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_opens_only_as_itself_under_its_own_sealed_key() {
        let key = MasterKey::from_base64(&STANDARD.encode([1u8; 32])).unwrap();
        let (sealed_a, item_a) = key.seal_item("bob@example.net", "a", b"draft a");
        let (sealed_b, item_b) = key.seal_item("bob@example.net", "b", b"draft b");
        let bob = |id| ("bob@example.net", id);
        assert_eq!(
            key.open_item(bob("a"), &sealed_a, &item_a)
                .unwrap()
                .as_slice(),
            b"draft a"
        );
        assert!(
            key.open_item(("Bob@Example.net", "a"), &sealed_a, &item_a)
                .is_some(),
            "an address in another case is the same owner"
        );
        assert!(
            key.open_item(("eve@example.net", "a"), &sealed_a, &item_a)
                .is_none(),
            "moved to another account"
        );
        assert!(
            key.open_item(bob("b"), &sealed_a, &item_a).is_none(),
            "moved to another id"
        );
        assert!(
            key.open_item(bob("a"), &sealed_b, &item_a).is_none(),
            "another item's key"
        );
        assert!(key.open_item(bob("b"), &sealed_b, &item_a).is_none());
        let mut changed = item_b.clone();
        changed[0] ^= 1;
        assert!(key.open_item(bob("b"), &sealed_b, &changed).is_none());
        assert_ne!(item_a, b"draft a".to_vec());
    }

    #[test]
    fn a_new_key_is_private_and_reloads_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/master.key");
        let key = MasterKey::load_or_create(&path).unwrap();
        let sealed = key.seal("m1", &[7u8; 32]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let again = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(again.open("m1", &sealed).unwrap().as_slice(), &[7u8; 32]);
    }

    #[test]
    fn a_sealed_key_opens_only_for_its_message_and_under_its_master_key() {
        let key = MasterKey::from_base64(&STANDARD.encode([1u8; 32])).unwrap();
        let other = MasterKey::from_base64(&STANDARD.encode([2u8; 32])).unwrap();
        let sealed = key.seal("m1", &[7u8; 32]);
        assert!(key.open("m2", &sealed).is_none());
        assert!(other.open("m1", &sealed).is_none());
        assert!(key.open("m1", "not base64!").is_none());
        assert!(key.open("m1", "AAAA").is_none());
    }

    #[test]
    fn a_mac_depends_on_the_key_the_purpose_and_every_part() {
        let key = MasterKey::from_base64(&STANDARD.encode([1u8; 32])).unwrap();
        let other = MasterKey::from_base64(&STANDARD.encode([2u8; 32])).unwrap();
        let mac = key.mac("passcode", &[b"id", b"m1", b"12345678"]);
        assert_eq!(mac.len(), 64);
        assert_eq!(mac, key.mac("passcode", &[b"id", b"m1", b"12345678"]));
        assert_ne!(mac, other.mac("passcode", &[b"id", b"m1", b"12345678"]));
        assert_ne!(mac, key.mac("other", &[b"id", b"m1", b"12345678"]));
        assert_ne!(mac, key.mac("passcode", &[b"id", b"m1", b"12345679"]));
        // Parts are framed: moving a byte from one to the next changes it.
        assert_ne!(mac, key.mac("passcode", &[b"idm", b"1", b"12345678"]));
    }

    #[test]
    fn a_damaged_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        std::fs::write(&path, "short").unwrap();
        assert!(MasterKey::load_or_create(&path).is_err());
    }
}
