//! Key release as an attacker tries it: a burst of parallel guesses
//! (item 2), guesses without an envelope (item 3), and forged
//! `X-Forwarded-For` headers (item 6). On SQLite and PostgreSQL.

mod common;
mod release_support;

use std::time::{Duration, Instant};

use common::{register, start_with, Backend};
use release_support::{account, post_release, release_body, PASSWORD};

/// 200 wrong guesses at once, the right password sent late in the burst:
/// at most the lockout's 5 passwords are ever verified, and once locked
/// the right one gets nothing.
async fn a_burst_checks_at_most_the_limit(backend: Backend) {
    let server = start_with(backend, |config| {
        // The per-client limit is not what this test is about: the account's own is.
        config.client_failure_limit = 1000;
    })
    .await;
    let id = "b0000000000000000000000000000001";
    let bob = "bob@example.net";
    register(&server, id, &[bob], None).await;
    account(&server, bob).await;

    let client = reqwest::Client::new();
    let mut burst = Vec::new();
    for i in 0..200 {
        let (client, base) = (client.clone(), server.base.clone());
        let body = release_body(id, bob, &format!("guess {i}"));
        burst.push(tokio::spawn(async move {
            post_release(&client, &base, &body, &[]).await
        }));
    }
    // Late: once the burst has locked the account (its fifth wrong guess
    // verified). A fixed pause here was a guess about a loaded machine.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while server
        .store
        .audit_count(bob, "wrong_password")
        .await
        .unwrap()
        < 5
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the burst did not get five guesses verified in a minute"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, body) =
        post_release(&client, &server.base, &release_body(id, bob, PASSWORD), &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (423, Some("locked")),
        "{body}"
    );
    let mut statuses = std::collections::BTreeMap::new();
    for request in burst {
        let (status, body) = request.await.unwrap();
        assert!(
            [401, 423].contains(&status),
            "only wrong_password or locked: {status} {body}"
        );
        *statuses.entry(status).or_insert(0) += 1;
    }
    assert_eq!(statuses.get(&401), Some(&5), "{statuses:?}");

    // Every verified password left its audit row: exactly the limit.
    let verified = server
        .store
        .audit_count(bob, "wrong_password")
        .await
        .unwrap()
        + server.store.audit_count(bob, "released").await.unwrap();
    assert_eq!(verified, 5, "passwords verified during the burst");
    assert_eq!(server.store.audit_count(bob, "locked").await.unwrap(), 196);
    let locked = server.store.account(bob).await.unwrap().unwrap();
    assert!(locked.locked_until.is_some(), "the account is locked");
}

