//! Registrations waiting for their address to be confirmed.
//!
//! Each registration is its own row and touches nothing else: not another
//! pending registration, not an account. Its link confirms exactly that row,
//! and only with the password chosen on that registration, so whoever
//! registers an address first, or again, cannot take it over: the owner's
//! own registration still confirms, and a stranger's link, even clicked by
//! the owner, confirms nothing without the stranger's password. The first
//! registration confirmed becomes the account and voids the others.

use super::registration::{new_token, token_hash};
use super::Store;
use crate::Error;

/// A registration as the form gave it, its secrets already hashed.
#[derive(Debug, Clone)]
pub struct NewRegistration {
    /// Address.
    pub address: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Language code.
    pub language: String,
    /// PHC string of the password hash.
    pub password_hash: String,
    /// Personal security phrase, if enabled.
    pub phrase: Option<String>,
    /// (question id, PHC string of the normalised answer), in form order.
    pub answers: Vec<(String, String)>,
    /// The password hint, sealed for the address (base64), if one was given.
    pub password_hint: Option<String>,
}

/// A pending registration, as the confirm page needs it.
#[derive(Debug, Clone)]
pub struct PendingRegistration {
    /// Lower-case address.
    pub address: String,
    /// Language chosen on the form.
    pub language: String,
    /// PHC string of the password chosen on the form.
    pub password_hash: String,
}

type PendingRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
);

impl Store {
    /// Stores a registration until it is confirmed; returns the token of
    /// its link, valid `ttl` seconds.
    pub async fn add_pending_registration(
        &self,
        registration: &NewRegistration,
        ttl: i64,
    ) -> Result<String, Error> {
        let token = new_token();
        let answers = serde_json::to_string(&registration.answers)
            .map_err(|e| Error::Unprocessable(format!("answers: {e}")))?;
        sqlx::query(
            "INSERT INTO pending_registrations
                 (token_hash, address, first_name, last_name, language, password_hash, phrase, answers, created_at, expires_at,
                  password_hint)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(token_hash(&token))
        .bind(registration.address.to_ascii_lowercase())
        .bind(&registration.first_name)
        .bind(&registration.last_name)
        .bind(&registration.language)
        .bind(&registration.password_hash)
        .bind(registration.phrase.clone())
        .bind(answers)
        .bind(self.now())
        .bind(self.now() + ttl)
        .bind(registration.password_hint.clone())
        .execute(&self.pool)
        .await?;
        Ok(token)
    }

    /// The live registration a confirmation link is for (read only: the
    /// page a mail scanner prefetches changes nothing).
    pub async fn pending_registration(
        &self,
        token: &str,
    ) -> Result<Option<PendingRegistration>, Error> {
        let row: Option<(String, String, String)> = sqlx::query_as(
            "SELECT address, language, password_hash FROM pending_registrations
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash(token))
        .bind(self.now())
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            row.map(|(address, language, password_hash)| PendingRegistration {
                address,
                language,
                password_hash,
            }),
        )
    }

    /// Reserves one password check on a registration's confirm page,
    /// atomically and before the check: at most `limit` per link. None when
    /// the link is unknown, expired or out of checks.
    pub async fn reserve_confirm_attempt(
        &self,
        token: &str,
        limit: i64,
    ) -> Result<Option<PendingRegistration>, Error> {
        let row: Option<(String, String, String)> = sqlx::query_as(
            "UPDATE pending_registrations SET failures = failures + 1
             WHERE token_hash = $1 AND expires_at > $2 AND failures < $3
             RETURNING address, language, password_hash",
        )
        .bind(token_hash(token))
        .bind(self.now())
        .bind(limit)
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            row.map(|(address, language, password_hash)| PendingRegistration {
                address,
                language,
                password_hash,
            }),
        )
    }

    /// Turns the registration of `token` into a confirmed account, in one
    /// transaction: its row is taken (so a link confirms once), an account
    /// already confirmed is left alone (None), and every other pending
    /// registration for the address is voided. Returns the address.
    pub async fn confirm_registration(&self, token: &str) -> Result<Option<String>, Error> {
        let mut tx = self.pool.begin().await?;
        let row: Option<PendingRow> = sqlx::query_as(
            "DELETE FROM pending_registrations WHERE token_hash = $1 AND expires_at > $2
             RETURNING address, first_name, last_name, language, password_hash, phrase, answers, password_hint",
        )
        .bind(token_hash(token))
        .bind(self.now())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((address, first_name, last_name, language, password_hash, phrase, answers, hint)) =
            row
        else {
            return Ok(None);
        };
        let answers: Vec<(String, String)> = serde_json::from_str(&answers)
            .map_err(|e| Error::Unprocessable(format!("stored answers: {e}")))?;
        // An account made before confirmation was a separate step (or by an
        // administrator without confirming) gives way; a confirmed one never.
        for table in ["security_answers", "password_history"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE address IN
                     (SELECT address FROM accounts WHERE address = $1 AND confirmed_at IS NULL)"
            ))
            .bind(&address)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM accounts WHERE address = $1 AND confirmed_at IS NULL")
            .bind(&address)
            .execute(&mut *tx)
            .await?;
        let at = self.now();
        let created: Option<(String,)> = sqlx::query_as(
            "INSERT INTO accounts (address, first_name, last_name, language, password_hash, phrase,
                 phrase_enabled, created_at, password_set_at, confirmed_at, password_hint)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8, $9)
             ON CONFLICT (address) DO NOTHING
             RETURNING address",
        )
        .bind(&address)
        .bind(&first_name)
        .bind(&last_name)
        .bind(&language)
        .bind(&password_hash)
        .bind(phrase.clone())
        .bind(i64::from(phrase.is_some()))
        .bind(at)
        .bind(hint)
        .fetch_optional(&mut *tx)
        .await?;
        if created.is_none() {
            // Confirmed already (by another registration, maybe at this very
            // moment on another replica): this one is void.
            tx.commit().await?;
            return Ok(None);
        }
        super::preferences::replace_security_answers(&mut tx, &address, &answers).await?;
        sqlx::query("DELETE FROM pending_registrations WHERE address = $1")
            .bind(&address)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(address))
    }

    /// Deletes registrations whose link expired.
    pub async fn sweep_pending_registrations(&self) -> Result<u64, Error> {
        let done = sqlx::query("DELETE FROM pending_registrations WHERE expires_at <= $1")
            .bind(self.now())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
