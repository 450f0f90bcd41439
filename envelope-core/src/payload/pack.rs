//! Building a format v2 payload from an RFC 5322 message (sender side).
//!
//! 1. [`framing`] finds the base64 bodies of attachments; each whose text is
//!    canonical ([`lines::decode`]) is stored decoded, the rest as it came.
//! 2. `mail-parser` reads the message with those bodies left out (the
//!    *skeleton*: headers and text, a few kilobytes however large the
//!    attachments), so nothing is decoded twice. The view is built from it,
//!    and every body left out must be exactly one attachment's body (or lie
//!    inside an attached message); a body the parser sees otherwise is put
//!    back as it came and the message read again.

use std::ops::Range;

use mail_parser::{Encoding, MessagePart, PartType};

use super::container::{AttachmentEntry, Content, Manifest, Piece, Summary};
use super::{framing, lines};
use crate::message::{self, MessageError};

/// Rounds of putting disputed bodies back before giving up on leaving any out.
const MAX_ROUNDS: usize = 3;

/// A message packed for sealing.
#[derive(Debug)]
pub struct Packed {
    /// The plaintext to seal (format v2).
    pub payload: Vec<u8>,
    /// The message's size as a person counts it: bodies and attachments,
    /// decoded (as [`crate::content_size`]).
    pub content_size: u64,
}

/// Packs an RFC 5322 message into a format v2 payload.
pub fn pack(eml: &[u8]) -> Result<Packed, MessageError> {
    let mut bodies = framing::base64_bodies(eml);
    // Each round puts back every body the parser disputed; a message built
    // to make that cascade gets all its bodies back as they came after a
    // few rounds, so packing stays linear in the message's size.
    for _ in 0..MAX_ROUNDS {
        match try_pack(eml, &bodies)? {
            Ok(packed) => return Ok(packed),
            Err(disputed) => bodies.retain(|body| !disputed.contains(body)),
        }
    }
    Ok(try_pack(eml, &[])?.expect("with no body left out there is nothing to dispute"))
}

/// One piece as laid out in the message and in the skeleton.
struct Placed {
    blob: usize,
    /// Where it starts in the skeleton (a left-out body has no length there).
    skeleton: usize,
    eml: Range<usize>,
    left_out: bool,
}

impl Placed {
    fn skeleton_len(&self) -> usize {
        if self.left_out {
            0
        } else {
            self.eml.len()
        }
    }
}

/// The payload's blobs, the recipe of the original message, and the skeleton.
#[derive(Default)]
struct Building {
    payload: Vec<u8>,
    blobs: Vec<u64>,
    pieces: Vec<Piece>,
    placed: Vec<Placed>,
    skeleton: Vec<u8>,
}

impl Building {
    fn push(&mut self, eml: Range<usize>, base64: Option<lines::Layout>, blob_len: usize) {
        let blob = self.blobs.len();
        self.blobs.push(blob_len as u64);
        self.placed.push(Placed {
            blob,
            skeleton: self.skeleton.len(),
            eml,
            left_out: base64.is_some(),
        });
        self.pieces.push(Piece { blob, base64 });
    }

    fn raw(&mut self, eml: &[u8], range: Range<usize>) {
        if !range.is_empty() {
            self.push(range.clone(), None, range.len());
            self.payload.extend_from_slice(&eml[range.clone()]);
            self.skeleton.extend_from_slice(&eml[range]);
        }
    }

    fn body(&mut self, eml: &[u8], range: Range<usize>) {
        let start = self.payload.len();
        match lines::decode(&eml[range.clone()], &mut self.payload) {
            Some(layout) if self.payload.len() > start => {
                self.push(range, Some(layout), self.payload.len() - start)
            }
            _ => self.raw(eml, range),
        }
    }
}

fn try_pack(
    eml: &[u8],
    bodies: &[Range<usize>],
) -> Result<Result<Packed, Vec<Range<usize>>>, MessageError> {
    let mut building = Building {
        payload: Vec::with_capacity(eml.len() / 4 * 3 + 4096),
        ..Building::default()
    };
    let mut at = 0;
    for body in bodies {
        building.raw(eml, at..body.start);
        building.body(eml, body.clone());
        at = body.end;
    }
    building.raw(eml, at..eml.len());
    let Building {
        mut payload,
        mut blobs,
        pieces,
        placed,
        skeleton,
    } = building;

    let message = message::parse_message(&skeleton)?;
    let mut used = vec![false; placed.len()];
    let mut attachments = Vec::new();
    let mut extra: Vec<Vec<u8>> = Vec::new();
    for (index, part) in message.attachments().enumerate() {
        let (content, size) = match locate(part, &skeleton, &placed) {
            Located::LeftOut(i) => {
                used[i] = true;
                let blob = placed[i].blob;
                (Content::Blob(blob), blobs[blob])
            }
            Located::Eml(range, inside) => {
                inside.into_iter().for_each(|i| used[i] = true);
                let size = (range.end - range.start) as u64;
                (Content::Eml([range.start as u64, range.end as u64]), size)
            }
            Located::Decoded => {
                let bytes = part.contents().to_vec();
                let size = bytes.len() as u64;
                extra.push(bytes);
                (Content::Blob(blobs.len() + extra.len() - 1), size)
            }
        };
        let (name, content_type, content_id) = message::describe(part, index);
        attachments.push(AttachmentEntry {
            name,
            content_type,
            content_id,
            size,
            content,
        });
    }
    let disputed: Vec<Range<usize>> = placed
        .iter()
        .zip(&used)
        .filter(|(p, used)| p.left_out && !**used)
        .map(|(p, _)| p.eml.clone())
        .collect();
    if !disputed.is_empty() {
        return Ok(Err(disputed));
    }
    for bytes in extra {
        blobs.push(bytes.len() as u64);
        payload.extend_from_slice(&bytes);
    }
    let (text, html) = (
        message::first_body(&message, false),
        message::first_body(&message, true),
    );
    // A body the message carries as it is shows as a range of the message,
    // not a second copy in the manifest.
    let (text_at, html_at) = (
        text.and_then(|body| in_message(body.as_bytes(), &skeleton, &placed)),
        html.and_then(|body| in_message(body.as_bytes(), &skeleton, &placed)),
    );
    let content_size = text.map_or(0, |t| t.len() as u64)
        + html.map_or(0, |t| t.len() as u64)
        + attachments.iter().map(|a| a.size).sum::<u64>();
    let view = Summary {
        subject: message.subject().unwrap_or_default().to_string(),
        from: message::addresses_of(message.from()).join(", "),
        to: message::addresses_of(message.to()),
        cc: message::addresses_of(message.cc()),
        date: message.date().map(|d| d.to_rfc3339()),
        text: text.filter(|_| text_at.is_none()).map(str::to_string),
        html: html.filter(|_| html_at.is_none()).map(str::to_string),
        attachments,
    };
    Manifest {
        blobs,
        eml: pieces,
        view,
        text_at,
        html_at,
    }
    .finish(&mut payload);
    Ok(Ok(Packed {
        payload,
        content_size,
    }))
}