/// A made-up message id, with a real account or a made-up one, and a real
/// message for an address it was not sent to: the same status, body and
/// cost; and no amount of such failures locks the real account.
async fn no_oracle_without_an_envelope(backend: Backend) {
    let server = start_with(backend, |config| {
        config.client_failure_limit = 1000;
        config.lockout_attempts = Some(100);
    })
    .await;
    let id = "b0000000000000000000000000000002";
    let bob = "bob@example.net";
    register(&server, id, &[bob], None).await;
    account(&server, bob).await;
    account(&server, "eve@example.org").await;
    let client = reqwest::Client::new();
    let made_up = "0123456789abcdef0123456789abcdef";

    let timed = |body: serde_json::Value| {
        let (client, base) = (client.clone(), server.base.clone());
        async move {
            let started = Instant::now();
            let answer = post_release(&client, &base, &body, &[]).await;
            (answer, started.elapsed())
        }
    };
    let cases = [
        release_body(made_up, bob, "guess"),
        release_body(made_up, bob, PASSWORD),
        release_body(made_up, "nobody@example.org", "guess"),
        release_body(id, "eve@example.org", PASSWORD),
    ];
    // Interleaved with real wrong passwords, so that both see the same
    // load; compared by their medians.
    let mut answers = Vec::new();
    let (mut refusals, mut wrongs) = (Vec::new(), Vec::new());
    for round in 0..8 {
        let (answer, took) = timed(cases[round % cases.len()].clone()).await;
        answers.push(answer);
        refusals.push(took);
        let (wrong, took) = timed(release_body(id, bob, "guess")).await;
        assert_eq!(wrong.0, 401, "{:?}", wrong.1);
        wrongs.push(took);
    }
    let first = &answers[0];
    assert_eq!(first.0, 403, "{:?}", first.1);
    assert_eq!(first.1["error"], "not_a_recipient");
    for answer in &answers {
        assert_eq!(
            answer, first,
            "every refusal without an envelope looks the same"
        );
    }
    refusals.sort();
    wrongs.sort();
    let (refusal, wrong) = (refusals[refusals.len() / 2], wrongs[wrongs.len() / 2]);
    assert!(
        refusal * 3 > wrong && wrong * 3 > refusal,
        "a refusal without an envelope took {refusal:?} (median), a wrong password {wrong:?}: {refusals:?} {wrongs:?}"
    );

    // Fifty failures on messages not addressed to bob: his count did not move.
    for _ in 0..50 {
        assert_eq!(
            post_release(
                &client,
                &server.base,
                &release_body(made_up, bob, "guess"),
                &[]
            )
            .await
            .0,
            403
        );
    }
    let account = server.store.account(bob).await.unwrap().unwrap();
    assert_eq!((account.failed_logins, account.locked_until), (8, None));
    let (status, body) =
        post_release(&client, &server.base, &release_body(id, bob, PASSWORD), &[]).await;
    assert_eq!(status, 200, "{body}");
}

/// An untrusted peer's `X-Forwarded-For` is ignored: forging a new address
/// on every request does not buy fresh limits. Behind a trusted proxy the
/// right-most untrusted hop is the client, and clients have their own limits.
async fn forwarded_for_is_believed_only_from_trusted_proxies(backend: Backend) {
    let server = start_with(backend, |config| config.client_failure_limit = 3).await;
    let id = "b0000000000000000000000000000003";
    let bob = "bob@example.net";
    register(&server, id, &[bob], None).await;
    account(&server, bob).await;
    let client = reqwest::Client::new();
    let made_up = "0123456789abcdef0123456789abcdef";
    let mut statuses = Vec::new();
    for i in 0..5 {
        let forged = format!("203.0.113.{i}");
        let (status, _) = post_release(
            &client,
            &server.base,
            &release_body(made_up, bob, "guess"),
            &[
                ("X-Forwarded-For", &forged),
                ("Forwarded", &format!("for={forged}")),
            ],
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(statuses, [403, 403, 403, 429, 429], "one client, one limit");

    let trusting = start_with(Backend::Sqlite, |config| {
        config.client_failure_limit = 3;
        config.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    register(&trusting, id, &[bob], None).await;
    let from = |client: &'static str| [("X-Forwarded-For", client)];
    for _ in 0..3 {
        let body = release_body(made_up, bob, "guess");
        let hops = "198.51.100.1, 203.0.113.7";
        assert_eq!(
            post_release(&client, &trusting.base, &body, &[("X-Forwarded-For", hops)])
                .await
                .0,
            403
        );
    }
    let body = release_body(made_up, bob, "guess");
    // The same real client, whatever it writes to the left of the proxy's hop.
    assert_eq!(
        post_release(
            &client,
            &trusting.base,
            &body,
            &from("1.1.1.1, 203.0.113.7")
        )
        .await
        .0,
        429
    );
    // Another client behind the same proxy is not blocked.
    assert_eq!(
        post_release(&client, &trusting.base, &body, &from("203.0.113.8"))
            .await
            .0,
        403
    );
}

on_both_stores!(
    a_burst_checks_at_most_the_limit,
    no_oracle_without_an_envelope,
    forwarded_for_is_believed_only_from_trusted_proxies
);
