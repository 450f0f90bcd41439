//! The format v2 payload: a message's pieces and its view (docs/FORMAT.md §7).
//!
//! ```text
//! blob 0 || blob 1 || … || manifest (JSON) || u32be(manifest length)
//! ```
//!
//! The manifest lists the blobs' lengths, the recipe that gives the original
//! message back (each piece a blob as it is, or a blob's base64 text in a
//! [`Layout`]), and the view the sealer computed: headers, bodies and
//! attachments, each attachment a blob or a range of the original message.
//! The manifest comes last so the sealer can write the blobs as it decodes.

use std::borrow::Cow;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::lines::{Layout, MAX_LINE};
use crate::message::{Attachment, Listed, MessageError, MessageView, View};

/// Bytes of the manifest-length trailer.
const TRAILER_LEN: usize = 4;

/// One piece of the original message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Piece {
    pub blob: usize,
    /// Absent: the blob's bytes as they are. Present: the blob's base64 text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base64: Option<Layout>,
}

/// Where an attachment's bytes are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub(crate) enum Content {
    /// A blob's bytes.
    Blob(usize),
    /// Bytes `start..end` of the original message (an attached message).
    Eml([u64; 2]),
}

/// An attachment as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentEntry {
    /// Sanitised file name.
    pub name: String,
    /// MIME type, lower case.
    pub content_type: String,
    /// Content-ID without angle brackets.
    pub content_id: Option<String>,
    /// Size in bytes.
    pub size: u64,
    pub(crate) content: Content,
}

/// What an opener shows, computed by the sealer.
pub type Summary = View<AttachmentEntry>;

impl Listed for AttachmentEntry {
    fn name(&self) -> &str {
        &self.name
    }
    fn content_type(&self) -> &str {
        &self.content_type
    }
    fn content_id(&self) -> Option<&str> {
        self.content_id.as_deref()
    }
    fn size(&self) -> u64 {
        self.size
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    pub blobs: Vec<u64>,
    pub eml: Vec<Piece>,
    pub view: Summary,
    /// Where the text body lies in the original message, when the message
    /// carries it as it is (then `view.text` is null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_at: Option<[u64; 2]>,
    /// The same for the HTML body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_at: Option<[u64; 2]>,
}

#[cfg(feature = "pack")]
impl Manifest {
    /// Appends the manifest and its length to the blobs in `payload`.
    pub(crate) fn finish(&self, payload: &mut Vec<u8>) {
        let start = payload.len();
        serde_json::to_writer(&mut *payload, self).expect("writing to memory cannot fail");
        let len = (payload.len() - start) as u32;
        payload.extend_from_slice(&len.to_be_bytes());
    }
}

/// A decrypted format v2 payload, checked: every blob, piece and attachment
/// lies inside it. The plaintext is zeroed when it is dropped.
#[derive(Debug, Clone)]
pub struct Container {
    payload: Vec<u8>,
    manifest: Manifest,
    blobs: Vec<Range<usize>>,
    eml_len: u64,
}

fn malformed(why: &str) -> MessageError {
    MessageError::Malformed(why.to_string())
}

impl Drop for Container {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.payload.zeroize();
        let view = &mut self.manifest.view;
        view.text.zeroize();
        view.html.zeroize();
        view.subject.zeroize();
    }
}

impl Container {
    /// Reads a payload. Sealed payloads are authenticated, so a failure here
    /// means the sealer did not follow the format.
    pub fn parse(payload: Vec<u8>) -> Result<Container, MessageError> {
        Self::parse_or_return(payload).map_err(|(error, _)| error)
    }

    /// Like [`parse`](Self::parse), but a payload that does not read comes
    /// back with the error, for an opener that still offers what decrypted.
    pub fn parse_or_return(payload: Vec<u8>) -> Result<Container, (MessageError, Vec<u8>)> {
        match Self::read(&payload) {
            Ok((manifest, blobs, eml_len)) => Ok(Container {
                payload,
                manifest,
                blobs,
                eml_len,
            }),
            Err(error) => Err((error, payload)),
        }
    }