/// Where `bytes`, if the parser took them as they are from the skeleton,
/// lie in the original message (a body with no left-out piece inside).
fn in_message(bytes: &[u8], skeleton: &[u8], placed: &[Placed]) -> Option<[u64; 2]> {
    let range = within(bytes, skeleton)?;
    let inside = spanning(placed, &range).any(|i| placed[i].left_out);
    if inside || range.is_empty() {
        return None;
    }
    let span = to_eml_span(placed, &range);
    Some([span.start as u64, span.end as u64])
}

/// The pieces whose skeleton position lies in `range`, its end included.
fn spanning(placed: &[Placed], range: &Range<usize>) -> Range<usize> {
    placed.partition_point(|p| p.skeleton < range.start)
        ..placed.partition_point(|p| p.skeleton <= range.end)
}

/// The range of `part` in `whole`, if it is a slice of it.
fn within(part: &[u8], whole: &[u8]) -> Option<Range<usize>> {
    let offset = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    (offset <= whole.len() && part.len() <= whole.len() - offset)
        .then(|| offset..offset + part.len())
}

enum Located {
    /// Exactly the body left out as piece `i`.
    LeftOut(usize),
    /// An attached message: this range of the original, holding these left-out pieces.
    Eml(Range<usize>, Vec<usize>),
    /// Nothing left out: the parser's own decoding is the content.
    Decoded,
}

fn locate(part: &MessagePart<'_>, skeleton: &[u8], placed: &[Placed]) -> Located {
    let (start, end) = (part.offset_body as usize, part.offset_end as usize);
    let at = |position: usize| {
        let from = placed.partition_point(|p| p.skeleton < position);
        placed[from..]
            .iter()
            .take_while(|p| p.skeleton == position)
            .position(|p| p.left_out)
            .map(|i| from + i)
    };
    if start == end
        && part.encoding == Encoding::Base64
        && !matches!(part.body, PartType::Message(_))
    {
        if let Some(i) = at(start) {
            return Located::LeftOut(i);
        }
    }
    if let PartType::Message(_) = part.body {
        // The attached message's bytes, if the parser took them as they are.
        if let Some(range) = within(part.contents(), skeleton) {
            let inside: Vec<usize> = spanning(placed, &range)
                .filter(|&i| placed[i].left_out)
                .collect();
            if !inside.is_empty() {
                return Located::Eml(to_eml_span(placed, &range), inside);
            }
        }
    }
    Located::Decoded
}

/// Where skeleton bytes `range` are in the original message, with the
/// bodies left out at either end.
fn to_eml_span(placed: &[Placed], range: &Range<usize>) -> Range<usize> {
    to_eml(placed, range.start, true)..to_eml(placed, range.end, false)
}

/// Where skeleton position `position` is in the original message: before
/// the bodies left out there (`start`), or after them.
fn to_eml(placed: &[Placed], position: usize, start: bool) -> usize {
    // Pieces are in message order, their skeleton positions non-decreasing:
    // only the pieces at `position` and the one before can cover it. (A
    // message with many parts must not make this quadratic.)
    let from = placed.partition_point(|p| p.skeleton < position);
    let to = placed.partition_point(|p| p.skeleton <= position);
    let window = &placed[from.saturating_sub(1)..to];
    let covers = |p: &&Placed| {
        let (s, len) = (p.skeleton, p.skeleton_len());
        if p.left_out {
            s == position
        } else if start {
            s <= position && position < s + len
        } else {
            s < position && position <= s + len
        }
    };
    let found = if start {
        window.iter().find(covers)
    } else {
        window.iter().rev().find(covers)
    };
    match found {
        Some(p) if p.left_out => {
            if start {
                p.eml.start
            } else {
                p.eml.end
            }
        }
        Some(p) => p.eml.start + (position - p.skeleton),
        None if start => placed.last().map_or(0, |p| p.eml.end),
        None => 0,
    }
}
