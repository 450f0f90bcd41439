//! The portal's sessions and reading, over real HTTP on SQLite and
//! PostgreSQL: the pull journey (link → continue → two-step login → the
//! message, its attachment and .eml → Inbox → Log out), and the attacker's
//! moves — enumeration through the login form, guesses that share key
//! release's lock, forms from another site, a planted cookie, replay after
//! logout and after a password change, another person's message, and the
//! clock moved past the idle and absolute limits.

mod common;
mod pages_support;
mod portal_support;

use common::{
    account, registered, sealed_bytes, start, start_with, upload, Backend, Server, PASSWORD,
};
use envelope_core::{Flags, SecurityLevel};
use portal_support::Portal;

const BOB: &str = "bob@example.net";
const CAROL: &str = "carol@example.net";
const MARKER: &str = "portal-marker-5d1c";
const ATTACHMENT: &[u8] = b"%PDF-1.4 results portal-marker-5d1c";

fn message() -> Vec<u8> {
    use base64::Engine;
    format!(
        "From: Alice <alice@clinic.example>\r\nTo: {BOB}\r\nSubject: Results {MARKER}\r\n\
         Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
         <p onmouseover=\"alert(1)\">Hello Bob, {MARKER}.</p><script>alert(2)</script>\
         <img src=\"https://tracker.example/pixel.gif\" alt=\"\">\r\n\
         --b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"results.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        base64::engine::general_purpose::STANDARD.encode(ATTACHMENT)
    )
    .into_bytes()
}

/// A message whose attachments' names are hostile or collide.
fn message_with_names(names: &[&str]) -> Vec<u8> {
    let mut parts = String::new();
    for (n, name) in names.iter().enumerate() {
        parts.push_str(&format!(
            "--b1\r\nContent-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\r\npart {n}\r\n"
        ));
    }
    format!(
        "From: alice@clinic.example\r\nTo: {BOB}\r\nSubject: Names\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nSee the files.\r\n{parts}--b1--\r\n"
    )
    .into_bytes()
}

/// The names and contents in a .zip.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|n| {
            let mut file = archive.by_index(n).unwrap();
            let mut content = Vec::new();
            file.read_to_end(&mut content).unwrap();
            (file.name().unwrap().to_string(), content)
        })
        .collect()
}

fn envelope_id(seed: char) -> String {
    seed.to_string().repeat(32)
}

/// Message `id` for `to`, registered and stored for pull; the sender token.
async fn pulled(server: &Server, id: &str, to: &str, expires: Option<i64>) -> String {
    pulled_message(server, id, to, expires, &message()).await
}

async fn pulled_message(
    server: &Server,
    id: &str,
    to: &str,
    expires: Option<i64>,
    message: &[u8],
) -> String {
    let token = registered(server, id, to, expires).await;
    let bytes = sealed_bytes(
        id,
        to,
        "http://127.0.0.1",
        SecurityLevel::High,
        Flags {
            print: false,
            ..Flags::default()
        },
        message,
    );
    let (status, answer) = upload(server, Some(&token), id, bytes).await;
    assert_eq!(status, 201, "{answer}");
    token
}

/// Bob's account, a message for him, and a portal client logged in.
async fn logged_in(backend: Backend) -> (Server, Portal, String) {
    let server = start(backend).await;
    account(&server, BOB, true, None).await;
    let id = envelope_id('a');
    pulled(&server, &id, BOB, None).await;
    let mut portal = Portal::new(&server);
    let login = portal.log_in(BOB, PASSWORD, "/portal/inbox").await;
    assert_eq!(login.status, 303, "{}", login.body);
    (server, portal, id)
}