    #[allow(clippy::type_complexity)]
    fn read(payload: &[u8]) -> Result<(Manifest, Vec<Range<usize>>, u64), MessageError> {
        let len = payload.len();
        let trailer = len
            .checked_sub(TRAILER_LEN)
            .ok_or_else(|| malformed("no manifest"))?;
        let manifest_len =
            u32::from_be_bytes(payload[trailer..].try_into().expect("4 bytes")) as usize;
        let data_len = trailer
            .checked_sub(manifest_len)
            .ok_or_else(|| malformed("the manifest is longer than the payload"))?;
        let mut manifest: Manifest = serde_json::from_slice(&payload[data_len..trailer])
            .map_err(|e| MessageError::Malformed(format!("manifest: {e}")))?;
        let mut blobs = Vec::with_capacity(manifest.blobs.len());
        let mut at = 0usize;
        for &blob in &manifest.blobs {
            let end = usize::try_from(blob)
                .ok()
                .and_then(|blob| at.checked_add(blob))
                .filter(|&end| end <= data_len)
                .ok_or_else(|| malformed("a blob runs past the data"))?;
            blobs.push(at..end);
            at = end;
        }
        if at != data_len {
            return Err(malformed("bytes that no blob holds"));
        }
        let mut eml_len = 0u64;
        for piece in &manifest.eml {
            let blob = blobs
                .get(piece.blob)
                .ok_or_else(|| malformed("a piece names a missing blob"))?;
            eml_len += match &piece.base64 {
                None => blob.len() as u64,
                Some(layout) => {
                    if layout.line == 0 || layout.line > MAX_LINE || blob.is_empty() {
                        return Err(malformed("a base64 piece with an impossible layout"));
                    }
                    layout.encoded_len(blob.len()) as u64
                }
            };
        }
        for entry in &manifest.view.attachments {
            let size = match entry.content {
                Content::Blob(index) => blobs
                    .get(index)
                    .map(|blob| blob.len() as u64)
                    .ok_or_else(|| malformed("an attachment names a missing blob"))?,
                Content::Eml([start, end]) if start <= end && end <= eml_len => end - start,
                Content::Eml(_) => return Err(malformed("an attachment outside the message")),
            };
            if size != entry.size {
                return Err(malformed("an attachment's size is not its content's"));
            }
        }
        for (at, body) in [
            (manifest.text_at, &mut manifest.view.text),
            (manifest.html_at, &mut manifest.view.html),
        ] {
            let Some([start, end]) = at else { continue };
            if body.is_some() || start > end || end > eml_len {
                return Err(malformed("a body outside the message, or given twice"));
            }
            let bytes = build_eml(payload, &manifest.eml, &blobs, start..end);
            *body =
                Some(String::from_utf8(bytes).map_err(|_| malformed("a body that is not UTF-8"))?);
        }
        Ok((manifest, blobs, eml_len))
    }

    /// What the opener shows: headers, bodies, the attachment list.
    pub fn summary(&self) -> &Summary {
        &self.manifest.view
    }

    /// The decrypted payload this container reads.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Where attachment `index`'s bytes lie in [`payload`](Self::payload), if
    /// they lie there as they are (an opener can hand them on without a copy).
    pub fn attachment_range(&self, index: usize) -> Option<Range<usize>> {
        match self.manifest.view.attachments.get(index)?.content {
            Content::Blob(blob) => Some(self.blobs[blob].clone()),
            Content::Eml(_) => None,
        }
    }

    /// The bytes of attachment `index`.
    pub fn attachment(&self, index: usize) -> Option<Cow<'_, [u8]>> {
        match self.manifest.view.attachments.get(index)?.content {
            Content::Blob(blob) => Some(Cow::Borrowed(&self.payload[self.blobs[blob].clone()])),
            Content::Eml([start, end]) => Some(Cow::Owned(self.eml_range(start..end))),
        }
    }

    /// Length of the original message.
    pub fn eml_len(&self) -> u64 {
        self.eml_len
    }

    /// The original message, byte for byte as it was sealed.
    pub fn eml(&self) -> Vec<u8> {
        self.eml_range(0..self.eml_len)
    }

    /// Bytes `range` of the original message.
    fn eml_range(&self, range: Range<u64>) -> Vec<u8> {
        build_eml(&self.payload, &self.manifest.eml, &self.blobs, range)
    }

    /// The view with every attachment's bytes copied out.
    pub fn view(&self) -> MessageView {
        let summary = &self.manifest.view;
        MessageView {
            subject: summary.subject.clone(),
            from: summary.from.clone(),
            to: summary.to.clone(),
            cc: summary.cc.clone(),
            date: summary.date.clone(),
            text: summary.text.clone(),
            html: summary.html.clone(),
            attachments: summary
                .attachments
                .iter()
                .enumerate()
                .map(|(index, entry)| Attachment {
                    name: entry.name.clone(),
                    content_type: entry.content_type.clone(),
                    content_id: entry.content_id.clone(),
                    bytes: self.attachment(index).expect("listed").into_owned(),
                })
                .collect(),
        }
    }
}

/// Bytes `range` of the original message; builds only the pieces it spans.
fn build_eml(
    payload: &[u8],
    pieces: &[Piece],
    blobs: &[Range<usize>],
    range: Range<u64>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity((range.end - range.start) as usize);
    let mut at = 0u64;
    let mut scratch = Vec::new();
    for piece in pieces {
        let blob = &payload[blobs[piece.blob].clone()];
        let len = match &piece.base64 {
            None => blob.len(),
            Some(layout) => layout.encoded_len(blob.len()),
        } as u64;
        let (start, end) = (range.start.max(at), range.end.min(at + len));
        if start < end {
            let (from, to) = ((start - at) as usize, (end - at) as usize);
            match &piece.base64 {
                None => out.extend_from_slice(&blob[from..to]),
                Some(layout) if from == 0 && to as u64 == len => layout.encode_into(blob, &mut out),
                Some(layout) => {
                    scratch.clear();
                    layout.encode_into(blob, &mut scratch);
                    out.extend_from_slice(&scratch[from..to]);
                }
            }
        }
        at += len;
    }
    out
}
