//! One-time passcodes (docs/PORTAL.md, "One-time passcode"): who reads a
//! message with a mailed code, and the codes themselves.
//!
//! A code is stored only as its MAC (`MasterKey::mac`, computed by the
//! caller). Every comparison is paid for first: one conditional UPDATE
//! counts the try and hands out the MAC only while the code is live and
//! under its limit, so a burst of guesses on any number of replicas
//! compares at most `max_tries` times. Marking the code used is another
//! conditional UPDATE: of two right guesses at once, one wins.

use super::Store;
use crate::Error;

/// A live code's row, once a try on it was reserved.
#[derive(Debug, Clone)]
pub(crate) struct PasscodeTry {
    /// The code's id (part of what its MAC covers).
    pub id: String,
    /// The stored MAC, hex.
    pub code_mac: String,
    /// Tries counted so far, this one included.
    pub tries: i64,
}

impl Store {
    /// Whether `address` reads envelope `message_id` with a one-time code.
    pub async fn is_passcode_recipient(
        &self,
        message_id: &str,
        address: &str,
    ) -> Result<bool, Error> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT passcode FROM message_recipients WHERE message_id = $1 AND address = $2",
        )
        .bind(message_id)
        .bind(address.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some_and(|(passcode,)| passcode != 0))
    }

    /// Stores a new code for (`message_id`, `address`), valid `seconds`,
    /// and deletes the older ones of that pair in the same transaction: only
    /// the newest code mailed works.
    pub async fn create_passcode(
        &self,
        id: &str,
        message_id: &str,
        address: &str,
        code_mac: &str,
        seconds: i64,
    ) -> Result<(), Error> {
        let now = self.now();
        let address = address.to_ascii_lowercase();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM passcodes WHERE message_id = $1 AND address = $2")
            .bind(message_id)
            .bind(&address)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO passcodes (id, message_id, address, code_mac, created_at, expires_at, tries)
             VALUES ($1, $2, $3, $4, $5, $6, 0)",
        )
        .bind(id)
        .bind(message_id)
        .bind(&address)
        .bind(code_mac)
        .bind(now)
        .bind(now + seconds)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reserves one try on the live code of (`message_id`, `address`):
    /// counts it and returns the code's row, or None when there is no code
    /// that is unused, unexpired and under `max_tries` (nothing is counted).
    pub(crate) async fn reserve_passcode_try(
        &self,
        message_id: &str,
        address: &str,
        max_tries: i64,
    ) -> Result<Option<PasscodeTry>, Error> {
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "UPDATE passcodes SET tries = tries + 1
             WHERE message_id = $1 AND address = $2 AND tries < $3
                 AND used_at IS NULL AND expires_at > $4
             RETURNING id, code_mac, tries",
        )
        .bind(message_id)
        .bind(address.to_ascii_lowercase())
        .bind(max_tries)
        .bind(self.now())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, code_mac, tries)| PasscodeTry {
            id,
            code_mac,
            tries,
        }))
    }

    /// Marks code `id` used; true for the one caller that did it (a code
    /// opens once, even to two right guesses at the same moment).
    pub async fn use_passcode(&self, id: &str) -> Result<bool, Error> {
        let done =
            sqlx::query("UPDATE passcodes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                .bind(self.now())
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes the codes that expired more than `grace` seconds ago (the
    /// minute sweep: the table holds only the last hour's codes).
    pub async fn sweep_passcodes(&self, grace: i64) -> Result<u64, Error> {
        let done = sqlx::query("DELETE FROM passcodes WHERE expires_at <= $1")
            .bind(self.now() - grace)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
