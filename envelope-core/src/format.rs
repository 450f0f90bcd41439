//! The byte layout of an envelope (format v1 and v2 share it) and its text (base64) form.
//!
//! ```text
//! magic "SDOC" | version u8 (1 or 2) | header length u32 BE | header JSON
//! | key slot (48 bytes, passphrase mode only) | header MAC (32 bytes) | payload chunks
//! ```
//!
//! The *header section* is everything from the magic to the end of the header
//! JSON; its SHA-256 is the associated data of every payload chunk. The header
//! MAC is HMAC-SHA256 over everything before it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::OpenError;
use crate::header::{Header, Mode, MAX_HEADER_LEN};
use crate::kdf::WRAPPED_KEY_LEN;
use crate::keys::{ContentKey, HEADER_MAC_INFO};

/// The four bytes every envelope starts with.
pub const MAGIC: &[u8; 4] = b"SDOC";
/// Bytes before the header JSON: magic, version, length.
pub const PREFIX_LEN: usize = 9;
/// Bytes of the header MAC.
pub const MAC_LEN: usize = 32;

/// An envelope split into its parts, borrowing the bytes. Nothing here has been
/// authenticated yet: [`crate::Envelope::unlock_with_passphrase`] does that.
#[derive(Debug)]
pub struct Envelope<'a> {
    pub(crate) header: Header,
    pub(crate) header_section: &'a [u8],
    #[cfg_attr(not(feature = "passphrase"), allow(dead_code))]
    pub(crate) key_slot: &'a [u8],
    pub(crate) authenticated: &'a [u8],
    pub(crate) mac: &'a [u8],
    pub(crate) payload: &'a [u8],
}

