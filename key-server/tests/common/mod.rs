//! Shared by the key-server suites: a real server on 127.0.0.1:0 over SQLite
//! or over a fresh PostgreSQL database. The PostgreSQL tests need
//! `SECUREDOC_TEST_POSTGRES_URL` (set by `just test`, which starts
//! PostgreSQL); without it they fail, loudly.

#![allow(dead_code)]

use std::net::SocketAddr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use key_server::{Config, Store};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

pub struct Server {
    pub base: String,
    pub store: Store,
    pub data_dir: tempfile::TempDir,
    pub database_url: String,
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

pub enum Backend {
    Sqlite,
    Postgres,
}

pub async fn start(backend: Backend) -> Server {
    start_with(backend, |_| {}).await
}

pub async fn start_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Server {
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
                    panic!("cannot connect to PostgreSQL at SECUREDOC_TEST_POSTGRES_URL={admin_url:?}: {e}")
                });
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .unwrap();
            let url = replace_database(&admin_url, &name);
            (url, Some(PostgresDb { admin_url, name }))
        }
    };
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data_dir.path().to_path_buf(),
        database_url: Some(database_url.clone()),
        public_url: "http://127.0.0.1".into(),
        ..Config::default()
    };
    configure(&mut config);
    // One clock for the server and the test's own store: `server.advance()`
    // moves both.
    let clock = key_server::Clock::default();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let server_clock = clock.clone();
    tokio::spawn(async move {
        key_server::serve_with_clock(&config, server_clock, |addr| tx.send(addr).unwrap())
            .await
            .unwrap();
    });
    let addr = rx.await.expect("the server starts");
    let store = Store::connect_with_clock(&database_url, clock)
        .await
        .unwrap();
    Server {
        base: format!("http://{addr}"),
        store,
        data_dir,
        database_url,
        _postgres: postgres,
    }
}

impl Server {
    /// Moves the server's clock (and the test store's) `seconds` forward.
    pub fn advance(&self, seconds: i64) {
        self.store.clock().advance(seconds);
    }
}

/// `message` sealed from Alice to `to` as envelope `id` (32 hex digits)
/// with [`KEY`], for the key server at `key_server`: the binary envelope.
pub fn sealed_bytes(
    id: &str,
    to: &str,
    key_server: &str,
    security: envelope_core::SecurityLevel,
    flags: envelope_core::Flags,
    message: &[u8],
) -> Vec<u8> {
    let info = envelope_core::EnvelopeInfo {
        from: "alice@clinic.example".into(),
        to: to.into(),
        created: 1_795_000_000,
        expires: None,
        flags,
    };
    let mut id_bytes = [0u8; 16];
    for (i, byte) in id_bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&id[2 * i..2 * i + 2], 16).unwrap();
    }
    let header = info.server_header(id_bytes, key_server, security).unwrap();
    let key = envelope_core::ContentKey::from_slice(&KEY).unwrap();
    let sealer = envelope_core::Sealer::new(header, key).unwrap();
    let mut bytes = sealer.head(&[]).unwrap();
    let packed = envelope_core::pack(message).unwrap();
    bytes.extend(sealer.encrypt_payload(&packed, |_| {}).unwrap());
    bytes
}

/// A sender token, and envelope `id` registered with it for `to`.
pub async fn registered(server: &Server, id: &str, to: &str, expires: Option<i64>) -> String {
    let token = server
        .store
        .create_sender(&format!("sender-{id}"))
        .await
        .unwrap();
    let (status, answer) = post(server, Some(&token), &message_to(id, to, expires)).await;
    assert_eq!(status, 200, "{answer}");
    token
}

