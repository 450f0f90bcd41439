//! The sender's view of a message after sending: its envelopes' state, who
//! opened them, and the controls (lock, revoke, expiry) — always scoped to
//! the sender token that registered them.
//!
//! An `id` here is either a sending's id (every envelope of one
//! registration call) or one envelope's own id (that recipient only).

use super::mail_queue::insert_mail;
use super::Store;
use crate::Error;

/// One envelope as its sender sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeState {
    /// The envelope id (as in its header).
    pub id: String,
    /// The sending it belongs to (None for envelopes registered before sendings had ids).
    pub sending_id: Option<String>,
    /// Its recipient.
    pub recipient: String,
    /// Whether the recipient has a confirmed account.
    pub registered: bool,
    /// Registered at, Unix seconds.
    pub created_at: i64,
    /// Expiry, Unix seconds.
    pub expires_at: Option<i64>,
    /// Locked by the sender (key release refused until unlocked).
    pub locked: bool,
    /// Withdrawn by the sender at, Unix seconds.
    pub revoked_at: Option<i64>,
    /// The content key still exists (not expired, withdrawn or past retention).
    pub key_present: bool,
    /// Successful openings (key releases) so far.
    pub open_count: i64,
    /// First opening, Unix seconds.
    pub first_opened_at: Option<i64>,
    /// Last opening, Unix seconds.
    pub last_opened_at: Option<i64>,
    /// The client address of the last opening.
    pub last_client: Option<String>,
    /// Secure replies the recipient sent from this envelope.
    pub replies_sent: i64,
}

/// One opening, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opening {
    /// The recipient's first opening of this envelope (decided atomically
    /// by the store: exactly one opening is the first).
    pub first: bool,
    /// Openings so far, this one included.
    pub count: i64,
}

/// What a read receipt says about a message, and to whom it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptDetails {
    /// The sender's From address.
    pub from: Option<String>,
    /// The sender's flags.
    pub flags: envelope_core::Flags,
    /// Registered at, Unix seconds.
    pub created_at: i64,
    /// The sender's language for receipts.
    pub sender_lang: Option<String>,
    /// The sending's id, if it has one.
    pub sending_id: Option<String>,
    /// The name of the sender that registered it (`securedoc-portal`: staff in the portal).
    pub sender: String,
}

/// The longest client address kept for an opening.
const MAX_CLIENT_LEN: usize = 64;

type StateRow = (
    String,
    Option<String>,
    String,
    i64,
    Option<i64>,
    i64,
    Option<i64>,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    i64,
    Option<i64>,
);

/// Which envelopes `$2` names, among sender `$1`'s.
const OWNED: &str = "sender_id = $1 AND (id = $2 OR sending_id = $2)";

impl Store {
    /// The envelopes `id` names among those sender `sender_id` registered
    /// (empty: no such message, or another sender's).
    pub async fn sender_envelopes(
        &self,
        sender_id: &str,
        id: &str,
    ) -> Result<Vec<EnvelopeState>, Error> {
        let rows: Vec<StateRow> = sqlx::query_as(
            "SELECT m.id, m.sending_id, r.address, m.created_at, m.expires_at, m.locked, m.revoked_at,
                    CAST(CASE WHEN m.sealed_key IS NULL THEN 0 ELSE 1 END AS BIGINT),
                    r.open_count, r.first_opened_at, r.last_opened_at, r.last_client, r.replies_sent,
                    a.confirmed_at
             FROM messages m
             JOIN message_recipients r ON r.message_id = m.id
             LEFT JOIN accounts a ON a.address = r.address
             WHERE m.sender_id = $1 AND (m.id = $2 OR m.sending_id = $2)
             ORDER BY r.address, m.id",
        )
        .bind(sender_id)
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let at = self.now();
        Ok(rows
            .into_iter()
            .map(|row| {
                let expired = row.4.is_some_and(|e| e <= at);
                EnvelopeState {
                    id: row.0,
                    sending_id: row.1,
                    recipient: row.2,
                    created_at: row.3,
                    expires_at: row.4,
                    locked: row.5 != 0,
                    revoked_at: row.6,
                    key_present: row.7 != 0 && !expired && row.6.is_none(),
                    open_count: row.8,
                    first_opened_at: row.9,
                    last_opened_at: row.10,
                    last_client: row.11,
                    replies_sent: row.12,
                    registered: row.13.is_some(),
                }
            })
            .collect())
    }

