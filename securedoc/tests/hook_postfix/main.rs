//! The mail hook behind a real Postfix (docs/MAIL-HOOK.md): mail submitted
//! with swaks to a private Postfix whose content filter is `securedoc hook`,
//! re-injected into Postfix, relayed to a sink the test reads. A real key
//! server registers the sealed messages; each envelope is opened natively
//! with its recipient's password.
//!
//! The faults a gateway must survive: the key server down, the next hop
//! down, the hook killed in the middle of a message, a message too large.
//! Each time: nothing in the clear, nothing lost, delivered once later.

mod harness;
#[path = "../support/mod.rs"]
mod support;

use harness::{free_port, wait_until, KeyServer, Postfix, Received, Rig, Sink};
use mail_parser::{MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

const SENDER: &str = "dr.martin@clinic.example";
const NURSE: &str = "nurse@clinic.example";
const PATIENT: &str = "patient@mail.example";
const LAB: &str = "results@lab.example";

/// A message as a mail client writes it (CRLF, every header an address needs).
fn plain_message(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Dr Martin <{SENDER}>\r\nTo: {PATIENT}\r\nSubject: {subject}\r\n\
         Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{}@clinic.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        free_port()
    )
    .into_bytes()
}

/// A tagged message with an attachment, to `to`.
fn tagged_message(to: &[&str], body: &str, attachment: &[u8]) -> Vec<u8> {
    message_with("[secure] Lab results", to, body, attachment)
}

/// A message with `subject` and an attachment, to `to`.
fn message_with(subject: &str, to: &[&str], body: &str, attachment: &[u8]) -> Vec<u8> {
    envelope_core::compose(&envelope_core::Draft {
        from: SENDER.into(),
        to: to.iter().map(|t| t.to_string()).collect(),
        subject: subject.into(),
        text: Some(body.into()),
        html: None,
        attachments: vec![envelope_core::DraftAttachment {
            name: "results.pdf".into(),
            bytes: attachment.to_vec(),
        }],
        date: 1_795_000_000,
    })
}

