//! "Remember me" on medium-security messages: the public keys of browsers
//! that keep a non-extractable signing key. The store holds only public
//! keys, so neither a copy of the database nor a page that reads the
//! browser's storage can stand in for the password.

use super::Store;
use crate::{hex, random, Error};

/// A remembered browser's public key, if it is still remembered.
#[derive(Debug, Clone)]
pub struct RememberedKey {
    /// Lower-case address it was remembered for.
    pub address: String,
    /// Raw uncompressed P-256 public key, base64.
    pub public_key: String,
}

impl Store {
    /// Remembers `public_key` (base64) for `address` for `ttl` seconds;
    /// returns the id the browser sends back with its signatures.
    pub async fn remember_key(
        &self,
        address: &str,
        public_key: &str,
        ttl: i64,
    ) -> Result<String, Error> {
        let id = hex(&random::<16>());
        sqlx::query(
            "INSERT INTO remembered_keys (id, address, public_key, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(address.to_ascii_lowercase())
        .bind(public_key)
        .bind(self.now())
        .bind(self.now() + ttl)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// The key remembered under `id` for `address`, unless it expired or
    /// the account's password was set (reset) after it was remembered: a
    /// reset forgets every browser, whoever's code path set the password.
    pub async fn remembered_key(
        &self,
        id: &str,
        address: &str,
    ) -> Result<Option<RememberedKey>, Error> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT k.address, k.public_key FROM remembered_keys k
             JOIN accounts a ON a.address = k.address
             WHERE k.id = $1 AND k.address = $2 AND k.expires_at > $3
               AND k.created_at >= COALESCE(a.password_set_at, 0)",
        )
        .bind(id)
        .bind(address.to_ascii_lowercase())
        .bind(self.now())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(address, public_key)| RememberedKey {
            address,
            public_key,
        }))
    }

    /// Forgets every browser remembered for `address` (its password was
    /// reset: whoever reset it decides again which browsers to trust).
    pub async fn forget_remembered(&self, address: &str) -> Result<u64, Error> {
        let done = sqlx::query("DELETE FROM remembered_keys WHERE address = $1")
            .bind(address.to_ascii_lowercase())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Deletes the keys that expired (the minute sweep).
    pub async fn sweep_remembered(&self) -> Result<u64, Error> {
        let done = sqlx::query("DELETE FROM remembered_keys WHERE expires_at <= $1")
            .bind(self.now())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
