//! Shared by the key-release suites: accounts made straight in the store,
//! and requests sent from a chosen client (through a trusted proxy).

#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use crate::common::Server;

pub use crate::common::PASSWORD;

/// A (confirmed) account with [`PASSWORD`].
pub async fn account(server: &Server, address: &str) {
    crate::common::account(server, address, true, None).await
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
