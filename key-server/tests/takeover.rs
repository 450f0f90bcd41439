//! The attacker's moves on accounts, on SQLite and PostgreSQL: registering
//! someone else's address before or after them, a prefetched link, the
//! owner clicking the attacker's link, a burst of answer sets on one reset
//! link, and the per-address registration limit.

mod common;
mod pages_support;

use common::{register, release, start, start_with, Backend};
use pages_support::*;

const ATTACKER_PASSWORD: &str = "Crimson-Ferry-Anchor-31";

/// The attacker's registration of `email`: their password and answers.
fn attacker_form(email: &str) -> Vec<(&'static str, String)> {
    with(
        &form(email),
        &[
            ("first_name", "Mallory"),
            ("password", ATTACKER_PASSWORD),
            ("password_confirm", ATTACKER_PASSWORD),
            ("answer1", "Evil"),
            ("answer1_confirm", "Evil"),
        ],
    )
}

async fn registering_first_takes_nothing(backend: Backend) {
    let server = start(backend).await;
    let id = "11111111111111111111111111111111";
    register(&server, id, &["victim@example.org"], None).await;

    // The attacker registers the victim's address first; the link goes to
    // the victim's mailbox.
    let attack = post_form(
        &server,
        "/register",
        &pairs(&attacker_form("victim@example.org")),
    )
    .await;
    assert_eq!(attack.0, 200);
    let attacker_link = link(&wait_mails(&server, 1).await[0].2, "/confirm?token=");

    // Then the victim registers: their own registration, their own link.
    let victim = post_form(&server, "/register", &pairs(&form("victim@example.org"))).await;
    assert_eq!(victim, attack, "the page says the same to both");
    let victim_link = link(&wait_mails(&server, 1).await[0].2, "/confirm?token=");
    assert_ne!(victim_link, attacker_link);

    // A mail scanner prefetches both links: nothing is confirmed.
    assert_eq!(get(&server, &attacker_link).await.0, 200);
    assert_eq!(get(&server, &victim_link).await.0, 200);
    assert_eq!(
        status(&server, id, "victim@example.org").await.1["registered"],
        false
    );

    // The victim clicks the attacker's link and types their own password:
    // it confirms nothing.
    let (code, page) = confirm_with(&server, &attacker_link, PASSWORD).await;
    assert_eq!(code, 422);
    assert!(page.contains("This is not the password chosen with this registration."));
    assert_eq!(
        status(&server, id, "victim@example.org").await.1["registered"],
        false
    );

    // The victim's own link confirms the victim's registration.
    assert_eq!(confirm_with(&server, &victim_link, PASSWORD).await.0, 200);
    let (code, _, key) = release(&server, id, "victim@example.org", PASSWORD).await;
    assert_eq!((code, key.unwrap()), (200, common::KEY.to_vec()));
    assert_eq!(
        release(&server, id, "victim@example.org", ATTACKER_PASSWORD)
            .await
            .0,
        401
    );
    // The attacker's registration is void now, even with their password.
    assert_eq!(
        confirm_with(&server, &attacker_link, ATTACKER_PASSWORD)
            .await
            .0,
        410
    );
    assert_eq!(
        release(&server, id, "victim@example.org", PASSWORD).await.0,
        200
    );
}

