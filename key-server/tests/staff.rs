//! Staff sending from the portal, over real HTTP on SQLite and PostgreSQL:
//! staff accounts (made in the store as `securedoc admin account create
//! --internal` does, or at the first login through the reverse proxy's
//! single-sign-on header) compose to any address with the sender options —
//! Request Read Receipt, Restricted, Expire, security, push or pull — and
//! follow and control each message in Sent items. The attacker's moves: an
//! outside account posting the options, another account reaching a staff
//! member's sending, a forged Reply to a restricted message, a sign-on
//! header from a client that is not the proxy or for an outside address.

mod common;
mod pages_support;
mod portal_support;

use common::{account, start_with, Backend, Server, PASSWORD};
use key_server::Config;
use pages_support::wait_mails;
use portal_support::Portal;

const ALICE: &str = "alice@clinic.example";
const DAVE: &str = "dave@clinic.example";
const BOB: &str = "bob@example.net";
const MARKER: &str = "staff-marker-41c7";

async fn server(backend: Backend, configure: impl FnOnce(&mut Config)) -> Server {
    start_with(backend, |config| {
        config.internal_domains = vec!["clinic.example".into()];
        configure(config);
    })
    .await
}

/// A staff account, logged in.
async fn staff(server: &Server, address: &str) -> Portal {
    account(server, address, true, None).await;
    assert!(server.store.set_internal(address, true).await.unwrap());
    logged_in(server, address).await
}

async fn logged_in(server: &Server, address: &str) -> Portal {
    let mut portal = Portal::new(server);
    let login = portal.log_in(address, PASSWORD, "/portal/inbox").await;
    assert_eq!(login.status, 303, "{}", login.body);
    portal
}

/// A new message to `to` with the sender options `options`.
fn message(csrf: &str, to: &str, options: &[(&str, &str)]) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_string())
        .text("kind", "new")
        .text("to", to.to_string())
        .text("subject", format!("Your results {MARKER}"))
        .text("body", format!("Please find your results. {MARKER}"));
    for (name, value) in options {
        form = form.text(name.to_string(), value.to_string());
    }
    form
}

/// The raw mails in the outbox to `to`.
fn raw_mails_to(server: &Server, to: &str) -> Vec<String> {
    std::fs::read_dir(server.data_dir.path().join("outbox"))
        .into_iter()
        .flatten()
        .map(|e| e.unwrap().path())
        .filter(|path| path.extension().is_some_and(|x| x == "eml"))
        .map(|path| std::fs::read_to_string(path).unwrap())
        .filter(|mail| {
            let parsed = mail_parser::MessageParser::default().parse(mail.as_bytes());
            parsed
                .and_then(|m| {
                    m.to()
                        .and_then(|a| a.first())
                        .and_then(|a| a.address())
                        .map(String::from)
                })
                .is_some_and(|address| address == to)
        })
        .collect()
}

/// The raw mails to `to`, once there are `n` (left in the outbox).
async fn wait_raw(server: &Server, to: &str, n: usize) -> Vec<String> {
    for _ in 0..200 {
        let mails = raw_mails_to(server, to);
        if mails.len() >= n {
            return mails;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "{n} mails to {to} expected, got {:?}",
        raw_mails_to(server, to)
    );
}

/// The header of the envelope attached to `mail` (`securedoc.html`).
fn attached_header(mail: &str) -> envelope_core::Header {
    use mail_parser::MimeHeaders;
    let parsed = mail_parser::MessageParser::default()
        .parse(mail.as_bytes())
        .unwrap();
    let page = parsed
        .attachments()
        .find(|a| a.attachment_name() == Some("securedoc.html"))
        .map(|a| String::from_utf8_lossy(a.contents()).to_string())
        .expect("securedoc.html attached");
    let text = securedoc_templates::envelope_text_from_html(&page).expect("an envelope");
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text.trim()).unwrap();
    envelope_core::Envelope::parse(&bytes)
        .unwrap()
        .header()
        .clone()
}

