//! The account lifecycle (docs/PORTAL.md, "Account lifecycle"), over real
//! HTTP on SQLite and PostgreSQL, with a moved clock and the minute sweep
//! run by hand: MailGate's preset (passwords expire after 60 days, warned 7
//! days before; disabled after 90 days without a login, deleted 90 days
//! after that). One warning mail per password, whatever the number of
//! sweeps and replicas; the warning in the portal; expired and disabled
//! refused only after the right password, disabled naming the help desk;
//! deleted: the account, its sessions and its mailbox gone, and the address
//! free to register again; an administrator's disabling never deleted; a
//! login starts the inactivity clock again.

mod common;
mod pages_support;
mod portal_support;

use common::{account, pull, registered, release, start_with, Backend, Server, PASSWORD};
use key_server::{password_expiry_notice, sweep_once, Config, Preset, Store};
use pages_support::{no_mail, wait_mails};
use portal_support::Portal;

const BOB: &str = "bob@example.net";
const CAROL: &str = "carol@example.net";
const HELP_DESK: &str = "helpdesk@clinic.example";
const DAY: i64 = 86_400;

/// MailGate's lifecycle, with a help desk.
fn mailgate(config: &mut Config) {
    config.password_policy = Preset::Mailgate;
    config.accounts.help_desk = Some(HELP_DESK.into());
}

/// The server's configuration as `configure` made it, for the sweep.
fn config_of(server: &Server, configure: fn(&mut Config)) -> Config {
    let mut config = Config {
        data_dir: server.data_dir.path().to_path_buf(),
        database_url: Some(server.database_url.clone()),
        public_url: "http://127.0.0.1".into(),
        ..Config::default()
    };
    configure(&mut config);
    config
}

async fn start(backend: Backend, configure: fn(&mut Config)) -> (Server, Config) {
    let server = start_with(backend, configure).await;
    let config = config_of(&server, configure);
    (server, config)
}

/// Rows of `table` for `address` (its address column is `column`).
async fn rows(server: &Server, table: &str, column: &str, address: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.database_url).await.unwrap();
    let (count,): (i64,) =
        sqlx::query_as(&format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1"))
            .bind(address)
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    count
}

async fn notice(server: &Server, config: &Config, lang: &str) -> Option<String> {
    password_expiry_notice(
        &server.store,
        &config.account_lifecycle().unwrap(),
        BOB,
        lang,
    )
    .await
    .unwrap()
}

async fn one_warning_mail_per_password_on_any_number_of_replicas(backend: Backend) {
    let (server, config) = start(backend, mailgate).await;
    account(&server, BOB, true, None).await;
    // A second replica on the same database, on the same clock.
    let replica = Store::connect_with_clock(&server.database_url, server.store.clock().clone())
        .await
        .unwrap();

    // Day 52: the password expires on day 60, more than 7 days away.
    server.advance(52 * DAY);
    sweep_once(&server.store, &config).await;
    no_mail(&server).await;
    assert_eq!(notice(&server, &config, "en").await, None);

    // Day 53 and a minute: the warning, once, however many sweeps run where.
    server.advance(DAY + 60);
    tokio::join!(
        sweep_once(&server.store, &config),
        sweep_once(&replica, &config),
        sweep_once(&replica, &config),
    );
    sweep_once(&server.store, &config).await;
    let mails = wait_mails(&server, 1).await;
    let (to, subject, text) = &mails[0];
    assert_eq!(to, BOB);
    assert!(
        subject.starts_with("Your password for secure messages expires on "),
        "{subject}"
    );
    let date = subject.trim_start_matches("Your password for secure messages expires on ");
    assert!(date.ends_with(" UTC"), "{date}");
    assert!(text.starts_with("Hello Test,"), "{text}");
    assert!(
        text.contains(&format!("({BOB}) expires on {date}.")),
        "{text}"
    );
    assert!(
        text.contains("http://127.0.0.1/forgot?email=bob%40example.net&lang=en"),
        "{text}"
    );
    sweep_once(&replica, &config).await;
    no_mail(&server).await;

    // The portal says so too, and the password still works.
    assert_eq!(
        notice(&server, &config, "en").await.as_deref(),
        Some(
            format!(
                "Your password expires on {date}. Choose a new one before then in Preferences."
            )
            .as_str()
        )
    );
    assert!(notice(&server, &config, "fr")
        .await
        .unwrap()
        .starts_with(&format!("Votre mot de passe expire le {date}.")));
    let mut portal = Portal::new(&server);
    assert_eq!(
        portal.log_in(BOB, PASSWORD, "/portal/inbox").await.status,
        303
    );

    // A new password is warned about in its turn, once.
    let hash = server
        .store
        .account(BOB)
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    server.store.set_password(BOB, &hash).await.unwrap();
    assert_eq!(notice(&server, &config, "en").await, None);
    server.advance(53 * DAY + 60);
    sweep_once(&server.store, &config).await;
    sweep_once(&replica, &config).await;
    let mails = wait_mails(&server, 1).await;
    assert_eq!(mails[0].0, BOB);
    assert_ne!(mails[0].1, *subject, "a new date");
    assert!(notice(&server, &config, "en").await.is_some());

    // Expired: refused, but only the right password learns it.
    server.advance(7 * DAY);
    assert_eq!(notice(&server, &config, "en").await, None);
    let wrong = portal
        .log_in(BOB, "not the password", "/portal/inbox")
        .await;
    assert_eq!(wrong.status, 401);
    assert!(!wrong.body.contains("expired"), "{}", wrong.body);
    let expired = portal.log_in(BOB, PASSWORD, "/portal/inbox").await;
    assert_eq!(expired.status, 403);
    assert!(
        expired.body.contains("Your password has expired."),
        "{}",
        expired.body
    );
    sweep_once(&server.store, &config).await;
    no_mail(&server).await;
}