async fn registering_after_the_owner_takes_nothing(backend: Backend) {
    let server = start(backend).await;
    let id = "22222222222222222222222222222222";
    register(&server, id, &["owner@example.org"], None).await;

    // The owner registers; before they confirm, the attacker registers too.
    post_form(&server, "/register", &pairs(&form("owner@example.org"))).await;
    let owner_link = link(&wait_mails(&server, 1).await[0].2, "/confirm?token=");
    post_form(
        &server,
        "/register",
        &pairs(&attacker_form("owner@example.org")),
    )
    .await;
    let attacker_link = link(&wait_mails(&server, 1).await[0].2, "/confirm?token=");

    // The owner's link still confirms the owner's registration.
    assert_eq!(confirm_with(&server, &owner_link, PASSWORD).await.0, 200);
    assert_eq!(
        release(&server, id, "owner@example.org", PASSWORD).await.0,
        200
    );
    assert_eq!(
        confirm_with(&server, &attacker_link, ATTACKER_PASSWORD)
            .await
            .0,
        410
    );

    // Registering a confirmed address changes nothing; its owner is told.
    post_form(
        &server,
        "/register",
        &pairs(&attacker_form("owner@example.org")),
    )
    .await;
    let mails = wait_mails(&server, 1).await;
    assert_eq!(
        mails[0].1,
        "You already have an account for secure messages"
    );
    assert!(!mails[0].2.contains("Mallory"));
    assert_eq!(
        release(&server, id, "owner@example.org", PASSWORD).await.0,
        200
    );
    assert_eq!(
        release(&server, id, "owner@example.org", ATTACKER_PASSWORD)
            .await
            .0,
        401
    );

    // A fourth registration of the address within the hour is refused
    // before any work; it says so, not whether there is an account.
    let (code, page) = post_form(
        &server,
        "/register",
        &pairs(&attacker_form("owner@example.org")),
    )
    .await;
    assert_eq!(code, 429);
    assert!(page.contains("Too many attempts"));
    no_mail(&server).await;
}

/// Answer checks done on the account (each wrong set writes one audit row
/// once checked).
async fn wrong_answer_checks(server: &common::Server) -> i64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.database_url).await.unwrap();
    let (count,): (i64,) =
        sqlx::query_as("SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM audit WHERE outcome = 'reset_wrong_answers'")
            .fetch_one(&pool)
            .await
            .unwrap();
    count
}

