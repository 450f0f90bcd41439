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
//! Every request is timed twice: by the client (end to end over loopback)
//! and by the server itself (its `securedoc_http_request_duration_seconds`
//! histogram, which this example catches with a metrics recorder of its
//! own). The target is on the server's time: an Inbox page under
//! 50 ms p99. RSS is this process's (`/proc/self/status`): the server and
//! the load generator together. Prints Markdown tables.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/portal_support/mod.rs"]
mod portal_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{account, message_to, sealed_bytes, Backend, Server, PASSWORD};
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
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
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
    server: &Server,
    token: &str,
    id: &str,
    to: &str,
    envelope: Vec<u8>,
) -> Result<(), String> {
    let registered = http
        .post(format!("{}/api/v1/messages", server.base))
        .bearer_auth(token)
        .json(&message_to(id, to, None))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !registered.status().is_success() {
        return Err(registered.text().await.unwrap_or_default());
    }
    let stored = http
        .put(format!("{}/api/v1/messages/{id}/envelope", server.base))
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

/// A portal session for `address` (both login steps): its client.
async fn logged_in(server: &Server, address: &str) -> Portal {
    let mut portal = Portal::new(server);
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
                    send_pull(&http, &server, &token, &id, RECIPIENT, envelope).await
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

    let mut portal = logged_in(&server, RECIPIENT).await;
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
    // The envelope keeps an attachment's bytes as they are (no base64).
    let attachment_bytes = read_mb * 1024 * 1024;
    let mut sessions = Vec::new();
    let mut envelope_bytes = 0;
    for r in 0..readers {
        let address = format!("reader{r}@example.org");
        account(&server, &address, true, None).await;
        let id = envelope_id(0xbeef_0000 + r);
        let mut bytes = vec![0u8; attachment_bytes];
        getrandom::getrandom(&mut bytes).unwrap();
        let name = format!("scan-{r}.bin");
        let attachment = DraftAttachment {
            name: name.clone(),
            bytes,
        };
        let envelope = sealed(
            &id,
            &address,
            format!("Scan {r}"),
            vec![attachment],
            1_796_000_000,
        );
        envelope_bytes = envelope.len();
        send_pull(&http, &server, &token, &id, &address, envelope)
            .await
            .unwrap_or_else(|refusal| panic!("reader {r}'s message was not stored: {refusal}"));
        let cookie = logged_in(&server, &address).await.cookie.unwrap();
        sessions.push((cookie, format!("{}/portal/m/{id}", server.base), name));
    }
    let before_reading = memory();
    // Linux: "5" resets VmHWM to the current RSS, so the peak below is the readers'.
    let peak_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    server_times("/portal/m/{id}");
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
    let read_server = Times::new(server_times("/portal/m/{id}"));
    let read_times = Times::new(read_times);
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
        attachment_bytes / 1024,
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
}