async fn inactive_accounts_are_disabled_then_deleted(backend: Backend) {
    let (server, config) = start(backend, mailgate).await;
    account(&server, BOB, true, None).await;
    let id = "b".repeat(32);
    pull(&server, &id, BOB).await;
    let mut portal = Portal::new(&server);
    assert_eq!(
        portal.log_in(BOB, PASSWORD, "/portal/inbox").await.status,
        303
    );
    assert_eq!(rows(&server, "mailbox_entries", "address", BOB).await, 1);
    assert_eq!(rows(&server, "portal_sessions", "address", BOB).await, 1);

    // 90 days without a login: disabled, its sessions ended.
    server.advance(90 * DAY - 60);
    sweep_once(&server.store, &config).await;
    let account_now = server.store.account(BOB).await.unwrap().unwrap();
    assert!(!account_now.disabled, "not before day 90");
    server.advance(120);
    sweep_once(&server.store, &config).await;
    let disabled = server.store.account(BOB).await.unwrap().unwrap();
    assert!(disabled.disabled && disabled.disabled_for_inactivity);
    assert_eq!(rows(&server, "portal_sessions", "address", BOB).await, 0);

    // Only the right password learns it, with the help desk's address.
    let wrong = portal
        .log_in(BOB, "not the password", "/portal/inbox")
        .await;
    assert_eq!(wrong.status, 401);
    assert!(
        wrong
            .body
            .contains("The e-mail address or the password is not right."),
        "{}",
        wrong.body
    );
    assert!(!wrong.body.contains("disabled") && !wrong.body.contains(HELP_DESK));
    let refused = portal.log_in(BOB, PASSWORD, "/portal/inbox").await;
    assert_eq!(refused.status, 403);
    assert!(
        refused.body.contains("This account was disabled because nobody logged in to it for 90 days. To have it enabled again, contact helpdesk@clinic.example."),
        "{}",
        refused.body
    );
    assert!(refused.set_cookie.is_none(), "no session");
    // Key release refuses it too.
    let (status, body, key) = release(&server, &id, BOB, PASSWORD).await;
    assert_eq!(status, 403, "{body}");
    assert!(key.is_none());
    assert_eq!(body["error"], "disabled");
    assert_eq!(body["help_desk"], HELP_DESK);

    // 90 days after that: deleted, with its Inbox and its place on messages.
    server.advance(89 * DAY);
    sweep_once(&server.store, &config).await;
    assert!(server.store.account(BOB).await.unwrap().is_some());
    server.advance(DAY);
    sweep_once(&server.store, &config).await;
    assert!(server.store.account(BOB).await.unwrap().is_none());
    for (table, column) in [
        ("mailbox_entries", "address"),
        ("portal_sessions", "address"),
        ("message_recipients", "address"),
        ("audit", "account"),
    ] {
        assert_eq!(rows(&server, table, column, BOB).await, 0, "{table}");
    }
    let gone = portal.log_in(BOB, PASSWORD, "/portal/inbox").await;
    assert_eq!(gone.status, 401, "as any unknown address");
    let (status, body, _) = release(&server, &id, BOB, PASSWORD).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "not_a_recipient");

    // A new message lets the address register again.
    let new_id = "c".repeat(32);
    registered(&server, &new_id, BOB, None).await;
    let form = pages_support::form(BOB);
    let (status, page) =
        pages_support::post_form(&server, "/register", &pages_support::pairs(&form)).await;
    assert_eq!(status, 200, "{page}");
    let mails = wait_mails(&server, 1).await;
    assert_eq!(mails[0].0, BOB);
    assert_eq!(
        mails[0].1,
        "Confirm your e-mail address for secure messages"
    );
    let confirm = pages_support::link(&mails[0].2, "/confirm?token=");
    let (status, page) =
        pages_support::confirm_with(&server, &confirm, pages_support::PASSWORD).await;
    assert_eq!(status, 200, "{page}");
    let (status, body, key) = release(&server, &new_id, BOB, pages_support::PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(key.unwrap(), common::KEY);
}

