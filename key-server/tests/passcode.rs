//! One-time passcodes (docs/PORTAL.md, "One-time passcode"), over real
//! HTTP on SQLite and PostgreSQL: a recipient without an account asks for
//! a code, reads it in the mail and opens that one message with it, in the
//! envelope (key release) and in the portal. And the attacker's moves: a
//! burst of guesses on one code compares at most five times, then the code
//! is dead even to the right guess; a code expires after 15 minutes, opens
//! once, is voided by a newer one and opens only its own message; a burst
//! of "Send me a code" mails at most the per-address limit; the answer to
//! "Send me a code" is the same whoever asks; a password account's message
//! does not open with a code; the code is never kept at rest or audited.

mod common;
mod pages_support;
mod portal_support;

use common::{
    account, post, release, release_with, sealed_bytes, start, start_with, upload, Backend, Server,
    KEY, PASSWORD,
};
use envelope_core::{Flags, SecurityLevel};
use key_server::FirstContact;
use pages_support::{no_mail, outbox};
use portal_support::Portal;
use serde_json::{json, Value};

const BOB: &str = "bob@example.net";
const CAROL: &str = "carol@example.net";

fn id(seed: char) -> String {
    seed.to_string().repeat(32)
}

/// Registers envelope `id` for `to`, read by one-time passcode when
/// `passcode`; the sender token and the key server's answer.
async fn register(server: &Server, id: &str, to: &str, passcode: bool) -> (String, Value) {
    let token = server
        .store
        .create_sender(&format!("sender-{id}"))
        .await
        .unwrap();
    let mut body = common::message_to(id, to, None);
    if passcode {
        body["message"]["passcode"] = json!(true);
    }
    let (status, answer) = post(server, Some(&token), &body).await;
    assert_eq!(status, 200, "{answer}");
    (token, answer)
}

