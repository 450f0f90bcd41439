//! The hook's sealing: through the key server's API with the hook's own
//! sender token, exactly as `securedoc send` does. The hook runs on the mail
//! host, usually not where the key server runs; as a sender it never holds
//! the master key, and it works with any number of key-server replicas.

use std::path::PathBuf;
use std::sync::Arc;

use envelope_core::{EnvelopeInfo, Sealer};
use lettre::message::header::ReplyTo;
use lettre::message::{Mailbox, Mailboxes};
use mail_hook::{Notification, Report, SealFailure, SealJob, SealService, SealedGroup};
use securedoc_templates::{context, render_email, EnvelopePage};

use crate::cli::delivery::{envelope_bytes, envelope_file_len, store, KeyServerAccess};
use crate::cli::register::{
    hex, key_server_client, read_token, register_with, Refused, Registration,
};
use crate::cli::send::{notification, Envelope, Notice};
use crate::input::format_time;

/// The hook's sealing from its settings: none without a key server (mail
/// to be sealed then waits in Postfix's queue).
pub(super) fn service(
    key_server: Option<String>,
    token_file: Option<PathBuf>,
    lang: String,
    notice_from: Option<String>,
) -> anyhow::Result<Option<Arc<dyn SealService>>> {
    match (key_server, token_file) {
        (None, None) => Ok(None),
        (Some(_), None) | (None, Some(_)) => anyhow::bail!(
            "the hook needs both key_server and token_file to seal (or neither, to pass mail only)"
        ),
        (Some(origin), Some(token_file)) => {
            let origin = origin.trim_end_matches('/').to_string();
            envelope_core::validate_origin(&origin).map_err(anyhow::Error::msg)?;
            Ok(Some(Arc::new(KeyServerSealing {
                client: key_server_client()?,
                token: read_token(&token_file)?,
                origin,
                lang,
                notice_from,
            })))
        }
    }
}

struct KeyServerSealing {
    /// Kept, so connections to the key server are reused.
    client: reqwest::blocking::Client,
    origin: String,
    token: String,
    /// For recipients without a known language, and the confirmation.
    lang: String,
    notice_from: Option<String>,
}

/// A failure of ours or the key server's that a retry may cure.
fn temporary(error: anyhow::Error) -> SealFailure {
    SealFailure::Temporary(format!("{error:#}"))
}

/// The key server's refusal for good (it refuses the message, or an
/// envelope over its size) bounces; anything else may pass later.
fn key_server_failure(error: anyhow::Error) -> SealFailure {
    match error.downcast_ref::<Refused>() {
        Some(refused) if !refused.is_temporary() => SealFailure::Permanent(refused.message.clone()),
        _ => temporary(error),
    }
}

impl SealService for KeyServerSealing {
    fn seal(&self, job: &SealJob) -> Result<SealedGroup, SealFailure> {
        let now = jiff::Timestamp::now().as_second();
        let expires = job
            .options
            .expires_days
            .map(|days| now + i64::from(days) * 86_400);
        let flags = job.options.flags();
        let registered = register_with(
            &self.client,
            &Registration {
                origin: &self.origin,
                token: &self.token,
                from: &job.sender,
                recipients: &job.recipients,
                expires,
                flags,
                security: job.options.security,
                passcode: false,
                sender_lang: None,
            },
        )
        .map_err(key_server_failure)?;
        let key_server = registered
            .organization
            .clone()
            .unwrap_or_else(|| self.origin.clone());
        // Packed once (format v2: attachments as bytes) for every recipient.
        let packed = envelope_core::pack(&job.message)
            .map_err(|e| SealFailure::Permanent(format!("the message cannot be sealed: {e}")))?;
        let mut notifications = Vec::with_capacity(job.recipients.len());
        for (to, envelope) in job.recipients.iter().zip(&registered.envelopes) {
            let info = EnvelopeInfo {
                from: job.sender.clone(),
                to: to.clone(),
                created: now,
                expires,
                flags,
            };
            let mut header = envelope
                .header(
                    &info,
                    &self.origin,
                    job.options.security,
                    registered.organization.as_deref(),
                )
                .map_err(temporary)?;
            let lang = header.lang.get_or_insert_with(|| self.lang.clone()).clone();
            let cannot_seal = |e: envelope_core::SealError| {
                SealFailure::Permanent(format!("the message cannot be sealed: {e}"))
            };
            let page = EnvelopePage::new(&header);
            let sealer = Sealer::new(header, envelope.cek.clone()).map_err(cannot_seal)?;
            let pulls = job
                .options
                .pulls(envelope_file_len(&page, &sealer, &packed));
            let bytes = envelope_bytes(&sealer, &packed, |_| {}).map_err(cannot_seal)?;
            let carried = if pulls {
                let server = KeyServerAccess {
                    client: &self.client,
                    origin: &self.origin,
                    token: &self.token,
                };
                let stored = store(&server, to, &sealer, bytes).map_err(key_server_failure)?;
                Envelope::Linked(stored.portal_url)
            } else {
                Envelope::Attached(page.with_envelope(&bytes).into_bytes())
            };
            let mut mail = notification(
                &Notice {
                    from: &job.sender,
                    to,
                    lang: &lang,
                    // `first_contact = "passcode"`: a code, not a password.
                    mode: if envelope.status.passcode {
                        "passcode"
                    } else {
                        "server"
                    },
                    key_server: Some(&key_server),
                    expires,
                    reply_to_sender: true,
                },
                carried,
            )
            .map_err(|e| SealFailure::Permanent(format!("{e:#}")))?;
            // A plain reply to the notification reaches the sender (parsed as
            // a mailbox, so lettre encodes it; the sender's address if not).
            let reply_to = job
                .reply_to
                .parse::<Mailbox>()
                .or_else(|_| job.sender.parse::<Mailbox>())
                .map_err(|_| {
                    SealFailure::Permanent(format!("{} is not a mail address", job.sender))
                })?;
            mail.headers_mut()
                .set(ReplyTo::from(Mailboxes::from(reply_to)));
            // Pulled for a recipient who turned notification mails off (the
            // key server's `notify`): sealed, waiting in their portal Inbox.
            let mailed = !pulls || envelope.status.notify;
            notifications.push(Notification {
                recipient: to.clone(),
                envelope_id: hex(&envelope.id),
                mail: mailed.then(|| mail.formatted()),
            });
        }
        Ok(SealedGroup {
            message_id: registered.message,
            expires,
            notifications,
        })
    }

    fn confirmation(&self, report: &Report) -> Result<Vec<u8>, SealFailure> {
        let sealed: Vec<_> = report
            .sealed
            .iter()
            .map(|(address, expires)| context! { address, expires => expires.map(format_time) })
            .collect();
        let refused: Vec<_> = report
            .refused
            .iter()
            .map(|(address, reason)| context! { address, reason })
            .collect();
        let email = render_email(
            "sent",
            context! {
                lang => self.lang,
                subject => report.subject,
                sealed,
                internal => report.internal,
                clear => report.clear,
                refused,
            },
        )
        .map_err(|e| SealFailure::Temporary(e.to_string()))?;
        let from = self.notice_from.clone().unwrap_or_else(|| {
            let domain = report.to.rsplit_once('@').map_or("localhost", |(_, d)| d);
            format!("postmaster@{domain}")
        });
        key_server::Mailer::compose_automatic(&from, &report.to, &email)
            .map(|mail| mail.formatted())
            .map_err(|e| SealFailure::Permanent(e.to_string()))
    }
}
