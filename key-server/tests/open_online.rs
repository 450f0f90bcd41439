//! Open Online against a real server: an envelope posted as its form posts
//! it, the password page, the same checks and lockout as key release, the
//! view behind its cookie, the downloads, and what a hostile post gets.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{account, register, Backend, Server, PASSWORD};
use envelope_core::{ContentKey, EnvelopeInfo, Flags, Sealer, SecurityLevel};
use reqwest::multipart;
use reqwest::redirect::Policy;

const ID: &str = "0123456789abcdef0123456789abcdef";
const BOB: &str = "bob@example.net";
const MARKER: &str = "plaintext-marker-7d1f";
const ATTACHMENT: &[u8] = b"%PDF-1.4 the results plaintext-marker-7d1f of the test\n";

/// A message with an HTML body (hostile bits, a remote image, a cid image)
/// and a PDF attachment.
fn message() -> Vec<u8> {
    format!(
        "From: Alice <alice@clinic.example>\r\nTo: bob@example.net\r\nSubject: Your results {MARKER}\r\n\
         Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: multipart/related; boundary=\"b2\"\r\n\r\n\
         --b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
         <p onmouseover=\"alert(1)\">Hello Bob, {MARKER}.</p><script>alert(2)</script>\
         <img src=\"https://tracker.example/pixel.gif\" alt=\"\"><img src=\"cid:logo@clinic\" alt=\"Clinic logo\">\
         <a href=\"https://clinic.example/help\">help</a>\r\n\
         --b2\r\nContent-Type: image/png\r\nContent-ID: <logo@clinic>\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         iVBORw0KGgo=\r\n--b2--\r\n\
         --b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"results.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        STANDARD.encode(ATTACHMENT)
    )
    .into_bytes()
}

/// A real envelope for `to`, message `id`, sealed with [`common::KEY`] for
/// the test server's origin; its text form, as the page's form posts it.
fn envelope(id: &str, to: &str, key_server: &str, security: SecurityLevel) -> String {
    let info = EnvelopeInfo {
        from: "alice@clinic.example".into(),
        to: to.into(),
        created: 1_795_000_000,
        expires: None,
        flags: Flags {
            print: false,
            ..Flags::default()
        },
    };
    let mut id_bytes = [0u8; 16];
    for (i, byte) in id_bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&id[2 * i..2 * i + 2], 16).unwrap();
    }
    let header = info.server_header(id_bytes, key_server, security).unwrap();
    let sealer = Sealer::new(header, ContentKey::from_slice(&common::KEY).unwrap()).unwrap();
    let mut bytes = sealer.head(&[]).unwrap();
    bytes.extend(sealer.encrypt_payload(&message(), |_| {}).unwrap());
    envelope_core::to_text(&bytes)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Posts `text` as the envelope's form does; returns the status and page.
