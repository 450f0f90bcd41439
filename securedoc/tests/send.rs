//! `securedoc send`: the notification a recipient gets, from the outbox and
//! through a real SMTP conversation with a relay on 127.0.0.1.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use envelope_core::MessageView;

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