/// The first link on a page to `prefix…` (32 hex digits).
fn link(page: &str, prefix: &str) -> Option<String> {
    let at = page.find(&format!("href=\"{prefix}"))? + 6 + prefix.len();
    Some(page[at..at + 32].to_string())
}

/// Composes and sends; the page that says so.
async fn send(portal: &mut Portal, to: &str, options: &[(&str, &str)]) -> portal_support::Answer {
    let compose = portal.get("/portal/compose").await;
    assert_eq!(compose.status, 200, "{}", compose.body);
    let csrf = Portal::csrf(&compose.body);
    portal
        .post_multipart("/portal/compose", message(&csrf, to, options))
        .await
}

const RESTRICTED_RECEIPT_PULL: &[(&str, &str)] = &[
    ("receipt", "1"),
    ("restricted", "no_reply"),
    ("expires", "7"),
    ("expires_on", ""),
    ("security", "high"),
    ("delivery", "pull"),
];

async fn staff_compose_with_the_sender_options(backend: Backend) {
    let server = server(backend, |_| {}).await;
    let mut alice = staff(&server, ALICE).await;
    let compose = alice.get("/portal/compose").await;
    for option in [
        "Sending options",
        "Request Read Receipt",
        "Restricted – No Print, No Reply",
        "Restricted – No Print",
        "7 days",
        "Attached to the notification e-mail",
    ] {
        assert!(compose.body.contains(option), "{option}: {}", compose.body);
    }

    // Staff write to people outside the organisation.
    account(&server, BOB, true, None).await;
    let sent = send(&mut alice, BOB, RESTRICTED_RECEIPT_PULL).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(sent
        .body
        .contains("Your message was sent securely to bob@example.net"));
    assert!(
        sent.body.contains("reads the message in this portal"),
        "{}",
        sent.body
    );

    // Pull: the notification links to the portal and carries no envelope.
    let raw = wait_raw(&server, BOB, 1).await;
    assert!(!raw[0].contains("securedoc.html"));
    let mails = wait_mails(&server, 1).await;
    let (to, _, body) = &mails[0];
    assert_eq!(to, BOB);
    assert!(
        body.contains("Click here to view your secure e-mail"),
        "{body}"
    );
    let id = body
        .split("/portal/m/")
        .nth(1)
        .map(|rest| rest[..32].to_string())
        .unwrap_or_else(|| panic!("a portal link in {body}"));
    // Expires in 7 days: the notification says until when.
    let in_a_week = jiff::Timestamp::from_second(server.store.clock().now() + 7 * 86_400)
        .unwrap()
        .strftime("%Y-%m-%d")
        .to_string();
    assert!(body.contains(&in_a_week), "{in_a_week} in {body}");

    // The recipient reads it, but may not answer or print it.
    let mut bob = logged_in(&server, BOB).await;
    let view = bob.get(&format!("/portal/m/{id}")).await;
    assert_eq!(view.status, 200, "{}", view.body);
    assert!(view.body.contains(MARKER));
    assert!(view.body.contains(ALICE), "the staff member is the sender");
    assert!(!view.body.contains("kind=reply"), "{}", view.body);
    assert!(!view.body.contains("kind=forward"), "{}", view.body);
    assert!(!view.body.contains("id=\"print\""), "{}", view.body);
    let forged = bob.get(&format!("/portal/m/{id}/compose?kind=reply")).await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let csrf = Portal::csrf(&view.body);
    let forged = bob
        .post_multipart(
            &format!("/portal/m/{id}/compose"),
            reqwest::multipart::Form::new()
                .text("csrf", csrf)
                .text("kind", "reply")
                .text("body", "a reply the sender forbade"),
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);

    // The read receipt: once, however often it is read.
    bob.get(&format!("/portal/m/{id}")).await;
    let mail = server.store.mail_for(ALICE).await.unwrap();
    let receipts: Vec<_> = mail.iter().filter(|m| m.kind == "read_receipt").collect();
    assert_eq!(receipts.len(), 1, "{mail:?}");

    // Alice's Sent items: the message, its status and controls.
    let list = alice.get("/portal/sent").await;
    let item = link(&list.body, "/portal/sent/").expect("the message in Sent items");
    let page = alice.get(&format!("/portal/sent/{item}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        "Status",
        BOB,
        "Active",
        "Has an account",
        "2 times",
        "Lock",
        "Revoke",
        "Change expiry",
    ] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    let control = format!("/portal/sent/{item}/control");
    let csrf = Portal::csrf(&page.body);

    // Lock: the recipient cannot open it; Unlock: again.
    let locked = alice
        .post(&control, &[("csrf", &csrf), ("action", "lock")])
        .await;
    assert_eq!(locked.status, 303, "{}", locked.body);
    let after = alice.get(locked.location.as_deref().unwrap()).await;
    assert!(
        after.body.contains("The message is locked"),
        "{}",
        after.body
    );
    assert!(after.body.contains("Unlock"));
    assert_eq!(bob.get(&format!("/portal/m/{id}")).await.status, 423);
    alice
        .post(&control, &[("csrf", &csrf), ("action", "unlock")])
        .await;
    assert_eq!(bob.get(&format!("/portal/m/{id}")).await.status, 200);

    // A new expiry: not in the past, not past the retention.
    let day = |seconds: i64| {
        jiff::Timestamp::from_second(server.store.clock().now() + seconds)
            .unwrap()
            .strftime("%Y-%m-%d")
            .to_string()
    };
    let past = alice
        .post(
            &control,
            &[
                ("csrf", &csrf),
                ("action", "expire"),
                ("expires_on", &day(-2 * 86_400)),
            ],
        )
        .await;
    assert_eq!(past.status, 422, "{}", past.body);
    assert!(
        past.body.contains("The date is in the past"),
        "{}",
        past.body
    );
    let late = alice
        .post(
            &control,
            &[
                ("csrf", &csrf),
                ("action", "expire"),
                ("expires_on", &day(60 * 86_400)),
            ],
        )
        .await;
    assert_eq!(late.status, 422, "{}", late.body);
    assert!(late.body.contains("no later than"), "{}", late.body);
    let moved = alice
        .post(
            &control,
            &[
                ("csrf", &csrf),
                ("action", "expire"),
                ("expires_on", &day(2 * 86_400)),
            ],
        )
        .await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    let after = alice.get(moved.location.as_deref().unwrap()).await;
    assert!(
        after.body.contains("The expiry date is changed"),
        "{}",
        after.body
    );
    assert!(
        after
            .body
            .contains(&format!("{} 23:59 UTC", day(2 * 86_400))),
        "{}",
        after.body
    );

    // Revoke: the keys and the stored envelope go; the recipient is told.
    let revoked = alice
        .post(&control, &[("csrf", &csrf), ("action", "revoke")])
        .await;
    assert_eq!(revoked.status, 303);
    let after = alice.get(revoked.location.as_deref().unwrap()).await;
    assert!(after.body.contains("Withdrawn"), "{}", after.body);
    assert!(!after.body.contains("Change expiry"), "no controls left");
    assert_eq!(bob.get(&format!("/portal/m/{id}")).await.status, 410);
    assert_eq!(server.store.stored_envelope(&id).await.unwrap(), None);
}

async fn push_delivery_and_the_other_levels(backend: Backend) {
    let server = server(backend, |_| {}).await;
    let mut alice = staff(&server, ALICE).await;
    let options = [
        ("restricted", "no_print"),
        ("expires", "date"),
        ("security", "medium"),
        ("delivery", "push"),
    ];
    let date = jiff::Timestamp::from_second(server.store.clock().now() + 10 * 86_400)
        .unwrap()
        .strftime("%Y-%m-%d")
        .to_string();
    let mut with_date = options.to_vec();
    with_date.push(("expires_on", &date));
    let sent = send(&mut alice, BOB, &with_date).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    // Push: the envelope is attached, and says what the sender chose.
    let mail = wait_raw(&server, BOB, 1).await.remove(0);
    assert!(mail.contains("securedoc.html"), "attached");
    let header = attached_header(&mail);
    assert!(!header.flags.print && header.flags.reply && !header.flags.read_receipt);
    assert_eq!(header.security, envelope_core::SecurityLevel::Medium);
    let expected = jiff::civil::Date::strptime("%Y-%m-%d", &date)
        .unwrap()
        .at(23, 59, 59, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
        .as_second();
    assert_eq!(header.expires, Some(expected));
    // The key server registered the same.
    let details = server
        .store
        .receipt_details(&header.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(details.flags, header.flags);
    assert_eq!(details.from.as_deref(), Some(ALICE));

    // Options that are not offered are refused, and nothing is sent.
    for bad in [
        [
            ("expires", "365"),
            ("delivery", "pull"),
            ("restricted", "none"),
            ("security", "high"),
        ],
        [
            ("expires", "7"),
            ("delivery", "carrier-pigeon"),
            ("restricted", "none"),
            ("security", "high"),
        ],
        [
            ("expires", "7"),
            ("delivery", "pull"),
            ("restricted", "none"),
            ("security", "none"),
        ],
        [
            ("expires", "date"),
            ("delivery", "pull"),
            ("restricted", "none"),
            ("security", "high"),
        ],
    ] {
        let refused = send(&mut alice, BOB, &bad).await;
        assert_eq!(refused.status, 422, "{bad:?}: {}", refused.body);
        assert!(
            refused.body.contains("Sending options"),
            "the options come back"
        );
    }
    assert_eq!(raw_mails_to(&server, BOB).len(), 1, "nothing more sent");

    // A one-time passcode: no account needed; the notification says to ask
    // for a code, and the key server knows the envelope is read by code.
    let carol = "carol@example.org";
    let passcode = [
        ("restricted", "none"),
        ("expires", "7"),
        ("security", "passcode"),
        ("delivery", "push"),
    ];
    let sent = send(&mut alice, carol, &passcode).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let mail = wait_raw(&server, carol, 1).await.remove(0);
    let header = attached_header(&mail);
    assert_eq!(header.security, envelope_core::SecurityLevel::High);
    let text = mail_parser::MessageParser::default()
        .parse(mail.as_bytes())
        .unwrap()
        .body_text(0)
        .unwrap()
        .to_string();
    assert!(text.contains("Send me a code"), "{text}");
    let (code, status) = pages_support::status(&server, &header.id, carol).await;
    assert_eq!(code, 200);
    assert_eq!(status["passcode"], true, "{status}");
}

/// An outside account's Compose has no options, and options it posts
/// anyway change nothing: its message goes as an answer does.
async fn an_outside_account_cannot_use_the_options(backend: Backend) {
    let server = server(backend, |_| {}).await;
    account(&server, BOB, true, None).await;
    account(&server, ALICE, true, None).await;
    let mut bob = logged_in(&server, BOB).await;
    let compose = bob.get("/portal/compose").await;
    assert!(!compose.body.contains("Sending options"));
    let sent = send(&mut bob, ALICE, RESTRICTED_RECEIPT_PULL).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let mail = wait_raw(&server, ALICE, 1).await.remove(0);
    assert!(mail.contains("securedoc.html"), "pushed, as answers are");
    let header = attached_header(&mail);
    assert_eq!(
        header.flags,
        envelope_core::Flags::default(),
        "the options were ignored"
    );
    // Outside accounts still write only to the organisation.
    let refused = send(&mut bob, "carol@example.org", &[]).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    // Its Sent item has no status or controls.
    let list = bob.get("/portal/sent").await;
    let item = link(&list.body, "/portal/sent/").unwrap();
    let page = bob.get(&format!("/portal/sent/{item}")).await;
    assert!(!page.body.contains("Revoke"));
    let csrf = Portal::csrf(&page.body);
    let forged = bob
        .post(
            &format!("/portal/sent/{item}/control"),
            &[("csrf", &csrf), ("action", "revoke")],
        )
        .await;
    assert_eq!(forged.status, 404, "{}", forged.body);
}

/// Another account — staff or not — cannot see or control a staff
/// member's sending; a control needs the session's token.
async fn a_sending_is_its_owners_only(backend: Backend) {
    let server = server(backend, |_| {}).await;
    let mut alice = staff(&server, ALICE).await;
    account(&server, BOB, true, None).await;
    send(&mut alice, BOB, RESTRICTED_RECEIPT_PULL).await;
    let item = link(&alice.get("/portal/sent").await.body, "/portal/sent/").unwrap();
    let control = format!("/portal/sent/{item}/control");

    let mut dave = staff(&server, DAVE).await;
    assert_eq!(dave.get(&format!("/portal/sent/{item}")).await.status, 404);
    let csrf = Portal::csrf(&dave.get("/portal/inbox").await.body);
    for action in ["lock", "revoke"] {
        let answer = dave
            .post(&control, &[("csrf", &csrf), ("action", action)])
            .await;
        assert_eq!(answer.status, 404, "{action}: {}", answer.body);
    }
    let mut bob = logged_in(&server, BOB).await;
    let csrf = Portal::csrf(&bob.get("/portal/inbox").await.body);
    assert_eq!(
        bob.post(&control, &[("csrf", &csrf), ("action", "revoke")])
            .await
            .status,
        404
    );

    // Alice's own session and token, from another site: refused.
    let csrf = Portal::csrf(&alice.get(&format!("/portal/sent/{item}")).await.body);
    let answer = alice
        .post_with(
            &control,
            &[("csrf", &csrf), ("action", "revoke")],
            &[
                ("Sec-Fetch-Site", "cross-site"),
                ("Origin", "https://evil.example"),
            ],
        )
        .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    // Alice's own session without its token: refused.
    let answer = alice
        .post(
            &control,
            &[("csrf", "0".repeat(64).as_str()), ("action", "revoke")],
        )
        .await;
    assert_eq!(answer.status, 403);
    let page = alice.get(&format!("/portal/sent/{item}")).await;
    assert!(page.body.contains("Active"), "still active: {}", page.body);
}

/// The reverse proxy's sign-on header: believed from the proxy only, for
/// the organisation's addresses only; it makes the staff account once.
async fn single_sign_on_from_the_proxy(backend: Backend) {
    let server = server(backend, |config| {
        config.trusted_proxies = vec!["127.0.0.1".into()];
        config.portal.trusted_sso_header = Some("X-Remote-User".into());
    })
    .await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = |user: &'static str| {
        client
            .get(format!("{}/portal/login?next=/portal/compose", server.base))
            .header("X-Remote-User", user)
            .send()
    };
    let answer = login("Carol@Clinic.example").await.unwrap();
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], "/portal/compose");
    let cookie = answer.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let account = server
        .store
        .account("carol@clinic.example")
        .await
        .unwrap()
        .unwrap();
    assert!(account.confirmed && account.password_set_at.is_none());
    assert!(server
        .store
        .is_internal("carol@clinic.example")
        .await
        .unwrap());
    let mut carol = Portal::new(&server);
    carol.cookie = Some(cookie);
    let compose = carol.get("/portal/compose").await;
    assert!(
        compose.body.contains("Sending options"),
        "a staff session: {}",
        compose.body
    );
    // Its random password logs nobody in.
    let mut guess = Portal::new(&server);
    assert_eq!(
        guess
            .log_in("carol@clinic.example", "", "/portal/inbox")
            .await
            .status,
        401
    );
    // A second sign-on makes no second account; an existing outside-domain
    // header is refused and makes none.
    assert_eq!(login("carol@clinic.example").await.unwrap().status(), 303);
    let refused = login("mallory@example.net").await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("staff of clinic.example only"));
    assert!(server
        .store
        .account("mallory@example.net")
        .await
        .unwrap()
        .is_none());
    // After Log out the header does not log in again by itself.
    let out = client
        .get(format!("{}/portal/login?out=1", server.base))
        .header("X-Remote-User", "carol@clinic.example")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 200);
    assert!(out.headers().get("set-cookie").is_none());
    // A disabled account is refused.
    server
        .store
        .set_account_disabled("carol@clinic.example", true)
        .await
        .unwrap();
    assert_eq!(login("carol@clinic.example").await.unwrap().status(), 403);
}

