//! What happens when a recipient opens a message: the opening goes on
//! record for the sender (`securedoc message status`), and the first
//! opening by each recipient of a message that asks for one queues a read
//! receipt to the sender. Every way of opening (key release, Open Online)
//! calls [`opened`] once it has decided to give the message out.

use securedoc_templates::{context, render_receipt_email};

use super::AppState;
use crate::{Error, Mailer};

/// The kind of a read receipt in the mail queue.
const RECEIPT: &str = "read_receipt";

/// Records that `recipient` opened envelope `message_id` from `client` and,
/// on that recipient's first opening of an envelope whose sender asked for
/// a read receipt, queues the receipt to the sender, in the same
/// transaction: exactly one receipt per recipient, whatever the number of
/// parallel openings or replicas. The mail goes through the queue, so the
/// opening never waits for a relay.
pub async fn opened(
    state: &AppState,
    message_id: &str,
    recipient: &str,
    client: &str,
) -> Result<(), Error> {
    let Some(details) = state.store.receipt_details(message_id).await? else {
        return Ok(());
    };
    let at = state.store.now();
    let recipient = recipient.to_ascii_lowercase();
    // Rendered before the store decides whether this is the first opening,
    // so the decision and the queueing are one transaction.
    let receipt = match (&details.from, details.flags.read_receipt) {
        (Some(from), true) => {
            let id = details.sending_id.as_deref().unwrap_or(message_id);
            let lang = details.sender_lang.as_deref().unwrap_or("en");
            let email = render_receipt_email(
                lang,
                context! {
                    message => id.get(..8).unwrap_or(id),
                    recipient => &recipient,
                    sent => format_time(details.created_at),
                    opened => format_time(at),
                    // Staff follow their messages in the portal's Sent items.
                    sent_items => (details.sender == crate::http::answers::STAFF_SENDER)
                        .then(|| format!("{}/portal/sent", state.settings.public_url)),
                },
            )
            .map_err(|e| Error::Mail(format!("cannot render the read receipt: {e}")))?;
            let mail = Mailer::compose_automatic(&state.settings.mail_from, from, &email)?;
            Some((from.clone(), mail.formatted()))
        }
        _ => None,
    };
    let opening = state
        .store
        .record_opening(
            message_id,
            &recipient,
            client,
            receipt
                .as_ref()
                .map(|(to, mail)| (RECEIPT, to.as_str(), mail.as_slice())),
        )
        .await?;
    if let Some(opening) = opening {
        metrics::counter!("securedoc_openings_total").increment(1);
        if opening.first && receipt.is_some() {
            tracing::info!(message_id, recipient = %recipient, "queued a read receipt");
            state.mail_wake.notify_one();
        }
    }
    Ok(())
}

/// `2026-11-22 18:34 UTC`: one form for every language, never ambiguous.
pub(crate) fn format_time(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| seconds.to_string())
}
