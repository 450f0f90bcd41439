//! Errors, one enum per operation. Each variant of [`OpenError`] has a stable
//! [`kind`](OpenError::kind) so tests, the CLI and the browser opener can tell
//! failures apart without matching on message text.

use thiserror::Error;

/// Why an envelope could not be opened.
///
/// The messages are written for the person holding the envelope; the
/// [`kind`](Self::kind) is for programs.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The data does not start with the envelope magic, or is not valid base64.
    #[error("this is not a securedoc envelope")]
    NotAnEnvelope,
    /// The envelope's data block is not valid base64.
    #[error("this envelope is damaged or has been altered (its data is not valid base64)")]
    BadEncoding,
    /// The envelope uses a format version this opener does not know.
    #[error("this envelope uses format version {0}, which this opener does not support; use a newer securedoc")]
    UnsupportedVersion(u32),
    /// The header is not valid (bad JSON, missing or unknown fields).
    #[error("this envelope is damaged or has been altered (malformed header: {0})")]
    MalformedHeader(String),
    /// The passphrase KDF parameters are below the floor: a downgrade attempt
    /// or a sealer that does not follow the format.
    #[error("this envelope's passphrase protection is weaker than allowed ({0}); it was refused")]
    KdfTooWeak(String),
    /// The passphrase KDF parameters are above the ceiling: opening it would
    /// use unreasonable memory or time.
    #[error("this envelope asks for more memory or time than allowed to check the passphrase ({0}); it was refused")]
    KdfTooCostly(String),
    /// The passphrase does not unlock the content key.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The envelope needs a different way to unlock it (e.g. a passphrase was
    /// given for a key-server envelope).
    #[error("this envelope is opened with {expected}, not with {given}")]
    WrongMode {
        /// What the envelope needs.
        expected: &'static str,
        /// What the caller offered.
        given: &'static str,
    },
    /// The header authenticator does not match: some header byte was changed.
    #[error("this envelope is damaged or has been altered (header)")]
    HeaderAltered,
    /// A payload chunk failed authentication: changed, dropped, duplicated or
    /// reordered data, or a header from another envelope.
    #[error("this envelope is damaged or has been altered (chunk {0})")]
    PayloadAltered(u32),
    /// The payload ends before its final chunk.
    #[error("this envelope is damaged or has been altered (truncated)")]
    Truncated,
    /// Data follows the final chunk.
    #[error("this envelope is damaged or has been altered (data after the end)")]
    TrailingData,
}

impl OpenError {
    /// A stable, machine-readable name for the failure.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotAnEnvelope => "not_an_envelope",
            Self::BadEncoding => "bad_encoding",
            Self::UnsupportedVersion(_) => "unsupported_version",
            Self::MalformedHeader(_) => "malformed_header",
            Self::KdfTooWeak(_) => "kdf_too_weak",
            Self::KdfTooCostly(_) => "kdf_too_costly",
            Self::WrongPassphrase => "wrong_passphrase",
            Self::WrongMode { .. } => "wrong_mode",
            Self::HeaderAltered => "header_altered",
            Self::PayloadAltered(_) => "payload_altered",
            Self::Truncated => "truncated",
            Self::TrailingData => "trailing_data",
        }
    }

    /// True when the failure means the file itself is damaged or was altered
    /// (as opposed to a wrong secret or a refused parameter).
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            Self::MalformedHeader(_)
                | Self::BadEncoding
                | Self::HeaderAltered
                | Self::PayloadAltered(_)
                | Self::Truncated
                | Self::TrailingData
        )
    }
}

/// Why an envelope could not be sealed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SealError {
    /// The passphrase is empty.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// The KDF parameters are outside what an opener accepts.
    #[error("{0}")]
    KdfParams(String),
    /// A header field is not acceptable (too long, invalid address, ...).
    #[error("{0}")]
    Header(String),
    /// The payload is larger than the format can carry.
    #[error("the message is too large for an envelope")]
    TooLarge,
}
