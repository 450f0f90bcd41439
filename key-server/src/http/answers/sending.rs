//! Sending an answer: sealed per recipient (own id and key, registered
//! here, the notification queued with its envelope attached), or, for the
//! organisation's own addresses with `internal_answers_plain`, as ordinary
//! mail straight to the relay.

use envelope_core::{ContentKey, Draft, EnvelopeInfo, Flags, Sealer, SecurityLevel};
use securedoc_templates::{context, fill, render_email, text};

use crate::http::AppState;
use crate::mail::{MailAttachment, Mailer};
use crate::store::{NewEnvelope, NewMessage};

/// What "Your message was sent" says: who got it sealed, who as ordinary
/// mail inside the organisation.
pub(super) fn sent_lines(lang: &str, sealed: &[String], plain: &[String]) -> Vec<String> {
    let mut lines = Vec::new();
    if !sealed.is_empty() {
        lines.push(fill(
            &text(lang, "compose.sent_body"),
            &[("to", sealed.join(", "))],
        ));
        lines.push(text(lang, "compose.sent_after"));
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

/// Seals `draft` for each of `recipients` (own id and key, registered here)
/// and queues each notification with its envelope attached.
pub(super) async fn seal_and_queue(
    state: &AppState,
    draft: &Draft,
    recipients: &[String],
) -> Result<(), crate::Error> {
    let limits = &state.settings.compose;
    let sender_id = state.store.internal_sender("securedoc-answers").await?;
    let created = state.store.now();
    let expires = created + limits.expires_seconds;
    let flags = Flags::default();
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
    // An answer's recipients follow `first_contact` as a sender's do.
    let passcode = crate::http::release::passcode_for(state, false, SecurityLevel::High);
    let statuses = state
        .store
        .register_envelopes_for(
            &sender_id,
            &NewMessage {
                from: draft.from.clone(),
                expires: Some(expires),
                flags,
                security: SecurityLevel::High,
                sending_id: crate::hex(&crate::random::<16>()),
                sender_lang: None,
            },
            &envelopes,
            passcode,
        )
        .await?;
    let message = zeroize::Zeroizing::new(envelope_core::compose(draft));
    let packed = envelope_core::pack(&message)
        .map_err(|e| crate::Error::Unprocessable(format!("cannot seal: {e}")))?;
    // Each recipient's notification and envelope in their account's language.
    let notification = |lang: Option<&str>| {
        render_email(
            "notification",
            context! {
                lang,
                sender => &draft.from,
                mode => "server",
                key_server => state.settings.organization_name.as_ref().unwrap_or(&state.settings.public_url),
                expires => jiff::Timestamp::from_second(expires).map(|t| t.strftime("%Y-%m-%d").to_string()).ok(),
            },
        )
        .map_err(|e| crate::Error::Unprocessable(format!("cannot render the notification: {e}")))
    };
    for ((to, (id, key)), status) in recipients.iter().zip(keys).zip(statuses) {
        let email = notification(status.language.as_deref())?;
        let info = EnvelopeInfo {
            from: draft.from.clone(),
            to: to.clone(),
            created,
            expires: Some(expires),
            flags,
        };
        let html = envelope_page(info, id, status, state, key, &packed)
            .map_err(|e| crate::Error::Unprocessable(format!("cannot seal: {e}")))?;
        let mail = Mailer::compose(
            &state.settings.mail_from,
            to,
            &email,
            vec![MailAttachment {
                name: "securedoc.html".into(),
                content_type: "text/html; charset=utf-8".into(),
                bytes: html.into_bytes(),
            }],
        )?;
        state
            .store
            .enqueue_mail("answer", to, &mail.formatted())
            .await?;
    }
    state.mail_wake.notify_one();
    metrics::counter!("securedoc_answers_total", "kind" => "sent").increment(1);
    tracing::info!(
        recipients = recipients.len(),
        "an answer was sealed and queued"
    );
    Ok(())
}

/// One recipient's `securedoc.html`: the header (with their phrase,
/// language and the organisation), the sealed message, the page around it.
fn envelope_page(
    info: EnvelopeInfo,
    id: [u8; 16],
    status: crate::store::RecipientStatus,
    state: &AppState,
    key: ContentKey,
    message: &envelope_core::Packed,
) -> Result<String, envelope_core::SealError> {
    let mut header = info.server_header(id, &state.settings.public_url, SecurityLevel::High)?;
    header.phrase = status.phrase;
    header.lang = status
        .language
        .map(|code| securedoc_templates::language(&code).to_string());
    header.organization = state.settings.organization_name.clone();
    securedoc_templates::sealed_page(&Sealer::new(header, key)?, &[], message)
}
