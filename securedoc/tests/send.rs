//! `securedoc send`: the notification a recipient gets, from the outbox and
//! through a real SMTP conversation with a relay on 127.0.0.1; with pull
//! delivery, what a real key server keeps instead of an attachment.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use envelope_core::MessageView;
use support::{open_envelope, KeyServer};

mod support;

fn securedoc(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("securedoc").unwrap();
    command.current_dir(dir).env_remove("SECUREDOC_SMTP_URL");
    command
}

/// Runs `securedoc send` from alice to bob (and `extra` arguments) with a
/// passphrase, in a fresh directory; returns the directory and the output.
fn send(extra: &[&str]) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pass"), "pass phrase\n").unwrap();
    let output = securedoc(dir.path())
        .args([
            "send",
            "--from",
            "alice@example.org",
            "--to",
            "bob@example.net",
        ])
        .args([
            "--subject",
            "Quarterly results",
            "--body",
            "Attached.",
            "--passphrase-file",
            "pass",
        ])
        .args(extra)
        .output()
        .unwrap();
    (dir, output)
}

/// Checks one notification as a recipient would: who it is from, what it
/// says, and that its attachment is an envelope that opens.
fn check_notification(dir: &Path, eml: &[u8], to: &str) {
    let view = MessageView::parse(eml).unwrap();
    assert_eq!(view.subject, "Secure message from alice@example.org");
    assert_eq!(view.to, vec![to.to_string()]);
    assert!(view
        .text
        .as_deref()
        .unwrap()
        .contains("You have received a secure message from alice@example.org"));
    assert!(view
        .html
        .as_deref()
        .unwrap()
        .contains("You have received a secure message from alice@example.org"));
    let attachment = view
        .attachments
        .iter()
        .find(|a| a.name == "securedoc.html")
        .expect("the envelope is attached");
    assert_eq!(attachment.content_type, "text/html");
    let envelope = dir.join(format!("received-{to}.html"));
    std::fs::write(&envelope, &attachment.bytes).unwrap();
    let opened = securedoc(dir)
        .args(["open"])
        .arg(&envelope)
        .args(["--passphrase-file", "pass"])
        .output()
        .unwrap();
    assert!(
        opened.status.success(),
        "{}",
        String::from_utf8_lossy(&opened.stderr)
    );
    assert!(String::from_utf8(opened.stdout)
        .unwrap()
        .contains("Subject: Quarterly results"));
}

#[test]
fn send_writes_one_notification_per_recipient_to_the_outbox() {
    let (dir, output) = send(&["--to", "carol@example.org"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mails: Vec<Vec<u8>> = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    assert_eq!(mails.len(), 2, "one .eml per recipient");
    let mut recipients: Vec<String> = mails
        .iter()
        .map(|m| MessageView::parse(m).unwrap().to[0].clone())
        .collect();
    recipients.sort();
    assert_eq!(recipients, ["bob@example.net", "carol@example.org"]);
    for (mail, to) in mails.iter().zip(
        mails
            .iter()
            .map(|m| MessageView::parse(m).unwrap().to[0].clone()),
    ) {
        check_notification(dir.path(), mail, &to);
    }
}

/// A minimal SMTP relay: answers one conversation and returns what it saw.
fn smtp_sink(listener: TcpListener) -> std::thread::JoinHandle<(Vec<String>, Vec<u8>)> {
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        let (mut commands, mut data) = (Vec::new(), Vec::new());
        writer.write_all(b"220 sink.test ESMTP\r\n").unwrap();
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 0 {
            let command = line.trim_end().to_string();
            line.clear();
            let verb = command
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            commands.push(command.clone());
            match verb.as_str() {
                "EHLO" => writer
                    .write_all(b"250-sink.test\r\n250 8BITMIME\r\n")
                    .unwrap(),
                "DATA" => {
                    writer.write_all(b"354 go ahead\r\n").unwrap();
                    loop {
                        let mut body = Vec::new();
                        reader.read_until(b'\n', &mut body).unwrap();
                        if body == b".\r\n" {
                            break;
                        }
                        data.extend_from_slice(&body);
                    }
                    writer.write_all(b"250 queued\r\n").unwrap();
                }
                "QUIT" => {
                    writer.write_all(b"221 bye\r\n").unwrap();
                    break;
                }
                _ => writer.write_all(b"250 ok\r\n").unwrap(),
            }
        }
        (commands, data)
    })
}

