//! Shared by the suites of the recipient's pages: form posts as a browser
//! makes them, the outbox, the links in mails.

#![allow(dead_code)]

use crate::common::Server;
use serde_json::json;

pub const PASSWORD: &str = "Quiet-Harbour-Lantern-42";

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn get(server: &Server, path: &str) -> (u16, String) {
    let response = client()
        .get(format!("{}{path}", server.base))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

pub async fn post_form(server: &Server, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let response = client()
        .post(format!("{}{path}", server.base))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// A complete, valid registration form for `email`.
pub fn form(email: &str) -> Vec<(&'static str, String)> {
    [
        ("email", email),
        ("language", "en"),
        ("first_name", "Robert"),
        ("last_name", "Example"),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
        ("phrase", "Blue kettle on Sunday"),
        ("phrase_enabled", "on"),
        ("question1", "first_pet"),
        ("answer1", "Rex"),
        ("answer1_confirm", "Rex"),
        ("question2", "first_school"),
        ("answer2", "Hillside Primary"),
        ("answer2_confirm", "Hillside Primary"),
        ("question3", "first_car"),
        ("answer3", "Fiat"),
        ("answer3_confirm", "Fiat"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect()
}

pub fn with(
    form: &[(&'static str, String)],
    changes: &[(&'static str, &str)],
) -> Vec<(&'static str, String)> {
    let mut form = form.to_vec();
    for (name, value) in changes {
        match form.iter_mut().find(|(k, _)| k == name) {
            Some(field) => field.1 = value.to_string(),
            None => form.push((name, value.to_string())),
        }
    }
    form
}

pub fn pairs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Waits until the outbox holds `n` mails (the pages queue mail after they
/// answer; the worker writes it soon after), then takes them all.
pub async fn wait_mails(server: &Server, n: usize) -> Vec<(String, String, String)> {
    let dir = server.data_dir.path().join("outbox");
    for _ in 0..200 {
        let count = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
            })
            .count();
        if count >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mails = outbox(server);
    assert_eq!(mails.len(), n, "mails in the outbox");
    mails
}

/// No mail was sent: nothing queued is left and the outbox is empty.
pub async fn no_mail(server: &Server) {
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    for _ in 0..100 {
        if server.store.mail_queue_depth().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(outbox(server).is_empty(), "no mail expected");
}

/// Posts the confirm page of a `/confirm?token=…` link with `password`.
pub async fn confirm_with(server: &Server, link: &str, password: &str) -> (u16, String) {
    let token = link.split("token=").nth(1).unwrap();
    post_form(
        server,
        "/confirm",
        &[("token", token), ("password", password)],
    )
    .await
}

/// The mails in the outbox, decoded: (to, subject, text body).
pub fn outbox(server: &Server) -> Vec<(String, String, String)> {
    let dir = server.data_dir.path().join("outbox");
    let mut mails = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "eml") {
            let bytes = std::fs::read(&path).unwrap();
            let message = mail_parser::MessageParser::default().parse(&bytes).unwrap();
            let to = message
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or("")
                .to_string();
            mails.push((
                to,
                message.subject().unwrap_or("").to_string(),
                message.body_text(0).unwrap_or_default().to_string(),
            ));
            std::fs::remove_file(path).unwrap();
        }
    }
    mails
}

/// The path and query of the one link to `path` in `text` (the mail's
/// links use the configured public URL; the test server has its own port).
pub fn link(text: &str, path: &str) -> String {
    let start = text
        .find(path)
        .unwrap_or_else(|| panic!("no {path} link in: {text}"));
    text[start..].split_whitespace().next().unwrap().to_string()
}

pub async fn status(server: &Server, id: &str, recipient: &str) -> (u16, serde_json::Value) {
    let response = client()
        .post(format!("{}/api/v1/keys/status", server.base))
        .header("Origin", "null")
        .json(&json!({ "message_id": id, "recipient": recipient }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}
