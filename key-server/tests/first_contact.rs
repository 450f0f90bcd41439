//! First contact by temporary password (`[portal] first_contact =
//! "temporary_password"`), over real HTTP on SQLite and PostgreSQL: the
//! first pull message for an address creates its account and mails a
//! first-time password once, even when several arrive at once; that
//! password opens only "Choose your password" (not the Inbox, not key
//! release), the new one must follow the policy, and afterwards the
//! first-time one is dead. It expires unused; an address with an account
//! gets no such mail.

mod common;
mod pages_support;
mod portal_support;

use common::{account, pull, start_with, Backend, Server, PASSWORD};
use key_server::FirstContact;
use pages_support::{no_mail, wait_mails};
use portal_support::Portal;

const BOB: &str = "bob@example.net";
const NEW_PASSWORD: &str = "a long new passphrase 42";

async fn temporary_mode(backend: Backend) -> Server {
    start_with(backend, |config| {
        config.portal.first_contact = FirstContact::TemporaryPassword;
    })
    .await
}

/// The first-time password in the mail's text.
fn mailed_password(body: &str) -> String {
    let line = body
        .lines()
        .find(|l| l.starts_with("First-time password:"))
        .unwrap_or_else(|| panic!("no password in {body}"));
    line["First-time password:".len()..].trim().to_string()
}

async fn the_first_message_mails_a_password_that_only_chooses_a_new_one(backend: Backend) {
    let server = temporary_mode(backend).await;
    // Three first messages at once: one account, one mail.
    let ids: Vec<String> = ('a'..='c').map(|c| c.to_string().repeat(32)).collect();
    tokio::join!(
        pull(&server, &ids[0], BOB),
        pull(&server, &ids[1], BOB),
        pull(&server, &ids[2], BOB),
    );
    let mails = wait_mails(&server, 1).await;
    let (to, subject, body) = &mails[0];
    assert_eq!(to, BOB);
    assert_eq!(subject, "Secure Messaging Password Notification");
    assert!(body.contains("/portal/m/"), "{body}");
    assert!(body.contains("works for 14 days"), "{body}");
    let temporary = mailed_password(body);
    assert_eq!(temporary.len(), 16);

    // The key server keeps its hash (the mail's copy goes once it is sent).
    let account = server.store.account(BOB).await.unwrap().unwrap();
    assert!(account.must_change_password);
    assert!(!account.password_hash.contains(&temporary));

    // The first-time password does not release keys.
    let (status, body, _) = common::release(&server, &ids[0], BOB, &temporary).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "password_expired");

    // It logs in to "Choose your password" only.
    let mut portal = Portal::new(&server);
    let link = format!("/portal/m/{}", ids[1]);
    let login = portal.log_in(BOB, &temporary, &link).await;
    assert_eq!(login.status, 303, "{}", login.body);
    let to_password = login.location.unwrap();
    assert!(
        to_password.starts_with("/portal/password?next=/portal/m/"),
        "{to_password}"
    );
    for path in ["/portal/inbox", link.as_str()] {
        let answer = portal.get(path).await;
        assert_eq!(answer.status, 303, "{path}");
        assert!(answer.location.unwrap().starts_with("/portal/password"));
    }
    let page = portal.get(&to_password).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Choose your password"));
    let csrf = Portal::csrf(&page.body);

    // The policy applies; the first-time password is not a new one.
    for (weak, says) in [("short", "at least"), (temporary.as_str(), "")] {
        let refused = portal
            .post(
                "/portal/password",
                &[
                    ("csrf", &csrf),
                    ("next", &link),
                    ("password", weak),
                    ("password_confirm", weak),
                ],
            )
            .await;
        assert_eq!(refused.status, 422, "{weak}");
        assert!(refused.body.contains(says));
    }
    let old_cookie = portal.cookie.clone();
    let chosen = portal
        .post(
            "/portal/password",
            &[
                ("csrf", &csrf),
                ("next", &link),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(chosen.status, 303, "{}", chosen.body);
    assert_eq!(chosen.location.as_deref(), Some(link.as_str()));
    assert_ne!(portal.cookie, old_cookie, "a new session id");
    let view = portal.get(&link).await;
    assert_eq!(view.status, 200);
    assert!(view.body.contains("Hello."));

    // The first-time password is dead; the new one works, in the portal
    // and for key release.
    let mut other = Portal::new(&server);
    assert_eq!(
        other.log_in(BOB, &temporary, "/portal/inbox").await.status,
        401
    );
    assert_eq!(
        other
            .log_in(BOB, NEW_PASSWORD, "/portal/inbox")
            .await
            .status,
        303
    );
    let (status, _, key) = common::release(&server, &ids[2], BOB, NEW_PASSWORD).await;
    assert_eq!(status, 200);
    assert!(key.is_some());
}

async fn an_unused_temporary_password_expires(backend: Backend) {
    let server = temporary_mode(backend).await;
    let id = "d".repeat(32);
    pull(&server, &id, BOB).await;
    let temporary = mailed_password(&wait_mails(&server, 1).await[0].2);
    server.advance(15 * 86_400);
    let mut portal = Portal::new(&server);
    let refused = portal.log_in(BOB, &temporary, "/portal/inbox").await;
    assert_eq!(refused.status, 403);
    assert!(refused
        .body
        .contains("first-time password we mailed you has expired"));
}

async fn an_address_with_an_account_gets_no_password_mail(backend: Backend) {
    let server = temporary_mode(backend).await;
    account(&server, BOB, true, None).await;
    pull(&server, &"e".repeat(32), BOB).await;
    no_mail(&server).await;
    let mut portal = Portal::new(&server);
    assert_eq!(
        portal.log_in(BOB, PASSWORD, "/portal/inbox").await.status,
        303
    );
}

on_both_stores!(
    the_first_message_mails_a_password_that_only_chooses_a_new_one,
    an_unused_temporary_password_expires,
    an_address_with_an_account_gets_no_password_mail,
);
