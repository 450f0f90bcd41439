//! The hook's SMTP conversation against a real TCP client and a real next
//! hop (an SMTP sink that records what it is handed): untriggered mail goes
//! on byte for byte with its envelope, DSN parameters and XFORWARD; nothing
//! is answered 250 before the next hop took it; a triggered message, a
//! next hop that is down, a message over the limit, a huge line, pipelined
//! commands and a client that vanishes mid-DATA each get a clear answer and
//! lose nothing.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mail_hook::{
    HookConfig, Notification, Policy, Report, Rule, SealFailure, SealJob, SealOptions, SealService,
    SealedGroup,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// What the sink was handed in one transaction.
#[derive(Debug, Default)]
struct Handed {
    commands: Vec<String>,
    data: Vec<u8>,
}

/// An SMTP next hop that offers XFORWARD and records each transaction.
async fn sink() -> (SocketAddr, mpsc::UnboundedReceiver<Handed>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut reader = BufReader::new(read);
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut handed = Handed::default();
                let mut line = Vec::new();
                loop {
                    line.clear();
                    if reader.read_until(b'\n', &mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let text = String::from_utf8_lossy(&line).trim_end().to_string();
                    let verb = text.split(' ').next().unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => {
                            b"250-sink\r\n250-PIPELINING\r\n250 XFORWARD NAME ADDR PROTO HELO\r\n"
                        }
                        "DATA" => {
                            write.write_all(b"354 go on\r\n").await.unwrap();
                            let mut data = Vec::new();
                            loop {
                                let mut row = Vec::new();
                                reader.read_until(b'\n', &mut row).await.unwrap();
                                if row == b".\r\n" {
                                    break;
                                }
                                // Undo the client's dot-stuffing.
                                data.extend_from_slice(row.strip_prefix(b".").unwrap_or(&row));
                            }
                            handed.data = data;
                            tx.send(std::mem::take(&mut handed)).unwrap();
                            b"250 2.0.0 queued as SINK1\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => {
                            handed.commands.push(text);
                            b"250 2.0.0 ok\r\n"
                        }
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (address, rx)
}

/// A hook on a free port handing on to `next_hop`.
async fn hook(next_hop: SocketAddr, max_size: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let config = HookConfig {
        next_hop,
        max_size,
        timeout: Duration::from_secs(10),
        ..HookConfig::default()
    };
    tokio::spawn(mail_hook::serve(listener, config));
    address
}

/// A client that sends raw bytes and reads whole replies.
struct Client {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    write: tokio::net::tcp::OwnedWriteHalf,
}

impl Client {
    async fn connect(address: SocketAddr) -> Client {
        let (read, write) = TcpStream::connect(address).await.unwrap().into_split();
        let mut client = Client {
            reader: BufReader::new(read),
            write,
        };
        assert!(client.reply().await.starts_with("220 "));
        client
    }

    /// One reply, multi-line ones joined by newlines.
    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let read =
                tokio::time::timeout(Duration::from_secs(20), self.reader.read_line(&mut line))
                    .await
                    .expect("the hook answers")
                    .unwrap();
            assert!(read > 0, "the hook closed the connection; so far: {all}");
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all.trim_end().to_string();
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.write.write_all(bytes).await.unwrap();
    }

    async fn command(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// DATA with `message` (dot-stuffed here, as a client must); the final reply.
    async fn data(&mut self, message: &[u8]) -> String {
        assert!(self.command("DATA").await.starts_with("354"));
        let mut stuffed = Vec::new();
        for line in message.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b".") {
                stuffed.push(b'.');
            }
            stuffed.extend_from_slice(line);
        }
        self.send(&stuffed).await;
        self.send(b".\r\n").await;
        self.reply().await
    }
}

const PLAIN: &[u8] = b"From: Alice <alice@clinic.example>\r\nTo: bob@example.net\r\nSubject: Lunch\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
Caf\xe9 at noon?\r\n.a line that starts with a dot\r\n..two dots\r\nNUL \x00 inside\r\n";

