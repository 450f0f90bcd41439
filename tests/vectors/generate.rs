//! Regenerates the known-answer files in `tests/vectors/`.
//!
//! ```sh
//! cargo run --release -p securedoc-suites --example generate-vectors
//! ```
//!
//! Ids, salts, nonces and keys are random, so every run writes different
//! envelopes; what each file must do when opened is fixed here and checked
//! with the native opener before the file is written. The files are
//! committed: they are the test, this program only makes new ones.

use envelope_core::{
    to_text, ContentKey, EnvelopeInfo, Flags, Header, Mode, Sealer, CHUNK_LEN, MAX_M_KIB, MAX_P,
    MAX_T, MIN_M_KIB, MIN_T, SEALED_CHUNK_LEN,
};
use securedoc_suites::vectors::{
    is_vector_file, native_outcome, sha256_hex, vectors_dir, Vector, SUCCESS,
};

const PASSPHRASE: &str = "correct horse battery staple";
const PREFIX_LEN: usize = 9;
const SLOT_LEN: usize = 48;
const MAC_LEN: usize = 32;

/// A sealed envelope and where its parts are.
#[derive(Clone)]
struct Sealed {
    bytes: Vec<u8>,
    /// End of the header JSON (start of the key slot).
    header_end: usize,
}

impl Sealed {
    fn json_range(&self) -> std::ops::Range<usize> {
        PREFIX_LEN..self.header_end
    }
    fn slot(&self) -> usize {
        self.header_end
    }
    fn mac(&self) -> usize {
        self.header_end + SLOT_LEN
    }
    fn payload(&self) -> usize {
        self.header_end + SLOT_LEN + MAC_LEN
    }
    /// Start of chunk `i` in the bytes.
    fn chunk(&self, i: usize) -> usize {
        self.payload() + i * SEALED_CHUNK_LEN
    }
    fn chunks(&self) -> Vec<&[u8]> {
        self.bytes[self.payload()..]
            .chunks(SEALED_CHUNK_LEN)
            .collect()
    }
    /// Offset of `needle` in the header JSON (first occurrence).
    fn find_in_header(&self, needle: &str) -> usize {
        let json = &self.bytes[self.json_range()];
        let at = json
            .windows(needle.len())
            .position(|w| w == needle.as_bytes())
            .unwrap_or_else(|| panic!("{needle:?} not in the header"));
        PREFIX_LEN + at
    }
    fn header_json(&self) -> String {
        String::from_utf8(self.bytes[self.json_range()].to_vec()).unwrap()
    }
    /// The same envelope with another header JSON (length prefix updated; the
    /// key slot, MAC and payload are kept, so they no longer match).
    fn with_header_json(&self, json: &str) -> Vec<u8> {
        let mut out = self.bytes[..5].to_vec();
        out.extend_from_slice(&(json.len() as u32).to_be_bytes());
        out.extend_from_slice(json.as_bytes());
        out.extend_from_slice(&self.bytes[self.header_end..]);
        out
    }
    fn with_chunks(&self, order: &[usize]) -> Vec<u8> {
        let chunks = self.chunks();
        let mut out = self.bytes[..self.payload()].to_vec();
        for &i in order {
            out.extend_from_slice(chunks[i]);
        }
        out
    }
}

fn info() -> EnvelopeInfo {
    EnvelopeInfo {
        from: "alice@example.org".into(),
        to: "bob@example.net".into(),
        created: 1_788_256_800, // 2026-09-01 10:00:00 UTC
        expires: None,
        flags: Flags::default(),
    }
}

/// A passphrase-mode header at the minimum KDF cost (fast tests).
fn header() -> Header {
    info()
        .passphrase_header(MIN_M_KIB, MIN_T, 1)
        .expect("valid header")
}

fn seal_with(header: Header, passphrase: &str, payload: &[u8]) -> Sealed {
    let sealer = Sealer::new(header, ContentKey::generate()).expect("valid header");
    let slot = sealer
        .wrap_for_passphrase(passphrase.as_bytes())
        .expect("wrap");
    let mut bytes = sealer.head(&slot).expect("head");
    let header_end = bytes.len() - SLOT_LEN - MAC_LEN;
    // The payload as given (packed or not): some vectors are containers that
    // do not follow the format.
    bytes.extend_from_slice(&sealer.cipher().encrypt(payload, |_| {}).expect("encrypt"));
    Sealed { bytes, header_end }
}

