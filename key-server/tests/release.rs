//! Key release over real HTTP, on SQLite and PostgreSQL: the content key comes
//! back only HPKE-sealed to the caller's ephemeral key, and only for a
//! confirmed recipient with the right password on a live message; lockout,
//! per-address limits and the audit trail live in the store.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{account, start, start_with, Backend, KEY, PASSWORD};
use serde_json::json;

use common::{register, release};

async fn release_rules(backend: Backend) {
    let server = start(backend).await;
    let id = "11111111111111111111111111111111";
    // One envelope id per recipient.
    let carols = "11111111111111111111111111111112";
    let daves = "11111111111111111111111111111113";
    register(&server, id, &["bob@example.net"], None).await;
    register(&server, carols, &["carol@example.org"], None).await;
    register(&server, daves, &["dave@example.org"], None).await;
    account(&server, "bob@example.net", true, None).await;
    account(&server, "dave@example.org", false, None).await;
    account(&server, "eve@example.org", true, None).await;

    // The right recipient and password: the key, sealed to the ephemeral key only.
    let (status, body, key) = release(&server, id, "Bob@Example.net", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(key.as_deref(), Some(KEY.as_slice()));
    assert!(
        !body.to_string().contains(&STANDARD.encode(KEY)),
        "the key never travels in the clear"
    );

    // Wrong password: says so, with the attempts left (the caller holds the envelope).
    let (status, body, _) = release(&server, id, "bob@example.net", "wrong").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("wrong_password"))
    );
    assert_eq!(body["attempts_left"], 4);
    // The right password resets the count.
    assert_eq!(
        release(&server, id, "bob@example.net", PASSWORD).await.0,
        200
    );

    // No account: the same answer as a wrong password, without a count.
    let (status, body, _) = release(&server, carols, "carol@example.org", PASSWORD).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("wrong_password"))
    );
    assert_eq!(body.get("attempts_left"), None);

    // Not confirmed yet; not a recipient of this message (403, the same for everyone).
    assert_eq!(
        release(&server, daves, "dave@example.org", PASSWORD)
            .await
            .1["error"],
        "unconfirmed"
    );
    let (status, body, _) = release(&server, id, "eve@example.org", PASSWORD).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("not_a_recipient"))
    );

    // Malformed requests.
    let bad = reqwest::Client::new()
        .post(format!("{}/api/v1/keys/release", server.base))
        .json(&json!({"message_id": id, "recipient": "bob@example.net", "password": PASSWORD, "public_key": "AAAA"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);

    // Every attempt left an audit row for this message.
    let outcomes = server.store.audit_outcomes(id).await.unwrap();
    assert_eq!(
        outcomes.iter().filter(|o| *o == "released").count(),
        2,
        "{outcomes:?}"
    );
    assert!(outcomes.contains(&"wrong_password".to_string()));
    let daves_outcomes = server.store.audit_outcomes(daves).await.unwrap();
    assert_eq!(daves_outcomes, ["unconfirmed"]);
}

async fn lockout_and_expiry(backend: Backend) {
    let server = start(backend).await;
    let id = "22222222222222222222222222222222";
    register(&server, id, &["frank@example.org"], None).await;
    account(&server, "frank@example.org", true, None).await;
    for left in (1..5).rev() {
        assert_eq!(
            release(&server, id, "frank@example.org", "guess").await.1["attempts_left"],
            left
        );
    }
    let (status, body, _) = release(&server, id, "frank@example.org", "guess").await;
    assert_eq!((status, body["attempts_left"].as_i64()), (401, Some(0)));
    // The attempt that locks the account says until when, at once.
    let until = body["locked_until"]
        .as_i64()
        .expect("locked_until with the locking attempt");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(until > now, "{body}");
    // Locked: even the right password gets no key, and the lock says until when.
    let (status, body, key) = release(&server, id, "frank@example.org", PASSWORD).await;
    assert_eq!(
        (status, body["error"].as_str(), key),
        (423, Some("locked"), None)
    );
    assert!(body["locked_until"].as_i64().unwrap() > 0);

    // An expired message: refused, and its key is gone from the store.
    let short = "33333333333333333333333333333333";
    account(&server, "grace@example.org", true, None).await;
    let soon = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 1;
    register(&server, short, &["grace@example.org"], Some(soon)).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, body, _) = release(&server, short, "grace@example.org", PASSWORD).await;
    assert_eq!((status, body["error"].as_str()), (410, Some("gone")));
    assert_eq!(
        common::raw_sealed_key(&server.database_url, short).await,
        None
    );
}

on_both_stores!(release_rules, lockout_and_expiry);

/// A client that holds no envelope is slowed down after the limit, but its
/// failures never touch a real recipient (item 6: limits are keyed per
/// client and account, so one stranger cannot block everyone).
#[tokio::test]
async fn sqlite_strangers_are_limited_per_client_without_blocking_recipients() {
    let server = start_with(Backend::Sqlite, |config| config.client_failure_limit = 6).await;
    let id = "44444444444444444444444444444444";
    register(&server, id, &["henry@example.org"], None).await;
    account(&server, "henry@example.org", true, None).await;
    for i in 0..6 {
        let (status, body, _) =
            release(&server, id, &format!("nobody{i}@example.org"), "guess").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("not_a_recipient"))
        );
    }
    let (status, body, _) = release(&server, id, "nobody9@example.org", "guess").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited"))
    );
    // The recipient who holds the envelope is not blocked by the stranger.
    let (status, body, key) = release(&server, id, "henry@example.org", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(key.as_deref(), Some(KEY.as_slice()));
}

/// Envelopes opened from disk send `Origin: null`: allowed on key release only.
#[tokio::test]
async fn cors_allows_file_pages_on_key_release_only() {
    let server = start(Backend::Sqlite).await;
    let preflight = |path: &'static str| {
        reqwest::Client::new()
            .request(reqwest::Method::OPTIONS, format!("{}{path}", server.base))
            .header("Origin", "null")
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    let release = preflight("/api/v1/keys/release").await.unwrap();
    assert_eq!(
        release
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("null")
    );
    let register = preflight("/api/v1/messages").await.unwrap();
    assert_eq!(register.headers().get("access-control-allow-origin"), None);
}
