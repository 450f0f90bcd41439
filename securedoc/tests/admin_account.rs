//! `securedoc admin account reset|delete|disable|enable` as an administrator
//! runs them, on SQLite and PostgreSQL: an account someone else took (their
//! password, their questions) is repaired, and its owner registers again
//! and opens the messages sent to them.

use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use key_server::{NewEnvelope, NewMessage, NewRegistration, Store};

const MESSAGE: &str = "0123456789abcdef0123456789abcdef";

/// Where the store lives: SQLite in the data directory, or a fresh
/// PostgreSQL database (dropped afterwards).
struct Database {
    url: String,
    postgres: Option<(String, String)>,
}

impl Database {
    fn sqlite(data: &std::path::Path) -> Database {
        Database {
            url: format!("sqlite://{}?mode=rwc", data.join("securedoc.db").display()),
            postgres: None,
        }
    }

    fn postgres() -> Database {
        let admin = std::env::var("SECUREDOC_TEST_POSTGRES_URL").expect(
            "SECUREDOC_TEST_POSTGRES_URL is not set: the PostgreSQL tests need a server \
             (url=\"$(scripts/postgres.sh)\").",
        );
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes).unwrap();
        let name = format!(
            "securedoc_cli_{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        psql(&admin, &format!("CREATE DATABASE {name}"));
        let (base, query) = admin
            .split_once('?')
            .map_or((admin.as_str(), None), |(b, q)| (b, Some(q)));
        let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
        let url = match query {
            Some(q) => format!("{base}/{name}?{q}"),
            None => format!("{base}/{name}"),
        };
        Database {
            url,
            postgres: Some((admin, name)),
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.postgres {
            psql(
                admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

fn psql(url: &str, sql: &str) {
    let status = Command::new("psql")
        .args([url, "-q", "-c", sql])
        .status()
        .expect("psql runs");
    assert!(status.success(), "psql {sql}");
}

fn admin(data: &std::path::Path, db: &Database, args: &[&str]) -> (i32, String) {
    let output = Command::cargo_bin("securedoc")
        .unwrap()
        .env("SECUREDOC_DATA_DIR", data)
        .env("DATABASE_URL", &db.url)
        .args(["admin", "account"])
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// A registration of `address` with `password_hash` and answers, confirmed
/// the way the confirm page does it.
async fn registered(store: &Store, address: &str, password_hash: &str) -> bool {
    let token = store
        .add_pending_registration(
            &NewRegistration {
                address: address.into(),
                first_name: "Who".into(),
                last_name: "Ever".into(),
                language: "en".into(),
                password_hash: password_hash.into(),
                phrase: Some("their phrase".into()),
                answers: vec![
                    ("first_pet".into(), "h1".into()),
                    ("first_car".into(), "h2".into()),
                    ("first_school".into(), "h3".into()),
                ],
                password_hint: None,
            },
            3600,
        )
        .await
        .unwrap();
    store.confirm_registration(&token).await.unwrap().is_some()
}

fn repair(db: Database) {
    let data = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime.block_on(async {
        let store = Store::connect(&db.url).await.unwrap();
        let token = store.create_sender("clinic").await.unwrap();
        let sender = store.sender_for_token(&token).await.unwrap().unwrap();
        store
            .register_envelopes(
                &sender.id,
                &NewMessage {
                    from: "alice@clinic.example".into(),
                    expires: None,
                    flags: envelope_core::Flags::default(),
                    security: envelope_core::SecurityLevel::High,
                    sending_id: "5e4d5e4d5e4d5e4d5e4d5e4d5e4d5e4d".into(),
                    sender_lang: None,
                },
                &[NewEnvelope {
                    id: MESSAGE.into(),
                    recipient: "victim@example.org".into(),
                    sealed_key: "c2VhbGVk".into(),
                }],
            )
            .await
            .unwrap();
        // The account was taken (the attacker's password and questions), and
        // more registrations and a reset link are waiting.
        assert!(registered(&store, "victim@example.org", "attacker-hash").await);
        store
            .create_link("victim@example.org", key_server::LinkPurpose::Reset, 3600)
            .await
            .unwrap();
        store
    });

    let (code, stderr) = admin(
        data.path(),
        &db,
        &["reset", "--address", "Victim@Example.org"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Reset victim@example.org"), "{stderr}");
    runtime.block_on(async {
        assert!(store.account("victim@example.org").await.unwrap().is_none());
        assert!(store
            .security_answers("victim@example.org")
            .await
            .unwrap()
            .is_empty());
        // The message is still theirs: the owner registers again and opens it.
        assert_eq!(
            store
                .recipient_registered(MESSAGE, "victim@example.org")
                .await
                .unwrap(),
            Some(false)
        );
        assert!(registered(&store, "victim@example.org", "owner-hash").await);
        let account = store.account("victim@example.org").await.unwrap().unwrap();
        assert_eq!(account.password_hash, "owner-hash");
        assert!(account.confirmed);
    });

    let (code, stderr) = admin(
        data.path(),
        &db,
        &["disable", "--address", "victim@example.org"],
    );
    assert_eq!(code, 0, "{stderr}");
    runtime.block_on(async {
        assert!(
            store
                .account("victim@example.org")
                .await
                .unwrap()
                .unwrap()
                .disabled
        );
    });
    let (code, _) = admin(
        data.path(),
        &db,
        &["enable", "--address", "victim@example.org"],
    );
    assert_eq!(code, 0);
    runtime.block_on(async {
        assert!(
            !store
                .account("victim@example.org")
                .await
                .unwrap()
                .unwrap()
                .disabled
        );
    });
    let (code, stderr) = admin(
        data.path(),
        &db,
        &["disable", "--address", "nobody@example.org"],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("there is no account for nobody@example.org"),
        "{stderr}"
    );

    let (code, stderr) = admin(
        data.path(),
        &db,
        &["delete", "--address", "victim@example.org"],
    );
    assert_eq!(code, 0, "{stderr}");
    runtime.block_on(async {
        assert!(store.account("victim@example.org").await.unwrap().is_none());
        assert_eq!(
            store
                .recipient_registered(MESSAGE, "victim@example.org")
                .await
                .unwrap(),
            None,
            "deleted: not a recipient any more"
        );
        assert!(!store.has_received_mail("victim@example.org").await.unwrap());
    });
}

#[test]
fn admin_account_commands_repair_a_taken_account_on_sqlite() {
    let data = tempfile::tempdir().unwrap();
    repair(Database::sqlite(data.path()));
}

#[test]
fn admin_account_commands_repair_a_taken_account_on_postgres() {
    repair(Database::postgres());
}

/// `admin account create --internal` makes a staff account, only in the
/// organisation's own domains (`internal_domains`), and says why not.
fn staff_accounts(db: Database) {
    let data = tempfile::tempdir().unwrap();
    let password = data.path().join("password");
    std::fs::write(&password, "correct horse battery staple\n").unwrap();
    let password = password.to_str().unwrap();
    let create = |config: Option<&str>, address: &str| {
        let mut args = vec![
            "create",
            "--internal",
            "--address",
            address,
            "--password-file",
            password,
        ];
        let file = data.path().join("securedoc.toml");
        if let Some(config) = config {
            std::fs::write(&file, config).unwrap();
            args.extend(["--config", file.to_str().unwrap()]);
        }
        admin(data.path(), &db, &args)
    };
    let (code, stderr) = create(None, "alice@clinic.example");
    assert_ne!(code, 0);
    assert!(stderr.contains("set internal_domains"), "{stderr}");
    let config = "internal_domains = [\"clinic.example\"]\n";
    let (code, stderr) = create(Some(config), "mallory@example.net");
    assert_ne!(code, 0);
    assert!(
        stderr.contains("mallory@example.net is not in internal_domains (clinic.example)"),
        "{stderr}"
    );
    let (code, stderr) = create(Some(config), "alice@clinic.example");
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("Created the confirmed staff account alice@clinic.example"),
        "{stderr}"
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = Store::connect(&db.url).await.unwrap();
        assert!(
            store
                .account("alice@clinic.example")
                .await
                .unwrap()
                .unwrap()
                .confirmed
        );
        assert!(store
            .account("mallory@example.net")
            .await
            .unwrap()
            .is_none());
    });
}

#[test]
fn admin_account_create_internal_on_sqlite() {
    let data = tempfile::tempdir().unwrap();
    staff_accounts(Database::sqlite(data.path()));
}

#[test]
fn admin_account_create_internal_on_postgres() {
    staff_accounts(Database::postgres());
}
