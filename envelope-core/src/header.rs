//! The envelope header: canonical JSON, authenticated as a whole.
//!
//! The header is stored as the exact bytes that were sealed; those bytes, not a
//! re-serialisation, are what the header authenticator and every payload chunk
//! are bound to. Parsing is strict (unknown and duplicate fields are errors) so
//! that what an opener shows is exactly what was sealed.

use serde::{Deserialize, Serialize};

use crate::error::OpenError;
use crate::kdf::KdfParams;
use crate::READABLE_VERSIONS;

/// Largest header accepted, in bytes. Real headers are well under 2 KiB.
pub const MAX_HEADER_LEN: usize = 16 * 1024;
/// Largest length of one address or of the personal security phrase.
const MAX_FIELD_LEN: usize = 320;

/// How the content key is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The content key is wrapped under a key derived from a passphrase.
    Passphrase,
    /// The content key is held by the key server named in the header.
    Server,
}

impl Mode {
    /// The lowercase name used in the header and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Passphrase => "passphrase",
            Mode::Server => "server",
        }
    }
}

/// How often the key server asks the recipient for a password (CRES levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecurityLevel {
    /// Password every time.
    #[default]
    High,
    /// "Remember me on this computer" allowed.
    Medium,
    /// No password.
    Low,
}

/// What the sender allows the recipient to do with the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flags {
    /// Reply allowed.
    pub reply: bool,
    /// Reply to all allowed.
    pub reply_all: bool,
    /// Forward allowed.
    pub forward: bool,
    /// Print allowed (the opener shows a Print button).
    pub print: bool,
    /// The sender asked for a read receipt.
    pub read_receipt: bool,
}

impl Default for Flags {
    fn default() -> Self {
        Flags {
            reply: true,
            reply_all: true,
            forward: true,
            print: true,
            read_receipt: false,
        }
    }
}

/// The envelope header (formats v1 and v2 share it). Field order here is the canonical order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Format version: [`crate::FORMAT_VERSION`] when sealing, any of
    /// [`READABLE_VERSIONS`] when opening.
    pub v: u32,
    /// Message id: 128 random bits, lowercase hex.
    pub id: String,
    /// How the content key is obtained.
    pub mode: Mode,
    /// Key-server origin (`https://host[:port]`), server mode only.
    pub key_server: Option<String>,
    /// Passphrase KDF parameters, passphrase mode only.
    pub kdf: Option<KdfParams>,
    /// STREAM nonce prefix: 19 random bytes, lowercase hex.
    pub nonce: String,
    /// Sender address.
    pub from: String,
    /// This envelope's recipient address.
    pub to: String,
    /// When it was sealed, Unix seconds (UTC).
    pub created: i64,
    /// When it expires, Unix seconds (UTC), if ever.
    pub expires: Option<i64>,
    /// The sender's flags.
    pub flags: Flags,
    /// Security level (server mode).
    pub security: SecurityLevel,
    /// The recipient's personal security phrase, display only (server mode).
    pub phrase: Option<String>,
    /// The language the envelope page speaks (`en`, `fr`, …), display only;
    /// absent means English. Left out of the bytes when absent, so headers
    /// sealed before it existed keep their exact bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The organisation that runs the key server, as the page names it
    /// (server mode, display only); absent means the key server's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
}

impl Header {
    /// The canonical bytes of this header: compact JSON in field order.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a header always serialises")
    }

    /// Parses and validates header bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Header, OpenError> {
        let header: Header =
            serde_json::from_slice(bytes).map_err(|e| OpenError::MalformedHeader(e.to_string()))?;
        if !READABLE_VERSIONS.contains(&header.v) {
            return Err(OpenError::UnsupportedVersion(header.v));
        }
        header.validate().map_err(OpenError::MalformedHeader)?;
        Ok(header)
    }

    /// Checks the invariants a sealer must keep and an opener relies on.
    pub fn validate(&self) -> Result<(), String> {
        if !READABLE_VERSIONS.contains(&self.v) {
            return Err(format!("format version {} does not exist", self.v));
        }
        if decode_hex::<16>(&self.id).is_none() {
            return Err("id must be 32 lowercase hex digits".into());
        }
        if decode_hex::<NONCE_PREFIX_LEN>(&self.nonce).is_none() {
            return Err("nonce must be 38 lowercase hex digits".into());
        }
        match (self.mode, &self.kdf, &self.key_server) {
            (Mode::Passphrase, Some(_), None) => {}
            (Mode::Server, None, Some(url)) => validate_origin(url)?,
            (Mode::Passphrase, _, _) => {
                return Err("passphrase mode needs kdf and no key_server".into())
            }
            (Mode::Server, _, _) => return Err("server mode needs key_server and no kdf".into()),
        }
        validate_address("from", &self.from)?;
        validate_address("to", &self.to)?;
        if let Some(expires) = self.expires {
            if expires <= self.created {
                return Err("expires must be after created".into());
            }
        }
        for (field, value) in [
            ("phrase", &self.phrase),
            ("organization", &self.organization),
        ] {
            if let Some(value) = value {
                if value.chars().count() > MAX_FIELD_LEN || value.chars().any(char::is_control) {
                    return Err(format!("{field} is too long or has control characters"));
                }
            }
        }
        if let Some(lang) = &self.lang {
            if !is_language_tag(lang) {
                return Err("lang must be a language code such as en or fr-CA".into());
            }
        }
        if self.organization.is_some() && self.mode != Mode::Server {
            return Err("organization names a key server: server mode only".into());
        }
        Ok(())
    }

    /// The message id as bytes.
    pub fn id_bytes(&self) -> [u8; 16] {
        decode_hex(&self.id).expect("validated")
    }

    /// The STREAM nonce prefix as bytes.
    pub fn nonce_bytes(&self) -> [u8; NONCE_PREFIX_LEN] {
        decode_hex(&self.nonce).expect("validated")
    }
}

