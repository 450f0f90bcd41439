//! The portal under load: `just bench` runs this after release-load (issue 10,
//! "Benchmark").
//!
//! Starts the key server in this process (SQLite in a temporary directory,
//! the default settings and Argon2id cost), then:
//!
//! 1. **A 10,000-message Inbox.** One confirmed account gets `INBOX_MESSAGES`
//!    (10,000) messages, each sealed for real, registered and stored through
//!    the sender API as `securedoc send --delivery pull` does (`POST
//!    /api/v1/messages`, then `PUT /api/v1/messages/{id}/envelope`, which
//!    decrypts each envelope to check it and seals its Inbox summary),
//!    `UPLOADERS` (8) at a time; the time that takes is reported too. Then
//!    one logged-in session times `GET /portal/inbox`: the first page
//!    `INBOX_REPEATS` (100) times, then every older page by its "Older
//!    messages" link (`?before=` keyset cursors), up to `INBOX_PAGES` (all).
//! 2. **Readers of 1 MB messages.** `READERS` (20) accounts, each with one
//!    stored message of about `READ_MB` (1) MB (a random attachment), each
//!    logged in and fetching its message page (`GET /portal/m/{id}`: the
//!    stored envelope is read and decrypted every time) in a loop for
//!    `READ_SECONDS` (20) s, all at once.
//!
//! 3. **The key server in its own process.** The same readers against
//!    `securedoc serve` (the release binary, `SECUREDOC_BIN` or
//!    target/release/securedoc) started as a child process, whose RSS
//!    (`/proc/<pid>/status`) is the server's alone; then one message with a
//!    `BIG_MB` (35) MiB attachment, the push-limit case: its page
//!    viewed and its attachment downloaded, 5 times each.
//!
//! In parts 1 and 2 every request is timed twice: by the client (end to end
//! over loopback) and by the server itself (its
//! `securedoc_http_request_duration_seconds` histogram, which this example
//! catches with a metrics recorder of its own). The target is on the
//! server's time: an Inbox page under 50 ms p99. Their RSS is this
//! process's: the server and the load generator together; part 3 gives the
//! server's own. Prints Markdown tables.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/portal_support/mod.rs"]
mod portal_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{account, account_in, message_to, sealed_bytes, Backend, PASSWORD};
use envelope_core::{Draft, DraftAttachment, Flags, SecurityLevel};
use portal_support::Portal;

/// The server's `public_url` in [`common::start_with`]: envelopes name it.
const KEY_SERVER: &str = "http://127.0.0.1";
const RECIPIENT: &str = "inbox@example.org";
const TARGET_INBOX_P99: Duration = Duration::from_millis(50);

/// A setting from the environment, or its default.
fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// The server's own time per request: its latency histogram, by route.

static SERVER_TIMES: Mutex<BTreeMap<String, Vec<Duration>>> = Mutex::new(BTreeMap::new());

/// The time the server recorded for each request to `route` (the matched
/// pattern) since the last call.
fn server_times(route: &str) -> Vec<Duration> {
    SERVER_TIMES
        .lock()
        .unwrap()
        .remove(route)
        .unwrap_or_default()
}

struct RouteTimes(String);

impl metrics::HistogramFn for RouteTimes {
    fn record(&self, seconds: f64) {
        SERVER_TIMES
            .lock()
            .unwrap()
            .entry(self.0.clone())
            .or_default()
            .push(Duration::from_secs_f64(seconds));
    }
}

/// Keeps the request-latency histogram's samples; ignores every other metric.
struct Recorder;

impl metrics::Recorder for Recorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn register_counter(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::noop()
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        key: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        if key.name() != "securedoc_http_request_duration_seconds" {
            return metrics::Histogram::noop();
        }
        let route = key
            .labels()
            .find(|label| label.key() == "route")
            .map_or_else(String::new, |label| label.value().to_string());
        metrics::Histogram::from_arc(Arc::new(RouteTimes(route)))
    }
}

/// Request times, sorted, with their percentiles.
struct Times(Vec<Duration>);

impl Times {
    fn new(mut times: Vec<Duration>) -> Times {
        times.sort();
        Times(times)
    }

    /// The `p` percentile (nearest rank), in milliseconds; NaN when empty.
    fn ms(&self, p: f64) -> f64 {
        let Some(last) = self.0.len().checked_sub(1) else {
            return f64::NAN;
        };
        self.0[((self.0.len() as f64 * p) as usize).min(last)].as_secs_f64() * 1e3
    }
}

