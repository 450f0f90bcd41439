//! The key server over real HTTP on 127.0.0.1:0, against SQLite and against
//! PostgreSQL: health, message registration (one id, key and recipient per
//! envelope), sender tokens, hostile requests, expiry.

mod common;

use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{
    account, message, message_to, post, raw_sealed_key, release, start, start_with, Backend, KEY,
    PASSWORD,
};
use key_server::{Revoked, Store};
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
    assert_eq!(
        body["envelopes"],
        json!([{"id": id, "recipient": "bob@example.net", "registered": false, "phrase": null, "language": null, "notify": true, "passcode": false}])
    );
    assert_eq!(
        body["organization"],
        Value::Null,
        "no organization_name configured"
    );
    // The sending's own id, for the sender's controls: fresh, not the envelope's.
    let sending = body["message"].as_str().unwrap();
    assert!(sending.len() == 32 && sending != id, "{body}");

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
    short_key["message"]["envelopes"][0]["content_key"] = json!(STANDARD.encode([1u8; 16]));
    let (status, body) = post(&server, Some(&token), &short_key).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("bad_request")));
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("must be 32 bytes"),
        "{body}"
    );

    let mut bad_id = message(id, None);
    bad_id["message"]["envelopes"][0]["id"] = json!("../../etc/passwd");
    assert_eq!(post(&server, Some(&token), &bad_id).await.0, 422);

    let injected = message_to(id, "bob@example.net\r\nBcc: eve@evil.test", None);
    assert_eq!(post(&server, Some(&token), &injected).await.0, 422);

    let mut no_envelopes = message(id, None);
    no_envelopes["message"]["envelopes"] = json!([]);
    assert_eq!(post(&server, Some(&token), &no_envelopes).await.0, 422);

    let mut unknown = message(id, None);
    unknown["message"]["owner"] = json!("eve");
    assert_eq!(post(&server, Some(&token), &unknown).await.0, 422);

    assert_eq!(
        post(&server, Some(&token), &message(id, Some(1))).await.0,
        422,
        "expiry in the past"
    );

    let huge = json!({ "message": { "from": "a@example.org", "envelopes": vec![json!({"id": id, "recipient": "a@example.org", "content_key": ""}); 2_000] } });
    assert_eq!(post(&server, Some(&token), &huge).await.0, 413);

    // The token is checked before the body is read; a body that is not JSON is refused.
    let raw = |token: Option<&str>, content_type: Option<&str>| {
        let mut request = reqwest::Client::new()
            .post(format!("{}/api/v1/messages", server.base))
            .body("{\"message\": not json");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        request.send()
    };
    assert_eq!(
        raw(None, Some("application/json")).await.unwrap().status(),
        401
    );
    assert_eq!(raw(Some(&token), None).await.unwrap().status(), 415);
    let broken = raw(Some(&token), Some("application/json"))
        .await
        .unwrap()
        .status();
    assert!(broken == 400 || broken == 422, "{broken}");

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
        + 3; // room for a slow registration on a loaded machine
    assert_eq!(
        post(&server, Some(&token), &message(id, Some(expires)))
            .await
            .0,
        200
    );
    assert!(server.store.sealed_key(id).await.unwrap().is_some());
    tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
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

/// A message to bob and carol: two envelopes, two ids, two keys.
fn two_envelopes(bob_id: &str, carol_id: &str) -> Value {
    let mut body = message_to(bob_id, "bob@example.net", None);
    body["message"]["envelopes"] = json!([
        {"id": bob_id, "recipient": "bob@example.net", "content_key": STANDARD.encode(BOB_KEY)},
        {"id": carol_id, "recipient": "carol@example.org", "content_key": STANDARD.encode(CAROL_KEY)},
    ]);
    body
}

const BOB_KEY: [u8; 32] = [0xb0; 32];
const CAROL_KEY: [u8; 32] = [0xca; 32];