/// The notification's link to reading, downloading and logging out.
async fn the_pull_journey_reads_the_message_and_logs_out(backend: Backend) {
    let server = start(backend).await;
    account(&server, BOB, true, None).await;
    let id = envelope_id('a');
    pulled(&server, &id, BOB, None).await;
    let mut portal = Portal::new(&server);
    let link = format!("/portal/m/{id}");

    // From a mail client: no cookie; one same-site step, then the login.
    let first = portal.get(&link).await;
    assert_eq!(first.status, 200);
    assert!(
        first.body.contains(&format!("{link}?c=1")),
        "{}",
        first.body
    );
    let to_login = portal.get(&format!("{link}?c=1")).await;
    assert_eq!(to_login.status, 303);
    let location = to_login.location.unwrap();
    assert!(
        location.starts_with("/portal/login?next=/portal/m/"),
        "{location}"
    );
    let login_page = portal.get(&location).await;
    assert!(login_page
        .body
        .contains("A secure message is waiting for you"));
    assert!(login_page.body.contains(&format!("value=\"{link}\"")));

    // Two steps; the second goes back to the message with a new session.
    let login = portal.log_in(BOB, PASSWORD, &link).await;
    assert_eq!(login.status, 303, "{}", login.body);
    assert_eq!(login.location.as_deref(), Some(link.as_str()));
    let cookie = login.set_cookie.unwrap();
    assert!(cookie.starts_with("securedoc_session="), "{cookie}");
    for attribute in ["Path=/", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }

    let inbox = portal.get("/portal/inbox").await;
    assert_eq!(inbox.status, 200);
    assert!(inbox.body.contains(&format!("Results {MARKER}")));
    assert!(
        inbox.body.contains("Alice &lt;alice@clinic.example&gt;") || inbox.body.contains("Alice")
    );
    assert!(
        inbox.body.contains("class=\"entry unread\""),
        "unread before reading"
    );
    assert!(inbox.body.contains("1 attachment"));

    let view = portal.get(&link).await;
    assert_eq!(view.status, 200, "{}", view.body);
    assert!(view.body.contains(&format!("Hello Bob, {MARKER}.")));
    assert!(
        !view.body.contains("<script>alert"),
        "no script from the message"
    );
    assert!(
        !view.body.contains("onmouseover"),
        "no handlers from the message"
    );
    assert!(!view.body.contains("tracker.example"), "no remote content");
    assert!(view.body.contains("results.pdf"));
    assert!(
        view.body.contains("class=\"print-refused\""),
        "the sender refused printing"
    );

    let attachment = portal.get(&format!("{link}/attachment/0")).await;
    assert_eq!(attachment.status, 200);
    assert_eq!(attachment.bytes, ATTACHMENT);
    let eml = portal.get(&format!("{link}/message.eml")).await;
    assert_eq!(
        eml.bytes,
        message(),
        "Save message gives the message as sealed"
    );

    let inbox = portal.get("/portal/inbox").await;
    assert!(
        !inbox.body.contains("class=\"entry unread\""),
        "read after reading"
    );

    // Every view is audited, as a key release is; so is every download
    // (here the attachment and the .eml).
    assert_eq!(
        server.store.audit_count(BOB, "portal_view").await.unwrap(),
        1
    );
    assert_eq!(
        server
            .store
            .audit_count(BOB, "portal_download")
            .await
            .unwrap(),
        2
    );

    // Log out: the cookie is dead here and everywhere.
    let csrf = Portal::csrf(&inbox.body);
    let dead = portal.cookie.clone();
    let out = portal.post("/portal/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(out.location.unwrap().starts_with("/portal/login?out=1"));
    portal.cookie = dead;
    let replay = portal.get("/portal/inbox").await;
    assert_eq!(replay.status, 303, "a logged-out cookie is dead");
    assert!(replay.location.unwrap().starts_with("/portal/login"));

    common::assert_not_at_rest(&server, &[MARKER.as_bytes()]);
}

/// What the password step answers, with the address typed taken out.
async fn login_answer(server: &Server, email: &str, password: &str) -> (u16, String) {
    let mut portal = Portal::new(server);
    let answer = portal.log_in(email, password, "/portal/inbox").await;
    let encoded = email.replace('@', "%40");
    (
        answer.status,
        answer
            .body
            .replace(email, "ADDRESS")
            .replace(&encoded, "ADDRESS"),
    )
}

/// An unknown address, a wrong password and a locked account look alike:
/// the same status, page and sentence; the right password gets in.
async fn the_login_form_tells_a_stranger_nothing(backend: Backend) {
    let server = start_with(backend, |config| config.lockout_attempts = Some(3)).await;
    account(&server, BOB, true, None).await;
    account(&server, CAROL, true, None).await;
    let unknown = login_answer(&server, "nobody@example.net", "guess one").await;
    let wrong = login_answer(&server, BOB, "guess one").await;
    assert_eq!(unknown.0, 401);
    assert_eq!(unknown, wrong);
    assert!(wrong
        .1
        .contains("The e-mail address or the password is not right"));
    for n in 0..3 {
        login_answer(&server, CAROL, &format!("guess {n}")).await;
    }
    let locked_wrong = login_answer(&server, CAROL, "guess 9").await;
    assert_eq!(
        locked_wrong, wrong,
        "a locked account answers as any failure"
    );
    let locked_right = login_answer(&server, CAROL, PASSWORD).await;
    assert_eq!(locked_right, wrong, "even the right password, while locked");
    assert!(!wrong.1.contains("attempts"), "no count of tries left");
    let right = login_answer(&server, BOB, PASSWORD).await;
    assert_eq!(right.0, 303);
}

/// Guesses at the portal and at key release spend one budget: five wrong
/// passwords at the portal lock the envelope's key release too.
async fn portal_guesses_lock_key_release_too(backend: Backend) {
    let server = start(backend).await;
    account(&server, BOB, true, None).await;
    let id = envelope_id('b');
    common::register(&server, &id, &[BOB], None).await;
    for n in 0..5 {
        let (status, _) = login_answer(&server, BOB, &format!("guess {n}")).await;
        assert_eq!(status, 401);
    }
    let (status, body, key) = common::release(&server, &id, BOB, PASSWORD).await;
    assert_eq!(status, 423, "{body}");
    assert_eq!(body["error"], "locked");
    assert!(key.is_none());
}

/// Fifty logins at once with wrong passwords check at most the lockout's
/// number of passwords against the account.
async fn a_burst_of_logins_checks_at_most_the_limit(backend: Backend) {
    let server = start_with(backend, |config| config.client_failure_limit = 100).await;
    account(&server, BOB, true, None).await;
    let mut burst = tokio::task::JoinSet::new();
    for n in 0..50 {
        let mut portal = Portal::new(&server);
        burst.spawn(async move {
            portal
                .post(
                    "/portal/login/password",
                    &[
                        ("email", BOB),
                        ("password", &format!("guess {n}")),
                        ("next", ""),
                    ],
                )
                .await
                .status
        });
    }
    let statuses = burst.join_all().await;
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 503),
        "{statuses:?}"
    );
    let account = server.store.account(BOB).await.unwrap().unwrap();
    assert!(
        account.locked_until.is_some(),
        "the burst locked the account"
    );
    assert!(
        account.failed_logins <= 5,
        "checked {} passwords",
        account.failed_logins
    );
}