#[tokio::test]
async fn untriggered_mail_goes_on_byte_for_byte_with_its_envelope() {
    let (next_hop, mut handed) = sink().await;
    let mut client = Client::connect(hook(next_hop, 1 << 20).await).await;
    let ehlo = client.command("EHLO postfix.clinic.example").await;
    for capability in [
        "PIPELINING",
        "SIZE 1048576",
        "8BITMIME",
        "SMTPUTF8",
        "DSN",
        "XFORWARD",
    ] {
        assert!(ehlo.contains(capability), "{capability} in {ehlo}");
    }
    assert!(client
        .command("XFORWARD NAME=laptop.clinic.example ADDR=10.0.0.7")
        .await
        .starts_with("250"));
    assert!(client
        .command("MAIL FROM:<alice@clinic.example> SIZE=300 BODY=8BITMIME RET=HDRS ENVID=abc123")
        .await
        .starts_with("250"));
    assert!(client
        .command("RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.net")
        .await
        .starts_with("250"));
    assert!(client
        .command("RCPT TO:<carol@example.org>")
        .await
        .starts_with("250"));
    let reply = client.data(PLAIN).await;
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    let got = tokio::time::timeout(Duration::from_secs(5), handed.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.data, PLAIN, "byte for byte");
    assert_eq!(
        got.commands,
        [
            "XFORWARD NAME=laptop.clinic.example ADDR=10.0.0.7",
            "MAIL FROM:<alice@clinic.example> SIZE=300 BODY=8BITMIME RET=HDRS ENVID=abc123",
            "RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.net",
            "RCPT TO:<carol@example.org>",
        ]
    );
    assert!(client.command("QUIT").await.starts_with("221"));
}

#[tokio::test]
async fn a_message_that_asks_to_be_sealed_never_goes_on_in_the_clear() {
    let (next_hop, mut handed) = sink().await;
    let mut client = Client::connect(hook(next_hop, 1 << 20).await).await;
    client.command("EHLO postfix").await;
    client.command("MAIL FROM:<alice@clinic.example>").await;
    client.command("RCPT TO:<bob@example.net>").await;
    let reply = client
        .data(b"From: alice@clinic.example\r\nTo: bob@example.net\r\nSubject: [SECURE] Results\r\n\r\nThe results.\r\n")
        .await;
    assert!(
        reply.starts_with("451 4.7.0"),
        "a temporary failure keeps it queued: {reply}"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(500), handed.recv())
            .await
            .is_err(),
        "nothing reached the next hop"
    );
}

#[tokio::test]
async fn a_next_hop_that_is_down_keeps_the_message_queued() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let mut client = Client::connect(hook(closed, 1 << 20).await).await;
    client.command("EHLO postfix").await;
    client.command("MAIL FROM:<alice@clinic.example>").await;
    client.command("RCPT TO:<bob@example.net>").await;
    let reply = client.data(PLAIN).await;
    assert!(reply.starts_with("451 4.4.1"), "{reply}");
    assert!(reply.contains("try again later"), "{reply}");
}

