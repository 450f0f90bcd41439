//! Writing from the portal, over real HTTP on SQLite and PostgreSQL: a new
//! message to the organisation (`compose_domains`, default
//! `internal_domains`) and nowhere else; Sent items keeping a copy of every
//! message sent from the portal (answers included), encrypted at rest, only
//! for its owner, deleted by its owner and by the retention; and
//! `keep_sent = false` keeping nothing.

mod common;
mod pages_support;
mod portal_support;

use common::{account, registered, sealed_bytes, start_with, upload, Backend, Server, PASSWORD};
use envelope_core::{Flags, SecurityLevel};
use portal_support::Portal;

const BOB: &str = "bob@example.net";
const CAROL: &str = "carol@example.net";
const ALICE: &str = "alice@clinic.example";
const MARKER: &str = "sent-marker-9e2b";

async fn server(backend: Backend, keep_sent: bool) -> Server {
    start_with(backend, |config| {
        config.internal_domains = vec!["clinic.example".into()];
        config.portal.keep_sent = keep_sent;
    })
    .await
}

async fn logged_in(server: &Server, address: &str) -> Portal {
    account(server, address, true, None).await;
    let mut portal = Portal::new(server);
    assert_eq!(
        portal
            .log_in(address, PASSWORD, "/portal/inbox")
            .await
            .status,
        303
    );
    portal
}

fn new_message(csrf: &str, to: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("csrf", csrf.to_string())
        .text("kind", "new")
        .text("to", to.to_string())
        .text("subject", format!("Question {MARKER}"))
        .text("body", format!("When is my appointment? {MARKER}"))
        .part(
            "file",
            reqwest::multipart::Part::bytes(format!("scan {MARKER}").into_bytes())
                .file_name("scan.pdf"),
        )
}

/// The links on a page to `prefix…` (32 hex digits each).
fn links(page: &str, prefix: &str) -> Vec<String> {
    page.match_indices(&format!("href=\"{prefix}"))
        .map(|(at, _)| page[at + 6 + prefix.len()..at + 6 + prefix.len() + 32].to_string())
        .collect()
}

async fn a_new_message_goes_to_the_organisation_and_into_sent_items(backend: Backend) {
    let server = server(backend, true).await;
    let mut portal = logged_in(&server, BOB).await;
    let inbox = portal.get("/portal/inbox").await;
    assert!(
        inbox.body.contains("href=\"/portal/compose\""),
        "Compose in the navigation"
    );
    assert!(
        inbox.body.contains("href=\"/portal/sent\""),
        "Sent items in the navigation"
    );
    let compose = portal.get("/portal/compose").await;
    assert_eq!(compose.status, 200);
    assert!(compose.body.contains("New message"));
    let csrf = Portal::csrf(&compose.body);

    // Outside the organisation: refused, nothing sent or kept.
    let outside = portal
        .post_multipart(
            "/portal/compose",
            new_message(&csrf, "mallory@evil.example"),
        )
        .await;
    assert_eq!(outside.status, 422);
    assert!(outside
        .body
        .contains("may not be sent to mallory@evil.example"));
    // Without the session's token: refused.
    let forged = portal
        .post_multipart("/portal/compose", new_message("x", ALICE))
        .await;
    assert_eq!(forged.status, 403);

    let sent = portal
        .post_multipart("/portal/compose", new_message(&csrf, ALICE))
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(sent
        .body
        .contains("Your message was sent securely to alice@clinic.example"));
    let mails = pages_support::wait_mails(&server, 1).await;
    assert_eq!(mails[0].0, ALICE);

    let list = portal.get("/portal/sent").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains(&format!("Question {MARKER}")));
    assert!(list.body.contains(ALICE));
    let items = links(&list.body, "/portal/sent/");
    assert_eq!(items.len(), 1);
    let item = portal.get(&format!("/portal/sent/{}", items[0])).await;
    assert_eq!(item.status, 200);
    assert!(item
        .body
        .contains(&format!("When is my appointment? {MARKER}")));
    let file = portal
        .get(&format!("/portal/sent/{}/attachment/0", items[0]))
        .await;
    assert_eq!(file.bytes, format!("scan {MARKER}").into_bytes());

    // Encrypted at rest: no file under the data directory holds the marker
    // (the outbox holds the notification, whose envelope is encrypted).
    common::assert_not_at_rest(&server, &[MARKER.as_bytes()]);

    // Only its owner sees it.
    let mut carol = logged_in(&server, CAROL).await;
    assert_eq!(
        carol
            .get(&format!("/portal/sent/{}", items[0]))
            .await
            .status,
        404
    );
    assert!(links(&carol.get("/portal/sent").await.body, "/portal/sent/").is_empty());

    // Its owner deletes it.
    let csrf = Portal::csrf(&item.body);
    let deleted = portal
        .post(
            &format!("/portal/sent/{}/delete", items[0]),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(deleted.status, 303);
    assert_eq!(
        portal
            .get(&format!("/portal/sent/{}", items[0]))
            .await
            .status,
        404
    );
}

