//! What folders and the address book share: their values are sealed under
//! the master key, bound to their table and row (as an Inbox summary is to
//! its entry), and their names are cleaned and compared the same way.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

use axum::http::HeaderMap;
use axum::response::Response;

use super::see_other;
use super::session::require_form;
use crate::http::AppState;
use crate::store::{Personal, Saved, SealedRow};
use crate::{Error, MasterKey};

/// The longest name (a folder's, a group's, a contact's first or last), in characters.
pub(super) const MAX_NAME: usize = 100;

/// What a row is sealed to: its table, its owner and its id (a row moved to
/// another account or id in the database does not open).
fn aad(table: Personal, owner: &str, id: &str) -> Vec<u8> {
    format!(
        "securedoc {} v2\n{}\n{id}",
        table.name(),
        owner.to_ascii_lowercase()
    )
    .into_bytes()
}

/// `value` sealed for `owner`'s row `id` of `table`: base64.
pub(super) fn seal(
    master_key: &MasterKey,
    (table, owner, id): (Personal, &str, &str),
    value: &impl Serialize,
) -> String {
    let json = zeroize::Zeroizing::new(serde_json::to_vec(value).expect("a value serialises"));
    STANDARD.encode(master_key.seal_bytes(&aad(table, owner, id), &json))
}

/// What [`seal`] sealed for `owner`'s `row` of `table`, if it was (an error is logged).
pub(super) fn open<T: DeserializeOwned>(
    master_key: &MasterKey,
    (table, owner): (Personal, &str),
    row: &SealedRow,
) -> Option<T> {
    let opened = STANDARD
        .decode(&row.sealed)
        .ok()
        .and_then(|sealed| master_key.open_bytes(&aad(table, owner, &row.id), &sealed))
        .and_then(|json| serde_json::from_slice(&json).ok());
    if opened.is_none() {
        tracing::error!(table = table.name(), row = %row.id, "a sealed value does not open under the master key");
    }
    opened
}

/// Why a name is refused: the text key of the sentence.
pub(super) type Refusal = &'static str;

/// `raw` as a name: trimmed, runs of spaces made one; refused when empty
/// (unless `optional`), too long, or holding control or direction-changing
/// characters (which could make one name look like another).
pub(super) fn clean_name(raw: &str, optional: bool) -> Result<String, Refusal> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() && !optional {
        return Err("contacts.errors.name_required");
    }
    if name.chars().count() > MAX_NAME {
        return Err("contacts.errors.name_too_long");
    }
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    };
    if name.chars().any(hidden) {
        return Err("contacts.errors.name_characters");
    }
    Ok(name)
}

/// Whether two names are one for an account (case does not count).
pub(super) fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// What saving a value came to.
pub(super) enum Outcome {
    Saved,
    /// The sentence's text key: another row is the same, or the account
    /// has as many rows as it may.
    Refused(Refusal),
    /// No such row of the account.
    NotFound,
}

/// What the account may not have more than one of, and how many it may have.
pub(super) struct Rules<T> {
    pub max: usize,
    /// Whether two values are one (the same name, the same e-mail).
    pub same: fn(&T, &T) -> bool,
    /// The sentences: a duplicate; too many.
    pub exists: Refusal,
    pub full: Refusal,
}

/// Seals `value` as `address`'s row `id` of `table` (a new one when `new`)
/// under `rules`.
pub(super) async fn save<T>(
    state: &AppState,
    (table, address, id): (Personal, &str, &str),
    new: bool,
    value: &T,
    rules: Rules<T>,
) -> Result<Outcome, Error>
where
    T: Serialize + DeserializeOwned + Sync,
{
    let sealed = seal(&state.master_key, (table, address, id), value);
    let master_key = &state.master_key;
    let same = rules.same;
    let conflicts = move |row: &SealedRow| {
        open::<T>(master_key, (table, address), row).is_some_and(|other| same(&other, value))
    };
    let saved = state
        .store
        .save_sealed(table, address, id, &sealed, new, rules.max, conflicts)
        .await?;
    Ok(match saved {
        Saved::Done => Outcome::Saved,
        Saved::Conflict => Outcome::Refused(rules.exists),
        Saved::Full => Outcome::Refused(rules.full),
        Saved::NotFound => Outcome::NotFound,
    })
}