/// This process's resident memory now and at its peak, MiB.
fn memory() -> (f64, f64) {
    memory_of("self")
}

/// Process `pid`'s (`self`: this one's) resident memory now and at its peak, MiB.
fn memory_of(pid: &str) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Envelope `n`'s id: 32 lowercase hex digits.
fn envelope_id(n: usize) -> String {
    format!("{n:032x}")
}

/// A message for `to`, as a mail client writes it, sealed as envelope `id`.
fn sealed(
    id: &str,
    to: &str,
    subject: String,
    attachments: Vec<DraftAttachment>,
    date: i64,
) -> Vec<u8> {
    let message = envelope_core::compose(&Draft {
        from: "Dr Alice Martin <alice@clinic.example>".into(),
        to: vec![to.into()],
        subject,
        text: Some("Your results are ready; the report is in the portal.\n".repeat(8)),
        html: None,
        attachments,
        date,
    });
    sealed_bytes(
        id,
        to,
        KEY_SERVER,
        SecurityLevel::High,
        Flags::default(),
        &message,
    )
}

/// Registers envelope `id` for `to` as sender `token`, then stores `envelope`
/// for pull delivery; what the server said when it refused.
async fn send_pull(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    id: &str,
    to: &str,
    envelope: Vec<u8>,
) -> Result<(), String> {
    let registered = http
        .post(format!("{base}/api/v1/messages"))
        .bearer_auth(token)
        .json(&message_to(id, to, None))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !registered.status().is_success() {
        return Err(registered.text().await.unwrap_or_default());
    }
    let stored = http
        .put(format!("{base}/api/v1/messages/{id}/envelope"))
        .bearer_auth(token)
        .header("Content-Type", "application/octet-stream")
        .body(envelope)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if stored.status() != reqwest::StatusCode::CREATED {
        return Err(stored.text().await.unwrap_or_default());
    }
    Ok(())
}

/// A portal session for `address` at `base` (both login steps): its client.
async fn logged_in(base: &str, address: &str) -> Portal {
    let mut portal = Portal::at(base);
    let login = portal.log_in(address, PASSWORD, "/portal/inbox").await;
    assert_eq!(login.status, 303, "{address} logs in: {}", login.body);
    portal
}

/// One row of the Inbox table, and whether it meets the target.
fn inbox_row(what: &str, client: &Times, server: &Times, errors: usize) -> bool {
    let met = server.ms(0.99) < TARGET_INBOX_P99.as_secs_f64() * 1e3 && errors == 0;
    println!(
        "| {what} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {errors} | {} |",
        client.0.len(),
        client.ms(0.50),
        client.ms(0.99),
        server.ms(0.50),
        server.ms(0.99),
        if met { "met" } else { "MISSED" },
    );
    met
}

/// `readers` confirmed accounts at `base` (made in `store`), each with one
/// stored message of about `read_mb` MB (an attachment of random bytes:
/// the envelope keeps it as it is, no base64), each logged in: (cookie,
/// message URL, attachment name) per reader, and the envelope's size.
async fn readers_with_messages(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    store: &key_server::Store,
    readers: usize,
    read_mb: usize,
) -> (Vec<(String, String, String)>, usize) {
    let mut sessions = Vec::new();
    let mut envelope_bytes = 0;
    for r in 0..readers {
        let address = format!("reader{r}@example.org");
        account_in(store, &address, true, None).await;
        let id = envelope_id(0xbeef_0000 + r);
        let name = format!("scan-{r}.bin");
        let envelope = sealed(
            &id,
            &address,
            format!("Scan {r}"),
            vec![random_attachment(&name, read_mb * 1024 * 1024)],
            1_796_000_000,
        );
        envelope_bytes = envelope.len();
        send_pull(http, base, token, &id, &address, envelope)
            .await
            .unwrap_or_else(|refusal| panic!("reader {r}'s message was not stored: {refusal}"));
        let cookie = logged_in(base, &address).await.cookie.unwrap();
        sessions.push((cookie, format!("{base}/portal/m/{id}"), name));
    }
    (sessions, envelope_bytes)
}

fn random_attachment(name: &str, bytes: usize) -> DraftAttachment {
    let mut random = vec![0u8; bytes];
    getrandom::getrandom(&mut random).unwrap();
    DraftAttachment {
        name: name.to_string(),
        bytes: random,
    }
}

