//! Registration, e-mailed links (confirm, reset), security questions,
//! password history and remembered browsers.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::{NewAccount, Store};
use crate::{hex, now, random, Error};

/// Why an e-mailed link was made; a link works only for its own purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Confirms the address of a new account.
    Confirm,
    /// Lets the owner of the address set a new password.
    Reset,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Confirm => "confirm",
            LinkPurpose::Reset => "reset",
        }
    }
}

/// What registering an address did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// A new (unconfirmed) account; an earlier unconfirmed one was replaced.
    Created,
    /// The address has a confirmed account already; nothing changed.
    AlreadyConfirmed,
}

/// An account's name and language, for pages, e-mails and the password policy.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Lower-case address.
    pub address: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Language code.
    pub language: String,
    /// When the password was set (Unix seconds), if known.
    pub password_set_at: Option<i64>,
}

/// One stored security question.
#[derive(Debug, Clone)]
pub struct SecurityAnswer {
    /// Position on the form, 0 to 2.
    pub slot: i64,
    /// Question id (from the language files).
    pub question: String,
    /// PHC string of the normalised answer.
    pub answer_hash: String,
}

/// Links, tokens: 256 random bits, URL-safe.
fn new_token() -> String {
    URL_SAFE_NO_PAD.encode(random::<32>())
}

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

