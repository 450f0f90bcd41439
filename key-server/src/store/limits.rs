//! Limits reserved atomically in the store.
//!
//! A limited attempt is *reserved* before the slow check it guards and
//! *released* when it turns out not to count (the password was right). One
//! statement does the test and the count, so a burst of parallel requests, on
//! one replica or several, can never run more checks than the limit allows.
//! A request refused by the limit counts nothing: hammering a full limit does
//! not extend it.

use super::Store;
use crate::Error;

/// At most `max` attempts per fixed window of `window_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Attempts allowed in one window.
    pub max: i64,
    /// The window's length, seconds.
    pub window_seconds: i64,
}

impl Store {
    /// Reserves one attempt under `key`. True when the attempt was under the
    /// limit and is now counted; false when the limit is reached (and nothing
    /// was counted).
    pub async fn reserve_attempt(&self, key: &str, limit: Limit) -> Result<bool, Error> {
        let at = self.now();
        // The conflict branch updates only while under the limit (or once the
        // window is over); otherwise no row comes back.
        let row: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, 1)
             ON CONFLICT (key) DO UPDATE SET
                 count = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.count + 1 END,
                 window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 ELSE rate_limits.window_start END
             WHERE rate_limits.window_start <= $3 OR rate_limits.count < $4
             RETURNING count",
        )
        .bind(key)
        .bind(at)
        .bind(at - limit.window_seconds)
        .bind(limit.max)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some_and(|(count,)| count <= limit.max))
    }

    /// Gives back an attempt reserved under `key` (it turned out not to count).
    pub async fn release_attempt(&self, key: &str) -> Result<(), Error> {
        sqlx::query("UPDATE rate_limits SET count = count - 1 WHERE key = $1 AND count > 0")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Attempts counted under `key` in its current window (0 once it ended).
    pub async fn attempts(&self, key: &str, limit: Limit) -> Result<i64, Error> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT count FROM rate_limits WHERE key = $1 AND window_start > $2")
                .bind(key)
                .bind(self.now() - limit.window_seconds)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map_or(0, |(count,)| count))
    }

    /// Deletes the rows of windows that ended more than `oldest_window`
    /// seconds ago (the sweep; the table holds only live limits).
    pub async fn sweep_limits(&self, oldest_window: i64) -> Result<u64, Error> {
        let done = sqlx::query("DELETE FROM rate_limits WHERE window_start <= $1")
            .bind(self.now() - oldest_window)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