/// `POST /api/v1/keys/passcode`: the status and the body.
async fn ask(server: &Server, id: &str, recipient: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/keys/passcode", server.base))
        .header("Origin", "null")
        .json(&json!({ "message_id": id, "recipient": recipient, "lang": "en" }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The 8-digit code in a passcode mail's text.
fn code_in(body: &str) -> String {
    let line = body
        .lines()
        .find(|l| l.starts_with("Your code:"))
        .unwrap_or_else(|| panic!("no code in {body}"));
    let code = line["Your code:".len()..].trim().to_string();
    assert_eq!(code.len(), 8, "{line}");
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{line}");
    code
}

/// Waits until the outbox holds `n` whole code mails (the worker writes a
/// file in several steps: one counts once it parses and its last sentence
/// is there), then takes them all: (to, subject, text).
async fn code_mails(server: &Server, n: usize) -> Vec<(String, String, String)> {
    let dir = server.data_dir.path().join("outbox");
    let whole = |path: &std::path::Path| {
        let bytes = std::fs::read(path).ok()?;
        let message = mail_parser::MessageParser::default().parse(&bytes)?;
        let text = message.body_text(0)?.to_string();
        text.contains("Never give this code").then_some(())
    };
    for _ in 0..200 {
        let files: Vec<_> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        if files.len() >= n && files.iter().all(|p| whole(p).is_some()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mails = outbox(server);
    assert_eq!(mails.len(), n, "mails in the outbox");
    mails
}

/// Asks for a code for `to` and reads it from the one mail that comes.
async fn mailed_code(server: &Server, id: &str, to: &str) -> String {
    let (status, _) = ask(server, id, to).await;
    assert_eq!(status, 202);
    let mails = code_mails(server, 1).await;
    let (mail_to, subject, body) = &mails[0];
    assert_eq!(mail_to, to);
    assert_eq!(subject, "Your one-time code for a secure message");
    assert!(body.contains("15 minutes"), "{body}");
    code_in(body)
}

async fn by_code(server: &Server, id: &str, to: &str, code: &str) -> (u16, Value, Option<Vec<u8>>) {
    release_with(server, id, to, json!({ "passcode": code })).await
}

async fn pool(server: &Server) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(&server.database_url).await.unwrap()
}

/// How many attempts the audit trail counts with `outcome`.
async fn audited(server: &Server, outcome: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM audit WHERE outcome = $1",
    )
    .bind(outcome)
    .fetch_one(&pool(server).await)
    .await
    .unwrap();
    n
}

async fn queued_codes(server: &Server) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'passcode'")
        .fetch_one(&pool(server).await)
        .await
        .unwrap();
    n
}

/// A code that is surely not `code`.
fn other_than(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:08}", (n + 1) % 100_000_000)
}

async fn a_new_recipient_reads_a_passcode_message_with_the_mailed_code(backend: Backend) {
    let server = start(backend).await;
    let a = id('a');
    let (_, answer) = register(&server, &a, BOB, true).await;
    assert_eq!(answer["envelopes"][0]["passcode"], true, "{answer}");
    assert_eq!(answer["envelopes"][0]["registered"], false);

    // The opener asks first: no account, and a code instead.
    let (status, body) = pages_support::status(&server, &a, BOB).await;
    assert_eq!(status, 200);
    assert_eq!(body["passcode"], true, "{body}");
    assert_eq!(body["registered"], false);
    assert_eq!(body["security"], "high");

    let code = mailed_code(&server, &a, BOB).await;
    // Typed as people do, with a space in the middle.
    let typed = format!("{} {}", &code[..4], &code[4..]);
    let (status, body, key) = by_code(&server, &a, BOB, &typed).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(key.unwrap(), KEY.to_vec());
    assert!(
        body.get("answer").is_none(),
        "a code reads; it does not answer: {body}"
    );
    assert_eq!(audited(&server, "passcode_sent").await, 1);
    assert_eq!(audited(&server, "passcode_released").await, 1);

    // Single use: the same code again is refused.
    let (status, body, _) = by_code(&server, &a, BOB, &code).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "passcode_expired");

    // The code is kept nowhere: not in the audit trail, not in the
    // database (its mail went out and left the queue; the outbox is the
    // mailbox, read and emptied above).
    let rows: Vec<(Option<String>, Option<String>, String, String)> =
        sqlx::query_as("SELECT account, message_id, client, outcome FROM audit")
            .fetch_all(&pool(&server).await)
            .await
            .unwrap();
    assert!(!rows.is_empty());
    for row in &rows {
        assert!(!format!("{row:?}").contains(&code), "{row:?}");
    }
    for _ in 0..50 {
        if server.store.mail_queue_depth().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    common::assert_not_at_rest(&server, &[code.as_bytes()]);
}

async fn fifty_parallel_guesses_compare_five_times_then_the_code_is_dead(backend: Backend) {
    let server = start(backend).await;
    let a = id('a');
    register(&server, &a, BOB, true).await;
    let code = mailed_code(&server, &a, BOB).await;
    let wrong = other_than(&code);
    let guesses = (0..50).map(|_| by_code(&server, &a, BOB, &wrong));
    let answers = futures_join(guesses).await;
    let wrong_answers = answers
        .iter()
        .filter(|(_, body, _)| body["error"] == "wrong_passcode")
        .count();
    let dead = answers
        .iter()
        .filter(|(_, body, _)| body["error"] == "passcode_expired")
        .count();
    assert_eq!(wrong_answers, 5, "at most five comparisons");
    assert_eq!(dead, 45);
    assert!(answers.iter().all(|(status, _, _)| *status == 401));
    // The audit trail agrees: five compared, the rest refused before.
    assert_eq!(audited(&server, "wrong_passcode").await, 5);
    assert_eq!(audited(&server, "passcode_expired").await, 45);
    // Dead even for the right code now.
    let (status, body, key) = by_code(&server, &a, BOB, &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("passcode_expired"))
    );
    assert!(key.is_none());
    assert_eq!(audited(&server, "passcode_released").await, 0);
}

