//! What several of the CLI's integration tests need: `securedoc` pointed at
//! a data directory, and the opener's key request.
#![allow(dead_code)] // each test target uses its own part

use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;

/// The `securedoc` binary: `SECUREDOC_BIN` if set (the benchmark runs the
/// release build), else the one cargo built for these tests.
pub fn securedoc_bin() -> Command {
    match std::env::var_os("SECUREDOC_BIN") {
        Some(path) => Command::new(path),
        None => Command::cargo_bin("securedoc").unwrap(),
    }
}

/// `securedoc` with the key server's data directory (SQLite, never a
/// database from the environment).
pub fn securedoc(data_dir: &std::path::Path) -> Command {
    let mut command = securedoc_bin();
    command
        .env("SECUREDOC_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("SECUREDOC_DATABASE_URL");
    command
}

/// The opener's key request: what a recipient's browser sends for `id` to
/// the key server at `origin`. Returns the status and, on success, the key.
pub fn release_key(
    origin: &str,
    id: &str,
    recipient: &str,
    password: &str,
) -> (u16, Option<envelope_core::ContentKey>) {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let request = envelope_core::KeyRequest::new();
    let response = reqwest::blocking::Client::new()
        .post(format!("{origin}/api/v1/keys/release"))
        .header("Origin", "null")
        .json(&serde_json::json!({
            "message_id": id,
            "recipient": recipient,
            "password": password,
            "public_key": STANDARD.encode(request.public_key()),
        }))
        .send()
        .unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().unwrap();
    let key = (status == 200).then(|| {
        let field = |name: &str| STANDARD.decode(body[name].as_str().unwrap()).unwrap();
        request
            .open(id, &field("enc"), &field("ciphertext"))
            .unwrap()
    });
    (status, key)
}
