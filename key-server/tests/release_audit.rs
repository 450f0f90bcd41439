//! Every path through key release leaves an audit row (item 17), the audit
//! trail cannot fill the disk (item 9), and the password queue sheds load
//! instead of slowing everyone (item 11). On SQLite and PostgreSQL.

mod common;
mod release_support;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{register, start, start_with, Backend};
use release_support::{account, post_release, release_body, PASSWORD};
use serde_json::json;

/// The X25519 points of small order (little-endian), as published with
/// libsodium's and the X25519 papers' blocklists.
const LOW_ORDER: [&str; 7] = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// Low-order public keys (also with the ignored top bit set) are refused
/// before any check, even with the right password, and each refusal is audited.
async fn low_order_keys_are_refused_and_audited(backend: Backend) {
    let server = start(backend).await;
    let id = "a0000000000000000000000000000001";
    let bob = "bob@example.net";
    register(&server, id, &[bob], None).await;
    account(&server, bob).await;
    let client = reqwest::Client::new();
    let mut sent = 0;
    for point in LOW_ORDER {
        for top_bit in [0u8, 0x80] {
            let mut key = unhex(point);
            key[31] |= top_bit;
            let mut body = release_body(id, bob, PASSWORD);
            body["public_key"] = json!(STANDARD.encode(&key));
            let (status, body) = post_release(&client, &server.base, &body, &[]).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (422, Some("bad_request")),
                "{point}"
            );
            assert!(
                body["message"].as_str().unwrap().contains("small order"),
                "{body}"
            );
            sent += 1;
        }
    }
    // Not base64, the wrong length: refused and audited too.
    for public_key in ["not base64!", "AAAA"] {
        let mut body = release_body(id, bob, PASSWORD);
        body["public_key"] = json!(public_key);
        assert_eq!(post_release(&client, &server.base, &body, &[]).await.0, 422);
        sent += 1;
    }
    let outcomes = server.store.audit_outcomes(id).await.unwrap();
    assert_eq!(
        outcomes,
        vec!["bad_request"; sent],
        "one audit entry per attempt"
    );
    // None of it was a password check: the account's count did not move.
    assert_eq!(
        server
            .store
            .account(bob)
            .await
            .unwrap()
            .unwrap()
            .failed_logins,
        0
    );
    let (status, body) =
        post_release(&client, &server.base, &release_body(id, bob, PASSWORD), &[]).await;
    assert_eq!(status, 200, "{body}");
}

/// A thousand junk requests (malformed JSON, oversized or malformed fields,
/// made-up ids) and refused-by-limit ones make a handful of audit rows,
/// with bounded fields; and they do not feed any limit.
async fn junk_does_not_fill_the_audit_trail(backend: Backend) {
    let server = start_with(backend, |config| config.client_failure_limit = 3).await;
    let id = "a0000000000000000000000000000002";
    let bob = "bob@example.net";
    register(&server, id, &[bob], None).await;
    account(&server, bob).await;
    let client = reqwest::Client::new();
    let release = format!("{}/api/v1/keys/release", server.base);
    let long_address = format!("{}@example.org", "a".repeat(70_000));
    for i in 0..1000 {
        let response = match i % 4 {
            0 => client
                .post(&release)
                .header("content-type", "application/json")
                .body(format!("{{\"message_id\": \"{i}\""))
                .send()
                .await
                .unwrap(),
            1 => client
                .post(&release)
                .json(&release_body(
                    &format!("{i:032x}"),
                    &long_address[..300],
                    "x",
                ))
                .send()
                .await
                .unwrap(),
            2 => {
                let mut body = release_body(&format!("{i:032x}"), bob, "x");
                body["public_key"] = json!(format!("{i}"));
                client.post(&release).json(&body).send().await.unwrap()
            }
            _ => {
                let mut body = release_body(id, bob, "x");
                body["message_id"] = json!("z".repeat(i));
                client.post(&release).json(&body).send().await.unwrap()
            }
        };
        assert!([413, 422].contains(&response.status().as_u16()));
    }
    // Past the per-client limit on made-up messages: refused, aggregated too.
    for i in 0..200 {
        let made_up = format!("{:032x}", 5000 + i);
        post_release(
            &client,
            &server.base,
            &release_body(&made_up, bob, "x"),
            &[],
        )
        .await;
    }
    let rows = server.store.audit_rows().await.unwrap();
    // Allow for an hour boundary during the run: each aggregate may split once.
    assert!(rows <= 2 * 5, "{rows} audit rows for 1200 refused requests");
    // The junk fed no limit: bob, who holds the envelope, is not limited.
    let (status, body) =
        post_release(&client, &server.base, &release_body(id, bob, PASSWORD), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        server
            .store
            .account(bob)
            .await
            .unwrap()
            .unwrap()
            .failed_logins,
        0
    );
}

