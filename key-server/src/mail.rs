//! Outgoing mail through lettre: an SMTP relay in production, or a local
//! outbox directory (one .eml file per mail) as the embedded default, so the
//! demo and the tests need no mail server. Used by the key server (account
//! links) and by `securedoc send` (notifications).

use std::path::{Path, PathBuf};

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{FileTransport, Message, SmtpTransport, Transport};
use securedoc_templates::Email;

use crate::Error;

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    /// .eml files in a directory.
    Outbox(FileTransport, PathBuf),
    /// An SMTP relay.
    Smtp(SmtpTransport),
}

/// A file to attach.
pub struct MailAttachment {
    /// File name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

impl Mailer {
    /// The relay at `smtp_url` if given, else the outbox `outbox` (created).
    pub fn new(smtp_url: Option<&str>, outbox: &Path) -> Result<Mailer, Error> {
        match smtp_url {
            Some(url) => Ok(Mailer::Smtp(
                SmtpTransport::from_url(url)
                    .map_err(|e| {
                        Error::Config(format!(
                            "the SMTP URL is not like smtp://mail.example.org:587 ({e})"
                        ))
                    })?
                    .build(),
            )),
            None => {
                crate::create_private_dir(outbox).map_err(|e| {
                    Error::Config(format!(
                        "cannot create the outbox {}: {e}",
                        outbox.display()
                    ))
                })?;
                Ok(Mailer::Outbox(
                    FileTransport::new(outbox),
                    outbox.to_path_buf(),
                ))
            }
        }
    }

    /// The outbox directory, when mail goes there.
    pub fn outbox(&self) -> Option<&Path> {
        match self {
            Mailer::Outbox(_, dir) => Some(dir),
            Mailer::Smtp(_) => None,
        }
    }

    /// Builds the message: text and HTML alternatives, then the attachments.
    pub fn compose(
        from: &str,
        to: &str,
        email: &Email,
        attachments: Vec<MailAttachment>,
    ) -> Result<Message, Error> {
        let mailbox = |what: &str, address: &str| -> Result<Mailbox, Error> {
            address.parse().map_err(|_| {
                Error::Unprocessable(format!("{what} {address} is not a mail address"))
            })
        };
        let alternative = MultiPart::alternative_plain_html(email.text.clone(), email.html.clone());
        let builder = Message::builder()
            .from(mailbox("from", from)?)
            .to(mailbox("to", to)?)
            .subject(&email.subject);
        let message = if attachments.is_empty() {
            builder.multipart(alternative)
        } else {
            let mut mixed = MultiPart::mixed().multipart(alternative);
            for attachment in attachments {
                let content_type = ContentType::parse(&attachment.content_type)
                    .map_err(|e| Error::Unprocessable(format!("content type: {e}")))?;
                let part: SinglePart =
                    Attachment::new(attachment.name).body(attachment.bytes, content_type);
                mixed = mixed.singlepart(part);
            }
            builder.multipart(mixed)
        };
        message.map_err(|e| Error::Unprocessable(format!("cannot build the mail: {e}")))
    }

    /// Sends `message` (blocking: call from a blocking context).
    pub fn send_blocking(&self, message: &Message) -> Result<(), Error> {
        match self {
            Mailer::Outbox(transport, dir) => transport.send(message).map(drop).map_err(|e| {
                Error::Mail(format!("cannot write to the outbox {}: {e}", dir.display()))
            }),
            Mailer::Smtp(transport) => transport
                .send(message)
                .map(drop)
                .map_err(|e| Error::Mail(format!("the SMTP relay refused the message: {e}"))),
        }
    }

    /// Sends `message` off the async executor.
    pub async fn send(&self, message: Message) -> Result<(), Error> {
        let mailer = self.clone();
        tokio::task::spawn_blocking(move || mailer.send_blocking(&message))
            .await
            .map_err(|e| Error::Io(std::io::Error::other(e)))?
    }
}