async fn post_envelope(server: &Server, text: String) -> (u16, String) {
    let form = multipart::Form::new()
        .text("lang", "en")
        .part("envelope", multipart::Part::text(text));
    let response = client()
        .post(format!("{}/open", server.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn handle_of(page: &str) -> String {
    let start = page.find("name=\"handle\" value=\"").expect("a handle") + 21;
    page[start..start + 64].to_string()
}

/// Posts the password; returns the status, the page (or the redirect's
/// location) and the cookie set.
async fn unlock(server: &Server, handle: &str, password: &str) -> (u16, String, Option<String>) {
    let response = client()
        .post(format!("{}/open/unlock", server.base))
        .form(&[("handle", handle), ("password", password)])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string());
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let body = response.text().await.unwrap();
    (status, location.unwrap_or(body), cookie)
}

async fn get(server: &Server, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = client().get(format!("{}{path}", server.base));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

async fn ready(backend: Backend) -> (Server, String) {
    let server = common::start(backend).await;
    register(&server, ID, &[BOB], None).await;
    account(&server, BOB, true, None).await;
    (
        server,
        envelope(ID, BOB, "http://127.0.0.1", SecurityLevel::High),
    )
}

async fn password_then_message_then_downloads(backend: Backend) {
    let (server, text) = ready(backend).await;
    let (status, page) = post_envelope(&server, text).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("alice@clinic.example") && page.contains(BOB));
    assert!(
        page.contains("type=\"password\""),
        "the page asks for the password"
    );
    assert!(
        !page.contains(MARKER),
        "nothing is decrypted before the password"
    );
    let handle = handle_of(&page);

    let (status, page, cookie) = unlock(&server, &handle, "not the password").await;
    assert_eq!(status, 401);
    assert!(
        page.contains("Wrong password.") && page.contains("4 attempts left"),
        "{page}"
    );
    assert!(cookie.is_none());

    let (status, location, cookie) = unlock(&server, &handle, PASSWORD).await;
    assert_eq!(status, 303);
    assert!(location.starts_with("/open/view/"), "{location}");
    let cookie = cookie.expect("the view's cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(cookie.contains(&format!("Path={location}")));
    let cookie = cookie.split(';').next().unwrap().to_string();

    let response = get(&server, &location, Some(&cookie)).await;
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'") && csp.contains("img-src 'self'"));
    let page = response.text().await.unwrap();
    assert!(page.contains(&format!("Your results {MARKER}")));
    assert!(page.contains(&format!("Hello Bob, {MARKER}.")));
    for hostile in ["onmouseover", "<script>alert", "tracker.example"] {
        assert!(!page.contains(hostile), "{hostile} reached the page");
    }
    assert!(page.contains("1 remote image or resource was blocked"));
    assert!(page.contains(r#"target="_blank" rel="noopener noreferrer""#));
    assert!(page.contains("results.pdf"));
    assert!(
        page.contains("does not allow this message to be printed"),
        "print is off"
    );
    assert!(
        !page.contains("id=\"print\""),
        "no Print button when printing is off"
    );

    // The downloads: the attachment (never rendered), the inline image, the .eml.
    let pdf = get(&server, &format!("{location}/attachment/1"), Some(&cookie)).await;
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/octet-stream");
    assert!(pdf.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"results.pdf\""));
    assert_eq!(pdf.bytes().await.unwrap().as_ref(), ATTACHMENT);
    let logo = get(&server, &format!("{location}/inline/0"), Some(&cookie)).await;
    assert_eq!(logo.headers()["content-type"], "image/png");
    let eml = get(&server, &format!("{location}/message.eml"), Some(&cookie)).await;
    assert_eq!(eml.bytes().await.unwrap().as_ref(), message().as_slice());

    // Without its cookie (or with another), the view's URL opens nothing.
    for wrong in [None, Some("securedoc_view=00")] {
        let response = get(&server, &location, wrong).await;
        assert_eq!(response.status(), 404);
        assert!(!response.text().await.unwrap().contains(MARKER));
        let response = get(&server, &format!("{location}/attachment/1"), wrong).await;
        assert_eq!(response.status(), 404);
    }
    // The envelope, once opened, is no longer parked under its handle.
    let (status, _, _) = unlock(&server, &handle, PASSWORD).await;
    assert_eq!(status, 410);

    // Nothing decrypted is on disk: not in the database, its WAL, the outbox.
    for entry in walk(server.data_dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
            "{} holds the plaintext",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Wrong passwords through Open Online count toward the same lock as key
/// release: one limit, whichever way the guesses come.
async fn guesses_online_lock_the_account_for_key_release_too(backend: Backend) {
    let (server, text) = ready(backend).await;
    let (_, page) = post_envelope(&server, text).await;
    let handle = handle_of(&page);
    let mut burst = tokio::task::JoinSet::new();
    for n in 0..20 {
        let (base, handle) = (server.base.clone(), handle.clone());
        burst.spawn(async move {
            client()
                .post(format!("{base}/open/unlock"))
                .form(&[("handle", handle), ("password", format!("guess {n}"))])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let statuses = burst.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "exactly the limit is checked: {statuses:?}"
    );
    let (status, page, cookie) = unlock(&server, &handle, PASSWORD).await;
    assert_eq!(status, 423, "locked: even the right password opens nothing");
    assert!(page.contains("locked"), "{page}");
    assert!(cookie.is_none());
    let (status, body, _) = common::release(&server, ID, BOB, PASSWORD).await;
    assert_eq!((status, body["error"].as_str()), (423, Some("locked")));
}

/// Hostile posts: junk, another key server's envelope, a withdrawn message,
/// a made-up handle, an envelope past the size limit.
async fn what_cannot_be_opened_says_why(backend: Backend) {
    let (server, text) = ready(backend).await;

    let (status, page) = post_envelope(&server, "not an envelope".into()).await;
    assert_eq!(status, 422);
    assert!(page.contains("damaged or has been altered"));

    let elsewhere = envelope(
        ID,
        BOB,
        "https://keys.elsewhere.example",
        SecurityLevel::High,
    );
    let (status, page) = post_envelope(&server, elsewhere).await;
    assert_eq!(status, 422);
    assert!(page.contains("not sealed for this key server"));

    let (status, page, _) = unlock(&server, &"ab".repeat(32), PASSWORD).await;
    assert_eq!(status, 410);
    assert!(page.contains("This page has expired"));

    // Withdrawn after the page was posted: the password opens nothing.
    let (_, page) = post_envelope(&server, text).await;
    server.store.shred_key(ID).await.unwrap();
    let (status, page, cookie) = unlock(&server, &handle_of(&page), PASSWORD).await;
    assert_eq!(status, 410);
    assert!(
        page.contains("expired or was withdrawn by its sender"),
        "{page}"
    );
    assert!(cookie.is_none());
}

async fn an_envelope_past_the_limit_is_refused_before_it_is_read(backend: Backend) {
    let server = common::start_with(backend, |config| config.open_online_max_mb = 1).await;
    let (status, page) = post_envelope(&server, "A".repeat(2 * 1024 * 1024)).await;
    assert_eq!(status, 413);
    assert!(page.contains("larger than this key server opens online"));
}

/// A recipient with no account, or another recipient's account, gets the
/// same refusal as a wrong password: Open Online is no oracle either.
async fn another_recipients_password_opens_nothing(backend: Backend) {
    let (server, _) = ready(backend).await;
    account(&server, "carol@example.net", true, None).await;
    // Carol's own envelope of the same message does not exist: she forges
    // one naming Bob's message id with herself as recipient.
    let forged = envelope(
        ID,
        "carol@example.net",
        "http://127.0.0.1",
        SecurityLevel::High,
    );
    let (status, page) = post_envelope(&server, forged).await;
    assert_eq!(status, 200);
    let (status, page, cookie) = unlock(&server, &handle_of(&page), PASSWORD).await;
    assert_eq!(status, 403);
    assert!(page.contains("does not release this message"), "{page}");
    assert!(cookie.is_none());
}

/// The sender's controls reach Open Online as they reach key release: a
/// locked message gets the sender's refusal, an unlocked one opens — on
/// the sender's record, with its read receipt queued once — and a
/// withdrawn one says so.
async fn the_senders_controls_apply_online(backend: Backend) {
    let server = common::start(backend).await;
    let token = server.store.create_sender("clinic").await.unwrap();
    let mut body = common::message_to(ID, BOB, None);
    body["message"]["flags"]["read_receipt"] = serde_json::json!(true);
    let (status, answer) = common::post(&server, Some(&token), &body).await;
    assert_eq!(status, 200, "{answer}");
    let message = answer["message"].as_str().unwrap().to_string();
    account(&server, BOB, true, None).await;
    let text = envelope(ID, BOB, "http://127.0.0.1", SecurityLevel::High);
    let control = |action: &str| {
        client()
            .post(format!(
                "{}/api/v1/messages/{message}/{action}",
                server.base
            ))
            .bearer_auth(&token)
            .json(&serde_json::json!({}))
            .send()
    };
    let open = |text: String| async {
        let (_, page) = post_envelope(&server, text).await;
        unlock(&server, &handle_of(&page), PASSWORD).await
    };

    assert_eq!(control("lock").await.unwrap().status(), 200);
    let (status, page, cookie) = open(text.clone()).await;
    assert_eq!(status, 423, "{page}");
    assert!(
        page.contains("The sender has locked this message for now"),
        "{page}"
    );
    assert!(cookie.is_none());

    assert_eq!(control("unlock").await.unwrap().status(), 200);
    assert_eq!(open(text.clone()).await.0, 303);
    assert_eq!(open(text.clone()).await.0, 303);
    let status: serde_json::Value = client()
        .get(format!("{}/api/v1/messages/{message}", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["envelopes"][0]["opened"]["count"], 2, "{status}");
    let receipts = server.store.mail_for("alice@clinic.example").await.unwrap();
    assert_eq!(receipts.len(), 1, "one read receipt: {receipts:?}");
    assert_eq!(receipts[0].kind, "read_receipt");

    assert_eq!(control("revoke").await.unwrap().status(), 200);
    let (status, page, _) = open(text).await;
    assert_eq!(status, 410);
    assert!(page.contains("withdrawn by its sender"), "{page}");
}

on_both_stores!(
    the_senders_controls_apply_online,
    password_then_message_then_downloads,
    guesses_online_lock_the_account_for_key_release_too,
    what_cannot_be_opened_says_why,
    an_envelope_past_the_limit_is_refused_before_it_is_read,
    another_recipients_password_opens_nothing,
);
