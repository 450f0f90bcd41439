//! Push or pull: an envelope travels as its file (`securedoc.html`,
//! attached to the notification), or it is kept at the key server and the
//! notification links to the recipient's portal (docs/SENDING.md,
//! "Delivery"). `securedoc seal`/`send` and the mail hook decide and store
//! the same way.

use envelope_core::{Packed, PayloadCipher, SealError, Sealer, CHUNK_LEN, SEALED_CHUNK_LEN};
use mail_hook::DeliveryMode;
use securedoc_templates::EnvelopePage;

use super::register::{store_envelope, StoredEnvelope};

/// `--delivery`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Delivery {
    /// The envelope file, attached to the notification.
    Push,
    /// Kept at the key server; the notification links to it (server mode only).
    Pull,
    /// Push up to --auto-pull-over, pull above.
    Auto,
}

impl From<Delivery> for DeliveryMode {
    fn from(delivery: Delivery) -> Self {
        match delivery {
            Delivery::Push => DeliveryMode::Push,
            Delivery::Pull => DeliveryMode::Pull,
            Delivery::Auto => DeliveryMode::Auto,
        }
    }
}

/// The length of the `securedoc.html` that `page` around `sealer`'s
/// envelope of `message` makes (server mode: no key slot), known before
/// anything is encrypted.
pub fn envelope_file_len(page: &EnvelopePage, sealer: &Sealer, message: &Packed) -> u64 {
    let payload = message.payload.len();
    let sealed = payload + PayloadCipher::chunk_count(payload) * (SEALED_CHUNK_LEN - CHUNK_LEN);
    page.len_with(sealer.head_len() + sealed) as u64
}

/// A server-mode envelope in its binary form: header and sealed payload
/// (no key slot). `progress` gets the plaintext bytes sealed so far.
pub fn envelope_bytes(
    sealer: &Sealer,
    message: &Packed,
    progress: impl FnMut(usize),
) -> Result<Vec<u8>, SealError> {
    sealer.seal(&[], message, progress)
}

/// Where a key server keeps envelopes, and the sender token that registered them.
pub struct KeyServerAccess<'a> {
    pub client: &'a reqwest::blocking::Client,
    pub origin: &'a str,
    pub token: &'a str,
}

/// Stores `envelope` (binary, from [`envelope_bytes`]) at the key server
/// under its own id, for `to`: pull delivery.
pub fn store(
    server: &KeyServerAccess,
    to: &str,
    sealer: &Sealer,
    envelope: Vec<u8>,
) -> anyhow::Result<StoredEnvelope> {
    store_envelope(
        server.client,
        server.origin,
        server.token,
        (sealer.header().id.as_str(), to),
        envelope,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use envelope_core::{ContentKey, EnvelopeInfo, Flags, SecurityLevel};

    #[test]
    fn the_file_length_is_known_before_sealing() {
        for size in [0, 10, 64 * 1024, 200_000] {
            let draft = envelope_core::Draft {
                from: "alice@example.org".into(),
                to: vec!["bob@example.net".into()],
                subject: "Results".into(),
                text: Some("x".repeat(size)),
                html: None,
                attachments: Vec::new(),
                date: 1_800_000_000,
            };
            let packed = envelope_core::pack(&envelope_core::compose(&draft)).unwrap();
            let header = EnvelopeInfo {
                from: "alice@example.org".into(),
                to: "bob@example.net".into(),
                created: 1_800_000_000,
                expires: None,
                flags: Flags::default(),
            }
            .server_header([7; 16], "https://keys.example.org", SecurityLevel::High)
            .unwrap();
            let page = EnvelopePage::new(&header);
            let sealer = Sealer::new(header, ContentKey::generate()).unwrap();
            let html = securedoc_templates::sealed_page(&sealer, &[], &packed).unwrap();
            assert_eq!(
                page.with_envelope(&envelope_bytes(&sealer, &packed, |_| {}).unwrap()),
                html,
                "the binary form is what the page carries"
            );
            assert_eq!(
                envelope_file_len(&page, &sealer, &packed),
                html.len() as u64,
                "a {size}-byte body"
            );
        }
    }
}
