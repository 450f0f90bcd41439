//! `securedoc serve` and `securedoc admin token create` as a user runs them:
//! real processes, a real socket, the embedded defaults (SQLite, a master key
//! created on first start) in a temporary data directory.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use support::{release_key, securedoc};

mod support;

struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
    let (serving, addr, _) = start_server_logged(data);
    (serving, addr)
}

/// As [`start_server`], with the server's log (stderr) as it grows. The log
/// is read to its end, so the server never writes into a closed pipe.
fn start_server_logged(
    data: &std::path::Path,
) -> (Serving, String, std::sync::Arc<std::sync::Mutex<String>>) {
    let child = securedoc(data)
        .args(["serve"])
        .env("SECUREDOC_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut serving = Serving(child);
    let lines = BufReader::new(serving.0.stderr.take().unwrap()).lines();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let kept = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let _ = addr_tx.send(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
            kept.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    let addr = addr_rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .unwrap_or_else(|_| {
            panic!(
                "serve did not say where it listens: {}",
                log.lock().unwrap()
            )
        });
    (serving, addr, log)
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

    // The server-mode page is genuine; the same page allowed to talk to
    // another origin than its header's key server is not.
    let bob = work.path().join("out/securedoc-bob@example.net.html");
    let page = std::fs::read_to_string(&bob).unwrap();
    let inspect = |path: &std::path::Path| {
        let output = Command::cargo_bin("securedoc")
            .unwrap()
            .arg("inspect")
            .arg(path)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8(output.stdout).unwrap(),
        )
    };
    let (code, stdout) = inspect(&bob);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("page:        genuine"), "{stdout}");
    let escaped_origin = format!("http:&#x2f;&#x2f;{addr}");
    assert!(page.contains(&format!("connect-src {escaped_origin}")));
    let forged = page.replacen(
        &format!("connect-src {escaped_origin}"),
        &format!("connect-src {escaped_origin} https:&#x2f;&#x2f;collect.evil.example"),
        1,
    );
    std::fs::write(work.path().join("forged.html"), forged).unwrap();
    let (code, stdout) = inspect(&work.path().join("forged.html"));
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "lets it connect to http://{addr} https://collect.evil.example, but the key server in its header is http://{addr}"
        )),
        "{stdout}"
    );

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