impl Store {
    /// Whether any message was ever sent to `address`: only such addresses
    /// can register (nobody can use the server to mail strangers).
    pub async fn has_received_mail(&self, address: &str) -> Result<bool, Error> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT address FROM message_recipients WHERE address = $1 LIMIT 1")
                .bind(address.to_ascii_lowercase())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.is_some())
    }

    /// Creates an unconfirmed account with its security answers. An earlier
    /// registration that was never confirmed is replaced (so nobody can
    /// squat an address by registering it first); a confirmed account is left
    /// alone.
    pub async fn register_account(
        &self,
        account: &NewAccount,
        answers: &[(String, String)],
    ) -> Result<Registered, Error> {
        let address = account.address.to_ascii_lowercase();
        let mut tx = self.pool.begin().await?;
        let existing: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT confirmed_at FROM accounts WHERE address = $1")
                .bind(&address)
                .fetch_optional(&mut *tx)
                .await?;
        match existing {
            Some((Some(_),)) => return Ok(Registered::AlreadyConfirmed),
            Some((None,)) => {
                for table in ["security_answers", "account_links", "password_history"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE address = $1"))
                        .bind(&address)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("DELETE FROM accounts WHERE address = $1")
                    .bind(&address)
                    .execute(&mut *tx)
                    .await?;
            }
            None => {}
        }
        sqlx::query(
            "INSERT INTO accounts (address, first_name, last_name, language, password_hash, phrase, phrase_enabled, created_at, password_set_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&address)
        .bind(&account.first_name)
        .bind(&account.last_name)
        .bind(&account.language)
        .bind(&account.password_hash)
        .bind(account.phrase.clone())
        .bind(i64::from(account.phrase.is_some()))
        .bind(now())
        .execute(&mut *tx)
        .await?;
        for (slot, (question, answer_hash)) in answers.iter().enumerate() {
            sqlx::query(
                "INSERT INTO security_answers (address, slot, question, answer_hash) VALUES ($1, $2, $3, $4)",
            )
            .bind(&address)
            .bind(slot as i64)
            .bind(question)
            .bind(answer_hash)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Registered::Created)
    }

    /// A new single-use link token for `address`, valid `ttl` seconds. Earlier
    /// unused links of the same purpose stop working: only the newest e-mail counts.
    pub async fn create_link(
        &self,
        address: &str,
        purpose: LinkPurpose,
        ttl: i64,
    ) -> Result<String, Error> {
        let address = address.to_ascii_lowercase();
        let token = new_token();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE account_links SET used_at = $1 WHERE address = $2 AND purpose = $3 AND used_at IS NULL",
        )
        .bind(now())
        .bind(&address)
        .bind(purpose.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO account_links (token_hash, address, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash(&token))
        .bind(&address)
        .bind(purpose.as_str())
        .bind(now())
        .bind(now() + ttl)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The address a link is for, if it is unused, unexpired and of this purpose.
    pub async fn link_address(
        &self,
        token: &str,
        purpose: LinkPurpose,
    ) -> Result<Option<String>, Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT address FROM account_links
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(token_hash(token))
        .bind(purpose.as_str())
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(address,)| address))
    }

    /// Uses a link up: returns its address if it was still good. One UPDATE,
    /// so two clicks racing each other cannot both succeed.
    pub async fn use_link(
        &self,
        token: &str,
        purpose: LinkPurpose,
    ) -> Result<Option<String>, Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "UPDATE account_links SET used_at = $1
             WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1
             RETURNING address",
        )
        .bind(now())
        .bind(token_hash(token))
        .bind(purpose.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(address,)| address))
    }

    /// Counts a wrong answer on a link's form; at `limit` the link is used
    /// up. Returns the attempts left.
    pub async fn link_failure(&self, token: &str, limit: i64) -> Result<i64, Error> {
        let hash = token_hash(token);
        let row: Option<(i64,)> = sqlx::query_as(
            "UPDATE account_links SET failures = failures + 1 WHERE token_hash = $1 RETURNING failures",
        )
        .bind(&hash)
        .fetch_optional(&self.pool)
        .await?;
        let failures = row.map_or(limit, |(f,)| f);
        if failures >= limit {
            sqlx::query("UPDATE account_links SET used_at = $1 WHERE token_hash = $2")
                .bind(now())
                .bind(&hash)
                .execute(&self.pool)
                .await?;
        }
        Ok((limit - failures).max(0))
    }

    /// Name, language and password age of an account.
    pub async fn profile(&self, address: &str) -> Result<Option<Profile>, Error> {
        let row: Option<(String, String, String, String, Option<i64>)> = sqlx::query_as(
            "SELECT address, first_name, last_name, language, password_set_at FROM accounts WHERE address = $1",
        )
        .bind(address.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(
            |(address, first_name, last_name, language, password_set_at)| Profile {
                address,
                first_name,
                last_name,
                language,
                password_set_at,
            },
        ))
    }

    /// The account's security questions, in form order.
    pub async fn security_answers(&self, address: &str) -> Result<Vec<SecurityAnswer>, Error> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT slot, question, answer_hash FROM security_answers WHERE address = $1 ORDER BY slot",
        )
        .bind(address.to_ascii_lowercase())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(slot, question, answer_hash)| SecurityAnswer {
                slot,
                question,
                answer_hash,
            })
            .collect())
    }

    /// The current password hash and the `n - 1` before it, newest first.
    pub async fn recent_password_hashes(
        &self,
        address: &str,
        n: usize,
    ) -> Result<Vec<String>, Error> {
        let address = address.to_ascii_lowercase();
        let mut hashes: Vec<String> = Vec::new();
        if let Some(account) = self.account(&address).await? {
            hashes.push(account.password_hash);
        }
        let older: Vec<(String,)> = sqlx::query_as(
            "SELECT password_hash FROM password_history WHERE address = $1 ORDER BY set_at DESC LIMIT $2",
        )
        .bind(&address)
        .bind(n.saturating_sub(1) as i64)
        .fetch_all(&self.pool)
        .await?;
        hashes.extend(older.into_iter().map(|(h,)| h));
        Ok(hashes)
    }

    /// Sets a new password after a reset: the old hash goes to the history,
    /// the lock and the failure count end (a reset is how a locked-out owner
    /// gets back in), the address counts as confirmed (the link proved it),
    /// and remembered browsers are forgotten.
    pub async fn set_password(&self, address: &str, password_hash: &str) -> Result<(), Error> {
        let address = address.to_ascii_lowercase();
        let at = now();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO password_history (address, password_hash, set_at)
             SELECT address, password_hash, COALESCE(password_set_at, created_at) FROM accounts WHERE address = $1",
        )
        .bind(&address)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE accounts SET password_hash = $1, password_set_at = $2, failed_logins = 0,
                 locked_until = NULL, confirmed_at = COALESCE(confirmed_at, $2)
             WHERE address = $3",
        )
        .bind(password_hash)
        .bind(at)
        .bind(&address)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM remembered_browsers WHERE address = $1")
            .bind(&address)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
