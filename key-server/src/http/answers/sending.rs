//! Sending an answer or a new message: sealed per recipient (own id and
//! key, registered here, the notification queued with its envelope
//! attached or, for pull delivery, the envelope kept here and the
//! notification linking to the portal), or, for the organisation's own
//! addresses with `internal_answers_plain`, as ordinary mail straight to
//! the relay.

use envelope_core::{ContentKey, Draft, EnvelopeInfo, Sealer};
use securedoc_templates::{context, fill, render_email, text};

use super::options::SendOptions;
use crate::http::pull::{keep_for_portal, EntrySummary};
use crate::http::AppState;
use crate::mail::{MailAttachment, Mailer};
use crate::store::{NewEnvelope, NewMessage};

/// What "Your message was sent" says: who got it sealed, who as ordinary
/// mail inside the organisation.
pub(super) fn sent_lines(
    lang: &str,
    sealed: &[String],
    plain: &[String],
    pull: bool,
) -> Vec<String> {
    let mut lines = Vec::new();
    if !sealed.is_empty() {
        lines.push(fill(
            &text(lang, "compose.sent_body"),
            &[("to", sealed.join(", "))],
        ));
        let after = if pull {
            "staff.sent_after_pull"
        } else {
            "compose.sent_after"
        };
        lines.push(text(lang, after));
    }
    if !plain.is_empty() {
        lines.push(fill(
            &text(lang, "compose.sent_internal"),
            &[("to", plain.join(", "))],
        ));
    }
    lines
}

/// Sends `draft` to `recipients` (the organisation's own addresses) as one
/// ordinary mail, straight to the relay: never through the queue, so its
/// plaintext is not stored, and an error means it was not sent.
pub(super) async fn deliver_plain(
    state: &AppState,
    draft: &Draft,
    recipients: &[String],
) -> Result<(), crate::Error> {
    let message = zeroize::Zeroizing::new(envelope_core::compose(draft));
    let mailer = state.mailer.clone();
    let from = state.settings.mail_from.clone();
    let to = recipients.to_vec();
    tokio::task::spawn_blocking(move || mailer.send_raw_blocking(&from, &to, &message))
        .await
        .map_err(|e| crate::Error::Io(std::io::Error::other(e)))??;
    metrics::counter!("securedoc_answers_total", "kind" => "plain").increment(1);
    tracing::info!(
        recipients = recipients.len(),
        "an answer went to internal addresses as ordinary mail"
    );
    Ok(())
}