/// Item: one content key per recipient envelope. Carol, a co-recipient,
/// gets her own envelope's key with her own password, then seals an envelope
/// "from" alice to bob reusing her id and key. Cryptographically it is a
/// valid envelope (her key opens it); but bob's opener asks the key server
/// for that id as bob, and the key server refuses: the id is carol's alone.
#[test]
fn a_co_recipient_cannot_forge_an_envelope_to_another_recipient() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let password = "Tangerine-Lighthouse-42";
    std::fs::write(work.path().join("pw"), password).unwrap();
    for address in ["bob@example.net", "carol@example.org"] {
        let created = securedoc(data.path())
            .args([
                "admin",
                "account",
                "create",
                "--address",
                address,
                "--password-file",
            ])
            .arg(work.path().join("pw"))
            .output()
            .unwrap();
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stderr)
        );
    }
    let token = securedoc(data.path())
        .args(["admin", "token", "create", "--name", "clinic"])
        .output()
        .unwrap();
    std::fs::write(work.path().join("token"), &token.stdout).unwrap();
    let (_server, addr) = start_server(data.path());
    let sealed = Command::cargo_bin("securedoc")
        .unwrap()
        .current_dir(work.path())
        .args([
            "seal",
            "--from",
            "alice@clinic.example",
            "--to",
            "bob@example.net",
            "--to",
            "carol@example.org",
        ])
        .args([
            "--subject",
            "Results",
            "--body",
            "Your results are normal.",
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
        sealed.status.success(),
        "{}",
        String::from_utf8_lossy(&sealed.stderr)
    );
    let header = |to: &str| -> envelope_core::Header {
        let page =
            std::fs::read_to_string(work.path().join(format!("out/securedoc-{to}.html"))).unwrap();
        let text = securedoc_templates::envelope_text_from_html(&page).unwrap();
        envelope_core::header_from_text(text).unwrap()
    };
    let (bob, carol) = (header("bob@example.net"), header("carol@example.org"));
    assert_ne!(bob.id, carol.id);

    // Carol opens her own envelope, as she may.
    let (status, carol_key) = release_key(
        &format!("http://{addr}"),
        &carol.id,
        "carol@example.org",
        password,
    );
    assert_eq!(status, 200);
    let carol_key = carol_key.unwrap();
    // Her key is not bob's: it does not open bob's envelope.
    let bob_page =
        std::fs::read_to_string(work.path().join("out/securedoc-bob@example.net.html")).unwrap();
    let bob_bytes =
        envelope_core::from_text(securedoc_templates::envelope_text_from_html(&bob_page).unwrap())
            .unwrap();
    assert!(envelope_core::Envelope::parse(&bob_bytes)
        .unwrap()
        .unlock_with_key(&carol_key)
        .is_err());

    // The forgery: her id and key, "from" alice, to bob.
    let mut forged_header = carol.clone();
    forged_header.to = "bob@example.net".into();
    let sealer = envelope_core::Sealer::new(forged_header, carol_key.clone()).unwrap();
    let mut forged = sealer.head(&[]).unwrap();
    forged.extend(
        sealer
            .encrypt_payload(
                &envelope_core::pack(b"Subject: Urgent\r\n\r\nWire the fee to account 666.\r\n")
                    .unwrap(),
                |_| {},
            )
            .unwrap(),
    );
    let envelope = envelope_core::Envelope::parse(&forged).unwrap();
    assert_eq!(envelope.header().from, "alice@clinic.example");
    assert!(
        envelope.unlock_with_key(&carol_key).is_ok(),
        "a well-formed envelope under carol's key"
    );

    // Bob's opener asks for the forged envelope's key, as bob, with bob's password: refused.
    let (status, key) = release_key(
        &format!("http://{addr}"),
        &envelope.header().id,
        "bob@example.net",
        password,
    );
    assert_eq!(
        status, 403,
        "the key server refuses: bob is not on carol's id"
    );
    assert!(key.is_none(), "the opener gets no key");
    // Bob's own envelope still opens for him.
    let (status, key) = release_key(
        &format!("http://{addr}"),
        &bob.id,
        "bob@example.net",
        password,
    );
    assert_eq!(status, 200);
    assert!(envelope_core::Envelope::parse(&bob_bytes)
        .unwrap()
        .unlock_with_key(&key.unwrap())
        .is_ok());
}

