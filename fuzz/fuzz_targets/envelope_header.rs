//! The first bytes any opener reads: magic, version, header length, the
//! header JSON and its validation, and the split into key slot, MAC and
//! payload. Also the text (base64) form the HTML page carries.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = envelope_core::header_len(data);
    let _ = envelope_core::Header::from_bytes(data);
    if let Ok(envelope) = envelope_core::Envelope::parse(data) {
        // A header that parsed is one a sealer could have written: it must
        // survive its own canonical form unchanged.
        let header = envelope.header();
        let again = envelope_core::Header::from_bytes(&header.to_bytes())
            .expect("a parsed header re-parses from its canonical bytes");
        assert_eq!(again.to_bytes(), header.to_bytes());
        assert!(envelope.payload_len() <= data.len());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = envelope_core::header_from_text(text);
        if let Ok(bytes) = envelope_core::from_text(text) {
            let _ = envelope_core::Envelope::parse(&bytes);
        }
    }
});
