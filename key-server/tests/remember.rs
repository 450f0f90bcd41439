//! "Remember me" as proof of possession (item 8): the browser's public
//! key is remembered, and a remembered request must carry a signature over
//! the message, the recipient and that request's own ephemeral key. On
//! SQLite and PostgreSQL.

mod common;
mod release_support;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{register_with, start, start_with, Backend, Server, KEY};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use release_support::{account, post_release, PASSWORD};
use serde_json::{json, Value};

const BOB: &str = "bob@example.net";

/// What the opener's non-extractable WebCrypto key would be.
fn browser_key() -> SigningKey {
    loop {
        let mut secret = [0u8; 32];
        getrandom::getrandom(&mut secret).unwrap();
        if let Ok(key) = SigningKey::from_slice(&secret) {
            return key;
        }
    }
}

fn raw_public_key(key: &SigningKey) -> String {
    STANDARD.encode(key.verifying_key().to_encoded_point(false).as_bytes())
}

fn sign(key: &SigningKey, id: &str, recipient: &str, public_key: &str) -> String {
    let text = format!(
        "securedoc-remember-v1\n{id}\n{}\n{public_key}",
        recipient.to_ascii_lowercase()
    );
    let signature: Signature = key.sign(text.as_bytes());
    STANDARD.encode(signature.to_bytes())
}

/// One release request with a fresh ephemeral key; `fields` go into the body,
/// `signer` signs it as a remembered browser with `remember_id`. Returns the
/// status, the body, the opened key, and the ephemeral public key it used.
async fn ask(
    server: &Server,
    id: &str,
    fields: Value,
    remembered: Option<(&SigningKey, &str)>,
) -> (u16, Value, Option<Vec<u8>>, String) {
    let request = envelope_core::KeyRequest::new();
    let public_key = STANDARD.encode(request.public_key());
    let mut body = json!({ "message_id": id, "recipient": BOB, "public_key": public_key });
    for (name, value) in fields.as_object().unwrap() {
        body[name] = value.clone();
    }
    if let Some((key, remember_id)) = remembered {
        body["remembered"] =
            json!({ "id": remember_id, "signature": sign(key, id, BOB, &public_key) });
    }
    let (status, body) = post_release(&reqwest::Client::new(), &server.base, &body, &[]).await;
    let key = (status == 200).then(|| {
        let enc = STANDARD.decode(body["enc"].as_str().unwrap()).unwrap();
        let ciphertext = STANDARD
            .decode(body["ciphertext"].as_str().unwrap())
            .unwrap();
        request
            .open(id, &enc, &ciphertext)
            .unwrap()
            .as_bytes()
            .to_vec()
    });
    (status, body, key, public_key)
}

fn refused_as_not_remembered(answer: &(u16, Value, Option<Vec<u8>>, String), why: &str) {
    assert_eq!(
        (answer.0, answer.1["error"].as_str(), answer.2.is_none()),
        (401, Some("not_remembered"), true),
        "{why}: {}",
        answer.1
    );
}

async fn a_remembered_browser_proves_possession(backend: Backend) {
    let server = start(backend).await;
    let medium = "c0000000000000000000000000000001";
    let other = "c0000000000000000000000000000002";
    let high = "c0000000000000000000000000000003";
    register_with(&server, medium, &[BOB], None, "medium").await;
    register_with(&server, other, &[BOB], None, "medium").await;
    register_with(&server, high, &[BOB], None, "high").await;
    account(&server, BOB).await;
    let browser = browser_key();

    // The password, with "Remember me": the server keeps the public key.
    let fields = json!({ "password": PASSWORD, "remember_key": raw_public_key(&browser) });
    let (status, body, key, _) = ask(&server, medium, fields, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(key.as_deref(), Some(KEY.as_slice()));
    let remember_id = body["remember_id"].as_str().unwrap().to_string();

    // Later, no password: a valid signature releases, on any medium message.
    for id in [medium, other] {
        let (status, body, key, _) =
            ask(&server, id, json!({}), Some((&browser, &remember_id))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(key.as_deref(), Some(KEY.as_slice()));
    }

    // Another key's signature (a page that made its own key).
    let stranger = browser_key();
    refused_as_not_remembered(
        &ask(&server, medium, json!({}), Some((&stranger, &remember_id))).await,
        "a signature by another key",
    );
    // A captured signature replayed with the attacker's own ephemeral key.
    let (_, _, _, captured_key) =
        ask(&server, other, json!({}), Some((&browser, &remember_id))).await;
    let replay = json!({
        "remembered": { "id": remember_id, "signature": sign(&browser, other, BOB, &captured_key) }
    });
    refused_as_not_remembered(
        &ask(&server, other, replay.clone(), None).await,
        "a replayed signature with a new ephemeral key",
    );
    // Another message's signature.
    let request = envelope_core::KeyRequest::new();
    let public_key = STANDARD.encode(request.public_key());
    let cross = json!({
        "public_key": public_key,
        "remembered": { "id": remember_id, "signature": sign(&browser, other, BOB, &public_key) }
    });
    refused_as_not_remembered(
        &ask(&server, medium, cross, None).await,
        "another message's signature",
    );
    // An unknown id; a high-security message (the password every time).
    refused_as_not_remembered(
        &ask(
            &server,
            medium,
            json!({}),
            Some((&browser, "00000000000000000000000000000000")),
        )
        .await,
        "an unknown id",
    );
    refused_as_not_remembered(
        &ask(&server, high, json!({}), Some((&browser, &remember_id))).await,
        "a high-security message",
    );
    // Remember me on a high-security message remembers nothing.
    let fields = json!({ "password": PASSWORD, "remember_key": raw_public_key(&browser_key()) });
    let (status, body, _, _) = ask(&server, high, fields, None).await;
    assert_eq!((status, body.get("remember_id")), (200, None), "{body}");
    // A remember_key that is not a P-256 point is a clear error.
    let fields = json!({ "password": PASSWORD, "remember_key": STANDARD.encode([4u8; 65]) });
    let (status, body, _, _) = ask(&server, medium, fields, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("bad_request")),
        "{body}"
    );

    // A password reset forgets every remembered browser of the address
    // (a new password set a second after the key was remembered).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    server.store.set_password(BOB, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g").await.unwrap();
    refused_as_not_remembered(
        &ask(&server, medium, json!({}), Some((&browser, &remember_id))).await,
        "after a reset",
    );
    assert_eq!(server.store.forget_remembered(BOB).await.unwrap(), 1);
}

/// `remember_days` bounds how long a browser stays remembered.
async fn a_remembered_browser_expires(backend: Backend) {
    let server = start_with(backend, |config| config.remember_days = 0).await;
    let medium = "c0000000000000000000000000000004";
    register_with(&server, medium, &[BOB], None, "medium").await;
    account(&server, BOB).await;
    let browser = browser_key();
    let fields = json!({ "password": PASSWORD, "remember_key": raw_public_key(&browser) });
    let (status, body, _, _) = ask(&server, medium, fields, None).await;
    assert_eq!(status, 200, "{body}");
    let remember_id = body["remember_id"].as_str().unwrap().to_string();
    refused_as_not_remembered(
        &ask(&server, medium, json!({}), Some((&browser, &remember_id))).await,
        "an expired key",
    );
}

on_both_stores!(
    a_remembered_browser_proves_possession,
    a_remembered_browser_expires
);
