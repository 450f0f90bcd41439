//! Key release under load: `just bench` runs this.
//!
//! Starts the key server on 127.0.0.1 (SQLite in a temporary directory, the
//! default Argon2id cost), registers a message for a few confirmed accounts,
//! then runs concurrent clients doing real key releases for 20 seconds while a
//! probe times `/healthz` every 100 ms. Every release costs one Argon2id hash,
//! so the ceiling is the machine's: cores ÷ the time of one hash, measured
//! here on the same machine in the same run. Prints a Markdown table.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use envelope_core::KeyRequest;
use key_server::{Config, NewAccount, PasswordHasher, Store};
use serde_json::json;
use zeroize::Zeroizing;

const PASSWORD: &str = "correct horse battery staple";
const ACCOUNTS: usize = 8;
const DURATION: Duration = Duration::from_secs(20);

#[tokio::main]
async fn main() {
    let data = tempfile::tempdir().unwrap();
    let config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data.path().to_path_buf(),
        client_failure_limit: u32::MAX,
        ..Config::default()
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let clients = std::env::var("CLIENTS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cores * 4);

    // The bound: one Argon2id hash at the server's cost, on one core.
    let hasher = PasswordHasher::new(
        config.password_m_kib,
        config.password_t,
        config.password_p,
        1,
    )
    .unwrap();
    let hash = hasher.hash(Zeroizing::new(PASSWORD.into())).await.unwrap();
    let mut samples = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        assert!(hasher
            .verify(Zeroizing::new(PASSWORD.into()), Some(hash.clone()))
            .await
            .unwrap());
        samples.push(start.elapsed());
    }
    samples.sort();
    let one_hash = samples[samples.len() / 2];
    let bound = cores as f64 / one_hash.as_secs_f64();

    // The server, its accounts and one message.
    let store_url = config.database_url();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let server_config = config.clone();
    tokio::spawn(async move {
        key_server::serve(&server_config, |addr| tx.send(addr).unwrap())
            .await
            .unwrap();
    });
    let base = format!("http://{}", rx.await.unwrap());
    let store = Store::connect(&store_url).await.unwrap();
    let token = store.create_sender("bench").await.unwrap();
    let addresses: Vec<String> = (0..ACCOUNTS)
        .map(|i| format!("reader{i}@example.org"))
        .collect();
    for address in &addresses {
        let account = NewAccount {
            address: address.clone(),
            first_name: "Bench".into(),
            last_name: "Reader".into(),
            language: "en".into(),
            password_hash: hash.clone(),
            phrase: None,
        };
        store.create_account(&account).await.unwrap();
        store.confirm_account(address).await.unwrap();
    }
    // One envelope (id, key) per reader, as securedoc seals them.
    let ids: Vec<String> = (0..addresses.len())
        .map(|i| format!("{:032x}", 0xbb00 + i))
        .collect();
    let envelopes: Vec<serde_json::Value> = ids
        .iter()
        .zip(&addresses)
        .map(|(id, address)| json!({"id": id, "recipient": address, "content_key": STANDARD.encode([7u8; 32])}))
        .collect();
    let http = reqwest::Client::new();
    let registered = http
        .post(format!("{base}/api/v1/messages"))
        .bearer_auth(&token)
        .json(&json!({
            "message": {"from": "bench@clinic.example", "expires": null,
                        "flags": {"reply": true, "reply_all": true, "forward": true, "print": true, "read_receipt": false},
                        "security": "high", "envelopes": envelopes},
        }))
        .send()
        .await
        .unwrap();
    assert!(registered.status().is_success());

    // The load, and the health probe beside it.
    let deadline = Instant::now() + DURATION;
    let addresses = Arc::new(addresses);
    let ids = Arc::new(ids);
    let mut workers = Vec::new();
    for worker in 0..clients {
        let (http, base, addresses, ids) =
            (http.clone(), base.clone(), addresses.clone(), ids.clone());
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            let mut turn = worker;
            while Instant::now() < deadline {
                let request = KeyRequest::new();
                let id = ids[turn % ids.len()].as_str();
                let started = Instant::now();
                let response = http
                    .post(format!("{base}/api/v1/keys/release"))
                    .json(&json!({
                        "message_id": id,
                        "recipient": addresses[turn % addresses.len()],
                        "password": PASSWORD,
                        "public_key": STANDARD.encode(request.public_key()),
                    }))
                    .send()
                    .await;
                let ok = match response {
                    Ok(response) if response.status().is_success() => {
                        let body: serde_json::Value = response.json().await.unwrap_or_default();
                        let part = |name: &str| {
                            STANDARD
                                .decode(body[name].as_str().unwrap_or_default())
                                .unwrap_or_default()
                        };
                        request
                            .open(id, &part("enc"), &part("ciphertext"))
                            .is_ok_and(|key| key.as_bytes() == &[7u8; 32])
                    }
                    _ => false,
                };
                latencies.push(started.elapsed());
                errors += u64::from(!ok);
                turn += clients;
            }
            (latencies, errors)
        }));
    }
    let probe = {
        let (http, base) = (http.clone(), base.clone());
        tokio::spawn(async move {
            let mut worst = Duration::ZERO;
            let mut failures = 0;
            while Instant::now() < deadline {
                let started = Instant::now();
                let ok = http
                    .get(format!("{base}/healthz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                worst = worst.max(started.elapsed());
                failures += u32::from(!ok);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (worst, failures)
        })
    };
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (mut l, e) = worker.await.unwrap();
        latencies.append(&mut l);
        errors += e;
    }
    let (health_worst, health_failures) = probe.await.unwrap();
    latencies.sort();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let rate = latencies.len() as f64 / DURATION.as_secs_f64();

    println!(
        "## Key release under load ({clients} concurrent clients, {} s, {cores} cores, loopback)\n",
        DURATION.as_secs()
    );
    println!("| requests/s | p50 ms | p99 ms | errors | Argon2id one hash ms | bound req/s | of bound | /healthz worst ms |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {rate:.1} | {:.1} | {:.1} | {errors} | {:.1} | {bound:.1} | {:.0} % | {:.1}{} |",
        percentile(0.50).as_secs_f64() * 1e3,
        percentile(0.99).as_secs_f64() * 1e3,
        one_hash.as_secs_f64() * 1e3,
        100.0 * rate / bound,
        health_worst.as_secs_f64() * 1e3,
        if health_failures > 0 {
            format!(" ({health_failures} failed)")
        } else {
            String::new()
        },
    );
    println!(
        "\nArgon2id at the server's cost (m = {} KiB, t = {}, p = {}); bound = cores ÷ one hash. \
         The load generator runs in the same process and shares the cores, so the bound is not quite reachable here. \
         Targets: ≥ 85 % of the bound, 0 errors, /healthz < 50 ms.",
        config.password_m_kib, config.password_t, config.password_p
    );
}
