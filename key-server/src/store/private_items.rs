//! What recipients keep in the portal besides the messages sent to them:
//! copies of what they sent (Sent items). Each item is ciphertext under a
//! key of its own, stored sealed under the master key
//! ([`crate::MasterKey`]`::seal_item`); deleting clears the key first.

use sqlx::Acquire;

use super::blobs::{delete_blob, write_blob};
use super::Store;
use crate::Error;

/// A sent copy to keep, with its Sent items entry.
#[derive(Debug, Clone, Copy)]
pub struct NewSentItem<'a> {
    /// The item's id (its key and ciphertext are bound to it).
    pub id: &'a str,
    /// Whose Sent items it goes to.
    pub address: &'a str,
    /// The item's key, sealed under the master key (base64).
    pub sealed_key: &'a str,
    /// The ciphertext.
    pub item: &'a [u8],
    /// The entry's id and its summary, sealed to it (base64).
    pub entry_id: &'a str,
    pub summary_sealed: &'a str,
}

/// One entry of Sent items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEntry {
    /// The entry's id (its summary is sealed to it).
    pub id: String,
    /// The item it shows.
    pub item_id: String,
    /// The summary, sealed under the master key (base64).
    pub summary_sealed: String,
    /// When it was sent, Unix seconds.
    pub at: i64,
}

fn item_owner(id: &str) -> String {
    format!("item:{id}")
}

impl Store {
    /// Keeps a sent copy and its Sent items entry, in one transaction.
    pub async fn keep_sent_item(&self, new: NewSentItem<'_>) -> Result<(), Error> {
        let at = self.now();
        let address = new.address.to_ascii_lowercase();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        sqlx::query(
            "INSERT INTO private_items (id, address, kind, sealed_key, size, created_at, updated_at)
             VALUES ($1, $2, 'sent', $3, $4, $5, $5)",
        )
        .bind(new.id)
        .bind(&address)
        .bind(new.sealed_key)
        .bind(new.item.len() as i64)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        write_blob(&mut tx, &item_owner(new.id), new.item).await?;
        sqlx::query(
            "INSERT INTO mailbox_entries (id, address, box, item_id, summary_sealed, at)
             VALUES ($1, $2, 'sent', $3, $4, $5)",
        )
        .bind(new.entry_id)
        .bind(&address)
        .bind(new.id)
        .bind(new.summary_sealed)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Up to `limit` entries of `address`'s Sent items, newest first, older
    /// than `before` (an entry's `(at, id)`), as [`Store::inbox_page`] pages.
    pub async fn sent_page(
        &self,
        address: &str,
        before: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<SentEntry>, Error> {
        let (at, id) = before.unwrap_or((i64::MAX, ""));
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT e.id, e.item_id, e.summary_sealed, e.at FROM mailbox_entries e
             JOIN private_items i ON i.id = e.item_id AND i.sealed_key IS NOT NULL
             WHERE e.address = $1 AND e.box = 'sent'
                 AND (e.at < $2 OR (e.at = $2 AND e.id < $3))
             ORDER BY e.at DESC, e.id DESC LIMIT $4",
        )
        .bind(address.to_ascii_lowercase())
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, item_id, summary_sealed, at)| SentEntry {
                id,
                item_id,
                summary_sealed,
                at,
            })
            .collect())
    }

    /// `address`'s sent item `id`: its sealed key and ciphertext, if it is theirs.
    pub async fn sent_item(
        &self,
        address: &str,
        id: &str,
    ) -> Result<Option<(String, Vec<u8>)>, Error> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT sealed_key, size FROM private_items
             WHERE id = $1 AND address = $2 AND kind = 'sent' AND sealed_key IS NOT NULL",
        )
        .bind(id)
        .bind(address.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        let Some((sealed_key, size)) = row else {
            return Ok(None);
        };
        Ok(Some((
            sealed_key,
            self.read_blob(&item_owner(id), size).await?,
        )))
    }

    /// Deletes `address`'s sent item `id`: key, ciphertext, entry. False if
    /// it is not theirs.
    pub async fn delete_sent_item(&self, address: &str, id: &str) -> Result<bool, Error> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let done = sqlx::query(
            "DELETE FROM private_items WHERE id = $1 AND address = $2 AND kind = 'sent'",
        )
        .bind(id)
        .bind(address.to_ascii_lowercase())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        delete_blob(&mut tx, &item_owner(id)).await?;
        sqlx::query("DELETE FROM mailbox_entries WHERE item_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Private items older than `retention_seconds`: their keys are cleared
    /// first (one statement: nothing of them is readable from then on),
    /// then their chunks, entries and rows go. Returns how many.
    pub async fn sweep_private_items(&self, retention_seconds: i64) -> Result<u64, Error> {
        let shredded = sqlx::query(
            "UPDATE private_items SET sealed_key = NULL WHERE sealed_key IS NOT NULL AND updated_at <= $1",
        )
        .bind(self.now() - retention_seconds)
        .execute(&self.pool)
        .await?
        .rows_affected();
        let keyless = "SELECT id FROM private_items WHERE sealed_key IS NULL";
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        sqlx::query(&format!(
            "DELETE FROM blob_chunks WHERE owner IN (SELECT 'item:' || id FROM ({keyless}) k)"
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "DELETE FROM mailbox_entries WHERE item_id IN ({keyless})"
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM private_items WHERE sealed_key IS NULL")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(shredded)
    }
}
