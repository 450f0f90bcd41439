//! The pieces of a mail host, each real: a private Postfix (Debian's, run
//! from a config in a temporary directory, never the machine's own), the
//! key server and the hook as `securedoc` processes, and a final SMTP sink
//! that records what reaches it.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::support::securedoc_bin;
pub use crate::support::{free_port, wait_until, KeyServer, Process};

/// One message the sink was handed.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

impl Received {
    /// The message as a string (for searching; lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// The final destination: an SMTP server that keeps every message.
pub struct Sink {
    pub port: u16,
    pub messages: Arc<Mutex<Vec<Received>>>,
}

impl Sink {
    pub fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let kept = messages.clone();
        std::thread::spawn(move || {
            for socket in listener.incoming().map_while(Result::ok) {
                let kept = kept.clone();
                std::thread::spawn(move || {
                    let _ = session(socket, &kept);
                });
            }
        });
        Sink { port, messages }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }

    /// Waits for at least `n` messages.
    pub fn wait_for(&self, n: usize, seconds: u64) -> Vec<Received> {
        wait_until(seconds, &format!("{n} messages at the sink"), || {
            self.messages.lock().unwrap().len() >= n
        });
        self.received()
    }
}

fn session(socket: TcpStream, kept: &Mutex<Vec<Received>>) -> std::io::Result<()> {
    let mut write = socket.try_clone()?;
    let mut reader = BufReader::new(socket);
    write.write_all(b"220 sink ESMTP\r\n")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let upper = text.to_ascii_uppercase();
        let path = || {
            text.split_once('<')
                .and_then(|(_, rest)| rest.split_once('>'))
                .map(|(path, _)| path.to_string())
                .unwrap_or_default()
        };
        if upper.starts_with("EHLO") {
            write.write_all(b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 209715200\r\n")?;
        } else if upper.starts_with("MAIL FROM") {
            from = path();
            to.clear();
            write.write_all(b"250 ok\r\n")?;
        } else if upper.starts_with("RCPT TO") {
            to.push(path());
            write.write_all(b"250 ok\r\n")?;
        } else if upper == "DATA" {
            write.write_all(b"354 go on\r\n")?;
            let mut data = Vec::new();
            loop {
                let mut row = Vec::new();
                if reader.read_until(b'\n', &mut row)? == 0 {
                    return Ok(());
                }
                if row == b".\r\n" {
                    break;
                }
                data.extend_from_slice(row.strip_prefix(b".").unwrap_or(&row));
            }
            kept.lock().unwrap().push(Received {
                from: from.clone(),
                to: std::mem::take(&mut to),
                data,
            });
            write.write_all(b"250 kept\r\n")?;
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            write.write_all(b"250 ok\r\n")?;
        }
    }
}

/// A private Postfix: submission on `port` (content filter: the hook on
/// `hook_port`, or none), re-injection on `reinject_port`, everything
/// relayed to the sink. Stopped when dropped.
pub struct Postfix {
    dir: tempfile::TempDir,
    pub port: u16,
    pub reinject_port: u16,
}

impl Postfix {
    pub fn start(hook_port: Option<u16>, sink_port: u16) -> Postfix {
        assert!(
            Path::new("/usr/sbin/postfix").exists(),
            "Postfix is not installed: run scripts/setup.sh (the README's test command does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Postfix's daemons run as the postfix user and must reach the queue.
        set_mode(root, 0o755);
        for sub in ["conf", "queue", "data"] {
            std::fs::create_dir(root.join(sub)).unwrap();
        }
        let status = Command::new("chown")
            .args(["postfix"])
            .arg(root.join("data"))
            .status()
            .unwrap();
        assert!(status.success(), "cannot chown the Postfix data directory");
        let (port, reinject_port) = (free_port(), free_port());
        let root_text = root.display();
        std::fs::write(
            root.join("conf/main.cf"),
            format!(
                "compatibility_level = 3.6
queue_directory = {root_text}/queue
data_directory = {root_text}/data
maillog_file = {root_text}/maillog
maillog_file_prefixes = {root_text}
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = mail.clinic.example
mydomain = clinic.example
myorigin = clinic.example
mydestination =
local_recipient_maps =
relay_domains =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{sink_port}
smtputf8_enable = yes
message_size_limit = 104857600
smtpd_client_restrictions =
# Retries only when a test flushes the queue.
queue_run_delay = 3600s
minimal_backoff_time = 3600s
maximal_backoff_time = 3600s
securedoc_destination_concurrency_limit = 40
"
            ),
        )
        .unwrap();
        std::fs::write(
            root.join("conf/master.cf"),
            format!(
                "{}\n{}",
                filter_services(port, reinject_port, hook_port),
                BASE_SERVICES
            ),
        )
        .unwrap();
        let postfix = Postfix {
            dir,
            port,
            reinject_port,
        };
        postfix.control("check");
        postfix.control("start");
        wait_until(20, "Postfix to listen", || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
                && TcpStream::connect(("127.0.0.1", reinject_port)).is_ok()
        });
        postfix
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("conf")
    }

