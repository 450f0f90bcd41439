//! Pull delivery's storage, over real HTTP on SQLite and PostgreSQL: a
//! sender stores the envelope it registered (`PUT /api/v1/messages/{id}/envelope`)
//! and the key server keeps it, whole and still encrypted, until its key goes
//! (revoke, expiry, retention) — and stores nothing that is not exactly that
//! envelope: another sender's, another recipient's, another server's, a
//! changed byte, junk, too large, or the same one twice at once.

mod common;

use common::{registered, sealed_bytes, start, start_with, upload, Backend, Server};
use envelope_core::{Flags, SecurityLevel};

const BOB: &str = "bob@example.net";
const MARKER: &str = "pull-marker-7f3a";
/// What this test server's envelopes name as their key server.
const ORIGIN: &str = "http://127.0.0.1";

fn envelope_id(seed: char) -> String {
    seed.to_string().repeat(32)
}

/// A message with `MARKER` in its subject, body and attachment of `size` bytes.
fn message(size: usize) -> Vec<u8> {
    use base64::Engine;
    let attachment: Vec<u8> = MARKER.bytes().cycle().take(size).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&attachment);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    format!(
        "From: Alice <alice@clinic.example>\r\nTo: {BOB}\r\nSubject: Results {MARKER}\r\n\
         Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello Bob, {MARKER}.\r\n\
         --b1\r\nContent-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"results.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

fn sealed(id: &str, to: &str, size: usize) -> Vec<u8> {
    sealed_bytes(
        id,
        to,
        ORIGIN,
        SecurityLevel::High,
        Flags::default(),
        &message(size),
    )
}

async fn count(server: &Server, sql: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.database_url).await.unwrap();
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.unwrap();
    n
}

async fn stored_rows(server: &Server) -> (i64, i64, i64) {
    (
        count(server, "SELECT COUNT(*) FROM stored_envelopes").await,
        count(server, "SELECT COUNT(*) FROM blob_chunks").await,
        count(server, "SELECT COUNT(*) FROM mailbox_entries").await,
    )
}

/// The envelope is stored as sent (several chunks for 2.5 MB), once, with
/// an Inbox entry; the answer names the portal link; the database holds no
/// plaintext of it.
async fn a_registered_envelope_is_stored_whole_once(backend: Backend) {
    let server = start(backend).await;
    let id = envelope_id('a');
    let token = registered(&server, &id, BOB, None).await;
    let bytes = sealed(&id, BOB, 2_500_000);

    let (status, answer) = upload(&server, Some(&token), &id, bytes.clone()).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["size"], bytes.len());
    assert_eq!(
        answer["portal_url"],
        format!("{ORIGIN}/portal/m/{id}"),
        "{answer}"
    );
    assert_eq!(
        server.store.stored_envelope(&id).await.unwrap().as_deref(),
        Some(bytes.as_slice()),
        "the stored envelope is the one sent"
    );
    let (envelopes, chunks, entries) = stored_rows(&server).await;
    assert_eq!((envelopes, entries), (1, 1));
    assert!(chunks >= 3, "2.5 MB is stored in 1 MiB chunks: {chunks}");
    let address: (i64,) = (count(
        &server,
        "SELECT COUNT(*) FROM mailbox_entries WHERE address = 'bob@example.net' AND box = 'inbox'",
    )
    .await,);
    assert_eq!(address, (1,));

    let (status, answer) = upload(&server, Some(&token), &id, bytes).await;
    assert_eq!(status, 409, "a second upload is refused: {answer}");
    assert_eq!(answer["error"], "conflict");
    assert_eq!(stored_rows(&server).await, (1, chunks, 1));

    common::assert_not_at_rest(&server, &[MARKER.as_bytes()]);
}