/// The message without the Received: lines Postfix put on top.
fn without_received(data: &[u8]) -> Vec<u8> {
    let mut rest = data;
    loop {
        let starts_received = rest.len() >= 9 && rest[..9].eq_ignore_ascii_case(b"received:");
        let continues = rest.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !(starts_received || continues) {
            return rest.to_vec();
        }
        let end = rest
            .iter()
            .position(|b| *b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        rest = &rest[end..];
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    getrandom::getrandom(&mut bytes).unwrap();
    bytes
}

/// Opens the envelope attached to `notification` as its recipient would:
/// key release with the password, then the native opener. The sealed .eml.
fn open_natively(server: &KeyServer, notification: &Received, password: &str) -> Vec<u8> {
    let mail = MessageParser::default().parse(&notification.data).unwrap();
    let page = mail
        .attachments()
        .find(|a| a.attachment_name() == Some("securedoc.html"))
        .expect("the notification carries securedoc.html");
    let page = std::str::from_utf8(page.contents()).unwrap();
    let text = securedoc_templates::envelope_text_from_html(page).expect("an envelope page");
    let bytes = envelope_core::from_text(text).unwrap();
    support::open_envelope(&server.url(), &bytes, &notification.to[0], password)
}

#[test]
fn tagged_mail_is_sealed_per_outside_recipient_and_everything_else_goes_through_untouched() {
    let rig = Rig::start();
    let metrics_port = free_port();
    let hook = rig.hook(&["--metrics-listen", &format!("127.0.0.1:{metrics_port}")]);

    // Untagged: through Postfix, the hook and Postfix again, byte for byte
    // (Postfix adds only its Received: lines).
    let lunch = plain_message("Lunch on Friday", "Shall we meet at noon?");
    rig.postfix.submit(SENDER, &[PATIENT], &lunch);
    let got = rig.sink.wait_for(1, 60);
    assert_eq!(got[0].to, [PATIENT]);
    assert_eq!(
        without_received(&got[0].data),
        lunch,
        "untagged mail arrives as it was sent"
    );

    // Tagged, to two outside recipients and one inside.
    let body = "Your results are normal. Marker 5d1e0c77.";
    let attachment = random_bytes(60_000);
    let tagged = tagged_message(&[PATIENT, LAB, NURSE], body, &attachment);
    rig.postfix.submit(SENDER, &[PATIENT, LAB, NURSE], &tagged);
    let got = rig.sink.wait_for(5, 60);
    let new = &got[1..];
    assert_eq!(
        new.len(),
        4,
        "the internal copy, two notifications, the confirmation"
    );
    let marker = "5d1e0c77";
    let attachment_b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&attachment[..3000])
    };

    // The nurse gets the message exactly as it was, tag and all.
    let internal: Vec<&Received> = new.iter().filter(|m| m.to == [NURSE]).collect();
    assert_eq!(internal.len(), 1);
    assert_eq!(without_received(&internal[0].data), tagged);

    // Each outside recipient: a notification from the sender, Reply-To the
    // sender, nothing of the message in the clear, and their own envelope.
    let mut envelope_ids = Vec::new();
    for (recipient, password) in [(PATIENT, "Patient-pass-9912!"), (LAB, "Lab-pass-4471!x")] {
        let notes: Vec<&Received> = new.iter().filter(|m| m.to == [recipient]).collect();
        assert_eq!(notes.len(), 1, "one notification for {recipient}");
        let note = notes[0];
        assert_eq!(
            note.from, SENDER,
            "bounces of the notification go to the sender"
        );
        let text = note.text();
        assert!(!text.contains(marker), "the body is not in the clear");
        assert!(
            !text.contains(&attachment_b64[..200]),
            "the attachment is not in the clear"
        );
        assert!(!text.contains("[secure]"));
        let parsed = MessageParser::default().parse(&note.data).unwrap();
        assert_eq!(
            parsed.from().unwrap().first().unwrap().address(),
            Some(SENDER)
        );
        assert_eq!(
            parsed.reply_to().unwrap().first().unwrap().address(),
            Some(SENDER)
        );
        assert!(parsed.header("X-Securedoc-Notification").is_some());
        let words = parsed.body_text(0).unwrap();
        assert!(words.contains("the reply is not encrypted"), "{words}");
        assert_eq!(
            parsed.subject(),
            Some(format!("Secure message from {SENDER}").as_str())
        );

        rig.server.account(recipient, password);
        let eml = open_natively(&rig.server, note, password);
        let opened = MessageParser::default().parse(&eml).unwrap();
        assert_eq!(
            opened.subject(),
            Some("Lab results"),
            "the tag is gone from the subject"
        );
        assert!(opened.body_text(0).unwrap().contains(body));
        let file = opened.attachments().next().unwrap();
        assert_eq!(file.attachment_name(), Some("results.pdf"));
        assert_eq!(
            Sha256::digest(file.contents()),
            Sha256::digest(&attachment),
            "the attachment opens byte for byte"
        );
        let envelope_id = {
            let mail = MessageParser::default().parse(&note.data).unwrap();
            let page = mail.attachments().next().unwrap();
            let page = std::str::from_utf8(page.contents()).unwrap().to_string();
            let bytes = envelope_core::from_text(
                securedoc_templates::envelope_text_from_html(&page).unwrap(),
            )
            .unwrap();
            envelope_core::Envelope::parse(&bytes)
                .unwrap()
                .header()
                .id
                .clone()
        };
        envelope_ids.push(envelope_id);
    }
    assert_ne!(
        envelope_ids[0], envelope_ids[1],
        "each recipient has their own envelope"
    );

    // "Secure Message Sent" to the sender, from the null sender.
    let confirmations: Vec<&Received> = new.iter().filter(|m| m.to == [SENDER]).collect();
    assert_eq!(confirmations.len(), 1);
    let confirmation = confirmations[0];
    assert_eq!(confirmation.from, "", "the confirmation never bounces back");
    let parsed = MessageParser::default().parse(&confirmation.data).unwrap();
    assert_eq!(parsed.subject(), Some("Secure Message Sent: Lab results"));
    let text = parsed.body_text(0).unwrap();
    for address in [PATIENT, LAB, NURSE] {
        assert!(
            text.contains(address),
            "the confirmation names {address}: {text}"
        );
    }
    assert!(text.contains("can be opened until"), "{text}");
    assert!(text.contains("inside the organisation"), "{text}");
    assert!(!text.contains(marker));

    // Nothing left queued; the hook's log names the message, not its content.
    wait_until(20, "an empty queue", || rig.postfix.queue_is_empty());
    let log = hook.log();
    assert!(
        log.contains("outcome=\"sealed\"") || log.contains("outcome=sealed"),
        "{log}"
    );
    for id in &envelope_ids {
        assert!(
            log.contains(id.as_str()),
            "the log names envelope {id}: {log}"
        );
    }
    assert!(!log.contains(marker));

    // What an operator scrapes: one message passed, one sealed into two envelopes.
    let metrics = reqwest::blocking::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    for line in [
        "securedoc_hook_messages_total{outcome=\"passed\"} 1",
        "securedoc_hook_messages_total{outcome=\"sealed\"} 1",
        "securedoc_hook_envelopes_total 2",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}

/// What every fault test checks at the end: the message reached the
/// patient once, sealed, and nothing reached anyone in the clear.
fn delivered_once_sealed(sink: &Sink, marker: &str) {
    let got = sink.received();
    let to_patient: Vec<&Received> = got.iter().filter(|m| m.to == [PATIENT]).collect();
    assert_eq!(to_patient.len(), 1, "delivered once: {got:?}");
    assert!(to_patient[0].text().contains("securedoc.html"));
    for message in &got {
        assert!(
            !message.text().contains(marker) || message.to == [SENDER],
            "nothing in the clear to {:?}",
            message.to
        );
    }
}

/// Waits until Postfix holds the message deferred with `reason`, and
/// checks that nothing went out meanwhile.
fn deferred_with(postfix: &Postfix, sink: &Sink, reason: &str) {
    wait_until(60, &format!("a deferral saying {reason}"), || {
        postfix.queue().contains(reason)
    });
    assert!(
        sink.received().is_empty(),
        "nothing is delivered while it waits"
    );
}

#[test]
fn with_the_key_server_down_tagged_mail_waits_in_postfix_then_goes_out_sealed_once() {
    let mut rig = Rig::start();
    let _hook = rig.hook(&[]);
    rig.server.stop();

    let marker = "key-server-down-7f3a";
    rig.postfix.submit(
        SENDER,
        &[PATIENT],
        &tagged_message(&[PATIENT], marker, b"scan"),
    );
    deferred_with(&rig.postfix, &rig.sink, "451 4.7.0");
    let queue = rig.postfix.queue();
    assert!(queue.contains("cannot reach the key server"), "{queue}");

    rig.server.resume();
    rig.postfix.flush();
    rig.sink.wait_for(2, 60);
    wait_until(30, "an empty queue", || rig.postfix.queue_is_empty());
    delivered_once_sealed(&rig.sink, marker);
}

#[test]
fn with_the_next_hop_down_all_mail_waits_in_postfix_then_goes_out_once() {
    let rig = Rig::start();
    let nowhere = free_port();
    let mut down = rig.hook_with(nowhere, &rig.server.url(), &[]);

    let marker = "next-hop-down-21c9";
    rig.postfix.submit(
        SENDER,
        &[PATIENT],
        &tagged_message(&[PATIENT], marker, b"scan"),
    );
    let lunch = plain_message("Lunch", "Noon?");
    rig.postfix.submit(SENDER, &[LAB], &lunch);
    deferred_with(&rig.postfix, &rig.sink, "451 4.4.1");
    wait_until(30, "both messages deferred", || {
        rig.postfix.queue().matches("451 4.4.1").count() == 2
    });

    down.kill();
    let _hook = rig.hook(&[]);
    rig.postfix.flush();
    rig.sink.wait_for(3, 60);
    wait_until(30, "an empty queue", || rig.postfix.queue_is_empty());
    delivered_once_sealed(&rig.sink, marker);
    let lunches: Vec<Received> = rig
        .sink
        .received()
        .into_iter()
        .filter(|m| m.to == [LAB])
        .collect();
    assert_eq!(lunches.len(), 1);
    assert_eq!(without_received(&lunches[0].data), lunch);
}

/// A key server that takes the connection and never answers: the hook is
/// then in the middle of a message, and Postfix waits for its reply.
fn stalled_key_server() -> (String, std::sync::mpsc::Receiver<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for socket in listener.incoming().map_while(Result::ok) {
            held.push(socket);
            let _ = tx.send(());
        }
    });
    (url, rx)
}

