//! Shared by the key-release suites: accounts made straight in the store,
//! and requests sent from a chosen client (through a trusted proxy).

#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use key_server::{NewAccount, PasswordHasher};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::common::Server;

pub const PASSWORD: &str = "correct horse battery staple";

/// A (confirmed) account with [`PASSWORD`].
pub async fn account(server: &Server, address: &str) {
    let hasher = PasswordHasher::new(19 * 1024, 2, 1, 2).unwrap();
    let password_hash = hasher.hash(Zeroizing::new(PASSWORD.into())).await.unwrap();
    let new = NewAccount {
        address: address.into(),
        first_name: "Test".into(),
        last_name: "Person".into(),
        language: "en".into(),
        password_hash,
        phrase: None,
    };
    server.store.create_account(&new).await.unwrap();
    server.store.confirm_account(address).await.unwrap();
}

/// A key-release body with a fresh ephemeral key.
pub fn release_body(id: &str, recipient: &str, password: &str) -> Value {
    let request = envelope_core::KeyRequest::new();
    json!({
        "message_id": id,
        "recipient": recipient,
        "password": password,
        "public_key": STANDARD.encode(request.public_key()),
    })
}

/// Posts `body` to `base`'s key release; the status and the body (on failure, explained).
pub async fn post_release(
    client: &reqwest::Client,
    base: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = client
        .post(format!("{base}/api/v1/keys/release"))
        .header("Origin", "null")
        .json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: the body is not JSON ({e}): {text:?}"));
    (status, body)
}
