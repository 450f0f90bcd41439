//! What the hook asks of whoever seals: register a message at the key
//! server, seal one envelope per recipient, and write the notifications and
//! the sender's confirmation. The hook itself only speaks SMTP and decides
//! who gets what; `securedoc hook` plugs in the sealing (docs/MAIL-HOOK.md,
//! "Sealing"), and tests may plug in their own.

use crate::policy::SealOptions;

/// One group of outside recipients sealed the same way.
#[derive(Debug, Clone)]
pub struct SealJob {
    /// The sender as the message names it (its From address).
    pub sender: String,
    /// Where a plain reply to a notification goes: the message's Reply-To,
    /// else its From.
    pub reply_to: String,
    /// The recipients, each to get their own envelope.
    pub recipients: Vec<String>,
    /// The message to seal (subject tags already taken out).
    pub message: std::sync::Arc<Vec<u8>>,
    /// How.
    pub options: SealOptions,
}

/// One recipient's notification: the envelope attached, or (pull delivery)
/// a link to it at the key server.
#[derive(Debug, Clone)]
pub struct Notification {
    /// Whom it is for.
    pub recipient: String,
    /// The envelope's id at the key server (32 hex digits).
    pub envelope_id: String,
    /// The whole mail, RFC 5322; None when the recipient turned
    /// notification mails off and the envelope waits at the key server
    /// (pull delivery): the message is sealed, and nothing is mailed.
    pub mail: Option<Vec<u8>>,
}

/// What sealing one group produced.
#[derive(Debug, Clone)]
pub struct SealedGroup {
    /// The sending's id at the key server, for `securedoc message status`.
    pub message_id: Option<String>,
    /// When the keys are deleted, Unix seconds.
    pub expires: Option<i64>,
    /// In the order of the job's recipients.
    pub notifications: Vec<Notification>,
}

/// Why sealing did not happen.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SealFailure {
    /// Try again later (the key server is down, busy, or refuses the
    /// hook's token): the message stays in Postfix's queue.
    #[error("{0}")]
    Temporary(String),
    /// It will never work (the key server refuses the message or a
    /// recipient): the message bounces to its sender.
    #[error("{0}")]
    Permanent(String),
}

/// What the sender's "Secure Message Sent" confirmation says.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The sender it goes to.
    pub to: String,
    /// The message's subject, tags taken out.
    pub subject: String,
    /// Who got an envelope, and until when it can be opened.
    pub sealed: Vec<(String, Option<i64>)>,
    /// Who got the message as it was, inside the organisation.
    pub internal: Vec<String>,
    /// Who got it as it was outside the organisation (no rule or trigger
    /// applied to them).
    pub clear: Vec<String>,
    /// Who got nothing, and why.
    pub refused: Vec<(String, String)>,
}

/// The sealing the hook calls (blocking: it is called on a blocking thread).
pub trait SealService: Send + Sync {
    /// Registers the message for `job.recipients` and seals one envelope
    /// each, inside a notification ready to send (or, when
    /// [`SealOptions::pulls`] says so, stored at the key server and linked
    /// from the notification).
    fn seal(&self, job: &SealJob) -> Result<SealedGroup, SealFailure>;

    /// The sender's "Secure Message Sent" mail, RFC 5322.
    fn confirmation(&self, report: &Report) -> Result<Vec<u8>, SealFailure>;
}