impl<'a> Envelope<'a> {
    /// Splits envelope bytes into their parts and parses the header.
    pub fn parse(bytes: &'a [u8]) -> Result<Envelope<'a>, OpenError> {
        let header_len = header_len(bytes)?;
        let header_end = PREFIX_LEN + header_len;
        let header_bytes = bytes
            .get(PREFIX_LEN..header_end)
            .ok_or(OpenError::Truncated)?;
        let header = Header::from_bytes(header_bytes)?;
        if header.v != u32::from(bytes[4]) {
            return Err(OpenError::MalformedHeader(format!(
                "the header says version {} but the envelope's version byte is {}",
                header.v, bytes[4]
            )));
        }
        let slot_len = match header.mode {
            Mode::Passphrase => WRAPPED_KEY_LEN,
            Mode::Server => 0,
        };
        let mac_start = header_end + slot_len;
        let payload_start = mac_start + MAC_LEN;
        if bytes.len() < payload_start {
            return Err(OpenError::Truncated);
        }
        Ok(Envelope {
            header,
            header_section: &bytes[..header_end],
            key_slot: &bytes[header_end..mac_start],
            authenticated: &bytes[..mac_start],
            mac: &bytes[mac_start..payload_start],
            payload: &bytes[payload_start..],
        })
    }

    /// The header as sealed (not yet authenticated: show it, don't trust it).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Bytes of encrypted payload.
    pub fn payload_len(&self) -> usize {
        self.payload.len()
    }
}

/// Reads the magic, version and header length; the first check any opener makes.
pub fn header_len(bytes: &[u8]) -> Result<usize, OpenError> {
    if bytes.len() < PREFIX_LEN {
        return Err(if MAGIC.starts_with(bytes) && !bytes.is_empty() {
            OpenError::Truncated
        } else {
            OpenError::NotAnEnvelope
        });
    }
    if &bytes[..4] != MAGIC {
        return Err(OpenError::NotAnEnvelope);
    }
    if !crate::READABLE_VERSIONS.contains(&u32::from(bytes[4])) {
        return Err(OpenError::UnsupportedVersion(bytes[4].into()));
    }
    let len = u32::from_be_bytes(bytes[5..9].try_into().expect("4 bytes")) as usize;
    if len == 0 || len > MAX_HEADER_LEN {
        return Err(OpenError::MalformedHeader(format!(
            "header length {len} is out of range"
        )));
    }
    Ok(len)
}

/// The header section's bytes: magic, version, length and the header JSON.
pub(crate) fn header_section(version: u32, header_json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(PREFIX_LEN + header_json.len());
    out.extend_from_slice(MAGIC);
    out.push(version as u8);
    out.extend_from_slice(&(header_json.len() as u32).to_be_bytes());
    out.extend_from_slice(header_json);
    out
}

/// SHA-256 of the header section: the associated data of every chunk.
pub(crate) fn header_digest(header_section: &[u8]) -> [u8; 32] {
    Sha256::digest(header_section).into()
}

fn header_mac(cek: &ContentKey, message_id: &[u8; 16]) -> Hmac<Sha256> {
    let key = cek.derive(message_id, HEADER_MAC_INFO);
    <Hmac<Sha256> as Mac>::new_from_slice(key.as_ref()).expect("HMAC takes any key length")
}

/// The header MAC over `authenticated` (header section and key slot).
pub(crate) fn compute_mac(
    cek: &ContentKey,
    message_id: &[u8; 16],
    authenticated: &[u8],
) -> [u8; MAC_LEN] {
    let mut mac = header_mac(cek, message_id);
    mac.update(authenticated);
    mac.finalize().into_bytes().into()
}

/// Checks the header MAC in constant time.
pub(crate) fn verify_mac(
    cek: &ContentKey,
    message_id: &[u8; 16],
    authenticated: &[u8],
    tag: &[u8],
) -> Result<(), OpenError> {
    let mut mac = header_mac(cek, message_id);
    mac.update(authenticated);
    mac.verify_slice(tag).map_err(|_| OpenError::HeaderAltered)
}

/// The text form: standard base64 with padding, on one line. This is what the
/// HTML envelope carries in its data block.
pub fn to_text(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes the text form. Surrounding ASCII whitespace is ignored; anything
/// else that is not base64 is an error.
pub fn from_text(text: &str) -> Result<Vec<u8>, OpenError> {
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    STANDARD.decode(text).map_err(|_| OpenError::BadEncoding)
}

/// Decodes only as much of the text form as the header needs, so a page can
/// show who sent an envelope without decoding megabytes of payload. Gives the
/// same error kinds as a full open would for the same bytes.
pub fn header_from_text(text: &str) -> Result<Header, OpenError> {
    let text = text
        .trim_start_matches(|c: char| c.is_ascii_whitespace())
        .as_bytes();
    let prefix = decode_prefix(text, PREFIX_LEN)?;
    let len = header_len(&prefix)?;
    let bytes = decode_prefix(text, PREFIX_LEN + len)?;
    if bytes.len() < PREFIX_LEN + len {
        return Err(OpenError::Truncated);
    }
    let header = Header::from_bytes(&bytes[PREFIX_LEN..PREFIX_LEN + len])?;
    if header.v != u32::from(bytes[4]) {
        return Err(OpenError::MalformedHeader(format!(
            "the header says version {} but the envelope's version byte is {}",
            header.v, bytes[4]
        )));
    }
    Ok(header)
}

/// Decodes the shortest prefix of whole base64 groups that holds
/// `bytes_needed` bytes, or all of the text if it is shorter.
fn decode_prefix(text: &[u8], bytes_needed: usize) -> Result<Vec<u8>, OpenError> {
    let chars = (bytes_needed.div_ceil(3) * 4).min(text.len());
    let part = &text[..chars];
    // A prefix that stops inside a group is decoded up to its last whole group;
    // whatever is missing shows up as `truncated` in the caller.
    let whole = if chars == text.len() {
        part
    } else {
        &part[..chars / 4 * 4]
    };
    STANDARD.decode(whole).map_err(|_| OpenError::BadEncoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_only_read_fails_like_a_full_open() {
        for text in [
            "",
            "aGk=",
            "hello world",
            "U0RPQw==",
            "U0RPQwEAAAAK",
            "U0RPQwEAAAAKe30=",
            "\u{e9}\u{e9}\u{e9}\u{e9}",
        ] {
            let full = from_text(text).and_then(|bytes| Envelope::parse(&bytes).map(|_| ()));
            let header = header_from_text(text).map(|_| ());
            assert_eq!(
                header.map_err(|e| e.kind()),
                full.map_err(|e| e.kind()),
                "text {text:?}"
            );
        }
    }
}
