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

on_both_stores!(
    a_new_message_goes_to_the_organisation_and_into_sent_items,
    answers_are_kept_and_the_retention_deletes_them,
    sent_items_can_be_turned_off,
    without_compose_domains_there_is_no_compose,
);