#[test]
fn send_speaks_smtp_to_a_relay() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sink = smtp_sink(listener);
    let (dir, output) = send(&["--smtp-url", &format!("smtp://127.0.0.1:{port}")]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (commands, data) = sink.join().unwrap();
    assert!(
        commands
            .iter()
            .any(|c| c.eq_ignore_ascii_case("MAIL FROM:<alice@example.org>")),
        "{commands:?}"
    );
    assert!(
        commands
            .iter()
            .any(|c| c.eq_ignore_ascii_case("RCPT TO:<bob@example.net>")),
        "{commands:?}"
    );
    // SMTP dot-stuffing aside, the relay got the notification.
    let data: Vec<u8> = String::from_utf8_lossy(&data)
        .replace("\r\n..", "\r\n.")
        .into_bytes();
    check_notification(dir.path(), &data, "bob@example.net");
    assert!(
        !dir.path().join("outbox").exists(),
        "with a relay, nothing goes to the outbox"
    );
}

#[test]
fn an_unreachable_relay_is_a_clear_error() {
    let (_dir, output) = send(&["--smtp-url", "smtp://127.0.0.1:9"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("cannot send the notification to bob@example.net"),
        "{stderr}"
    );
}

// Pull delivery: the key server keeps each envelope and the notification
// links to it (a real `securedoc serve`, the notifications in the outbox).

const BOB: &str = "bob@example.net";
const BOB_PASSWORD: &str = "Bob-pass-5521!x";

/// A key server (with `config`), a sender token for it in a work directory.
fn key_server(config: &str) -> (KeyServer, tempfile::TempDir) {
    let keys = KeyServer::start_with(config);
    let work = tempfile::tempdir().unwrap();
    std::fs::copy(&keys.token_file, work.path().join("token")).unwrap();
    (keys, work)
}

/// `securedoc send` (or `seal`: `command`) from alice to bob through `keys`,
/// in `work`, with `extra` arguments.
fn server_command(
    command: &str,
    keys: &KeyServer,
    work: &Path,
    extra: &[&str],
) -> std::process::Output {
    securedoc(work)
        .args([command, "--from", "alice@clinic.example", "--to", BOB])
        .args(["--subject", "Scan results"])
        .args(["--key-server", &keys.url(), "--token-file", "token"])
        .args(extra)
        .output()
        .unwrap()
}

/// The notifications in `work`'s outbox, parsed.
fn outbox(work: &Path) -> Vec<MessageView> {
    let Ok(entries) = std::fs::read_dir(work.join("outbox")) else {
        return Vec::new();
    };
    entries
        .map(|entry| MessageView::parse(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap())
        .collect()
}

/// Opens the envelope the key server keeps for `id` as bob's browser would.
/// The sealed message.
fn open_stored(keys: &KeyServer, id: &str) -> Vec<u8> {
    let bytes = keys
        .stored_envelope(id)
        .expect("the key server keeps the envelope");
    let header = envelope_core::Envelope::parse(&bytes)
        .expect("a binary envelope")
        .header()
        .clone();
    assert_eq!(header.id, id);
    assert_eq!(header.key_server, Some(keys.url()));
    open_envelope(&keys.url(), &bytes, BOB, BOB_PASSWORD)
}

/// A file of `size` random bytes in `dir`.
fn random_file(dir: &Path, name: &str, size: usize) {
    let mut bytes = vec![0u8; size];
    getrandom::getrandom(&mut bytes).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn succeeded(output: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    stderr
}

#[test]
fn send_with_pull_delivery_mails_a_link_and_the_key_server_keeps_the_envelope() {
    let (keys, work) = key_server("");
    keys.account(BOB, BOB_PASSWORD);
    let expires = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(10 * 24))
        .strftime("%Y-%m-%d")
        .to_string();
    let output = server_command(
        "send",
        &keys,
        work.path(),
        &[
            "--body",
            "Marker 0c4e1f: the scan is clear.",
            "--delivery",
            "pull",
            "--expires",
            &expires,
        ],
    );
    succeeded(&output);
    let mails = outbox(work.path());
    assert_eq!(mails.len(), 1, "one notification");
    let mail = &mails[0];
    assert_eq!(mail.to, [BOB]);
    assert_eq!(mail.subject, "Secure message from alice@clinic.example");
    assert!(mail.attachments.is_empty(), "no envelope attached");
    let text = mail.text.as_deref().unwrap();
    let html = mail.html.as_deref().unwrap();
    assert!(!text.contains("0c4e1f") && !html.contains("0c4e1f"));
    let id = keys.linked_id(text);
    assert!(text.contains("Click here to view your secure e-mail"));
    assert!(html.contains(">Click here to view your secure e-mail</a>"));
    assert!(
        html.contains(&format!(
            "{}&#x2f;portal&#x2f;m&#x2f;{id}\"",
            keys.url().replace('/', "&#x2f;")
        )),
        "the HTML link goes to the portal"
    );
    let until = format!("This message is available until {expires} 23:59:59 UTC.");
    assert!(text.contains(&until) && html.contains(&until), "{text}");
    assert!(
        work.path().read_dir().unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".html")),
        "no envelope file is left behind"
    );

    let eml = open_stored(&keys, &id);
    let opened = MessageView::parse(&eml).unwrap();
    assert_eq!(opened.subject, "Scan results");
    assert!(opened.text.unwrap().contains("Marker 0c4e1f"));
}