/// `admin token create --from-domain`, `list`, `revoke` as an administrator
/// runs them, and what a sender then sees from `seal`.
#[test]
fn admin_tokens_are_limited_to_from_domains_listed_and_revoked() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let admin = |args: &[&str]| {
        let output = securedoc(data.path())
            .arg("admin")
            .args(args)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (code, token, stderr) = admin(&[
        "token",
        "create",
        "--name",
        "clinic",
        "--from-domain",
        "Clinic.Example",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("From clinic.example only"), "{stderr}");
    std::fs::write(work.path().join("token"), &token).unwrap();
    let (code, _, stderr) = admin(&[
        "token",
        "create",
        "--name",
        "bad",
        "--from-domain",
        "not a domain",
    ]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("is not a domain like clinic.example"),
        "{stderr}"
    );

    let (code, list, _) = admin(&["token", "list"]);
    assert_eq!(code, Some(0));
    assert!(
        list.starts_with("clinic\tcreated ") && list.contains("\tactive\tFrom clinic.example"),
        "{list}"
    );
    assert!(
        !list.contains(token.trim()),
        "the token is never shown again"
    );

    let (_server, addr) = start_server(data.path());
    let seal = |from: &str| {
        let output = Command::cargo_bin("securedoc")
            .unwrap()
            .current_dir(work.path())
            .args([
                "seal",
                "--from",
                from,
                "--to",
                "bob@example.net",
                "--subject",
                "x",
                "--body",
                "y",
                "--force",
            ])
            .args([
                "-o",
                "out.html",
                "--key-server",
                &format!("http://{addr}"),
                "--token-file",
                "token",
            ])
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    assert_eq!(seal("alice@clinic.example").0, Some(0));
    let (code, stderr) = seal("alice@elsewhere.example");
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("refused the message")
            && stderr.contains("only From clinic.example, not alice@elsewhere.example"),
        "{stderr}"
    );

    let (code, _, stderr) = admin(&["token", "revoke", "--name", "clinic"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("Revoked the token of sender 'clinic'"),
        "{stderr}"
    );
    let (_, list, _) = admin(&["token", "list"]);
    assert!(list.contains("\trevoked 20"), "{list}");
    let (code, stderr) = seal("alice@clinic.example");
    assert_eq!(code, Some(1));
    assert!(stderr.contains("refused the token"), "{stderr}");
    let (code, _, stderr) = admin(&["token", "revoke", "--name", "nobody"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("there is no sender named 'nobody'"),
        "{stderr}"
    );
}

/// Item 15: a "key server" that answers 307 to somewhere else gets nothing
/// more: seal does not follow it (the content keys would go to the other
/// address), names the Location, and writes no envelope.
#[test]
fn seal_never_follows_a_redirect_with_content_keys() {
    use std::net::TcpListener;
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("token"), "sdk_a-token-for-the-test\n").unwrap();
    // Where the redirect points: counts the connections it gets.
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let location = format!("http://{}/api/v1/messages", elsewhere.local_addr().unwrap());
    let redirecting = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = redirecting.local_addr().unwrap();
    let answer = location.clone();
    std::thread::spawn(move || {
        for stream in redirecting.incoming() {
            let mut stream = stream.unwrap();
            let mut request = [0u8; 65536];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {answer}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
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
            &format!("http://{addr}"),
            "--token-file",
            "token",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("answered with a redirect (307 Temporary Redirect)")
            && stderr.contains(&location)
            && stderr.contains("never sends content keys to another address"),
        "{stderr}"
    );
    assert!(!work.path().join("out.html").exists(), "no envelope");
    assert!(elsewhere.accept().is_err(), "the redirect was not followed");
}

/// Item 14: what the key server and the CLI create to hold secrets is the
/// owner's only: the data directory and the outbox 0700, the master key 0600;
/// `send`'s outbox and `seal --out-dir` 0700, envelopes 0600.
#[cfg(unix)]
#[test]
fn data_directory_outbox_and_envelopes_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("new/data");
    let (server, addr) = start_server(&data);
    assert!(get(&addr, "/healthz").starts_with("HTTP/1.1 200"));
    // A message to bob, then his registration: it queues a confirmation
    // mail, which the worker writes to the outbox.
    let sealing = tempfile::tempdir().unwrap();
    let token = securedoc(&data)
        .args(["admin", "token", "create", "--name", "clinic"])
        .output()
        .unwrap();
    std::fs::write(sealing.path().join("token"), &token.stdout).unwrap();
    let sealed = Command::cargo_bin("securedoc")
        .unwrap()
        .current_dir(sealing.path())
        .args([
            "seal",
            "--from",
            "alice@example.org",
            "--to",
            "bob@example.net",
        ])
        .args(["--subject", "x", "--body", "y", "--out-dir", "out"])
        .args([
            "--key-server",
            &format!("http://{addr}"),
            "--token-file",
            "token",
        ])
        .output()
        .unwrap();
    assert!(
        sealed.status.success(),
        "{}",
        String::from_utf8_lossy(&sealed.stderr)
    );
    let registered = reqwest::blocking::Client::new()
        .post(format!("http://{addr}/register"))
        .form(&[
            ("email", "bob@example.net"),
            ("language", "en"),
            ("first_name", "Bob"),
            ("last_name", "Example"),
            ("password", "correct horse battery staple"),
            ("password_confirm", "correct horse battery staple"),
            ("question1", "first_pet"),
            ("answer1", "Rex"),
            ("answer1_confirm", "Rex"),
            ("question2", "first_school"),
            ("answer2", "Hillside Primary"),
            ("answer2_confirm", "Hillside Primary"),
            ("question3", "first_car"),
            ("answer3", "Fiat"),
            ("answer3_confirm", "Fiat"),
        ])
        .send()
        .unwrap();
    assert_eq!(registered.status().as_u16(), 200);
    let mail_written = || {
        data_files(&data.join("outbox"))
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "eml"))
    };
    for _ in 0..100 {
        if mail_written() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(mail_written(), "the confirmation mail is in the outbox");
    drop(server);
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join("outbox")), 0o700, "the server's outbox");
    assert_eq!(mode(&data.join("master.key")), 0o600, "the master key");
    // Every file: the database (and SQLite's journal files), the key, the mail.
    for file in data_files(&data) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }

    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("pw"), "blue harbour seven lanterns").unwrap();
    let sent = Command::cargo_bin("securedoc")
        .unwrap()
        .current_dir(work.path())
        .args([
            "send",
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
            "--passphrase-file",
            "pw",
            "--out-dir",
            "sealed/envelopes",
            "--outbox",
            "mail/outbox",
        ])
        .env_remove("SECUREDOC_SMTP_URL")
        .output()
        .unwrap();
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    for dir in ["sealed", "sealed/envelopes", "mail", "mail/outbox"] {
        assert_eq!(mode(&work.path().join(dir)), 0o700, "{dir}");
    }
    assert_eq!(
        mode(
            &work
                .path()
                .join("sealed/envelopes/securedoc-bob@example.net.html")
        ),
        0o600
    );
}

