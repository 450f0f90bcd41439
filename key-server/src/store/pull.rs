//! Pull delivery's storage: sealed envelopes kept at the key server, in
//! chunks, and the Inbox entry that points at each (docs/PORTAL.md).
//!
//! The stored bytes are the envelope as the sender sealed it: ciphertext
//! under the message's content key. Deleting that key (expiry, revoke,
//! retention) makes them useless at once; [`Store::delete_keyless_envelopes`]
//! then removes them, keys first.

use sqlx::Acquire;

use super::blobs::write_blob;
use super::Store;
use crate::Error;

/// An envelope to store for pull delivery, with its Inbox entry.
#[derive(Debug, Clone, Copy)]
pub struct NewStoredEnvelope<'a> {
    /// The envelope's id (one recipient's envelope).
    pub message_id: &'a str,
    /// Its recipient, whose Inbox gets the entry.
    pub recipient: &'a str,
    /// The envelope, binary (header and sealed payload).
    pub bytes: &'a [u8],
    /// The Inbox entry's id (random; the summary is sealed to it).
    pub entry_id: &'a str,
    /// The entry's summary, sealed under the master key (base64).
    pub summary_sealed: &'a str,
}

/// The owner name of a stored envelope's chunks.
pub(super) fn envelope_owner(message_id: &str) -> String {
    format!("envelope:{message_id}")
}

impl Store {
    /// The sealed content key of envelope `message_id` while it may still be
    /// stored for pull: not withdrawn, not expired (a sender's lock does not
    /// matter: it only pauses release).
    pub async fn key_for_storing(&self, message_id: &str) -> Result<Option<String>, Error> {
        let row: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT sealed_key FROM messages
             WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(message_id)
        .bind(self.now())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|(key,)| key))
    }

    /// Stores an envelope and its Inbox entry in one transaction; false
    /// (and nothing written) when this envelope was stored already.
    pub async fn store_envelope(&self, new: NewStoredEnvelope<'_>) -> Result<bool, Error> {
        let at = self.now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        // The claim first, before anything is read: a second upload of the
        // same envelope (on any replica) finds the row and stops here.
        let claimed = sqlx::query(
            "INSERT INTO stored_envelopes (message_id, size, stored_at) VALUES ($1, $2, $3)
             ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(new.message_id)
        .bind(new.bytes.len() as i64)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            return Ok(false);
        }
        write_blob(&mut tx, &envelope_owner(new.message_id), new.bytes).await?;
        sqlx::query(
            "INSERT INTO mailbox_entries (id, address, box, message_id, summary_sealed, at)
             VALUES ($1, $2, 'inbox', $3, $4, $5)",
        )
        .bind(new.entry_id)
        .bind(new.recipient.to_ascii_lowercase())
        .bind(new.message_id)
        .bind(new.summary_sealed)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The size of stored envelope `message_id`, bytes, if it is stored.
    pub async fn stored_envelope_size(&self, message_id: &str) -> Result<Option<i64>, Error> {
        let size: Option<(i64,)> =
            sqlx::query_as("SELECT size FROM stored_envelopes WHERE message_id = $1")
                .bind(message_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(size.map(|(size,)| size))
    }

    /// The stored envelope `message_id`, if it is (still) stored.
    pub async fn stored_envelope(&self, message_id: &str) -> Result<Option<Vec<u8>>, Error> {
        let size: Option<(i64,)> =
            sqlx::query_as("SELECT size FROM stored_envelopes WHERE message_id = $1")
                .bind(message_id)
                .fetch_optional(&self.pool)
                .await?;
        let Some((size,)) = size else {
            return Ok(None);
        };
        let bytes = self.read_blob(&envelope_owner(message_id), size).await?;
        Ok(Some(bytes))
    }

    /// Deletes the stored envelopes whose key is gone (expired, withdrawn,
    /// past retention): the chunks, then the row. Returns how many.
    pub async fn delete_keyless_envelopes(&self) -> Result<u64, Error> {
        let keyless = "SELECT s.message_id FROM stored_envelopes s
                       JOIN messages m ON m.id = s.message_id WHERE m.sealed_key IS NULL";
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        sqlx::query(&format!(
            "DELETE FROM blob_chunks WHERE owner IN (SELECT 'envelope:' || message_id FROM ({keyless}) k)"
        ))
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query(&format!(
            "DELETE FROM stored_envelopes WHERE message_id IN ({keyless})"
        ))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Deletes Inbox entries older than the retention period; their
    /// messages' keys went first (the same retention shreds them). Sent
    /// items go with their items ([`Store::sweep_private_items`]).
    pub async fn sweep_mailboxes(&self, retention_seconds: i64) -> Result<u64, Error> {
        let done = sqlx::query("DELETE FROM mailbox_entries WHERE box = 'inbox' AND at <= $1")
            .bind(self.now() - retention_seconds)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// How many chunk rows are stored (for tests and the operator's checks).
    pub async fn stored_chunk_count(&self) -> Result<i64, Error> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM blob_chunks")
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }
}
