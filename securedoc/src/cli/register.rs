//! Server mode: registering a message's envelopes at the key server.
//!
//! Every recipient's envelope gets a fresh id and a fresh content key; the
//! key server releases each key only to that envelope's recipient. The
//! message body never leaves this machine.

use std::path::Path;

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use envelope_core::{ContentKey, Flags, SecurityLevel};
use key_server::{EnvelopeRegistration, MessageRegistration, RegisteredEnvelope};

use crate::display::printable;
use crate::input::read_file;

/// One recipient's envelope in server mode.
pub struct ServerEnvelope {
    /// Its own message id.
    pub id: [u8; 16],
    /// Its own content key.
    pub cek: ContentKey,
    /// What the key server said about its recipient.
    pub status: RegisteredEnvelope,
}

impl ServerEnvelope {
    /// This envelope's header: `info`, its own id, the key server, and what
    /// the key server said of its recipient (security phrase, language).
    pub fn header(
        &self,
        info: &envelope_core::EnvelopeInfo,
        origin: &str,
        security: SecurityLevel,
        organization: Option<&str>,
    ) -> anyhow::Result<envelope_core::Header> {
        let mut header = info.server_header(self.id, origin, security)?;
        header.phrase = self.status.phrase.clone();
        header.organization = organization.map(str::to_string);
        header.lang = self
            .status
            .language
            .as_deref()
            .map(|code| securedoc_templates::language(code).to_string());
        Ok(header)
    }
}

/// What the key server needs to know about the message.
pub struct Registration<'a> {
    pub origin: &'a str,
    pub token: &'a str,
    pub from: &'a str,
    pub recipients: &'a [String],
    pub expires: Option<i64>,
    pub flags: Flags,
    pub security: SecurityLevel,
    /// Every recipient reads with a one-time passcode (`--security passcode`).
    pub passcode: bool,
    /// The language of the sender's read receipts.
    pub sender_lang: Option<String>,
}

/// A registered message: its id at the key server and its envelopes.
pub struct Registered {
    /// The sending's id (None from a key server that gives none).
    pub message: Option<String>,
    /// In the order of the recipients.
    pub envelopes: Vec<ServerEnvelope>,
    /// The organisation that runs the key server, if its config names it.
    pub organization: Option<String>,
}

/// The HTTP client for the key server: a 30 s timeout, and never a
/// redirect (content keys go to the origin sealed in the envelopes and
/// nowhere else). One is kept by the mail hook, so its connections are reused.
pub fn key_server_client() -> anyhow::Result<reqwest::blocking::Client> {
    Ok(reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// Makes one id and key per recipient and registers them, all in one
/// request, through `client` (from [`key_server_client`]). Returns the
/// envelopes in the order of `recipients`.
pub fn register_with(
    client: &reqwest::blocking::Client,
    registration: &Registration,
) -> anyhow::Result<Registered> {
    let keys: Vec<([u8; 16], ContentKey)> = registration
        .recipients
        .iter()
        .map(|_| (random_id(), ContentKey::generate()))
        .collect();
    let message = MessageRegistration {
        from: registration.from.to_string(),
        expires: registration.expires,
        flags: registration.flags,
        security: registration.security,
        sender_lang: registration.sender_lang.clone(),
        passcode: registration.passcode,
        envelopes: registration
            .recipients
            .iter()
            .zip(&keys)
            .map(|(to, (id, cek))| EnvelopeRegistration {
                id: hex(id),
                recipient: to.clone(),
                content_key: STANDARD.encode(cek.as_bytes()),
            })
            .collect(),
    };
    let (id, statuses, organization) =
        post(client, registration.origin, registration.token, &message)?;
    if statuses.len() != keys.len()
        || statuses
            .iter()
            .zip(&message.envelopes)
            .any(|(status, sent)| status.id != sent.id)
    {
        bail!(
            "{} did not answer like a securedoc key server (the envelopes it registered are not the ones sent)",
            registration.origin
        );
    }
    if id.as_deref().is_some_and(|id| !is_message_id(id)) {
        bail!(
            "{} did not answer like a securedoc key server (its message id is not 32 hex digits)",
            registration.origin
        );
    }
    Ok(Registered {
        message: id,
        envelopes: keys
            .into_iter()
            .zip(statuses)
            .map(|((id, cek), status)| ServerEnvelope { id, cek, status })
            .collect(),
        organization,
    })
}

/// The sender token from `path`.
pub fn read_token(path: &Path) -> anyhow::Result<String> {
    let token = String::from_utf8(read_file(path).context("cannot read the token file")?)
        .map_err(|_| anyhow::anyhow!("{} does not hold a token", path.display()))?;
    let token = token.trim();
    if token.is_empty() {
        bail!(
            "{} is empty; create a token with `securedoc admin token create --name NAME`",
            path.display()
        );
    }
    Ok(token.to_string())
}

/// Posts the registration (the client never follows a redirect).
fn post(
    client: &reqwest::blocking::Client,
    origin: &str,
    token: &str,
    message: &MessageRegistration,
) -> anyhow::Result<(Option<String>, Vec<RegisteredEnvelope>, Option<String>)> {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(default)]
        message: Option<String>,
        envelopes: Vec<RegisteredEnvelope>,
        #[serde(default)]
        organization: Option<String>,
    }
    let response = client
        .post(format!("{origin}/api/v1/messages"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "message": message }))
        .send()
        .with_context(|| format!("cannot reach the key server at {origin}"))?;
    let answer: Answer = read_answer(response, origin, || {
        format!("the key server at {origin} refused the message")
    })?;
    Ok((answer.message, answer.envelopes, answer.organization))
}