async fn the_header_is_ignored_from_anyone_but_the_proxy(backend: Backend) {
    let server = server(backend, |config| {
        config.trusted_proxies = vec!["10.9.9.9".into()];
        config.portal.trusted_sso_header = Some("X-Remote-User".into());
    })
    .await;
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/portal/login?next=/portal/compose", server.base))
        .header("X-Remote-User", "carol@clinic.example")
        .header("X-Forwarded-For", "10.9.9.9")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "the ordinary login page");
    assert!(answer.headers().get("set-cookie").is_none());
    assert!(answer.text().await.unwrap().contains("name=\"email\""));
    assert!(server
        .store
        .account("carol@clinic.example")
        .await
        .unwrap()
        .is_none());
}

#[test]
fn the_header_needs_trusted_proxies_and_internal_domains() {
    let mut config = Config::default();
    config.portal.trusted_sso_header = Some("X-Remote-User".into());
    config.internal_domains = vec!["clinic.example".into()];
    let error = config.sso_header().unwrap_err().to_string();
    assert!(error.contains("trusted_proxies"), "{error}");
    config.trusted_proxies = vec!["10.0.0.1".into()];
    config.internal_domains.clear();
    let error = config.sso_header().unwrap_err().to_string();
    assert!(error.contains("internal_domains"), "{error}");
    config.internal_domains = vec!["clinic.example".into()];
    assert!(config.sso_header().unwrap().is_some());
    config.portal.trusted_sso_header = Some("not a header".into());
    assert!(config.sso_header().is_err());
}

