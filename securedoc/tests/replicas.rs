//! Two `securedoc serve` replicas on one PostgreSQL database, as an operator
//! runs them behind a load balancer (docs/DEPLOY.md): the same master key
//! file, two ports, nothing shared but the database. A message registered
//! through one is released by either; a burst of guesses split across both
//! checks no more passwords than the lockout allows; a lock made on one is
//! seen by the other; both can shred expired keys at once; a recipient
//! registers on one, confirms on the other and opens through the first.
//!
//! Needs `SECUREDOC_TEST_POSTGRES_URL` (set by `just test`); without it the
//! test fails, loudly.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use zeroize::Zeroizing;

const PASSWORD: &str = "correct horse battery staple";

struct Replica {
    child: Child,
    base: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh database, dropped at the end.
struct Database {
    admin_url: String,
    name: String,
    url: String,
}

impl Database {
    async fn create() -> Database {
        use sqlx::Connection;
        let admin_url = std::env::var("SECUREDOC_TEST_POSTGRES_URL").expect(
            "SECUREDOC_TEST_POSTGRES_URL is not set: the two-replica test needs PostgreSQL. \
             Run `just test` (it starts PostgreSQL) or point the variable at a server.",
        );
        let mut random = [0u8; 8];
        getrandom::getrandom(&mut random).unwrap();
        let name = format!(
            "securedoc_replicas_{}",
            random
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let (base, query) = admin_url
            .split_once('?')
            .map_or((admin_url.as_str(), None), |(b, q)| (b, Some(q)));
        let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
        let url = match query {
            Some(q) => format!("{base}/{name}?{q}"),
            None => format!("{base}/{name}"),
        };
        Database {
            admin_url,
            name,
            url,
        }
    }

    async fn drop_now(self) {
        use sqlx::Connection;
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin_url).await {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn)
            .await;
        }
    }
}

fn securedoc(data_dir: &Path, database_url: &str, master_key: &Path) -> Command {
    let mut command = Command::cargo_bin("securedoc").unwrap();
    command
        .env("SECUREDOC_DATA_DIR", data_dir)
        .env("DATABASE_URL", database_url)
        .env("SECUREDOC_MASTER_KEY_FILE", master_key)
        .env_remove("SECUREDOC_DATABASE_URL");
    command
}

fn start_replica(data_dir: &Path, database_url: &str, master_key: &Path) -> Replica {
    let child = securedoc(data_dir, database_url, master_key)
        .args(["serve"])
        .env("SECUREDOC_LISTEN", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut replica = Replica {
        child,
        base: String::new(),
    };
    let mut stderr = BufReader::new(replica.child.stderr.take().unwrap());
    // Log lines may come before the one that says where it listens.
    for _ in 0..50 {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(rest) = line.split("http://").nth(1) {
            let addr = rest.split_whitespace().next().unwrap();
            replica.base = format!("http://{addr}");
            break;
        }
    }
    assert!(
        !replica.base.is_empty(),
        "serve did not say where it listens"
    );
    // Keep reading so the replica never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while stderr.read_line(&mut sink).unwrap_or(0) > 0 {
            sink.clear();
        }
    });
    replica
}