/// Seals `draft` for each of `recipients` (own id and key, registered here
/// as `options` say) and queues each notification: with the envelope
/// attached, or (pull) linking to the portal, where the envelope is kept.
/// Returns the sending's id.
pub(super) async fn seal_and_queue(
    state: &AppState,
    draft: &Draft,
    recipients: &[String],
    options: &SendOptions,
) -> Result<String, crate::Error> {
    let sender_id = state.store.internal_sender(options.sender).await?;
    let created = state.store.now();
    let (flags, expires) = (options.flags, options.expires);
    // Each recipient's envelope: its own random id and content key.
    let keys: Vec<([u8; 16], ContentKey)> = recipients
        .iter()
        .map(|_| (crate::random::<16>(), ContentKey::generate()))
        .collect();
    let envelopes: Vec<NewEnvelope> = recipients
        .iter()
        .zip(&keys)
        .map(|(to, (id, key))| {
            let id = crate::hex(id);
            NewEnvelope {
                sealed_key: state.master_key.seal(&id, key.as_bytes()),
                id,
                recipient: to.clone(),
            }
        })
        .collect();
    let sending_id = crate::hex(&crate::random::<16>());
    // Recipients follow `first_contact` as a sender's do; staff may ask for
    // a one-time passcode for everyone.
    let passcode = crate::http::release::passcode_for(state, options.passcode, options.security);
    let statuses = state
        .store
        .register_envelopes_for(
            &sender_id,
            &NewMessage {
                from: draft.from.clone(),
                expires: Some(expires),
                flags,
                security: options.security,
                sending_id: sending_id.clone(),
                sender_lang: None,
            },
            &envelopes,
            passcode,
        )
        .await?;
    let message = zeroize::Zeroizing::new(envelope_core::compose(draft));
    let packed = envelope_core::pack(&message)
        .map_err(|e| crate::Error::Unprocessable(format!("cannot seal: {e}")))?;
    let expires_on = jiff::Timestamp::from_second(expires)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .ok();
    // Each recipient's notification and envelope in their account's language.
    let notification = |lang: Option<&str>, link: Option<&str>, passcode: bool| {
        render_email(
            "notification",
            context! {
                lang,
                sender => &draft.from,
                // A passcode recipient is told to ask for a code, not a password.
                mode => if passcode { "passcode" } else { "server" },
                key_server => state.settings.organization_name.as_ref().unwrap_or(&state.settings.public_url),
                expires => &expires_on,
                link,
            },
        )
        .map_err(|e| crate::Error::Unprocessable(format!("cannot render the notification: {e}")))
    };
    let cannot_seal =
        |e: envelope_core::SealError| crate::Error::Unprocessable(format!("cannot seal: {e}"));
    for ((to, (id, key)), status) in recipients.iter().zip(keys).zip(statuses) {
        let info = EnvelopeInfo {
            from: draft.from.clone(),
            to: to.clone(),
            created,
            expires: Some(expires),
            flags,
        };
        let lang = status.language.clone();
        let (notify, passcode) = (status.notify, status.passcode);
        let sealer = sealer(info, id, status, state, key, options).map_err(cannot_seal)?;
        let (email, attachments) = if options.pull {
            let envelope = sealer.seal(&[], &packed, |_| {}).map_err(cannot_seal)?;
            let summary = EntrySummary {
                subject: draft.subject.clone(),
                from: draft.from.clone(),
                date: jiff::Timestamp::from_second(draft.date)
                    .map(|t| t.to_string())
                    .ok(),
                size: envelope.len() as u64,
                attachments: draft.attachments.len(),
            };
            let (link, _) = keep_for_portal(
                state,
                (&crate::hex(&id), to, passcode),
                &envelope,
                &summary,
                lang.as_deref(),
            )
            .await?;
            if !notify {
                // The recipient turned notification mails off: the message
                // waits in their Inbox.
                continue;
            }
            (
                notification(lang.as_deref(), Some(&link), passcode)?,
                Vec::new(),
            )
        } else {
            let html =
                securedoc_templates::sealed_page(&sealer, &[], &packed).map_err(cannot_seal)?;
            let attachment = MailAttachment {
                name: "securedoc.html".into(),
                content_type: "text/html; charset=utf-8".into(),
                bytes: html.into_bytes(),
            };
            (
                notification(lang.as_deref(), None, passcode)?,
                vec![attachment],
            )
        };
        let mail = Mailer::compose(&state.settings.mail_from, to, &email, attachments)?;
        state
            .store
            .enqueue_mail("answer", to, &mail.formatted())
            .await?;
    }
    state.mail_wake.notify_one();
    metrics::counter!("securedoc_answers_total", "kind" => "sent").increment(1);
    tracing::info!(
        recipients = recipients.len(),
        pull = options.pull,
        "a message written in the portal or Open Online was sealed and queued"
    );
    Ok(sending_id)
}

/// One recipient's sealer: the header (with their phrase, language and
/// the organisation, at the chosen security level) and the content key.
fn sealer(
    info: EnvelopeInfo,
    id: [u8; 16],
    status: crate::store::RecipientStatus,
    state: &AppState,
    key: ContentKey,
    options: &SendOptions,
) -> Result<Sealer, envelope_core::SealError> {
    let mut header = info.server_header(id, &state.settings.public_url, options.security)?;
    header.phrase = status.phrase;
    header.lang = status
        .language
        .map(|code| securedoc_templates::language(&code).to_string());
    header.organization = state.settings.organization_name.clone();
    Sealer::new(header, key)
}
