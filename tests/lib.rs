//! Shared helpers for the cross-crate suites (see the `[[test]]` targets).
//!
//! [`vectors`] reads and writes the known-answer files in `tests/vectors/` and
//! opens them with the native (Rust) opener; `vectors/run.rs` also opens them
//! with the WebAssembly opener and compares.

#![forbid(unsafe_code)]

pub mod vectors {
    //! The test-vector file format (see `tests/vectors/README.md`).

    use std::fmt::Write as _;
    use std::path::{Path, PathBuf};

    use envelope_core::{Envelope, OpenError, OpenedMessage};
    use sha2::{Digest, Sha256};

    /// The `expect:` value of a vector that opens.
    pub const SUCCESS: &str = "success";
    /// The `message:` value when the decrypted payload is a readable message.
    pub const MESSAGE_OK: &str = "ok";
    /// How many base64 characters the browser hands `header_json` first.
    pub const HEADER_PREFIX_CHARS: usize = 64 * 1024;

    /// One vector file.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Vector {
        /// The file name.
        pub name: String,
        /// `success` or an `OpenError::kind()`.
        pub expect: String,
        /// The passphrase to open with (may be empty).
        pub passphrase: String,
        /// SHA-256 (hex) of the decrypted payload, success only.
        pub payload: Option<String>,
        /// For success: `ok` (the default) or the kind the message parser
        /// returns for a payload that is not an e-mail message.
        pub message: Option<String>,
        /// Free text.
        pub comments: Vec<String>,
        /// The envelope's text form, exactly as a page carries it.
        pub text: String,
    }

    impl Vector {
        /// Parses a vector file: `key: value` lines, a blank line, the text.
        /// One newline at the very end of the file is not part of the text.
        pub fn parse(name: &str, content: &str) -> Result<Vector, String> {
            let (head, text) = content.split_once("\n\n").ok_or_else(|| {
                format!("{name}: no blank line between the header lines and the envelope text")
            })?;
            let text = text.strip_suffix('\n').unwrap_or(text);
            let mut vector = Vector {
                name: name.to_string(),
                expect: String::new(),
                passphrase: String::new(),
                payload: None,
                message: None,
                comments: Vec::new(),
                text: text.to_string(),
            };
            let mut seen_passphrase = false;
            for line in head.lines() {
                let (key, value) = line
                    .split_once(':')
                    .ok_or_else(|| format!("{name}: header line {line:?} is not 'key: value'"))?;
                let value = value.strip_prefix(' ').unwrap_or(value);
                match key {
                    "expect" => vector.expect = value.to_string(),
                    "passphrase" => {
                        vector.passphrase = value.to_string();
                        seen_passphrase = true;
                    }
                    "payload" => vector.payload = Some(value.to_string()),
                    "message" => vector.message = Some(value.to_string()),
                    "comment" => vector.comments.push(value.to_string()),
                    other => return Err(format!("{name}: unknown header line '{other}'")),
                }
            }
            if vector.expect.is_empty() || !seen_passphrase {
                return Err(format!(
                    "{name}: 'expect' and 'passphrase' lines are required"
                ));
            }
            if (vector.expect == SUCCESS) != vector.payload.is_some() {
                return Err(format!(
                    "{name}: a 'payload' line is required for success vectors and only for them"
                ));
            }
            Ok(vector)
        }

        /// The file's content.
        pub fn to_file(&self) -> String {
            let mut out = String::new();
            writeln!(out, "expect: {}", self.expect).unwrap();
            if self.passphrase.is_empty() {
                out.push_str("passphrase:\n");
            } else {
                writeln!(out, "passphrase: {}", self.passphrase).unwrap();
            }
            if let Some(payload) = &self.payload {
                writeln!(out, "payload: {payload}").unwrap();
            }
            if let Some(message) = &self.message {
                writeln!(out, "message: {message}").unwrap();
            }
            for comment in &self.comments {
                writeln!(out, "comment: {comment}").unwrap();
            }
            out.push('\n');
            out.push_str(&self.text);
            out.push('\n');
            out
        }

        /// The `message:` outcome this vector expects on success.
        pub fn expected_message(&self) -> &str {
            self.message.as_deref().unwrap_or(MESSAGE_OK)
        }

        /// Compares an opener's outcome with what the vector expects; the
        /// error says what differs.
        pub fn check(&self, outcome: &Outcome) -> Result<(), String> {
            let mut problems = Vec::new();
            if outcome.kind != self.expect {
                problems.push(format!("expected {}, got {}", self.expect, outcome.kind));
            }
            if let Some(header_kind) = &outcome.header_kind {
                if *header_kind != self.expect {
                    problems.push(format!(
                        "the header-only step failed with {header_kind}, expected {}",
                        self.expect
                    ));
                }
            }
            if self.expect == SUCCESS && outcome.kind == SUCCESS {
                if outcome.sha256 != self.payload {
                    problems.push(format!(
                        "payload SHA-256 is {}, expected {}",
                        outcome.sha256.as_deref().unwrap_or("none"),
                        self.payload.as_deref().unwrap_or("none")
                    ));
                }
                if outcome.message.as_deref() != Some(self.expected_message()) {
                    problems.push(format!(
                        "message parse gave {}, expected {}",
                        outcome.message.as_deref().unwrap_or("nothing"),
                        self.expected_message()
                    ));
                }
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("; "))
            }
        }
    }

    /// What an opener made of a vector.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct Outcome {
        /// The header-only step's error kind, if it failed.
        pub header_kind: Option<String>,
        /// `success` or the error kind of the full open.
        pub kind: String,
        /// SHA-256 (hex) of the decrypted payload, on success.
        pub sha256: Option<String>,
        /// On success: `ok` or the message parser's error kind.
        pub message: Option<String>,
    }

    /// Lowercase hex SHA-256.
    pub fn sha256_hex(bytes: &[u8]) -> String {
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Opens envelope text with a passphrase the native way: decode, parse,
    /// unlock, decrypt.
    /// Returns the format version and the decrypted payload.
    pub fn open_native(text: &str, passphrase: &str) -> Result<(u32, Vec<u8>), OpenError> {
        let bytes = envelope_core::from_text(text)?;
        let envelope = Envelope::parse(&bytes)?;
        let cipher = envelope.unlock_with_passphrase(passphrase.as_bytes())?;
        Ok((
            envelope.header().v,
            cipher.decrypt(envelope.sealed_payload())?,
        ))
    }

    /// Everything the native opener says about a vector: the header-only step
    /// the page makes first (on the first 64 Ki characters), then the full open.
    pub fn native_outcome(text: &str, passphrase: &str) -> Outcome {
        let prefix: String = text.chars().take(HEADER_PREFIX_CHARS).collect();
        let header_kind = envelope_core::header_from_text(&prefix)
            .err()
            .map(|e| e.kind().to_string());
        match open_native(text, passphrase) {
            // The message is the .eml the opener gives back (a v2 container
            // that does not read: its payload as it decrypted).
            Ok((version, payload)) => match OpenedMessage::read(version, payload) {
                Ok(opened) => Outcome {
                    header_kind,
                    kind: SUCCESS.into(),
                    sha256: Some(sha256_hex(&opened.eml())),
                    message: Some(match opened.view() {
                        Ok(_) => MESSAGE_OK.into(),
                        // The kind the WebAssembly opener gives this error.
                        Err(_) => "not_a_message".into(),
                    }),
                },
                Err((_, payload)) => Outcome {
                    header_kind,
                    kind: SUCCESS.into(),
                    sha256: Some(sha256_hex(&payload)),
                    message: Some("not_a_message".into()),
                },
            },
            Err(error) => Outcome {
                header_kind,
                kind: error.kind().into(),
                ..Outcome::default()
            },
        }
    }

    /// `tests/vectors/`.
    pub fn vectors_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
    }

    /// True for a vector file: a file in `tests/vectors/` whose name has no
    /// extension (the generator, runner and README all have one).
    pub fn is_vector_file(path: &Path) -> bool {
        path.is_file()
            && path.extension().is_none()
            && !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
    }

    /// Every vector in `dir`, sorted by name.
    pub fn read_vectors(dir: &Path) -> Result<Vec<Vector>, String> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let mut vectors = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
                .path();
            if !is_vector_file(&path) {
                continue;
            }
            let name = path
                .file_name()
                .expect("a file has a name")
                .to_string_lossy()
                .into_owned();
            let content = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            vectors.push(Vector::parse(&name, &content)?);
        }
        vectors.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(vectors)
    }
}