/// Withdrawing the message deletes the key, then the stored envelope, at once.
async fn revoking_deletes_the_stored_envelope(backend: Backend) {
    let server = start(backend).await;
    let id = envelope_id('b');
    let token = registered(&server, &id, BOB, None).await;
    let (status, _) = upload(&server, Some(&token), &id, sealed(&id, BOB, 10_000)).await;
    assert_eq!(status, 201);

    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/messages/{id}/revoke", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        common::raw_sealed_key(&server.database_url, &id).await,
        None
    );
    assert_eq!(server.store.stored_envelope(&id).await.unwrap(), None);
    let (envelopes, chunks, _) = stored_rows(&server).await;
    assert_eq!((envelopes, chunks), (0, 0));

    // And a withdrawn message cannot be stored again.
    let (status, answer) = upload(&server, Some(&token), &id, sealed(&id, BOB, 10_000)).await;
    assert_eq!(status, 410, "{answer}");
}

/// Expiry (a moved clock) and then the retention: the sweep deletes the
/// key, then the stored bytes; the Inbox entry goes at the retention.
async fn expiry_and_retention_delete_keys_first_then_the_rest(backend: Backend) {
    let server = start(backend).await;
    let now = server.store.clock().now();
    let (short, long) = (envelope_id('c'), envelope_id('d'));
    let token_short = registered(&server, &short, BOB, Some(now + 3600)).await;
    let token_long = registered(&server, &long, BOB, None).await;
    for (id, token) in [(&short, &token_short), (&long, &token_long)] {
        let (status, answer) = upload(&server, Some(token), id, sealed(id, BOB, 10_000)).await;
        assert_eq!(status, 201, "{answer}");
    }
    let config = key_server::Config::default();

    server.advance(2 * 3600);
    key_server::sweep_once(&server.store, &config).await;
    assert_eq!(
        common::raw_sealed_key(&server.database_url, &short).await,
        None
    );
    assert_eq!(server.store.stored_envelope(&short).await.unwrap(), None);
    assert!(server.store.stored_envelope(&long).await.unwrap().is_some());
    assert_eq!(
        stored_rows(&server).await.2,
        2,
        "entries stay until the retention"
    );

    // Past the retention (30 days by default): every key, envelope and entry.
    server.advance(31 * 86_400);
    key_server::sweep_once(&server.store, &config).await;
    assert_eq!(
        common::raw_sealed_key(&server.database_url, &long).await,
        None
    );
    assert_eq!(stored_rows(&server).await, (0, 0, 0));
}

/// Nothing but the registered envelope is stored, and the refusals say why.
async fn only_the_registered_envelope_is_stored(backend: Backend) {
    let server = start(backend).await;
    let id = envelope_id('e');
    let token = registered(&server, &id, BOB, None).await;
    let other_id = envelope_id('f');
    let other_token = registered(&server, &other_id, "carol@example.net", None).await;
    let good = sealed(&id, BOB, 10_000);

    // Who may store: the token that registered it, and nobody else, who
    // learns only "not found" (the same as for a made-up id).
    assert_eq!(upload(&server, None, &id, good.clone()).await.0, 401);
    assert_eq!(
        upload(&server, Some("not-a-token"), &id, good.clone())
            .await
            .0,
        401
    );
    let (status, stranger) = upload(&server, Some(&other_token), &id, good.clone()).await;
    assert_eq!(status, 404, "{stranger}");
    let made_up = envelope_id('9');
    let (status, unknown) = upload(&server, Some(&token), &made_up, good.clone()).await;
    assert_eq!(status, 404);
    assert_eq!(
        stranger, unknown,
        "another's id and a made-up id look alike"
    );
    assert_eq!(
        upload(&server, Some(&token), "not-an-id", good.clone())
            .await
            .0,
        422
    );

    // What: the envelope of this id, for this recipient, from this server,
    // exactly as sealed.
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "junk",
            b"not an envelope at all".to_vec(),
            "not a securedoc envelope",
        ),
        ("another envelope's id", sealed(&other_id, BOB, 100), "not "),
        (
            "another recipient",
            sealed(&id, "carol@example.net", 100),
            "addressed to",
        ),
        (
            "another key server",
            sealed_bytes(
                &id,
                BOB,
                "https://elsewhere.example",
                SecurityLevel::High,
                Flags::default(),
                &message(100),
            ),
            "not held by this key server",
        ),
        (
            "a changed byte",
            {
                let mut bytes = good.clone();
                let n = bytes.len() - 40;
                bytes[n] ^= 1;
                bytes
            },
            "does not decrypt",
        ),
        (
            "cut short",
            good[..good.len() - 100].to_vec(),
            "does not decrypt",
        ),
        (
            "its text form",
            envelope_core::to_text(&good).into_bytes(),
            "not a securedoc envelope",
        ),
    ];
    for (case, body, says) in cases {
        let (status, answer) = upload(&server, Some(&token), &id, body).await;
        assert_eq!(status, 422, "{case}: {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{case}: {message}");
    }
    assert_eq!(stored_rows(&server).await, (0, 0, 0), "nothing was stored");

    // The good one still goes in afterwards.
    assert_eq!(upload(&server, Some(&token), &id, good).await.0, 201);
}