/// An answer from the portal is kept too; the retention deletes Sent items,
/// keys first.
async fn answers_are_kept_and_the_retention_deletes_them(backend: Backend) {
    let server = server(backend, true).await;
    let id = "a".repeat(32);
    let token = registered(&server, &id, BOB, None).await;
    let message =
        b"From: alice@clinic.example\r\nTo: bob@example.net\r\nSubject: Results\r\n\r\nHello.\r\n";
    let bytes = sealed_bytes(
        &id,
        BOB,
        "http://127.0.0.1",
        SecurityLevel::High,
        Flags::default(),
        message,
    );
    assert_eq!(upload(&server, Some(&token), &id, bytes).await.0, 201);
    let mut portal = logged_in(&server, BOB).await;
    let compose = portal
        .get(&format!("/portal/m/{id}/compose?kind=reply"))
        .await;
    let csrf = Portal::csrf(&compose.body);
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .text("kind", "reply")
        .text("subject", "Re: Results")
        .text("body", "Thanks.");
    let sent = portal
        .post_multipart(&format!("/portal/m/{id}/compose"), form)
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let list = portal.get("/portal/sent").await;
    assert!(list.body.contains("Re: Results"));

    let config = key_server::Config {
        internal_domains: vec!["clinic.example".into()],
        ..key_server::Config::default()
    };
    server.advance(31 * 86_400);
    key_server::sweep_once(&server.store, &config).await;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.database_url).await.unwrap();
    for table in ["private_items", "blob_chunks"] {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} after the retention");
    }
}

/// `keep_sent = false`: no Sent items, nothing kept.
async fn sent_items_can_be_turned_off(backend: Backend) {
    let server = server(backend, false).await;
    let mut portal = logged_in(&server, BOB).await;
    let compose = portal.get("/portal/compose").await;
    assert!(!compose.body.contains("href=\"/portal/sent\""));
    let csrf = Portal::csrf(&compose.body);
    let sent = portal
        .post_multipart("/portal/compose", new_message(&csrf, ALICE))
        .await;
    assert_eq!(sent.status, 200);
    let list = portal.get("/portal/sent").await;
    assert!(list.body.contains("are not kept"));
    assert!(links(&list.body, "/portal/sent/").is_empty());
}

/// Without compose domains, recipients cannot write new messages.
async fn without_compose_domains_there_is_no_compose(backend: Backend) {
    let server = start_with(backend, |_| {}).await;
    let mut portal = logged_in(&server, BOB).await;
    let inbox = portal.get("/portal/inbox").await;
    assert!(!inbox.body.contains("href=\"/portal/compose\""));
    let page = portal.get("/portal/compose").await;
    assert_eq!(page.status, 403);
    let csrf = Portal::csrf(&inbox.body);
    let forced = portal
        .post_multipart("/portal/compose", new_message(&csrf, ALICE))
        .await;
    assert_eq!(forced.status, 403);
}

/// The editor's formatting reaches the recipient through the allowlist
/// only: what a forged post adds (script, handlers, styles, javascript:
/// links, remote images) is gone from the message as sent.
async fn formatting_is_sanitised_on_the_server(backend: Backend) {
    let server = server(backend, true).await;
    let mut portal = logged_in(&server, BOB).await;
    let compose = portal.get("/portal/compose").await;
    assert!(
        compose.body.contains("id=\"editor-area\""),
        "the editor is on the page"
    );
    let csrf = Portal::csrf(&compose.body);
    let html = "<p><b>Bold words</b> and <font color=\"#b3261e\" size=\"5\">red</font></p>\
                <script>alert(1)</script><img src=\"https://tracker.example/p\" onerror=\"alert(2)\">\
                <a href=\"javascript:alert(3)\">js</a><p style=\"background:url(https://t.example)\">styled</p>";
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .text("kind", "new")
        .text("to", ALICE)
        .text("subject", "Formatted")
        .text("body", "Bold words and red")
        .text("html", html.to_string());
    let sent = portal.post_multipart("/portal/compose", form).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let items = links(&portal.get("/portal/sent").await.body, "/portal/sent/");
    let eml = portal.get(&format!("/portal/sent/{}", items[0])).await;
    let view = eml.body;
    assert!(view.contains("<b>Bold words</b>"), "{view}");
    for gone in [
        "alert(",
        "tracker.example",
        "javascript:",
        "url(",
        "onerror",
    ] {
        assert!(!view.contains(gone), "{gone} reached the message");
    }
}

