//! # envelope-core
//!
//! The securedoc envelope, format v2 (and v1 for opening): a message sealed under a
//! random per-message content key with XChaCha20-Poly1305 STREAM, the key
//! either wrapped under an Argon2id passphrase key or held by a key server.
//! `docs/FORMAT.md` in the repository describes the bytes.
//!
//! This crate does no I/O and starts no threads, so the same code seals on a
//! server and opens in a browser (wasm32). Randomness comes from `getrandom`
//! (the OS, or `crypto.getRandomValues` in a browser).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod format;
mod header;
mod kdf;
mod keys;
mod message;
mod open;
mod payload;
#[cfg(feature = "server")]
mod release;
mod seal;
mod stream;

#[cfg(feature = "compose")]
mod compose;

pub use error::{OpenError, SealError};
pub use format::{from_text, header_from_text, header_len, to_text, Envelope, MAGIC};
pub use header::{
    validate_address, validate_origin, Flags, Header, Mode, SecurityLevel, MAX_HEADER_LEN,
};
pub use kdf::{
    KdfParams, DEFAULT_M_KIB, DEFAULT_P, DEFAULT_T, MAX_M_KIB, MAX_P, MAX_T, MIN_M_KIB, MIN_T,
};
pub use keys::ContentKey;
#[cfg(feature = "mime")]
pub use message::content_size;
pub use message::{sanitize_filename, Attachment, Listed, MessageError, MessageView, View};
#[cfg(feature = "passphrase")]
pub use open::open_with_passphrase;
#[cfg(feature = "pack")]
pub use payload::{pack, Packed};
pub use payload::{AttachmentEntry, Container, Eol, Layout, OpenedMessage, Summary};
#[cfg(feature = "server")]
pub use release::{
    seal_answer_token, seal_released_key, KeyRequest, ReleaseError, ANSWER_TOKEN_INFO, HPKE_INFO,
};
#[cfg(feature = "passphrase")]
pub use seal::seal_with_passphrase;
pub use seal::{EnvelopeInfo, Sealer};
pub use stream::{PayloadCipher, Progress, CHUNK_LEN, SEALED_CHUNK_LEN};

#[cfg(feature = "compose")]
pub use compose::{compose, Draft, DraftAttachment};

/// The format version this crate writes.
pub const FORMAT_VERSION: u32 = 2;

/// The format versions this crate opens.
pub const READABLE_VERSIONS: [u32; 2] = [1, 2];

/// Fills `buf` from the operating system's CSPRNG. A platform without one
/// cannot seal safely, so this panics rather than returning weak bytes.
pub(crate) fn fill_random(buf: &mut [u8]) {
    getrandom::getrandom(buf).expect("the operating system's random number generator failed");
}
