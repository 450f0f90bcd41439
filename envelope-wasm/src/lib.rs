//! # envelope-wasm
//!
//! What the envelope page's JavaScript calls. Everything of substance is in
//! `envelope-core`; this crate only moves bytes and errors across the
//! JavaScript boundary. It is built for `wasm32-unknown-unknown` by the
//! templates crate's build script and inlined into every `securedoc.html`.
//!
//! The page feeds the envelope's base64 text in slices and decrypts a few
//! chunks per call, yielding to the browser in between, so a large message
//! shows progress and never freezes the page.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
#[cfg(feature = "server")]
use envelope_core::KeyRequest;
use envelope_core::{
    Envelope, Listed, OpenError, OpenedMessage, PayloadCipher, Progress, View, SEALED_CHUNK_LEN,
};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use zeroize::Zeroize;

/// Throws a JavaScript `Error` whose `kind` property is the stable error kind.
fn js_error(kind: &str, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&error, &"kind".into(), &kind.into());
    error.into()
}

fn open_error(error: OpenError) -> JsValue {
    js_error(error.kind(), &error.to_string())
}

/// The header of an envelope from the start of its base64 text, as JSON, so
/// the page can show sender, recipient and dates before anything is decrypted.
#[wasm_bindgen]
pub fn header_json(text_start: &str) -> Result<String, JsValue> {
    let header = envelope_core::header_from_text(text_start).map_err(open_error)?;
    Ok(serde_json::to_string(&header).expect("a header serialises"))
}

/// One envelope being opened.
#[wasm_bindgen]
pub struct Opener {
    bytes: Vec<u8>,
    text_done: bool,
    cipher: Option<PayloadCipher>,
    /// Where the encrypted payload starts in `bytes` (known once unlocked).
    payload_start: usize,
    next_chunk: u32,
    /// The decrypted payload, once every chunk has verified.
    plain: Vec<u8>,
    version: u32,
    opened: Option<Opened>,
    #[cfg(feature = "server")]
    request: Option<KeyRequest>,
}

/// The decrypted message, read once `decrypt_some` is done.
struct Opened {
    message: OpenedMessage,
    /// Format v1 only: the view parsed from the RFC 5322 message (v2 carries its own).
    view: Option<envelope_core::MessageView>,
}

#[derive(Serialize)]
struct AttachmentInfo<'a> {
    name: &'a str,
    content_type: &'a str,
    content_id: Option<&'a str>,
    size: usize,
}

#[derive(Serialize)]
struct MessageInfo<'a> {
    subject: &'a str,
    from: &'a str,
    to: &'a [String],
    cc: &'a [String],
    date: Option<&'a str>,
    text: Option<&'a str>,
    html: Option<&'a str>,
    attachments: Vec<AttachmentInfo<'a>>,
}

/// What the page needs of a view: everything but the attachments' bytes.
fn message_info<A: Listed>(view: &View<A>) -> MessageInfo<'_> {
    MessageInfo {
        subject: &view.subject,
        from: &view.from,
        to: &view.to,
        cc: &view.cc,
        date: view.date.as_deref(),
        text: view.text.as_deref(),
        html: view.html.as_deref(),
        attachments: view
            .attachments
            .iter()
            .map(|a| AttachmentInfo {
                name: a.name(),
                content_type: a.content_type(),
                content_id: a.content_id(),
                size: a.size() as usize,
            })
            .collect(),
    }
}

#[wasm_bindgen]
impl Opener {
    /// A new opener; `text_len` is the length of the base64 text, to size buffers once.
    #[wasm_bindgen(constructor)]
    pub fn new(text_len: usize) -> Opener {
        Opener {
            bytes: Vec::with_capacity(text_len / 4 * 3),
            text_done: false,
            cipher: None,
            payload_start: 0,
            next_chunk: 0,
            plain: Vec::new(),
            version: 0,
            opened: None,
            #[cfg(feature = "server")]
            request: None,
        }
    }

