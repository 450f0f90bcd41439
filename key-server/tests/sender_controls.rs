//! What a sender sees and does after sending, over real HTTP on SQLite and
//! PostgreSQL: read receipts (once per recipient, even under a burst of
//! parallel openings), the status of each recipient's envelope, lock and
//! unlock, revoke (the key is gone from the store), expire — and none of it
//! for a message another sender token registered.

mod common;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{account, raw_sealed_key, release, start, Backend, Server, KEY, PASSWORD};
use serde_json::{json, Value};

const ALICE: &str = "alice@clinic.example";
const BOB: &str = "bob@example.net";
const CAROL: &str = "carol@example.net";

/// One envelope id per recipient, from a seed digit.
fn envelope_id(seed: char, n: usize) -> String {
    format!("{}{:04}", seed.to_string().repeat(28), n)
}

/// Registers one sending (one envelope per recipient) with `flags` and
/// `security`; returns the token, the sending's id and the envelope ids.
async fn send(
    server: &Server,
    sender: &str,
    seed: char,
    recipients: &[&str],
    security: &str,
    flags: Value,
    extra: Value,
) -> (String, String, Vec<String>) {
    let token = server.store.create_sender(sender).await.unwrap();
    let ids: Vec<String> = (0..recipients.len())
        .map(|n| envelope_id(seed, n))
        .collect();
    let mut body = json!({
        "message": {
            "from": ALICE,
            "expires": null,
            "flags": flags,
            "security": security,
            "envelopes": recipients.iter().zip(&ids).map(|(to, id)| json!({
                "id": id, "recipient": to, "content_key": STANDARD.encode(KEY)
            })).collect::<Vec<_>>(),
        }
    });
    for (name, value) in extra.as_object().unwrap() {
        body["message"][name] = value.clone();
    }
    let (status, answer) = common::post(server, Some(&token), &body).await;
    assert_eq!(status, 200, "{answer}");
    let message = answer["message"]
        .as_str()
        .expect("a message id")
        .to_string();
    (token, message, ids)
}

fn flags(read_receipt: bool) -> Value {
    json!({"reply": true, "reply_all": true, "forward": true, "print": true, "read_receipt": read_receipt})
}

/// `method` on the sender API for `id` (`action` after it), with `token`.
async fn control(
    server: &Server,
    token: Option<&str>,
    id: &str,
    action: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}/api/v1/messages/{id}{action}", server.base);
    let client = reqwest::Client::new();
    let mut request = if action.is_empty() {
        client.get(url)
    } else {
        client.post(url).json(&body.unwrap_or(json!({})))
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: not JSON ({e}): {text:?}"));
    (status, body)
}

/// The envelope of `recipient` in a status document.
fn entry<'a>(status: &'a Value, recipient: &str) -> &'a Value {
    status["envelopes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["recipient"] == recipient)
        .unwrap_or_else(|| panic!("{recipient} is not in {status}"))
}

/// The read receipts queued for the sender.
async fn receipts(server: &Server) -> usize {
    server
        .store
        .mail_for(ALICE)
        .await
        .unwrap()
        .iter()
        .filter(|m| m.kind == "read_receipt")
        .count()
}

