//! The store's limits under a burst: an attempt is reserved atomically, so
//! parallel requests cannot run more checks than the limit allows, and a
//! request refused by the limit does not extend it.

mod common;

use common::{start, Backend};
use key_server::Limit;

const FIVE_PER_MINUTE: Limit = Limit {
    max: 5,
    window_seconds: 60,
};

async fn a_burst_gets_exactly_the_limit(backend: Backend) {
    let server = start(backend).await;
    let attempts = (0..200).map(|_| {
        let store = server.store.clone();
        tokio::spawn(async move {
            store
                .reserve_attempt("client:192.0.2.1|bob@example.net", FIVE_PER_MINUTE)
                .await
                .unwrap()
        })
    });
    let mut granted = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        granted += i32::from(attempt.await.unwrap());
    }
    assert_eq!(granted, 5, "200 parallel attempts against a limit of 5");
    assert_eq!(
        server
            .store
            .attempts("client:192.0.2.1|bob@example.net", FIVE_PER_MINUTE)
            .await
            .unwrap(),
        5,
        "the refused attempts counted nothing"
    );
    // Another key has its own limit.
    assert!(server
        .store
        .reserve_attempt("client:192.0.2.2|bob@example.net", FIVE_PER_MINUTE)
        .await
        .unwrap());
}

async fn a_released_attempt_can_be_used_again(backend: Backend) {
    let server = start(backend).await;
    let store = &server.store;
    for _ in 0..5 {
        assert!(store.reserve_attempt("k", FIVE_PER_MINUTE).await.unwrap());
    }
    assert!(!store.reserve_attempt("k", FIVE_PER_MINUTE).await.unwrap());
    store.release_attempt("k").await.unwrap();
    assert!(store.reserve_attempt("k", FIVE_PER_MINUTE).await.unwrap());
    assert!(!store.reserve_attempt("k", FIVE_PER_MINUTE).await.unwrap());
    // A window that is over starts again from one.
    let past = Limit {
        max: 5,
        window_seconds: -1,
    };
    assert!(store.reserve_attempt("k", past).await.unwrap());
    assert_eq!(store.attempts("k", FIVE_PER_MINUTE).await.unwrap(), 1);
    assert_eq!(store.sweep_limits(-10).await.unwrap(), 1);
    assert_eq!(store.attempts("k", FIVE_PER_MINUTE).await.unwrap(), 0);
}

on_both_stores!(
    a_burst_gets_exactly_the_limit,
    a_released_attempt_can_be_used_again
);