#[test]
fn a_hook_killed_mid_message_loses_nothing_and_leaks_nothing() {
    let rig = Rig::start();
    let (stalled, asked) = stalled_key_server();
    let mut stuck = rig.hook_with(rig.postfix.reinject_port, &stalled, &[]);

    let marker = "killed-mid-message-9b0e";
    rig.postfix.submit(
        SENDER,
        &[PATIENT],
        &tagged_message(&[PATIENT], marker, &random_bytes(200_000)),
    );
    asked
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the hook got the message and asked the key server");
    stuck.kill(); // kill -9, with Postfix waiting for the reply to its DATA
    wait_until(60, "Postfix to keep the message", || {
        let queue = rig.postfix.queue();
        queue.contains("lost connection") || queue.contains("Connection refused")
    });
    assert!(rig.sink.received().is_empty());

    let _hook = rig.hook(&[]);
    rig.postfix.flush();
    rig.sink.wait_for(2, 60);
    wait_until(30, "an empty queue", || rig.postfix.queue_is_empty());
    delivered_once_sealed(&rig.sink, marker);
}

#[test]
fn a_message_too_large_bounces_to_the_sender_with_the_reason() {
    let rig = Rig::start();
    let config = rig.server.data.path().join("hook.toml");
    std::fs::write(&config, "max_notification_size = \"1MB\"\n").unwrap();
    let config = config.display().to_string();
    let _hook = rig.hook(&["--max-size", "3MB", "--config", &config]);

    // Over the hook's limit: Postfix sees the hook's SIZE and bounces it
    // without even sending it.
    rig.postfix.submit(
        SENDER,
        &[PATIENT],
        &tagged_message(&[PATIENT], "big", &random_bytes(4 << 20)),
    );
    let bounces = rig.sink.wait_for(1, 60);
    assert_eq!(bounces[0].to, [SENDER]);
    assert_eq!(bounces[0].from, "", "a bounce, from the null sender");
    assert!(
        bounces[0].text().contains("exceeds size limit 3145728"),
        "{}",
        bounces[0].text()
    );

    // Within it, but too large once sealed and attached to a notification.
    rig.postfix.submit(
        SENDER,
        &[PATIENT],
        &tagged_message(&[PATIENT], "mid", &random_bytes(800_000)),
    );
    let bounces = rig.sink.wait_for(2, 60);
    assert_eq!(bounces[1].to, [SENDER]);
    let text = bounces[1].text();
    assert!(
        text.contains("secure envelope attached to a notification"),
        "{text}"
    );
    assert!(
        bounces.iter().all(|m| m.to == [SENDER]),
        "nothing reached the patient"
    );
    wait_until(30, "an empty queue", || rig.postfix.queue_is_empty());
}

