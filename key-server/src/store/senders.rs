//! Senders and their API tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::Store;
use crate::{hex, now, random, Error};

/// Tokens start with this, so a leaked one is recognisable (secret scanners).
const TOKEN_PREFIX: &str = "sdk_";

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

impl Store {
    /// Creates a sender and returns its API token, which is stored only hashed:
    /// this is the one time it can be shown.
    pub async fn create_sender(&self, name: &str) -> Result<String, Error> {
        let name = name.trim();
        if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
            return Err(Error::Unprocessable(
                "a sender name is 1 to 200 printable characters".into(),
            ));
        }
        let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(random::<32>()));
        let result = sqlx::query(
            "INSERT INTO senders (id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(hex(&random::<16>()))
        .bind(name)
        .bind(token_hash(&token))
        .bind(now())
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(token),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(Error::Conflict(
                format!("a sender named '{name}' exists already"),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The sender id for a token, if the token is valid and not revoked.
    pub async fn sender_for_token(&self, token: &str) -> Result<Option<String>, Error> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let id: Option<(String,)> =
            sqlx::query_as("SELECT id FROM senders WHERE token_hash = $1 AND revoked_at IS NULL")
                .bind(token_hash(token))
                .fetch_optional(&self.pool)
                .await?;
        Ok(id.map(|(id,)| id))
    }
}