fn seal(payload: &[u8]) -> Sealed {
    seal_with(header(), PASSPHRASE, payload)
}

/// Seals `header` (which need not pass the KDF check) with a valid header MAC.
/// The key slot wraps the content key under the same salt at the floor cost,
/// so an opener that ignored the header's parameters would fail differently.
fn seal_unchecked_kdf(header: Header, payload: &[u8]) -> Sealed {
    let cek = ContentKey::generate();
    let mut legal = header.clone();
    if let Some(kdf) = legal.kdf.as_mut() {
        (kdf.m, kdf.t, kdf.p, kdf.alg) = (MIN_M_KIB, MIN_T, 1, "argon2id".into());
    }
    let slot = Sealer::new(legal, cek.clone())
        .unwrap()
        .wrap_for_passphrase(PASSPHRASE.as_bytes())
        .unwrap();
    let sealer = Sealer::new(header, cek).expect("header passes validate()");
    let mut bytes = sealer.head(&slot).unwrap();
    let header_end = bytes.len() - SLOT_LEN - MAC_LEN;
    bytes.extend_from_slice(&sealer.cipher().encrypt(payload, |_| {}).unwrap());
    Sealed { bytes, header_end }
}

fn flip(mut bytes: Vec<u8>, at: usize) -> Vec<u8> {
    bytes[at] ^= 0x01;
    bytes
}

fn truncate(bytes: &[u8], len: usize) -> Vec<u8> {
    bytes[..len].to_vec()
}

const MESSAGE_HEAD: &str = "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.net>\r\n\
    Date: Tue, 01 Sep 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n";

/// A plain-text message of exactly `len` bytes (when `len` allows the headers).
fn text_message(subject: &str, len: usize) -> Vec<u8> {
    let mut out = format!(
        "{MESSAGE_HEAD}Subject: {subject}\r\nMessage-ID: <{}@example.org>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n",
        subject.to_ascii_lowercase().replace(' ', "-")
    )
    .into_bytes();
    let mut line = 1;
    while out.len() < len {
        out.extend_from_slice(
            format!("Line {line:05}: the quick brown fox jumps over the lazy dog.\r\n").as_bytes(),
        );
        line += 1;
    }
    out.truncate(len);
    assert_eq!(
        out.len(),
        len,
        "{subject}: {len} bytes is too short for the headers"
    );
    out
}

/// Deterministic pseudo-random bytes (xorshift64*).
fn pseudo_random(len: usize, mut state: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

/// A MIME message with a text body and a ~150 KiB binary attachment: four chunks.
fn message_with_attachment() -> Vec<u8> {
    let attachment = to_text(&pseudo_random(150_000, 0x5ec0_7ed0c));
    let wrapped: Vec<&str> = attachment
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "{MESSAGE_HEAD}Subject: Quarterly report\r\nMessage-ID: <quarterly-report@example.org>\r\n\
         Content-Type: multipart/mixed; boundary=\"sd-boundary\"\r\n\r\n\
         --sd-boundary\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello Bob, the report is attached.\r\n\
         --sd-boundary\r\nContent-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"report.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {}\r\n--sd-boundary--\r\n",
        wrapped.join("\r\n")
    )
    .into_bytes()
}

struct Cases {
    vectors: Vec<Vector>,
}

impl Cases {
    /// An envelope of `message` packed as format v2 (sealed as it is when
    /// it is no e-mail message: then the opener must say so).
    fn success(
        &mut self,
        name: &str,
        passphrase: &str,
        payload: &[u8],
        message: Option<&str>,
        comment: &str,
    ) {
        let packed = envelope_core::pack(payload).map(|p| p.payload);
        let sealed = seal_with(header(), passphrase, packed.as_deref().unwrap_or(payload));
        self.push(Vector {
            name: name.into(),
            expect: SUCCESS.into(),
            passphrase: passphrase.into(),
            payload: Some(sha256_hex(payload)),
            message: message.map(Into::into),
            comments: vec![comment.into()],
            text: to_text(&sealed.bytes),
        });
    }