/// `keep_sent = false` is for outside recipients (Trustwave's portal):
/// staff keep their Sent items, where they follow and control what they
/// sent.
async fn staff_keep_sent_items_when_they_are_off(backend: Backend) {
    let server = server(backend, |config| config.portal.keep_sent = false).await;
    let mut alice = staff(&server, ALICE).await;
    let empty = alice.get("/portal/sent").await;
    assert!(
        empty
            .body
            .contains("You have not sent any message from here yet."),
        "{}",
        empty.body
    );
    assert_eq!(
        send(&mut alice, BOB, RESTRICTED_RECEIPT_PULL).await.status,
        200
    );
    let list = alice.get("/portal/sent").await;
    let item = link(&list.body, "/portal/sent/").expect("kept for staff");
    let page = alice.get(&format!("/portal/sent/{item}")).await;
    assert!(page.body.contains("Revoke"), "{}", page.body);
    // An outside account keeps nothing, and is told so.
    account(&server, "dan@example.org", true, None).await;
    let mut dan = logged_in(&server, "dan@example.org").await;
    let csrf = Portal::csrf(&dan.get("/portal/compose").await.body);
    let sent = dan
        .post_multipart("/portal/compose", message(&csrf, ALICE, &[]))
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let list = dan.get("/portal/sent").await;
    assert!(
        list.body.contains("Sent items are turned off"),
        "{}",
        list.body
    );
    assert!(link(&list.body, "/portal/sent/").is_none());
}

on_both_stores!(
    staff_keep_sent_items_when_they_are_off,
    staff_compose_with_the_sender_options,
    push_delivery_and_the_other_levels,
    an_outside_account_cannot_use_the_options,
    a_sending_is_its_owners_only,
    single_sign_on_from_the_proxy,
    the_header_is_ignored_from_anyone_but_the_proxy,
);