#[tokio::test]
async fn too_large_too_long_pipelined_and_vanishing_clients_get_clear_answers() {
    let (next_hop, mut handed) = sink().await;
    let address = hook(next_hop, 1024).await;
    let mut client = Client::connect(address).await;
    client.command("EHLO postfix").await;
    // Announced too large: refused at MAIL.
    let reply = client
        .command("MAIL FROM:<a@clinic.example> SIZE=5000")
        .await;
    assert!(reply.starts_with("552 5.3.4"), "{reply}");
    // Too large in fact: read to its end, refused, nothing handed on.
    client.command("MAIL FROM:<a@clinic.example>").await;
    client.command("RCPT TO:<b@example.net>").await;
    let big = format!("Subject: big\r\n\r\n{}\r\n", "x".repeat(4000));
    let reply = client.data(big.as_bytes()).await;
    assert!(reply.starts_with("552 5.3.4"), "{reply}");
    // A 1 MB line: refused, and the session goes on.
    client.send(&vec![b'A'; 1 << 20]).await;
    let reply = client.command("").await;
    assert!(reply.starts_with("500 5.5.2"), "{reply}");
    assert!(client.command("NOOP").await.starts_with("250"));
    // Nonsense and commands out of order.
    assert!(client.command("HELLO there").await.starts_with("500"));
    assert!(client
        .command("RCPT TO:<b@example.net>")
        .await
        .starts_with("503"));
    assert!(client.command("DATA").await.starts_with("503"));
    assert!(client
        .command("MAIL FROM:<not an address")
        .await
        .starts_with("501"));

    // Pipelined: every reply, in order.
    client
        .send(b"RSET\r\nMAIL FROM:<a@clinic.example>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nNOOP\r\n")
        .await;
    for expected in [
        "250 2.0.0",
        "250 2.1.0",
        "250 2.1.5",
        "250 2.1.5",
        "250 2.0.0",
    ] {
        let reply = client.reply().await;
        assert!(reply.starts_with(expected), "{expected}: {reply}");
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(300), handed.recv())
            .await
            .is_err(),
        "nothing was handed on"
    );

    // A client that leaves in the middle of DATA: nothing is handed on, and
    // the hook still serves the next one.
    let mut leaving = Client::connect(address).await;
    leaving.command("EHLO postfix").await;
    leaving.command("MAIL FROM:<a@clinic.example>").await;
    leaving.command("RCPT TO:<b@example.net>").await;
    assert!(leaving.command("DATA").await.starts_with("354"));
    leaving.send(b"Subject: half\r\n\r\nhalf a mess").await;
    drop(leaving);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        handed.try_recv().is_err(),
        "half a message is never handed on"
    );
    let mut next = Client::connect(address).await;
    assert!(next.command("NOOP").await.starts_with("250"));
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(
        Duration::from_millis(10),
        next.reader.read_to_end(&mut rest),
    )
    .await;
}

#[tokio::test]
async fn recipients_past_the_limit_are_deferred_not_dropped() {
    let (next_hop, _handed) = sink().await;
    let mut client = Client::connect(hook(next_hop, 1 << 20).await).await;
    client.command("EHLO postfix").await;
    client.command("MAIL FROM:<a@clinic.example>").await;
    // One pipelined burst of 1,001 recipients: the first 1,000 are taken,
    // the next is told to come again (Postfix sends it in another transaction).
    let burst: String = (0..1001)
        .map(|n| format!("RCPT TO:<r{n}@example.net>\r\n"))
        .collect();
    client.send(burst.as_bytes()).await;
    for n in 0..1000 {
        let reply = client.reply().await;
        assert!(reply.starts_with("250 2.1.5"), "{n}: {reply}");
    }
    let reply = client.reply().await;
    assert!(reply.starts_with("452 4.5.3"), "{reply}");
}

/// A stand-in for the key server's sealing, so these tests reach the hook's
/// own decisions (what is sealed, what goes on, what is refused). The real
/// sealing is tested behind a real Postfix in securedoc/tests/hook_postfix.
struct RecordingSealer {
    fail: Option<SealFailure>,
    jobs: Mutex<Vec<SealJob>>,
}

const SEALED_MARK: &str = "SEALED ENVELOPE FOR ";

impl SealService for RecordingSealer {
    fn seal(&self, job: &SealJob) -> Result<SealedGroup, SealFailure> {
        self.jobs.lock().unwrap().push(job.clone());
        if let Some(failure) = &self.fail {
            return Err(failure.clone());
        }
        Ok(SealedGroup {
            message_id: Some("0".repeat(32)),
            expires: Some(1_800_000_000),
            notifications: job
                .recipients
                .iter()
                .map(|to| Notification {
                    recipient: to.clone(),
                    envelope_id: "1".repeat(32),
                    mail: Some(format!("Subject: note\r\n\r\n{SEALED_MARK}{to}\r\n").into_bytes()),
                })
                .collect(),
        })
    }

    fn confirmation(&self, report: &Report) -> Result<Vec<u8>, SealFailure> {
        Ok(format!(
            "Subject: Secure Message Sent\r\n\r\nsealed {:?} internal {:?} refused {:?}\r\n",
            report.sealed, report.internal, report.refused
        )
        .into_bytes())
    }
}

