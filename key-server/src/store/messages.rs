//! Messages, their recipients and their (sealed) content keys.
//!
//! Each row of `messages` is one recipient's envelope: its own id, its own
//! content key and exactly one recipient. (Rows registered by releases before
//! per-envelope keys may carry several recipients under one id; they keep
//! opening.) A co-recipient therefore holds no key that opens, or that the key
//! server would release for, anyone else's envelope.

use super::Store;
use crate::Error;

/// What every envelope of a message shares, as the sender registers it.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// The sender's From address.
    pub from: String,
    /// Expiry, Unix seconds.
    pub expires: Option<i64>,
    /// The sender's flags, as in the envelope headers.
    pub flags: envelope_core::Flags,
    /// Security level.
    pub security: envelope_core::SecurityLevel,
    /// The id of this sending (random, 32 hex digits), shared by its
    /// envelopes: what the sender names to see or control the message.
    pub sending_id: String,
    /// The sender's language for read receipts (`en` when None).
    pub sender_lang: Option<String>,
}

/// One recipient's envelope: its id, its recipient and its content key,
/// already sealed under the master key.
#[derive(Debug, Clone)]
pub struct NewEnvelope {
    /// Message id from the envelope header (32 lowercase hex digits).
    pub id: String,
    /// The one address the key is released to.
    pub recipient: String,
    /// The content key sealed under the master key.
    pub sealed_key: String,
}

/// What the sender learns about an envelope's recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientStatus {
    /// Whether the recipient has a confirmed account.
    pub registered: bool,
    /// The recipient's personal security phrase, if they enabled it.
    pub phrase: Option<String>,
    /// The language of the recipient's confirmed account.
    pub language: Option<String>,
    /// Whether the recipient wants notification mails (false only when the
    /// owner of a confirmed account turned them off in Preferences).
    pub notify: bool,
    /// Whether the recipient reads this envelope with a one-time passcode.
    pub passcode: bool,
}

/// Which recipients of a registration read with a one-time passcode
/// (docs/PORTAL.md, "One-time passcode").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PasscodeFor {
    /// Nobody: every recipient opens with the password of an account.
    #[default]
    Nobody,
    /// Every recipient (the sender's `--security passcode`).
    Everyone,
    /// The recipients without a confirmed account when the message is
    /// registered (`[portal] first_contact = "passcode"`).
    Unregistered,
}

/// Whether a message's key may be released now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// Yes: the content key, sealed under the master key.
    Ready(String),
    /// The sender locked the message for now; the key is kept.
    Locked,
    /// The sender withdrew (revoked) the message: the key is deleted.
    Withdrawn,
    /// Expired, past retention, or no such message: the key is deleted.
    Gone,
}

/// A message's key and what decides whether it may be released:
/// sealed key, expiry, locked, revoked.
type KeyRow = (Option<String>, Option<i64>, i64, Option<i64>);

/// What a registration learns of a recipient's account: confirmed, phrase,
/// phrase enabled, language, notification mails.
type RecipientRow = (Option<i64>, Option<String>, i64, String, i64);

impl Store {
    /// Registers the envelopes of one message, each with its own id, key and
    /// recipient, all or none; returns each recipient's status, in order.
    /// An id registered already is a conflict, never an overwrite.
    pub async fn register_envelopes(
        &self,
        sender_id: &str,
        message: &NewMessage,
        envelopes: &[NewEnvelope],
    ) -> Result<Vec<RecipientStatus>, Error> {
        self.register_envelopes_for(sender_id, message, envelopes, PasscodeFor::Nobody)
            .await
    }