/// Forms from another site, or without the session's token, change nothing.
async fn forms_from_elsewhere_are_refused(backend: Backend) {
    let (_server, mut portal, _) = logged_in(backend).await;
    let inbox = portal.get("/portal/inbox").await;
    let csrf = Portal::csrf(&inbox.body);
    type Pairs<'a> = &'a [(&'a str, &'a str)];
    let attempts: [(Pairs, Pairs); 5] = [
        (&[], &[("Sec-Fetch-Site", "same-origin")]),
        (&[("csrf", "0000")], &[("Sec-Fetch-Site", "same-origin")]),
        (&[("csrf", &csrf)], &[("Sec-Fetch-Site", "cross-site")]),
        (&[("csrf", &csrf)], &[("Origin", "https://evil.example")]),
        (&[("csrf", &csrf)], &[("Origin", "null")]),
    ];
    for (form, headers) in attempts {
        let answer = portal.post_with("/portal/logout", form, headers).await;
        assert_eq!(answer.status, 403, "{form:?} {headers:?}");
        assert!(answer.body.contains("did not come from this site"));
    }
    // A cross-site login post is refused before any password is checked.
    let answer = portal
        .post_with(
            "/portal/login/password",
            &[("email", BOB), ("password", PASSWORD)],
            &[("Sec-Fetch-Site", "cross-site")],
        )
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(
        portal.get("/portal/inbox").await.status,
        200,
        "still logged in"
    );
}

