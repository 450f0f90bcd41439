//! The notification `securedoc send` mails carries what mailbox providers
//! expect (RFC 5322): a Message-ID on the sender's own domain. It is a
//! person's message, sent on their command, so it is not marked
//! Auto-Submitted (an out-of-office reply to it reaches the sender, as it
//! should); the key server's own mail is (see key-server/tests/mail_queue.rs).

use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;

/// The value of header `name` in the header block of `eml`, unfolded.
fn header(eml: &str, name: &str) -> Option<String> {
    let head = eml.split("\r\n\r\n").next().unwrap_or("");
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_string())
    })
}

#[test]
fn the_notification_has_a_message_id_on_the_senders_domain() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pass"), "pass phrase\n").unwrap();
    let output = Command::cargo_bin("securedoc")
        .unwrap()
        .current_dir(dir.path())
        .env_remove("SECUREDOC_SMTP_URL")
        .args([
            "send",
            "--from",
            "alice@clinic.example",
            "--to",
            "bob@example.net",
        ])
        .args([
            "--to",
            "carol@example.org",
            "--subject",
            "Results",
            "--body",
            "Attached.",
        ])
        .args(["--passphrase-file", "pass"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(dir.path().join("outbox")).unwrap() {
        let eml = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let id = header(&eml, "Message-ID").expect("a Message-ID");
        assert!(
            id.starts_with('<') && id.ends_with("@clinic.example>"),
            "{id}"
        );
        assert_eq!(header(&eml, "Auto-Submitted"), None);
        ids.push(id);
    }
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1], "each mail its own Message-ID");
}
