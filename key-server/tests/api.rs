//! The key server over real HTTP on 127.0.0.1:0, against SQLite and against
//! PostgreSQL. The PostgreSQL tests need `SECUREDOC_TEST_POSTGRES_URL` (set by
//! `just test`, which starts PostgreSQL); without it they fail, loudly.

use std::net::SocketAddr;
use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use key_server::{Config, Store};
use serde_json::{json, Value};

struct Server {
    base: String,
    store: Store,
    data_dir: tempfile::TempDir,
    database_url: String,
    _postgres: Option<PostgresDb>,
}

/// A fresh PostgreSQL database for one test, dropped afterwards.
struct PostgresDb {
    admin_url: String,
    name: String,
}

impl Drop for PostgresDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside the test's runtime; use a small one of its own.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(async move {
                    use sqlx::Connection;
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut conn)
                                .await;
                    }
                })
        })
        .join();
    }
}

enum Backend {
    Sqlite,
    Postgres,
}

async fn start(backend: Backend) -> Server {
    let data_dir = tempfile::tempdir().unwrap();
    let (database_url, postgres) = match backend {
        Backend::Sqlite => (
            format!(
                "sqlite://{}?mode=rwc",
                data_dir.path().join("securedoc.db").display()
            ),
            None,
        ),
        Backend::Postgres => {
            let admin_url = std::env::var("SECUREDOC_TEST_POSTGRES_URL").expect(
                "SECUREDOC_TEST_POSTGRES_URL is not set: the PostgreSQL tests need a server. \
                 Run `./run test` (it installs and starts PostgreSQL) or point the variable at one.",
            );
            let name = format!("securedoc_test_{}", hex_random());
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&admin_url)
                .await
                .unwrap_or_else(|e| {
                    panic!("cannot connect to PostgreSQL at SECUREDOC_TEST_POSTGRES_URL: {e}")
                });
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .unwrap();
            let url = replace_database(&admin_url, &name);
            (url, Some(PostgresDb { admin_url, name }))
        }
    };
    let config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data_dir.path().to_path_buf(),
        database_url: Some(database_url.clone()),
        master_key_file: None,
        public_url: "http://127.0.0.1".into(),
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        key_server::serve(&config, |addr| tx.send(addr).unwrap())
            .await
            .unwrap();
    });
    let addr = rx.await.expect("the server starts");
    let store = Store::connect(&database_url).await.unwrap();
    Server {
        base: format!("http://{addr}"),
        store,
        data_dir,
        database_url,
        _postgres: postgres,
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

fn hex_random() -> String {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn message(id: &str, expires: Option<i64>) -> Value {
    json!({
        "message": {
            "id": id,
            "recipients": ["Bob@Example.net", "carol@example.org"],
            "expires": expires,
            "flags": {"reply": true, "reply_all": true, "forward": true, "print": false, "read_receipt": false},
            "security": "high"
        },
        "content_key": STANDARD.encode(KEY),
    })
}

const KEY: [u8; 32] = *b"a-known-content-key-for-the-grep";

async fn post(server: &Server, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/api/v1/messages", server.base))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn health_and_registration(backend: Backend) {
    let server = start(backend).await;
    let health = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");

    let token = server.store.create_sender("clinic").await.unwrap();
    assert!(
        server.store.create_sender("clinic").await.is_err(),
        "sender names are unique"
    );

    let id = "0123456789abcdef0123456789abcdef";
    let (status, body) = post(&server, Some(&token), &message(id, None)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["recipients"][0]["address"], "bob@example.net");
    assert_eq!(body["recipients"][0]["registered"], false);
    assert_eq!(body["recipients"].as_array().unwrap().len(), 2);

    // The key comes back only through the master key.
    let sealed = server
        .store
        .sealed_key(id)
        .await
        .unwrap()
        .expect("a live message has its key");
    assert!(!sealed.contains(&STANDARD.encode(KEY)));

    // Registering the same id twice is a conflict, not an overwrite.
    assert_eq!(post(&server, Some(&token), &message(id, None)).await.0, 409);
}

async fn hostile_requests(backend: Backend) {
    let server = start(backend).await;
    let token = server.store.create_sender("clinic").await.unwrap();
    let id = "fedcba9876543210fedcba9876543210";
    assert_eq!(post(&server, None, &message(id, None)).await.0, 401);
    assert_eq!(
        post(&server, Some("sdk_not-a-token"), &message(id, None))
            .await
            .0,
        401
    );
    assert_eq!(
        post(&server, Some("Bearer"), &message(id, None)).await.0,
        401
    );

    let mut short_key = message(id, None);
    short_key["content_key"] = json!(STANDARD.encode([1u8; 16]));
    let (status, body) = post(&server, Some(&token), &short_key).await;
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (422, "content_key must be 32 bytes")
    );

    let mut bad_id = message(id, None);
    bad_id["message"]["id"] = json!("../../etc/passwd");
    assert_eq!(post(&server, Some(&token), &bad_id).await.0, 422);

    let mut injected = message(id, None);
    injected["message"]["recipients"] = json!(["bob@example.net\r\nBcc: eve@evil.test"]);
    assert_eq!(post(&server, Some(&token), &injected).await.0, 422);

    let mut unknown = message(id, None);
    unknown["message"]["owner"] = json!("eve");
    assert_eq!(post(&server, Some(&token), &unknown).await.0, 422);

    assert_eq!(
        post(&server, Some(&token), &message(id, Some(1))).await.0,
        422,
        "expiry in the past"
    );

    let huge = json!({ "message": { "id": id, "recipients": vec!["a@example.org"; 20_000] }, "content_key": "" });
    assert_eq!(post(&server, Some(&token), &huge).await.0, 413);

    // Nothing of the above was stored.
    assert_eq!(server.store.sealed_key(id).await.unwrap(), None);
}

async fn expiry_deletes_the_key(backend: Backend) {
    let server = start(backend).await;
    let token = server.store.create_sender("clinic").await.unwrap();
    let id = "00000000000000000000000000000001";
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 1;
    assert_eq!(
        post(&server, Some(&token), &message(id, Some(expires)))
            .await
            .0,
        200
    );
    assert!(server.store.sealed_key(id).await.unwrap().is_some());
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        server.store.sealed_key(id).await.unwrap(),
        None,
        "expired: refused"
    );
    // And gone from the table, not just refused.
    let store = Store::connect(&server.database_url).await.unwrap();
    assert!(store.sealed_key(id).await.unwrap().is_none());
    let row: Option<String> = raw_sealed_key(&server.database_url, id).await;
    assert_eq!(row, None, "the sealed key is deleted at expiry");
}