/// Rows whose last attempt is older than `audit_retention_days` are deleted
/// by the server's sweep; recent rows stay.
async fn old_audit_rows_are_deleted(backend: Backend) {
    let server = start(backend).await;
    server
        .store
        .audit(Some("bob@example.net"), None, "192.0.2.1", "wrong_password")
        .await
        .unwrap();
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.database_url).await.unwrap();
    let year_and_a_day_ago = 366 * 86_400;
    sqlx::query(
        "INSERT INTO audit (id, at, last_at, count, account, message_id, client, outcome)
         VALUES ('old', 1, $1, 7, 'carol@example.org', NULL, '192.0.2.2', 'locked')",
    )
    .bind(now() - year_and_a_day_ago)
    .execute(&pool)
    .await
    .unwrap();
    // (The first server's own sweep may already have taken it: each replica
    // sweeps at start, in the background, and again every minute.)
    // A second replica on the same database sweeps at start (default: 365 days).
    let url = server.database_url.clone();
    let _replica = start_with(Backend::Sqlite, |config| config.database_url = Some(url)).await;
    for _ in 0..50 {
        if server.store.audit_rows().await.unwrap() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        server.store.audit_rows().await.unwrap(),
        1,
        "the old row is gone"
    );
    assert_eq!(
        server
            .store
            .audit_count("bob@example.net", "wrong_password")
            .await
            .unwrap(),
        1
    );
}

/// With the queue full, key release says `busy` (503, Retry-After) at once;
/// the refused requests are not counted against anyone.
async fn a_full_password_queue_answers_busy(backend: Backend) {
    let server = start_with(backend, |config| {
        config.password_concurrency = Some(1);
        config.password_queue = 1;
        config.client_failure_limit = 1000;
    })
    .await;
    let client = reqwest::Client::new();
    let requests: Vec<_> = (0..30)
        .map(|i| {
            let (client, base) = (client.clone(), server.base.clone());
            let body = release_body(&format!("{:032x}", i), "bob@example.net", "guess");
            tokio::spawn(async move {
                let response = client
                    .post(format!("{base}/api/v1/keys/release"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let retry = response.headers().get("retry-after").cloned();
                let status = response.status().as_u16();
                let body: serde_json::Value = response.json().await.unwrap();
                (status, body["error"].as_str().unwrap().to_string(), retry)
            })
        })
        .collect();
    let mut busy = 0;
    for request in requests {
        let (status, kind, retry) = request.await.unwrap();
        match status {
            503 => {
                assert_eq!(kind, "busy");
                assert!(retry.is_some(), "busy says when to come back");
                busy += 1;
            }
            403 => assert_eq!(kind, "not_a_recipient"),
            other => panic!("unexpected {other} {kind}"),
        }
    }
    assert!(
        busy >= 10,
        "only {busy} of 30 were shed with one hash at a time and one waiting"
    );
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

on_both_stores!(
    low_order_keys_are_refused_and_audited,
    junk_does_not_fill_the_audit_trail,
    old_audit_rows_are_deleted,
    a_full_password_queue_answers_busy
);