async fn a_burst_on_one_reset_link_checks_five(backend: Backend) {
    let server = start(backend).await;
    let id = "33333333333333333333333333333333";
    register(&server, id, &["gus@example.org"], None).await;
    post_form(&server, "/register", &pairs(&form("gus@example.org"))).await;
    let confirm = link(&wait_mails(&server, 1).await[0].2, "/confirm?token=");
    assert_eq!(confirm_with(&server, &confirm, PASSWORD).await.0, 200);
    post_form(&server, "/forgot", &[("email", "gus@example.org")]).await;
    let reset = link(&wait_mails(&server, 1).await[0].2, "/reset?token=");
    let token = reset.split("token=").nth(1).unwrap().to_string();

    // 50 answer sets at once on the one link.
    let mut burst = Vec::new();
    for n in 0..50 {
        let server_base = server.base.clone();
        let token = token.clone();
        burst.push(tokio::spawn(async move {
            client()
                .post(format!("{server_base}/reset"))
                .form(&[
                    ("token", token.as_str()),
                    ("answer1", &format!("guess {n}")),
                    ("answer2", "no"),
                    ("answer3", "no"),
                    ("password", "Brand#New#Boat99"),
                    ("password_confirm", "Brand#New#Boat99"),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for request in burst {
        assert_ne!(request.await.unwrap(), 200);
    }
    assert_eq!(
        wrong_answer_checks(&server).await,
        5,
        "at most the link's 5 answer sets were checked"
    );
    // The right answers now get nothing either.
    let (code, _) = post_form(
        &server,
        "/reset",
        &[
            ("token", token.as_str()),
            ("answer1", "Rex"),
            ("answer2", "Hillside Primary"),
            ("answer3", "Fiat"),
            ("password", "Brand#New#Boat99"),
            ("password_confirm", "Brand#New#Boat99"),
        ],
    )
    .await;
    assert_ne!(code, 200);
    assert_eq!(wrong_answer_checks(&server).await, 5);
    assert_eq!(
        release(&server, id, "gus@example.org", PASSWORD).await.0,
        200
    );
}

async fn a_newer_reset_link_leaves_the_older_one_working(backend: Backend) {
    let server = start(backend).await;
    let id = "44444444444444444444444444444444";
    register(&server, id, &["hal@example.org"], None).await;
    post_form(&server, "/register", &pairs(&form("hal@example.org"))).await;
    let confirm = link(&wait_mails(&server, 1).await[0].2, "/confirm?token=");
    assert_eq!(confirm_with(&server, &confirm, PASSWORD).await.0, 200);

    post_form(&server, "/forgot", &[("email", "hal@example.org")]).await;
    let first = link(&wait_mails(&server, 1).await[0].2, "/reset?token=");
    // Someone else asks for another link: the owner's first one still works.
    post_form(&server, "/forgot", &[("email", "hal@example.org")]).await;
    let second = link(&wait_mails(&server, 1).await[0].2, "/reset?token=");
    assert_eq!(get(&server, &first).await.0, 200);
    let token = first.split("token=").nth(1).unwrap();
    let (code, page) = post_form(
        &server,
        "/reset",
        &[
            ("token", token),
            ("answer1", "Rex"),
            ("answer2", "Hillside Primary"),
            ("answer3", "Fiat"),
            ("password", "Sailing#Boat2024"),
            ("password_confirm", "Sailing#Boat2024"),
        ],
    )
    .await;
    assert_eq!(code, 200, "{page}");
    // Once the password is set, the other link stops working.
    assert_eq!(get(&server, &second).await.0, 410);

    // A third request within the hour is the address's last mail: the
    // fourth sends nothing, and the page does not say so.
    post_form(&server, "/forgot", &[("email", "hal@example.org")]).await;
    wait_mails(&server, 1).await;
    let (code, page) = post_form(&server, "/forgot", &[("email", "hal@example.org")]).await;
    assert_eq!(code, 200);
    assert!(page.contains("Check your e-mail"));
    no_mail(&server).await;
}

async fn forgot_is_limited_per_client(backend: Backend) {
    let server = start(backend).await;
    // Twenty posts an hour from one client, whatever the addresses; then 429
    // with Retry-After, and nothing about any account.
    for n in 0..20 {
        let email = format!("someone{n}@example.org");
        let (code, _) = post_form(&server, "/forgot", &[("email", email.as_str())]).await;
        assert_eq!(code, 200, "post {n}");
    }
    let response = client()
        .post(format!("{}/forgot", server.base))
        .form(&[("email", "someone@example.org")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "3600");
    assert!(response.text().await.unwrap().contains("Too many attempts"));
}

/// A `/forgot` post from `forwarded`, as its `X-Forwarded-For` says.
async fn forgot_from(server: &common::Server, n: usize, forwarded: &str) -> u16 {
    client()
        .post(format!("{}/forgot", server.base))
        .header("X-Forwarded-For", forwarded)
        .form(&[("email", format!("someone{n}@example.org"))])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Without `trusted_proxies` a forged `X-Forwarded-For` is ignored: a new
/// made-up address on every post buys no fresh per-client limit. Behind a
/// trusted proxy the client it names has its own limit, and another client
/// behind the same proxy is not blocked.
async fn forgot_believes_forwarded_for_only_from_trusted_proxies(backend: Backend) {
    let server = start(backend).await;
    for n in 0..20 {
        assert_eq!(
            forgot_from(&server, n, &format!("203.0.113.{n}")).await,
            200
        );
    }
    assert_eq!(forgot_from(&server, 20, "203.0.113.99").await, 429);

    let trusting = start_with(Backend::Sqlite, |config| {
        config.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    for n in 0..20 {
        // Whatever the client writes left of the proxy's hop, it is one client.
        let hops = format!("198.51.100.{n}, 203.0.113.7");
        assert_eq!(forgot_from(&trusting, n, &hops).await, 200);
    }
    assert_eq!(forgot_from(&trusting, 20, "203.0.113.7").await, 429);
    assert_eq!(forgot_from(&trusting, 21, "203.0.113.8").await, 200);
}

on_both_stores!(
    forgot_believes_forwarded_for_only_from_trusted_proxies,
    forgot_is_limited_per_client,
    registering_first_takes_nothing,
    registering_after_the_owner_takes_nothing,
    a_burst_on_one_reset_link_checks_five,
    a_newer_reset_link_leaves_the_older_one_working,
);