/// A cookie planted before login never becomes the session; the store
/// keeps only a hash of the real one.
async fn a_planted_cookie_is_never_a_session(backend: Backend) {
    let server = start(backend).await;
    account(&server, BOB, true, None).await;
    let planted = format!("securedoc_session={}", "ab".repeat(32));
    let mut portal = Portal::new(&server);
    portal.cookie = Some(planted.clone());
    let login = portal.log_in(BOB, PASSWORD, "/portal/inbox").await;
    assert_eq!(login.status, 303);
    let real = portal.cookie.clone().unwrap();
    assert_ne!(real, planted, "a new id at login");
    portal.cookie = Some(planted);
    assert_eq!(portal.get("/portal/inbox").await.status, 303);
    portal.cookie = Some(real.clone());
    assert_eq!(portal.get("/portal/inbox").await.status, 200);

    let value = real.split_once('=').unwrap().1;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.database_url).await.unwrap();
    let stored: Vec<(String,)> = sqlx::query_as("SELECT id_hash FROM portal_sessions")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].0, value, "the store keeps a hash, not the cookie");
}

/// Over https the cookie is `__Host-` and `Secure`.
async fn an_https_origin_gets_a_host_only_secure_cookie(backend: Backend) {
    let server = start_with(backend, |config| {
        config.public_url = "https://keys.example".into();
    })
    .await;
    account(&server, BOB, true, None).await;
    let mut portal = Portal::new(&server);
    let login = portal.log_in(BOB, PASSWORD, "/portal/inbox").await;
    let cookie = login.set_cookie.unwrap();
    let (pair, attributes) = cookie.split_once("; ").unwrap();
    assert!(pair.starts_with("__Host-securedoc_session="), "{cookie}");
    assert_eq!(pair.len(), "__Host-securedoc_session=".len() + 64);
    assert_eq!(attributes, "Path=/; HttpOnly; SameSite=Strict; Secure");
}

/// A session ends after the idle time, and after the absolute lifetime
/// even when active; the login page says which.
async fn sessions_end_when_idle_and_at_their_absolute_end(backend: Backend) {
    let (server, mut portal, _) = logged_in(backend).await;
    server.advance(14 * 60);
    assert_eq!(
        portal.get("/portal/inbox").await.status,
        200,
        "14 idle minutes"
    );
    server.advance(14 * 60);
    assert_eq!(
        portal.get("/portal/inbox").await.status,
        200,
        "activity reset the clock"
    );
    server.advance(15 * 60 + 1);
    let ended = portal.get("/portal/inbox").await;
    assert_eq!(ended.status, 303);
    let location = ended.location.unwrap();
    assert!(location.contains("timeout=1"), "{location}");
    assert!(portal
        .get(&location)
        .await
        .body
        .contains("logged out after 15 minutes without activity"));

    // Active all day: still out after 12 hours.
    let mut portal = Portal::new(&server);
    portal.log_in(BOB, PASSWORD, "/portal/inbox").await;
    for _ in 0..(12 * 60 / 10) {
        server.advance(10 * 60);
        let answer = portal.get("/portal/inbox").await;
        if answer.status != 200 {
            assert!(answer.location.unwrap().contains("ended=1"));
            return;
        }
    }
    panic!("a session outlived its 12 hours");
}