#[test]
fn mail_from_a_domain_the_hooks_token_may_not_send_for_bounces_with_the_reason() {
    let rig = Rig::start();
    // A token limited to another domain: the key server refuses for good.
    let token = support::securedoc(rig.server.data.path())
        .args(["admin", "token", "create", "--name", "other"])
        .args(["--from-domain", "other.example"])
        .output()
        .unwrap();
    let token_file = rig.server.data.path().join("other.token");
    std::fs::write(&token_file, &token.stdout).unwrap();
    let token_file = token_file.display().to_string();
    let _hook = rig.hook(&["--token-file", &token_file]);

    let marker = "wrong-domain-4e1d";
    rig.postfix.submit(
        SENDER,
        &[PATIENT],
        &tagged_message(&[PATIENT], marker, b"scan"),
    );
    let got = rig.sink.wait_for(1, 60);
    assert_eq!(got[0].to, [SENDER], "a bounce to the sender: {got:?}");
    let text = got[0].text();
    assert!(text.contains("550 5.7.1"), "{text}");
    assert!(
        text.contains("other.example"),
        "the reason names the allowed domains: {text}"
    );
    wait_until(30, "an empty queue", || rig.postfix.queue_is_empty());
    assert!(rig.sink.received().iter().all(|m| m.to != [PATIENT]));
}

