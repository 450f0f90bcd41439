//! An account's preferences, as the portal's Preferences page changes
//! them: language, personal security phrase, security questions,
//! notification mails and the password hint (sealed by the caller under
//! the master key: the store never sees it in the clear). The password
//! itself changes with [`Store::set_password`].

use super::Store;
use crate::Error;

/// What the Preferences page shows of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    /// Lower-case address.
    pub address: String,
    /// First name (may be empty: accounts made with a first-time password).
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Language code, as stored.
    pub language: String,
    /// The personal security phrase, shown on envelopes when enabled.
    pub phrase: Option<String>,
    /// Whether envelopes show the phrase.
    pub phrase_enabled: bool,
    /// Whether the owner wants notification mails.
    pub notify_mail: bool,
    /// The password hint, sealed under the master key (base64), if any.
    pub hint_sealed: Option<String>,
}

type PreferencesRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    Option<String>,
);

/// Writes `address`'s security answers ((question id, answer hash), in form
/// order) in `tx`, in place of any it had.
pub(super) async fn replace_security_answers(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    address: &str,
    answers: &[(String, String)],
) -> Result<(), Error> {
    sqlx::query("DELETE FROM security_answers WHERE address = $1")
        .bind(address)
        .execute(&mut **tx)
        .await?;
    for (slot, (question, answer_hash)) in answers.iter().enumerate() {
        sqlx::query(
            "INSERT INTO security_answers (address, slot, question, answer_hash) VALUES ($1, $2, $3, $4)",
        )
        .bind(address)
        .bind(slot as i64)
        .bind(question)
        .bind(answer_hash)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// The preferences of `address`'s account, if it has one.
    pub async fn preferences(&self, address: &str) -> Result<Option<Preferences>, Error> {
        let row: Option<PreferencesRow> = sqlx::query_as(
            "SELECT address, first_name, last_name, language, phrase, phrase_enabled, notify_mail, password_hint
             FROM accounts WHERE address = $1",
        )
        .bind(address.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(
            |(address, first_name, last_name, language, phrase, enabled, notify, hint)| {
                Preferences {
                    address,
                    first_name,
                    last_name,
                    language,
                    phrase,
                    phrase_enabled: enabled != 0,
                    notify_mail: notify != 0,
                    hint_sealed: hint,
                }
            },
        ))
    }

    /// One column of `address`'s account.
    async fn set_account_column<T>(
        &self,
        address: &str,
        column: &str,
        value: T,
    ) -> Result<(), Error>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Send,
    {
        sqlx::query(&format!(
            "UPDATE accounts SET {column} = $1 WHERE address = $2"
        ))
        .bind(value)
        .bind(address.to_ascii_lowercase())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The account's language (the pages', the mails'): a known code, now
    /// chosen by its owner.
    pub async fn set_language(&self, address: &str, language: &str) -> Result<(), Error> {
        self.set_account_column(address, "language", language.to_string())
            .await?;
        self.set_account_column(address, "language_chosen", 1_i64)
            .await
    }

    /// Whether the owner wants notification mails.
    pub async fn set_notify_mail(&self, address: &str, on: bool) -> Result<(), Error> {
        self.set_account_column(address, "notify_mail", i64::from(on))
            .await
    }

    /// The password hint, sealed (base64); `None` removes it.
    pub async fn set_password_hint(
        &self,
        address: &str,
        sealed: Option<&str>,
    ) -> Result<(), Error> {
        self.set_account_column(address, "password_hint", sealed.map(String::from))
            .await
    }

    /// The personal security phrase (`None`: none) and whether envelopes
    /// show it, in one statement.
    pub async fn set_phrase(
        &self,
        address: &str,
        phrase: Option<&str>,
        enabled: bool,
    ) -> Result<(), Error> {
        sqlx::query("UPDATE accounts SET phrase = $1, phrase_enabled = $2 WHERE address = $3")
            .bind(phrase.map(String::from))
            .bind(i64::from(enabled && phrase.is_some()))
            .bind(address.to_ascii_lowercase())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Replaces the three security questions and their answers ((question
    /// id, PHC string of the normalised answer), in form order), all or
    /// nothing.
    pub async fn set_security_answers(
        &self,
        address: &str,
        answers: &[(String, String)],
    ) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        replace_security_answers(&mut tx, &address.to_ascii_lowercase(), answers).await?;
        tx.commit().await?;
        Ok(())
    }
}
