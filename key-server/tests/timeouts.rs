//! A client cannot hold the server's connections by being slow: one that
//! trickles its header is disconnected within the header timeout, one that
//! stalls its body gets 503 `busy` at the request timeout, and an idle
//! kept-alive connection is closed — while everyone else is answered.
//! (No store behaviour here, so SQLite only.)

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{start_with, Backend};

const HEADER_TIMEOUT: u64 = 2;
const REQUEST_TIMEOUT: u64 = 2;

async fn start() -> common::Server {
    start_with(Backend::Sqlite, |config| {
        config.header_timeout_seconds = HEADER_TIMEOUT;
        config.request_timeout_seconds = REQUEST_TIMEOUT;
    })
    .await
}

fn address(server: &common::Server) -> String {
    server.base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection; returns what it sent.
fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn healthz_takes(addr: &str) -> Duration {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let answer = read_until_closed(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_trickles_its_header_is_disconnected() {
    let server = start().await;
    let addr = address(&server);
    let slow = {
        let addr = addr.clone();
        std::thread::spawn(move || {
            let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nX-Slow: yes\r\n\r\n");
            let mut stream = TcpStream::connect(&addr).unwrap();
            let mut reader = stream.try_clone().unwrap();
            let started = Instant::now();
            let closed = std::thread::spawn(move || {
                let answer = read_until_closed(&mut reader);
                (started.elapsed(), answer)
            });
            // One byte a second: the whole header would take ~45 s.
            for byte in request.bytes() {
                if stream.write_all(&[byte]).is_err() || closed.is_finished() {
                    break;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            closed.join().unwrap()
        })
    };

    // Meanwhile the server answers everyone else at once.
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(500));
        let took = tokio::task::spawn_blocking({
            let addr = addr.clone();
            move || healthz_takes(&addr)
        })
        .await
        .unwrap();
        assert!(took < Duration::from_secs(1), "/healthz took {took:?}");
    }

    let (after, answer) = tokio::task::spawn_blocking(move || slow.join().unwrap())
        .await
        .unwrap();
    assert!(
        after >= Duration::from_secs(HEADER_TIMEOUT - 1)
            && after < Duration::from_secs(HEADER_TIMEOUT + 3),
        "the trickling client was disconnected after {after:?} (header timeout {HEADER_TIMEOUT} s)"
    );
    assert!(
        !answer.contains("200 OK"),
        "a half-sent request must not be answered: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stalls_gets_busy_at_the_request_timeout() {
    let server = start().await;
    let addr = address(&server);
    let (after, answer) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(&addr).unwrap();
        write!(
            stream,
            "POST /api/v1/keys/release HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: 200\r\nConnection: close\r\n\r\n{{\"message_id\": "
        )
        .unwrap();
        let started = Instant::now();
        let answer = read_until_closed(&mut stream);
        (started.elapsed(), answer)
    })
    .await
    .unwrap();
    assert!(
        after < Duration::from_secs(REQUEST_TIMEOUT + 3),
        "answered after {after:?}"
    );
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 30"),
        "{answer}"
    );
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let json: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
    assert_eq!(json["error"], "busy", "{answer}");
    assert!(
        json["message"].as_str().unwrap().contains("Try again"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed() {
    let server = start().await;
    let addr = address(&server);
    let (after, answer) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(&addr).unwrap();
        write!(stream, "GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
        let started = Instant::now();
        // The answer comes at once; then the connection, kept alive, must not
        // stay open for ever waiting for a next request that never comes.
        let answer = read_until_closed(&mut stream);
        (started.elapsed(), answer)
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        after < Duration::from_secs(HEADER_TIMEOUT + 3),
        "an idle connection stayed open {after:?}"
    );
}