/// Every row of `address` in `table` that opens, with its id.
pub(super) async fn opened_rows<T: DeserializeOwned>(
    state: &AppState,
    table: Personal,
    address: &str,
) -> Result<Vec<(String, T)>, Error> {
    let rows = state.store.sealed_rows(table, address).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some((
                row.id.clone(),
                open(&state.master_key, (table, address), &row)?,
            ))
        })
        .collect())
}

/// `address`'s row `id` of `table`, opened; None if it is not theirs (or
/// cannot be one: not an id).
pub(super) async fn opened_row<T: DeserializeOwned>(
    state: &AppState,
    table: Personal,
    address: &str,
    id: &str,
) -> Result<Option<T>, Error> {
    if !is_id(id) {
        return Ok(None);
    }
    let row = state.store.sealed_row(table, address, id).await?;
    Ok(row.and_then(|row| open(&state.master_key, (table, address), &row)))
}

/// The query of a page that says what was just done (`?done=created`).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct DoneQuery {
    pub done: String,
}

/// A form of one name (create, rename).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct NameForm {
    pub csrf: String,
    pub name: String,
}

/// `POST {here}/{id}/delete` of `address`'s contact or group (its
/// memberships go with it): back to `{here}?done=deleted`, else the page
/// `not_found` makes.
pub(super) async fn delete_row(
    state: &AppState,
    (headers, csrf): (&HeaderMap, &str),
    (table, here): (Personal, &str),
    id: &str,
    not_found: fn(&str) -> Response,
) -> Result<Response, Error> {
    let (live, lang) = match require_form(state, headers, here, csrf).await {
        Ok(session) => session,
        Err(page) => return Ok(page),
    };
    let address = &live.session.address;
    if !is_id(id) || !state.store.delete_sealed(table, address, id).await? {
        return Ok(not_found(lang));
    }
    Ok(see_other(&format!("{here}?done=deleted")))
}

/// A new row id: 32 hex digits.
pub(super) fn new_id() -> String {
    crate::hex(&crate::random::<16>())
}

/// Whether `id` can be a row's id (what [`new_id`] makes).
pub(super) fn is_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Sorts `items` by `key` as a person reads a list: case does not count.
pub(super) fn sort_by_name<T>(items: &mut [T], key: impl Fn(&T) -> String) {
    items.sort_by_cached_key(|item| key(item).to_lowercase());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_hidden_characters_refused() {
        assert_eq!(clean_name("  Tax   2026 ", false).unwrap(), "Tax 2026");
        assert_eq!(
            clean_name("   ", false),
            Err("contacts.errors.name_required")
        );
        assert_eq!(clean_name("   ", true).unwrap(), "");
        assert_eq!(
            clean_name(&"é".repeat(100), false).unwrap().chars().count(),
            100
        );
        assert_eq!(
            clean_name(&"é".repeat(101), false),
            Err("contacts.errors.name_too_long")
        );
        assert_eq!(
            clean_name("abc\u{202e}gpj.exe", false),
            Err("contacts.errors.name_characters")
        );
        assert_eq!(
            clean_name("a\u{0}b", false),
            Err("contacts.errors.name_characters")
        );
        assert!(same_name("Tax", "TAX"));
    }

    #[test]
    fn a_value_opens_only_for_its_table_owner_and_row() {
        let key = MasterKey::from_base64(&STANDARD.encode([7u8; 32])).unwrap();
        let bob = "bob@example.net";
        let sealed = seal(&key, (Personal::Folders, bob, "a"), &"Tax");
        let row = |id: &str| SealedRow {
            id: id.into(),
            sealed: sealed.clone(),
        };
        assert_eq!(
            open::<String>(&key, (Personal::Folders, bob), &row("a")).as_deref(),
            Some("Tax")
        );
        assert_eq!(
            open::<String>(&key, (Personal::Folders, bob), &row("b")),
            None
        );
        assert_eq!(
            open::<String>(&key, (Personal::Groups, bob), &row("a")),
            None
        );
        assert_eq!(
            open::<String>(&key, (Personal::Folders, "eve@example.net"), &row("a")),
            None,
            "moved to another account"
        );
    }
}