/// A short language tag: 2 or 3 lowercase letters, optionally `-` and 2 to 8
/// letters or digits (`en`, `fr`, `pt-BR`).
fn is_language_tag(tag: &str) -> bool {
    let (primary, region) = match tag.split_once('-') {
        Some((p, r)) => (p, Some(r)),
        None => (tag, None),
    };
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| {
            (2..=8).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// Length of the STREAM nonce prefix: XChaCha20's 24 bytes less STREAM's
/// 4-byte counter and 1-byte last-chunk flag.
pub const NONCE_PREFIX_LEN: usize = 19;

/// A minimal, deliberately strict address check: one `@`, a non-empty local
/// part and a domain with a dot, no spaces, angle brackets or control characters.
/// It is there to catch typing mistakes and header injection, not to implement RFC 5321.
pub fn validate_address(field: &str, address: &str) -> Result<(), String> {
    let bad = || format!("{field}: '{address}' is not a valid e-mail address");
    if address.len() > MAX_FIELD_LEN
        || address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>(),;:\\\"[]".contains(c))
    {
        return Err(bad());
    }
    let (local, domain) = address.rsplit_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || local.contains('@')
        || domain.len() < 3
        || !domain.contains('.')
        || domain.starts_with(['.', '-'])
        || domain.ends_with(['.', '-'])
        || domain.contains("..")
    {
        return Err(bad());
    }
    Ok(())
}

/// A key-server origin: `https://host[:port]`, or `http://` for loopback only
/// (local demos and tests).
pub fn validate_origin(url: &str) -> Result<(), String> {
    let (scheme, authority) = url
        .split_once("://")
        .ok_or_else(|| format!("key_server '{url}' must be an https:// origin"))?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => (host, Some(port)),
        _ => (authority, None),
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if !port_ok || !host_ok {
        return Err(format!(
            "key_server '{url}' must be an origin such as https://keys.example.org"
        ));
    }
    let loopback = host == "localhost" || host == "127.0.0.1";
    match scheme {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!("key_server '{url}' must be an https:// origin")),
    }
}

/// Decodes exactly `N` bytes of lowercase hex.
pub(crate) fn decode_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes = text.as_bytes();
    if bytes.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// Lowercase hex of bytes.
pub(crate) fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_that_users_type_wrong_are_refused() {
        for bad in [
            "",
            "bob",
            "bob@",
            "@example.org",
            "bob@example",
            "bob smith@example.org",
            "bob@example.org\r\nBcc: eve@evil.test",
            "<bob@example.org>",
            "bob@.org",
            "bob@example..org",
        ] {
            assert!(validate_address("to", bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "bob@example.org",
            "first.last+tag@sub.example.co.uk",
            "o'neil@example.ie",
        ] {
            assert!(validate_address("to", good).is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn key_server_must_be_an_https_origin_or_loopback() {
        assert!(validate_origin("https://keys.example.org").is_ok());
        assert!(validate_origin("https://keys.example.org:8443").is_ok());
        assert!(validate_origin("http://127.0.0.1:8080").is_ok());
        assert!(validate_origin("http://keys.example.org").is_err());
        assert!(validate_origin("https://keys.example.org/path").is_err());
        assert!(validate_origin("http://127.0.0.1.evil.test").is_err());
    }

    #[test]
    fn hex_round_trips_and_rejects_uppercase() {
        let bytes = [0xde, 0xad, 0xbe, 0xef];
        assert_eq!(decode_hex::<4>(&encode_hex(&bytes)), Some(bytes));
        assert_eq!(decode_hex::<4>("DEADBEEF"), None);
        assert_eq!(decode_hex::<4>("deadbe"), None);
    }

    #[test]
    fn language_and_organisation_are_optional_and_left_out_when_absent() {
        let info = crate::EnvelopeInfo {
            from: "alice@example.org".into(),
            to: "bob@example.net".into(),
            created: 1_700_000_000,
            expires: None,
            flags: Flags::default(),
        };
        let mut header = info
            .server_header([7; 16], "https://keys.example.org", SecurityLevel::High)
            .unwrap();
        let plain = String::from_utf8(header.to_bytes()).unwrap();
        assert!(
            !plain.contains("lang") && !plain.contains("organization"),
            "{plain}"
        );
        header.lang = Some("fr".into());
        header.organization = Some("Clinique du Parc".into());
        let parsed = Header::from_bytes(&header.to_bytes()).unwrap();
        assert_eq!(parsed, header);
        for bad in ["FR", "f", "fr_CA", "fr-", "english", "fr-CA-x-1"] {
            header.lang = Some(bad.into());
            assert!(header.validate().is_err(), "{bad:?} accepted");
        }
        header.lang = Some("pt-BR".into());
        header.organization = Some("Clinic\nBcc: eve@evil.test".into());
        assert!(header.validate().is_err(), "control characters refused");
        let passphrase = info.passphrase_header(19456, 2, 1).unwrap();
        let mut named = passphrase.clone();
        named.organization = Some("Clinic".into());
        assert!(named.validate().is_err(), "no key server to name");
    }
}
