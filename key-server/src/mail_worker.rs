//! The worker that sends the key server's queued mail (`store::mail_queue`).
//!
//! Started by [`crate::serve`] on every replica. It claims one mail at a time
//! (so replicas share the queue and never send a mail twice), sends it through
//! the configured [`Mailer`] (SMTP relay, or the outbox directory for the
//! demo), and on failure tries again later, each wait twice the last, until
//! it gives up after `mail_max_attempts` and logs it. A sent mail's body is
//! deleted at once: it holds a link.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::{Error, Mailer, Store};

/// How the worker retries and how long it keeps rows.
#[derive(Debug, Clone)]
pub struct MailQueueSettings {
    /// The From of the server's mail; its address is the envelope sender.
    pub from: String,
    /// Attempts before giving up on a mail.
    pub max_attempts: i64,
    /// The first retry waits this long, seconds; each next one twice longer.
    pub retry_seconds: i64,
    /// Sent and given-up rows are deleted after this long, seconds.
    pub retention_seconds: i64,
}

/// A claim lasts this long, seconds: longer than any SMTP exchange, so a
/// mail is not claimed twice while it is being sent.
const LEASE_SECONDS: i64 = 300;
/// Other replicas' new mail is found by polling this often.
const POLL: Duration = Duration::from_secs(1);
/// Old rows are swept this often.
const SWEEP_EVERY: Duration = Duration::from_secs(600);
/// The longest wait between two attempts.
const MAX_BACKOFF_SECONDS: i64 = 3600;

/// The wait before attempt `attempts + 1`: `base`, then twice as long each
/// time, at most an hour.
fn backoff(base: i64, attempts: i64) -> i64 {
    let doublings = u32::try_from((attempts - 1).clamp(0, 20)).unwrap_or(20);
    base.max(1)
        .saturating_mul(1_i64 << doublings)
        .min(MAX_BACKOFF_SECONDS)
}

/// Starts the worker; `wake` makes it look at the queue at once (a handler
/// on this replica just queued a mail).
pub(crate) fn spawn(store: Store, mailer: Mailer, settings: MailQueueSettings, wake: Arc<Notify>) {
    tokio::spawn(async move {
        let mut last_sweep = Instant::now();
        loop {
            loop {
                match store.claim_mail(LEASE_SECONDS).await {
                    Ok(Some(mail)) => send_one(&store, &mailer, &settings, mail).await,
                    Ok(None) => break,
                    Err(error) => {
                        tracing::error!(%error, "cannot read the mail queue");
                        break;
                    }
                }
            }
            if let Ok(depth) = store.mail_queue_depth().await {
                metrics::gauge!("securedoc_mail_queue_depth").set(depth as f64);
            }
            if last_sweep.elapsed() >= SWEEP_EVERY {
                last_sweep = Instant::now();
                match store.sweep_mail(settings.retention_seconds).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, "deleted old rows of the mail queue"),
                    Err(error) => tracing::error!(%error, "cannot sweep the mail queue"),
                }
                if let Err(error) = store.sweep_pending_registrations().await {
                    tracing::error!(%error, "cannot delete expired registrations");
                }
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    });
}

async fn send_one(
    store: &Store,
    mailer: &Mailer,
    settings: &MailQueueSettings,
    mail: crate::QueuedMail,
) {
    let (sender, from, to) = (
        mailer.clone(),
        settings.from.clone(),
        mail.recipient.clone(),
    );
    let message = mail.message;
    let sent =
        tokio::task::spawn_blocking(move || sender.send_raw_blocking(&from, &[to], &message))
            .await
            .unwrap_or_else(|e| Err(Error::Mail(format!("the sending task failed: {e}"))));
    let recorded = match sent {
        Ok(()) => {
            tracing::info!(kind = %mail.kind, id = %mail.id, "sent a mail");
            store.mail_sent(&mail.id).await
        }
        Err(error) => {
            metrics::counter!("securedoc_mail_failures_total").increment(1);
            let give_up = mail.attempts >= settings.max_attempts;
            if give_up {
                tracing::error!(kind = %mail.kind, id = %mail.id, attempts = mail.attempts, %error,
                    "gave up on a mail");
            } else {
                tracing::warn!(kind = %mail.kind, id = %mail.id, attempts = mail.attempts, %error,
                    "cannot send a mail; will try again");
            }
            let retry_at =
                (!give_up).then(|| store.now() + backoff(settings.retry_seconds, mail.attempts));
            store
                .mail_failed(&mail.id, &error.to_string(), retry_at)
                .await
        }
    };
    if let Err(error) = recorded {
        tracing::error!(%error, id = %mail.id, "cannot record a mail's outcome");
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn each_wait_doubles_up_to_an_hour() {
        assert_eq!(
            (1..=5).map(|n| backoff(30, n)).collect::<Vec<_>>(),
            [30, 60, 120, 240, 480]
        );
        assert_eq!(backoff(30, 40), 3600);
        assert_eq!(backoff(0, 1), 1);
    }
}