/// A recipient who turned notification mails off gets none for a pulled
/// message (it waits in their portal Inbox); an attached envelope still
/// goes, since the mail is how it travels.
#[test]
fn a_recipient_without_notification_mails_gets_pull_messages_in_the_portal_only() {
    let (keys, work) = key_server("");
    keys.account(BOB, BOB_PASSWORD);
    keys.set_notify_mail(BOB, false);
    let pulled = server_command(
        "send",
        &keys,
        work.path(),
        &["--body", "Pulled.", "--delivery", "pull"],
    );
    let said = succeeded(&pulled);
    assert!(said.contains("Did not notify bob@example.net"), "{said}");
    assert!(outbox(work.path()).is_empty(), "no notification");
    let pushed = server_command("send", &keys, work.path(), &["--body", "Pushed."]);
    succeeded(&pushed);
    let mails = outbox(work.path());
    assert_eq!(mails.len(), 1, "the attached envelope still goes");
    assert_eq!(mails[0].attachments.len(), 1);
}

#[test]
fn auto_delivery_attaches_a_small_envelope_and_keeps_a_large_one_at_the_key_server() {
    let (keys, work) = key_server("");
    keys.account(BOB, BOB_PASSWORD);
    random_file(work.path(), "scan.bin", 1_500_000);
    let auto = ["--delivery", "auto", "--auto-pull-over", "1MB"];

    let small = server_command(
        "send",
        &keys,
        work.path(),
        &[&["--body", "Small."][..], &auto].concat(),
    );
    succeeded(&small);
    let mails = outbox(work.path());
    assert_eq!(mails.len(), 1);
    let envelope = mails[0]
        .attachments
        .iter()
        .find(|a| a.name == "securedoc.html")
        .expect("a small envelope is attached");
    assert!(envelope.bytes.len() <= 1024 * 1024);
    assert!(!mails[0].text.as_deref().unwrap().contains("/portal/m/"));
    std::fs::remove_dir_all(work.path().join("outbox")).unwrap();

    let large = server_command(
        "send",
        &keys,
        work.path(),
        &[&["--body", "Large.", "--attach", "scan.bin"][..], &auto].concat(),
    );
    let stderr = succeeded(&large);
    assert!(stderr.contains("kept at the key server"), "{stderr}");
    let mails = outbox(work.path());
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].attachments.is_empty(),
        "a large envelope is not attached"
    );
    let id = keys.linked_id(mails[0].text.as_deref().unwrap());
    let opened = MessageView::parse(&open_stored(&keys, &id)).unwrap();
    assert_eq!(
        opened.attachments[0].bytes,
        std::fs::read(work.path().join("scan.bin")).unwrap()
    );
}