/// Every session fetches its message page in a loop for `read_for`, all at
/// once: the client's times, and how many answers were not the page.
async fn read_in_a_loop(
    http: &reqwest::Client,
    sessions: Vec<(String, String, String)>,
    read_for: Duration,
) -> (Times, usize) {
    let deadline = Instant::now() + read_for;
    let mut workers = tokio::task::JoinSet::new();
    for (cookie, url, name) in sessions {
        let http = http.clone();
        workers.spawn(async move {
            let (mut times, mut errors) = (Vec::new(), 0usize);
            while Instant::now() < deadline {
                let started = Instant::now();
                let answer = http.get(&url).header("Cookie", &cookie).send().await;
                let ok = match answer {
                    Ok(answer) if answer.status() == 200 => {
                        answer.text().await.is_ok_and(|page| page.contains(&name))
                    }
                    _ => false,
                };
                times.push(started.elapsed());
                errors += usize::from(!ok);
            }
            (times, errors)
        });
    }
    let (mut read_times, mut read_errors) = (Vec::new(), 0);
    while let Some(done) = workers.join_next().await {
        let (mut times, errors) = done.unwrap();
        read_times.append(&mut times);
        read_errors += errors;
    }
    (Times::new(read_times), read_errors)
}

/// What part 3 measured: the key server in a process of its own.
struct OwnProcess {
    reads: Times,
    read_errors: usize,
    read_envelope: usize,
    before: (f64, f64),
    after_reads: (f64, f64),
    big_envelope: usize,
    big_views: Times,
    big_downloads: Times,
    big_errors: usize,
    after_big: (f64, f64),
}

