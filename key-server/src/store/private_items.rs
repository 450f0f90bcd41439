//! What recipients keep in the portal besides the messages sent to them:
//! copies of what they sent (Sent items, kind `sent`) and drafts (kind
//! `draft`). Each item is ciphertext under a key of its own, stored sealed
//! under the master key ([`crate::MasterKey`]`::seal_item`); deleting clears
//! the key first. Each has a mailbox entry (box = its kind) with its summary.

use sqlx::Acquire;

use super::blobs::{delete_blob, write_blob};
use super::Store;
use crate::Error;

/// An item to keep (or, for a draft, to replace), with its entry.
#[derive(Debug, Clone, Copy)]
pub struct NewItem<'a> {
    /// `sent` or `draft`.
    pub kind: &'a str,
    /// The item's id (its key and ciphertext are bound to it).
    pub id: &'a str,
    /// Whose it is.
    pub address: &'a str,
    /// The item's key, sealed under the master key (base64).
    pub sealed_key: &'a str,
    /// The ciphertext.
    pub item: &'a [u8],
    /// The entry's id and its summary, sealed to it (base64).
    pub entry_id: &'a str,
    pub summary_sealed: &'a str,
    /// The sending a staff member's Sent item made (its status and controls).
    pub sending_id: Option<&'a str>,
}

/// One entry of Sent items or Drafts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemEntry {
    /// The entry's id (its summary is sealed to it).
    pub id: String,
    /// The item it shows.
    pub item_id: String,
    /// The summary, sealed under the master key (base64).
    pub summary_sealed: String,
    /// When it was sent (last saved, for a draft), Unix seconds.
    pub at: i64,
}

fn item_owner(id: &str) -> String {
    format!("item:{id}")
}

impl Store {
    /// Keeps an item and its entry, in one transaction; an existing item of
    /// the same id, kind and owner (a draft saved again) is replaced, key,
    /// ciphertext and entry. False when `max` items of this kind exist
    /// already (a new one is refused) or the id is someone else's.
    pub async fn keep_item(&self, new: NewItem<'_>, max: i64) -> Result<bool, Error> {
        let at = self.now();
        let address = new.address.to_ascii_lowercase();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        // One writer per account from here: the count below and the insert
        // cannot interleave with another save (PostgreSQL's READ COMMITTED
        // would otherwise let parallel saves each see room for one more).
        super::personal::lock_account(&mut tx, &address).await?;
        let replaced = sqlx::query(
            "UPDATE private_items SET sealed_key = $1, size = $2, updated_at = $3
             WHERE id = $4 AND address = $5 AND kind = $6 AND sealed_key IS NOT NULL",
        )
        .bind(new.sealed_key)
        .bind(new.item.len() as i64)
        .bind(at)
        .bind(new.id)
        .bind(&address)
        .bind(new.kind)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if replaced {
            delete_blob(&mut tx, &item_owner(new.id)).await?;
            sqlx::query("DELETE FROM mailbox_entries WHERE item_id = $1")
                .bind(new.id)
                .execute(&mut *tx)
                .await?;
        } else {
            // Counted and inserted in one statement: a burst of saves on
            // any number of replicas cannot pass `max`.
            let inserted = sqlx::query(
                "INSERT INTO private_items (id, address, kind, sealed_key, size, created_at, updated_at, sending_id)
                 SELECT $1, $2, $3, $4, $5, $6, $6, $8
                 WHERE (SELECT COUNT(*) FROM private_items WHERE address = $2 AND kind = $3) < $7
                   AND NOT EXISTS (SELECT 1 FROM private_items WHERE id = $1)",
            )
            .bind(new.id)
            .bind(&address)
            .bind(new.kind)
            .bind(new.sealed_key)
            .bind(new.item.len() as i64)
            .bind(at)
            .bind(max)
            .bind(new.sending_id.map(str::to_string))
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 0 {
                return Ok(false);
            }
        }
        write_blob(&mut tx, &item_owner(new.id), new.item).await?;
        sqlx::query(
            "INSERT INTO mailbox_entries (id, address, box, item_id, summary_sealed, at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new.entry_id)
        .bind(&address)
        .bind(new.kind)
        .bind(new.id)
        .bind(new.summary_sealed)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Up to `limit` entries of `address`'s items of `kind`, newest first,
    /// older than `before` (an entry's `(at, id)`), as [`Store::inbox_page`] pages.
    pub async fn items_page(
        &self,
        address: &str,
        kind: &str,
        before: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<ItemEntry>, Error> {
        let (at, id) = before.unwrap_or((i64::MAX, ""));
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT e.id, e.item_id, e.summary_sealed, e.at FROM mailbox_entries e
             JOIN private_items i ON i.id = e.item_id AND i.sealed_key IS NOT NULL
             WHERE e.address = $1 AND e.box = $5
                 AND (e.at < $2 OR (e.at = $2 AND e.id < $3))
             ORDER BY e.at DESC, e.id DESC LIMIT $4",
        )
        .bind(address.to_ascii_lowercase())
        .bind(at)
        .bind(id)
        .bind(limit)
        .bind(kind)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, item_id, summary_sealed, at)| ItemEntry {
                id,
                item_id,
                summary_sealed,
                at,
            })
            .collect())
    }

    /// `address`'s item `id` of `kind`, if it is theirs: its sealed key and
    /// its size (bytes), known before its ciphertext is read
    /// ([`Store::private_item_bytes`]).
    pub async fn private_item(
        &self,
        address: &str,
        kind: &str,
        id: &str,
    ) -> Result<Option<(String, i64)>, Error> {
        Ok(sqlx::query_as(
            "SELECT sealed_key, size FROM private_items
             WHERE id = $1 AND address = $2 AND kind = $3 AND sealed_key IS NOT NULL",
        )
        .bind(id)
        .bind(address.to_ascii_lowercase())
        .bind(kind)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The ciphertext of item `id`, `size` bytes (as [`Store::private_item`] gave).
    pub async fn private_item_bytes(&self, id: &str, size: i64) -> Result<Vec<u8>, Error> {
        self.read_blob(&item_owner(id), size).await
    }

    /// Deletes `address`'s item `id` of `kind`: key, ciphertext, entry.
    /// False if it is not theirs.
    pub async fn delete_private_item(
        &self,
        address: &str,
        kind: &str,
        id: &str,
    ) -> Result<bool, Error> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let done =
            sqlx::query("DELETE FROM private_items WHERE id = $1 AND address = $2 AND kind = $3")
                .bind(id)
                .bind(address.to_ascii_lowercase())
                .bind(kind)
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