    /// Locks (`true`) or unlocks the envelopes `id` names, among the
    /// sender's; returns how many.
    pub async fn set_message_locked(
        &self,
        sender_id: &str,
        id: &str,
        locked: bool,
    ) -> Result<u64, Error> {
        let done = sqlx::query(&format!("UPDATE messages SET locked = $3 WHERE {OWNED}"))
            .bind(sender_id)
            .bind(id)
            .bind(i64::from(locked))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Withdraws the envelopes `id` names: their keys are deleted now
    /// (crypto-shredding); returns how many.
    pub async fn revoke_message(&self, sender_id: &str, id: &str) -> Result<u64, Error> {
        let done = sqlx::query(&format!(
            "UPDATE messages SET sealed_key = NULL, revoked_at = COALESCE(revoked_at, $3) WHERE {OWNED}"
        ))
        .bind(sender_id)
        .bind(id)
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Moves the expiry of the envelopes `id` names whose key still exists
    /// (not expired, not withdrawn) to `expires`; returns how many moved.
    pub async fn set_message_expiry(
        &self,
        sender_id: &str,
        id: &str,
        expires: i64,
    ) -> Result<u64, Error> {
        let done = sqlx::query(&format!(
            "UPDATE messages SET expires_at = $3
             WHERE {OWNED} AND sealed_key IS NOT NULL AND revoked_at IS NULL
                 AND (expires_at IS NULL OR expires_at > $4)"
        ))
        .bind(sender_id)
        .bind(id)
        .bind(expires)
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// What a read receipt for envelope `message_id` needs.
    pub async fn receipt_details(&self, message_id: &str) -> Result<Option<ReceiptDetails>, Error> {
        type Row = (
            Option<String>,
            String,
            i64,
            Option<String>,
            Option<String>,
            String,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT m.from_address, m.flags, m.created_at, m.sender_lang, m.sending_id, s.name
             FROM messages m JOIN senders s ON s.id = m.sender_id WHERE m.id = $1",
        )
        .bind(message_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(
            |(from, flags, created_at, sender_lang, sending_id, sender)| ReceiptDetails {
                from,
                flags: parse_flags(&flags),
                created_at,
                sender_lang,
                sending_id,
                sender,
            },
        ))
    }

    /// The sender's flags of envelope `message_id` (reply, reply all,
    /// forward, print, read receipt), if it exists.
    pub async fn message_flags(
        &self,
        message_id: &str,
    ) -> Result<Option<envelope_core::Flags>, Error> {
        let row: Option<(String,)> = sqlx::query_as("SELECT flags FROM messages WHERE id = $1")
            .bind(message_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(flags,)| parse_flags(&flags)))
    }

    /// Records a successful opening of `message_id` by `recipient` from
    /// `client`, and queues `receipt` (kind, to, rendered mail) in the same
    /// transaction if this was the recipient's first opening. None: the
    /// recipient is not on the message.
    pub async fn record_opening(
        &self,
        message_id: &str,
        recipient: &str,
        client: &str,
        receipt: Option<(&str, &str, &[u8])>,
    ) -> Result<Option<Opening>, Error> {
        let client: String = client.chars().take(MAX_CLIENT_LEN).collect();
        let mut tx = self.pool.begin().await?;
        // One UPDATE moves the count: of any number of parallel openings,
        // on any number of replicas, exactly one reads 1 back.
        let row: Option<(i64,)> = sqlx::query_as(
            "UPDATE message_recipients
             SET open_count = open_count + 1, first_opened_at = COALESCE(first_opened_at, $1),
                 last_opened_at = $1, last_client = $2
             WHERE message_id = $3 AND address = $4
             RETURNING open_count",
        )
        .bind(self.now())
        .bind(&client)
        .bind(message_id)
        .bind(recipient.to_ascii_lowercase())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((count,)) = row else {
            return Ok(None);
        };
        let first = count == 1;
        if let (true, Some((kind, to, mail))) = (first, receipt) {
            insert_mail(&mut tx, kind, to, mail, self.now()).await?;
        }
        tx.commit().await?;
        Ok(Some(Opening { first, count }))
    }

    /// Counts a secure reply sent from envelope `message_id` by `recipient`.
    pub async fn record_reply(&self, message_id: &str, recipient: &str) -> Result<(), Error> {
        sqlx::query(
            "UPDATE message_recipients SET replies_sent = replies_sent + 1
             WHERE message_id = $1 AND address = $2",
        )
        .bind(message_id)
        .bind(recipient.to_ascii_lowercase())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Stored flags; unreadable ones (never written by this server) restrict
/// everything but printing, and ask for no receipt.
fn parse_flags(stored: &str) -> envelope_core::Flags {
    serde_json::from_str(stored).unwrap_or(envelope_core::Flags {
        reply: false,
        reply_all: false,
        forward: false,
        print: true,
        read_receipt: false,
    })
}
