//! What an administrator does to a recipient's account
//! (`securedoc admin account reset|delete|disable|enable`).

use super::Store;
use crate::Error;

/// What an account reset or delete removed, for the administrator's output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    /// The account itself (0 or 1).
    pub accounts: u64,
    /// Registrations waiting for confirmation.
    pub pending_registrations: u64,
    /// Reset links.
    pub links: u64,
}

/// The tables that hold an account's credentials, keyed by `address`.
const CREDENTIAL_TABLES: &[&str] = &[
    "security_answers",
    "password_history",
    "remembered_keys",
    "portal_sessions",
    "passcodes",
];

/// `value` for a LIKE pattern, its wildcards taken literally (escape `\`).
fn like_literal(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Store {
    /// Removes everything that lets someone act as `address` — password,
    /// security questions, phrase, remembered browsers, pending
    /// registrations and links — so the owner registers again from any
    /// envelope. Messages sent to the address stay registered for it and
    /// open once the new registration is confirmed.
    pub async fn reset_account(&self, address: &str) -> Result<Removed, Error> {
        let address = address.to_ascii_lowercase();
        let mut tx = self.pool.begin().await?;
        let mut removed = Removed::default();
        for table in CREDENTIAL_TABLES {
            sqlx::query(&format!("DELETE FROM {table} WHERE address = $1"))
                .bind(&address)
                .execute(&mut *tx)
                .await?;
        }
        removed.links = sqlx::query("DELETE FROM account_links WHERE address = $1")
            .bind(&address)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        removed.pending_registrations =
            sqlx::query("DELETE FROM pending_registrations WHERE address = $1")
                .bind(&address)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        // Links already queued for sending would still work: they go too.
        sqlx::query("DELETE FROM mail_outbox WHERE recipient = $1 AND sent_at IS NULL")
            .bind(&address)
            .execute(&mut *tx)
            .await?;
        removed.accounts = sqlx::query("DELETE FROM accounts WHERE address = $1")
            .bind(&address)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(removed)
    }

    /// Removes the account and everything the server keeps about the
    /// address: what [`Store::reset_account`] removes, and its audit rows,
    /// its limits, its queued and sent mail, its place on messages (it can
    /// no longer open them; a new message lets it register again), its
    /// folders and its address book.
    pub async fn delete_account(&self, address: &str) -> Result<Removed, Error> {
        let address = address.to_ascii_lowercase();
        let removed = self.reset_account(&address).await?;
        let mut tx = self.pool.begin().await?;
        for query in [
            "DELETE FROM audit WHERE account = $1",
            "DELETE FROM mail_outbox WHERE recipient = $1",
            "DELETE FROM message_recipients WHERE address = $1",
            "DELETE FROM mailbox_entries WHERE address = $1",
            // Folders and the address book (group memberships cascade).
            "DELETE FROM folders WHERE address = $1",
            "DELETE FROM contact_groups WHERE address = $1",
            "DELETE FROM contacts WHERE address = $1",
            // Keys first: the sweep deletes the keyless items' ciphertext.
            "UPDATE private_items SET sealed_key = NULL WHERE address = $1",
        ] {
            sqlx::query(query).bind(&address).execute(&mut *tx).await?;
        }
        // Limit keys end with the address ("register|bob@example.net").
        sqlx::query("DELETE FROM rate_limits WHERE key = $1 OR key LIKE $2 ESCAPE '\\'")
            .bind(&address)
            .bind(format!("%|{}", like_literal(&address)))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// Disables (`true`) or enables an account: a disabled account gets no
    /// key and no reset mail. An administrator's disabling is never undone
    /// or followed by a deletion by the lifecycle sweep; enabling starts
    /// the inactivity clock again. False when there is no such account.
    pub async fn set_account_disabled(&self, address: &str, disabled: bool) -> Result<bool, Error> {
        let query = if disabled {
            "UPDATE accounts SET disabled_at = $1, disabled_reason = 'admin' WHERE address = $2"
        } else {
            "UPDATE accounts SET disabled_at = NULL, disabled_reason = NULL, last_login_at = $1
             WHERE address = $2"
        };
        let done = sqlx::query(query)
            .bind(self.now())
            .bind(address.to_ascii_lowercase())
            .execute(&self.pool)
            .await?;
        if disabled {
            // Logged-in portal sessions end too, not only new logins.
            self.end_sessions_of(address).await?;
        }
        Ok(done.rows_affected() > 0)
    }
}