/// Carol, a co-recipient, holds her own envelope's id and key. She seals an
/// envelope "from" alice to bob reusing them: bob's opener asks the key
/// server for that id as bob, and gets nothing, because the id is carol's alone.
async fn a_co_recipient_cannot_forge_to_another(backend: Backend) {
    let server = start(backend).await;
    let token = server.store.create_sender("clinic").await.unwrap();
    account(&server, "bob@example.net", true, None).await;
    account(&server, "carol@example.org", true, None).await;
    let (bob_id, carol_id) = (
        "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0",
        "ca1ca1ca1ca1ca1ca1ca1ca1ca1ca1ca",
    );
    let (status, body) = post(&server, Some(&token), &two_envelopes(bob_id, carol_id)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["envelopes"][0]["id"], bob_id);
    assert_eq!(body["envelopes"][1]["id"], carol_id);

    // Each recipient gets their own key, and only for their own envelope.
    let (status, _, key) = release(&server, carol_id, "carol@example.org", PASSWORD).await;
    assert_eq!((status, key.as_deref()), (200, Some(CAROL_KEY.as_slice())));
    let (status, _, key) = release(&server, bob_id, "bob@example.net", PASSWORD).await;
    assert_eq!((status, key.as_deref()), (200, Some(BOB_KEY.as_slice())));

    // The forgery: carol's id (her key opens what she sealed under it) sent to bob.
    let (status, body, key) = release(&server, carol_id, "bob@example.net", PASSWORD).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.to_string().contains("not_a_recipient"), "{body}");
    assert!(
        key.is_none(),
        "bob's opener gets no key for carol's envelope"
    );
    // Nor can carol ask for bob's envelope's key with her own password.
    let (status, _, key) = release(&server, bob_id, "carol@example.org", PASSWORD).await;
    assert_eq!((status, key), (403, None));
}

/// Registrations that would put one key in two envelopes are refused, whole.
async fn registrations_that_share_a_key_are_refused(backend: Backend) {
    let server = start(backend).await;
    let token = server.store.create_sender("clinic").await.unwrap();
    let id = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

    let shared = two_envelopes(id, id);
    let (status, body) = post(&server, Some(&token), &shared).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("share the id"), "{body}");

    let mut twice = two_envelopes(id, "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b");
    twice["message"]["envelopes"][1]["recipient"] = json!("BOB@example.net");
    let (status, body) = post(&server, Some(&token), &twice).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("two envelopes"), "{body}");

    // The old shape: one id and one key for a list of recipients.
    let old = json!({
        "message": {
            "id": id, "recipients": ["bob@example.net", "carol@example.org"], "expires": null,
            "flags": {"reply": true, "reply_all": true, "forward": true, "print": true, "read_receipt": false},
            "security": "high"
        },
        "content_key": STANDARD.encode(KEY),
    });
    let (status, body) = post(&server, Some(&token), &old).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.to_string().contains("one envelope per recipient"),
        "{body}"
    );

    // An id registered already (by this or another envelope) is a conflict.
    assert_eq!(post(&server, Some(&token), &message(id, None)).await.0, 200);
    let (status, body) = post(
        &server,
        Some(&token),
        &two_envelopes("7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c", id),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    // All or nothing: the first envelope of the refused message is not registered.
    assert_eq!(
        server
            .store
            .sealed_key("7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        server
            .store
            .recipient_registered(id, "carol@example.org")
            .await
            .unwrap(),
        None,
        "carol was not added to bob's id"
    );
}

/// `admin token create --from-domain`: a token limited to its sender's domains.
async fn sender_tokens_are_limited_listed_and_revoked(backend: Backend) {
    let server = start(backend).await;
    let clinic = server
        .store
        .create_sender_for("clinic", &["Clinic.Example".into()])
        .await
        .unwrap();
    let any = server.store.create_sender("relay").await.unwrap();
    assert!(server
        .store
        .create_sender_for("bad", &["not a domain".into()])
        .await
        .is_err());

    let from = |address: &str, id: &str| {
        let mut body = message(id, None);
        body["message"]["from"] = json!(address);
        body
    };
    let ok = from("alice@clinic.example", "11111111111111111111111111111111");
    assert_eq!(post(&server, Some(&clinic), &ok).await.0, 200);
    for (i, other) in [
        "mallory@evil.example",
        "alice@mail.clinic.example",
        "alice@clinic.example.evil.test",
    ]
    .iter()
    .enumerate()
    {
        let (status, body) = post(
            &server,
            Some(&clinic),
            &from(other, &format!("2222222222222222222222222222222{i}")),
        )
        .await;
        assert_eq!(status, 403, "{other}: {body}");
        let text = body.to_string();
        assert!(
            text.contains("only From clinic.example") && text.contains(other),
            "{text}"
        );
    }
    // An unlimited token sends From anywhere.
    let elsewhere = from("mallory@evil.example", "33333333333333333333333333333333");
    assert_eq!(post(&server, Some(&any), &elsewhere).await.0, 200);

    let listed = server.store.list_senders().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        listed
            .iter()
            .find(|s| s.name == "clinic")
            .unwrap()
            .from_domains,
        ["clinic.example"]
    );
    assert!(listed.iter().all(|s| s.revoked_at.is_none()));

    assert_eq!(
        server.store.revoke_sender("clinic").await.unwrap(),
        Revoked::Now
    );
    assert_eq!(
        server.store.revoke_sender("clinic").await.unwrap(),
        Revoked::Already
    );
    assert_eq!(
        server.store.revoke_sender("nobody").await.unwrap(),
        Revoked::NoSuchSender
    );
    let again = from("alice@clinic.example", "44444444444444444444444444444444");
    assert_eq!(
        post(&server, Some(&clinic), &again).await.0,
        401,
        "a revoked token registers nothing"
    );
    assert!(server
        .store
        .list_senders()
        .await
        .unwrap()
        .iter()
        .any(|s| s.name == "clinic" && s.revoked_at.is_some()));
}

