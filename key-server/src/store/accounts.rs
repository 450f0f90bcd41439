//! Accounts and their lockout.

use super::Store;
use crate::Error;

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
    /// Disabled by the sweep for inactivity (`[accounts]
    /// disable_after_days`), not by an administrator.
    pub disabled_for_inactivity: bool,
    /// Locked until this time (Unix seconds), if locked.
    pub locked_until: Option<i64>,
    /// Failed passwords since the last success or lock.
    pub failed_logins: i64,
    /// When the password was set (Unix seconds), if known.
    pub password_set_at: Option<i64>,
    /// The password is a temporary one the server mailed: the owner must
    /// choose their own before anything else.
    pub must_change_password: bool,
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
    i64,
    Option<String>,
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
        .bind(self.now())
        .execute(&self.pool)
        .await;
        match result {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(Error::Conflict(
                format!("{} has an account already", account.address),
            )),
            other => other.map(drop).map_err(Into::into),
        }
    }

    /// Creates the account of an address the first message for it reached,
    /// with a temporary password (`password_hash`) the owner must change,
    /// and queues `mail` (which carries that password) in the same
    /// transaction: false, and no mail, when the address has an account
    /// already (of several first messages at once, one creates it and mails).
    pub async fn create_temporary_account(
        &self,
        address: &str,
        language: &str,
        password_hash: &str,
        mail: &[u8],
    ) -> Result<bool, Error> {
        let address = address.to_ascii_lowercase();
        let at = self.now();
        let mut tx = self.pool.begin().await?;
        let created = sqlx::query(
            "INSERT INTO accounts (address, first_name, last_name, language, password_hash, phrase_enabled,
                                   created_at, password_set_at, confirmed_at, must_change_password,
                                   language_chosen)
             VALUES ($1, '', '', $2, $3, 0, $4, $4, $4, 1, 0)
             ON CONFLICT (address) DO NOTHING",
        )
        .bind(&address)
        .bind(language)
        .bind(password_hash)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if created.rows_affected() == 0 {
            return Ok(false);
        }
        super::mail_queue::insert_mail(&mut tx, "temporary", &address, mail, at).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Marks an account confirmed (its e-mail link was followed).
    pub async fn confirm_account(&self, address: &str) -> Result<(), Error> {
        sqlx::query("UPDATE accounts SET confirmed_at = $1 WHERE address = $2")
            .bind(self.now())
            .bind(address.to_ascii_lowercase())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The account for an address, if any.
    pub async fn account(&self, address: &str) -> Result<Option<Account>, Error> {
        let address = address.to_ascii_lowercase();
        let row: Option<AccountRow> = sqlx::query_as(
            "SELECT address, password_hash, confirmed_at, disabled_at, locked_until, failed_logins, password_set_at,
                    must_change_password, disabled_reason
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
                must_change,
                disabled_reason,
            )| Account {
                address,
                password_hash,
                confirmed: confirmed.is_some(),
                disabled: disabled.is_some(),
                disabled_for_inactivity: disabled.is_some()
                    && disabled_reason.as_deref() == Some("inactive"),
                locked_until: locked_until.filter(|until| *until > self.now()),
                failed_logins,
                password_set_at,
                must_change_password: must_change != 0,
            },
        ))
    }

    /// Reserves one password check for `address`, atomically, *before* the
    /// (slow) check: the failure count goes up by one unless the account is
    /// locked or has used up its `limit`; the attempt that reaches the limit
    /// sets the lock for `lock_seconds` in the same statement. A right
    /// password then gives everything back ([`Store::record_successful_login`]).
    /// Returns the count with this attempt, or `None` when no check may run
    /// (locked, or no such account). One UPDATE, so parallel requests on any
    /// number of replicas can never check more than `limit` passwords.
    pub async fn reserve_login(
        &self,
        address: &str,
        limit: i64,
        lock_seconds: i64,
    ) -> Result<Option<i64>, Error> {
        let at = self.now();
        // A lock that has ended starts the count again.
        let row: Option<(i64,)> = sqlx::query_as(
            "UPDATE accounts SET
                 failed_logins = CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN 1 ELSE failed_logins + 1 END,
                 locked_until = CASE
                     WHEN (CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN 1 ELSE failed_logins + 1 END) >= $3 THEN $4
                     WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN NULL
                     ELSE locked_until END
             WHERE address = $1
               AND ((locked_until IS NULL AND failed_logins < $3) OR locked_until <= $2)
             RETURNING failed_logins",
        )
        .bind(address.to_ascii_lowercase())
        .bind(at)
        .bind(limit)
        .bind(at + lock_seconds)
        .fetch_optional(&self.pool)
        .await?;
        if row.is_some_and(|(count,)| count >= limit) {
            metrics::counter!("securedoc_lockouts_total").increment(1);
            tracing::info!("an account is locked after too many wrong passwords");
        }
        Ok(row.map(|(count,)| count))
    }

    /// Gives back an attempt reserved by [`Store::reserve_login`] whose check
    /// never ran (the password queue was full); a lock it set ends with it.
    pub async fn release_login(&self, address: &str, limit: i64) -> Result<(), Error> {
        sqlx::query(
            "UPDATE accounts SET
                 locked_until = CASE WHEN failed_logins - 1 < $2 THEN NULL ELSE locked_until END,
                 failed_logins = failed_logins - 1
             WHERE address = $1 AND failed_logins > 0",
        )
        .bind(address.to_ascii_lowercase())
        .bind(limit)
        .execute(&self.pool)
        .await?;
        Ok(())
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

    /// A right password: the failure count starts again, a lock that
    /// parallel wrong guesses set meanwhile ends (the owner proved who they
    /// are), and the inactivity clock starts again (`last_login_at`).
    pub async fn record_successful_login(&self, address: &str) -> Result<(), Error> {
        sqlx::query(
            "UPDATE accounts SET failed_logins = 0, locked_until = NULL, last_login_at = $2
             WHERE address = $1",
        )
        .bind(address.to_ascii_lowercase())
        .bind(self.now())
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
}