/// Inactivity without password expiry, the preset's other steps as they are.
fn no_expiry(config: &mut Config) {
    mailgate(config);
    config.accounts.password_expiry_days = Some(0);
}

async fn a_login_starts_the_inactivity_clock_again(backend: Backend) {
    let (server, config) = start(backend, no_expiry).await;
    account(&server, BOB, true, None).await;
    account(&server, CAROL, true, None).await;
    server.advance(80 * DAY);
    let mut portal = Portal::new(&server);
    assert_eq!(
        portal.log_in(BOB, PASSWORD, "/portal/inbox").await.status,
        303
    );
    // Key release is a login too.
    let id = "d".repeat(32);
    registered(&server, &id, CAROL, None).await;
    assert_eq!(release(&server, &id, CAROL, PASSWORD).await.0, 200);

    server.advance(80 * DAY);
    sweep_once(&server.store, &config).await;
    for address in [BOB, CAROL] {
        let account = server.store.account(address).await.unwrap().unwrap();
        assert!(!account.disabled, "{address}: 80 days since the last login");
    }
    assert_eq!(
        portal.log_in(BOB, PASSWORD, "/portal/inbox").await.status,
        303
    );
    server.advance(10 * DAY + 60);
    sweep_once(&server.store, &config).await;
    assert!(!server.store.account(BOB).await.unwrap().unwrap().disabled);
    assert!(server.store.account(CAROL).await.unwrap().unwrap().disabled);
    // No expiry in this configuration: no warning either.
    no_mail(&server).await;
}

async fn an_administrators_disabling_is_never_undone_or_deleted(backend: Backend) {
    let (server, config) = start(backend, mailgate).await;
    account(&server, BOB, true, None).await;
    account(&server, CAROL, true, None).await;
    server.store.set_account_disabled(BOB, true).await.unwrap();
    server.advance(200 * DAY);
    sweep_once(&server.store, &config).await;
    let bob = server.store.account(BOB).await.unwrap().unwrap();
    assert!(bob.disabled && !bob.disabled_for_inactivity);
    // The portal names the help desk, without the inactivity.
    let mut portal = Portal::new(&server);
    let refused = portal.log_in(BOB, PASSWORD, "/portal/inbox").await;
    assert_eq!(refused.status, 403);
    assert!(
        refused.body.contains(
            "This account is disabled. To have it enabled again, contact helpdesk@clinic.example."
        ),
        "{}",
        refused.body
    );

    // Carol was disabled for inactivity; an administrator enabling her
    // account starts the clock again, disabling it makes it theirs.
    let carol = server.store.account(CAROL).await.unwrap().unwrap();
    assert!(carol.disabled_for_inactivity);
    server
        .store
        .set_account_disabled(CAROL, false)
        .await
        .unwrap();
    sweep_once(&server.store, &config).await;
    assert!(!server.store.account(CAROL).await.unwrap().unwrap().disabled);
    server.advance(90 * DAY + 60);
    sweep_once(&server.store, &config).await;
    let carol = server.store.account(CAROL).await.unwrap().unwrap();
    assert!(carol.disabled_for_inactivity);
    server
        .store
        .set_account_disabled(CAROL, true)
        .await
        .unwrap();

    // Long past any deletion: both still there, disabled by the administrator.
    server.advance(400 * DAY);
    sweep_once(&server.store, &config).await;
    for address in [BOB, CAROL] {
        let account = server.store.account(address).await.unwrap().unwrap();
        assert!(
            account.disabled && !account.disabled_for_inactivity,
            "{address}"
        );
    }
}

on_both_stores!(
    one_warning_mail_per_password_on_any_number_of_replicas,
    inactive_accounts_are_disabled_then_deleted,
    a_login_starts_the_inactivity_clock_again,
    an_administrators_disabling_is_never_undone_or_deleted,
);
