//! The portal's mailboxes: listing a person's Inbox newest first, page by
//! page, and finding one of its messages.

use super::Store;
use crate::Error;

/// One message in someone's mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxEntry {
    /// The entry's id (its summary is sealed to it).
    pub id: String,
    /// The envelope it shows.
    pub message_id: String,
    /// The summary, sealed under the master key (base64).
    pub summary_sealed: String,
    /// When it arrived, Unix seconds.
    pub at: i64,
    /// When it was first read, if it was.
    pub read_at: Option<i64>,
    /// The message's expiry, if it has one.
    pub expires_at: Option<i64>,
    /// Its key still exists: it can be read (false once expired, withdrawn
    /// or past retention).
    pub readable: bool,
}

pub(super) type EntryRow = (String, String, String, i64, Option<i64>, Option<i64>, i64);

pub(super) const ENTRY_COLUMNS: &str =
    "e.id, e.message_id, e.summary_sealed, e.at, e.read_at, m.expires_at,
     CAST(CASE WHEN m.sealed_key IS NULL OR m.revoked_at IS NOT NULL THEN 0 ELSE 1 END AS BIGINT)
     FROM mailbox_entries e JOIN messages m ON m.id = e.message_id";

pub(super) fn entry(
    (id, message_id, summary_sealed, at, read_at, expires_at, readable): EntryRow,
) -> MailboxEntry {
    MailboxEntry {
        id,
        message_id,
        summary_sealed,
        at,
        read_at,
        expires_at,
        readable: readable != 0,
    }
}

impl Store {
    /// Up to `limit` messages of `address`'s Inbox, newest first, older
    /// than `before` (an entry's `(at, id)`): keyset pages, no OFFSET, so
    /// the thousandth page costs what the first does.
    pub async fn inbox_page(
        &self,
        address: &str,
        before: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<MailboxEntry>, Error> {
        self.mailbox_page(address, None, before, limit).await
    }

    /// [`Store::inbox_page`] of `address`'s folder `folder_id` (None: the
    /// Inbox itself, the messages in no folder).
    pub(super) async fn mailbox_page(
        &self,
        address: &str,
        folder_id: Option<&str>,
        before: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<MailboxEntry>, Error> {
        let (at, id) = before.unwrap_or((i64::MAX, ""));
        let in_folder = if folder_id.is_some() {
            "e.folder_id = $5"
        } else {
            "e.folder_id IS NULL"
        };
        let sql = format!(
            "SELECT {ENTRY_COLUMNS}
             WHERE e.address = $1 AND e.box = 'inbox' AND {in_folder}
                 AND (e.at < $2 OR (e.at = $2 AND e.id < $3))
             ORDER BY e.at DESC, e.id DESC LIMIT $4"
        );
        let mut query = sqlx::query_as::<_, EntryRow>(&sql)
            .bind(address.to_ascii_lowercase())
            .bind(at)
            .bind(id)
            .bind(limit);
        if let Some(folder_id) = folder_id {
            query = query.bind(folder_id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(entry).collect())
    }

    /// The entry of envelope `message_id` in `address`'s mailbox, if it has one.
    pub async fn mailbox_entry(
        &self,
        address: &str,
        message_id: &str,
    ) -> Result<Option<MailboxEntry>, Error> {
        let row: Option<EntryRow> = sqlx::query_as(&format!(
            "SELECT {ENTRY_COLUMNS} WHERE e.address = $1 AND e.message_id = $2"
        ))
        .bind(address.to_ascii_lowercase())
        .bind(message_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(entry))
    }

    /// Marks an entry read (the first time only).
    pub async fn mark_read(&self, entry_id: &str) -> Result<(), Error> {
        sqlx::query("UPDATE mailbox_entries SET read_at = $1 WHERE id = $2 AND read_at IS NULL")
            .bind(self.now())
            .bind(entry_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes `address`'s entry for envelope `message_id` and the envelope
    /// stored for it (its chunks, then its row). The key stays until expiry
    /// or retention, so the sender's status still tells the truth. False
    /// when the address had no such entry.
    pub async fn delete_mailbox_entry(
        &self,
        address: &str,
        message_id: &str,
    ) -> Result<bool, Error> {
        let mut tx = self.pool.begin().await?;
        let done =
            sqlx::query("DELETE FROM mailbox_entries WHERE address = $1 AND message_id = $2")
                .bind(address.to_ascii_lowercase())
                .bind(message_id)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        super::blobs::delete_blob(&mut tx, &super::pull::envelope_owner(message_id)).await?;
        sqlx::query("DELETE FROM stored_envelopes WHERE message_id = $1")
            .bind(message_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}
