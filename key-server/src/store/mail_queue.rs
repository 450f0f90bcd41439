//! The queue of mail the key server sends (`mail_outbox`).
//!
//! Handlers only add rows, so a page answers at once and alike whatever the
//! relay does. The worker claims one row at a time with one UPDATE (a lease,
//! `claimed_until`): two replicas never send the same mail, and a replica
//! that dies mid-send leaves the row to be claimed again once the lease ends.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::Store;
use crate::{hex, random, Error};

/// A mail claimed for sending.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    /// Row id.
    pub id: String,
    /// `confirm`, `already`, `reset`: for logs.
    pub kind: String,
    /// Envelope recipient.
    pub recipient: String,
    /// The rendered message.
    pub message: Vec<u8>,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// Where one queued mail is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailStatus {
    /// `confirm`, `already`, `reset`.
    pub kind: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Sent.
    pub sent: bool,
    /// Given up after its last attempt.
    pub given_up: bool,
    /// The body is still stored (it goes once sent or given up).
    pub has_body: bool,
}

/// Queues a rendered mail on `conn` (so it can be part of a transaction).
pub(super) async fn insert_mail(
    conn: &mut sqlx::AnyConnection,
    kind: &str,
    recipient: &str,
    message: &[u8],
    at: i64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO mail_outbox (id, kind, recipient, message, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(hex(&random::<16>()))
    .bind(kind)
    .bind(recipient)
    .bind(STANDARD.encode(message))
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// kind, attempts, sent at, failed at, message.
type MailStatusRow = (String, i64, Option<i64>, Option<i64>, Option<String>);

impl Store {
    /// Queues a rendered mail for sending now.
    pub async fn enqueue_mail(
        &self,
        kind: &str,
        recipient: &str,
        message: &[u8],
    ) -> Result<(), Error> {
        let mut conn = self.pool.acquire().await?;
        insert_mail(&mut conn, kind, recipient, message, self.now()).await
    }

    /// Claims the next due mail for `lease` seconds, or None. The claim is
    /// one conditional UPDATE: of several workers racing for a row, one wins.
    pub async fn claim_mail(&self, lease: i64) -> Result<Option<QueuedMail>, Error> {
        let at = self.now();
        let candidates: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM mail_outbox
             WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
                 AND (claimed_until IS NULL OR claimed_until <= $1)
             ORDER BY next_attempt_at LIMIT 8",
        )
        .bind(at)
        .fetch_all(&self.pool)
        .await?;
        for (id,) in candidates {
            let row: Option<(String, String, String, Option<String>, i64)> = sqlx::query_as(
                "UPDATE mail_outbox SET claimed_until = $1, attempts = attempts + 1
                 WHERE id = $2 AND sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $3
                     AND (claimed_until IS NULL OR claimed_until <= $3)
                 RETURNING id, kind, recipient, message, attempts",
            )
            .bind(at + lease)
            .bind(&id)
            .bind(at)
            .fetch_optional(&self.pool)
            .await?;
            if let Some((id, kind, recipient, message, attempts)) = row {
                let message = STANDARD
                    .decode(message.unwrap_or_default())
                    .map_err(|e| Error::Mail(format!("a queued mail is not base64: {e}")))?;
                return Ok(Some(QueuedMail {
                    id,
                    kind,
                    recipient,
                    message,
                    attempts,
                }));
            }
        }
        Ok(None)
    }

    /// A mail went out: its body (which holds a link) is deleted at once.
    pub async fn mail_sent(&self, id: &str) -> Result<(), Error> {
        sqlx::query(
            "UPDATE mail_outbox SET sent_at = $1, message = NULL, claimed_until = NULL, last_error = NULL
             WHERE id = $2",
        )
        .bind(self.now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A sending attempt failed: try again at `retry_at`, or, with None,
    /// give up (the body is deleted; the row says why).
    pub async fn mail_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<(), Error> {
        let error: String = error.chars().take(500).collect();
        match retry_at {
            Some(at) => {
                sqlx::query(
                    "UPDATE mail_outbox SET next_attempt_at = $1, claimed_until = NULL, last_error = $2
                     WHERE id = $3",
                )
                .bind(at)
                .bind(error)
                .bind(id)
                .execute(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "UPDATE mail_outbox SET failed_at = $1, message = NULL, claimed_until = NULL, last_error = $2
                     WHERE id = $3",
                )
                .bind(self.now())
                .bind(error)
                .bind(id)
                .execute(&self.pool)
                .await?
            }
        };
        Ok(())
    }

    /// Mails waiting to be sent (for the queue-depth gauge).
    pub async fn mail_queue_depth(&self) -> Result<i64, Error> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(count)
    }

    /// Deletes sent and given-up rows older than `retention` seconds.
    pub async fn sweep_mail(&self, retention: i64) -> Result<u64, Error> {
        let before = self.now() - retention;
        let done = sqlx::query(
            "DELETE FROM mail_outbox WHERE (sent_at IS NOT NULL AND sent_at <= $1)
                 OR (failed_at IS NOT NULL AND failed_at <= $1)",
        )
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// The queue's rows for `recipient`, oldest first. For tests and
    /// administrators.
    pub async fn mail_for(&self, recipient: &str) -> Result<Vec<MailStatus>, Error> {
        let rows: Vec<MailStatusRow> = sqlx::query_as(
            "SELECT kind, attempts, sent_at, failed_at, message FROM mail_outbox
             WHERE recipient = $1 ORDER BY created_at, id",
        )
        .bind(recipient.to_ascii_lowercase())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(kind, attempts, sent, failed, message)| MailStatus {
                kind,
                attempts,
                sent: sent.is_some(),
                given_up: failed.is_some(),
                has_body: message.is_some(),
            })
            .collect())
    }
}
