//! Outgoing mail through lettre: an SMTP relay in production, or a local
//! outbox directory (one .eml file per mail) as the embedded default, so the
//! demo and the tests need no mail server. Used by the key server (account
//! links, through the queue in `mail_worker`) and by `securedoc send`
//! (notifications, sent directly).
//!
//! Every mail has a `Message-ID` on the domain of its From (RFC 5322 expects
//! one, and large mailbox providers junk mail without it); the key server's
//! own mail is also marked `Auto-Submitted: auto-generated` (RFC 3834), so
//! out-of-office replies do not answer a no-reply address.

use std::path::{Path, PathBuf};

use lettre::address::Envelope;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{Message, SmtpTransport, Transport};
use securedoc_templates::Email;

use crate::Error;

/// The header on every mail securedoc writes (notifications, receipts,
/// account mail): a mail hook that sees it never seals the mail again.
pub const NOTIFICATION_HEADER: &str = "X-Securedoc-Notification";

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    /// .eml files in a directory.
    Outbox(PathBuf),
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
                Ok(Mailer::Outbox(outbox.to_path_buf()))
            }
        }
    }

    /// The outbox directory, when mail goes there.
    pub fn outbox(&self) -> Option<&Path> {
        match self {
            Mailer::Outbox(dir) => Some(dir),
            Mailer::Smtp(_) => None,
        }
    }

    /// Builds a mail the key server sends by itself (account links): as
    /// [`Mailer::compose`], marked `Auto-Submitted: auto-generated`.
    pub fn compose_automatic(from: &str, to: &str, email: &Email) -> Result<Message, Error> {
        let mut message = Mailer::compose(from, to, email, Vec::new())?;
        message.headers_mut().insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ));
        Ok(message)
    }

    /// Builds the message: text and HTML alternatives, then the attachments,
    /// with a Message-ID on the From address's domain.
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
        let from = mailbox("from", from)?;
        let message_id = format!(
            "<{}@{}>",
            crate::hex(&crate::random::<16>()),
            from.email.domain()
        );
        let builder = Message::builder()
            .message_id(Some(message_id))
            .from(from)
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
        let mut message =
            message.map_err(|e| Error::Unprocessable(format!("cannot build the mail: {e}")))?;
        // securedoc's own mail: the mail hook never seals it again.
        message.headers_mut().insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str(NOTIFICATION_HEADER),
            "1".into(),
        ));
        Ok(message)
    }

    /// Sends `message` (blocking: call from a blocking context).
    pub fn send_blocking(&self, message: &Message) -> Result<(), Error> {
        match self {
            Mailer::Outbox(dir) => write_eml(dir, &message.formatted()),
            Mailer::Smtp(transport) => transport
                .send(message)
                .map(drop)
                .map_err(|e| Error::Mail(format!("the SMTP relay refused the message: {e}"))),
        }
    }

    /// Sends an already rendered message to each of `to` in one transaction,
    /// with `from`'s address as the envelope sender (blocking).
    pub fn send_raw_blocking<T: AsRef<str>>(
        &self,
        from: &str,
        to: &[T],
        bytes: &[u8],
    ) -> Result<(), Error> {
        let address = |value: &str| {
            value
                .parse::<Mailbox>()
                .map(|m| m.email)
                .map_err(|_| Error::Mail(format!("{value} is not a mail address")))
        };
        let to = to
            .iter()
            .map(|to| address(to.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(Some(address(from)?), to)
            .map_err(|e| Error::Mail(format!("no envelope for the mail: {e}")))?;
        match self {
            Mailer::Outbox(dir) => write_eml(dir, bytes),
            Mailer::Smtp(transport) => transport
                .send_raw(&envelope, bytes)
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

/// Writes one mail to the outbox as `{random id}.eml`: readable by its
/// owner only from the start (mail holds confirmation and reset links), and
/// whole or not at all — it is written under a hidden temporary name and
/// renamed, so whoever reads the outbox (a person, a test, a script passing
/// it on) never sees half a mail.
fn write_eml(dir: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let id = crate::hex(&crate::random::<16>());
    let temporary = dir.join(format!(".{id}.eml.tmp"));
    let cannot = |e: std::io::Error| {
        Error::Mail(format!("cannot write to the outbox {}: {e}", dir.display()))
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&temporary)
        .and_then(|mut file| file.write_all(bytes))
        .and_then(|()| std::fs::rename(&temporary, dir.join(format!("{id}.eml"))));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.map_err(cannot)
}
