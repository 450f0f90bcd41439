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
    let child = securedoc(data.path())
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
    for entry in std::fs::read_dir(data.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
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