/// `PUT /api/v1/messages/{id}/envelope` with `body`, as sender `token`.
pub async fn upload(server: &Server, token: Option<&str>, id: &str, body: Vec<u8>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .put(format!("{}/api/v1/messages/{id}/envelope", server.base))
        .header("Content-Type", "application/octet-stream")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A pull message for `to`, envelope `id`, registered and stored (an
/// Inbox entry for the address): "Subject: Results", "Hello.".
pub async fn pull(server: &Server, id: &str, to: &str) {
    let token = registered(server, id, to, None).await;
    let message =
        format!("From: alice@clinic.example\r\nTo: {to}\r\nSubject: Results\r\n\r\nHello.\r\n");
    let bytes = sealed_bytes(
        id,
        to,
        "http://127.0.0.1",
        envelope_core::SecurityLevel::High,
        envelope_core::Flags::default(),
        message.as_bytes(),
    );
    let (status, answer) = upload(server, Some(&token), id, bytes).await;
    assert_eq!(status, 201, "{answer}");
}

/// No file under the server's data directory (database, WAL, outbox)
/// holds any of `markers`.
pub fn assert_not_at_rest(server: &Server, markers: &[&[u8]]) {
    for entry in walk(server.data_dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        for marker in markers {
            assert!(
                !bytes.windows(marker.len()).any(|w| w == *marker),
                "{} holds plaintext ({})",
                entry.display(),
                String::from_utf8_lossy(marker)
            );
        }
    }
}

pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
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

/// A registration body: message `id` for bob@example.net, with [`KEY`].
pub fn message(id: &str, expires: Option<i64>) -> Value {
    message_to(id, "Bob@Example.net", expires)
}

/// A registration body: one envelope, `id`, for `recipient`, with [`KEY`].
pub fn message_to(id: &str, recipient: &str, expires: Option<i64>) -> Value {
    json!({
        "message": {
            "from": "alice@clinic.example",
            "expires": expires,
            "flags": {"reply": true, "reply_all": true, "forward": true, "print": false, "read_receipt": false},
            "security": "high",
            "envelopes": [{"id": id, "recipient": recipient, "content_key": STANDARD.encode(KEY)}]
        }
    })
}

pub const KEY: [u8; 32] = *b"a-known-content-key-for-the-grep";

pub async fn post(server: &Server, token: Option<&str>, body: &Value) -> (u16, Value) {
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

pub async fn raw_sealed_key(url: &str, id: &str) -> Option<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let (key,): (Option<String>,) = sqlx::query_as("SELECT sealed_key FROM messages WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    key
}

/// Registers message `id` for its one recipient through the sender API
/// (one envelope = one id = one key = one recipient: `recipients` has exactly one).
pub async fn register(server: &Server, id: &str, recipients: &[&str], expires: Option<i64>) {
    register_with(server, id, recipients, expires, "high").await
}

/// As [`register`], at a security level.
pub async fn register_with(
    server: &Server,
    id: &str,
    recipients: &[&str],
    expires: Option<i64>,
    security: &str,
) {
    let token = server
        .store
        .create_sender(&format!("sender-{id}"))
        .await
        .unwrap();
    assert_eq!(
        recipients.len(),
        1,
        "an envelope id is registered for exactly one recipient; register one id per recipient"
    );
    let mut body = message_to(id, recipients[0], expires);
    body["message"]["security"] = json!(security);
    let (status, answer) = post(server, Some(&token), &body).await;
    assert_eq!(status, 200, "{answer}");
}

/// Asks for a message's key; returns the status, the body and, on success,
/// the key opened with the ephemeral private key.
pub async fn release(
    server: &Server,
    id: &str,
    recipient: &str,
    password: &str,
) -> (u16, Value, Option<Vec<u8>>) {
    release_with(server, id, recipient, json!({ "password": password })).await
}

/// As [`release`], with `fields` (password, remember, remember_token) in the request.
pub async fn release_with(
    server: &Server,
    id: &str,
    recipient: &str,
    fields: Value,
) -> (u16, Value, Option<Vec<u8>>) {
    let request = envelope_core::KeyRequest::new();
    let mut body = json!({
        "message_id": id,
        "recipient": recipient,
        "public_key": STANDARD.encode(request.public_key()),
    });
    for (name, value) in fields.as_object().unwrap() {
        body[name] = value.clone();
    }
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/keys/release", server.base))
        .header("Origin", "null")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    let key = (status == 200).then(|| {
        let enc = STANDARD.decode(body["enc"].as_str().unwrap()).unwrap();
        let ciphertext = STANDARD
            .decode(body["ciphertext"].as_str().unwrap())
            .unwrap();
        let key = request
            .open(id, &enc, &ciphertext)
            .expect("the key opens with the ephemeral private key");
        key.as_bytes().to_vec()
    });
    (status, body, key)
}

/// `on_both_stores!(name, …)` turns each `async fn name(backend: Backend)`
/// into two tests, `name::sqlite` and `name::postgres`: every store behaviour
/// is checked on both databases by one body.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await
            }
        }
    )*};
}

/// The password of the accounts [`account`] makes.
pub const PASSWORD: &str = "correct horse battery staple";

/// An account made straight in the store with [`PASSWORD`] (as
/// `securedoc admin account create` does): confirmed unless `confirmed` is
/// false, with a personal security phrase if given.
pub async fn account(server: &Server, address: &str, confirmed: bool, phrase: Option<&str>) {
    account_in(&server.store, address, confirmed, phrase).await;
}

/// [`account`], in `store` (a server's store this test did not start).
pub async fn account_in(store: &Store, address: &str, confirmed: bool, phrase: Option<&str>) {
    let hasher = key_server::PasswordHasher::new(19 * 1024, 2, 1, 2).unwrap();
    let password_hash = hasher
        .hash(zeroize::Zeroizing::new(PASSWORD.into()))
        .await
        .unwrap();
    let new = key_server::NewAccount {
        address: address.into(),
        first_name: "Test".into(),
        last_name: "Person".into(),
        language: "en".into(),
        password_hash,
        phrase: phrase.map(String::from),
    };
    store.create_account(&new).await.unwrap();
    if confirmed {
        store.confirm_account(address).await.unwrap();
    }
}

/// A port with nothing listening on it (yet).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A tiny SMTP sink on `port`: accepts every mail, hands each one's DATA on.
pub async fn smtp_sink(port: u16) -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = tokio::io::BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            tx.send(data.take().unwrap()).unwrap();
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push_str("\r\n");
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go on\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    rx
}