/// A group of the address book, ticked in Compose, sends to its members
/// (each once, beside what was typed); a ticked address outside the
/// organisation is refused like a typed one.
async fn an_address_book_group_fills_to(backend: Backend) {
    let server = server(backend, true).await;
    let mut portal = logged_in(&server, BOB).await;
    let csrf = Portal::csrf(&portal.get("/portal/contacts").await.body);
    for (first, last, email) in [
        ("Alice", "Doctor", ALICE),
        ("Dan", "Nurse", "dan@clinic.example"),
    ] {
        let added = portal
            .post(
                "/portal/contacts",
                &[
                    ("csrf", &csrf),
                    ("first", first),
                    ("last", last),
                    ("email", email),
                ],
            )
            .await;
        assert_eq!(added.status, 303, "{}", added.body);
    }
    let created = portal
        .post("/portal/groups", &[("csrf", &csrf), ("name", "Care team")])
        .await;
    let group = created.location.unwrap()["/portal/groups/".len()..][..32].to_string();
    let contacts = portal.get("/portal/contacts").await;
    let ids: Vec<String> = contacts
        .body
        .match_indices("href=\"/portal/contacts/")
        .map(|(at, _)| contacts.body[at + 23..at + 55].to_string())
        .filter(|id| id.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    assert_eq!(ids.len(), 2);
    let mut members = vec![("csrf", csrf.as_str())];
    members.extend(ids.iter().map(|id| ("member", id.as_str())));
    let set = portal
        .post(&format!("/portal/groups/{group}/members"), &members)
        .await;
    assert_eq!(set.status, 303);

    let compose = portal.get("/portal/compose").await;
    assert!(compose.body.contains("Care team"), "the group is offered");
    let csrf = Portal::csrf(&compose.body);
    let team = "alice@clinic.example, dan@clinic.example";
    assert!(compose.body.contains(team), "{}", compose.body);
    let form = new_message(&csrf, ALICE).text("book_to", team);
    let sent = portal.post_multipart("/portal/compose", form).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(
        sent.body
            .contains("alice@clinic.example, dan@clinic.example"),
        "{}",
        sent.body
    );
    let mut to: Vec<String> = pages_support::wait_mails(&server, 2)
        .await
        .into_iter()
        .map(|m| m.0)
        .collect();
    to.sort();
    assert_eq!(to, ["alice@clinic.example", "dan@clinic.example"]);

    let outside = new_message(&csrf, ALICE).text("book_to", "mallory@evil.example");
    let refused = portal.post_multipart("/portal/compose", outside).await;
    assert_eq!(refused.status, 422);
}

/// `POST /portal/drafts/autosave` as the page's script sends it.
async fn autosave(
    server: &Server,
    portal: &Portal,
    csrf: &str,
    draft: &str,
    subject: &str,
) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/portal/drafts/autosave", server.base))
        .header("Cookie", portal.cookie.clone().unwrap())
        .header("Sec-Fetch-Site", "same-origin")
        .header("X-Securedoc-Csrf", csrf)
        .header("X-Securedoc-Background", "1")
        .json(&serde_json::json!({"draft": draft, "to": ALICE, "subject": subject, "body": format!("typed {MARKER}")}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// Drafts: saved without JavaScript and by autosave, encrypted at rest,
/// reopened with their attachments, sent (then gone), only their owner's,
/// at most 50, deleted by the retention.
async fn drafts_are_saved_reopened_sent_and_private(backend: Backend) {
    let server = server(backend, true).await;
    let mut portal = logged_in(&server, BOB).await;
    let compose = portal.get("/portal/compose").await;
    assert!(compose.body.contains("Save draft"));
    let csrf = Portal::csrf(&compose.body);

    let saved = portal
        .post_multipart(
            "/portal/compose",
            new_message(&csrf, ALICE).text("action", "save_draft"),
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let location = saved.location.unwrap();
    assert!(
        location.starts_with("/portal/drafts/") && location.ends_with("?saved=1"),
        "{location}"
    );
    let id = location["/portal/drafts/".len().."/portal/drafts/".len() + 32].to_string();
    let reopened = portal.get(&location).await;
    assert_eq!(reopened.status, 200);
    assert!(reopened.body.contains("Your draft was saved."));
    assert!(reopened
        .body
        .contains(&format!("value=\"Question {MARKER}\"")));
    assert!(reopened
        .body
        .contains(&format!("When is my appointment? {MARKER}")));
    assert!(
        reopened.body.contains("scan.pdf"),
        "the draft's attachment is offered"
    );
    assert!(reopened
        .body
        .contains(&format!("name=\"draft\" id=\"draft\" value=\"{id}\"")));
    let list = portal.get("/portal/drafts").await;
    assert_eq!(links(&list.body, "/portal/drafts/"), vec![id.clone()]);
    common::assert_not_at_rest(&server, &[MARKER.as_bytes()]);

    // Autosave: the text changes, the attachment stays; the token is required.
    let (status, answer) = autosave(&server, &portal, &csrf, &id, "Autosaved").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["draft"], id.as_str());
    assert_eq!(
        autosave(&server, &portal, "wrong", &id, "Forged").await.0,
        403
    );
    let reopened = portal.get(&format!("/portal/drafts/{id}")).await;
    assert!(reopened.body.contains("value=\"Autosaved\""));
    assert!(reopened.body.contains("scan.pdf"));

    // Someone else's draft does not exist for them.
    let mut carol = logged_in(&server, CAROL).await;
    assert_eq!(carol.get(&format!("/portal/drafts/{id}")).await.status, 404);
    let carol_csrf = Portal::csrf(&carol.get("/portal/inbox").await.body);
    let (status, answer) = autosave(&server, &carol, &carol_csrf, &id, "Hijack").await;
    assert_eq!(status, 200);
    assert_ne!(
        answer["draft"],
        id.as_str(),
        "a new draft of her own, not Bob's"
    );
    assert!(portal
        .get(&format!("/portal/drafts/{id}"))
        .await
        .body
        .contains("value=\"Autosaved\""));

    // Sent with its kept attachment: the draft is gone, Sent items has it,
    // once, even when a forged post names it many times.
    let mut form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("kind", "new")
        .text("draft", id.clone())
        .text("to", ALICE)
        .text("subject", "Autosaved")
        .text("body", "Final text.");
    for _ in 0..5000 {
        form = form.text("keep", "0");
    }
    let sent = portal.post_multipart("/portal/compose", form).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(
        portal.get(&format!("/portal/drafts/{id}")).await.status,
        404
    );
    let items = links(&portal.get("/portal/sent").await.body, "/portal/sent/");
    let item = portal.get(&format!("/portal/sent/{}", items[0])).await;
    assert_eq!(item.body.matches(">scan.pdf<").count(), 1, "{}", item.body);

    // At most 50 drafts.
    let mut statuses = Vec::new();
    for n in 0..51 {
        statuses.push(
            autosave(&server, &portal, &csrf, "", &format!("Draft {n}"))
                .await
                .0,
        );
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 50);
    assert_eq!(statuses[50], 507);

    // The retention deletes drafts, keys first.
    let config = key_server::Config {
        internal_domains: vec!["clinic.example".into()],
        ..key_server::Config::default()
    };
    server.advance(31 * 86_400);
    key_server::sweep_once(&server.store, &config).await;
    assert!(links(&portal_after(&server, BOB).await, "/portal/drafts/").is_empty());
}

/// The Drafts page of `address`, logged in afresh (after a moved clock).
async fn portal_after(server: &Server, address: &str) -> String {
    let mut portal = Portal::new(server);
    portal.log_in(address, PASSWORD, "/portal/inbox").await;
    portal.get("/portal/drafts").await.body
}

/// A burst of new drafts at once (the page's autosave, or a script) stops
/// at the 50-draft cap: the count and the insert are one statement under
/// the account's lock, so parallel requests cannot each see room for one more.
async fn a_burst_of_new_drafts_stops_at_the_cap(backend: Backend) {
    let server = server(backend, true).await;
    let portal = logged_in(&server, BOB).await;
    let csrf = Portal::csrf(&portal_page(&server, &portal, "/portal/compose").await);
    let mut saves = tokio::task::JoinSet::new();
    for n in 0..70 {
        let (base, cookie, csrf) = (
            server.base.clone(),
            portal.cookie.clone().unwrap(),
            csrf.clone(),
        );
        saves.spawn(async move {
            reqwest::Client::new()
                .post(format!("{base}/portal/drafts/autosave"))
                .header("Cookie", cookie)
                .header("Sec-Fetch-Site", "same-origin")
                .header("X-Securedoc-Csrf", csrf)
                .header("X-Securedoc-Background", "1")
                .json(&serde_json::json!({"draft": "", "to": ALICE, "subject": format!("Burst {n}"), "body": "typed"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let statuses = saves.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        50,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 507).count(),
        20,
        "{statuses:?}"
    );
    let drafts = server
        .store
        .items_page(BOB, "draft", None, 100)
        .await
        .unwrap();
    assert_eq!(drafts.len(), 50);
}

/// A page's body, with the session of `portal` (no cookie change).
async fn portal_page(server: &Server, portal: &Portal, path: &str) -> String {
    reqwest::Client::new()
        .get(format!("{}{path}", server.base))
        .header("Cookie", portal.cookie.clone().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Rows moved to another account in the database (by someone who can write
/// to it but does not hold the master key) open nothing there: summaries,
/// items and names are sealed to their owner, and a message's own header
/// names its recipient.
async fn rows_moved_to_another_account_open_nothing(backend: Backend) {
    const EVE: &str = "eve@example.net";
    let server = server(backend, true).await;
    let id = "5".repeat(32);
    common::pull(&server, &id, BOB).await;
    let mut bob = logged_in(&server, BOB).await;
    let compose = bob.get("/portal/compose").await;
    let csrf = Portal::csrf(&compose.body);
    let sent = bob
        .post_multipart("/portal/compose", new_message(&csrf, ALICE))
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let (status, _) = autosave(&server, &bob, &csrf, "", "Bob's draft").await;
    assert_eq!(status, 200);
    let created = bob
        .post(
            "/portal/folders",
            &[("csrf", &csrf), ("name", "Bob's taxes")],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let sent_item = links(&bob.get("/portal/sent").await.body, "/portal/sent/")[0].clone();
    let draft = links(&bob.get("/portal/drafts").await.body, "/portal/drafts/")[0].clone();
    assert!(bob
        .get("/portal/inbox")
        .await
        .body
        .contains(&format!("/portal/m/{id}")));

    let mut eve = logged_in(&server, EVE).await;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.database_url).await.unwrap();
    for table in ["mailbox_entries", "private_items", "folders"] {
        sqlx::query(&format!(
            "UPDATE {table} SET address = $1 WHERE address = $2"
        ))
        .bind(EVE)
        .bind(BOB)
        .execute(&pool)
        .await
        .unwrap();
    }
    let inbox = eve.get("/portal/inbox").await;
    assert!(
        !inbox.body.contains(&format!("/portal/m/{id}")),
        "{}",
        inbox.body
    );
    assert_eq!(eve.get(&format!("/portal/m/{id}")).await.status, 404);
    assert!(links(&eve.get("/portal/sent").await.body, "/portal/sent/").is_empty());
    assert_eq!(
        eve.get(&format!("/portal/sent/{sent_item}")).await.status,
        404
    );
    assert!(links(&eve.get("/portal/drafts").await.body, "/portal/drafts/").is_empty());
    assert_eq!(
        eve.get(&format!("/portal/drafts/{draft}")).await.status,
        404
    );
    assert!(!eve.get("/portal/folders").await.body.contains("Bob"));
}

/// A message whose From header is not the sender the key server
/// registered it from says so, naming the registered sender; one whose
/// From agrees says nothing.
async fn a_from_that_is_not_the_registered_sender_is_flagged(backend: Backend) {
    let server = server(backend, true).await;
    let (honest, forged) = ("6".repeat(32), "7".repeat(32));
    common::pull(&server, &honest, BOB).await;
    let token = registered(&server, &forged, BOB, None).await;
    let message = format!(
        "From: The Bank <security@bank.example>\r\nTo: {BOB}\r\nSubject: Urgent\r\n\r\nClick here.\r\n"
    );
    let bytes = sealed_bytes(
        &forged,
        BOB,
        "http://127.0.0.1",
        envelope_core::SecurityLevel::High,
        envelope_core::Flags::default(),
        message.as_bytes(),
    );
    assert_eq!(upload(&server, Some(&token), &forged, bytes).await.0, 201);
    let mut bob = logged_in(&server, BOB).await;
    let page = bob.get(&format!("/portal/m/{forged}")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("but the key server registered it from alice@clinic.example"),
        "{}",
        page.body
    );
    let page = bob.get(&format!("/portal/m/{honest}")).await;
    assert!(!page.body.contains("registered it from"), "{}", page.body);
}

on_both_stores!(
    a_from_that_is_not_the_registered_sender_is_flagged,
    rows_moved_to_another_account_open_nothing,
    a_burst_of_new_drafts_stops_at_the_cap,
    an_address_book_group_fills_to,
    formatting_is_sanitised_on_the_server,
    drafts_are_saved_reopened_sent_and_private,
    a_new_message_goes_to_the_organisation_and_into_sent_items,
    answers_are_kept_and_the_retention_deletes_them,
    sent_items_can_be_turned_off,
    without_compose_domains_there_is_no_compose,
);
