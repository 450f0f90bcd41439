//! Accounts' profiles, reset links, security questions, password history
//! and remembered browsers. Registrations waiting for confirmation are in
//! `pending`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::Store;
use crate::{hex, random, Error};

/// Why an e-mailed link was made; a link works only for its own purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Lets the owner of the address set a new password.
    Reset,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Reset => "reset",
        }
    }
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
pub(super) fn new_token() -> String {
    URL_SAFE_NO_PAD.encode(random::<32>())
}

/// What the store keeps of a token: its SHA-256, so a copy of the database
/// cannot use the links.
pub(super) fn token_hash(token: &str) -> String {
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

    /// A new single-use link token for `address`, valid `ttl` seconds.
    /// Earlier links stay good until used or expired: a newer e-mail (asked
    /// for by anyone who knows the address) must not kill the link the owner
    /// is using. Once one of them sets a password, the others stop working.
    pub async fn create_link(
        &self,
        address: &str,
        purpose: LinkPurpose,
        ttl: i64,
    ) -> Result<String, Error> {
        let address = address.to_ascii_lowercase();
        let token = new_token();
        sqlx::query(
            "INSERT INTO account_links (token_hash, address, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash(&token))
        .bind(&address)
        .bind(purpose.as_str())
        .bind(self.now())
        .bind(self.now() + ttl)
        .execute(&self.pool)
        .await?;
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
        .bind(self.now())
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
        .bind(self.now())
        .bind(token_hash(token))
        .bind(purpose.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(address,)| address))
    }

    /// The address of a link of this purpose whatever its state (used up,
    /// expired): the reset form answers alike for a used-up link and for
    /// wrong answers, so it needs the address in both cases.
    pub async fn link_owner(
        &self,
        token: &str,
        purpose: LinkPurpose,
    ) -> Result<Option<String>, Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT address FROM account_links WHERE token_hash = $1 AND purpose = $2",
        )
        .bind(token_hash(token))
        .bind(purpose.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(address,)| address))
    }

    /// Reserves one answer check on a live link, atomically, before the
    /// (slow) check: at most `limit` checks per link, however many requests
    /// arrive at once on however many replicas. Returns the link's address,
    /// or None when the link is used, expired or out of checks.
    pub async fn reserve_link_attempt(
        &self,
        token: &str,
        purpose: LinkPurpose,
        limit: i64,
    ) -> Result<Option<String>, Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "UPDATE account_links SET failures = failures + 1
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
                 AND failures < $4
             RETURNING address",
        )
        .bind(token_hash(token))
        .bind(purpose.as_str())
        .bind(self.now())
        .bind(limit)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(address,)| address))
    }

    /// Gives back a check reserved on a link (the answers were right).
    pub async fn release_link_attempt(&self, token: &str) -> Result<(), Error> {
        sqlx::query(
            "UPDATE account_links SET failures = failures - 1 WHERE token_hash = $1 AND failures > 0",
        )
        .bind(token_hash(token))
        .execute(&self.pool)
        .await?;
        Ok(())
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
    /// the other reset links stop working, and remembered browsers are
    /// forgotten, and portal sessions end.
    pub async fn set_password(&self, address: &str, password_hash: &str) -> Result<(), Error> {
        let address = address.to_ascii_lowercase();
        let at = self.now();
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
                 locked_until = NULL, confirmed_at = COALESCE(confirmed_at, $2), must_change_password = 0
             WHERE address = $3",
        )
        .bind(password_hash)
        .bind(at)
        .bind(&address)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE account_links SET used_at = $1 WHERE address = $2 AND used_at IS NULL")
            .bind(at)
            .bind(&address)
            .execute(&mut *tx)
            .await?;
        // Whoever knew the old password is logged out of the portal everywhere.
        for table in ["remembered_keys", "portal_sessions"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE address = $1"))
                .bind(&address)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
