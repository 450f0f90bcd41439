//! What an operator sees of `securedoc serve`: its log on stderr (request
//! lines, never a secret) and `/metrics` on its own address.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

/// A running `securedoc serve` and everything it has written to stderr.
struct Serving {
    child: Child,
    addr: String,
    log: Arc<Mutex<String>>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serving {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The log so far, once the server has had a moment to write its last lines.
    fn log(&self) -> String {
        std::thread::sleep(Duration::from_millis(300));
        self.log.lock().unwrap().clone()
    }

    /// Waits until a log line contains `needle`; returns that line.
    fn wait_for_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(line) = self
                .log
                .lock()
                .unwrap()
                .lines()
                .find(|line| line.contains(needle))
            {
                return line.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?}:\n{}",
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn securedoc(data_dir: &std::path::Path) -> Command {
    let mut command = Command::cargo_bin("securedoc").unwrap();
    command
        .env("SECUREDOC_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("SECUREDOC_DATABASE_URL")
        .env_remove("SECUREDOC_METRICS_LISTEN")
        .env_remove("SECUREDOC_LOG_FORMAT")
        .env_remove("RUST_LOG");
    command
}

/// Starts `securedoc serve` with `args` and `env`, keeps reading its stderr.
fn serve(data_dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Serving {
    let mut command = securedoc(data_dir);
    command
        .arg("serve")
        .args(args)
        .env("SECUREDOC_LISTEN", "127.0.0.1:0")
        .envs(env.iter().copied())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let (found, address) = mpsc::channel();
    {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    // Human lines go on with a space, JSON ones with a quote.
                    let addr: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || ".:[]".contains(*c))
                        .collect();
                    let _ = found.send(addr);
                }
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
    }
    let addr = address
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| {
            panic!(
                "serve did not say where it listens:\n{}",
                log.lock().unwrap()
            )
        });
    Serving { child, addr, log }
}

fn sender_token(data_dir: &std::path::Path) -> String {
    let output = securedoc(data_dir)
        .args(["admin", "token", "create", "--name", "clinic"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

const MESSAGE_ID: &str = "5d1c0ffee0ddba11c0ffee0ddba115d1";
const PASSWORD: &str = "Password-Never-Logged-7e2b";
const CONTENT_KEY: [u8; 32] = *b"content-key-never-logged-9f3a1c2";

/// Registers a message with the sender token (the API's body, one envelope
/// per recipient; the older one-key-per-message body if this server wants it).
fn register_message(client: &reqwest::blocking::Client, server: &Serving, token: &str) -> u16 {
    let body = json!({"message": {
        "from": "alice@clinic.example",
        "expires": null,
        "flags": {"reply": true, "reply_all": true, "forward": true, "print": true, "read_receipt": false},
        "security": "high",
        "envelopes": [{"id": MESSAGE_ID, "recipient": "bob@example.net", "content_key": STANDARD.encode(CONTENT_KEY)}],
    }});
    let status = client
        .post(server.url("/api/v1/messages"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .unwrap()
        .status()
        .as_u16();
    if status != 422 {
        return status;
    }
    let older = json!({
        "message": {
            "id": MESSAGE_ID,
            "recipients": ["bob@example.net"],
            "expires": null,
            "flags": {"reply": true, "reply_all": true, "forward": true, "print": true, "read_receipt": false},
            "security": "high",
        },
        "content_key": STANDARD.encode(CONTENT_KEY),
    });
    client
        .post(server.url("/api/v1/messages"))
        .bearer_auth(token)
        .json(&older)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

fn release(client: &reqwest::blocking::Client, server: &Serving, fields: Value) -> u16 {
    let request = envelope_core::KeyRequest::new();
    let mut body = json!({
        "message_id": MESSAGE_ID,
        "recipient": "bob@example.net",
        "public_key": STANDARD.encode(request.public_key()),
    });
    for (name, value) in fields.as_object().unwrap() {
        body[name] = value.clone();
    }
    client
        .post(server.url("/api/v1/keys/release"))
        .header("Origin", "null")
        .json(&body)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// Every request an attacker or a user makes that carries a secret; returns
/// the secrets.
fn requests_carrying_secrets(server: &Serving, token: &str) -> Vec<String> {
    let client = reqwest::blocking::Client::new();
    let reset_token = "ResetLinkTokenNeverLogged4c9d0a";
    let confirm_token = "ConfirmLinkTokenNeverLogged77e1";
    assert_eq!(register_message(&client, server, token), 200);
    release(&client, server, json!({ "password": PASSWORD }));
    // A wrongly typed field: serde quotes a number it cannot take.
    release(&client, server, json!({ "password": 424_242_424_242_u64 }));
    for path in [
        format!("/reset?token={reset_token}"),
        format!("/confirm?token={confirm_token}"),
        format!("/reset?token={reset_token}&lang=fr"),
    ] {
        client.get(server.url(&path)).send().unwrap();
    }
    client
        .post(server.url(&format!("/reset?token={reset_token}")))
        .form(&[
            ("token", reset_token),
            ("password", PASSWORD),
            ("answer1", "AnswerNeverLogged"),
        ])
        .send()
        .unwrap();
    // A made-up sender token is a secret too (it may be a real one mistyped).
    client
        .post(server.url("/api/v1/messages"))
        .bearer_auth("sdk_MadeUpTokenNeverLogged5b8e")
        .json(&json!({}))
        .send()
        .unwrap();
    vec![
        PASSWORD.into(),
        "424242424242".into(),
        token.into(),
        STANDARD.encode(CONTENT_KEY),
        String::from_utf8(CONTENT_KEY.to_vec()).unwrap(),
        reset_token.into(),
        confirm_token.into(),
        "AnswerNeverLogged".into(),
        "sdk_MadeUpTokenNeverLogged5b8e".into(),
    ]
}

#[test]
fn the_log_has_a_line_per_request_and_never_a_secret() {
    let data = tempfile::tempdir().unwrap();
    let token = sender_token(data.path());
    // The key server's own events at their most talkative.
    let server = serve(
        data.path(),
        &[],
        &[("RUST_LOG", "info,key_server=trace,securedoc=trace")],
    );
    let secrets = requests_carrying_secrets(&server, &token);
    let log = server.log();

    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "the log holds the secret {secret:?}:\n{log}"
        );
    }
    // A line per request: method, the path without its query, status, latency.
    let reset = server.wait_for_line("path=/reset");
    assert!(
        reset.contains("method=GET") && reset.contains("status=") && reset.contains("latency="),
        "{reset}"
    );
    assert!(
        !log.contains("token="),
        "a query string reached the log:\n{log}"
    );
    server.wait_for_line("path=/api/v1/keys/release");
    server.wait_for_line("path=/api/v1/messages");
}

#[test]
fn json_logs_are_one_object_per_line_without_secrets() {
    let data = tempfile::tempdir().unwrap();
    let token = sender_token(data.path());
    let server = serve(data.path(), &["--log-format", "json"], &[]);
    let secrets = requests_carrying_secrets(&server, &token);
    server.wait_for_line("/api/v1/messages");
    let log = server.log();
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "{secret:?} in:\n{log}");
    }
    let mut requests = 0;
    for line in log.lines().filter(|line| line.starts_with('{')) {
        let event: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            event["timestamp"].is_string() && event["level"].is_string(),
            "{line}"
        );
        // Every event inside a request carries its method and path.
        if let Some(span) = event.get("span").filter(|span| span["name"] == "request") {
            assert!(span["method"].is_string(), "{line}");
            assert!(!span["path"].as_str().unwrap().contains('?'), "{line}");
            if event["message"] == "finished processing request" {
                requests += 1;
                assert!(event["status"].is_number(), "{line}");
                assert!(event["latency"].is_string(), "{line}");
            }
        }
    }
    assert!(requests >= 7, "one event per request:\n{log}");
}

#[test]
fn a_bad_rust_log_is_one_clear_line() {
    let data = tempfile::tempdir().unwrap();
    let output = securedoc(data.path())
        .arg("serve")
        .env("RUST_LOG", "key_server=loudest")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("RUST_LOG 'key_server=loudest'"), "{stderr}");
}

fn scrape(url: &str) -> String {
    reqwest::blocking::get(url).unwrap().text().unwrap()
}

#[test]
fn metrics_are_served_on_their_own_address_only() {
    let data = tempfile::tempdir().unwrap();
    let token = sender_token(data.path());
    let server = serve(
        data.path(),
        &[],
        &[("SECUREDOC_METRICS_LISTEN", "127.0.0.1:0")],
    );
    let line = server.wait_for_line("serving metrics on http://");
    let metrics_url = line
        .split("serving metrics on ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();

    let client = reqwest::blocking::Client::new();
    assert_eq!(register_message(&client, &server, &token), 200);
    release(&client, &server, json!({ "password": PASSWORD }));
    client.get(server.url("/healthz")).send().unwrap();

    let text = scrape(&metrics_url);
    assert!(
        text.contains("securedoc_key_releases_total{"),
        "a release is counted by outcome:\n{text}"
    );
    assert!(
        text.contains("# TYPE securedoc_http_request_duration_seconds histogram"),
        "{text}"
    );
    assert!(
        text.lines().any(|line| line.starts_with(
            "securedoc_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/keys/release\",status=\""
        )),
        "latency by route and status:\n{text}"
    );
    // The route is the pattern, never a raw URI with a query.
    client
        .get(server.url("/reset?token=ResetLinkTokenNeverLogged4c9d0a"))
        .send()
        .unwrap();
    client
        .get(server.url("/no/such/page/12345"))
        .send()
        .unwrap();
    let text = scrape(&metrics_url);
    assert!(
        !text.contains("ResetLinkToken") && !text.contains("12345"),
        "{text}"
    );
    assert!(text.contains("route=\"unmatched\""), "{text}");

    // The public port does not serve them.
    let public = client.get(server.url("/metrics")).send().unwrap();
    assert_eq!(public.status().as_u16(), 404);
    assert!(!public.text().unwrap().contains("securedoc_"));
}

#[test]
fn metrics_are_off_by_default() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), &[], &[]);
    reqwest::blocking::get(server.url("/healthz")).unwrap();
    let log = server.log();
    assert!(!log.contains("serving metrics"), "{log}");
    let public = reqwest::blocking::get(server.url("/metrics")).unwrap();
    assert_eq!(public.status().as_u16(), 404);
}

#[test]
fn a_server_whose_log_reader_hung_up_keeps_answering() {
    let data = tempfile::tempdir().unwrap();
    let mut child = securedoc(data.path())
        .arg("serve")
        .env("SECUREDOC_LISTEN", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // The reader is gone: every log line now fails to write.
    let serving = Serving {
        addr: line
            .split("http://")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .into(),
        child,
        log: Arc::default(),
    };
    for _ in 0..3 {
        let response = reqwest::blocking::get(serving.url("/healthz")).unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }
}