    fn control(&self, what: &str) {
        let output = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(self.conf())
            .arg(what)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "postfix {what} failed: {}{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.log()
        );
    }

    /// `postqueue -p`: what is queued, with each deferral's reason.
    pub fn queue(&self) -> String {
        let output = Command::new("/usr/sbin/postqueue")
            .arg("-c")
            .arg(self.conf())
            .arg("-p")
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Whether the queue is empty.
    pub fn queue_is_empty(&self) -> bool {
        self.queue().contains("Mail queue is empty")
    }

    /// `postqueue -f`: try every queued message again now.
    pub fn flush(&self) {
        let status = Command::new("/usr/sbin/postqueue")
            .arg("-c")
            .arg(self.conf())
            .arg("-f")
            .status()
            .unwrap();
        assert!(status.success(), "postqueue -f failed");
    }

    /// Postfix's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }

    /// Submits `message` (RFC 5322 bytes) with swaks, as a mail client does.
    pub fn submit(&self, from: &str, to: &[&str], message: &[u8]) -> std::process::Output {
        let file = self.dir.path().join(format!("submit-{}.eml", free_port()));
        // swaks ends DATA with CRLF . CRLF after the text it is given: give
        // it the message without its last CRLF, so Postfix gets the message.
        std::fs::write(&file, message.strip_suffix(b"\r\n").unwrap_or(message)).unwrap();
        let output = Command::new("swaks")
            .args(["--server", &format!("127.0.0.1:{}", self.port)])
            .args(["--from", from, "--to", &to.join(",")])
            .arg("--data")
            .arg(&file)
            .output()
            .expect("swaks is not installed: run scripts/setup.sh");
        assert!(
            output.status.success(),
            "swaks could not submit: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        output
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(self.conf())
            .arg("abort")
            .output();
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The master.cf lines docs/MAIL-HOOK.md gives an administrator, on test ports.
fn filter_services(port: u16, reinject_port: u16, hook_port: Option<u16>) -> String {
    let filter = match hook_port {
        Some(hook_port) => format!("  -o content_filter=securedoc:[127.0.0.1]:{hook_port}\n"),
        None => String::new(),
    };
    format!(
        "127.0.0.1:{port} inet n - n - - smtpd
{filter}securedoc unix - - n - 40 smtp
  -o smtp_send_xforward_command=yes
  -o disable_mime_output_conversion=yes
  -o smtp_data_done_timeout=1200s
127.0.0.1:{reinject_port} inet n - n - - smtpd
  -o content_filter=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_address_mappings
  -o smtpd_authorized_xforward_hosts=127.0.0.0/8
  -o smtpd_client_restrictions=
  -o mynetworks=127.0.0.0/8
"
    )
}

/// The rest of master.cf: Postfix's own services, none chrooted.
const BASE_SERVICES: &str = "pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
";

/// `securedoc hook` on `port`, handing on to `next_hop`.
fn hook(port: u16, next_hop: u16, key_server: &str, token_file: &Path, extra: &[&str]) -> Process {
    let mut command = securedoc_bin();
    command
        .args(["hook", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--next-hop", &format!("127.0.0.1:{next_hop}")])
        .args(["--key-server", key_server])
        .args(["--internal-domains", "clinic.example"])
        .args(extra);
    // The key server's token, unless `extra` names another.
    if !extra.contains(&"--token-file") {
        command.arg("--token-file").arg(token_file);
    }
    Process::start(command, "securedoc hook listening")
}

/// A mail host: the sink, a key server, Postfix with the hook's port as
/// its content filter (the hook itself is started by each test).
pub struct Rig {
    pub sink: Sink,
    pub server: KeyServer,
    pub postfix: Postfix,
    pub hook_port: u16,
}

impl Rig {
    pub fn start() -> Rig {
        let sink = Sink::start();
        let server = KeyServer::start();
        let hook_port = free_port();
        let postfix = Postfix::start(Some(hook_port), sink.port);
        Rig {
            sink,
            server,
            postfix,
            hook_port,
        }
    }

    /// The hook, wired to Postfix and the key server, with `extra` flags.
    pub fn hook(&self, extra: &[&str]) -> Process {
        self.hook_with(self.postfix.reinject_port, &self.server.url(), extra)
    }

    /// The hook handing on to `next_hop`, sealing through `key_server`.
    pub fn hook_with(&self, next_hop: u16, key_server: &str, extra: &[&str]) -> Process {
        hook(
            self.hook_port,
            next_hop,
            key_server,
            &self.server.token_file,
            extra,
        )
    }
}