    /// Decodes one slice of the base64 text. Every slice but the last must be
    /// a multiple of 4 characters; `last` marks the final one.
    pub fn push_text(&mut self, slice: &str, last: bool) -> Result<(), JsValue> {
        let slice = if last { slice.trim_end() } else { slice };
        let slice = if self.bytes.is_empty() {
            slice.trim_start()
        } else {
            slice
        };
        if !last && slice.len() % 4 != 0 {
            return Err(js_error(
                "bad_encoding",
                "internal error: base64 slice not a multiple of 4",
            ));
        }
        STANDARD
            .decode_vec(slice, &mut self.bytes)
            .map_err(|_| open_error(OpenError::BadEncoding))?;
        self.text_done = last;
        Ok(())
    }

    /// Takes the envelope's bytes, already decoded (by the browser's own
    /// `Uint8Array.fromBase64` where it has it): one copy into this module's
    /// memory instead of decoding the text here.
    pub fn push_bytes(&mut self, bytes: Vec<u8>) {
        if self.bytes.is_empty() {
            self.bytes = bytes;
        } else {
            self.bytes.extend_from_slice(&bytes);
        }
        self.text_done = true;
    }

    /// Remembers where the payload starts, for `decrypt_some`.
    fn unlocked(&mut self, cipher: PayloadCipher) -> Result<(), JsValue> {
        let (version, payload_len) = {
            let envelope = self.envelope()?;
            (envelope.header().v, envelope.payload_len())
        };
        self.version = version;
        self.payload_start = self.bytes.len() - payload_len;
        self.cipher = Some(cipher);
        Ok(())
    }