/// Seals a medium-security message to `to` through the key server at
/// `base`; returns its id.
fn seal(work: &Path, base: &str, data: &Path, url: &str, key: &Path, to: &str) -> String {
    let token = securedoc(data, url, key)
        .args([
            "admin",
            "token",
            "create",
            "--name",
            &format!("sender-{to}"),
        ])
        .output()
        .unwrap();
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    std::fs::write(work.join("token"), &token.stdout).unwrap();
    let output = Command::cargo_bin("securedoc")
        .unwrap()
        .current_dir(work)
        .args(["seal", "--from", "alice@example.org", "--to", to])
        .args(["--subject", "Results", "--body", "Two replicas, one lock."])
        .args([
            "--out-dir",
            "out",
            "--key-server",
            base,
            "--token-file",
            "token",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let inspect = Command::cargo_bin("securedoc")
        .unwrap()
        .args(["inspect", "--json"])
        .arg(work.join(format!("out/securedoc-{to}.html")))
        .output()
        .unwrap();
    let header: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    header["id"].as_str().unwrap().to_string()
}

async fn release(client: &reqwest::Client, base: &str, id: &str, password: &str) -> (u16, Value) {
    release_as(client, base, id, "bob@example.net", password).await
}

async fn release_as(
    client: &reqwest::Client,
    base: &str,
    id: &str,
    recipient: &str,
    password: &str,
) -> (u16, Value) {
    let request = envelope_core::KeyRequest::new();
    let response = client
        .post(format!("{base}/api/v1/keys/release"))
        .json(&json!({
            "message_id": id,
            "recipient": recipient,
            "password": password,
            "public_key": STANDARD.encode(request.public_key()),
        }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body)
}

#[test]
fn two_replicas_on_one_postgres_share_keys_locks_and_the_sweep() {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(two_replicas());
}

async fn two_replicas() {
    let database = Database::create().await;
    let (data_a, data_b, work) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let master_key = work.path().join("master.key");
    // The first replica creates the master key; the second reads the same file.
    let a = start_replica(data_a.path(), &database.url, &master_key);
    let b = start_replica(data_b.path(), &database.url, &master_key);
    let store = key_server::Store::connect(&database.url).await.unwrap();

    // Registered through A; bob's account made in the shared store.
    let seal_dir = work.path().join("seal");
    std::fs::create_dir_all(&seal_dir).unwrap();
    let id = seal(
        &seal_dir,
        &a.base,
        data_a.path(),
        &database.url,
        &master_key,
        "bob@example.net",
    );
    let hasher = key_server::PasswordHasher::new(19 * 1024, 2, 1, 2).unwrap();
    let account = key_server::NewAccount {
        address: "bob@example.net".into(),
        first_name: "Bob".into(),
        last_name: "Example".into(),
        language: "en".into(),
        password_hash: hasher.hash(Zeroizing::new(PASSWORD.into())).await.unwrap(),
        phrase: None,
    };
    store.create_account(&account).await.unwrap();
    store.confirm_account("bob@example.net").await.unwrap();

    // Release works on either replica.
    let client = reqwest::Client::new();
    for replica in [&a, &b] {
        let (status, body) = release(&client, &replica.base, &id, PASSWORD).await;
        assert_eq!(status, 200, "{}: {body}", replica.base);
    }

    // 200 wrong guesses split across both, the right password late on each.
    let mut burst = Vec::new();
    for i in 0..200 {
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let (client, id) = (client.clone(), id.clone());
        burst.push(tokio::spawn(async move {
            release(&client, &base, &id, &format!("guess {i}")).await
        }));
    }
    // The right password comes once the burst has locked the account (its
    // fifth wrong guess verified), on each replica: a fixed pause here was
    // a guess about how fast a loaded machine serves the burst.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while store
        .audit_count("bob@example.net", "wrong_password")
        .await
        .unwrap()
        < 5
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the burst did not get five guesses verified in a minute"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    for replica in [&a, &b] {
        let (status, body) = release(&client, &replica.base, &id, PASSWORD).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (423, Some("locked")),
            "{body}"
        );
    }
    let mut wrong = 0;
    for request in burst {
        let (status, body) = request.await.unwrap();
        // Wrong, locked, or over this client's own limit on the account: never a key.
        assert!([401, 423, 429].contains(&status), "{status} {body}");
        wrong += i32::from(status == 401);
    }
    assert_eq!(wrong, 5, "the lockout's five checks, across both replicas");
    assert_eq!(
        store
            .audit_count("bob@example.net", "wrong_password")
            .await
            .unwrap(),
        5,
        "passwords verified"
    );

    // An administrator's unlock (through the shared store) is seen by both.
    assert!(store.unlock_account("bob@example.net").await.unwrap());
    let (status, _) = release(&client, &b.base, &id, PASSWORD).await;
    assert_eq!(status, 200);

    // Both replicas' sweeps at once (a retention of 0 shreds every key):
    // no error, each key shredded once, and both then answer `gone`.
    let other = key_server::Store::connect(&database.url).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 1;
    let (one, two) = tokio::join!(store.shred_expired(now, 0), other.shred_expired(now, 0));
    assert_eq!(
        one.unwrap() + two.unwrap(),
        1,
        "the one message's key, once"
    );
    for replica in [&a, &b] {
        let (status, body) = release(&client, &replica.base, &id, PASSWORD).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (410, Some("gone")),
            "{body}"
        );
    }

    drop((a, b, store, other));
    database.drop_now().await;
}

