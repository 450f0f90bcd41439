//! Folders of the portal's Inbox: an Inbox entry in a folder has its
//! `folder_id` set, and the Inbox lists only those without. The folders
//! themselves (their sealed names) are rows of [`super::Personal::Folders`].

use sqlx::Acquire;

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
        self.mailbox_page(address, Some(folder_id), before, limit)
            .await
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