    /// An envelope whose payload is `payload` as it is (not packed): it
    /// decrypts, and the opener must say it is not a message it can show.
    fn raw(&mut self, name: &str, payload: &[u8], comment: &str) {
        let sealed = seal(payload);
        self.push(Vector {
            name: name.into(),
            expect: SUCCESS.into(),
            passphrase: PASSPHRASE.into(),
            payload: Some(sha256_hex(payload)),
            message: Some("not_a_message".into()),
            comments: vec![comment.into()],
            text: to_text(&sealed.bytes),
        });
    }

    fn fail(&mut self, name: &str, expect: &str, bytes: &[u8], comment: &str) {
        self.fail_text(name, expect, PASSPHRASE, to_text(bytes), comment);
    }

    fn fail_text(
        &mut self,
        name: &str,
        expect: &str,
        passphrase: &str,
        text: String,
        comment: &str,
    ) {
        self.push(Vector {
            name: name.into(),
            expect: expect.into(),
            passphrase: passphrase.into(),
            payload: None,
            message: None,
            comments: vec![comment.into()],
            text,
        });
    }

    /// Checks the vector with the native opener, then keeps it.
    fn push(&mut self, vector: Vector) {
        assert!(!vector.name.contains('.'), "vector names have no extension");
        let outcome = native_outcome(&vector.text, &vector.passphrase);
        if let Err(problem) = vector.check(&outcome) {
            panic!("vector {}: {problem} ({outcome:?})", vector.name);
        }
        let reparsed = Vector::parse(&vector.name, &vector.to_file()).expect("the file parses");
        assert_eq!(
            reparsed, vector,
            "{} does not round-trip through its file",
            vector.name
        );
        eprintln!("{:40} {}", vector.name, vector.expect);
        self.vectors.push(vector);
    }
}

