//! The portal's sessions: created at login, found (and kept alive) on each
//! request, ended by logout, inactivity, their absolute lifetime, or
//! anything that changes who may log in (a new password, an account reset
//! or deletion).

use sha2::{Digest, Sha256};

use super::Store;
use crate::{hex, Error};

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    /// The account's address, lower-case.
    pub address: String,
    /// The token every form of this session carries.
    pub csrf: String,
    /// Last request that counted as activity, Unix seconds.
    pub last_seen_at: i64,
    /// The absolute end, Unix seconds.
    pub expires_at: i64,
    /// What it may do: `full`, or only `change_password`.
    pub scope: String,
    /// The account is staff's (`accounts.internal`): Compose offers the
    /// sender options.
    pub internal: bool,
    /// The account's language, if its owner chose one (at registration or
    /// in Preferences; not the guess of an account the server made).
    pub language: Option<String>,
}

/// What a session cookie leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionLookup {
    /// A live session.
    Live(PortalSession),
    /// It ended for inactivity (now deleted): say so at the login page.
    TimedOut,
    /// It reached its absolute lifetime (now deleted).
    Ended,
    /// No such session: never issued, logged out, or ended otherwise.
    Unknown,
}

/// What is stored of a session id: its SHA-256.
fn id_hash(id: &str) -> String {
    hex(&Sha256::digest(id.as_bytes()))
}

type SessionRow = (
    String,
    String,
    i64,
    i64,
    String,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

impl Store {
    /// Starts a session for `address`: `id` is the cookie's value (256
    /// random bits, hex), `csrf` the forms' token, `scope` what it may do.
    pub async fn create_session(
        &self,
        id: &str,
        address: &str,
        csrf: &str,
        lifetime_seconds: i64,
        client: &str,
        scope: &str,
    ) -> Result<(), Error> {
        let at = self.now();
        sqlx::query(
            "INSERT INTO portal_sessions (id_hash, address, csrf, created_at, last_seen_at, expires_at, client, scope)
             VALUES ($1, $2, $3, $4, $4, $5, $6, $7)",
        )
        .bind(id_hash(id))
        .bind(address.to_ascii_lowercase())
        .bind(csrf)
        .bind(at)
        .bind(at + lifetime_seconds)
        .bind(client.chars().take(64).collect::<String>())
        .bind(scope)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session of cookie `id`, if it is live after `idle_seconds` of
    /// inactivity; an ended one is deleted here. With `touch`, a live
    /// session's activity is recorded (at most every `touch_every`
    /// seconds, so reading pages does not write on every request).
    pub async fn session(
        &self,
        id: &str,
        idle_seconds: i64,
        touch: bool,
        touch_every: i64,
    ) -> Result<SessionLookup, Error> {
        let hash = id_hash(id);
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT s.address, s.csrf, s.last_seen_at, s.expires_at, s.scope, a.internal,
                    CASE WHEN a.language_chosen = 1 THEN a.language END, a.disabled_at
             FROM portal_sessions s LEFT JOIN accounts a ON a.address = s.address
             WHERE s.id_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some((address, csrf, last_seen_at, expires_at, scope, internal, language, disabled)) =
            row
        else {
            return Ok(SessionLookup::Unknown);
        };
        // Disabling ends an account's sessions; this holds even for a
        // session another replica was serving at that moment.
        if disabled.is_some() {
            self.end_session(id).await?;
            return Ok(SessionLookup::Unknown);
        }
        let now = self.now();
        let ended = if expires_at <= now {
            Some(SessionLookup::Ended)
        } else if last_seen_at + idle_seconds <= now {
            Some(SessionLookup::TimedOut)
        } else {
            None
        };
        if let Some(ended) = ended {
            self.end_session(id).await?;
            return Ok(ended);
        }
        let mut session = PortalSession {
            address,
            csrf,
            last_seen_at,
            expires_at,
            scope,
            internal: internal.unwrap_or(0) != 0,
            language,
        };
        if touch && now - last_seen_at >= touch_every {
            sqlx::query("UPDATE portal_sessions SET last_seen_at = $1 WHERE id_hash = $2")
                .bind(now)
                .bind(&hash)
                .execute(&self.pool)
                .await?;
            session.last_seen_at = now;
        }
        Ok(SessionLookup::Live(session))
    }

    /// Ends the session of cookie `id` (logout).
    pub async fn end_session(&self, id: &str) -> Result<(), Error> {
        sqlx::query("DELETE FROM portal_sessions WHERE id_hash = $1")
            .bind(id_hash(id))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends every session of `address`: its password changed, or the
    /// account was reset, disabled or deleted. Returns how many.
    pub async fn end_sessions_of(&self, address: &str) -> Result<u64, Error> {
        let done = sqlx::query("DELETE FROM portal_sessions WHERE address = $1")
            .bind(address.to_ascii_lowercase())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Deletes sessions past their absolute end or idle for `idle_seconds`.
    pub async fn sweep_sessions(&self, idle_seconds: i64) -> Result<u64, Error> {
        let now = self.now();
        let done =
            sqlx::query("DELETE FROM portal_sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
                .bind(now)
                .bind(now - idle_seconds)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }
}