/// What the key server says of an envelope it keeps for pull delivery.
#[derive(Debug, serde::Deserialize)]
pub struct StoredEnvelope {
    /// Where the recipient reads it: the notification's link.
    pub portal_url: String,
    /// The bytes it keeps.
    pub size: u64,
}

/// Pull delivery: stores `envelope` (its binary form, header and sealed
/// payload) at the key server under its own registered `id`, for `to`.
pub fn store_envelope(
    client: &reqwest::blocking::Client,
    origin: &str,
    token: &str,
    (id, to): (&str, &str),
    envelope: Vec<u8>,
) -> anyhow::Result<StoredEnvelope> {
    // The client's 30 s are for small requests; an envelope of tens of
    // megabytes gets as long as a slow uplink (256 KB/s) needs on top.
    let timeout = std::time::Duration::from_secs(30 + envelope.len() as u64 / (256 * 1024));
    let response = client
        .put(format!("{origin}/api/v1/messages/{id}/envelope"))
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .timeout(timeout)
        .body(envelope)
        .send()
        .with_context(|| format!("cannot reach the key server at {origin}"))?;
    let stored: StoredEnvelope = read_answer(response, origin, || {
        format!(
            "the key server at {origin} refused to keep the envelope for {}",
            printable(to)
        )
    })?;
    if !stored.portal_url.starts_with(&format!("{origin}/")) {
        bail!(
            "{origin} did not answer like a securedoc key server (its link for {} is not on it: {})",
            printable(to),
            printable(&stored.portal_url)
        );
    }
    Ok(stored)
}

/// A key server's answer: its JSON on success; else a [`Refused`] that
/// says what was refused (`refused`), the status and the server's own
/// message, or an error naming a redirect, which is never followed.
fn read_answer<T: serde::de::DeserializeOwned>(
    response: reqwest::blocking::Response,
    origin: &str,
    refused: impl FnOnce() -> String,
) -> anyhow::Result<T> {
    let status = response.status();
    if status.is_redirection() {
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|l| printable(&String::from_utf8_lossy(l.as_bytes())).into_owned())
            .unwrap_or_else(|| "nowhere".into());
        bail!(
            "the key server at {origin} answered with a redirect ({status}) to {location}; \
             securedoc never sends content keys to another address. If that address is the \
             real key server, give it with --key-server"
        );
    }
    if status.is_success() {
        return response
            .json()
            .with_context(|| format!("{origin} did not answer like a securedoc key server"));
    }
    let code = status.as_u16();
    let body = response.json::<serde_json::Value>().ok();
    let said = body
        .as_ref()
        .and_then(|v| v["message"].as_str().or_else(|| v["error"].as_str()))
        .map(|r| printable(r).into_owned());
    let message = match (status, said) {
        (reqwest::StatusCode::UNAUTHORIZED, said) => format!(
            "the key server at {origin} refused the token ({}); check --token-file",
            said.unwrap_or_else(|| status.to_string())
        ),
        (_, Some(said)) => format!("{} ({status}): {said}", refused()),
        (_, None) => format!("{} ({status})", refused()),
    };
    Err(Refused {
        status: code,
        message,
    }
    .into())
}

/// The key server answered, and said no (the mail hook tells a refusal
/// that will last from one that may pass).
#[derive(Debug)]
pub struct Refused {
    /// The HTTP status.
    pub status: u16,
    /// What to tell a person.
    pub message: String,
}

impl Refused {
    /// Whether asking again later may work: a refused token (the
    /// administrator can fix it), a limit, a server error.
    pub fn is_temporary(&self) -> bool {
        matches!(self.status, 401 | 408 | 429) || self.status >= 500
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refused {}

/// 32 lowercase hex digits: a message or envelope id.
pub fn is_message_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn random_id() -> [u8; 16] {
    let mut id = [0u8; 16];
    getrandom::getrandom(&mut id).expect("the operating system's random number generator failed");
    id
}

/// Lowercase hex, as ids travel.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