    fn envelope(&self) -> Result<Envelope<'_>, JsValue> {
        if !self.text_done {
            return Err(js_error(
                "internal",
                "the envelope text has not been fully read",
            ));
        }
        Envelope::parse(&self.bytes).map_err(open_error)
    }

    /// Unlocks with a passphrase (runs Argon2id: about a quarter of a second).
    #[cfg(feature = "passphrase")]
    pub fn unlock_with_passphrase(&mut self, passphrase: &str) -> Result<(), JsValue> {
        let cipher = self
            .envelope()?
            .unlock_with_passphrase(passphrase.as_bytes())
            .map_err(open_error)?;
        self.unlocked(cipher)
    }

    /// Starts a key request (server mode): a fresh one-time X25519 key pair.
    #[cfg(feature = "server")]
    /// Returns the public key to send to the key server; the private key never
    /// leaves this module, and neither does the content key.
    pub fn key_request(&mut self) -> Vec<u8> {
        let request = KeyRequest::new();
        let public = request.public_key();
        self.request = Some(request);
        public
    }

    /// Unlocks with the key server's answer (HPKE `enc` and `ciphertext`) to
    /// the last key request.
    #[cfg(feature = "server")]
    pub fn unlock_with_released_key(
        &mut self,
        enc: &[u8],
        ciphertext: &[u8],
    ) -> Result<(), JsValue> {
        // Kept for the answer token that may come with the key (below).
        let request = self
            .request
            .as_ref()
            .ok_or_else(|| js_error("internal", "no key request"))?;
        let envelope = self.envelope()?;
        let key = request
            .open(&envelope.header().id, enc, ciphertext)
            .map_err(|e| {
                js_error(
                    "wrong_key",
                    &format!("the key server's answer does not fit this envelope ({e})"),
                )
            })?;
        let cipher = envelope.unlock_with_key(&key).map_err(open_error)?;
        self.unlocked(cipher)
    }

    /// Opens the answer token that came with the last released key (HPKE,
    /// to the same one-time key): the recipient's proof for Reply, Reply all
    /// and Forward. The one-time key is dropped after this.
    #[cfg(feature = "server")]
    pub fn answer_token(&mut self, enc: &[u8], ciphertext: &[u8]) -> Result<String, JsValue> {
        let request = self
            .request
            .take()
            .ok_or_else(|| js_error("internal", "no key request"))?;
        let id = self.envelope()?.header().id.clone();
        let token = request
            .open_answer_token(&id, enc, ciphertext)
            .map_err(|e| {
                js_error(
                    "wrong_key",
                    &format!("the answer token does not open ({e})"),
                )
            })?;
        String::from_utf8(token).map_err(|_| js_error("wrong_key", "the answer token is not text"))
    }

    /// Decrypts up to `max_chunks` 64 KiB chunks, in place: the plaintext
    /// overwrites the ciphertext, so the module holds one copy of the
    /// message, not two. Returns the fraction done, 1.0 once the whole
    /// payload is decrypted and verified. On any error everything decrypted
    /// so far is wiped: nothing unverified is ever shown.
    pub fn decrypt_some(&mut self, max_chunks: u32) -> Result<f64, JsValue> {
        let cipher = self
            .cipher
            .as_ref()
            .ok_or_else(|| js_error("internal", "unlock first"))?;
        let start = self.payload_start;
        let sealed = self
            .bytes
            .get_mut(start..)
            .ok_or_else(|| js_error("internal", "decrypted already"))?;
        let sealed_len = sealed.len();
        match cipher.decrypt_chunks_in_place(sealed, self.next_chunk, max_chunks) {
            Ok(Progress::Done) => {
                let len = PayloadCipher::plaintext_len(sealed_len);
                self.bytes.copy_within(start..start + len, 0);
                self.bytes.truncate(len);
                self.plain = std::mem::take(&mut self.bytes);
                self.cipher = None;
                Ok(1.0)
            }
            Ok(Progress::More(next)) => {
                self.next_chunk = next;
                Ok(next as f64 * SEALED_CHUNK_LEN as f64 / sealed_len.max(1) as f64)
            }
            Err(error) => {
                self.bytes.zeroize();
                self.bytes = Vec::new();
                self.cipher = None;
                Err(open_error(error))
            }
        }
    }

    /// The decrypted message as JSON: headers, bodies and the attachment list.
    /// Call once `decrypt_some` has returned 1.0.
    pub fn message_json(&mut self) -> Result<String, JsValue> {
        let not_a_message =
            |e: envelope_core::MessageError| js_error("not_a_message", &e.to_string());
        if self.opened.is_none() {
            // A v1 page carries the v1 opener; this one decrypts v1 (and
            // `eml` gives its message back) but shows v2 only.
            #[cfg(not(feature = "v1"))]
            if self.version == 1 {
                return Err(js_error(
                    "unsupported_version",
                    "this opener shows format 2 messages only",
                ));
            }
            let payload = std::mem::take(&mut self.plain);
            let message = match OpenedMessage::read(self.version, payload) {
                Ok(message) => message,
                Err((error, payload)) => {
                    // Kept so that `eml` can still give back what decrypted.
                    self.plain = payload;
                    return Err(not_a_message(error));
                }
            };
            let view = match &message {
                #[cfg(feature = "v1")]
                OpenedMessage::Eml(_) => Some(message.view().map_err(not_a_message)?),
                #[cfg(not(feature = "v1"))]
                OpenedMessage::Eml(_) => unreachable!("refused above"),
                OpenedMessage::Container(_) => None,
            };
            self.opened = Some(Opened { message, view });
        }
        let opened = self.opened.as_ref().expect("just set");
        let info = match (&opened.view, &opened.message) {
            (Some(view), _) => message_info(view),
            (None, OpenedMessage::Container(container)) => message_info(container.summary()),
            (None, OpenedMessage::Eml(_)) => unreachable!("a v1 message has its view"),
        };
        Ok(serde_json::to_string(&info).expect("message info serialises"))
    }

    /// The bytes of attachment `index` (as listed by `message_json`).
    pub fn attachment(&self, index: usize) -> Option<Vec<u8>> {
        let opened = self.opened.as_ref()?;
        match (&opened.view, &opened.message) {
            (Some(view), _) => Some(view.attachments.get(index)?.bytes.clone()),
            (None, OpenedMessage::Container(container)) => {
                Some(container.attachment(index)?.into_owned())
            }
            (None, OpenedMessage::Eml(_)) => None,
        }
    }

    /// The whole message as sealed (the `.eml` for "Save message"); before
    /// `message_json` has read it, or if it could not, the payload as it decrypted.
    pub fn eml(&self) -> Vec<u8> {
        match &self.opened {
            Some(opened) => opened.message.eml().into_owned(),
            None => self.plain.clone(),
        }
    }
}
