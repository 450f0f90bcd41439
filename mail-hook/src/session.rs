//! One SMTP conversation with Postfix (or any client): the commands an
//! after-queue filter sees, parsed by `smtp-proto`, answered in order
//! (PIPELINING: replies go out when the client's input is used up), and the
//! message judged only once it is whole.

use std::io;

use smtp_proto::request::receiver::DataReceiver;
use smtp_proto::Request;
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::handle::{handle, Transaction};
use crate::HookConfig;

/// The longest command line (RFC 5321 allows 512; extensions make more).
const MAX_LINE: usize = smtp_proto::request::receiver::MAX_LINE_LENGTH;
/// Recipients one message may have (RFC 5321 asks servers to take 100).
const MAX_RECIPIENTS: usize = 1000;
/// The parameters passed on to the next hop; others are dropped.
const MAIL_PARAMS: &[&str] = &["SIZE", "BODY", "SMTPUTF8", "RET", "ENVID"];
const RCPT_PARAMS: &[&str] = &["NOTIFY", "ORCPT"];

/// The XFORWARD attributes the hook takes and passes on.
const XFORWARD_ATTRIBUTES: &[&str] = &["NAME", "ADDR", "PROTO", "HELO", "SOURCE", "PORT", "IDENT"];

/// The reply to an address the hook will not carry (see [`plain_path`]).
const UNUSUAL_ADDRESS: &str = "553 5.1.3 This gateway takes only plain addresses: no quotes, spaces, angle brackets, backslashes or control characters";

/// Whether an address (as smtp-proto gives it, quotes removed) can be
/// written back into a command unchanged: a quoted local part could carry
/// `> KEY=VALUE` into the hook's MAIL FROM, or hide another domain.
fn plain_path(address: &str) -> bool {
    !address.chars().any(|c| {
        c.is_control()
            || matches!(
                c,
                ' ' | '<' | '>' | '"' | '\\' | '(' | ')' | ',' | ';' | '[' | ']'
            )
    })
}

/// A command line, or why there is none.
enum Line {
    Complete(Vec<u8>),
    TooLong,
    Closed,
}

type Reader = BufReader<tokio::net::tcp::OwnedReadHalf>;

/// The client's next bytes (empty: it closed), waiting at most the timeout.
async fn fill<'r>(reader: &'r mut Reader, config: &HookConfig) -> io::Result<&'r [u8]> {
    tokio::time::timeout(config.timeout, reader.fill_buf())
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the client went quiet"))?
}

/// Reads one line (up to its LF). A line past `MAX_LINE` is read to its end
/// and dropped, so a client cannot make the hook hold it.
async fn read_line(reader: &mut Reader, config: &HookConfig) -> io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buffer = fill(reader, config).await?;
        if buffer.is_empty() {
            return Ok(Line::Closed);
        }
        let (taken, done) = match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (buffer.len(), false),
        };
        if !too_long {
            line.extend_from_slice(&buffer[..taken]);
            if line.len() > MAX_LINE {
                too_long = true;
                line = Vec::new();
            }
        }
        reader.consume(taken);
        if done {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Complete(line)
            });
        }
    }
}

/// The parameters after the path's `>` whose keyword is in `allowed`, as
/// they came (` KEY=VALUE …`).
fn parameters(line: &[u8], allowed: &[&str]) -> String {
    let line = String::from_utf8_lossy(line);
    let Some((_, rest)) = line.split_once('>') else {
        return String::new();
    };
    rest.split_ascii_whitespace()
        .filter(|param| {
            let keyword = param.split('=').next().unwrap_or_default();
            allowed.iter().any(|a| a.eq_ignore_ascii_case(keyword))
        })
        .map(|param| format!(" {param}"))
        .collect()
}

async fn say<W: AsyncWrite + Unpin>(write: &mut W, reply: &str) -> io::Result<()> {
    write.write_all(reply.as_bytes()).await?;
    write.write_all(b"\r\n").await
}