/// Item 12: every time a sender token learns a recipient's phrase, the
/// server's log says which sender, which recipient and which envelope — and
/// never the phrase.
#[test]
fn phrase_disclosures_are_logged_without_the_phrase() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let phrase = "Blue kettle on Sunday";
    std::fs::write(work.path().join("pw"), "Tangerine-Lighthouse-42").unwrap();
    let created = securedoc(data.path())
        .args([
            "admin",
            "account",
            "create",
            "--address",
            "bob@example.net",
            "--phrase",
            phrase,
            "--password-file",
        ])
        .arg(work.path().join("pw"))
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let token = securedoc(data.path())
        .args(["admin", "token", "create", "--name", "clinic"])
        .output()
        .unwrap();
    std::fs::write(work.path().join("token"), &token.stdout).unwrap();

    let (serving, addr, log) = start_server_logged(data.path());
    let sealed = Command::cargo_bin("securedoc")
        .unwrap()
        .current_dir(work.path())
        .args([
            "seal",
            "--from",
            "alice@clinic.example",
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
            &format!("http://{addr}"),
            "--token-file",
            "token",
        ])
        .output()
        .unwrap();
    assert!(
        sealed.status.success(),
        "{}",
        String::from_utf8_lossy(&sealed.stderr)
    );
    let page = std::fs::read_to_string(work.path().join("out.html")).unwrap();
    let header = envelope_core::header_from_text(
        securedoc_templates::envelope_text_from_html(&page).unwrap(),
    )
    .unwrap();
    assert_eq!(
        header.phrase.as_deref(),
        Some(phrase),
        "the sealer got the phrase"
    );

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let disclosure = loop {
        let text = log.lock().unwrap().clone();
        if let Some(line) = text.lines().find(|l| l.contains("security phrase")) {
            break line.to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no disclosure logged:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    for field in ["clinic", "bob@example.net", header.id.as_str()] {
        assert!(disclosure.contains(field), "{field} missing: {disclosure}");
    }
    drop(serving);
    let text = log.lock().unwrap().clone();
    assert!(
        !text.contains(phrase),
        "the phrase reached the log:\n{text}"
    );
}