/// Runs the futures together: their requests are all in flight at once,
/// and the server (its own tasks, two worker threads) handles them in
/// parallel.
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    join_all(futures.map(Box::pin).collect()).await
}

/// A minimal join_all: polls every future until all are done.
async fn join_all<F: std::future::Future + Unpin>(mut futures: Vec<F>) -> Vec<F::Output> {
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match std::pin::Pin::new(future).poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

async fn a_code_expires_after_fifteen_minutes(backend: Backend) {
    let server = start(backend).await;
    let a = id('a');
    register(&server, &a, BOB, true).await;
    let code = mailed_code(&server, &a, BOB).await;
    server.advance(15 * 60 + 1);
    let (status, body, key) = by_code(&server, &a, BOB, &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("passcode_expired")),
        "{body}"
    );
    assert!(key.is_none());
    // A new code works again.
    let code = mailed_code(&server, &a, BOB).await;
    let (status, body, _) = by_code(&server, &a, BOB, &code).await;
    assert_eq!(status, 200, "{body}");
    // The sweep deletes the rows an hour after they expire.
    server.advance(15 * 60 + 3600 + 1);
    let config = key_server::Config {
        database_url: Some(server.database_url.clone()),
        ..key_server::Config::default()
    };
    key_server::sweep_once(&server.store, &config).await;
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM passcodes")
        .fetch_one(&pool(&server).await)
        .await
        .unwrap();
    assert_eq!(rows, 0, "swept");
}

async fn a_new_code_voids_the_old_one(backend: Backend) {
    let server = start(backend).await;
    let a = id('a');
    register(&server, &a, BOB, true).await;
    let first = mailed_code(&server, &a, BOB).await;
    let second = mailed_code(&server, &a, BOB).await;
    if first != second {
        let (status, body, _) = by_code(&server, &a, BOB, &first).await;
        assert_eq!(status, 401, "{body}");
    }
    let (status, body, key) = by_code(&server, &a, BOB, &second).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(key.unwrap(), KEY.to_vec());
}

async fn a_code_opens_only_its_own_message(backend: Backend) {
    let server = start(backend).await;
    let (a, b) = (id('a'), id('b'));
    register(&server, &a, BOB, true).await;
    register(&server, &b, BOB, true).await;
    let code_a = mailed_code(&server, &a, BOB).await;
    // B has no code yet: A's opens nothing there.
    let (status, body, key) = by_code(&server, &b, BOB, &code_a).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("passcode_expired")),
        "{body}"
    );
    assert!(key.is_none());
    // With a code of its own, A's is still wrong for B.
    let code_b = mailed_code(&server, &b, BOB).await;
    if code_a != code_b {
        let (status, body, _) = by_code(&server, &b, BOB, &code_a).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("wrong_passcode"))
        );
        assert_eq!(body["attempts_left"], 4);
    }
    // Nor does anyone else's address open A with it.
    register(&server, &id('c'), CAROL, true).await;
    let (status, body, _) = by_code(&server, &a, CAROL, &code_a).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("not_a_recipient"))
    );
    // Each opens its own.
    let (status, _, _) = by_code(&server, &a, BOB, &code_a).await;
    assert_eq!(status, 200);
    let (status, _, _) = by_code(&server, &b, BOB, &code_b).await;
    assert_eq!(status, 200);
}

async fn a_burst_of_requests_mails_at_most_the_limit(backend: Backend) {
    let server = start(backend).await;
    let a = id('a');
    register(&server, &a, BOB, true).await;
    let answers = futures_join((0..20).map(|_| ask(&server, &a, BOB))).await;
    assert!(answers.iter().all(|(status, _)| *status == 202));
    assert_eq!(
        queued_codes(&server).await,
        5,
        "five codes an hour per address"
    );
    assert_eq!(audited(&server, "passcode_sent").await, 5);
    assert_eq!(audited(&server, "passcode_rate_limited").await, 15);
    code_mails(&server, 5).await;
    // An hour later the address gets codes again.
    server.advance(3601);
    mailed_code(&server, &a, BOB).await;
}