pub(crate) async fn run(
    socket: TcpStream,
    config: &HookConfig,
    sealing_slots: &tokio::sync::Semaphore,
) -> io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, read);
    let host = &config.hostname;
    say(&mut write, &format!("220 {host} ESMTP securedoc hook")).await?;
    write.flush().await?;
    let mut tx = Transaction::default();
    loop {
        let line = match read_line(&mut reader, config).await? {
            Line::Closed => return Ok(()),
            Line::TooLong => {
                say(&mut write, "500 5.5.2 Line too long").await?;
                write.flush().await?;
                continue;
            }
            Line::Complete(line) => line,
        };
        let verb = line
            .split(|b| b.is_ascii_whitespace())
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        if verb == b"XFORWARD" {
            // Postfix's client information, passed on to the next hop: the
            // attributes the hook announced, the latest value of each.
            let text = String::from_utf8_lossy(&line);
            for attr in text.split_ascii_whitespace().skip(1) {
                let Some((name, _)) = attr.split_once('=') else {
                    continue;
                };
                let name = name.to_ascii_uppercase();
                if XFORWARD_ATTRIBUTES.contains(&name.as_str()) {
                    tx.xforward
                        .retain(|kept| !kept.to_ascii_uppercase().starts_with(&format!("{name}=")));
                    tx.xforward.push(attr.to_string());
                }
            }
            say(&mut write, "250 2.0.0 Ok").await?;
        } else {
            let request = Request::parse(&mut line.iter());
            match request {
                Ok(Request::Ehlo { host: _ }) => {
                    tx = Transaction::default();
                    let max = config.max_size;
                    let lines = [
                        host.as_str(),
                        "PIPELINING",
                        &format!("SIZE {max}"),
                        "8BITMIME",
                        "SMTPUTF8",
                        "DSN",
                        "ENHANCEDSTATUSCODES",
                    ];
                    for line in lines {
                        say(&mut write, &format!("250-{line}")).await?;
                    }
                    say(
                        &mut write,
                        &format!("250 XFORWARD {}", XFORWARD_ATTRIBUTES.join(" ")),
                    )
                    .await?;
                }
                Ok(Request::Helo { host: _ }) => {
                    tx = Transaction::default();
                    say(&mut write, &format!("250 {host}")).await?;
                }
                Ok(Request::Mail { from }) => {
                    if tx.from.is_some() {
                        say(&mut write, "503 5.5.1 Error: nested MAIL command").await?;
                    } else if from.size > config.max_size {
                        say(
                            &mut write,
                            &format!(
                                "552 5.3.4 Message too large: this gateway takes at most {} bytes",
                                config.max_size
                            ),
                        )
                        .await?;
                    } else if !plain_path(&from.address) {
                        say(&mut write, UNUSUAL_ADDRESS).await?;
                    } else {
                        tx.from = Some((from.address.to_string(), parameters(&line, MAIL_PARAMS)));
                        say(&mut write, "250 2.1.0 Ok").await?;
                    }
                }
                Ok(Request::Rcpt { to }) => {
                    if tx.from.is_none() {
                        say(&mut write, "503 5.5.1 Error: need MAIL command").await?;
                    } else if tx.to.len() >= MAX_RECIPIENTS {
                        say(&mut write, "452 4.5.3 Error: too many recipients").await?;
                    } else if to.address.is_empty() || !plain_path(&to.address) {
                        say(&mut write, UNUSUAL_ADDRESS).await?;
                    } else {
                        tx.to
                            .push((to.address.to_string(), parameters(&line, RCPT_PARAMS)));
                        say(&mut write, "250 2.1.5 Ok").await?;
                    }
                }
                Ok(Request::Data) => {
                    if tx.to.is_empty() {
                        say(&mut write, "503 5.5.1 Error: need RCPT command").await?;
                    } else {
                        say(&mut write, "354 End data with <CR><LF>.<CR><LF>").await?;
                        write.flush().await?;
                        let message = receive(&mut reader, config).await?;
                        let taken = std::mem::take(&mut tx);
                        let reply = handle(taken, message, config, sealing_slots).await;
                        // XFORWARD is per transaction: the next message brings its own.
                        say(&mut write, &reply).await?;
                    }
                }
                Ok(Request::Rset) => {
                    tx = Transaction {
                        xforward: std::mem::take(&mut tx.xforward),
                        ..Transaction::default()
                    };
                    say(&mut write, "250 2.0.0 Ok").await?;
                }
                Ok(Request::Noop { .. }) => say(&mut write, "250 2.0.0 Ok").await?,
                Ok(Request::Quit) => {
                    say(&mut write, "221 2.0.0 Bye").await?;
                    write.flush().await?;
                    return Ok(());
                }
                Ok(Request::Vrfy { .. }) => {
                    say(&mut write, "252 2.5.2 Cannot VRFY; send some mail").await?
                }
                Ok(_) => say(&mut write, "502 5.5.1 Error: command not implemented").await?,
                Err(smtp_proto::Error::UnknownCommand) => {
                    say(&mut write, "500 5.5.2 Error: command not recognized").await?
                }
                Err(error) => {
                    say(&mut write, &format!("501 5.5.4 Syntax error: {error:?}")).await?
                }
            }
        }
        // PIPELINING: answer in batches, once the client's input is used up.
        if reader.buffer().is_empty() {
            write.flush().await?;
        }
    }
}

/// The message after DATA: its bytes, or None when it was over the limit
/// (read to its end and dropped).
async fn receive(reader: &mut Reader, config: &HookConfig) -> io::Result<Option<Vec<u8>>> {
    let mut receiver = data_receiver();
    let mut message = Vec::new();
    let mut too_large = false;
    loop {
        let buffer = fill(reader, config).await?;
        if buffer.is_empty() {
            // Gone mid-message: nothing was answered, so nothing is lost.
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the client left in the middle of DATA",
            ));
        }
        let mut bytes = buffer.iter();
        let done = receiver.ingest(&mut bytes, &mut message);
        let used = buffer.len() - bytes.len();
        reader.consume(used);
        if message.len() > config.max_size {
            too_large = true;
            message.clear();
        }
        if done {
            return Ok((!too_large).then_some(message));
        }
    }
}

/// A DATA receiver that knows the message starts at a line start: smtp-proto's
/// starts mid-line, so a first line "..x" kept both dots and a DATA of only
/// "." never ended. Feeding it the CRLF that ended the DATA command fixes both.
fn data_receiver() -> DataReceiver {
    let mut receiver = DataReceiver::new();
    let mut primed = Vec::new();
    receiver.ingest(&mut b"\r\n".iter(), &mut primed);
    receiver
}

#[cfg(test)]
mod tests {
    use super::data_receiver;

    fn receive(data: &[u8]) -> Option<Vec<u8>> {
        let mut receiver = data_receiver();
        let mut message = Vec::new();
        receiver
            .ingest(&mut data.iter(), &mut message)
            .then_some(message)
    }

    #[test]
    fn the_first_line_is_unstuffed_and_an_empty_message_ends() {
        assert_eq!(receive(b"..x\r\ny\r\n.\r\n").unwrap(), b".x\r\ny\r\n");
        assert_eq!(receive(b".\r\n").unwrap(), b"");
        assert_eq!(receive(b"a\r\n..b\r\n.\r\n").unwrap(), b"a\r\n.b\r\n");
    }
}
