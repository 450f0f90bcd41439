//! `just bench-hook`: the mail hook's throughput behind a real Postfix.
//!
//! The same 500 messages of 100 KB (text and an attachment) go (a) through
//! Postfix alone, relaying to a sink, and (b) through Postfix with the hook
//! as its content filter, each message tagged for one outside recipient
//! (so each becomes a sealed envelope in a notification). Reported: messages
//! per second for each, the ratio, and each message's latency (submitted →
//! at the sink), p50 and p99.
//!
//! Run with the release build: `SECUREDOC_BIN=target/release/securedoc`.

#[allow(dead_code)] // the tests use the rest
#[path = "../tests/hook_postfix/harness.rs"]
mod harness;
#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use harness::{free_port, KeyServer, Postfix, Sink};

const MESSAGES: usize = 500;
const SIZE: usize = 100 * 1024;
/// Clients submitting at once (a mail server's submission traffic).
const CLIENTS: usize = 8;

fn message(n: usize, tagged: bool, attachment: &[u8]) -> Vec<u8> {
    envelope_core::compose(&envelope_core::Draft {
        from: "dr.martin@clinic.example".into(),
        to: vec![format!("patient{n}@mail.example")],
        subject: format!("{}Results {n}", if tagged { "[secure] " } else { "" }),
        text: Some("Your results are attached.\n".repeat(40)),
        html: None,
        attachments: vec![envelope_core::DraftAttachment {
            name: "results.pdf".into(),
            bytes: attachment.to_vec(),
        }],
        date: 1_795_000_000,
    })
}

/// One SMTP client connection submitting messages one after another.
fn submit_all(port: u16, messages: &[(usize, Vec<u8>)]) -> Vec<(usize, Instant)> {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut write = stream.try_clone().unwrap();
    let mut read = BufReader::new(stream);
    let mut reply = || {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            read.read_line(&mut line).unwrap();
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return all;
            }
        }
    };
    assert!(reply().starts_with("220"));
    write.write_all(b"EHLO bench.clinic.example\r\n").unwrap();
    assert!(reply().starts_with("250"));
    let mut accepted = Vec::new();
    for (n, data) in messages {
        let start = Instant::now();
        write
            .write_all(
                format!(
                    "MAIL FROM:<dr.martin@clinic.example>\r\nRCPT TO:<patient{n}@mail.example>\r\nDATA\r\n"
                )
                .as_bytes(),
            )
            .unwrap();
        for _ in 0..3 {
            let answer = reply();
            assert!(
                answer.starts_with('2') || answer.starts_with('3'),
                "{answer}"
            );
        }
        let mut stuffed = Vec::with_capacity(data.len() + 8);
        for line in data.split_inclusive(|b| *b == b'\n') {
            if line.starts_with(b".") {
                stuffed.push(b'.');
            }
            stuffed.extend_from_slice(line);
        }
        stuffed.extend_from_slice(b".\r\n");
        write.write_all(&stuffed).unwrap();
        let answer = reply();
        assert!(answer.starts_with("250"), "{answer}");
        accepted.push((*n, start));
    }
    write.write_all(b"QUIT\r\n").unwrap();
    accepted
}

struct Run {
    seconds: f64,
    /// The size of a message as it reached the sink, bytes.
    delivered_size: usize,
    latencies: Vec<Duration>,
}

