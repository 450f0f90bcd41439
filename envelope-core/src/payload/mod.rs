//! What an envelope seals, and how an opener reads it back.
//!
//! Format v1 sealed the RFC 5322 message as it is. Format v2 seals a
//! [`Container`]: the message in pieces, each attachment's base64 body stored
//! as its decoded bytes with the line layout that gives the original text
//! back, and the view an opener shows (headers, bodies, the attachment list),
//! computed once by the sealer so that the opener needs no MIME parser
//! (docs/FORMAT.md §7).

mod container;
#[cfg(feature = "pack")]
mod framing;
mod lines;
#[cfg(feature = "pack")]
mod pack;

use std::borrow::Cow;

pub use container::{AttachmentEntry, Container, Summary};
pub use lines::{Eol, Layout};
#[cfg(feature = "pack")]
pub use pack::{pack, Packed};

use crate::message::{MessageError, MessageView};

/// A decrypted payload, read according to its envelope's format version.
#[derive(Debug, Clone)]
pub enum OpenedMessage {
    /// Format v1: the RFC 5322 message itself.
    Eml(zeroize::Zeroizing<Vec<u8>>),
    /// Format v2: the container.
    Container(Box<Container>),
}

impl OpenedMessage {
    /// Reads the payload of an envelope of format `version`.
    pub fn new(version: u32, payload: Vec<u8>) -> Result<OpenedMessage, MessageError> {
        Self::read(version, payload).map_err(|(error, _)| error)
    }

    /// Like [`new`](Self::new), but a payload that does not read comes back
    /// with the error: an opener can still give back what decrypted.
    pub fn read(version: u32, payload: Vec<u8>) -> Result<OpenedMessage, (MessageError, Vec<u8>)> {
        match version {
            1 => Ok(OpenedMessage::Eml(zeroize::Zeroizing::new(payload))),
            _ => Container::parse_or_return(payload).map(|c| OpenedMessage::Container(Box::new(c))),
        }
    }

    /// What an opener shows, with the attachments' bytes.
    #[cfg(feature = "mime")]
    pub fn view(&self) -> Result<MessageView, MessageError> {
        match self {
            OpenedMessage::Eml(eml) => MessageView::parse(eml),
            OpenedMessage::Container(container) => Ok(container.view()),
        }
    }

    /// What an opener shows, with the attachments' bytes (v2 only without `mime`).
    #[cfg(not(feature = "mime"))]
    pub fn view(&self) -> Result<MessageView, MessageError> {
        match self {
            OpenedMessage::Eml(_) => Err(MessageError::NotAMessage),
            OpenedMessage::Container(container) => Ok(container.view()),
        }
    }

    /// The message as sealed: the `.eml` "Save message" gives.
    pub fn eml(&self) -> Cow<'_, [u8]> {
        match self {
            OpenedMessage::Eml(eml) => Cow::Borrowed(eml),
            OpenedMessage::Container(container) => Cow::Owned(container.eml()),
        }
    }
}