    /// [`Store::register_envelopes`], with the recipients `passcode` names
    /// reading by one-time passcode. Whether an address has an account is
    /// read in the same transaction that registers it.
    pub async fn register_envelopes_for(
        &self,
        sender_id: &str,
        message: &NewMessage,
        envelopes: &[NewEnvelope],
        passcode: PasscodeFor,
    ) -> Result<Vec<RecipientStatus>, Error> {
        let flags = serde_json::to_string(&message.flags).expect("flags serialise");
        let security = serde_json::to_value(message.security).expect("a level serialises");
        let security = security.as_str().expect("a level is a string");
        let from = message.from.to_ascii_lowercase();
        let created = self.now();
        let mut tx = self.pool.begin().await?;
        let mut statuses = Vec::with_capacity(envelopes.len());
        for envelope in envelopes {
            let inserted = sqlx::query(
                "INSERT INTO messages (id, sender_id, created_at, expires_at, flags, security, sealed_key, from_address, sending_id, sender_lang)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&envelope.id)
            .bind(sender_id)
            .bind(created)
            .bind(message.expires)
            .bind(&flags)
            .bind(security)
            .bind(&envelope.sealed_key)
            .bind(&from)
            .bind(&message.sending_id)
            .bind(&message.sender_lang)
            .execute(&mut *tx)
            .await;
            match inserted {
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    return Err(Error::Conflict(format!(
                        "message id {} is registered already; seal again (every envelope gets a fresh id)",
                        envelope.id
                    )))
                }
                other => other?,
            };
            let address = envelope.recipient.to_ascii_lowercase();
            let account: Option<RecipientRow> = sqlx::query_as(
                "SELECT confirmed_at, phrase, phrase_enabled, language, notify_mail FROM accounts WHERE address = $1",
            )
            .bind(&address)
            .fetch_optional(&mut *tx)
            .await?;
            // The phrase, language and notification choice go out only for
            // a confirmed account (the phrase only if enabled).
            let (registered, phrase, language, notify) = match account {
                Some((confirmed, phrase, enabled, language, notify)) => (
                    confirmed.is_some(),
                    phrase.filter(|_| enabled != 0 && confirmed.is_some()),
                    Some(language).filter(|_| confirmed.is_some()),
                    notify != 0 || confirmed.is_none(),
                ),
                None => (false, None, None, true),
            };
            let by_passcode = match passcode {
                PasscodeFor::Nobody => false,
                PasscodeFor::Everyone => true,
                PasscodeFor::Unregistered => !registered,
            };
            sqlx::query(
                "INSERT INTO message_recipients (message_id, address, passcode) VALUES ($1, $2, $3)",
            )
            .bind(&envelope.id)
            .bind(&address)
            .bind(i64::from(by_passcode))
            .execute(&mut *tx)
            .await?;
            statuses.push(RecipientStatus {
                registered,
                phrase,
                language,
                notify,
                passcode: by_passcode,
            });
        }
        tx.commit().await?;
        Ok(statuses)
    }

    /// The From address a sender token registered for envelope `message_id`
    /// (None for rows registered before it was recorded).
    pub async fn message_sender(&self, message_id: &str) -> Result<Option<String>, Error> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT from_address FROM messages WHERE id = $1")
                .bind(message_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|(from,)| from))
    }

    /// The sealed content key of a message that is neither expired, revoked
    /// nor locked. An expired message's key is deleted here, not just refused.
    pub async fn sealed_key(&self, message_id: &str) -> Result<Option<String>, Error> {
        Ok(match self.key_state(message_id).await? {
            KeyState::Ready(key) => Some(key),
            _ => None,
        })
    }

    /// Whether a message's key may be released, and if so the sealed key.
    /// An expired message's key is deleted here, not just refused.
    pub async fn key_state(&self, message_id: &str) -> Result<KeyState, Error> {
        let row: Option<KeyRow> = sqlx::query_as(
            "SELECT sealed_key, expires_at, locked, revoked_at FROM messages WHERE id = $1",
        )
        .bind(message_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some((key, expires, locked, revoked)) = row else {
            return Ok(KeyState::Gone);
        };
        if revoked.is_some() {
            return Ok(KeyState::Withdrawn);
        }
        if expires.is_some_and(|e| e <= self.now()) {
            self.shred_key(message_id).await?;
            return Ok(KeyState::Gone);
        }
        Ok(match key {
            None => KeyState::Gone,
            Some(_) if locked != 0 => KeyState::Locked,
            Some(key) => KeyState::Ready(key),
        })
    }

    /// The message's security level (`high`, `medium`, `low`), if it exists.
    pub async fn message_security(&self, message_id: &str) -> Result<Option<String>, Error> {
        let row: Option<(String,)> = sqlx::query_as("SELECT security FROM messages WHERE id = $1")
            .bind(message_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(security,)| security))
    }

    /// For the opener's Register / Open choice: whether `address` is a
    /// recipient of `message_id` and, if so, whether it has a confirmed
    /// account. Only someone holding the (random, 128-bit) message id of a
    /// message sent to the address can ask, so this is no enumeration oracle.
    pub async fn recipient_registered(
        &self,
        message_id: &str,
        address: &str,
    ) -> Result<Option<bool>, Error> {
        let row: Option<(Option<i64>,)> = sqlx::query_as(
            "SELECT a.confirmed_at FROM message_recipients r
             LEFT JOIN accounts a ON a.address = r.address
             WHERE r.message_id = $1 AND r.address = $2",
        )
        .bind(message_id)
        .bind(address.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(confirmed,)| confirmed.is_some()))
    }

    /// Crypto-shreds every message past its expiry or older than the
    /// retention period (at `now`); returns how many keys were deleted.
    pub async fn shred_expired(&self, now: i64, retention_seconds: i64) -> Result<u64, Error> {
        let done = sqlx::query(
            "UPDATE messages SET sealed_key = NULL
             WHERE sealed_key IS NOT NULL AND ((expires_at IS NOT NULL AND expires_at <= $1) OR created_at <= $2)",
        )
        .bind(now)
        .bind(now - retention_seconds)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Deletes a message's content key: nobody can open it again.
    pub async fn shred_key(&self, message_id: &str) -> Result<(), Error> {
        sqlx::query("UPDATE messages SET sealed_key = NULL WHERE id = $1")
            .bind(message_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
