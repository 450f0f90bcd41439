//! Staff accounts: addresses in `internal_domains` that send from the
//! portal (docs/PORTAL.md, "Staff"), and the sendings their Sent items name.

use super::Store;
use crate::Error;

impl Store {
    /// Marks `address`'s account as staff (or not); false if it has none.
    pub async fn set_internal(&self, address: &str, internal: bool) -> Result<bool, Error> {
        let done = sqlx::query("UPDATE accounts SET internal = $1 WHERE address = $2")
            .bind(i64::from(internal))
            .bind(address.to_ascii_lowercase())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Whether `address` has a staff account.
    pub async fn is_internal(&self, address: &str) -> Result<bool, Error> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT internal FROM accounts WHERE address = $1")
                .bind(address.to_ascii_lowercase())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.is_some_and(|(internal,)| internal != 0))
    }

    /// The staff account of `address`, signed in by the reverse proxy
    /// (`trusted_sso_header`): created confirmed on its first login, with
    /// `password_hash` (a hash of a random secret nobody holds: the proxy,
    /// not a password, lets its owner in), or an existing account marked
    /// staff. One statement each, so parallel first logins make one account.
    /// It has no `password_set_at`: there is no password to expire or warn about.
    pub async fn sso_account(
        &self,
        address: &str,
        language: &str,
        password_hash: &str,
    ) -> Result<(), Error> {
        let address = address.to_ascii_lowercase();
        let at = self.now();
        sqlx::query(
            "INSERT INTO accounts (address, first_name, last_name, language, password_hash, phrase_enabled,
                                   created_at, confirmed_at, internal, language_chosen)
             VALUES ($1, '', '', $2, $3, 0, $4, $4, 1, 0)
             ON CONFLICT (address) DO NOTHING",
        )
        .bind(&address)
        .bind(language)
        .bind(password_hash)
        .bind(at)
        .execute(&self.pool)
        .await?;
        sqlx::query("UPDATE accounts SET internal = 1 WHERE address = $1")
            .bind(&address)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The sending `address`'s Sent item `item_id` made, if the item is
    /// theirs and was sent by staff.
    pub async fn sent_item_sending(
        &self,
        address: &str,
        item_id: &str,
    ) -> Result<Option<String>, Error> {
        let row: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT sending_id FROM private_items
             WHERE id = $1 AND address = $2 AND kind = 'sent' AND sealed_key IS NOT NULL",
        )
        .bind(item_id)
        .bind(address.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|(sending,)| sending))
    }
}
