//! `securedoc serve` and `securedoc admin token create` as a user runs them:
//! real processes, a real socket, the embedded defaults (SQLite, a master key
//! created on first start) in a temporary data directory.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;

struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn securedoc(data_dir: &std::path::Path) -> Command {
    let mut command = Command::cargo_bin("securedoc").unwrap();
    command
        .env("SECUREDOC_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("SECUREDOC_DATABASE_URL");
    command
}

/// Every file under the server's data directory (the outbox is a folder in it).
fn data_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(data_files(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn serve_answers_healthz_and_keeps_its_master_key_private() {
    let data = tempfile::tempdir().unwrap();
    let (_serving, addr) = start_server(data.path());

    let response = get(&addr, "/healthz");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#"{"status":"ok"}"#), "{response}");
    assert!(get(&addr, "/no-such-page").starts_with("HTTP/1.1 404"));

    let key = data.path().join("master.key");
    assert!(key.exists(), "the master key is created on first start");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(data.path().join("securedoc.db").exists());
}

#[test]
fn admin_account_unlock_names_an_unknown_address() {
    let data = tempfile::tempdir().unwrap();
    let output = securedoc(data.path())
        .args([
            "admin",
            "account",
            "unlock",
            "--address",
            "nobody@example.org",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("there is no account for nobody@example.org"),
        "{stderr}"
    );
}

#[test]
fn admin_token_create_prints_a_token_once_per_name() {
    let data = tempfile::tempdir().unwrap();
    let output = securedoc(data.path())
        .args(["admin", "token", "create", "--name", "clinic"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap();
    assert!(
        token.trim().starts_with("sdk_") && token.trim().len() > 40,
        "{token}"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("not shown again"));
    // Stored only hashed: the token itself is nowhere in the data directory.
    for path in data_files(data.path()) {
        let bytes = std::fs::read(path).unwrap();
        assert!(!bytes
            .windows(token.trim().len())
            .any(|w| w == token.trim().as_bytes()));
    }

    let again = securedoc(data.path())
        .args(["admin", "token", "create", "--name", "clinic"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8(again.stderr).unwrap();
    assert!(
        stderr.starts_with("securedoc: error:") && stderr.contains("exists already"),
        "{stderr}"
    );
}

#[test]
fn a_bad_configuration_is_one_clear_line() {
    let data = tempfile::tempdir().unwrap();
    let output = securedoc(data.path())
        .args(["serve"])
        .env("SECUREDOC_LISTEN", "everywhere")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("SECUREDOC_LISTEN 'everywhere'"), "{stderr}");

    let missing = securedoc(data.path())
        .args(["serve", "--config", "/nonexistent/securedoc.toml"])
        .output()
        .unwrap();
    assert!(String::from_utf8(missing.stderr)
        .unwrap()
        .contains("cannot read /nonexistent/securedoc.toml"));
}

/// Starts `securedoc serve` on a free port; returns it with its address.
fn start_server(data: &std::path::Path) -> (Serving, String) {
    let child = securedoc(data)
        .args(["serve"])
        .env("SECUREDOC_LISTEN", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut serving = Serving(child);
    let mut line = String::new();
    BufReader::new(serving.0.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("serve did not say where it listens: {line:?}"))
        .to_string();
    (serving, addr)
}

#[test]
fn server_mode_seal_registers_the_key_and_never_sends_the_body() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let token = securedoc(data.path())
        .args(["admin", "token", "create", "--name", "clinic"])
        .output()
        .unwrap();
    std::fs::write(work.path().join("token"), &token.stdout).unwrap();
    let (_server, addr) = start_server(data.path());
    let body = "The body is a secret the key server must never see: 7c1f9a2e";

    let output = Command::cargo_bin("securedoc")
        .unwrap()
        .current_dir(work.path())
        .args([
            "seal",
            "--from",
            "alice@example.org",
            "--to",
            "bob@example.net",
            "--to",
            "carol@example.org",
        ])
        .args([
            "--subject",
            "Results",
            "--body",
            body,
            "--security",
            "medium",
            "--out-dir",
            "out",
        ])
        .args([
            "--key-server",
            &format!("http://{addr}"),
            "--token-file",
            "token",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("bob@example.net: not registered yet"),
        "{stderr}"
    );

    // Two envelopes, server mode, sealed to this key server, each with its own id.
    let mut ids = Vec::new();
    for to in ["bob@example.net", "carol@example.org"] {
        let path = work.path().join(format!("out/securedoc-{to}.html"));
        let inspect = Command::cargo_bin("securedoc")
            .unwrap()
            .args(["inspect", "--json"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(inspect.status.success());
        let header: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
        assert_eq!(header["mode"], "server");
        assert_eq!(header["key_server"], format!("http://{addr}"));
        assert_eq!(header["to"], to);
        assert_eq!(header["security"], "medium");
        assert_eq!(header["kdf"], serde_json::Value::Null);
        ids.push(header["id"].as_str().unwrap().to_string());
    }
    assert_ne!(ids[0], ids[1], "one id (and key) per recipient's envelope");

    // The server's store has the message, and nowhere the body (nor in its outbox).
    let files = data_files(data.path());
    assert!(files.len() >= 2, "the database and the master key at least");
    for path in files {
        let bytes = std::fs::read(path).unwrap();
        assert!(
            !bytes.windows(body.len()).any(|w| w == body.as_bytes()),
            "the body reached the key server"
        );
    }
    let db = std::fs::read(data.path().join("securedoc.db")).unwrap_or_default();
    let wal = std::fs::read(data.path().join("securedoc.db-wal")).unwrap_or_default();
    for id in &ids {
        let id = id.as_bytes();
        assert!(
            db.windows(id.len())
                .chain(wal.windows(id.len()))
                .any(|w| w == id),
            "every envelope is registered"
        );
    }
}

#[test]
fn server_mode_seal_explains_what_went_wrong() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("bad-token"), "sdk_not-a-real-token\n").unwrap();
    std::fs::write(work.path().join("empty-token"), "\n").unwrap();
    let (_server, addr) = start_server(data.path());
    let seal = |server: &str, token: &str| {
        let output = Command::cargo_bin("securedoc")
            .unwrap()
            .current_dir(work.path())
            .args([
                "seal",
                "--from",
                "alice@example.org",
                "--to",
                "bob@example.net",
                "--subject",
                "x",
                "--body",
                "y",
            ])
            .args([
                "-o",
                "out.html",
                "--key-server",
                server,
                "--token-file",
                token,
            ])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        assert!(
            !work.path().join("out.html").exists(),
            "no envelope on failure"
        );
        String::from_utf8(output.stderr).unwrap()
    };
    let refused = seal(&format!("http://{addr}"), "bad-token");
    assert!(
        refused.contains("refused the token") && refused.contains("--token-file"),
        "{refused}"
    );
    let empty = seal(&format!("http://{addr}"), "empty-token");
    assert!(
        empty.contains("is empty") && empty.contains("admin token create"),
        "{empty}"
    );
    // A port nothing listens on.
    let unreachable = seal("http://127.0.0.1:9", "bad-token");
    assert!(
        unreachable.contains("cannot reach the key server at http://127.0.0.1:9"),
        "{unreachable}"
    );
    let not_an_origin = seal("http://keys.example.org", "bad-token");
    assert!(not_an_origin.contains("https://"), "{not_an_origin}");

    // --key-server without --token-file is a usage error.
    let usage = Command::cargo_bin("securedoc")
        .unwrap()
        .args([
            "seal",
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--subject",
            "x",
            "-o",
            "o.html",
        ])
        .args(["--key-server", "https://keys.example.org"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8(usage.stderr)
        .unwrap()
        .contains("--token-file"));
}
