//! Folders of the portal's Inbox: an Inbox entry in a folder has its
//! `folder_id` set, and the Inbox lists only those without. The folders
//! themselves (their sealed names) are rows of [`super::Personal::Folders`].

use sqlx::Acquire;

use super::mailbox::{entry, EntryRow, ENTRY_COLUMNS};
use super::personal::lock_account;
use super::{MailboxEntry, Store};
use crate::Error;

impl Store {
    /// Up to `limit` messages in `address`'s folder `folder_id`, newest
    /// first, older than `before`, as [`Store::inbox_page`] pages. None
    /// when the folder is not theirs.
    pub async fn folder_page(
        &self,
        address: &str,
        folder_id: &str,
        before: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<MailboxEntry>, Error> {
        let (at, id) = before.unwrap_or((i64::MAX, ""));
        let rows: Vec<EntryRow> = sqlx::query_as(&format!(
            "SELECT {ENTRY_COLUMNS}
             WHERE e.address = $1 AND e.box = 'inbox' AND e.folder_id = $5
                 AND (e.at < $2 OR (e.at = $2 AND e.id < $3))
             ORDER BY e.at DESC, e.id DESC LIMIT $4"
        ))
        .bind(address.to_ascii_lowercase())
        .bind(at)
        .bind(id)
        .bind(limit)
        .bind(folder_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(entry).collect())
    }

    /// How many messages each of `address`'s folders holds (folders with
    /// none are left out).
    pub async fn folder_counts(&self, address: &str) -> Result<Vec<(String, i64)>, Error> {
        Ok(sqlx::query_as(
            "SELECT folder_id, COUNT(*) FROM mailbox_entries
             WHERE address = $1 AND box = 'inbox' AND folder_id IS NOT NULL
             GROUP BY folder_id",
        )
        .bind(address.to_ascii_lowercase())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Moves `address`'s Inbox message `message_id` into their folder
    /// `folder` (None: back to the Inbox). False when the message or the
    /// folder is not theirs. Under the account's lock, as deleting a folder
    /// is: a message is never moved into a folder being deleted.
    pub async fn move_to_folder(
        &self,
        address: &str,
        message_id: &str,
        folder: Option<&str>,
    ) -> Result<bool, Error> {
        let address = address.to_ascii_lowercase();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        lock_account(&mut tx, &address).await?;
        let done = match folder {
            None => {
                sqlx::query(
                    "UPDATE mailbox_entries SET folder_id = NULL
                 WHERE address = $1 AND message_id = $2 AND box = 'inbox'",
                )
                .bind(&address)
                .bind(message_id)
                .execute(&mut *tx)
                .await?
            }
            Some(folder) => {
                sqlx::query(
                    "UPDATE mailbox_entries SET folder_id = $3
                 WHERE address = $1 AND message_id = $2 AND box = 'inbox'
                   AND EXISTS (SELECT 1 FROM folders WHERE id = $3 AND address = $1)",
                )
                .bind(&address)
                .bind(message_id)
                .bind(folder)
                .execute(&mut *tx)
                .await?
            }
        };
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes `address`'s folder `id`; its messages go back to the Inbox.
    /// False if it is not theirs.
    pub async fn delete_folder(&self, address: &str, id: &str) -> Result<bool, Error> {
        let address = address.to_ascii_lowercase();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        lock_account(&mut tx, &address).await?;
        let done = sqlx::query("DELETE FROM folders WHERE id = $1 AND address = $2")
            .bind(id)
            .bind(&address)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE mailbox_entries SET folder_id = NULL WHERE address = $1 AND folder_id = $2",
        )
        .bind(&address)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