#[test]
fn seal_with_pull_delivery_prints_the_link_and_writes_no_file() {
    let (keys, work) = key_server("");
    let output = server_command(
        "seal",
        &keys,
        work.path(),
        &["--body", "Hello.", "--delivery", "pull"],
    );
    let stderr = succeeded(&output);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let id = keys.linked_id(&stdout);
    assert_eq!(stdout.trim(), format!("{}/portal/m/{id}", keys.url()));
    assert!(
        stderr.contains(&format!(
            "{BOB}: nothing to attach; the notification to {BOB} links to its envelope"
        )),
        "{stderr}"
    );
    assert!(keys.stored_envelope(&id).is_some());
    let files: Vec<_> = work
        .path()
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        files,
        ["token"],
        "nothing written but the token that was there"
    );

    // A file for pull, or --auto-pull-over without auto, is a mistake said plainly.
    let output = server_command(
        "seal",
        &keys,
        work.path(),
        &["--body", "x", "--delivery", "pull", "-o", "x.html"],
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--delivery pull writes no envelope file")
    );
    let output = server_command(
        "seal",
        &keys,
        work.path(),
        &["--body", "x", "--auto-pull-over", "1MB", "-o", "x.html"],
    );
    assert!(String::from_utf8_lossy(&output.stderr)
        .contains("--auto-pull-over applies only with --delivery auto"));
}

#[test]
fn pull_delivery_with_a_passphrase_is_refused_before_anything_is_sealed() {
    for delivery in ["pull", "auto"] {
        let (dir, output) = send(&["--delivery", delivery]);
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.contains(&format!("--delivery {delivery} keeps envelopes at the key server, so it needs server mode (--key-server URL --token-file FILE)")),
            "{stderr}"
        );
        assert!(outbox(dir.path()).is_empty(), "nothing was mailed");
    }
}

#[test]
fn an_envelope_over_the_key_servers_limit_is_a_clear_error_and_nothing_is_mailed() {
    let (keys, work) = key_server("[portal]\nmax_envelope_mb = 1\n");
    random_file(work.path(), "scan.bin", 1_500_000);
    let output = server_command(
        "send",
        &keys,
        work.path(),
        &[
            "--body",
            "Large.",
            "--attach",
            "scan.bin",
            "--delivery",
            "pull",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!(
            "the key server at {} refused to keep the envelope for {BOB} (413 Payload Too Large): \
             The envelope is larger than this key server keeps: at most 1 MB ([portal] max_envelope_mb)",
            keys.url()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("The message is registered, but the key server keeps no envelope for {BOB}: withdraw it (securedoc message revoke ")),
        "{stderr}"
    );
    assert!(outbox(work.path()).is_empty(), "nothing was mailed");
}

/// A passcode recipient's notification tells them to ask for a code, not
/// to register or type a password: the sender's `--security passcode`, or
/// the key server's `first_contact = "passcode"` for an address without an
/// account (one with an account keeps the password step).
#[test]
fn a_passcode_recipients_notification_says_send_me_a_code() {
    let code_step = "Click “Send me a code”";
    let (keys, work) = key_server("");
    let output = server_command(
        "send",
        &keys,
        work.path(),
        &["--body", "Hello.", "--security", "passcode"],
    );
    succeeded(&output);
    let mails = outbox(work.path());
    assert_eq!(mails.len(), 1);
    let text = mails[0].text.as_deref().unwrap();
    assert!(text.contains(code_step), "{text}");
    assert!(text.contains("No account or password is needed."), "{text}");
    assert!(!text.contains("Enter the password"), "{text}");
    assert!(mails[0].html.as_deref().unwrap().contains(code_step));

    let (keys, work) = key_server("[portal]\nfirst_contact = \"passcode\"\n");
    succeeded(&server_command(
        "send",
        &keys,
        work.path(),
        &["--body", "Hi."],
    ));
    let text = outbox(work.path())[0].text.clone().unwrap();
    assert!(text.contains(code_step), "{text}");
    keys.account("carol@example.net", BOB_PASSWORD);
    let output = securedoc(work.path())
        .args([
            "send",
            "--from",
            "alice@clinic.example",
            "--to",
            "carol@example.net",
        ])
        .args(["--subject", "Scan results", "--body", "Hi."])
        .args(["--key-server", &keys.url(), "--token-file", "token"])
        .output()
        .unwrap();
    succeeded(&output);
    let mails = outbox(work.path());
    let carol = mails
        .iter()
        .find(|m| m.to == ["carol@example.net"])
        .expect("carol's notification");
    let text = carol.text.as_deref().unwrap();
    assert!(text.contains("Enter the password"), "{text}");
    assert!(!text.contains(code_step));
}