/// The mails the replicas' workers wrote to their outboxes, once there are `n`.
async fn outbox(replicas: &[&Server], n: usize) -> Vec<String> {
    for _ in 0..100 {
        let mails: Vec<String> = replicas
            .iter()
            .flat_map(|server| std::fs::read_dir(server.data_dir.path().join("outbox")))
            .flatten()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .map(|p| {
                let bytes = std::fs::read(p).unwrap();
                let mail = mail_parser::MessageParser::default().parse(&bytes).unwrap();
                format!(
                    "To: {}\nSubject: {}\n\n{}",
                    mail.to().unwrap().first().unwrap().address().unwrap(),
                    mail.subject().unwrap(),
                    mail.body_text(0).unwrap()
                )
            })
            .collect();
        if mails.len() >= n {
            return mails;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} mails in the outbox");
}

/// 20 parallel successful openings by one recipient, half on each of two
/// replicas of one store → one receipt; the other recipient's first
/// opening → a second; opening again → none.
async fn a_read_receipt_arrives_once_per_recipient(backend: Backend) {
    // A second replica on the same store (Backend is not Clone).
    let twin = if matches!(backend, Backend::Sqlite) {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    let server = start(backend).await;
    let replica = common::start_with(twin, |config| {
        config.database_url = Some(server.database_url.clone());
        config.master_key_file = Some(server.data_dir.path().join("master.key"));
    })
    .await;
    let (token, message, ids) = send(
        &server,
        "clinic",
        'a',
        &[BOB, CAROL],
        "low",
        flags(true),
        json!({"sender_lang": "fr"}),
    )
    .await;
    let mut burst = Vec::new();
    for n in 0..20 {
        let base = [&server.base, &replica.base][n % 2].clone();
        let id = ids[0].clone();
        burst.push(tokio::spawn(async move {
            let request = envelope_core::KeyRequest::new();
            let response = reqwest::Client::new()
                .post(format!("{base}/api/v1/keys/release"))
                .header("Origin", "null")
                .json(&json!({
                    "message_id": id, "recipient": BOB,
                    "public_key": STANDARD.encode(request.public_key()),
                }))
                .send()
                .await
                .unwrap();
            response.status().as_u16()
        }));
    }
    for request in burst {
        assert_eq!(request.await.unwrap(), 200);
    }
    assert_eq!(receipts(&server).await, 1, "one receipt for 20 openings");
    assert_eq!(release(&server, &ids[1], CAROL, "").await.0, 200);
    assert_eq!(release(&server, &ids[1], CAROL, "").await.0, 200);
    assert_eq!(receipts(&server).await, 2, "one receipt per recipient");

    let mails = outbox(&[&server, &replica], 2).await;
    let to_bob = mails.iter().find(|m| m.contains(BOB)).unwrap();
    assert!(to_bob.starts_with(&format!("To: {ALICE}\n")), "{to_bob}");
    assert!(
        to_bob.contains(&format!(
            "Subject: Votre message sécurisé à {BOB} a été ouvert"
        )),
        "in the sender's language: {to_bob}"
    );
    assert!(
        to_bob.contains(&format!("Votre message sécurisé {}", &message[..8])),
        "{to_bob}"
    );

    let (status, body) = control(&server, Some(&token), &message, "", None).await;
    assert_eq!(status, 200, "{body}");
    let bob = &entry(&body, BOB)["opened"];
    assert_eq!(bob["count"], 20, "{body}");
    assert_eq!(bob["client"], "127.0.0.1");
    assert!(bob["first"].as_i64().unwrap() <= bob["last"].as_i64().unwrap());
    assert_eq!(entry(&body, CAROL)["opened"]["count"], 2);
    assert_eq!(entry(&body, CAROL)["replies_sent"], 0);
}

/// Openings are on record for the sender, but without the flag no receipt.
async fn no_receipt_unless_asked(backend: Backend) {
    let server = start(backend).await;
    account(&server, BOB, true, None).await;
    let (token, message, ids) = send(
        &server,
        "clinic",
        'b',
        &[BOB],
        "high",
        flags(false),
        json!({}),
    )
    .await;
    let (_, before) = control(&server, Some(&token), &message, "", None).await;
    assert_eq!(entry(&before, BOB)["opened"]["count"], 0);
    assert_eq!(entry(&before, BOB)["registered"], true);
    assert_eq!(release(&server, &ids[0], BOB, "wrong").await.0, 401);
    assert_eq!(release(&server, &ids[0], BOB, PASSWORD).await.0, 200);
    let (_, status) = control(&server, Some(&token), &message, "", None).await;
    assert_eq!(
        entry(&status, BOB)["opened"]["count"],
        1,
        "a wrong password is no opening"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receipts(&server).await, 0);
}

/// Another sender's token, for status and every control, gets exactly
/// what a made-up id gets; the message is untouched.
async fn a_sender_sees_and_controls_only_its_own_messages(backend: Backend) {
    let server = start(backend).await;
    let (_, message, ids) = send(
        &server,
        "clinic",
        'c',
        &[BOB],
        "low",
        flags(false),
        json!({}),
    )
    .await;
    let other = server.store.create_sender("another").await.unwrap();
    let made_up = "0000000000000000000000000000abcd";
    let later = json!({"expires": 4_000_000_000i64});
    for (action, body) in [
        ("", None),
        ("/lock", None),
        ("/unlock", None),
        ("/revoke", None),
        ("/expire", Some(later.clone())),
    ] {
        for id in [&message, &ids[0]] {
            let theirs = control(&server, Some(&other), id, action, body.clone()).await;
            let unknown = control(&server, Some(&other), made_up, action, body.clone()).await;
            assert_eq!(theirs.0, 404, "{action}: {}", theirs.1);
            assert_eq!(theirs, unknown, "{action}: another's message looks made up");
            assert_eq!(theirs.1["error"], "not_found");
        }
        assert_eq!(
            control(&server, None, &message, action, body.clone())
                .await
                .0,
            401
        );
    }
    assert!(raw_sealed_key(&server.database_url, &ids[0])
        .await
        .is_some());
    assert_eq!(release(&server, &ids[0], BOB, "").await.0, 200);
}

/// Lock refuses with the sender's own refusal (not the account's), unlock
/// allows; an envelope id controls that recipient only.
async fn lock_refuses_then_unlock_allows(backend: Backend) {
    let server = start(backend).await;
    let (token, message, ids) = send(
        &server,
        "clinic",
        'd',
        &[BOB, CAROL],
        "low",
        flags(false),
        json!({}),
    )
    .await;
    let (status, body) = control(&server, Some(&token), &message, "/lock", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(entry(&body, BOB)["locked"], true);
    let (status, refusal, _) = release(&server, &ids[0], BOB, "").await;
    assert_eq!(
        (status, refusal["error"].as_str()),
        (423, Some("message_locked"))
    );
    assert!(
        refusal["message"]
            .as_str()
            .unwrap()
            .contains("sender has locked"),
        "{refusal}"
    );
    assert_eq!(release(&server, &ids[1], CAROL, "").await.0, 423);
    assert_eq!(
        control(&server, Some(&token), &message, "/unlock", None)
            .await
            .0,
        200
    );
    assert_eq!(release(&server, &ids[0], BOB, "").await.0, 200);
    // Only Carol's envelope, by its own id.
    let (_, body) = control(&server, Some(&token), &ids[1], "/lock", None).await;
    assert_eq!(body["envelopes"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["message"], message.as_str());
    assert_eq!(release(&server, &ids[1], CAROL, "").await.0, 423);
    assert_eq!(release(&server, &ids[0], BOB, "").await.0, 200);
}

/// Revoke deletes the key from the store; release answers gone
/// (withdrawn), and the expiry can no longer change.
async fn revoke_deletes_the_key(backend: Backend) {
    let server = start(backend).await;
    let (token, message, ids) = send(
        &server,
        "clinic",
        'e',
        &[BOB],
        "low",
        flags(false),
        json!({}),
    )
    .await;
    let (status, body) = control(&server, Some(&token), &message, "/revoke", None).await;
    assert_eq!(status, 200, "{body}");
    assert!(entry(&body, BOB)["revoked"].is_i64());
    assert_eq!(entry(&body, BOB)["key"], false);
    assert_eq!(raw_sealed_key(&server.database_url, &ids[0]).await, None);
    let (status, refusal, _) = release(&server, &ids[0], BOB, "").await;
    assert_eq!((status, refusal["error"].as_str()), (410, Some("gone")));
    assert_eq!(refusal["reason"], "withdrawn");
    // Unlocking does not bring a withdrawn message back.
    control(&server, Some(&token), &message, "/unlock", None).await;
    assert_eq!(release(&server, &ids[0], BOB, "").await.0, 410);
    let later = json!({"expires": 4_000_000_000i64});
    let (status, refusal) = control(&server, Some(&token), &message, "/expire", Some(later)).await;
    assert_eq!(
        (status, refusal["error"].as_str()),
        (410, Some("gone")),
        "{refusal}"
    );
}

/// Expire moves the date both ways; once past it, the message is refused.
async fn expire_moves_the_date(backend: Backend) {
    let server = start(backend).await;
    let (token, message, ids) = send(
        &server,
        "clinic",
        'f',
        &[BOB],
        "low",
        flags(false),
        json!({}),
    )
    .await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let later = now + 20 * 86_400;
    let (status, body) = control(
        &server,
        Some(&token),
        &message,
        "/expire",
        Some(json!({ "expires": later })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(entry(&body, BOB)["expires"], later);
    // Not past the retention (30 days by default): the key would be gone
    // before the date the sender was shown.
    let too_late = json!({"expires": now + 40 * 86_400});
    let (status, refusal) =
        control(&server, Some(&token), &message, "/expire", Some(too_late)).await;
    assert_eq!(
        (status, refusal["error"].as_str()),
        (422, Some("bad_request")),
        "{refusal}"
    );
    assert!(
        refusal["message"]
            .as_str()
            .unwrap()
            .contains("deletes every message's keys 30 days after sending"),
        "{refusal}"
    );
    assert!(refusal["latest"].as_i64().unwrap() <= now + 30 * 86_400 + 5);
    let past = json!({"expires": 1_000_000_000i64});
    let (status, refusal) = control(&server, Some(&token), &message, "/expire", Some(past)).await;
    assert_eq!(
        (status, refusal["error"].as_str()),
        (422, Some("bad_request"))
    );
    let soon = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 2;
    let (status, _) = control(
        &server,
        Some(&token),
        &message,
        "/expire",
        Some(json!({ "expires": soon })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(release(&server, &ids[0], BOB, "").await.0, 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, refusal, _) = release(&server, &ids[0], BOB, "").await;
    assert_eq!((status, refusal["error"].as_str()), (410, Some("gone")));
    assert_eq!(raw_sealed_key(&server.database_url, &ids[0]).await, None);
    let (status, _) = control(
        &server,
        Some(&token),
        &message,
        "/expire",
        Some(json!({ "expires": later })),
    )
    .await;
    assert_eq!(status, 410, "an expired message's key is gone for good");
}

/// The restrictions a sender registers are what the store answers for the
/// server's own checks (the compose endpoint), envelope by envelope.
async fn the_flags_are_kept_for_the_server_to_enforce(backend: Backend) {
    let server = start(backend).await;
    let restricted = json!({"reply": false, "reply_all": false, "forward": false, "print": false, "read_receipt": true});
    let (_, _, ids) = send(&server, "clinic", '9', &[BOB], "low", restricted, json!({})).await;
    let kept = server.store.message_flags(&ids[0]).await.unwrap().unwrap();
    assert!(!kept.reply && !kept.reply_all && !kept.forward && !kept.print && kept.read_receipt);
    let (_, _, open) = send(
        &server,
        "other",
        '8',
        &[BOB],
        "low",
        flags(false),
        json!({}),
    )
    .await;
    let kept = server.store.message_flags(&open[0]).await.unwrap().unwrap();
    assert!(kept.reply && kept.reply_all && kept.forward && kept.print && !kept.read_receipt);
    assert!(server
        .store
        .message_flags("00000000000000000000000000000000")
        .await
        .unwrap()
        .is_none());
}

/// A receipt language the server has no strings for is refused at
/// registration, with the languages there are; nothing is registered.
async fn an_unknown_receipt_language_is_refused(backend: Backend) {
    let server = start(backend).await;
    let token = server.store.create_sender("clinic").await.unwrap();
    let mut body = common::message(&envelope_id('7', 0), None);
    body["message"]["sender_lang"] = json!("xx");
    let (status, refusal) = common::post(&server, Some(&token), &body).await;
    assert_eq!(
        (status, refusal["error"].as_str()),
        (422, Some("bad_request"))
    );
    assert_eq!(
        refusal["message"], "sender_lang is one of en, fr",
        "{refusal}"
    );
    assert!(server
        .store
        .sealed_key(&envelope_id('7', 0))
        .await
        .unwrap()
        .is_none());
}

on_both_stores!(
    an_unknown_receipt_language_is_refused,
    the_flags_are_kept_for_the_server_to_enforce,
    a_read_receipt_arrives_once_per_recipient,
    no_receipt_unless_asked,
    a_sender_sees_and_controls_only_its_own_messages,
    lock_refuses_then_unlock_allows,
    revoke_deletes_the_key,
    expire_moves_the_date,
);
