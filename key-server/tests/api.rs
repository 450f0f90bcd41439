//! The key server over real HTTP on 127.0.0.1:0, against SQLite and against
//! PostgreSQL: health, message registration, hostile requests, expiry.

mod common;

use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{message, post, raw_sealed_key, start, Backend, KEY};
use key_server::Store;
use serde_json::{json, Value};

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
        (status, body["error"].as_str(), body["message"].as_str()),
        (
            422,
            Some("bad_request"),
            Some("content_key must be 32 bytes")
        )
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

async fn retention_shreds_on_schedule(backend: Backend) {
    let server = start(backend).await;
    let token = server.store.create_sender("clinic").await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (soon, kept) = (
        "55555555555555555555555555555555",
        "66666666666666666666666666666666",
    );
    assert_eq!(
        post(&server, Some(&token), &message(soon, Some(now + 3600)))
            .await
            .0,
        200
    );
    assert_eq!(
        post(&server, Some(&token), &message(kept, None)).await.0,
        200
    );
    let day = 86_400;
    // Two hours on: the first has expired, the second is within retention.
    assert_eq!(
        server
            .store
            .shred_expired(now + 7200, 30 * day)
            .await
            .unwrap(),
        1
    );
    assert_eq!(raw_sealed_key(&server.database_url, soon).await, None);
    assert!(raw_sealed_key(&server.database_url, kept).await.is_some());
    // Thirty-one days on: past retention, the second goes too.
    assert_eq!(
        server
            .store
            .shred_expired(now + 31 * day, 30 * day)
            .await
            .unwrap(),
        1
    );
    assert_eq!(raw_sealed_key(&server.database_url, kept).await, None);
}

#[tokio::test]
async fn sqlite_retention_shreds_on_schedule() {
    retention_shreds_on_schedule(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_retention_shreds_on_schedule() {
    retention_shreds_on_schedule(Backend::Postgres).await;
}
