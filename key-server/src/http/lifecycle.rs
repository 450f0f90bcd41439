//! The account lifecycle (docs/PORTAL.md, "Account lifecycle"), as the
//! password policy's preset and `[accounts]` set it:
//!
//! - **password expiry**: the owner is warned `expiry_warning_days` before,
//!   by one mail per password (claimed in the store, so several replicas
//!   send it once) and by a notice in the portal ([`expiry_notice`]); an
//!   expired password is refused by the portal's login and key release;
//! - **inactivity**: an account nobody logged in to for `disable_after_days`
//!   is disabled (its sessions end; login and key release refuse it, naming
//!   `help_desk`), and deleted `delete_after_days` after that, as an
//!   administrator's `account delete` does. An account an administrator
//!   disabled is never deleted by it.
//!
//! The minute sweep ([`super::sweep_once`]) runs it on every replica.

use securedoc_templates::{context, fill, language, render_account_email, text};

use super::online::{iso_time, urlencoding};
use super::{AppState, Kind, Refusal};
use crate::config::AccountLifecycle;
use crate::mail::Mailer;
use crate::{Config, Error, Store};

/// One pass of the lifecycle: warnings, disabling, deleting. Errors are
/// logged; each step goes on without the others.
pub(crate) async fn sweep_accounts(store: &Store, config: &Config) {
    let lifecycle = match config.account_lifecycle() {
        Ok(lifecycle) => lifecycle,
        Err(error) => {
            tracing::error!(%error, "the account lifecycle is not configured right");
            return;
        }
    };
    if let (Some(expiry), Some(warning)) = (lifecycle.expiry_seconds(), lifecycle.warning_seconds())
    {
        match warn_of_expiry(store, config, expiry, warning).await {
            Ok(0) => {}
            Ok(mails) => tracing::info!(mails, "queued password expiry warnings"),
            Err(error) => tracing::error!(%error, "could not warn of expiring passwords"),
        }
    }
    if let Some(inactive) = lifecycle.disable_seconds() {
        match store.disable_inactive_accounts(inactive).await {
            Ok(disabled) if disabled.is_empty() => {}
            Ok(disabled) => tracing::info!(
                accounts = disabled.len(),
                "disabled accounts nobody logged in to for {} days",
                inactive / 86_400
            ),
            Err(error) => tracing::error!(%error, "could not disable inactive accounts"),
        }
    }
    if let Some(after) = lifecycle.delete_seconds() {
        match delete_inactive(store, after).await {
            Ok(0) => {}
            Ok(accounts) => tracing::info!(
                accounts,
                "deleted accounts disabled for inactivity {} days ago",
                after / 86_400
            ),
            Err(error) => tracing::error!(%error, "could not delete inactive accounts"),
        }
    }
}

/// Queues the warning of every password that expires within `warning`
/// seconds and was not warned about yet; returns how many were queued here.
async fn warn_of_expiry(
    store: &Store,
    config: &Config,
    expiry: i64,
    warning: i64,
) -> Result<u64, Error> {
    let mut queued = 0;
    for due in store.expiry_warnings_due(expiry, warning).await? {
        let expires_at = due.password_set_at + expiry;
        let mail = match warning_mail(
            config,
            &due.address,
            &due.first_name,
            &due.language,
            expires_at,
        ) {
            Ok(mail) => mail,
            Err(error) => {
                // One account's mail that cannot be written holds up no other.
                tracing::error!(%error, "could not write a password expiry warning");
                continue;
            }
        };
        if store
            .claim_expiry_warning(&due.address, due.password_set_at, &mail)
            .await?
        {
            queued += 1;
        }
    }
    Ok(queued)
}

/// The expiry warning for `address`, in its owner's language, ready to queue.
fn warning_mail(
    config: &Config,
    address: &str,
    first_name: &str,
    language_code: &str,
    expires_at: i64,
) -> Result<Vec<u8>, Error> {
    let lang = language(language_code);
    let public_url = config.public_url.trim_end_matches('/');
    let email = render_account_email(
        "expiry_warning",
        lang,
        context! {
            email => address,
            name => first_name,
            link => format!("{public_url}/forgot?email={}&lang={lang}", urlencoding(address)),
            date => iso_time(expires_at),
            hours => 0,
            minutes => 0,
        },
    )
    .map_err(|e| Error::Mail(format!("cannot render the expiry warning e-mail: {e}")))?;
    Ok(Mailer::compose_automatic(&config.mail_from, address, &email)?.formatted())
}

/// Deletes the accounts disabled for inactivity more than `after` seconds
/// ago, and everything the server keeps about them.
async fn delete_inactive(store: &Store, after: i64) -> Result<u64, Error> {
    let mut deleted = 0;
    for address in store.inactive_accounts_to_delete(after).await? {
        deleted += store.delete_account(&address).await?.accounts;
    }
    Ok(deleted)
}

/// The notice for a logged-in owner whose password expires within the
/// warning window ("Your password expires on …"), in `lang`; `None`
/// otherwise. For the Inbox (or any page of a full session).
// The Inbox (portal/inbox.rs) is to show it; until it does, nothing calls it.
pub(crate) async fn expiry_notice(state: &AppState, address: &str, lang: &str) -> Option<String> {
    password_expiry_notice(&state.store, &state.settings.accounts, address, lang)
        .await
        .unwrap_or_else(|error| {
            tracing::error!(%error, "could not read a password's expiry");
            None
        })
}