async fn asking_for_a_code_answers_the_same_to_everyone(backend: Backend) {
    let server = start(backend).await;
    let (a, b) = (id('a'), id('b'));
    register(&server, &a, BOB, true).await;
    account(&server, CAROL, true, None).await;
    register(&server, &b, CAROL, false).await;
    let real = ask(&server, &a, BOB).await;
    let made_up_address = ask(&server, &a, "mallory@example.org").await;
    let not_by_code = ask(&server, &b, CAROL).await;
    let unknown_message = ask(&server, &id('f'), BOB).await;
    assert_eq!(real.0, 202);
    for other in [&made_up_address, &not_by_code, &unknown_message] {
        assert_eq!(other, &real, "same status and body");
    }
    // Only the real one was mailed, and only it names anyone in the audit.
    let mails = code_mails(&server, 1).await;
    assert_eq!(mails[0].0, BOB);
    assert_eq!(audited(&server, "passcode_request").await, 3);
    let (named,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM audit WHERE outcome = 'passcode_request' AND (account IS NOT NULL OR message_id IS NOT NULL)",
    )
    .fetch_one(&pool(&server).await)
    .await
    .unwrap();
    assert_eq!(named, 0);
    // Junk gets the contract's refusal, as every API call does.
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/keys/passcode", server.base))
        .json(&json!({ "message_id": "nope", "recipient": BOB }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
}

async fn a_password_accounts_message_does_not_open_with_a_code(backend: Backend) {
    let server = start(backend).await;
    let b = id('b');
    account(&server, CAROL, true, None).await;
    let (_, answer) = register(&server, &b, CAROL, false).await;
    assert_eq!(answer["envelopes"][0]["passcode"], false);
    let (_, body) = pages_support::status(&server, &b, CAROL).await;
    assert_eq!(body["passcode"], false);
    let (status, _) = ask(&server, &b, CAROL).await;
    assert_eq!(status, 202);
    no_mail(&server).await;
    for guess in ["12345678", "00000000"] {
        let (status, body, key) = by_code(&server, &b, CAROL, guess).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"], "bad_request");
        assert!(key.is_none());
    }
    // A code does not come with a password either.
    let (status, _, _) = release_with(
        &server,
        &b,
        CAROL,
        json!({ "passcode": "12345678", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _, key) = release(&server, &b, CAROL, PASSWORD).await;
    assert_eq!(status, 200);
    assert_eq!(key.unwrap(), KEY.to_vec());
}

async fn first_contact_passcode_makes_messages_to_new_addresses_passcode_ones(backend: Backend) {
    let server = start_with(backend, |config| {
        config.portal.first_contact = FirstContact::Passcode;
    })
    .await;
    account(&server, CAROL, true, None).await;
    let (a, b, c) = (id('a'), id('b'), id('c'));
    let (_, to_bob) = register(&server, &a, BOB, false).await;
    let (_, to_carol) = register(&server, &b, CAROL, false).await;
    assert_eq!(to_bob["envelopes"][0]["passcode"], true, "{to_bob}");
    assert_eq!(to_carol["envelopes"][0]["passcode"], false, "{to_carol}");
    // A low-security message needs no secret at all: no code either.
    let token = server.store.create_sender("low").await.unwrap();
    let mut body = common::message_to(&c, BOB, None);
    body["message"]["security"] = json!("low");
    let (_, low) = post(&server, Some(&token), &body).await;
    assert_eq!(low["envelopes"][0]["passcode"], false, "{low}");

    let code = mailed_code(&server, &a, BOB).await;
    let (status, _, key) = by_code(&server, &a, BOB, &code).await;
    assert_eq!(status, 200);
    assert_eq!(key.unwrap(), KEY.to_vec());
    let (status, _, _) = release(&server, &b, CAROL, PASSWORD).await;
    assert_eq!(status, 200);
}

/// Envelope `id` for `to`, read by code, stored for pull delivery.
async fn pulled(server: &Server, id: &str, to: &str) {
    let (token, _) = register(server, id, to, true).await;
    let message = format!(
        "From: alice@clinic.example\r\nTo: {to}\r\nSubject: Results {id}\r\n\r\nHello, marker-{id}.\r\n"
    );
    let bytes = sealed_bytes(
        id,
        to,
        "http://127.0.0.1",
        SecurityLevel::High,
        Flags {
            reply: true,
            ..Flags::default()
        },
        message.as_bytes(),
    );
    let (status, answer) = upload(server, Some(&token), id, bytes).await;
    assert_eq!(status, 201, "{answer}");
}

async fn the_portal_reads_one_pull_message_with_a_code(backend: Backend) {
    let server = start(backend).await;
    let (a, b) = (id('a'), id('b'));
    pulled(&server, &a, BOB).await;
    pulled(&server, &b, BOB).await;
    let mut portal = Portal::new(&server);
    let next = format!("/portal/m/{a}");
    let step = portal
        .post("/portal/login", &[("email", BOB), ("next", &next)])
        .await;
    assert_eq!(step.status, 200);
    assert!(step.body.contains("Send me a code"), "{}", step.body);
    assert!(!step.body.contains("name=\"password\""));

    let sent = portal
        .post("/portal/passcode/send", &[("email", BOB), ("next", &next)])
        .await;
    assert_eq!(sent.status, 200);
    assert!(
        sent.body
            .contains("We sent a code to bob@example.net. It is valid for 15 minutes."),
        "{}",
        sent.body
    );
    assert!(sent.body.contains("autocomplete=\"one-time-code\""));
    let code = code_in(&code_mails(&server, 1).await[0].2);

    // A wrong code says so, and how many tries are left.
    let wrong = portal
        .post(
            "/portal/passcode",
            &[
                ("email", BOB),
                ("next", &next),
                ("code", &other_than(&code)),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("Wrong code"), "{}", wrong.body);
    assert!(wrong.body.contains("4 more tries"), "{}", wrong.body);
    assert!(portal.cookie.is_none());

    let right = portal
        .post(
            "/portal/passcode",
            &[("email", BOB), ("next", &next), ("code", &code)],
        )
        .await;
    assert_eq!(right.status, 303, "{}", right.body);
    assert_eq!(right.location.as_deref(), Some(next.as_str()));
    let page = portal.get(&next).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&format!("marker-{a}")), "{}", page.body);
    assert!(page.body.contains("one-time code"));
    assert!(!page.body.contains("/portal/inbox\""), "no Inbox link");
    assert!(!page.body.contains("/compose"), "no answers: {}", page.body);
    assert!(page.body.contains("/portal/logout"));
    let eml = portal.get(&format!("{next}/message.eml")).await;
    assert_eq!(eml.status, 200);
    assert!(eml.body.contains(&format!("marker-{a}")));

    // That one message, nothing else.
    for elsewhere in [
        format!("/portal/m/{b}"),
        format!("/portal/m/{b}/message.eml"),
        "/portal/inbox".to_string(),
        "/portal/preferences".to_string(),
        "/portal/contacts".to_string(),
    ] {
        let page = portal.get(&elsewhere).await;
        assert_eq!(page.status, 403, "{elsewhere}: {}", page.body);
        assert!(!page.body.contains(&format!("marker-{b}")));
    }
    // No answer either: the compose page and its post are refused.
    let compose = portal.get(&format!("{next}/compose?kind=reply")).await;
    assert_eq!(compose.status, 403, "{}", compose.body);
    let csrf = Portal::csrf(&page.body);
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("kind", "reply")
        .text("body", "a reply");
    let answer = portal
        .post_multipart(&format!("{next}/compose"), form)
        .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    let zip = portal.get(&format!("{next}/attachments.zip")).await;
    assert_eq!(zip.status, 200, "its downloads, yes");
    let delete = portal
        .post(&format!("/portal/m/{a}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(delete.status, 403, "{}", delete.body);
    assert_eq!(audited(&server, "portal_passcode_login").await, 1);
    assert_eq!(audited(&server, "wrong_passcode").await, 1);

    // The code is used: a second browser cannot log in with it.
    let mut other = Portal::new(&server);
    let again = other
        .post(
            "/portal/passcode",
            &[("email", BOB), ("next", &next), ("code", &code)],
        )
        .await;
    assert_eq!(again.status, 401);
    assert!(other.cookie.is_none());

    // Log out works for such a session, and it is over.
    let out = portal.post("/portal/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert!(portal.cookie.is_none());
    let after = portal.get(&format!("{next}?c=1")).await;
    assert_eq!(after.status, 303);
    assert!(after.location.unwrap().starts_with("/portal/login"));
}

async fn the_portal_offers_a_code_only_to_a_passcode_recipient(backend: Backend) {
    let server = start(backend).await;
    let a = id('a');
    account(&server, CAROL, true, None).await;
    common::pull(&server, &a, CAROL).await;
    let mut portal = Portal::new(&server);
    let next = format!("/portal/m/{a}");
    for email in [CAROL, BOB] {
        let step = portal
            .post("/portal/login", &[("email", email), ("next", &next)])
            .await;
        assert!(step.body.contains("name=\"password\""), "{}", step.body);
        assert!(!step.body.contains("Send me a code"));
    }
    // A forged code post names nobody and opens nothing.
    let forged = portal
        .post(
            "/portal/passcode",
            &[("email", CAROL), ("next", &next), ("code", "12345678")],
        )
        .await;
    assert_eq!(forged.status, 401);
    assert!(portal.cookie.is_none());
    let sent = portal
        .post(
            "/portal/passcode/send",
            &[("email", CAROL), ("next", &next)],
        )
        .await;
    assert_eq!(sent.status, 200);
    no_mail(&server).await;
    assert!(outbox(&server).is_empty());
}

/// A post to Open Online (no redirects followed): status, location or
/// page, and the cookie set. `multipart`: the envelope's form; else the
/// unlock page's form with `fields`.
async fn online(
    server: &Server,
    path: &str,
    fields: &[(&str, &str)],
    multipart: Option<reqwest::multipart::Form>,
) -> (u16, String, Option<String>) {
    let request = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}{path}", server.base));
    let response = match multipart {
        Some(form) => request.multipart(form),
        None => request.form(fields),
    }
    .send()
    .await
    .unwrap();
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (location, cookie) = (header("location"), header("set-cookie"));
    let body = response.text().await.unwrap();
    (status, location.unwrap_or(body), cookie)
}

async fn open_online_asks_a_passcode_recipient_for_a_code(backend: Backend) {
    let server = start(backend).await;
    let a = id('a');
    register(&server, &a, BOB, true).await;
    let text = envelope_core::to_text(&sealed_bytes(
        &a,
        BOB,
        "http://127.0.0.1",
        SecurityLevel::High,
        Flags::default(),
        format!("From: alice@clinic.example\r\nTo: {BOB}\r\nSubject: Online\r\n\r\nOnline marker 41b7.\r\n").as_bytes(),
    ));
    let posted = reqwest::multipart::Form::new()
        .text("lang", "en")
        .text("envelope", text);
    let (status, page, _) = online(&server, "/open", &[], Some(posted)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Send me a code"), "{page}");
    assert!(!page.contains("type=\"password\""), "no password field");
    let at = page.find("name=\"handle\" value=\"").unwrap() + 21;
    let handle = page[at..at + 64].to_string();

    let (status, page, _) = online(
        &server,
        "/open/unlock",
        &[("handle", &handle), ("send", "first")],
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("We sent a code to bob@example.net. It is valid for 15 minutes."));
    assert!(page.contains("autocomplete=\"one-time-code\""));
    let code = code_in(&code_mails(&server, 1).await[0].2);

    let (status, page, _) = online(
        &server,
        "/open/unlock",
        &[("handle", &handle), ("passcode", &other_than(&code))],
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        page.contains("Wrong code.") && page.contains("4 more tries"),
        "{page}"
    );
    assert!(
        page.contains("autocomplete=\"one-time-code\""),
        "the code field stays"
    );

    let (status, location, cookie) = online(
        &server,
        "/open/unlock",
        &[("handle", &handle), ("passcode", &code)],
        None,
    )
    .await;
    assert_eq!(status, 303, "{location}");
    assert!(location.starts_with("/open/view/"));
    let view = reqwest::Client::new()
        .get(format!("{}{location}", server.base))
        .header("cookie", cookie.unwrap().split(';').next().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(view.contains("Online marker 41b7."), "{view}");
    assert_eq!(audited(&server, "passcode_released").await, 1);
    // A password does not stand in for the code on this page.
    let (status, _, _) = online(
        &server,
        "/open/unlock",
        &[("handle", &handle), ("password", PASSWORD)],
        None,
    )
    .await;
    assert_ne!(status, 303);
}

async fn a_disabled_account_gets_no_key_by_code(backend: Backend) {
    let server = start(backend).await;
    let a = id('a');
    account(&server, BOB, true, None).await;
    register(&server, &a, BOB, true).await;
    let code = mailed_code(&server, &a, BOB).await;
    assert!(server.store.set_account_disabled(BOB, true).await.unwrap());
    let (status, body, key) = by_code(&server, &a, BOB, &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("disabled")),
        "{body}"
    );
    assert!(key.is_none());
    // Enabled again, the same code (not used up) opens.
    assert!(server.store.set_account_disabled(BOB, false).await.unwrap());
    let (status, _, key) = by_code(&server, &a, BOB, &code).await;
    assert_eq!(status, 200);
    assert_eq!(key.unwrap(), KEY.to_vec());
}

async fn an_account_reset_or_delete_clears_its_codes(backend: Backend) {
    let server = start(backend).await;
    let (a, b) = (id('a'), id('b'));
    register(&server, &a, BOB, true).await;
    let code = mailed_code(&server, &a, BOB).await;
    server.store.reset_account(BOB).await.unwrap();
    let (status, body, _) = by_code(&server, &a, BOB, &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("passcode_expired"))
    );
    register(&server, &b, CAROL, true).await;
    mailed_code(&server, &b, CAROL).await;
    server.store.delete_account(CAROL).await.unwrap();
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM passcodes WHERE address = $1")
        .bind(CAROL)
        .fetch_one(&pool(&server).await)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

on_both_stores!(
    a_disabled_account_gets_no_key_by_code,
    an_account_reset_or_delete_clears_its_codes,
    open_online_asks_a_passcode_recipient_for_a_code,
    a_new_recipient_reads_a_passcode_message_with_the_mailed_code,
    fifty_parallel_guesses_compare_five_times_then_the_code_is_dead,
    a_code_expires_after_fifteen_minutes,
    a_new_code_voids_the_old_one,
    a_code_opens_only_its_own_message,
    a_burst_of_requests_mails_at_most_the_limit,
    asking_for_a_code_answers_the_same_to_everyone,
    a_password_accounts_message_does_not_open_with_a_code,
    first_contact_passcode_makes_messages_to_new_addresses_passcode_ones,
    the_portal_reads_one_pull_message_with_a_code,
    the_portal_offers_a_code_only_to_a_passcode_recipient,
);
