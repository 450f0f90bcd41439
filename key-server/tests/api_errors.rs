//! The one error contract: every refusal under `/api/` is
//! `{"error": kind, "message": sentence}` with the kind's status, including
//! the ones axum and the layers make before a handler runs.

mod common;

use common::{start, Backend};
use reqwest::Method;
use serde_json::{json, Value};

/// Sends a request and checks the answer is the contract's JSON; returns
/// the status and the body.
async fn refusal(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    assert_eq!(
        content_type.as_deref(),
        Some("application/json"),
        "status {status}: {text:?}"
    );
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    assert!(
        body["error"].is_string() && body["message"].as_str().is_some_and(|m| m.len() > 10),
        "status {status}: {body}"
    );
    (status, body)
}

#[tokio::test]
async fn every_api_refusal_has_one_json_shape() {
    let server = start(Backend::Sqlite).await;
    let client = reqwest::Client::new();
    let release = format!("{}/api/v1/keys/release", server.base);
    let kind = |(status, body): (u16, Value)| (status, body["error"].as_str().unwrap().to_string());

    // Malformed JSON.
    let malformed = client
        .post(&release)
        .header("content-type", "application/json")
        .body("{\"message_id\": ");
    assert_eq!(kind(refusal(malformed).await), (422, "bad_request".into()));
    // A missing field, an unknown field: serde says which.
    let (status, body) = refusal(client.post(&release).json(&json!({"message_id": "x"}))).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("bad_request")));
    assert!(
        body["message"].as_str().unwrap().contains("recipient"),
        "{body}"
    );
    // Not JSON at all.
    let text = client
        .post(&release)
        .header("content-type", "text/plain")
        .body("hello");
    assert_eq!(
        kind(refusal(text).await),
        (415, "unsupported_media_type".into())
    );
    // Too big.
    let big = "x".repeat(100 * 1024);
    let sized = client
        .post(&release)
        .header("content-type", "application/json")
        .body(big);
    assert_eq!(
        kind(refusal(sized).await),
        (413, "payload_too_large".into())
    );
    // Unknown route under /api/, wrong method.
    let unknown = client.get(format!("{}/api/v1/nothing-here", server.base));
    assert_eq!(kind(refusal(unknown).await), (404, "not_found".into()));
    let method = client.request(Method::GET, &release);
    assert_eq!(
        kind(refusal(method).await),
        (405, "method_not_allowed".into())
    );
    // The status endpoint, malformed fields.
    let status = client
        .post(format!("{}/api/v1/keys/status", server.base))
        .json(&json!({"message_id": "short", "recipient": "bob@example.net"}));
    assert_eq!(kind(refusal(status).await), (422, "bad_request".into()));
    // A refusal on a real request.
    let made_up = client.post(&release).json(&json!({
        "message_id": "0123456789abcdef0123456789abcdef",
        "recipient": "bob@example.net",
        "password": "guess",
        "public_key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=",
    }));
    assert_eq!(
        kind(refusal(made_up).await),
        (403, "not_a_recipient".into())
    );
    // Pages stay pages: the contract is for the API.
    let page = client
        .get(format!("{}/no-such-page", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
}

/// The sender API checks the token before it reads the body: without one,
/// any body (malformed, or the wrong type) gets `unauthorized`.
#[tokio::test]
async fn the_sender_api_authenticates_before_it_parses() {
    let server = start(Backend::Sqlite).await;
    let client = reqwest::Client::new();
    let messages = format!("{}/api/v1/messages", server.base);
    for request in [
        client
            .post(&messages)
            .header("content-type", "application/json")
            .body("{not json"),
        client
            .post(&messages)
            .header("content-type", "text/plain")
            .body("x"),
        client.post(&messages).json(&json!({"unknown": 1})),
        client
            .post(&messages)
            .bearer_auth("sdk_not-a-real-token")
            .json(&json!({"unknown": 1})),
    ] {
        let (status, body) = refusal(request).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("unauthorized"))
        );
    }
    // With a real token, the body's faults are named.
    let token = server.store.create_sender("clinic").await.unwrap();
    let (status, body) = refusal(
        client
            .post(&messages)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (422, Some("bad_request")));
}
