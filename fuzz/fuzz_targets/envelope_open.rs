//! The whole open path, envelope bytes → message, with a fixed content key
//! (the key-server path: a passphrase would spend ≥ 19 MiB of Argon2id per
//! run, the KDF floor, and find nothing more).
//!
//! The first byte picks the case:
//! - even: the rest is an envelope; it is opened with the fixed key and, if
//!   it decrypts, its message is parsed as the opener would show it;
//! - odd: the rest is a message; it is sealed for a fixed header with the
//!   fixed key, opened again, and must come back byte for byte (so the
//!   fuzzer reaches the decryptor and the MIME view with every payload).

#![no_main]

use envelope_core::{
    ContentKey, Envelope, EnvelopeInfo, Flags, OpenedMessage, Packed, SecurityLevel, Sealer,
};
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 32] = [7; 32];
const ID: [u8; 16] = [0x5d; 16];

/// Opens an envelope and reads its payload as its version says.
fn open(bytes: &[u8]) -> Option<OpenedMessage> {
    let envelope = Envelope::parse(bytes).ok()?;
    let cipher = envelope
        .unlock_with_key(&ContentKey::from_slice(&KEY).unwrap())
        .ok()?;
    let payload = cipher.decrypt(envelope.sealed_payload()).ok()?;
    OpenedMessage::new(envelope.header().v, payload).ok()
}

fn seal(message: &Packed) -> Vec<u8> {
    let info = EnvelopeInfo {
        from: "alice@clinic.example".into(),
        to: "bob@example.net".into(),
        created: 1_767_225_600,
        expires: None,
        flags: Flags::default(),
    };
    let header = info
        .server_header(ID, "https://keys.clinic.example", SecurityLevel::High)
        .unwrap();
    let sealer = Sealer::new(header, ContentKey::from_slice(&KEY).unwrap()).unwrap();
    let mut bytes = sealer.head(&[]).unwrap();
    bytes.extend(sealer.encrypt_payload(message, |_| {}).unwrap());
    bytes
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector % 2 == 0 {
        if let Some(message) = open(rest) {
            let _ = message.view();
            let _ = message.eml();
        }
    } else {
        // Whatever the parser takes for a message packs, and comes back byte for byte.
        let Ok(packed) = envelope_core::pack(rest) else {
            return;
        };
        let sealed = seal(&packed);
        let opened = open(&sealed).expect("an envelope sealed with the key opens with it");
        assert_eq!(&*opened.eml(), rest, "the message comes back byte for byte");
        let _ = opened.view();
        // One flipped bit anywhere after the magic must be refused.
        if sealed.len() > 9 {
            let mut altered = sealed.clone();
            let at = 9 + usize::from(selector) * 31 % (sealed.len() - 9);
            altered[at] ^= 0x01;
            assert!(open(&altered).is_none(), "a flipped bit at {at} went unnoticed");
        }
    }
});
