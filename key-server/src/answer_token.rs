//! The answer token: what a recipient who opened a message in the envelope
//! shows to answer it (Reply, Reply all, Forward) on the key server.
//!
//! Key release gives it out beside the content key, sealed with HPKE to the
//! same one-time key (`envelope_core::seal_answer_token`), so only the
//! opener that asked can read it. It names the message and the recipient and
//! ends after `answer_token_minutes`: it is the master key's seal over its
//! end time, with the message and recipient as associated data, so it is
//! good for that pair only and nobody without the master key can make one.
//! Stateless: every replica that shares the master key can check it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::MasterKey;

/// What a token is sealed to. The prefix keeps it apart from content keys,
/// whose associated data is the bare message id.
fn bound_to(message_id: &str, recipient: &str) -> String {
    format!(
        "securedoc answer token v1\n{message_id}\n{}",
        recipient.to_ascii_lowercase()
    )
}

/// A token for `recipient` to answer `message_id` until `expires` (Unix seconds).
pub fn issue(master_key: &MasterKey, message_id: &str, recipient: &str, expires: i64) -> String {
    let sealed = master_key.seal_bytes(
        bound_to(message_id, recipient).as_bytes(),
        &expires.to_be_bytes(),
    );
    // URL-safe: it travels in a form field, and maybe some day in a link.
    URL_SAFE_NO_PAD.encode(sealed)
}

/// Why a token was not taken.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// It was good for this message and recipient, but its time is over.
    Expired,
    /// Not a token for this message and recipient (or not one at all).
    Invalid,
}

/// Whether `token` lets `recipient` answer `message_id` at `now`.
pub fn check(
    master_key: &MasterKey,
    token: &str,
    message_id: &str,
    recipient: &str,
    now: i64,
) -> Result<(), Refused> {
    if token.len() > 128 {
        return Err(Refused::Invalid);
    }
    let sealed = URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| Refused::Invalid)?;
    let expires = master_key
        .open_bytes(bound_to(message_id, recipient).as_bytes(), &sealed)
        .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_slice()).ok())
        .map(i64::from_be_bytes)
        .ok_or(Refused::Invalid)?;
    if now > expires {
        return Err(Refused::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> MasterKey {
        MasterKey::from_base64(&base64::engine::general_purpose::STANDARD.encode([7u8; 32]))
            .unwrap()
    }

    #[test]
    fn a_token_is_good_for_its_message_and_recipient_until_it_ends() {
        let key = master();
        let token = issue(&key, "aa11", "Ann@Example.org", 1_000);
        assert_eq!(check(&key, &token, "aa11", "ann@example.org", 999), Ok(()));
        assert_eq!(
            check(&key, &token, "aa11", "ann@example.org", 1_000),
            Ok(())
        );
        assert_eq!(
            check(&key, &token, "aa11", "ann@example.org", 1_001),
            Err(Refused::Expired)
        );
        // Another message, another recipient, another server: not a token.
        assert_eq!(
            check(&key, &token, "bb22", "ann@example.org", 0),
            Err(Refused::Invalid)
        );
        assert_eq!(
            check(&key, &token, "aa11", "bob@example.org", 0),
            Err(Refused::Invalid)
        );
        let other =
            MasterKey::from_base64(&base64::engine::general_purpose::STANDARD.encode([8u8; 32]))
                .unwrap();
        assert_eq!(
            check(&other, &token, "aa11", "ann@example.org", 0),
            Err(Refused::Invalid)
        );
    }

    #[test]
    fn a_tampered_or_made_up_token_is_refused() {
        let key = master();
        let token = issue(&key, "aa11", "ann@example.org", i64::MAX);
        let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        for bad in [
            URL_SAFE_NO_PAD.encode(raw),
            String::new(),
            "not base64 !".into(),
            "A".repeat(200),
            URL_SAFE_NO_PAD.encode([0u8; 48]),
        ] {
            assert_eq!(
                check(&key, &bad, "aa11", "ann@example.org", 0),
                Err(Refused::Invalid),
                "{bad}"
            );
        }
        // A sealed content key is not a token, though both come from the master key.
        let content_key = key.seal("aa11", &[1u8; 8]);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(content_key)
            .unwrap();
        assert_eq!(
            check(
                &key,
                &URL_SAFE_NO_PAD.encode(raw),
                "aa11",
                "ann@example.org",
                0
            ),
            Err(Refused::Invalid)
        );
    }
}