/// Submits every message to `postfix` and waits until the sink has them all.
fn run(postfix: &Postfix, sink: &Sink, messages: Vec<(usize, Vec<u8>)>) -> Run {
    let chunks: Vec<Vec<(usize, Vec<u8>)>> = {
        let mut chunks = vec![Vec::new(); CLIENTS];
        for (i, m) in messages.into_iter().enumerate() {
            chunks[i % CLIENTS].push(m);
        }
        chunks
    };
    let start = Instant::now();
    let submitted: Vec<(usize, Instant)> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| scope.spawn(|| submit_all(postfix.port, chunk)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    // Arrival times, by recipient, polled from the sink.
    let mut arrived: HashMap<String, Instant> = HashMap::new();
    let mut delivered_size = 0;
    let deadline = Instant::now() + Duration::from_secs(600);
    while arrived.len() < MESSAGES {
        assert!(Instant::now() < deadline, "only {} arrived", arrived.len());
        let now = Instant::now();
        for message in sink.messages.lock().unwrap().drain(..) {
            if let Some(to) = message.to.first() {
                if to.starts_with("patient") {
                    delivered_size = message.data.len();
                    arrived.entry(to.clone()).or_insert(now);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let seconds = start.elapsed().as_secs_f64();
    let mut latencies: Vec<Duration> = submitted
        .iter()
        .map(|(n, at)| arrived[&format!("patient{n}@mail.example")].duration_since(*at))
        .collect();
    latencies.sort();
    Run {
        seconds,
        delivered_size,
        latencies,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn main() {
    // Base64 makes the attachment 4/3 larger in the message: about SIZE in all.
    let mut attachment = vec![0u8; SIZE * 3 / 4 - 2 * 1024];
    getrandom::getrandom(&mut attachment).unwrap();
    let messages = |tagged: bool| -> Vec<(usize, Vec<u8>)> {
        (0..MESSAGES)
            .map(|n| (n, message(n, tagged, &attachment)))
            .collect()
    };
    let size = messages(false)[0].1.len();
    println!(
        "{MESSAGES} messages of {} KB each, {CLIENTS} clients submitting at once",
        size / 1024
    );

    // (a) Postfix alone.
    let sink = Sink::start();
    let postfix = Postfix::start(None, sink.port);
    let alone = run(&postfix, &sink, messages(false));
    drop(postfix);

    // (b) Through the hook, each message sealed for its one recipient.
    let sink = Sink::start();
    let server = KeyServer::start();
    let hook_port = free_port();
    let postfix = Postfix::start(Some(hook_port), sink.port);
    let config = server.data.path().join("hook.toml");
    std::fs::write(&config, "confirm_sender = false\nmax_connections = 64\n").unwrap();
    let config = config.display().to_string();
    let mut command = support::securedoc_bin();
    command
        .args(["hook", "--listen", &format!("127.0.0.1:{hook_port}")])
        .args([
            "--next-hop",
            &format!("127.0.0.1:{}", postfix.reinject_port),
        ])
        .args(["--key-server", &server.url()])
        .arg("--token-file")
        .arg(&server.token_file)
        .args(["--internal-domains", "clinic.example", "--config", &config])
        .args(["--log-format", "json"]);
    let hook = harness::Process::start(command, "securedoc hook listening");
    let sealed = run(&postfix, &sink, messages(true));
    // Where a message's time in the hook goes, from its log.
    let field = |line: &str, name: &str| -> Option<f64> {
        line.split(&format!("\"{name}\":"))
            .nth(1)?
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    let log = hook.log();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("seal_ms")).collect();
    assert!(!lines.is_empty(), "the hook logged no timings: {log}");
    let mean = |name: &str| {
        lines.iter().filter_map(|l| field(l, name)).sum::<f64>() / lines.len().max(1) as f64
    };
    println!(
        "in the hook, per message: sealing {:.0} ms (the key server's registration and the envelope), handing on {:.0} ms (Postfix taking the notification, {} KB)",
        mean("seal_ms"),
        mean("hand_on_ms"),
        sealed.delivered_size / 1024
    );

    let rate = |r: &Run| MESSAGES as f64 / r.seconds;
    println!();
    println!("| | messages/s | wall | p50 latency | p99 latency |");
    println!("|---|---|---|---|---|");
    for (name, r) in [
        ("(a) Postfix alone", &alone),
        ("(b) through the hook, sealed", &sealed),
    ] {
        println!(
            "| {name} | {:.1} | {:.2} s | {:.0} ms | {:.0} ms |",
            rate(r),
            r.seconds,
            percentile(&r.latencies, 0.5),
            percentile(&r.latencies, 0.99)
        );
    }
    println!();
    println!(
        "through the hook / Postfix alone: {:.2}× the time (target ≤ 2×); {:.1} sealed messages/s (target ≥ 50)",
        sealed.seconds / alone.seconds,
        rate(&sealed)
    );
}