/// Part 3: the same readers against `securedoc serve` (release,
/// `SECUREDOC_BIN` or target/release/securedoc) in its own process, so its
/// memory is its own; then one 35 MB message (the push-limit case)
/// viewed and its attachment downloaded. `None` when the binary is not there.
async fn own_process(
    http: &reqwest::Client,
    readers: usize,
    read_mb: usize,
    read_for: Duration,
    big_mb: usize,
) -> Option<OwnProcess> {
    let binary = std::env::var("SECUREDOC_BIN").map_or_else(
        |_| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/securedoc")
        },
        std::path::PathBuf::from,
    );
    if !binary.exists() {
        eprintln!(
            "{} is missing: build it with `cargo build --release -p securedoc` (just bench does)",
            binary.display()
        );
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("securedoc.toml");
    // As above: many logins from one address are the bench, not an attack.
    std::fs::write(&config, "client_failure_limit = 4294967295\n").unwrap();
    let env = [
        (
            "SECUREDOC_DATA_DIR",
            dir.path().join("data").display().to_string(),
        ),
        ("SECUREDOC_LISTEN", format!("127.0.0.1:{port}")),
        // The envelopes name this key server (`sealed`).
        ("SECUREDOC_PUBLIC_URL", KEY_SERVER.to_string()),
    ];
    let run = |args: &[&str]| {
        let output = std::process::Command::new(&binary)
            .envs(env.iter().cloned())
            .args(args)
            .args(["--config", config.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "securedoc {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let token = run(&["admin", "token", "create", "--name", "portal-bench"])
        .trim()
        .to_string();
    let mut child = std::process::Command::new(&binary)
        .envs(env.iter().cloned())
        .args(["serve", "--config", config.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = child.id().to_string();
    let store = key_server::Store::connect(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("data/securedoc.db").display()
    ))
    .await
    .unwrap();

    let (sessions, read_envelope) =
        readers_with_messages(http, &base, &token, &store, readers, read_mb).await;
    let before = memory_of(&pid);
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    let (reads, read_errors) = read_in_a_loop(http, sessions, read_for).await;
    let after_reads = memory_of(&pid);

    // One large message: viewed (decrypted, the page rendered), then its
    // attachment downloaded, a few times each.
    let address = "large@example.org";
    account_in(&store, address, true, None).await;
    let id = envelope_id(0xb16_0000);
    let envelope = sealed(
        &id,
        address,
        "A large scan".into(),
        vec![random_attachment("large-scan.bin", big_mb * 1024 * 1024)],
        1_797_000_000,
    );
    let big_envelope = envelope.len();
    send_pull(http, &base, &token, &id, address, envelope)
        .await
        .unwrap_or_else(|refusal| panic!("the large message was not stored: {refusal}"));
    let cookie = logged_in(&base, address).await.cookie.unwrap();
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    let (mut views, mut downloads, mut big_errors) = (Vec::new(), Vec::new(), 0);
    for _ in 0..5 {
        for (url, times, expected) in [
            (format!("{base}/portal/m/{id}"), &mut views, 0),
            (
                format!("{base}/portal/m/{id}/attachment/0"),
                &mut downloads,
                big_mb * 1024 * 1024,
            ),
        ] {
            let started = Instant::now();
            let answer = http
                .get(&url)
                .header("Cookie", &cookie)
                .send()
                .await
                .unwrap();
            let ok = answer.status() == 200;
            let body = answer.bytes().await.map(|b| b.len()).unwrap_or(0);
            times.push(started.elapsed());
            big_errors += usize::from(!ok || (expected > 0 && body != expected));
        }
    }
    let after_big = memory_of(&pid);
    let _ = child.kill();
    let _ = child.wait();
    Some(OwnProcess {
        reads,
        read_errors,
        read_envelope,
        before,
        after_reads,
        big_envelope,
        big_views: Times::new(views),
        big_downloads: Times::new(downloads),
        big_errors,
        after_big,
    })
}

#[tokio::main]
async fn main() {
    metrics::set_global_recorder(Recorder).expect("no other metrics recorder in this process");
    let inbox_messages = setting("INBOX_MESSAGES", 10_000);
    let uploaders = setting("UPLOADERS", 8).max(1);
    let inbox_repeats = setting("INBOX_REPEATS", 100);
    let inbox_pages = setting("INBOX_PAGES", usize::MAX);
    let readers = setting("READERS", 20).max(1);
    let read_mb = setting("READ_MB", 1);
    let read_for = Duration::from_secs(setting("READ_SECONDS", 20) as u64);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let server = Arc::new(
        common::start_with(Backend::Sqlite, |config| {
            // As release-load: many logins from one address are the bench, not an attack.
            config.client_failure_limit = u32::MAX;
        })
        .await,
    );
    let token = server.store.create_sender("portal-bench").await.unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // 1. The Inbox: its messages stored through the API, then its pages timed.
    account(&server, RECIPIENT, true, None).await;
    let filled = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..uploaders {
        let (server, token, http, next) =
            (server.clone(), token.clone(), http.clone(), next.clone());
        workers.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= inbox_messages {
                    return;
                }
                let id = envelope_id(n);
                let date = 1_795_000_000 + n as i64 * 60;
                let envelope = sealed(&id, RECIPIENT, format!("Results {n}"), Vec::new(), date);
                if let Err(refusal) =
                    send_pull(&http, &server.base, &token, &id, RECIPIENT, envelope).await
                {
                    panic!("message {n} was not stored: {refusal}");
                }
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.unwrap();
    }
    let filled = filled.elapsed();

    let mut portal = logged_in(&server.base, RECIPIENT).await;
    server_times("/portal/inbox"); // from here on, only the pages timed below
    let (mut first_times, mut first_errors) = (Vec::new(), 0);
    let page_size = key_server::PortalConfig::default().page_size as usize;
    let full_page = inbox_messages.min(page_size);
    for _ in 0..inbox_repeats {
        let started = Instant::now();
        let page = portal.get("/portal/inbox").await;
        first_times.push(started.elapsed());
        let entries = page.body.matches("<li class=\"entry").count();
        first_errors += usize::from(page.status != 200 || entries != full_page);
    }
    let first_server = Times::new(server_times("/portal/inbox"));
    let (mut page_times, mut page_errors, mut listed) = (Vec::new(), 0, 0);
    let mut path = Some("/portal/inbox".to_string());
    while let Some(here) = path.take().filter(|_| page_times.len() < inbox_pages) {
        let started = Instant::now();
        let page = portal.get(&here).await;
        page_times.push(started.elapsed());
        page_errors += usize::from(page.status != 200);
        listed += page.body.matches("<li class=\"entry").count();
        path = page
            .body
            .split("href=\"/portal/inbox?before=")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(|cursor| format!("/portal/inbox?before={cursor}"));
    }
    let page_server = Times::new(server_times("/portal/inbox"));
    let walked = page_times.len();
    if inbox_pages == usize::MAX && listed != inbox_messages {
        page_errors += 1;
        eprintln!("the pages listed {listed} messages, not {inbox_messages}");
    }

    // 2. Readers: one account and one ~1 MB message each, read in a loop.
    let (sessions, envelope_bytes) =
        readers_with_messages(&http, &server.base, &token, &server.store, readers, read_mb).await;
    let before_reading = memory();
    // Linux: "5" resets VmHWM to the current RSS, so the peak below is the readers'.
    let peak_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    server_times("/portal/m/{id}");
    let (read_times, read_errors) = read_in_a_loop(&http, sessions, read_for).await;
    let read_server = Times::new(server_times("/portal/m/{id}"));
    let (rss, peak) = memory();

    // The figures.
    println!(
        "## The portal under load ({cores} cores, loopback, SQLite, the server in this process)\n"
    );
    println!(
        "Setup: {inbox_messages} messages sealed, registered and stored for pull through the sender API \
         ({uploaders} at a time): {:.1} s, {:.0} messages/s.\n",
        filled.as_secs_f64(),
        inbox_messages as f64 / filled.as_secs_f64()
    );
    println!("| Inbox of {inbox_messages} messages | requests | client p50 ms | client p99 ms | server p50 ms | server p99 ms | errors | server p99 < 50 ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    let first_met = inbox_row(
        "first page, again and again",
        &Times::new(first_times),
        &first_server,
        first_errors,
    );
    let pages_met = inbox_row(
        &format!("{walked} pages, newest to oldest (\"Older messages\")"),
        &Times::new(page_times),
        &page_server,
        page_errors,
    );
    println!(
        "\n| {readers} sessions reading {:.2} MB messages, {} s | requests/s | client p50 ms | client p99 ms | server p50 ms | server p99 ms | errors | RSS at end MiB | peak RSS MiB{} |",
        envelope_bytes as f64 / 1e6,
        read_for.as_secs(),
        if peak_reset { " while reading" } else { "" },
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| `GET /portal/m/{{id}}` | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {read_errors} | {rss:.0} | {peak:.0} |",
        read_times.0.len() as f64 / read_for.as_secs_f64(),
        read_times.ms(0.50),
        read_times.ms(0.99),
        read_server.ms(0.50),
        read_server.ms(0.99),
    );
    println!(
        "\nServer time: from routing to the answer's head, as the server's latency histogram records it; \
         client time adds loopback and reading the answer. Page size {} entries. \
         Each message view reads the stored envelope ({:.2} MB, one attachment of {} KiB of random bytes), \
         decrypts it and writes the opening and audit rows. \
         RSS is the whole process (server and load generator): {:.0} MiB before the readers started.",
        page_size,
        envelope_bytes as f64 / 1e6,
        read_mb * 1024,
        before_reading.0,
    );
    println!(
        "Target: an Inbox page under 50 ms p99 (server time): {}.",
        if first_met && pages_met {
            "met"
        } else {
            "MISSED"
        }
    );

    // 3. The key server in its own process: its memory alone, and a 35 MB message.
    let big_mb = setting("BIG_MB", 35);
    let Some(own) = own_process(&http, readers, read_mb, read_for, big_mb).await else {
        return;
    };
    println!("\n## The key server in its own process (`securedoc serve`, release, SQLite)\n");
    println!("| what | requests | client p50 ms | client p99 ms | errors | server RSS before MiB | server RSS after MiB | server peak RSS MiB |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {readers} sessions reading {:.2} MB messages, {} s ({:.0} requests/s) | {} | {:.1} | {:.1} | {} | {:.0} | {:.0} | {:.0} |",
        own.read_envelope as f64 / 1e6,
        read_for.as_secs(),
        own.reads.0.len() as f64 / read_for.as_secs_f64(),
        own.reads.0.len(),
        own.reads.ms(0.50),
        own.reads.ms(0.99),
        own.read_errors,
        own.before.0,
        own.after_reads.0,
        own.after_reads.1,
    );
    for (what, times) in [
        (
            format!(
                "a {:.1} MB message: its page",
                own.big_envelope as f64 / 1e6
            ),
            &own.big_views,
        ),
        (
            format!("the same: its {big_mb} MiB attachment downloaded"),
            &own.big_downloads,
        ),
    ] {
        println!(
            "| {what} | {} | {:.0} | {:.0} | {} | {:.0} | {:.0} | {:.0} |",
            times.0.len(),
            times.ms(0.50),
            times.ms(0.99),
            own.big_errors,
            own.after_reads.0,
            own.after_big.0,
            own.after_big.1,
        );
    }
    println!(
        "\nRSS here is the key server's process alone (`/proc/<pid>/status`); the peak is since the \
         readers (then the large message) started. The large message's rows share its errors and memory columns."
    );
}