/// [`expiry_notice`], from the store and the lifecycle in effect.
pub async fn password_expiry_notice(
    store: &Store,
    lifecycle: &AccountLifecycle,
    address: &str,
    lang: &str,
) -> Result<Option<String>, Error> {
    let (Some(expiry), Some(warning)) = (lifecycle.expiry_seconds(), lifecycle.warning_seconds())
    else {
        return Ok(None);
    };
    let Some(account) = store.account(address).await? else {
        return Ok(None);
    };
    let Some(set_at) = account
        .password_set_at
        .filter(|_| !account.must_change_password)
    else {
        return Ok(None);
    };
    let expires_at = set_at + expiry;
    let now = store.now();
    Ok((now >= expires_at - warning && now < expires_at).then(|| {
        fill(
            &text(lang, "accounts.expiry_notice"),
            &[("date", iso_time(expires_at))],
        )
    }))
}

/// What the owner of a disabled account is told, after the right password
/// only: why (for inactivity, after how long), and whom to ask.
pub(crate) fn disabled_sentence(
    lifecycle: &AccountLifecycle,
    lang: &str,
    for_inactivity: bool,
) -> String {
    let why = match lifecycle.disable_after_days.filter(|_| for_inactivity) {
        Some(days) => fill(
            &text(lang, "accounts.disabled_inactive"),
            &[("days", days.to_string())],
        ),
        None => text(lang, "accounts.disabled"),
    };
    let help = match &lifecycle.help_desk {
        Some(help_desk) => fill(
            &text(lang, "accounts.help_desk"),
            &[("help_desk", help_desk.clone())],
        ),
        None => text(lang, "accounts.no_help_desk"),
    };
    format!("{why} {help}")
}

/// Key release's refusal of a disabled account: the same sentence, in
/// English (the envelope shows its own, by the kind), and the help desk
/// as a field of its own when there is one.
pub(crate) fn disabled_refusal(lifecycle: &AccountLifecycle, for_inactivity: bool) -> Refusal {
    let refusal = Refusal::new(
        Kind::Disabled,
        disabled_sentence(lifecycle, "en", for_inactivity),
    );
    match &lifecycle.help_desk {
        Some(help_desk) => refusal.with("help_desk", help_desk.clone()),
        None => refusal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lifecycle(help_desk: Option<&str>) -> AccountLifecycle {
        AccountLifecycle {
            password_expiry_days: Some(60),
            expiry_warning_days: Some(7),
            disable_after_days: Some(90),
            delete_after_days: Some(90),
            help_desk: help_desk.map(String::from),
        }
    }

    #[test]
    fn a_disabled_account_is_told_whom_to_ask() {
        let with = lifecycle(Some("helpdesk@clinic.example"));
        assert_eq!(
            disabled_sentence(&with, "en", true),
            "This account was disabled because nobody logged in to it for 90 days. To have it enabled again, contact helpdesk@clinic.example."
        );
        assert_eq!(
            disabled_sentence(&with, "en", false),
            "This account is disabled. To have it enabled again, contact helpdesk@clinic.example."
        );
        assert_eq!(
            disabled_sentence(&lifecycle(None), "en", false),
            "This account is disabled. Ask the sender of your message for help."
        );
        assert!(disabled_sentence(&with, "fr", true).contains("depuis 90 jours"));
        let refusal = disabled_refusal(&with, true);
        assert_eq!(refusal.kind(), Kind::Disabled);
        assert_eq!(
            refusal.field("help_desk"),
            Some(&serde_json::json!("helpdesk@clinic.example"))
        );
        assert!(disabled_refusal(&lifecycle(None), false)
            .field("help_desk")
            .is_none());
    }

    #[test]
    fn the_warning_mail_names_the_date_in_the_owners_language() {
        let context = |name: &str| {
            context! {
                email => "bob@example.net",
                name,
                link => "https://keys.example/forgot?email=bob%40example.net&lang=en",
                date => "2026-03-01 09:00 UTC",
                days => 7,
                hours => 0,
                minutes => 0,
            }
        };
        let english = render_account_email("expiry_warning", "en", context("Bob")).unwrap();
        assert_eq!(
            english.subject,
            "Your password for secure messages expires on 2026-03-01 09:00 UTC"
        );
        assert!(english.text.starts_with("Hello Bob,"), "{}", english.text);
        assert!(english
            .text
            .contains("(bob@example.net) expires on 2026-03-01 09:00 UTC."));
        assert!(english.text.contains("/forgot?email=bob%40example.net"));
        assert!(english.html.contains("Choose a new password"));
        // An account the server created has no name: no "Hello ,".
        let nameless = render_account_email("expiry_warning", "en", context("")).unwrap();
        assert!(!nameless.text.contains("Hello"), "{}", nameless.text);
        let french = render_account_email("expiry_warning", "fr", context("Bob")).unwrap();
        assert!(
            french.subject.ends_with("expire le 2026-03-01 09:00 UTC"),
            "{}",
            french.subject
        );
    }
}