/// A sending of several recipients is stored envelope by envelope.
async fn a_sending_id_is_not_an_envelope_id(backend: Backend) {
    let server = start(backend).await;
    let token = server.store.create_sender("sender-many").await.unwrap();
    let (a, b) = (envelope_id('1'), envelope_id('2'));
    let mut body = common::message_to(&a, BOB, None);
    let second = serde_json::json!({"id": b, "recipient": "carol@example.net",
        "content_key": body["message"]["envelopes"][0]["content_key"].clone()});
    body["message"]["envelopes"]
        .as_array_mut()
        .unwrap()
        .push(second);
    let (status, answer) = common::post(&server, Some(&token), &body).await;
    assert_eq!(status, 200, "{answer}");
    let sending = answer["message"].as_str().unwrap().to_string();
    let (status, answer) = upload(&server, Some(&token), &sending, sealed(&a, BOB, 100)).await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("its own envelope id"));
    assert_eq!(
        upload(&server, Some(&token), &a, sealed(&a, BOB, 100))
            .await
            .0,
        201
    );
    assert_eq!(
        upload(
            &server,
            Some(&token),
            &b,
            sealed(&b, "carol@example.net", 100)
        )
        .await
        .0,
        201
    );
}

/// A body over `[portal] max_envelope_mb` is refused before it is read.
async fn an_envelope_over_the_limit_is_refused(backend: Backend) {
    let server = start_with(backend, |config| config.portal.max_envelope_mb = 1).await;
    let id = envelope_id('3');
    let token = registered(&server, &id, BOB, None).await;
    let (status, answer) = upload(&server, Some(&token), &id, sealed(&id, BOB, 1_500_000)).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["error"], "payload_too_large");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("at most 1 MB ([portal] max_envelope_mb)"),
        "the refusal names the limit: {answer}"
    );
    assert_eq!(stored_rows(&server).await, (0, 0, 0));
}

/// Eight uploads of one envelope at once: one is stored, the others are
/// told it is stored already; one Inbox entry.
async fn parallel_uploads_store_one_copy(backend: Backend) {
    let server = start(backend).await;
    let id = envelope_id('4');
    let token = registered(&server, &id, BOB, None).await;
    let bytes = sealed(&id, BOB, 300_000);
    let mut uploads = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (base, token, id, bytes) = (
            server.base.clone(),
            token.clone(),
            id.clone(),
            bytes.clone(),
        );
        uploads.spawn(async move {
            reqwest::Client::new()
                .put(format!("{base}/api/v1/messages/{id}/envelope"))
                .bearer_auth(token)
                .body(bytes)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let mut statuses = uploads.join_all().await;
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
    let (envelopes, _, entries) = stored_rows(&server).await;
    assert_eq!((envelopes, entries), (1, 1));
    assert_eq!(
        server.store.stored_envelope(&id).await.unwrap(),
        Some(bytes)
    );
}

on_both_stores!(
    a_registered_envelope_is_stored_whole_once,
    revoking_deletes_the_stored_envelope,
    expiry_and_retention_delete_keys_first_then_the_rest,
    only_the_registered_envelope_is_stored,
    a_sending_id_is_not_an_envelope_id,
    an_envelope_over_the_limit_is_refused,
    parallel_uploads_store_one_copy,
);
