//! Accounts, lockout and the audit trail.

use super::Store;
use crate::{hex, now, random, Error};

/// What key release needs to know about an account.
#[derive(Debug, Clone)]
pub struct Account {
    /// Lower-case address.
    pub address: String,
    /// PHC string of the password hash.
    pub password_hash: String,
    /// Confirmed by e-mail.
    pub confirmed: bool,
    /// Disabled by an administrator or for inactivity.
    pub disabled: bool,
    /// Locked until this time (Unix seconds), if locked.
    pub locked_until: Option<i64>,
    /// Failed passwords since the last success or lock.
    pub failed_logins: i64,
    /// When the password was set (Unix seconds), if known.
    pub password_set_at: Option<i64>,
}

/// A new account, as registration creates it.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Address.
    pub address: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Language code (`en`, …).
    pub language: String,
    /// PHC string of the password hash.
    pub password_hash: String,
    /// Personal security phrase, shown on envelopes when enabled.
    pub phrase: Option<String>,
}

type AccountRow = (
    String,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    Option<i64>,
);

impl Store {
    /// Creates an account (unconfirmed).
    pub async fn create_account(&self, account: &NewAccount) -> Result<(), Error> {
        let result = sqlx::query(
            "INSERT INTO accounts (address, first_name, last_name, language, password_hash, phrase, phrase_enabled, created_at, password_set_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(account.address.to_ascii_lowercase())
        .bind(&account.first_name)
        .bind(&account.last_name)
        .bind(&account.language)
        .bind(&account.password_hash)
        .bind(account.phrase.clone())
        .bind(i64::from(account.phrase.is_some()))
        .bind(now())
        .execute(&self.pool)
        .await;
        match result {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(Error::Conflict(
                format!("{} has an account already", account.address),
            )),
            other => other.map(drop).map_err(Into::into),
        }
    }

    /// Marks an account confirmed (its e-mail link was followed).
    pub async fn confirm_account(&self, address: &str) -> Result<(), Error> {
        sqlx::query("UPDATE accounts SET confirmed_at = $1 WHERE address = $2")
            .bind(now())
            .bind(address.to_ascii_lowercase())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The account for an address, if any.
    pub async fn account(&self, address: &str) -> Result<Option<Account>, Error> {
        let address = address.to_ascii_lowercase();
        let row: Option<AccountRow> = sqlx::query_as(
            "SELECT address, password_hash, confirmed_at, disabled_at, locked_until, failed_logins, password_set_at
             FROM accounts WHERE address = $1",
        )
        .bind(&address)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(
            |(
                address,
                password_hash,
                confirmed,
                disabled,
                locked_until,
                failed_logins,
                password_set_at,
            )| Account {
                address,
                password_hash,
                confirmed: confirmed.is_some(),
                disabled: disabled.is_some(),
                locked_until: locked_until.filter(|until| *until > now()),
                failed_logins,
                password_set_at,
            },
        ))
    }

    /// Counts a wrong password; after `limit` of them the account is locked
    /// for `lock_seconds` and the count starts again. Returns the attempts
    /// left before a lock (0 when this one locked it). One UPDATE, so
    /// concurrent attempts on several replicas cannot lose a count.
    pub async fn record_failed_login(
        &self,
        address: &str,
        limit: i64,
        lock_seconds: i64,
    ) -> Result<i64, Error> {
        let address = address.to_ascii_lowercase();
        let (failed,): (i64,) = sqlx::query_as(
            "UPDATE accounts SET failed_logins = failed_logins + 1 WHERE address = $1 RETURNING failed_logins",
        )
        .bind(&address)
        .fetch_one(&self.pool)
        .await?;
        if failed >= limit {
            sqlx::query(
                "UPDATE accounts SET failed_logins = 0, locked_until = $1 WHERE address = $2",
            )
            .bind(now() + lock_seconds)
            .bind(&address)
            .execute(&self.pool)
            .await?;
            return Ok(0);
        }
        Ok(limit - failed)
    }

    /// Ends a lock and the failure count (an administrator's unlock);
    /// false when there is no such account.
    pub async fn unlock_account(&self, address: &str) -> Result<bool, Error> {
        let done = sqlx::query(
            "UPDATE accounts SET locked_until = NULL, failed_logins = 0 WHERE address = $1",
        )
        .bind(address.to_ascii_lowercase())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// A right password: the failure count starts again.
    pub async fn record_successful_login(&self, address: &str) -> Result<(), Error> {
        sqlx::query("UPDATE accounts SET failed_logins = 0 WHERE address = $1")
            .bind(address.to_ascii_lowercase())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Is `address` a recipient of `message_id`?
    pub async fn is_recipient(&self, message_id: &str, address: &str) -> Result<bool, Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT address FROM message_recipients WHERE message_id = $1 AND address = $2",
        )
        .bind(message_id)
        .bind(address.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Writes one audit row.
    pub async fn audit(
        &self,
        account: Option<&str>,
        message_id: Option<&str>,
        client: &str,
        outcome: &str,
    ) -> Result<(), Error> {
        sqlx::query("INSERT INTO audit (id, at, account, message_id, client, outcome) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(hex(&random::<16>()))
            .bind(now())
            .bind(account.map(str::to_ascii_lowercase))
            .bind(message_id.map(String::from))
            .bind(client)
            .bind(outcome)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Failed attempts (anything but a release or a completed reset) from one
    /// client address in the last `window` seconds.
    pub async fn recent_failures_from(&self, client: &str, window: i64) -> Result<i64, Error> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM audit WHERE client = $1 AND at > $2 AND outcome NOT IN ('released', 'password_reset')",
        )
        .bind(client)
        .bind(now() - window)
        .fetch_one(&self.pool)
        .await?;
        Ok(count)
    }

    /// The audit outcomes for a message, oldest first (for senders' status and tests).
    pub async fn audit_outcomes(&self, message_id: &str) -> Result<Vec<String>, Error> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT outcome FROM audit WHERE message_id = $1 ORDER BY at, id")
                .bind(message_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(outcome,)| outcome).collect())
    }
}
