//! The key server's mail goes through a queue in the store, on SQLite and
//! PostgreSQL: `/forgot` answers at once and alike whether or not the
//! address has an account and whether or not the relay is up; the mail goes
//! out once the relay is back; two workers never send a mail twice; every
//! mail carries a Message-ID on its From's domain and Auto-Submitted.

mod common;
mod pages_support;

use std::time::{Duration, Instant};

use common::{closed_port, smtp_sink, start, start_with, Backend};
use key_server::{NewAccount, Store};
use pages_support::*;

async fn account(store: &Store, address: &str) {
    store
        .create_account(&NewAccount {
            address: address.into(),
            first_name: "Ivy".into(),
            last_name: "Example".into(),
            language: "en".into(),
            password_hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
            phrase: None,
        })
        .await
        .unwrap();
    store.confirm_account(address).await.unwrap();
}

async fn forgot_tells_nothing_and_mail_waits_for_the_relay(backend: Backend) {
    let port = closed_port();
    let metrics_port = closed_port();
    let server = start_with(backend, |config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        config.mail_retry_seconds = 1;
        config.metrics_listen = Some(([127, 0, 0, 1], metrics_port).into());
    })
    .await;
    account(&server.store, "ivy@example.org").await;

    let started = Instant::now();
    let (known_code, known) = post_form(&server, "/forgot", &[("email", "ivy@example.org")]).await;
    let (unknown_code, unknown) =
        post_form(&server, "/forgot", &[("email", "nobody@example.org")]).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "both answer at once"
    );
    assert_eq!((known_code, unknown_code), (200, 200), "the relay is down");
    assert_eq!(
        known.replace("ivy@example.org", "X"),
        unknown.replace("nobody@example.org", "X"),
        "the same page for a known and an unknown address"
    );

    // The relay is down: the mail waits in the queue, tried again and again.
    let mut tried = false;
    for _ in 0..100 {
        let rows = server.store.mail_for("ivy@example.org").await.unwrap();
        if rows.first().is_some_and(|row| row.attempts >= 1) {
            tried = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(tried, "the worker tried the relay");
    // Operators see it: failed attempts counted, the mail waiting.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let metrics = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /metrics:\n{metrics}"))
    };
    assert!(value("securedoc_mail_failures_total") >= 1.0);
    assert!(value("securedoc_mail_queue_depth") >= 1.0);
    let rows = server.store.mail_for("ivy@example.org").await.unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (row.kind.as_str(), row.sent, row.given_up, row.has_body),
        ("reset", false, false, true)
    );
    assert!(server
        .store
        .mail_for("nobody@example.org")
        .await
        .unwrap()
        .is_empty());

    // The relay comes up: the mail goes out, once, and its body is deleted.
    let mut received = smtp_sink(port).await;
    let mail = tokio::time::timeout(Duration::from_secs(30), received.recv())
        .await
        .expect("the mail is sent once the relay is up")
        .unwrap();
    assert!(mail.contains("/reset?token="));
    assert!(mail.contains("Auto-Submitted: auto-generated"));
    let mut done = false;
    for _ in 0..50 {
        let rows = server.store.mail_for("ivy@example.org").await.unwrap();
        if rows[0].sent {
            assert!(
                !rows[0].has_body,
                "a sent mail's body (it holds a link) is deleted"
            );
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done, "the mail is marked sent");
    assert_eq!(server.store.mail_queue_depth().await.unwrap(), 0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(received.try_recv().is_err(), "sent once");
}

async fn a_mail_is_given_up_after_its_attempts(backend: Backend) {
    let port = closed_port();
    let server = start_with(backend, |config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        config.mail_retry_seconds = 1;
        config.mail_max_attempts = 2;
    })
    .await;
    account(&server.store, "jay@example.org").await;
    post_form(&server, "/forgot", &[("email", "jay@example.org")]).await;
    let mut given_up = false;
    for _ in 0..100 {
        let rows = server.store.mail_for("jay@example.org").await.unwrap();
        if rows.first().is_some_and(|row| row.given_up) {
            assert_eq!(rows[0].attempts, 2, "two attempts");
            assert!(!rows[0].has_body, "the body of a given-up mail is deleted");
            given_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(given_up);
}

async fn two_workers_never_send_one_mail_twice(backend: Backend) {
    let server = start(backend).await;
    // Two more workers' worth of store connections, as two replicas have.
    let a = Store::connect(&server.database_url).await.unwrap();
    let b = Store::connect(&server.database_url).await.unwrap();
    for n in 0..30 {
        a.enqueue_mail("reset", &format!("r{n}@example.org"), b"mail")
            .await
            .unwrap();
    }
    let claim_all = |store: Store| {
        tokio::spawn(async move {
            let mut ids = Vec::new();
            while let Some(mail) = store.claim_mail(300).await.unwrap() {
                ids.push(mail.id);
            }
            ids
        })
    };
    let (one, two) = (claim_all(a.clone()), claim_all(b.clone()));
    // The server's own worker claims some too: they go to the outbox.
    let mut ids = one.await.unwrap();
    ids.extend(two.await.unwrap());
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "no mail claimed twice");
    let in_outbox = outbox(&server).len();
    assert!(count + in_outbox <= 30);
}

/// Every kind of the key server's mail: a Message-ID on From's domain,
/// Auto-Submitted, the configured From.
async fn every_account_mail_has_the_headers_filters_expect(backend: Backend) {
    let server = start(backend).await;
    common::register(
        &server,
        "55555555555555555555555555555555",
        &["kim@example.org"],
        None,
    )
    .await;
    post_form(&server, "/register", &pairs(&form("kim@example.org"))).await;
    let confirm_mail = raw_mails(&server, 1).await;
    let text = String::from_utf8_lossy(&confirm_mail[0]).to_string();
    let confirm = link(&mail_text(&confirm_mail[0]), "/confirm?token=");
    assert!(text.contains("Confirm your e-mail address"));
    assert_eq!(confirm_with(&server, &confirm, PASSWORD).await.0, 200);
    post_form(&server, "/register", &pairs(&form("kim@example.org"))).await;
    let already = raw_mails(&server, 1).await;
    post_form(&server, "/forgot", &[("email", "kim@example.org")]).await;
    let reset = raw_mails(&server, 1).await;
    for bytes in [&confirm_mail[0], &already[0], &reset[0]] {
        let message = mail_parser::MessageParser::default().parse(bytes).unwrap();
        let from = message.from().unwrap().first().unwrap();
        assert_eq!(from.address(), Some("no-reply@securedoc.localhost"));
        assert_eq!(from.name(), Some("Secure messages"));
        let id = message.message_id().expect("a Message-ID");
        assert!(id.ends_with("@securedoc.localhost"), "{id}");
        assert_eq!(
            message.header_raw("Auto-Submitted").map(str::trim),
            Some("auto-generated")
        );
    }
}

/// Waits for `n` mails in the outbox and takes their raw bytes.
async fn raw_mails(server: &common::Server, n: usize) -> Vec<Vec<u8>> {
    let dir = server.data_dir.path().join("outbox");
    for _ in 0..200 {
        let files: Vec<_> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        if files.len() >= n {
            assert_eq!(files.len(), n);
            return files
                .into_iter()
                .map(|p| {
                    let bytes = std::fs::read(&p).unwrap();
                    std::fs::remove_file(p).unwrap();
                    bytes
                })
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {n} mails in the outbox");
}

fn mail_text(bytes: &[u8]) -> String {
    mail_parser::MessageParser::default()
        .parse(bytes)
        .unwrap()
        .body_text(0)
        .unwrap()
        .to_string()
}

on_both_stores!(
    forgot_tells_nothing_and_mail_waits_for_the_relay,
    a_mail_is_given_up_after_its_attempts,
    two_workers_never_send_one_mail_twice,
    every_account_mail_has_the_headers_filters_expect,
);