async fn raw_sealed_key(url: &str, id: &str) -> Option<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let (key,): (Option<String>,) = sqlx::query_as("SELECT sealed_key FROM messages WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    key
}

#[tokio::test]
async fn sqlite_health_and_registration() {
    health_and_registration(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_health_and_registration() {
    health_and_registration(Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite_refuses_hostile_requests() {
    hostile_requests(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_refuses_hostile_requests() {
    hostile_requests(Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite_expiry_deletes_the_key() {
    expiry_deletes_the_key(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_expiry_deletes_the_key() {
    expiry_deletes_the_key(Backend::Postgres).await;
}

/// The database file (and its WAL) never holds a content key in the clear.
#[tokio::test]
async fn content_keys_are_not_in_the_database_file() {
    let server = start(Backend::Sqlite).await;
    let token = server.store.create_sender("clinic").await.unwrap();
    for i in 0..20 {
        let id = format!("{i:032x}");
        assert_eq!(
            post(&server, Some(&token), &message(&id, None)).await.0,
            200
        );
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(server.data_dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("securedoc.db"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let encoded = STANDARD.encode(KEY);
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(KEY.len()).any(|w| w == KEY),
            "{} holds the raw key",
            file.display()
        );
        assert!(
            !bytes
                .windows(encoded.len())
                .any(|w| w == encoded.as_bytes()),
            "{} holds the base64 key",
            file.display()
        );
    }
    // The master key was created private, beside the database.
    let master = server.data_dir.path().join("master.key");
    assert!(master.exists());
}
