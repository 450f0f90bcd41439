//! Open Online against a real server: an envelope posted as its form posts
//! it, the password page, the same checks and lockout as key release, the
//! view behind its cookie, the downloads, and what a hostile post gets.

mod common;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::{account, assert_not_at_rest, register, walk, Backend, Server, PASSWORD};
use envelope_core::{Flags, SecurityLevel};
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
    let flags = Flags {
        print: false,
        ..Flags::default()
    };
    envelope_with(id, to, key_server, security, flags)
}

fn envelope_with(
    id: &str,
    to: &str,
    key_server: &str,
    security: SecurityLevel,
    flags: Flags,
) -> String {
    sealed(id, to, key_server, security, flags, &message())
}

/// `message` sealed from Alice to `to` as envelope `id` with [`common::KEY`]: its text form.
fn sealed(
    id: &str,
    to: &str,
    key_server: &str,
    security: SecurityLevel,
    flags: Flags,
    message: &[u8],
) -> String {
    envelope_core::to_text(&common::sealed_bytes(
        id, to, key_server, security, flags, message,
    ))
}

/// An envelope for Bob of a message whose To/Cc lines are `recipients`.
fn envelope_with_headers(id: &str, recipients: &str) -> String {
    let message =
        format!("From: alice@clinic.example\r\n{recipients}Subject: Team\r\n\r\nHello team.\r\n");
    let (ks, flags) = ("http://127.0.0.1", Flags::default());
    sealed(id, BOB, ks, SecurityLevel::High, flags, message.as_bytes())
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

/// The page at `path` as text, with the view's `cookie` if given.
async fn page_text(server: &Server, path: &str, cookie: Option<&str>) -> String {
    get(server, path, cookie).await.text().await.unwrap()
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
    let text = bobs_envelope(&server).await;
    (server, text)
}

/// Registers message `ID` for bob, gives bob an account, and returns his envelope.
async fn bobs_envelope(server: &Server) -> String {
    register(server, ID, &[BOB], None).await;
    account(server, BOB, true, None).await;
    envelope(ID, BOB, "http://127.0.0.1", SecurityLevel::High)
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
    assert_not_at_rest(&server, &[MARKER.as_bytes()]);
}

/// No file under the server's data directory (database, WAL, queue,
/// outbox) holds any of `markers`.
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

/// Another recipient cannot use Open Online for a message that is not
/// theirs: an envelope naming Bob's message id with Carol as recipient is
/// refused before anything is held or any password is asked.
async fn another_recipients_envelope_opens_nothing(backend: Backend) {
    let (server, _) = ready(backend).await;
    account(&server, "carol@example.net", true, None).await;
    let forged = envelope(
        ID,
        "carol@example.net",
        "http://127.0.0.1",
        SecurityLevel::High,
    );
    let (status, page) = post_envelope(&server, forged).await;
    assert_eq!(status, 403);
    assert!(page.contains("does not release this message"), "{page}");
    assert!(!page.contains("name=\"handle\""), "nothing is held for it");
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

/// Opens `text` online as `recipient`'s account would: returns the view's
/// path and its cookie.
async fn open_view(server: &Server, text: String) -> (String, String) {
    let (status, page) = post_envelope(server, text).await;
    assert_eq!(status, 200, "{page}");
    let (status, location, cookie) = unlock(server, &handle_of(&page), PASSWORD).await;
    assert_eq!(status, 303, "{location}");
    (
        location,
        cookie.unwrap().split(';').next().unwrap().to_string(),
    )
}

/// Posts the compose form of view `location` as its page does.
async fn send_answer(
    server: &Server,
    location: &str,
    cookie: &str,
    fields: &[(&str, &str)],
    files: &[(&str, Vec<u8>)],
) -> (u16, String) {
    let mut form = multipart::Form::new();
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    for (name, bytes) in files {
        form = form.part(
            "file",
            multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    let response = client()
        .post(format!("{}{location}/compose", server.base))
        .header("cookie", cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Waits for the notifications queued to `to` and returns each one's
/// attached envelope page.
async fn envelopes_mailed_to(server: &Server, to: &str, count: usize) -> Vec<String> {
    let dir = server.data_dir.path().join("outbox");
    for _ in 0..100 {
        let mut pages = Vec::new();
        for entry in std::fs::read_dir(&dir).into_iter().flatten() {
            // The outbox may be mid-write: a mail counts once it parses whole.
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let Some(mail) = mail_parser::MessageParser::default().parse(&bytes) else {
                continue;
            };
            let addressed = mail
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .is_some_and(|a| a == to);
            let page = mail
                .attachments()
                .next()
                .map(|part| String::from_utf8(part.contents().to_vec()).unwrap());
            if let (true, Some(page)) = (addressed, page) {
                if page.trim_end().ends_with("</html>") {
                    pages.push(page);
                }
            }
        }
        if pages.len() >= count {
            return pages;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("fewer than {count} notifications to {to} in the outbox");
}

fn envelope_text(page: &str) -> String {
    securedoc_templates::envelope_text_from_html(page)
        .expect("the notification carries an envelope page")
        .to_string()
}

/// Reply with an attachment: the sender gets a notification with their own
/// envelope, opens it (their own account) and reads the reply and the file.
/// Reply all reaches the organisation's other recipients, each with an
/// envelope of their own; the outside one is left out.
async fn a_reply_is_a_secure_message_the_sender_opens(backend: Backend) {
    const REPLY: &str = "reply-body-marker-41c9";
    const FILE: &[u8] = b"reply-attachment-marker-88aa scan of the form";
    let server = common::start_with(backend, |config| {
        config.reply_domains = vec!["clinic.example".into()];
    })
    .await;
    let (location, cookie) = open_view(&server, bobs_envelope(&server).await).await;
    let page = page_text(&server, &location, Some(&cookie)).await;
    for button in ["Reply", "Reply all", "Forward"] {
        assert!(
            page.contains(&format!(">{button}</a>")),
            "{button} is offered"
        );
    }

    let form = get(
        &server,
        &format!("{location}/compose?kind=reply"),
        Some(&cookie),
    )
    .await;
    assert_eq!(form.status(), 200);
    let form = form.text().await.unwrap();
    assert!(
        form.contains("alice@clinic.example"),
        "Reply goes to the sender"
    );
    assert!(form.contains(&format!("Re: Your results {MARKER}")));
    // A post naming another recipient still goes to the sender only.
    let (status, page) = send_answer(
        &server,
        &location,
        &cookie,
        &[
            ("kind", "reply"),
            ("to", "mallory@evil.example"),
            ("subject", "Re: Your results"),
            ("body", REPLY),
        ],
        &[("signed-form.pdf", FILE.to_vec())],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Your message was sent securely to alice@clinic.example."));

    let mailed = envelopes_mailed_to(&server, "alice@clinic.example", 1).await;
    let text = envelope_text(&mailed[0]);
    let header = envelope_core::header_from_text(&text).unwrap();
    assert_eq!(
        (header.from.as_str(), header.to.as_str()),
        (BOB, "alice@clinic.example")
    );
    assert_eq!(header.key_server.as_deref(), Some("http://127.0.0.1"));
    // Alice, the sender, has an account of her own and opens the reply.
    account(&server, "alice@clinic.example", true, None).await;
    let (reply, reply_cookie) = open_view(&server, text).await;
    let page = page_text(&server, &reply, Some(&reply_cookie)).await;
    assert!(
        page.contains(REPLY) && page.contains("signed-form.pdf"),
        "{page}"
    );
    let file = get(
        &server,
        &format!("{reply}/attachment/0"),
        Some(&reply_cookie),
    )
    .await;
    assert_eq!(file.bytes().await.unwrap().as_ref(), FILE);

    // The reply's plaintext is nowhere at rest: not in the database, the
    // queue (sent mail stays in the outbox), the outbox, or any other file.
    assert_not_at_rest(
        &server,
        &[REPLY.as_bytes(), b"reply-attachment-marker-88aa"],
    );
}

/// Reply all: the sender and the organisation's other recipients, each with
/// an envelope of their own; an outside co-recipient is left out.
async fn reply_all_reaches_the_organisation_each_with_an_envelope(backend: Backend) {
    let server = common::start_with(backend, |config| {
        config.reply_domains = vec!["clinic.example".into()];
    })
    .await;
    register(&server, ID, &[BOB], None).await;
    account(&server, BOB, true, None).await;
    let text = envelope_with_headers(
        ID,
        "To: bob@example.net, nurse@clinic.example\r\nCc: carol@outside.example\r\n",
    );
    let (location, cookie) = open_view(&server, text).await;
    let form = page_text(
        &server,
        &format!("{location}/compose?kind=reply_all"),
        Some(&cookie),
    )
    .await;
    assert!(
        form.contains("alice@clinic.example, nurse@clinic.example"),
        "{form}"
    );
    assert!(form.contains("Not included") && form.contains("carol@outside.example"));
    let (status, page) = send_answer(
        &server,
        &location,
        &cookie,
        &[
            ("kind", "reply_all"),
            ("subject", "Re: all"),
            ("body", "To all of you."),
        ],
        &[],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let alice = envelopes_mailed_to(&server, "alice@clinic.example", 1).await;
    let nurse = envelopes_mailed_to(&server, "nurse@clinic.example", 1).await;
    let ids: Vec<String> = [&alice[0], &nurse[0]]
        .iter()
        .map(|page| {
            envelope_core::header_from_text(&envelope_text(page))
                .unwrap()
                .id
        })
        .collect();
    assert_ne!(
        ids[0], ids[1],
        "each recipient has an envelope (and key) of their own"
    );
    let dir = server.data_dir.path().join("outbox");
    let to_carol = walk(&dir)
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("carol@outside.example")
        })
        .count();
    assert_eq!(to_carol, 0, "the outside co-recipient gets nothing");
}

/// What the envelope's flags forbid, the server refuses — a forged post too —
/// and Forward reaches only the organisation unless the config allows more.
async fn restrictions_hold_whatever_the_page_posts(backend: Backend) {
    let (server, _) = ready(backend).await;
    let restricted = Flags {
        reply: false,
        reply_all: false,
        forward: false,
        ..Flags::default()
    };
    let text = envelope_with(ID, BOB, "http://127.0.0.1", SecurityLevel::High, restricted);
    let (location, cookie) = open_view(&server, text).await;
    let page = page_text(&server, &location, Some(&cookie)).await;
    assert!(
        !page.contains("compose?kind="),
        "no answer buttons on a restricted message"
    );
    for kind in ["reply", "reply_all", "forward"] {
        let form = get(
            &server,
            &format!("{location}/compose?kind={kind}"),
            Some(&cookie),
        )
        .await;
        assert_eq!(form.status(), 403);
        let (status, page) = send_answer(
            &server,
            &location,
            &cookie,
            &[
                ("kind", kind),
                ("to", "alice@clinic.example"),
                ("body", "forged"),
            ],
            &[],
        )
        .await;
        assert_eq!(status, 403, "{page}");
        assert!(page.contains("The sender does not allow"));
    }
    // Without the view's cookie, no compose page at all.
    let form = get(&server, &format!("{location}/compose?kind=reply"), None).await;
    assert_eq!(form.status(), 404);

    // A forwardable message: not to an outside address, nor past the limits.
    server.store.shred_key(ID).await.unwrap();
    let other = "fedcba9876543210fedcba9876543210";
    register(&server, other, &[BOB], None).await;
    let (location, cookie) = open_view(
        &server,
        envelope(other, BOB, "http://127.0.0.1", SecurityLevel::High),
    )
    .await;
    let (status, page) = send_answer(
        &server,
        &location,
        &cookie,
        &[
            ("kind", "forward"),
            ("to", "partner@elsewhere.example"),
            ("body", "fyi"),
        ],
        &[],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains("may not be sent to partner@elsewhere.example"),
        "{page}"
    );
    let eleven: Vec<(&str, Vec<u8>)> = (0..11).map(|_| ("f.txt", b"x".to_vec())).collect();
    let (status, page) = send_answer(
        &server,
        &location,
        &cookie,
        &[("kind", "reply"), ("body", "many files")],
        &eleven,
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("at most 10 files"), "{page}");
    assert!(
        walk(&server.data_dir.path().join("outbox")).is_empty(),
        "nothing was sent"
    );
}

/// Registers message [`ID`] for Bob (who gets an account) with every
/// answer forbidden, as `seal --no-reply --no-reply-all --no-forward` does;
/// returns the sender's token.
async fn restricted(server: &Server) -> String {
    let token = server.store.create_sender("clinic").await.unwrap();
    let mut body = common::message_to(ID, BOB, None);
    body["message"]["flags"] = serde_json::json!({"reply": false, "reply_all": false, "forward": false, "print": true, "read_receipt": false});
    let (status, answer) = common::post(server, Some(&token), &body).await;
    assert_eq!(status, 200, "{answer}");
    account(server, BOB, true, None).await;
    token
}

/// A recipient holds the content key, so they can re-seal their envelope
/// with a header that allows everything: the flags the sender registered
/// still decide. A reply that may go is counted on the sender's record.
async fn a_forged_header_cannot_lift_the_senders_restrictions(backend: Backend) {
    let server = common::start(backend).await;
    let token = restricted(&server).await;
    let forged = envelope_with(
        ID,
        BOB,
        "http://127.0.0.1",
        SecurityLevel::High,
        Flags::default(),
    );
    let (location, cookie) = open_view(&server, forged).await;
    let page = page_text(&server, &location, Some(&cookie)).await;
    assert!(!page.contains("compose?kind="), "no answer buttons: {page}");
    for kind in ["reply", "reply_all", "forward"] {
        let fields = [
            ("kind", kind),
            ("to", "alice@clinic.example"),
            ("body", "forged"),
        ];
        let (status, page) = send_answer(&server, &location, &cookie, &fields, &[]).await;
        assert_eq!(status, 403, "{kind}: {page}");
    }

    // A message that allows replies: each one sent is on the sender's record.
    let other = "fedcba9876543210fedcba9876543210";
    let (status, answer) =
        common::post(&server, Some(&token), &common::message_to(other, BOB, None)).await;
    assert_eq!(status, 200, "{answer}");
    let (location, cookie) = open_view(
        &server,
        envelope(other, BOB, "http://127.0.0.1", SecurityLevel::High),
    )
    .await;
    for _ in 0..2 {
        let fields = [("kind", "reply"), ("body", "Thank you.")];
        let (status, page) = send_answer(&server, &location, &cookie, &fields, &[]).await;
        assert_eq!(status, 200, "{page}");
    }
    let status: serde_json::Value = client()
        .get(format!("{}/api/v1/messages/{other}", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["envelopes"][0]["replies_sent"], 2, "{status}");
}

on_both_stores!(
    a_forged_header_cannot_lift_the_senders_restrictions,
    a_reply_is_a_secure_message_the_sender_opens,
    reply_all_reaches_the_organisation_each_with_an_envelope,
    restrictions_hold_whatever_the_page_posts,
);

on_both_stores!(
    the_senders_controls_apply_online,
    password_then_message_then_downloads,
    guesses_online_lock_the_account_for_key_release_too,
    what_cannot_be_opened_says_why,
    an_envelope_past_the_limit_is_refused_before_it_is_read,
    another_recipients_envelope_opens_nothing,
);

/// Key release as the envelope asks for it; returns the answer and the
/// answer token opened with the one-time key (None when none came).
async fn release_with_token(
    server: &Server,
    id: &str,
    recipient: &str,
) -> (serde_json::Value, Option<String>) {
    let request = envelope_core::KeyRequest::new();
    let body = serde_json::json!({
        "message_id": id,
        "recipient": recipient,
        "password": PASSWORD,
        "public_key": STANDARD.encode(request.public_key()),
    });
    let answer: serde_json::Value = client()
        .post(format!("{}/api/v1/keys/release", server.base))
        .header("Origin", "null")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(answer["ciphertext"].is_string(), "released: {answer}");
    let token = answer["answer"]["enc"].as_str().map(|enc| {
        let enc = STANDARD.decode(enc).unwrap();
        let ciphertext = STANDARD
            .decode(answer["answer"]["ciphertext"].as_str().unwrap())
            .unwrap();
        let token = request
            .open_answer_token(id, &enc, &ciphertext)
            .expect("the token opens with the one-time key");
        String::from_utf8(token).unwrap()
    });
    (answer, token)
}

/// Posts the envelope's form as an answer button does; returns the status,
/// where the page moves on to (its refresh, else the page itself) and the
/// view's cookie.
async fn post_answer(
    server: &Server,
    text: &str,
    token: Option<&str>,
    kind: &str,
) -> (u16, String, Option<String>) {
    let mut form = multipart::Form::new()
        .text("lang", "en")
        .text("kind", kind.to_string())
        .part("envelope", multipart::Part::text(text.to_string()));
    if let Some(token) = token {
        form = form.text("token", token.to_string());
    }
    let response = client()
        .post(format!("{}/open/answer", server.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
    let body = response.text().await.unwrap();
    let next = body
        .split_once("http-equiv=\"refresh\" content=\"0; url=")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(url, _)| url.replace("&#x2f;", "/").replace("&amp;", "&"));
    (status, next.unwrap_or(body), cookie)
}

/// Reply from the envelope itself: key release gives a token, sealed to the
/// opener's one-time key, that leads to the compose page; nothing else does
/// — no token, a made-up one, a co-recipient's, one for another message, a
/// kind the sender forbade, a message withdrawn since.
async fn an_answer_from_the_envelope_needs_its_token(backend: Backend) {
    const CAROL: &str = "carol@example.org";
    const CAROLS: &str = "c0ffee00c0ffee00c0ffee00c0ffee00";
    const NO_FORWARD: &str = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f";
    let server = common::start(backend).await;
    register(&server, ID, &[BOB], None).await;
    register(&server, CAROLS, &[CAROL], None).await;
    account(&server, BOB, true, None).await;
    account(&server, CAROL, true, None).await;
    let bobs = envelope(ID, BOB, "http://127.0.0.1", SecurityLevel::High);
    let carols = envelope(CAROLS, CAROL, "http://127.0.0.1", SecurityLevel::High);

    let (answer, token) = release_with_token(&server, ID, BOB).await;
    assert_eq!(
        answer["answer"]["kinds"],
        serde_json::json!(["reply", "reply_all", "forward"])
    );
    let token = token.expect("a token came with the key");
    let (_, carols_token) = release_with_token(&server, CAROLS, CAROL).await;
    let carols_token = carols_token.unwrap();

    // The token leads to the compose page of a view of this message.
    let (status, location, cookie) = post_answer(&server, &bobs, Some(&token), "reply").await;
    assert_eq!(status, 200, "{location}");
    assert!(
        location.starts_with("/open/view/") && location.ends_with("/compose?kind=reply"),
        "{location}"
    );
    let cookie = cookie.expect("the view's cookie");
    let page = get(&server, &location, Some(&cookie)).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains(&format!("Re: Your results {MARKER}")),
        "{page}"
    );
    assert!(page.contains("alice@clinic.example"), "{page}");
    // …and the reply goes, as from Open Online.
    let view = location.trim_end_matches("/compose?kind=reply");
    let fields = [("kind", "reply"), ("body", "Thank you, received.")];
    let (status, page) = send_answer(&server, view, &cookie, &fields, &[]).await;
    assert_eq!(status, 200, "{page}");
    envelopes_mailed_to(&server, "alice@clinic.example", 1).await;

    // What an attacker can post instead gets nowhere.
    let made_up = URL_SAFE_NO_PAD.encode([7u8; 48]);
    for (what, text, token) in [
        ("no token", &bobs, None),
        ("a made-up token", &bobs, Some(made_up.as_str())),
        (
            "Bob's token on Carol's envelope",
            &carols,
            Some(token.as_str()),
        ),
        (
            "Carol's token on Bob's envelope",
            &bobs,
            Some(carols_token.as_str()),
        ),
    ] {
        let (status, page, cookie) = post_answer(&server, text, token, "reply").await;
        assert_eq!(status, 403, "{what}: {page}");
        assert!(
            page.contains("Open the message with your password first"),
            "{what}: {page}"
        );
        assert!(cookie.is_none(), "{what}: no view");
    }
    let (status, page, _) = post_answer(&server, &bobs, Some(&token), "delete_all").await;
    assert_eq!(status, 400, "{page}");

    // A kind the sender forbade: not offered, and refused when posted.
    let sender = server.store.create_sender("no-forward").await.unwrap();
    let mut body = common::message_to(NO_FORWARD, BOB, None);
    body["message"]["flags"]["forward"] = serde_json::json!(false);
    let (status, answer) = common::post(&server, Some(&sender), &body).await;
    assert_eq!(status, 200, "{answer}");
    let (answer, token_nf) = release_with_token(&server, NO_FORWARD, BOB).await;
    assert_eq!(
        answer["answer"]["kinds"],
        serde_json::json!(["reply", "reply_all"])
    );
    let no_forward = envelope(NO_FORWARD, BOB, "http://127.0.0.1", SecurityLevel::High);
    let (status, page, _) = post_answer(&server, &no_forward, token_nf.as_deref(), "forward").await;
    assert_eq!(status, 403, "{page}");
    assert!(
        page.contains("does not allow this message to be forwarded"),
        "{page}"
    );

    // Withdrawn since the token was given: the token opens nothing.
    server.store.shred_key(ID).await.unwrap();
    let (status, page, cookie) = post_answer(&server, &bobs, Some(&token), "reply").await;
    assert_eq!(status, 410, "{page}");
    assert!(cookie.is_none());
}

/// A message that allows no answer gets no token at all.
async fn no_answer_allowed_no_token(backend: Backend) {
    let server = common::start(backend).await;
    restricted(&server).await;
    let (answer, token) = release_with_token(&server, ID, BOB).await;
    assert!(
        token.is_none() && answer.get("answer").is_none(),
        "{answer}"
    );
}

on_both_stores!(
    an_answer_from_the_envelope_needs_its_token,
    no_answer_allowed_no_token,
);

/// `internal_answers_plain`: a Forward to an internal and an outside address
/// reaches the internal one as ordinary mail through the relay (body and
/// attachment as written) and the outside one as a secure envelope; neither
/// leaves the answer's plaintext in the data directory or the queue. Without
/// a relay the setting is refused at start: an outbox file would keep it.
async fn answers_to_internal_addresses_go_plain_when_configured(backend: Backend) {
    const BODY: &str = "internal-answer-marker-5e2b";
    const FILE: &[u8] = b"internal-attachment-marker-90dd";
    let port = common::closed_port();
    let mut relay = common::smtp_sink(port).await;
    let server = common::start_with(backend, |config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        config.reply_domains = vec!["clinic.example".into()];
        config.forward_outside = true;
        config.internal_domains = vec!["Clinic.Example".into()];
        config.internal_answers_plain = true;
    })
    .await;
    let (location, cookie) = open_view(&server, bobs_envelope(&server).await).await;
    let fields = [
        ("kind", "forward"),
        ("to", "alice@clinic.example, partner@elsewhere.example"),
        ("body", BODY),
    ];
    let files = [("note.txt", FILE.to_vec())];
    let (status, page) = send_answer(&server, &location, &cookie, &fields, &files).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("delivered to alice@clinic.example through the organisation"),
        "{page}"
    );
    assert!(
        page.contains("sent securely to partner@elsewhere.example"),
        "{page}"
    );

    let mut plain = None;
    let mut notification = None;
    for _ in 0..2 {
        let data = tokio::time::timeout(std::time::Duration::from_secs(20), relay.recv())
            .await
            .expect("the relay gets both mails")
            .unwrap();
        let mail = mail_parser::MessageParser::default()
            .parse(data.as_bytes())
            .unwrap();
        let to = mail
            .to()
            .unwrap()
            .first()
            .unwrap()
            .address()
            .unwrap()
            .to_string();
        if data.contains(BODY) {
            plain = Some(mail.attachments().next().unwrap().contents().to_vec());
        } else {
            assert!(
                mail.attachments().next().is_some(),
                "a notification with its envelope"
            );
            notification = Some(to);
        }
    }
    assert_eq!(
        plain.as_deref(),
        Some(FILE),
        "the internal mail carries the file"
    );
    assert_eq!(notification.as_deref(), Some("partner@elsewhere.example"));
    assert_not_at_rest(&server, &[BODY.as_bytes(), FILE]);

    // No relay: refused at start, with what to do.
    let mut config = key_server::Config {
        internal_domains: vec!["clinic.example".into()],
        internal_answers_plain: true,
        ..Default::default()
    };
    let error = config.plain_answer_domains().unwrap_err().to_string();
    assert!(error.contains("set smtp_url"), "{error}");
    config.smtp_url = Some("smtp://127.0.0.1:25".into());
    config.internal_domains.clear();
    let error = config.plain_answer_domains().unwrap_err().to_string();
    assert!(error.contains("needs internal_domains"), "{error}");
}

on_both_stores!(answers_to_internal_addresses_go_plain_when_configured);
