//! Senders and their API tokens.
//!
//! A token is the power to register envelopes and, with it, to learn each
//! recipient's personal security phrase (a sealer must put it in the
//! envelope). So tokens are listed, revoked, and may be limited to the From
//! domains their sender owns.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::Store;
use crate::{hex, random, Error};

/// Tokens start with this, so a leaked one is recognisable (secret scanners).
const TOKEN_PREFIX: &str = "sdk_";

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// The sender behind a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// Store id.
    pub id: String,
    /// The name given at `admin token create`.
    pub name: String,
    /// From domains this token may register messages for; empty: any.
    pub from_domains: Vec<String>,
}

impl Sender {
    /// May this sender register a message From `address`?
    pub fn may_send_from(&self, address: &str) -> bool {
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        self.from_domains.is_empty()
            || self
                .from_domains
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(domain))
    }
}

/// A sender as `admin token list` shows it (never the token: only its hash is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderInfo {
    /// The sender's name.
    pub name: String,
    /// Created, Unix seconds.
    pub created_at: i64,
    /// Revoked, Unix seconds.
    pub revoked_at: Option<i64>,
    /// From domains the token is limited to; empty: any.
    pub from_domains: Vec<String>,
}

/// What [`Store::revoke_sender`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// The token stopped working now.
    Now,
    /// It had been revoked before.
    Already,
    /// No sender has that name.
    NoSuchSender,
}

/// `clinic.example` and the like: a dotted DNS name, lowercased.
fn normalise_domain(domain: &str) -> Result<String, Error> {
    let domain = domain.trim().trim_start_matches('@').to_ascii_lowercase();
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if domain.len() > 253 || !domain.contains('.') || !domain.split('.').all(label_ok) {
        return Err(Error::Unprocessable(format!(
            "'{}' is not a domain like clinic.example",
            domain.escape_default()
        )));
    }
    Ok(domain)
}

fn split_domains(stored: Option<String>) -> Vec<String> {
    stored
        .map(|d| d.split_whitespace().map(String::from).collect())
        .unwrap_or_default()
}

impl Store {
    /// The id of the key server's own sender `name` (answers sealed for
    /// recipients: Reply, Forward), made on first use. Its token is thrown
    /// away: nobody can register messages as it over the API.
    pub async fn internal_sender(&self, name: &str) -> Result<String, Error> {
        let find = || async {
            sqlx::query_as::<_, (String,)>("SELECT id FROM senders WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await
        };
        if let Some((id,)) = find().await? {
            return Ok(id);
        }
        // Two replicas may race here: the unique name keeps one row.
        sqlx::query(
            "INSERT INTO senders (id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(hex(&random::<16>()))
        .bind(name)
        .bind(hex(&random::<32>()))
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        Ok(find().await?.map(|(id,)| id).unwrap_or_default())
    }

    /// Creates a sender and returns its API token, which is stored only hashed:
    /// this is the one time it can be shown.
    pub async fn create_sender(&self, name: &str) -> Result<String, Error> {
        self.create_sender_for(name, &[]).await
    }

    /// As [`Store::create_sender`], for a token that may register messages
    /// only From addresses in `from_domains` (none: any domain).
    pub async fn create_sender_for(
        &self,
        name: &str,
        from_domains: &[String],
    ) -> Result<String, Error> {
        let name = name.trim();
        if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
            return Err(Error::Unprocessable(
                "a sender name is 1 to 200 printable characters".into(),
            ));
        }
        let mut domains = from_domains
            .iter()
            .map(|d| normalise_domain(d))
            .collect::<Result<Vec<_>, _>>()?;
        domains.sort();
        domains.dedup();
        let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(random::<32>()));
        let result = sqlx::query(
            "INSERT INTO senders (id, name, token_hash, created_at, from_domains) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hex(&random::<16>()))
        .bind(name)
        .bind(token_hash(&token))
        .bind(self.now())
        .bind((!domains.is_empty()).then(|| domains.join(" ")))
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

    /// The sender for a token, if the token is valid and not revoked.
    pub async fn sender_for_token(&self, token: &str) -> Result<Option<Sender>, Error> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let row: Option<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, name, from_domains FROM senders WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash(token))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, name, domains)| Sender {
            id,
            name,
            from_domains: split_domains(domains),
        }))
    }

    /// Every sender, oldest first.
    pub async fn list_senders(&self) -> Result<Vec<SenderInfo>, Error> {
        let rows: Vec<(String, i64, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT name, created_at, revoked_at, from_domains FROM senders ORDER BY created_at, name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(name, created_at, revoked_at, domains)| SenderInfo {
                name,
                created_at,
                revoked_at,
                from_domains: split_domains(domains),
            })
            .collect())
    }

    /// Revokes the token of the sender named `name`: it registers nothing more.
    pub async fn revoke_sender(&self, name: &str) -> Result<Revoked, Error> {
        let done = sqlx::query(
            "UPDATE senders SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
        )
        .bind(self.now())
        .bind(name.trim())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(Revoked::Now);
        }
        let exists: Option<(String,)> = sqlx::query_as("SELECT id FROM senders WHERE name = $1")
            .bind(name.trim())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match exists {
            Some(_) => Revoked::Already,
            None => Revoked::NoSuchSender,
        })
    }
}
