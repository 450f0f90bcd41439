//! What a portal account keeps for itself besides messages: its folders,
//! contacts and groups of contacts (docs/PORTAL.md, "Folders" and "Address
//! book"). Each row's value (a name; a contact's names and e-mail) is
//! personal data, stored only sealed under the master key by the caller;
//! the store never sees it in the clear. So what must be unique per account
//! is checked by the caller on the decrypted values, inside
//! [`Store::save_sealed`]'s transaction, which first locks the account's
//! row: two saves of one account run one after the other, on any replica.

use sqlx::Acquire;

use super::Store;
use crate::Error;

/// A table of sealed rows, one account's each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personal {
    /// `folders`: a folder's name.
    Folders,
    /// `contacts`: first name, last name and e-mail, together.
    Contacts,
    /// `contact_groups`: a group's name.
    Groups,
}

impl Personal {
    /// The table, and the column of the sealed value.
    fn table(self) -> (&'static str, &'static str) {
        match self {
            Personal::Folders => ("folders", "name_sealed"),
            Personal::Contacts => ("contacts", "sealed"),
            Personal::Groups => ("contact_groups", "name_sealed"),
        }
    }

    /// What a value is sealed to besides its row's id (the table's name).
    pub fn name(self) -> &'static str {
        self.table().0
    }
}

/// One row: its id and sealed value (base64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRow {
    pub id: String,
    pub sealed: String,
}

/// What [`Store::save_sealed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    Done,
    /// Another row of the account conflicts (the same name).
    Conflict,
    /// A new row would pass the account's limit.
    Full,
    /// No such row of the account (an update).
    NotFound,
}

/// The query of every row of an account (`$1`) in `table`, oldest first.
fn rows_query(table: Personal) -> String {
    let (name, column) = table.table();
    format!("SELECT id, {column} FROM {name} WHERE address = $1 ORDER BY created_at, id")
}

fn sealed_row((id, sealed): (String, String)) -> SealedRow {
    SealedRow { id, sealed }
}

/// Locks `address`'s account row until `tx` ends (a write to it, which
/// waits for any other transaction holding it): what an account does to its
/// own folders and address book happens one step at a time.
pub(super) async fn lock_account(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    address: &str,
) -> Result<(), Error> {
    sqlx::query("UPDATE accounts SET address = address WHERE address = $1")
        .bind(address)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Every row of `address` in `table`, oldest first.
    pub async fn sealed_rows(
        &self,
        table: Personal,
        address: &str,
    ) -> Result<Vec<SealedRow>, Error> {
        let rows: Vec<(String, String)> = sqlx::query_as(&rows_query(table))
            .bind(address.to_ascii_lowercase())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(sealed_row).collect())
    }

    /// `address`'s row `id` in `table`, if it is theirs.
    pub async fn sealed_row(
        &self,
        table: Personal,
        address: &str,
        id: &str,
    ) -> Result<Option<SealedRow>, Error> {
        let (name, column) = table.table();
        let row: Option<(String, String)> = sqlx::query_as(&format!(
            "SELECT id, {column} FROM {name} WHERE id = $1 AND address = $2"
        ))
        .bind(id)
        .bind(address.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(sealed_row))
    }

    /// Writes `sealed` as row `id` of `address` in `table`: a new row when
    /// `new` (refused, [`Saved::Full`], when the account has `max` rows
    /// already), else the account's existing one ([`Saved::NotFound`] when
    /// it has none of that id). Refused, [`Saved::Conflict`], when
    /// `conflicts` says so of any other row of the account. The account's
    /// row is locked first, so the check and the write are one step.
    #[allow(clippy::too_many_arguments)]
    pub async fn save_sealed(
        &self,
        table: Personal,
        address: &str,
        id: &str,
        sealed: &str,
        new: bool,
        max: usize,
        conflicts: impl Fn(&SealedRow) -> bool + Send,
    ) -> Result<Saved, Error> {
        let address = address.to_ascii_lowercase();
        let (name, column) = table.table();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        lock_account(&mut tx, &address).await?;
        let rows: Vec<(String, String)> = sqlx::query_as(&rows_query(table))
            .bind(&address)
            .fetch_all(&mut *tx)
            .await?;
        let rows: Vec<SealedRow> = rows.into_iter().map(sealed_row).collect();
        let exists = rows.iter().any(|row| row.id == id);
        if !new && !exists {
            return Ok(Saved::NotFound);
        }
        if rows.iter().any(|row| row.id != id && conflicts(row)) {
            return Ok(Saved::Conflict);
        }
        if new {
            // Counted in the insert too: no account row, no lock.
            let inserted = sqlx::query(&format!(
                "INSERT INTO {name} (id, address, {column}, created_at)
                 SELECT $1, $2, $3, $4
                 WHERE (SELECT COUNT(*) FROM {name} WHERE address = $2) < $5
                   AND NOT EXISTS (SELECT 1 FROM {name} WHERE id = $1)"
            ))
            .bind(id)
            .bind(&address)
            .bind(sealed)
            .bind(self.now())
            .bind(max as i64)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 0 {
                return Ok(Saved::Full);
            }
        } else {
            sqlx::query(&format!(
                "UPDATE {name} SET {column} = $1 WHERE id = $2 AND address = $3"
            ))
            .bind(sealed)
            .bind(id)
            .bind(&address)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Saved::Done)
    }

    /// Deletes `address`'s row `id` of `table` (a contact's or a group's
    /// memberships go with it). False if it is not theirs.
    pub async fn delete_sealed(
        &self,
        table: Personal,
        address: &str,
        id: &str,
    ) -> Result<bool, Error> {
        let (name, _) = table.table();
        let done = sqlx::query(&format!(
            "DELETE FROM {name} WHERE id = $1 AND address = $2"
        ))
        .bind(id)
        .bind(address.to_ascii_lowercase())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Every (group, contact) membership of `address`'s groups.
    pub async fn group_memberships(&self, address: &str) -> Result<Vec<(String, String)>, Error> {
        Ok(sqlx::query_as(
            "SELECT m.group_id, m.contact_id FROM contact_group_members m
             JOIN contact_groups g ON g.id = m.group_id
             WHERE g.address = $1",
        )
        .bind(address.to_ascii_lowercase())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Makes `contacts` (those of them that are `address`'s) the members of
    /// `address`'s group `group_id`. False if the group is not theirs.
    pub async fn set_group_members(
        &self,
        address: &str,
        group_id: &str,
        contacts: &[String],
    ) -> Result<bool, Error> {
        let address = address.to_ascii_lowercase();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let theirs: Option<(String,)> =
            sqlx::query_as("SELECT id FROM contact_groups WHERE id = $1 AND address = $2")
                .bind(group_id)
                .bind(&address)
                .fetch_optional(&mut *tx)
                .await?;
        if theirs.is_none() {
            return Ok(false);
        }
        sqlx::query("DELETE FROM contact_group_members WHERE group_id = $1")
            .bind(group_id)
            .execute(&mut *tx)
            .await?;
        for contact in contacts {
            sqlx::query(
                "INSERT INTO contact_group_members (group_id, contact_id)
                 SELECT $1, id FROM contacts WHERE id = $2 AND address = $3
                   AND NOT EXISTS (SELECT 1 FROM contact_group_members
                                   WHERE group_id = $1 AND contact_id = $2)",
            )
            .bind(group_id)
            .bind(contact)
            .bind(&address)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