#[test]
fn registration_on_one_replica_is_confirmed_on_the_other() {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(register_on_a_confirm_on_b());
}

/// The path and query of the `/confirm?token=` link in the one mail that
/// either replica's worker wrote (the queue is shared, the outboxes are not).
async fn confirmation_link(outboxes: [&Path; 2]) -> String {
    for _ in 0..200 {
        for outbox in outboxes {
            for entry in std::fs::read_dir(outbox).into_iter().flatten() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "eml") {
                    // Undo quoted-printable's soft breaks and `=3D`.
                    let raw = std::fs::read_to_string(&path).unwrap();
                    let text = raw
                        .replace("=\r\n", "")
                        .replace("=\n", "")
                        .replace("=3D", "=");
                    let start = text.find("/confirm?token=").expect("a confirmation link");
                    let link = text[start..]
                        .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
                        .next()
                        .unwrap();
                    return link.to_string();
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no confirmation mail in either outbox");
}

async fn register_on_a_confirm_on_b() {
    let database = Database::create().await;
    let (data_a, data_b, work) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let master_key = work.path().join("master.key");
    let a = start_replica(data_a.path(), &database.url, &master_key);
    let b = start_replica(data_b.path(), &database.url, &master_key);
    let carol = "carol@example.net";
    let seal_dir = work.path().join("seal");
    std::fs::create_dir_all(&seal_dir).unwrap();
    let id = seal(
        &seal_dir,
        &a.base,
        data_a.path(),
        &database.url,
        &master_key,
        carol,
    );

    // Carol registers on A...
    let client = reqwest::Client::new();
    let form = [
        ("email", carol),
        ("language", "en"),
        ("first_name", "Carol"),
        ("last_name", "Example"),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
        ("question1", "first_pet"),
        ("answer1", "Rex"),
        ("answer1_confirm", "Rex"),
        ("question2", "first_school"),
        ("answer2", "Hillside Primary"),
        ("answer2_confirm", "Hillside Primary"),
        ("question3", "first_car"),
        ("answer3", "Fiat"),
        ("answer3_confirm", "Fiat"),
    ];
    let response = client
        .post(format!("{}/register", a.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let (status, body) = release_as(&client, &a.base, &id, carol, PASSWORD).await;
    // Until the address is confirmed, the password opens nothing.
    assert_ne!(status, 200, "unconfirmed: {body}");

    // ...confirms on B with the mailed link and her password...
    let link =
        confirmation_link([&data_a.path().join("outbox"), &data_b.path().join("outbox")]).await;
    let token = link.split("token=").nth(1).unwrap();
    let response = client
        .post(format!("{}/confirm", b.base))
        .form(&[("token", token), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let page = response.text().await.unwrap();
    assert_eq!(status, 200, "{page}");

    // ...and opens her message through A.
    let (status, body) = release_as(&client, &a.base, &id, carol, PASSWORD).await;
    assert_eq!(status, 200, "{body}");

    drop((a, b));
    database.drop_now().await;
}