/// "Stay logged in" keeps a session alive; a background request does not.
async fn keepalive_counts_and_background_requests_do_not(backend: Backend) {
    let (server, mut portal, _) = logged_in(backend).await;
    let csrf = Portal::csrf(&portal.get("/portal/inbox").await.body);
    server.advance(10 * 60);
    let stay = portal
        .post_with(
            "/portal/session/keepalive",
            &[],
            &[
                ("Sec-Fetch-Site", "same-origin"),
                ("X-Securedoc-Csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(stay.status, 204);
    let forged = portal
        .post_with(
            "/portal/session/keepalive",
            &[],
            &[
                ("Sec-Fetch-Site", "same-origin"),
                ("X-Securedoc-Csrf", "nope"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    server.advance(10 * 60);
    assert_eq!(portal.get("/portal/inbox").await.status, 200, "kept alive");
    // Background requests (a page's autosave) do not count as activity.
    server.advance(10 * 60);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let background = client
        .get(format!("{}/portal/inbox", server.base))
        .header("Cookie", portal.cookie.clone().unwrap())
        .header("X-Securedoc-Background", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(background.status(), 200);
    server.advance(6 * 60);
    assert_eq!(
        portal.get("/portal/inbox").await.status,
        303,
        "idle despite the background request"
    );
}

/// A new password (reset, or set by anyone) and a disabled account end
/// every session of the address.
async fn a_new_password_or_a_disabled_account_ends_sessions(backend: Backend) {
    let (server, mut portal, _) = logged_in(backend).await;
    let mut second = Portal::new(&server);
    second.log_in(BOB, PASSWORD, "/portal/inbox").await;
    server
        .store
        .set_password(
            BOB,
            &server
                .store
                .account(BOB)
                .await
                .unwrap()
                .unwrap()
                .password_hash,
        )
        .await
        .unwrap();
    assert_eq!(portal.get("/portal/inbox").await.status, 303);
    assert_eq!(second.get("/portal/inbox").await.status, 303);

    let login = portal.log_in(BOB, PASSWORD, "/portal/inbox").await;
    assert_eq!(login.status, 303);
    server.store.set_account_disabled(BOB, true).await.unwrap();
    assert_eq!(portal.get("/portal/inbox").await.status, 303);
    let refused = portal.log_in(BOB, PASSWORD, "/portal/inbox").await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("This account is disabled"));
}

/// Another person's message is "not found", as a made-up id is; a
/// withdrawn one says it is gone.
async fn only_ones_own_messages_open(backend: Backend) {
    let (server, mut portal, _) = logged_in(backend).await;
    let carols = envelope_id('c');
    pulled(&server, &carols, CAROL, None).await;
    let other = portal.get(&format!("/portal/m/{carols}")).await;
    let made_up = portal.get(&format!("/portal/m/{}", envelope_id('9'))).await;
    assert_eq!(other.status, 404);
    assert_eq!(other.body, made_up.body);
    assert_eq!(
        portal
            .get(&format!("/portal/m/{carols}/attachment/0"))
            .await
            .status,
        404
    );
    assert_eq!(
        portal
            .get(&format!("/portal/m/{carols}/message.eml"))
            .await
            .status,
        404
    );
    assert_eq!(portal.get("/portal/m/..%2F..%2Fetc").await.status, 404);

    let mine = envelope_id('d');
    let mine_token = pulled(&server, &mine, BOB, None).await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/messages/{mine}/revoke", server.base))
        .bearer_auth(&mine_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let gone = portal.get(&format!("/portal/m/{mine}")).await;
    assert_eq!(gone.status, 410);
    assert!(gone.body.contains("can no longer be read"));
    let inbox = portal.get("/portal/inbox").await;
    assert!(inbox.body.contains("Expired"), "the Inbox marks it");
}

/// Login goes back only to a portal page: no open redirect.
async fn login_returns_only_to_the_portal(backend: Backend) {
    let server = start(backend).await;
    account(&server, BOB, true, None).await;
    for next in [
        "https://evil.example/",
        "//evil.example",
        "/register",
        "/portal/../x\\y",
    ] {
        let mut portal = Portal::new(&server);
        let login = portal.log_in(BOB, PASSWORD, next).await;
        assert_eq!(login.location.as_deref(), Some("/portal/inbox"), "{next}");
    }
}

/// "Download attachments": the message as text and every attachment, under
/// names that unpack side by side and nowhere else.
async fn download_attachments_gives_one_safe_zip(backend: Backend) {
    let (server, mut portal, id) = logged_in(backend).await;
    let zip = portal.get(&format!("/portal/m/{id}/attachments.zip")).await;
    assert_eq!(zip.status, 200);
    let files = unzip(&zip.bytes);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["message.txt", "results.pdf"]);
    let text = String::from_utf8(files[0].1.clone()).unwrap();
    assert!(
        text.contains(&format!("Subject: Results {MARKER}")),
        "{text}"
    );
    assert!(
        text.contains("From: Alice <alice@clinic.example>"),
        "{text}"
    );
    assert!(text.contains(&format!("Hello Bob, {MARKER}.")), "{text}");
    assert!(!text.contains("alert"), "no script text: {text}");
    assert_eq!(files[1].1, ATTACHMENT);

    let hostile = envelope_id('e');
    let names = [
        "../../etc/passwd",
        "message.txt",
        "C:\\Windows\\evil.dll",
        "report\u{202e}fdp.exe",
        "same.pdf",
        "SAME.pdf",
        "/abs/path.txt",
    ];
    pulled_message(&server, &hostile, BOB, None, &message_with_names(&names)).await;
    let zip = portal
        .get(&format!("/portal/m/{hostile}/attachments.zip"))
        .await;
    assert_eq!(zip.status, 200);
    let files = unzip(&zip.bytes);
    let mut seen = std::collections::HashSet::new();
    for (name, _) in &files {
        assert!(!name.contains('/') && !name.contains('\\'), "{name}");
        assert!(!name.contains(".."), "{name}");
        assert!(!name.contains('\u{202e}'), "{name}");
        assert!(seen.insert(name.to_lowercase()), "{name} twice");
    }
    assert_eq!(files.len(), names.len() + 1);
    assert_eq!(files[0].0, "message.txt");
}

/// Delete takes the message out of the Inbox and its stored envelope with
/// it; the key stays for the sender's status. A forged delete does nothing.
async fn delete_removes_the_message_from_the_inbox(backend: Backend) {
    let (server, mut portal, id) = logged_in(backend).await;
    let view = portal.get(&format!("/portal/m/{id}")).await;
    let csrf = Portal::csrf(&view.body);
    let forged = portal
        .post(&format!("/portal/m/{id}/delete"), &[("csrf", "x")])
        .await;
    assert_eq!(forged.status, 403);
    assert!(server.store.stored_envelope(&id).await.unwrap().is_some());
    let deleted = portal
        .post(&format!("/portal/m/{id}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(deleted.status, 303);
    let inbox = portal.get(&deleted.location.unwrap()).await;
    assert!(inbox.body.contains("The message was deleted."));
    assert!(!inbox.body.contains(MARKER));
    assert_eq!(portal.get(&format!("/portal/m/{id}")).await.status, 404);
    assert_eq!(server.store.stored_envelope(&id).await.unwrap(), None);
    assert!(common::raw_sealed_key(&server.database_url, &id)
        .await
        .is_some());
    let again = portal
        .post(&format!("/portal/m/{id}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(again.status, 404);
}

/// The Inbox pages newest first, each message once, with "Older messages".
async fn the_inbox_pages_newest_first(backend: Backend) {
    let server = start_with(backend, |config| config.portal.page_size = 5).await;
    account(&server, BOB, true, None).await;
    let ids: Vec<String> = (0..12).map(|n| format!("{n:032x}")).collect();
    for id in &ids {
        pulled(&server, id, BOB, None).await;
        server.advance(60);
    }
    let mut portal = Portal::new(&server);
    portal.log_in(BOB, PASSWORD, "/portal/inbox").await;
    let mut path = "/portal/inbox".to_string();
    let mut listed = Vec::new();
    loop {
        let page = portal.get(&path).await;
        assert_eq!(page.status, 200);
        let on_page: Vec<String> = page
            .body
            .match_indices("href=\"/portal/m/")
            .map(|(at, _)| page.body[at + 16..at + 48].to_string())
            .collect();
        assert!(on_page.len() <= 5);
        listed.extend(on_page);
        match page.body.find("href=\"/portal/inbox?before=") {
            Some(at) => {
                path = page.body[at + 6..]
                    .split('"')
                    .next()
                    .unwrap()
                    .replace("&amp;", "&");
            }
            None => break,
        }
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(listed, newest_first);
}

/// The compose form's fields, with the session's token.
fn answer_form(
    csrf: &str,
    kind: &str,
    to: &str,
    file: Option<(&str, &[u8])>,
) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_string())
        .text("kind", kind.to_string())
        .text("to", to.to_string())
        .text("subject", "Re: Results")
        .text("body", "Thank you, see the signed form.");
    if let Some((name, bytes)) = file {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()),
        );
    }
    form
}

/// Reply from the portal: the same rules as Open Online, the answer sealed
/// for the sender and queued, counted on the sender's record; forged
/// recipients, a missing token and a kind the sender forbade are refused.
async fn replies_from_the_portal_follow_the_answer_rules(backend: Backend) {
    let (server, mut portal, id) = logged_in(backend).await;
    let view = portal.get(&format!("/portal/m/{id}")).await;
    assert!(
        view.body
            .contains(&format!("/portal/m/{id}/compose?kind=reply")),
        "a Reply button"
    );
    let compose = portal
        .get(&format!("/portal/m/{id}/compose?kind=reply"))
        .await;
    assert_eq!(compose.status, 200, "{}", compose.body);
    assert!(compose.body.contains("Re: Results"));
    assert!(compose.body.contains("alice@clinic.example"));
    assert!(
        compose.body.contains("class=\"portal-nav\""),
        "inside the portal"
    );
    let csrf = Portal::csrf(&compose.body);

    // Without the session's token: refused, nothing sent.
    let forged = portal
        .post_multipart(
            &format!("/portal/m/{id}/compose"),
            answer_form("nope", "reply", "", None),
        )
        .await;
    assert_eq!(forged.status, 403);
    // Forward outside the organisation (forward_outside is off): refused.
    let outside = portal
        .post_multipart(
            &format!("/portal/m/{id}/compose"),
            answer_form(&csrf, "forward", "mallory@evil.example", None),
        )
        .await;
    assert_eq!(outside.status, 422);
    assert!(outside
        .body
        .contains("may not be sent to mallory@evil.example"));

    let sent = portal
        .post_multipart(
            &format!("/portal/m/{id}/compose"),
            answer_form(
                &csrf,
                "reply",
                "mallory@evil.example",
                Some(("signed.pdf", b"%PDF signed")),
            ),
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(sent
        .body
        .contains("Your message was sent securely to alice@clinic.example"));
    let mails = pages_support::wait_mails(&server, 1).await;
    assert_eq!(
        mails[0].0, "alice@clinic.example",
        "a reply goes to the sender, whatever was posted"
    );
    // A message whose sender forbade answers: no button, no page, no post.
    let closed = envelope_id('f');
    let token = server.store.create_sender("closed").await.unwrap();
    let mut body = common::message_to(&closed, BOB, None);
    body["message"]["flags"] = serde_json::json!({"reply": false, "reply_all": false,
        "forward": false, "print": false, "read_receipt": false});
    let (status, answer) = common::post(&server, Some(&token), &body).await;
    assert_eq!(status, 200, "{answer}");
    let flags = Flags {
        reply: false,
        reply_all: false,
        forward: false,
        print: false,
        read_receipt: false,
    };
    let bytes = sealed_bytes(
        &closed,
        BOB,
        "http://127.0.0.1",
        SecurityLevel::High,
        flags,
        &message(),
    );
    assert_eq!(upload(&server, Some(&token), &closed, bytes).await.0, 201);
    let view = portal.get(&format!("/portal/m/{closed}")).await;
    assert!(!view.body.contains("compose?kind="), "no answer buttons");
    let page = portal
        .get(&format!("/portal/m/{closed}/compose?kind=reply"))
        .await;
    assert_eq!(page.status, 403);
    assert!(page.body.contains("does not allow replies"));
    let forced = portal
        .post_multipart(
            &format!("/portal/m/{closed}/compose"),
            answer_form(&csrf, "reply", "", None),
        )
        .await;
    assert_eq!(forced.status, 403);

    // The sender's record counts it (`securedoc message status`).
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.database_url).await.unwrap();
    let (replies,): (i64,) =
        sqlx::query_as("SELECT replies_sent FROM message_recipients WHERE message_id = $1")
            .bind(&id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(replies, 1);
}

/// The decryption budget: a message larger than all of it still opens
/// (alone), and a burst of views gets the message or "busy", never an error.
async fn views_share_a_memory_budget(backend: Backend) {
    let server = start_with(backend, |config| config.portal.decrypt_memory_mb = 1).await;
    account(&server, BOB, true, None).await;
    let id = envelope_id('b');
    let big: Vec<u8> = (0..1_500_000u32).map(|n| (n * 7 % 251) as u8).collect();
    let message = {
        use base64::Engine;
        format!(
            "From: alice@clinic.example\r\nTo: {BOB}\r\nSubject: Scan\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe scan.\r\n\
             --b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"scan.bin\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
            base64::engine::general_purpose::STANDARD.encode(&big)
        )
        .into_bytes()
    };
    pulled_message(&server, &id, BOB, None, &message).await;
    let mut portal = Portal::new(&server);
    portal.log_in(BOB, PASSWORD, "/portal/inbox").await;
    let view = portal.get(&format!("/portal/m/{id}")).await;
    assert_eq!(view.status, 200, "larger than the budget, alone: it opens");
    assert_eq!(
        portal
            .get(&format!("/portal/m/{id}/attachment/0"))
            .await
            .bytes,
        big
    );

    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (base, cookie, id) = (
            server.base.clone(),
            portal.cookie.clone().unwrap(),
            id.clone(),
        );
        burst.spawn(async move {
            reqwest::Client::new()
                .get(format!("{base}/portal/m/{id}"))
                .header("Cookie", cookie)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let statuses = burst.join_all().await;
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200), "{statuses:?}");
    assert_eq!(
        portal.get(&format!("/portal/m/{id}")).await.status,
        200,
        "the budget came back"
    );
}

on_both_stores!(
    views_share_a_memory_budget,
    replies_from_the_portal_follow_the_answer_rules,
    download_attachments_gives_one_safe_zip,
    delete_removes_the_message_from_the_inbox,
    the_inbox_pages_newest_first,
    the_pull_journey_reads_the_message_and_logs_out,
    the_login_form_tells_a_stranger_nothing,
    portal_guesses_lock_key_release_too,
    a_burst_of_logins_checks_at_most_the_limit,
    forms_from_elsewhere_are_refused,
    a_planted_cookie_is_never_a_session,
    an_https_origin_gets_a_host_only_secure_cookie,
    sessions_end_when_idle_and_at_their_absolute_end,
    keepalive_counts_and_background_requests_do_not,
    a_new_password_or_a_disabled_account_ends_sessions,
    only_ones_own_messages_open,
    login_returns_only_to_the_portal,
);