#[test]
fn rules_with_pull_delivery_mail_a_link_and_the_key_server_keeps_the_envelope() {
    let rig = Rig::start();
    let config = rig.server.data.path().join("hook.toml");
    // Notifications that carry envelopes stay under 1 MB; pull lifts that.
    std::fs::write(
        &config,
        "max_notification_size = \"1MB\"\n\
         [[rule]]\nname = \"lab portal\"\nrecipients = [\"lab.example\"]\ndelivery = \"pull\"\n\
         [[rule]]\nname = \"patients\"\nrecipients = [\"mail.example\"]\n\
         delivery = \"auto\"\nauto_pull_over = \"1MB\"\n",
    )
    .unwrap();
    let config = config.display().to_string();
    let hook = rig.hook(&["--config", &config, "--confirm-sender", "false"]);

    // A small message, untagged (the rules apply anyway): the lab's
    // envelope stays at the key server, the patient's is attached.
    let marker = "pull-marker-9b2c";
    let scan = random_bytes(60_000);
    rig.postfix.submit(
        SENDER,
        &[LAB, PATIENT],
        &message_with("Lab results", &[LAB, PATIENT], marker, &scan),
    );
    let got = rig.sink.wait_for(2, 60);
    let to = |who: &str| got.iter().find(|m| m.to == [who]).unwrap().clone();
    let (lab, patient) = (to(LAB), to(PATIENT));
    assert!(
        patient.text().contains("securedoc.html"),
        "auto: small is attached"
    );
    assert!(!lab.text().contains(marker), "nothing in the clear");
    let parsed = MessageParser::default().parse(&lab.data).unwrap();
    assert_eq!(parsed.attachments().count(), 0, "pull: nothing attached");
    assert_eq!(
        parsed.reply_to().unwrap().first().unwrap().address(),
        Some(SENDER)
    );
    let words = parsed.body_text(0).unwrap();
    assert!(
        words.contains("Click here to view your secure e-mail"),
        "{words}"
    );
    assert!(
        words.contains("This message is available until "),
        "{words}"
    );
    assert!(words.contains("before following the link"), "{words}");
    let html = parsed.body_html(0).unwrap();
    assert!(
        html.contains(">Click here to view your secure e-mail</a>"),
        "{html}"
    );
    let id = rig.server.linked_id(&words);
    let stored = rig
        .server
        .stored_envelope(&id)
        .expect("the key server keeps it");
    rig.server.account(LAB, "Lab-pass-4471!x");
    let eml = support::open_envelope(&rig.server.url(), &stored, LAB, "Lab-pass-4471!x");
    let opened = MessageParser::default().parse(&eml).unwrap();
    assert!(opened.body_text(0).unwrap().contains(marker));
    assert_eq!(
        Sha256::digest(opened.attachments().next().unwrap().contents()),
        Sha256::digest(&scan)
    );

    // The lab turns notification mails off: its next pulled message is
    // sealed and kept, and no notification is mailed to it.
    rig.server.set_notify_mail(LAB, false);
    rig.postfix.submit(
        SENDER,
        &[LAB],
        &message_with("More results", &[LAB], marker, &random_bytes(1_000)),
    );

    // Over auto_pull_over (and over max_notification_size if attached):
    // the patient's envelope, too, stays at the key server.
    rig.postfix.submit(
        SENDER,
        &[PATIENT],
        &tagged_message(&[PATIENT], marker, &random_bytes(1_500_000)),
    );
    let got = rig.sink.wait_for(3, 60);
    wait_until(30, "an empty queue", || rig.postfix.queue_is_empty());
    assert!(
        hook.log().contains("sealed for the portal, not mailed"),
        "{}",
        hook.log()
    );
    assert_eq!(
        rig.sink.received().iter().filter(|m| m.to == [LAB]).count(),
        1,
        "no notification for the lab's second message"
    );
    let large = &got[2];
    assert_eq!(large.to, [PATIENT], "sealed, not bounced: {}", large.text());
    let parsed = MessageParser::default().parse(&large.data).unwrap();
    assert_eq!(parsed.attachments().count(), 0);
    let id = rig.server.linked_id(&parsed.body_text(0).unwrap());
    assert!(rig.server.stored_envelope(&id).is_some());
    wait_until(30, "an empty queue", || rig.postfix.queue_is_empty());
    assert!(!hook.log().contains(marker));
}

#[test]
fn a_hook_toml_with_a_mistake_is_refused_at_start_with_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    for (toml, expected) in [
        ("max_sise = \"10MB\"\n", "unknown field `max_sise`"),
        (
            "[[rule]]\nname = \"everything\"\n",
            "names neither senders nor recipients",
        ),
        (
            "[seal]\nauto_pull_over = \"20MB\"\n",
            "[seal] sets auto_pull_over, which only applies with delivery = \"auto\"",
        ),
        (
            "[seal]\ndelivery = \"auto\"\nauto_pull_over = \"lots\"\n",
            "'lots' is not a size",
        ),
        ("[seal]\nrestrict = [\"fly\"]\n", "unknown variant `fly`"),
        (
            "key_server = \"https://keys.clinic.example\"\n",
            "needs both key_server and token_file",
        ),
    ] {
        let file = dir.path().join("hook.toml");
        std::fs::write(&file, toml).unwrap();
        let output = support::securedoc_bin()
            .args(["hook", "--listen", "127.0.0.1:0", "--config"])
            .arg(&file)
            .env_remove("SECUREDOC_HOOK_KEY_SERVER")
            .env_remove("SECUREDOC_HOOK_TOKEN_FILE")
            .output()
            .unwrap();
        assert!(!output.status.success(), "{toml} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{toml}: {stderr}");
    }
}
