//! `securedoc message` as a sender runs it, against a real `securedoc serve`:
//! seal with a read receipt and restrictions, then status, lock, unlock,
//! expire and revoke, with the key server and token from sender.toml (or
//! flags, which win) — and nothing for another sender's token.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `securedoc` with the server's data directory and nothing from the caller's
/// environment that would choose another store or configuration.
fn securedoc(data: &Path, config_home: &Path) -> Command {
    let mut command = Command::cargo_bin("securedoc").unwrap();
    command
        .env("SECUREDOC_DATA_DIR", data)
        .env("XDG_CONFIG_HOME", config_home)
        .env_remove("DATABASE_URL")
        .env_remove("SECUREDOC_DATABASE_URL");
    command
}

fn start_server(data: &Path) -> (Serving, String) {
    let child = securedoc(data, data)
        .args(["serve"])
        .env("SECUREDOC_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut serving = Serving(child);
    let lines = BufReader::new(serving.0.stderr.take().unwrap()).lines();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Read to the end, so the server never writes into a closed pipe.
        for line in lines.map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let _ = tx.send(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
        }
    });
    let addr = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("serve says where it listens");
    (serving, addr)
}

/// Runs `command`; its stdout on success, else a panic that shows everything.
fn run(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        explain(&output)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Runs `command`, which must fail; its stderr.
fn fails(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(
        !output.status.success(),
        "{command:?} succeeded:\n{}",
        explain(&output)
    );
    String::from_utf8(output.stderr).unwrap()
}

fn explain(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// What a recipient's browser sends for `id` (low security: no password).
fn release(addr: &str, id: &str, recipient: &str) -> (u16, Value) {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let request = envelope_core::KeyRequest::new();
    let response = reqwest::blocking::Client::new()
        .post(format!("http://{addr}/api/v1/keys/release"))
        .header("Origin", "null")
        .json(&serde_json::json!({
            "message_id": id, "recipient": recipient,
            "public_key": STANDARD.encode(request.public_key()),
        }))
        .send()
        .unwrap();
    (response.status().as_u16(), response.json().unwrap())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn a_sender_follows_and_controls_a_message_after_sending() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let config_home = tempfile::tempdir().unwrap();
    let token = run(securedoc(data.path(), config_home.path())
        .args(["admin", "token", "create", "--name", "clinic"]));
    let other = run(securedoc(data.path(), config_home.path())
        .args(["admin", "token", "create", "--name", "another"]));
    std::fs::write(work.path().join("token"), &token).unwrap();
    std::fs::write(work.path().join("other"), &other).unwrap();
    let (_server, addr) = start_server(data.path());
    let origin = format!("http://{addr}");

    let message = || {
        let mut command = securedoc(data.path(), config_home.path());
        command.current_dir(work.path());
        command
    };
    // Before any sender.toml: the command says what it needs.
    let missing = fails(message().args(["message", "status", "0123456789abcdef0123456789abcdef"]));
    assert!(
        missing.contains("--key-server") && missing.contains("sender.toml"),
        "{missing}"
    );

    let output = message()
        .args(["seal", "--from", "alice@clinic.example"])
        .args(["--to", "bob@example.net", "--to", "carol@example.org"])
        .args([
            "--subject",
            "Results",
            "--body",
            "hello",
            "--out-dir",
            "out",
        ])
        .args([
            "--security",
            "low",
            "--read-receipt",
            "--no-forward",
            "--no-reply-all",
        ])
        .args(["--key-server", &origin, "--token-file", "token"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", explain(&output));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let id = stderr
        .lines()
        .find_map(|l| l.strip_prefix("Message id: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("seal prints the message id: {stderr}"))
        .to_string();
    assert_eq!(id.len(), 32, "{id}");

    // The flags are in each envelope's header.
    let header: Value = serde_json::from_str(&run(message()
        .args(["inspect", "--json"])
        .arg("out/securedoc-bob@example.net.html")))
    .unwrap();
    assert_eq!(
        header["flags"],
        serde_json::json!({"reply": true, "reply_all": false, "forward": false, "print": true, "read_receipt": true})
    );
    let bob_envelope = header["id"].as_str().unwrap().to_string();

    // From now on, sender.toml names the server and the token (relative to the file).
    let dir = config_home.path().join("securedoc");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(work.path().join("token"), dir.join("token")).unwrap();
    std::fs::write(
        dir.join("sender.toml"),
        format!("key_server = \"{origin}\"\ntoken_file = \"token\"\n"),
    )
    .unwrap();

    let status = |id: &str| -> Value {
        serde_json::from_str(&run(message().args(["message", "status", id, "--json"]))).unwrap()
    };
    let before = status(&id);
    assert_eq!(before["message"], id.as_str());
    assert_eq!(before["envelopes"].as_array().unwrap().len(), 2, "{before}");

    assert_eq!(release(&addr, &bob_envelope, "bob@example.net").0, 200);
    let text = run(message().args(["message", "status", &id]));
    assert!(
        text.contains(&format!("Message {id} (2 recipients)")),
        "{text}"
    );
    assert!(text.contains("bob@example.net\n  envelope    "), "{text}");
    assert!(text.contains("opened      1 time: first "), "{text}");
    assert!(text.contains("from 127.0.0.1"), "{text}");
    assert!(
        text.contains("carol@example.org") && text.contains("opened      not yet"),
        "{text}"
    );

    // Lock refuses with the sender's refusal; unlock allows again.
    run(message().args(["message", "lock", &id]));
    let (code, refusal) = release(&addr, &bob_envelope, "bob@example.net");
    assert_eq!(
        (code, refusal["error"].as_str()),
        (423, Some("message_locked"))
    );
    run(message().args(["message", "unlock", &id]));
    assert_eq!(release(&addr, &bob_envelope, "bob@example.net").0, 200);

    // Expire in 7 days: the date moves.
    run(message().args(["message", "expire", &id, "--in", "7d"]));
    let expires = status(&bob_envelope)["envelopes"][0]["expires"]
        .as_i64()
        .unwrap();
    assert!((expires - (now() + 7 * 86_400)).abs() < 60, "{expires}");
    let bad = fails(message().args(["message", "expire", &id, "--in", "2026-01-01"]));
    assert!(bad.contains("--at"), "{bad}");

    // Flags win over the file; another sender's token sees nothing.
    let unreachable = fails(message().args([
        "message",
        "status",
        &id,
        "--key-server",
        "http://127.0.0.1:9",
    ]));
    assert!(
        unreachable.contains("cannot reach the key server at http://127.0.0.1:9"),
        "{unreachable}"
    );
    for action in [
        &["status"][..],
        &["lock"],
        &["unlock"],
        &["revoke"],
        &["expire", "--in", "1d"],
    ] {
        let refused = fails(
            message()
                .args(["message", action[0], &id])
                .args(&action[1..])
                .args(["--token-file", "other"]),
        );
        assert!(
            refused.contains("No message with this id"),
            "{action:?}: {refused}"
        );
    }
    assert_eq!(release(&addr, &bob_envelope, "bob@example.net").0, 200);

    // Revoke: gone for good, and the expiry can no longer change.
    let revoked = run(message().args(["message", "revoke", &id]));
    assert!(revoked.contains("withdrawn"), "{revoked}");
    let (code, refusal) = release(&addr, &bob_envelope, "bob@example.net");
    assert_eq!((code, refusal["reason"].as_str()), (410, Some("withdrawn")));
    let late = fails(message().args(["message", "expire", &id, "--in", "7d"]));
    assert!(late.contains("keys are deleted"), "{late}");

    // One read receipt (bob opened three times; carol never), to the sender.
    let outbox = data.path().join("outbox");
    let mut receipts = Vec::new();
    for _ in 0..50 {
        receipts = std::fs::read_dir(&outbox)
            .into_iter()
            .flatten()
            .map(|e| {
                let bytes = std::fs::read(e.unwrap().path()).unwrap();
                let mail = mail_parser::MessageParser::default().parse(&bytes).unwrap();
                format!(
                    "To: {}\nSubject: {}\n\n{}",
                    mail.to().unwrap().first().unwrap().address().unwrap(),
                    mail.subject().unwrap_or_default(),
                    mail.body_text(0).unwrap_or_default()
                )
            })
            .filter(|mail| mail.contains("was opened"))
            .collect();
        if !receipts.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    assert!(
        receipts[0].contains("To: alice@clinic.example"),
        "{}",
        receipts[0]
    );
    assert!(receipts[0].contains(&id[..8]), "{}", receipts[0]);
}

/// A token written in sender.toml itself is used, and a sender.toml others
/// can read gets a warning that says what to do.
#[cfg(unix)]
#[test]
fn a_token_in_a_readable_sender_toml_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let config_home = tempfile::tempdir().unwrap();
    let dir = config_home.path().join("securedoc");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sender.toml");
    std::fs::write(
        &file,
        "key_server = \"http://127.0.0.1:9\"\ntoken = \"sdk_x\"\n",
    )
    .unwrap();
    let status = || {
        fails(securedoc(config_home.path(), config_home.path()).args([
            "message",
            "status",
            "0123456789abcdef0123456789abcdef",
        ]))
    };
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let readable = status();
    assert!(
        readable.contains("other users of this machine can read it; run chmod 600"),
        "{readable}"
    );
    assert!(
        readable.contains("cannot reach the key server at http://127.0.0.1:9"),
        "{readable}"
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let private = status();
    assert!(!private.contains("warning"), "{private}");
    std::fs::write(
        &file,
        "key_server = \"http://127.0.0.1:9\"\ntokn = \"sdk_x\"\n",
    )
    .unwrap();
    let typo = status();
    assert!(
        typo.contains("is not a sender configuration") && typo.contains("tokn"),
        "{typo}"
    );
}
