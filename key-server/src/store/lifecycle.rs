//! The account lifecycle's queries (docs/PORTAL.md, "Account lifecycle"):
//! which passwords to warn about, which accounts to disable for
//! inactivity and which to delete. Each step is safe on several replicas at
//! once: a warning is claimed by a conditional UPDATE (one mail per
//! password), disabling is one UPDATE, deleting is idempotent.

use super::Store;
use crate::Error;

/// An account whose password expires soon and whose owner has not been
/// warned about this password yet.
#[derive(Debug, Clone)]
pub(crate) struct ExpiryDue {
    /// Lower-case address.
    pub address: String,
    /// First name (empty for accounts the server created).
    pub first_name: String,
    /// Language code.
    pub language: String,
    /// When the password was set: the warning is for this one.
    pub password_set_at: i64,
}

/// Where inactivity counts from: the last right password, else the
/// confirmation, else the creation (accounts from before the lifecycle).
const ACTIVE_AT: &str = "COALESCE(last_login_at, confirmed_at, created_at)";

/// Rows one sweep handles per step; the next minute's sweep goes on.
const BATCH: i64 = 500;

impl Store {
    /// Enabled, confirmed accounts whose password (not a first-time one)
    /// expires `expiry_seconds` after it was set, within the next
    /// `warning_seconds`, not expired yet, and not warned about yet.
    pub(crate) async fn expiry_warnings_due(
        &self,
        expiry_seconds: i64,
        warning_seconds: i64,
    ) -> Result<Vec<ExpiryDue>, Error> {
        let now = self.now();
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT address, first_name, language, password_set_at FROM accounts
             WHERE disabled_at IS NULL AND confirmed_at IS NOT NULL AND must_change_password = 0
               AND password_set_at IS NOT NULL
               AND password_set_at <= $1 AND password_set_at > $2
               AND (expiry_warned_for IS NULL OR expiry_warned_for <> password_set_at)
             ORDER BY password_set_at LIMIT $3",
        )
        .bind(now - (expiry_seconds - warning_seconds))
        .bind(now - expiry_seconds)
        .bind(BATCH)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(address, first_name, language, password_set_at)| ExpiryDue {
                    address,
                    first_name,
                    language,
                    password_set_at,
                },
            )
            .collect())
    }

    /// Claims the expiry warning of `address`'s password set at
    /// `password_set_at` and queues `mail` in the same transaction: false,
    /// and no mail, when it was claimed already (by another replica, or
    /// before) or the password has changed since.
    pub(crate) async fn claim_expiry_warning(
        &self,
        address: &str,
        password_set_at: i64,
        mail: &[u8],
    ) -> Result<bool, Error> {
        let address = address.to_ascii_lowercase();
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query(
            "UPDATE accounts SET expiry_warned_for = $2
             WHERE address = $1 AND password_set_at = $2 AND disabled_at IS NULL
               AND (expiry_warned_for IS NULL OR expiry_warned_for <> $2)",
        )
        .bind(&address)
        .bind(password_set_at)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            return Ok(false);
        }
        super::mail_queue::insert_mail(&mut tx, "expiry_warning", &address, mail, self.now())
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Disables every enabled account nobody has logged in to for
    /// `inactive_seconds` (reason `inactive`) and ends its portal sessions;
    /// returns their addresses.
    pub(crate) async fn disable_inactive_accounts(
        &self,
        inactive_seconds: i64,
    ) -> Result<Vec<String>, Error> {
        let now = self.now();
        let mut tx = self.pool.begin().await?;
        let disabled: Vec<(String,)> = sqlx::query_as(&format!(
            "UPDATE accounts SET disabled_at = $1, disabled_reason = 'inactive'
             WHERE disabled_at IS NULL AND {ACTIVE_AT} <= $2
             RETURNING address"
        ))
        .bind(now)
        .bind(now - inactive_seconds)
        .fetch_all(&mut *tx)
        .await?;
        for (address,) in &disabled {
            sqlx::query("DELETE FROM portal_sessions WHERE address = $1")
                .bind(address)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(disabled.into_iter().map(|(address,)| address).collect())
    }

    /// Accounts disabled for inactivity more than `after_seconds` ago (never
    /// those an administrator disabled).
    pub(crate) async fn inactive_accounts_to_delete(
        &self,
        after_seconds: i64,
    ) -> Result<Vec<String>, Error> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT address FROM accounts
             WHERE disabled_reason = 'inactive' AND disabled_at IS NOT NULL AND disabled_at <= $1
             ORDER BY disabled_at LIMIT $2",
        )
        .bind(self.now() - after_seconds)
        .bind(BATCH)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(address,)| address).collect())
    }
}
