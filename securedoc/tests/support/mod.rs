//! What several of the CLI's integration tests need: `securedoc` pointed at
//! a data directory, a key server as a process, and the opener's key request.
#![allow(dead_code)] // each test target uses its own part

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

/// The `securedoc` binary: `SECUREDOC_BIN` if set (the benchmark runs the
/// release build), else the one cargo built for these tests.
pub fn securedoc_bin() -> Command {
    match std::env::var_os("SECUREDOC_BIN") {
        Some(path) => Command::new(path),
        None => Command::cargo_bin("securedoc").unwrap(),
    }
}

/// `securedoc` with the key server's data directory (SQLite, never a
/// database from the environment).
pub fn securedoc(data_dir: &std::path::Path) -> Command {
    let mut command = securedoc_bin();
    command
        .env("SECUREDOC_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("SECUREDOC_DATABASE_URL");
    command
}

/// The opener's key request: what a recipient's browser sends for `id` to
/// the key server at `origin`. Returns the status and, on success, the key.
pub fn release_key(
    origin: &str,
    id: &str,
    recipient: &str,
    password: &str,
) -> (u16, Option<envelope_core::ContentKey>) {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let request = envelope_core::KeyRequest::new();
    let response = reqwest::blocking::Client::new()
        .post(format!("{origin}/api/v1/keys/release"))
        .header("Origin", "null")
        .json(&serde_json::json!({
            "message_id": id,
            "recipient": recipient,
            "password": password,
            "public_key": STANDARD.encode(request.public_key()),
        }))
        .send()
        .unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().unwrap();
    let key = (status == 200).then(|| {
        let field = |name: &str| STANDARD.decode(body[name].as_str().unwrap()).unwrap();
        request
            .open(id, &field("enc"), &field("ciphertext"))
            .unwrap()
    });
    (status, key)
}

/// Opens a binary envelope as its recipient's browser would: key release
/// with `password` at the key server at `origin`, then decryption. The
/// sealed message (.eml).
pub fn open_envelope(origin: &str, bytes: &[u8], recipient: &str, password: &str) -> Vec<u8> {
    let envelope = envelope_core::Envelope::parse(bytes).expect("a binary envelope");
    assert_eq!(
        &envelope.header().to,
        recipient,
        "each envelope names its own recipient"
    );
    let id = envelope.header().id.clone();
    let (status, key) = release_key(origin, &id, recipient, password);
    assert_eq!(status, 200, "key release for {recipient}");
    let payload = envelope
        .unlock_with_key(&key.unwrap())
        .unwrap()
        .decrypt(envelope.sealed_payload())
        .unwrap();
    envelope_core::OpenedMessage::new(envelope.header().v, payload)
        .expect("a v2 container")
        .eml()
        .into_owned()
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `check` holds, or panics with `what` after `seconds`.
pub fn wait_until(seconds: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process killed when dropped, with its stderr collected.
pub struct Process {
    pub child: Child,
    pub log: Arc<Mutex<String>>,
}

impl Process {
    /// Starts `command`, and waits for a stderr line containing `ready`.
    pub fn start(mut command: Command, ready: &str) -> Process {
        let mut child = command
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let log = Arc::new(Mutex::new(String::new()));
        let kept = log.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let ready = ready.to_string();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if line.contains(&ready) {
                    let _ = ready_tx.send(());
                }
                kept.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let process = Process { child, log };
        if ready_rx.recv_timeout(Duration::from_secs(30)).is_err() {
            panic!("the process did not start: {}", process.log());
        }
        process
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A key server on a fixed port (so it can be stopped and started again).
pub struct KeyServer {
    pub data: tempfile::TempDir,
    pub port: u16,
    pub token_file: PathBuf,
    pub process: Option<Process>,
}

impl KeyServer {
    pub fn start() -> KeyServer {
        KeyServer::start_with("")
    }

    /// A key server whose configuration file says `config` (TOML).
    pub fn start_with(config: &str) -> KeyServer {
        let data = tempfile::tempdir().unwrap();
        std::fs::write(data.path().join("securedoc.toml"), config).unwrap();
        let token = securedoc(data.path())
            .args(["admin", "token", "create", "--name", "mail-hook"])
            .output()
            .unwrap();
        assert!(token.status.success());
        let token_file = data.path().join("hook.token");
        std::fs::write(&token_file, &token.stdout).unwrap();
        let mut server = KeyServer {
            data,
            port: free_port(),
            token_file,
            process: None,
        };
        server.resume();
        server
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops it (`kill -9`).
    pub fn stop(&mut self) {
        self.process = None;
    }

    /// Starts it again on the same port and data.
    pub fn resume(&mut self) {
        let mut command = securedoc(self.data.path());
        command
            .arg("serve")
            .arg("--config")
            .arg(self.data.path().join("securedoc.toml"))
            .env("SECUREDOC_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("SECUREDOC_PUBLIC_URL", self.url());
        self.process = Some(Process::start(command, "listening on"));
    }

    /// Runs `work` on the key server's own store (its SQLite database).
    fn with_store<T>(&self, work: impl AsyncFnOnce(key_server::Store) -> T) -> T {
        let url = format!(
            "sqlite://{}?mode=rw",
            self.data.path().join("securedoc.db").display()
        );
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async { work(key_server::Store::connect(&url).await.unwrap()).await })
    }

    /// The envelope the key server keeps for `id` (pull delivery), if any:
    /// read from its store, as the portal reads it.
    pub fn stored_envelope(&self, id: &str) -> Option<Vec<u8>> {
        self.with_store(async |store| store.stored_envelope(id).await.unwrap())
    }

    /// Turns `address`'s notification mails on or off, as its Preferences do.
    pub fn set_notify_mail(&self, address: &str, on: bool) {
        self.with_store(async |store| store.set_notify_mail(address, on).await.unwrap())
    }

    /// The envelope id in a pull notification's link (`…/portal/m/<id>`),
    /// after checking that the link is on this key server.
    pub fn linked_id(&self, text: &str) -> String {
        let prefix = format!("{}/portal/m/", self.url());
        let start = text
            .find(&prefix)
            .unwrap_or_else(|| panic!("no link to {prefix} in: {text}"))
            + prefix.len();
        let id: String = text[start..].chars().take(32).collect();
        assert!(
            id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        id
    }

    /// Creates a confirmed account for `address` with `password`.
    pub fn account(&self, address: &str, password: &str) {
        let file = self.data.path().join(format!("pw-{}", free_port()));
        std::fs::write(&file, password).unwrap();
        let output = securedoc(self.data.path())
            .args(["admin", "account", "create", "--address", address])
            .arg("--password-file")
            .arg(&file)
            .output()
            .unwrap();
        std::fs::remove_file(&file).unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