/// A hook that seals through `sealer` under `policy`.
async fn sealing_hook(
    next_hop: SocketAddr,
    policy: Policy,
    fail: Option<SealFailure>,
) -> (SocketAddr, Arc<RecordingSealer>) {
    sealing_hook_with(next_hop, policy, fail, |_| {}).await
}

/// As [`sealing_hook`], with `tweak` applied to the config.
async fn sealing_hook_with(
    next_hop: SocketAddr,
    policy: Policy,
    fail: Option<SealFailure>,
    tweak: impl FnOnce(&mut HookConfig),
) -> (SocketAddr, Arc<RecordingSealer>) {
    let sealer = Arc::new(RecordingSealer {
        fail,
        jobs: Mutex::new(Vec::new()),
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let mut config = HookConfig {
        next_hop,
        timeout: Duration::from_secs(10),
        policy,
        sealing: Some(sealer.clone()),
        ..HookConfig::default()
    };
    tweak(&mut config);
    tokio::spawn(mail_hook::serve(listener, config));
    (address, sealer)
}

fn clinic() -> Policy {
    Policy {
        internal_domains: vec!["clinic.example".into()],
        ..Policy::default()
    }
}

/// Everything the sink was handed within a short while.
async fn all_handed(handed: &mut mpsc::UnboundedReceiver<Handed>) -> Vec<Handed> {
    let mut all = Vec::new();
    while let Ok(Some(one)) = tokio::time::timeout(Duration::from_millis(700), handed.recv()).await
    {
        all.push(one);
    }
    all
}

async fn send_one(client: &mut Client, mail_from: &str, rcpts: &[&str], message: &[u8]) -> String {
    assert!(client.command(mail_from).await.starts_with("250"));
    for rcpt in rcpts {
        let reply = client.command(&format!("RCPT TO:<{rcpt}>")).await;
        assert!(reply.starts_with("250"), "{reply}");
    }
    client.data(message).await
}

#[tokio::test]
async fn hostile_tagged_messages_are_sealed_or_refused_and_never_go_on_in_the_clear() {
    let (next_hop, mut handed) = sink().await;
    let (address, sealer) = sealing_hook(next_hop, clinic(), None).await;
    let secret = "SECRET-6c2f";
    let hostile: Vec<(&str, Vec<u8>)> = vec![
        (
            "NUL bytes",
            format!("From: a@clinic.example\r\nSubject: [secure] x\r\n\r\n{secret}\x00\x00\r\n").into_bytes(),
        ),
        ("8-bit header", {
            let mut m = b"From: a@clinic.example\r\nSubject: [secure] Caf\xe9 \xff\r\n\r\n".to_vec();
            m.extend_from_slice(format!("{secret}\r\n").as_bytes());
            m
        }),
        (
            "malformed MIME",
            format!("From: a@clinic.example\r\nSubject: [SECURE]\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n--nowhere\r\n{secret}\r\n").into_bytes(),
        ),
        (
            "no header at all but the tag",
            format!("Subject: [encrypt]\r\n\r\n{secret}\r\n").into_bytes(),
        ),
    ];
    let mut client = Client::connect(address).await;
    client.command("EHLO postfix").await;
    for (what, message) in &hostile {
        let reply = send_one(
            &mut client,
            "MAIL FROM:<a@clinic.example>",
            &["p@mail.example"],
            message,
        )
        .await;
        assert!(reply.starts_with("250 2.0.0 Ok: sealed"), "{what}: {reply}");
    }
    // An SMTPUTF8 address gets its envelope like any other.
    let reply = send_one(
        &mut client,
        "MAIL FROM:<a@clinic.example> SMTPUTF8",
        &["józef@bücher.example", "p@mail.example"],
        format!("From: a@clinic.example\r\nSubject: [secure] utf8\r\n\r\n{secret}\r\n").as_bytes(),
    )
    .await;
    assert!(reply.starts_with("250 2.0.0 Ok: sealed for 2"), "{reply}");
    let got = all_handed(&mut handed).await;
    for one in &got {
        let text = String::from_utf8_lossy(&one.data);
        assert!(!text.contains(secret), "in the clear: {text}");
        assert!(
            text.contains(SEALED_MARK) || text.contains("Secure Message Sent"),
            "{text}"
        );
    }
    let jobs = sealer.jobs.lock().unwrap();
    assert!(jobs.len() >= hostile.len());
    assert!(jobs
        .iter()
        .any(|job| job.recipients.iter().any(|r| r == "józef@bücher.example")));
    // The tag is out of the subject the recipient will see.
    for job in jobs.iter() {
        let text = String::from_utf8_lossy(&job.message).to_lowercase();
        assert!(
            !text.contains("subject: [secure]") && !text.contains("[encrypt]"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_sealing_failure_hands_on_nothing_not_even_the_internal_copy() {
    for (failure, code) in [
        (
            SealFailure::Temporary("the key server is down".into()),
            "451 4.7.0",
        ),
        (
            SealFailure::Permanent("the key server refuses that recipient".into()),
            "550 5.7.1",
        ),
    ] {
        let (next_hop, mut handed) = sink().await;
        let (address, _) = sealing_hook(next_hop, clinic(), Some(failure)).await;
        let mut client = Client::connect(address).await;
        client.command("EHLO postfix").await;
        let reply = send_one(
            &mut client,
            "MAIL FROM:<a@clinic.example>",
            &["nurse@clinic.example", "p@mail.example"],
            b"From: a@clinic.example\r\nSubject: [secure] x\r\n\r\nbody\r\n",
        )
        .await;
        assert!(reply.starts_with(code), "{reply}");
        assert!(all_handed(&mut handed).await.is_empty(), "nothing went on");
    }
}

#[tokio::test]
async fn a_forged_notification_header_does_not_get_mail_past_a_rule() {
    let (next_hop, mut handed) = sink().await;
    let policy = Policy {
        rules: vec![Rule {
            name: "partners".into(),
            senders: Vec::new(),
            recipients: vec!["partner.example".into()],
            options: SealOptions::default(),
        }],
        ..clinic()
    };
    let (address, _) = sealing_hook(next_hop, policy, None).await;
    let mut client = Client::connect(address).await;
    client.command("EHLO postfix").await;
    let reply = send_one(
        &mut client,
        "MAIL FROM:<a@clinic.example>",
        &["p@partner.example"],
        b"From: a@clinic.example\r\nX-Securedoc-Notification: 1\r\nSubject: untagged\r\n\r\nSECRET\r\n",
    )
    .await;
    assert!(reply.starts_with("250 2.0.0 Ok: sealed"), "{reply}");
    let got = all_handed(&mut handed).await;
    assert!(got
        .iter()
        .all(|m| !String::from_utf8_lossy(&m.data).contains("SECRET")));
}

#[tokio::test]
async fn the_confirmation_never_goes_outside_the_organisation() {
    let (next_hop, mut handed) = sink().await;
    let (address, _) = sealing_hook(next_hop, clinic(), None).await;
    let mut client = Client::connect(address).await;
    client.command("EHLO postfix").await;
    // A From outside the organisation (forged, or a relayed message).
    let reply = send_one(
        &mut client,
        "MAIL FROM:<a@clinic.example>",
        &["p@mail.example"],
        b"From: someone@elsewhere.example\r\nSubject: [secure] x\r\n\r\nbody\r\n",
    )
    .await;
    assert!(reply.starts_with("250"), "{reply}");
    let got = all_handed(&mut handed).await;
    assert_eq!(got.len(), 1, "the notification only");
    assert!(String::from_utf8_lossy(&got[0].data).contains(SEALED_MARK));
}

#[tokio::test]
async fn quoted_addresses_cannot_smuggle_parameters_or_pass_as_internal() {
    let (next_hop, mut handed) = sink().await;
    let (address, sealer) = sealing_hook(next_hop, clinic(), None).await;
    let mut client = Client::connect(address).await;
    client.command("EHLO postfix").await;
    // A quoted local part that would write "> RET=FULL" into the next hop's MAIL FROM.
    let reply = client
        .command("MAIL FROM:<\"a> RET=FULL\"@clinic.example>")
        .await;
    assert!(reply.starts_with("553 5.1.3"), "{reply}");
    assert!(client
        .command("MAIL FROM:<a@clinic.example>")
        .await
        .starts_with("250"));
    let reply = client
        .command("RCPT TO:<\"john smith\"@mail.example>")
        .await;
    assert!(reply.starts_with("553 5.1.3"), "{reply}");
    // An address that looks internal but routes outside is not internal: it
    // would get an envelope, and as no envelope can name it, nothing.
    let reply = client
        .command("RCPT TO:<\"x@partner.example\"@clinic.example>")
        .await;
    assert!(reply.starts_with("250"), "{reply}");
    let reply = client
        .data(b"From: a@clinic.example\r\nSubject: [secure] x\r\n\r\nSECRET-91\r\n")
        .await;
    assert!(reply.starts_with("550 5.1.3"), "{reply}");
    assert!(all_handed(&mut handed).await.is_empty(), "nothing went on");
    assert!(sealer.jobs.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_burst_of_connections_past_the_limits_waits_its_turn_and_each_is_sealed_once() {
    let (next_hop, mut handed) = sink().await;
    let (address, sealer) = sealing_hook_with(next_hop, clinic(), None, |config| {
        config.max_connections = 2;
        config.max_sealing = 1;
    })
    .await;
    let clients = (0..6).map(|i| {
        tokio::spawn(async move {
            let mut client = Client::connect(address).await;
            client.command("EHLO postfix").await;
            let to = format!("p{i}@mail.example");
            send_one(
                &mut client,
                "MAIL FROM:<a@clinic.example>",
                &[&to],
                format!("From: a@clinic.example\r\nSubject: [secure] {i}\r\n\r\nSECRET-{i}\r\n")
                    .as_bytes(),
            )
            .await
        })
    });
    for reply in futures_join(clients).await {
        assert!(reply.starts_with("250 2.0.0 Ok: sealed for 1"), "{reply}");
    }
    let got = all_handed(&mut handed).await;
    for i in 0..6 {
        let to = format!("p{i}@mail.example");
        let notes = got
            .iter()
            .filter(|m| String::from_utf8_lossy(&m.data).contains(&format!("{SEALED_MARK}{to}")))
            .count();
        assert_eq!(notes, 1, "one notification for {to}");
    }
    assert!(got
        .iter()
        .all(|m| !String::from_utf8_lossy(&m.data).contains("SECRET-")));
    assert_eq!(sealer.jobs.lock().unwrap().len(), 6);
}

/// Waits for every task; their results in order.
async fn futures_join<T: Send + 'static>(
    tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut results = Vec::new();
    for task in tasks.collect::<Vec<_>>() {
        results.push(task.await.unwrap());
    }
    results
}

#[tokio::test]
async fn too_many_envelopes_for_the_memory_bound_bounce_before_anything_is_sealed() {
    let (next_hop, mut handed) = sink().await;
    let (address, sealer) = sealing_hook_with(next_hop, clinic(), None, |config| {
        // 8 notifications of at most 1 MB: 8 MB of envelopes per message.
        config.max_notification_size = 1 << 20;
    })
    .await;
    let mut client = Client::connect(address).await;
    client.command("EHLO postfix").await;
    let recipients: Vec<String> = (0..20).map(|i| format!("p{i}@mail.example")).collect();
    let recipients: Vec<&str> = recipients.iter().map(String::as_str).collect();
    let mut message = b"From: a@clinic.example\r\nSubject: [secure] big\r\n\r\n".to_vec();
    message.extend(std::iter::repeat_n(b'x', 100 * 1024));
    message.extend_from_slice(b"\r\n");
    let reply = send_one(
        &mut client,
        "MAIL FROM:<a@clinic.example>",
        &recipients,
        &message,
    )
    .await;
    assert!(reply.starts_with("552 5.3.4"), "{reply}");
    assert!(reply.contains("fewer recipients"), "{reply}");
    assert!(sealer.jobs.lock().unwrap().is_empty(), "nothing registered");
    assert!(all_handed(&mut handed).await.is_empty(), "nothing went on");
}