/// Any sender token learns a registered recipient's phrase (it must, to
/// seal it into the envelope); each time, the audit says who learned whose.
async fn phrase_disclosures_are_audited(backend: Backend) {
    let server = start(backend).await;
    let token = server.store.create_sender("clinic").await.unwrap();
    account(
        &server,
        "bob@example.net",
        true,
        Some("Blue kettle on Sunday"),
    )
    .await;
    account(&server, "carol@example.org", true, None).await;
    let (bob_id, carol_id) = (
        "d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1",
        "d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2",
    );
    let (status, body) = post(&server, Some(&token), &two_envelopes(bob_id, carol_id)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["envelopes"][0]["phrase"], "Blue kettle on Sunday");
    assert_eq!(body["envelopes"][1]["phrase"], Value::Null);
    // A registered recipient's language goes with it: the sealer writes their envelope in it.
    assert_eq!(body["envelopes"][0]["language"], "en");
    assert_eq!(
        server.store.audit_outcomes(bob_id).await.unwrap(),
        ["phrase_disclosed"]
    );
    assert!(server
        .store
        .audit_outcomes(carol_id)
        .await
        .unwrap()
        .is_empty());
}

/// The registration answer names the organisation from the config, and
/// each confirmed recipient's language (an unconfirmed one's stays unsaid).
async fn the_answer_names_the_organisation_and_each_recipients_language(backend: Backend) {
    let server = start_with(backend, |config| {
        config.organization_name = Some(" Example Clinic ".into());
    })
    .await;
    let token = server.store.create_sender("clinic").await.unwrap();
    account(&server, "bob@example.net", true, None).await;
    account(&server, "carol@example.org", false, None).await;
    let (bob_id, carol_id) = (
        "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1",
        "e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2",
    );
    let (status, body) = post(&server, Some(&token), &two_envelopes(bob_id, carol_id)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["organization"], "Example Clinic");
    assert_eq!(body["envelopes"][0]["language"], "en");
    assert_eq!(body["envelopes"][1]["language"], Value::Null);
}

on_both_stores!(
    the_answer_names_the_organisation_and_each_recipients_language,
    a_co_recipient_cannot_forge_to_another,
    registrations_that_share_a_key_are_refused,
    sender_tokens_are_limited_listed_and_revoked,
    phrase_disclosures_are_audited,
);