fn main() {
    let mut c = Cases {
        vectors: Vec::new(),
    };

    // Envelopes that open.
    let small = b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: Hello\r\n\r\nHi Bob,\r\nthe door code is 4711.\r\n";
    c.success(
        "success_small",
        PASSPHRASE,
        small,
        None,
        "a short message: one chunk",
    );
    c.success(
        "success_one_chunk",
        PASSPHRASE,
        &text_message("One chunk", 40_000),
        None,
        "40000 bytes: one partial chunk",
    );
    c.success(
        "success_full_chunk",
        PASSPHRASE,
        &text_message("Full chunk", CHUNK_LEN),
        None,
        "exactly 65536 bytes: one full chunk carrying the final flag, no empty chunk after it",
    );
    c.success(
        "success_multi_chunk",
        PASSPHRASE,
        &message_with_attachment(),
        None,
        "a message with a 150000-byte attachment: four chunks, the last one partial",
    );
    c.success(
        "success_minimal_message",
        PASSPHRASE,
        b"From: alice@example.org\r\n\r\n",
        None,
        "one header line and no body",
    );
    c.success(
        "success_empty_payload",
        PASSPHRASE,
        b"",
        Some("not_a_message"),
        "a zero-byte payload: one empty final chunk (just its tag); it decrypts, but is not an e-mail message",
    );
    c.success(
        "success_unicode_passphrase",
        "pässwörd 🔑 Ünïcödé",
        small,
        None,
        "a non-ASCII passphrase, used as its UTF-8 bytes without normalisation",
    );

    // Wrong secrets.
    let base = seal(small);
    c.fail_text(
        "wrong_passphrase",
        "wrong_passphrase",
        "correct horse battery stapler",
        to_text(&base.bytes),
        "one character too many",
    );
    c.fail_text(
        "wrong_passphrase_empty",
        "wrong_passphrase",
        "",
        to_text(&base.bytes),
        "an empty passphrase never opens anything",
    );

    // One byte changed in the header section.
    let at = base.find_in_header("\"from\":\"alice") + "\"from\":\"a".len();
    c.fail(
        "header_altered_from",
        "header_altered",
        &flip(base.bytes.clone(), at),
        "\"alice@\" became \"amice@\": valid JSON, the header MAC fails",
    );
    let at = base.find_in_header("\"nonce\":\"") + "\"nonce\":\"".len() + 5;
    let mut nonce = base.bytes.clone();
    nonce[at] = if nonce[at] == b'0' { b'1' } else { b'0' };
    c.fail(
        "header_altered_nonce",
        "header_altered",
        &nonce,
        "one hex digit of the STREAM nonce changed: the header MAC fails",
    );
    let at = base.find_in_header("\"created\":") + "\"created\":".len() + 3;
    c.fail(
        "header_altered_created",
        "header_altered",
        &flip(base.bytes.clone(), at),
        "one digit of the creation time changed: the header MAC fails",
    );
    let at = base.find_in_header("\"salt\":\"") + "\"salt\":\"".len();
    let mut salt = base.bytes.clone();
    salt[at] = if salt[at] == b'0' { b'1' } else { b'0' };
    c.fail(
        "header_altered_salt",
        "wrong_passphrase",
        &salt,
        "one hex digit of the Argon2id salt changed: another key, the key slot does not open",
    );
    let at = base.find_in_header("\"id\":\"") + "\"id\":\"".len();
    let mut id = base.bytes.clone();
    id[at] = if id[at] == b'0' { b'1' } else { b'0' };
    c.fail("header_altered_id", "wrong_passphrase", &id, "one hex digit of the message id changed: the key slot is bound to the id and does not open");
    c.fail(
        "key_slot_altered",
        "wrong_passphrase",
        &flip(base.bytes.clone(), base.slot() + 7),
        "one bit of the wrapped key flipped",
    );
    c.fail(
        "header_mac_altered",
        "header_altered",
        &flip(base.bytes.clone(), base.mac() + 31),
        "one bit of the header MAC flipped",
    );

    // The payload: three chunks (two full, one of 100 bytes) and two chunks.
    let three = seal(&text_message("Three chunks", 2 * CHUNK_LEN + 100));
    let two = seal(&text_message("Two chunks", CHUNK_LEN + 100));
    let full = seal(&text_message("Full chunk", CHUNK_LEN));
    c.fail(
        "chunk_first_altered",
        "payload_altered",
        &flip(three.bytes.clone(), three.chunk(0) + 100),
        "one bit of chunk 0's ciphertext flipped",
    );
    c.fail(
        "chunk_middle_altered",
        "payload_altered",
        &flip(three.bytes.clone(), three.chunk(1) + 30_000),
        "one bit of chunk 1's ciphertext flipped",
    );
    c.fail(
        "chunk_last_altered",
        "payload_altered",
        &flip(three.bytes.clone(), three.chunk(2) + 50),
        "one bit of the final chunk's ciphertext flipped",
    );
    c.fail(
        "chunk_tag_altered",
        "payload_altered",
        &flip(two.bytes.clone(), two.chunk(1) - 1),
        "one bit of chunk 0's Poly1305 tag flipped",
    );
    c.fail(
        "chunk_dropped",
        "payload_altered",
        &three.with_chunks(&[0, 2]),
        "chunk 1 of 3 removed",
    );
    c.fail(
        "chunk_duplicated",
        "payload_altered",
        &two.with_chunks(&[0, 0, 1]),
        "chunk 0 repeated",
    );
    c.fail(
        "chunks_reordered",
        "payload_altered",
        &three.with_chunks(&[1, 0, 2]),
        "chunks 0 and 1 swapped",
    );
    c.fail(
        "chunk_final_duplicated",
        "trailing_data",
        &full.with_chunks(&[0, 0]),
        "a full final chunk repeated: the first copy authenticates as the final chunk, so what follows is data after the end",
    );
    let sealer = Sealer::new(header(), ContentKey::generate()).unwrap();
    let slot = sealer.wrap_for_passphrase(PASSPHRASE.as_bytes()).unwrap();
    let mut no_final = sealer.head(&slot).unwrap();
    no_final.extend_from_slice(
        &sealer
            .cipher()
            .encrypt_without_final_flag(&text_message("No final flag", CHUNK_LEN + 100)),
    );
    c.fail(
        "final_flag_missing",
        "truncated",
        &no_final,
        "two chunks, neither with the last-chunk flag: the end is missing",
    );

    // Truncation.
    c.fail(
        "truncated_at_chunk_boundary",
        "truncated",
        &truncate(&two.bytes, two.chunk(1)),
        "cut after chunk 0 of 2: chunk 0 is intact but not final",
    );
    c.fail(
        "truncated_mid_chunk",
        "payload_altered",
        &truncate(&two.bytes, two.chunk(1) + 60),
        "cut 60 bytes into the final chunk: its tag is gone, so it cannot be told apart from an altered chunk",
    );
    c.fail(
        "truncated_in_final_tag",
        "truncated",
        &truncate(&two.bytes, two.chunk(1) + 10),
        "cut 10 bytes into the final chunk: shorter than a tag",
    );
    c.fail(
        "truncated_no_payload",
        "truncated",
        &truncate(&base.bytes, base.payload()),
        "cut right after the header MAC",
    );
    c.fail(
        "truncated_in_mac",
        "truncated",
        &truncate(&base.bytes, base.mac() + 10),
        "cut inside the header MAC",
    );
    c.fail(
        "truncated_in_key_slot",
        "truncated",
        &truncate(&base.bytes, base.slot() + 20),
        "cut inside the key slot",
    );
    c.fail(
        "truncated_in_header",
        "truncated",
        &truncate(&base.bytes, base.header_end / 2),
        "cut inside the header JSON",
    );
    c.fail(
        "truncated_in_prefix",
        "truncated",
        &truncate(&base.bytes, 3),
        "only \"SDO\" is left",
    );

    // Data after the end.
    let mut trailing = full.bytes.clone();
    trailing.extend_from_slice(&pseudo_random(16, 7));
    c.fail(
        "trailing_data",
        "trailing_data",
        &trailing,
        "16 bytes appended after a full final chunk",
    );
    let mut trailing = base.bytes.clone();
    trailing.extend_from_slice(&pseudo_random(16, 7));
    c.fail(
        "trailing_data_after_partial_chunk",
        "payload_altered",
        &trailing,
        "16 bytes appended after a partial final chunk: they join that chunk, which then fails authentication",
    );

    // Header, key slot and MAC of one envelope, payload of another (same passphrase).
    let other = seal(small);
    let mut spliced = other.bytes[..other.payload()].to_vec();
    spliced.extend_from_slice(&base.bytes[base.payload()..]);
    c.fail(
        "header_from_other_envelope",
        "payload_altered",
        &spliced,
        "header, key slot and MAC from another envelope with the same passphrase: it unlocks, but chunk 0 is bound to the other header",
    );

    // KDF parameters outside the floor and ceiling, with a valid header MAC.
    let kdf_case = |c: &mut Cases,
                    name: &str,
                    expect: &str,
                    set: &dyn Fn(&mut envelope_core::KdfParams),
                    comment: &str| {
        let mut h = header();
        set(h.kdf.as_mut().unwrap());
        c.fail(name, expect, &seal_unchecked_kdf(h, small).bytes, comment);
    };
    kdf_case(
        &mut c,
        "kdf_memory_under_floor",
        "kdf_too_weak",
        &|k| k.m = MIN_M_KIB - 1,
        "m=19455 KiB, one under the floor; header MAC valid",
    );
    kdf_case(
        &mut c,
        "kdf_passes_under_floor",
        "kdf_too_weak",
        &|k| k.t = MIN_T - 1,
        "t=1, one under the floor; header MAC valid",
    );
    kdf_case(
        &mut c,
        "kdf_lanes_zero",
        "kdf_too_weak",
        &|k| k.p = 0,
        "p=0; header MAC valid",
    );
    kdf_case(
        &mut c,
        "kdf_memory_over_ceiling",
        "kdf_too_costly",
        &|k| k.m = MAX_M_KIB + 1,
        "m=262145 KiB, one over the ceiling; header MAC valid",
    );
    kdf_case(
        &mut c,
        "kdf_passes_over_ceiling",
        "kdf_too_costly",
        &|k| k.t = MAX_T + 1,
        "t=11, one over the ceiling; header MAC valid",
    );
    kdf_case(
        &mut c,
        "kdf_lanes_over_ceiling",
        "kdf_too_costly",
        &|k| k.p = MAX_P + 1,
        "p=5, one over the ceiling; header MAC valid",
    );
    kdf_case(
        &mut c,
        "kdf_unknown_algorithm",
        "malformed_header",
        &|k| k.alg = "scrypt".into(),
        "\"alg\":\"scrypt\"; header MAC valid",
    );

    // Versions.
    let mut v3 = base.bytes.clone();
    v3[4] = 3;
    c.fail(
        "version_byte_3",
        "unsupported_version",
        &v3,
        "the version byte is 3",
    );
    let json = base.header_json();
    c.fail(
        "header_version_3",
        "unsupported_version",
        &base.with_header_json(&json.replacen("{\"v\":2,", "{\"v\":3,", 1)),
        "version byte 2 but \"v\":3 in the header",
    );
    let mut v1 = base.bytes.clone();
    v1[4] = 1;
    c.fail(
        "version_byte_1_header_2",
        "malformed_header",
        &v1,
        "a v2 envelope whose version byte says 1 (the header says 2): the byte and the header must agree",
    );

    // Format v2 containers that do not follow the format: they decrypt (the
    // sealer held the key) but the opener must refuse to show them.
    c.raw(
        "container_not_a_container",
        b"From: alice@example.org\r\n\r\nan RFC 5322 message sealed as it is, as v1 did",
        "a v2 envelope whose payload is not a container (no manifest trailer that reads)",
    );
    let mut past_end = b"0123456789".to_vec();
    let manifest = br#"{"blobs":[100],"eml":[{"blob":0}],"view":{"subject":"","from":"","to":[],"cc":[],"date":null,"text":null,"html":null,"attachments":[]}}"#;
    past_end.extend_from_slice(manifest);
    past_end.extend_from_slice(&(manifest.len() as u32).to_be_bytes());
    c.raw(
        "container_blob_past_end",
        &past_end,
        "the manifest says blob 0 has 100 bytes; there are 10",
    );
    let mut outside = b"0123456789".to_vec();
    let manifest = br#"{"blobs":[10],"eml":[{"blob":0}],"view":{"subject":"","from":"","to":[],"cc":[],"date":null,"text":null,"html":null,"attachments":[{"name":"a","content_type":"text/plain","content_id":null,"size":5,"content":{"eml":[8,13]}}]}}"#;
    outside.extend_from_slice(manifest);
    outside.extend_from_slice(&(manifest.len() as u32).to_be_bytes());
    c.raw(
        "container_attachment_outside",
        &outside,
        "an attachment that is bytes 8..13 of a 10-byte message",
    );
    let mut huge = b"QUJD".to_vec();
    let manifest = br#"{"blobs":[4],"eml":[{"blob":0,"base64":{"line":0,"eol":"crlf","last_eol":true}}],"view":{"subject":"","from":"","to":[],"cc":[],"date":null,"text":null,"html":null,"attachments":[]}}"#;
    huge.extend_from_slice(manifest);
    huge.extend_from_slice(&(manifest.len() as u32).to_be_bytes());
    c.raw(
        "container_zero_line_length",
        &huge,
        "a base64 piece with lines of 0 characters (an endless loop in a careless opener)",
    );

    // Malformed headers.
    let json = base.header_json();
    let extra = json.replacen("\"flags\":{", "\"flags\":{\"download\":true,", 1);
    c.fail(
        "header_unknown_flag",
        "malformed_header",
        &base.with_header_json(&extra),
        "an unknown field in \"flags\"",
    );
    let extra = format!("{},\"note\":\"hi\"}}", &json[..json.len() - 1]);
    c.fail(
        "header_unknown_field",
        "malformed_header",
        &base.with_header_json(&extra),
        "an unknown top-level field \"note\"",
    );
    let duplicate = json.replacen("{\"v\":2,", "{\"v\":2,\"v\":2,", 1);
    c.fail(
        "header_duplicate_field",
        "malformed_header",
        &base.with_header_json(&duplicate),
        "\"v\" twice",
    );
    let mut invalid = base.bytes.clone();
    invalid[base.header_end - 1] = b']';
    c.fail(
        "header_invalid_json",
        "malformed_header",
        &invalid,
        "the header's closing brace replaced by ']'",
    );
    let mut too_long = base.bytes.clone();
    too_long[5..9].copy_from_slice(&(16 * 1024 + 1u32).to_be_bytes());
    c.fail(
        "header_length_too_large",
        "malformed_header",
        &too_long,
        "header length 16385, over the 16 KiB limit",
    );
    let injected = json.replacen(
        "\"from\":\"alice@example.org\"",
        "\"from\":\"alice@example.org\\r\\nBcc: eve@example.com\"",
        1,
    );
    c.fail(
        "header_from_injection",
        "malformed_header",
        &base.with_header_json(&injected),
        "a CR LF and a Bcc line inside the \"from\" address",
    );

    // Not an envelope at all.
    let mut magic = base.bytes.clone();
    magic[3] = b'X';
    c.fail(
        "wrong_magic",
        "not_an_envelope",
        &magic,
        "starts with \"SDOX\"",
    );
    c.fail("empty", "not_an_envelope", b"", "no data at all");
    c.fail_text(
        "not_base64_text",
        "bad_encoding",
        PASSPHRASE,
        "This is not an envelope, just a line of text.".into(),
        "plain text instead of base64",
    );

    // Bad base64.
    let text = to_text(&base.bytes);
    let mut bad = text.clone();
    bad.replace_range(40..41, "*");
    c.fail_text(
        "bad_encoding_in_header",
        "bad_encoding",
        PASSPHRASE,
        bad,
        "a '*' inside the header's base64",
    );
    let mut bad = text.clone();
    bad.replace_range(text.len() - 40..text.len() - 39, "*");
    c.fail_text(
        "bad_encoding_in_payload",
        "bad_encoding",
        PASSPHRASE,
        bad,
        "a '*' inside the payload's base64",
    );
    let wrapped: Vec<&str> = text
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    c.fail_text(
        "bad_encoding_line_wrapped",
        "bad_encoding",
        PASSPHRASE,
        wrapped.join("\n"),
        "base64 wrapped at 76 characters: the data block is one line, whitespace inside it is refused",
    );
    let odd = seal(b"From: alice@example.org\r\n\r\nx");
    let unpadded = to_text(&odd.bytes);
    assert!(unpadded.ends_with('='), "this payload length needs padding");
    c.fail_text(
        "bad_encoding_missing_padding",
        "bad_encoding",
        PASSPHRASE,
        unpadded.trim_end_matches('=').into(),
        "the final '=' padding removed",
    );

    // A key-server envelope offered a passphrase.
    let mut h = header();
    (h.mode, h.kdf, h.key_server) = (Mode::Server, None, Some("https://keys.example.org".into()));
    let sealer = Sealer::new(h, ContentKey::generate()).unwrap();
    let mut server = sealer.head(&[]).unwrap();
    server.extend_from_slice(&sealer.cipher().encrypt(small, |_| {}).unwrap());
    c.fail(
        "wrong_mode_server_envelope",
        "wrong_mode",
        &server,
        "a key-server envelope (no key slot) opened with a passphrase",
    );

    // Write the files, and remove vectors that are no longer generated.
    let dir = vectors_dir();
    let names: std::collections::HashSet<&str> =
        c.vectors.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names.len(), c.vectors.len(), "vector names are unique");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if is_vector_file(&path) && !names.contains(path.file_name().unwrap().to_str().unwrap()) {
            std::fs::remove_file(&path).unwrap();
        }
    }
    for vector in &c.vectors {
        std::fs::write(dir.join(&vector.name), vector.to_file()).unwrap();
    }
    eprintln!("wrote {} vectors to {}", c.vectors.len(), dir.display());
}
