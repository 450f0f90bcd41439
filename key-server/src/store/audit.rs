//! The audit trail: every key-release attempt (and password reset), with
//! bounded fields, aggregated, and deleted after `audit_retention_days`.
//!
//! A row is one (outcome, client, account, message) in one hour, with a
//! count and the first and last time: a flood of refused requests adds to a
//! count instead of a row per request, so the table cannot fill the disk.
//! Fields are checked before they are stored: an address of at most 320
//! characters, a message id of exactly 32 hex digits, a client of at most 64
//! characters; anything else is stored as NULL.

use sha2::{Digest, Sha256};

use super::Store;
use crate::{hex, Error};

/// Seconds in one aggregation window.
const WINDOW: i64 = 3600;

/// `address` if it can be an e-mail address (lower-cased), else nothing.
fn bounded_address(address: Option<&str>) -> Option<String> {
    address
        .filter(|a| !a.is_empty() && a.len() <= 320 && a.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_ascii_lowercase)
}

/// `id` if it is a message id (32 hex digits), else nothing.
fn bounded_message_id(id: Option<&str>) -> Option<String> {
    id.filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
}

/// At most 64 printable characters.
fn bounded_client(client: &str) -> String {
    client
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect()
}

impl Store {
    /// Records one attempt: adds to the row of its (outcome, client,
    /// account, message) for this hour, or starts it.
    pub async fn audit(
        &self,
        account: Option<&str>,
        message_id: Option<&str>,
        client: &str,
        outcome: &str,
    ) -> Result<(), Error> {
        let at = self.now();
        let account = bounded_address(account);
        let message_id = bounded_message_id(message_id);
        let client = bounded_client(client);
        let outcome: String = outcome.chars().take(32).collect();
        let mut key = Sha256::new();
        for part in [
            outcome.as_str(),
            client.as_str(),
            account.as_deref().unwrap_or(""),
            message_id.as_deref().unwrap_or(""),
            &(at - at.rem_euclid(WINDOW)).to_string(),
        ] {
            key.update(part.as_bytes());
            key.update([0]);
        }
        sqlx::query(
            "INSERT INTO audit (id, at, last_at, count, account, message_id, client, outcome)
             VALUES ($1, $2, $2, 1, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET count = audit.count + 1, last_at = $2",
        )
        .bind(hex(&key.finalize()[..16]))
        .bind(at)
        .bind(account)
        .bind(message_id)
        .bind(client)
        .bind(outcome)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The audit outcomes for a message, oldest first, each as many times
    /// as it happened (for senders' status and tests).
    pub async fn audit_outcomes(&self, message_id: &str) -> Result<Vec<String>, Error> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT outcome, count FROM audit WHERE message_id = $1 ORDER BY at, id",
        )
        .bind(message_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .flat_map(|(outcome, count)| {
                std::iter::repeat_n(outcome, usize::try_from(count).unwrap_or(0))
            })
            .collect())
    }

    /// How many times `outcome` was recorded for `account` (all messages).
    pub async fn audit_count(&self, account: &str, outcome: &str) -> Result<i64, Error> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM audit WHERE account = $1 AND outcome = $2",
        )
        .bind(account.to_ascii_lowercase())
        .bind(outcome)
        .fetch_one(&self.pool)
        .await?;
        Ok(count)
    }

    /// The number of rows in the audit trail (what it costs on disk).
    pub async fn audit_rows(&self) -> Result<i64, Error> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit")
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }

    /// Deletes rows last touched more than `retention_seconds` ago.
    pub async fn sweep_audit(&self, retention_seconds: i64) -> Result<u64, Error> {
        let done = sqlx::query("DELETE FROM audit WHERE last_at < $1")
            .bind(self.now() - retention_seconds)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
