//! The hook's SMTP conversation against a real TCP client and a real next
//! hop (an SMTP sink that records what it is handed): untriggered mail goes
//! on byte for byte with its envelope, DSN parameters and XFORWARD; nothing
//! is answered 250 before the next hop took it; a triggered message, a
//! next hop that is down, a message over the limit, a huge line, pipelined
//! commands and a client that vanishes mid-DATA each get a clear answer and
//! lose nothing.

use std::net::SocketAddr;
use std::time::Duration;

use mail_hook::HookConfig;
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
