//! The next hop: one SMTP transaction per message the hook produces,
//! carrying the client's information (XFORWARD, where the next hop offers
//! it) and the sender's DSN parameters as they came.

use std::net::SocketAddr;
use std::time::Duration;

use mail_send::SmtpClient;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// One message to hand on: the envelope and the bytes.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `MAIL FROM` address (empty for the null sender).
    pub from: String,
    /// The `MAIL FROM` parameters passed on (` SIZE=… BODY=… RET=… ENVID=…`).
    pub from_params: String,
    /// Each recipient with its `RCPT TO` parameters (` NOTIFY=… ORCPT=…`).
    pub to: Vec<(String, String)>,
    /// XFORWARD attributes (`NAME=… ADDR=…`), passed on when offered.
    pub xforward: Vec<String>,
    /// The message, unstuffed (the client stuffs it again); shared, as the
    /// same bytes may go to the next hop and be sealed.
    pub message: std::sync::Arc<Vec<u8>>,
}

/// Why the next hop did not take a message.
#[derive(Debug, thiserror::Error)]
pub enum NextHopError {
    /// Try again later: unreachable, timed out, or a 4xx answer.
    #[error("the next hop is not taking mail now: {0}")]
    Temporary(String),
    /// It refused for good (a 5xx answer).
    #[error("the next hop refused the message: {0}")]
    Permanent(String),
}

fn classify(error: mail_send::Error) -> NextHopError {
    match error {
        mail_send::Error::UnexpectedReply(reply) if reply.code >= 500 => {
            NextHopError::Permanent(format!("{} {}", reply.code, reply.message))
        }
        mail_send::Error::UnexpectedReply(reply) => {
            NextHopError::Temporary(format!("{} {}", reply.code, reply.message))
        }
        other => NextHopError::Temporary(other.to_string()),
    }
}

/// Hands every one of `deliveries` to `next_hop`, one transaction each on
/// one connection; Ok only once it answered 250 to each message's data.
/// An error stops at the first message not taken (the ones before it were).
pub async fn deliver(
    next_hop: SocketAddr,
    hostname: &str,
    timeout: Duration,
    deliveries: &[Delivery],
) -> Result<(), NextHopError> {
    let mut client: SmtpClient<TcpStream> = SmtpClient::connect(next_hop, timeout)
        .await
        .map_err(classify)?;
    positive(client.read().await.map_err(classify)?)?;
    let ehlo = positive(
        client
            .cmd(format!("EHLO {hostname}\r\n"))
            .await
            .map_err(classify)?,
    )?;
    let offers_xforward = ehlo
        .message
        .lines()
        .any(|line| line.trim().to_ascii_uppercase().starts_with("XFORWARD"));
    // A next hop that announces a SIZE it would refuse gets nothing: a
    // refusal after the first message was taken would bounce mail that went.
    let limit = ehlo.message.lines().find_map(|line| {
        let line = line.trim().to_ascii_uppercase();
        line.strip_prefix("SIZE ")?.trim().parse::<usize>().ok()
    });
    if let Some(limit) = limit.filter(|l| *l > 0) {
        if let Some(big) = deliveries.iter().find(|d| d.message.len() > limit) {
            return Err(NextHopError::Permanent(format!(
                "it takes at most {limit} bytes and one message the hook made is {} bytes; raise message_size_limit on the re-injection listener",
                big.message.len()
            )));
        }
    }
    for (index, delivery) in deliveries.iter().enumerate() {
        match transaction(&mut client, offers_xforward, timeout, delivery).await {
            Ok(()) => {}
            // Some went already: bouncing now would tell the sender that
            // mail which went did not. Postfix retries instead.
            Err(NextHopError::Permanent(reason)) if index > 0 => {
                return Err(NextHopError::Temporary(format!(
                    "{reason} (after {index} of {} messages were taken)",
                    deliveries.len()
                )))
            }
            Err(error) => return Err(error),
        }
    }
    // The messages are taken: a failed goodbye changes nothing.
    let _ = client.quit().await;
    Ok(())
}

/// A 2xx answer, or the error it stands for.
fn positive(
    reply: smtp_proto::Response<String>,
) -> Result<smtp_proto::Response<String>, NextHopError> {
    if (200..300).contains(&reply.code) {
        Ok(reply)
    } else {
        Err(classify(mail_send::Error::UnexpectedReply(reply)))
    }
}

/// One MAIL … DATA transaction.
async fn transaction(
    client: &mut SmtpClient<TcpStream>,
    offers_xforward: bool,
    timeout: Duration,
    delivery: &Delivery,
) -> Result<(), NextHopError> {
    if offers_xforward && !delivery.xforward.is_empty() {
        // The client's information, so the next hop logs and checks the
        // real client and not the hook (Postfix keeps it for one
        // transaction). A refusal costs only that.
        let reply = client
            .cmd(format!("XFORWARD {}\r\n", delivery.xforward.join(" ")))
            .await
            .map_err(classify)?;
        if reply.code != 250 {
            tracing::warn!(code = reply.code, "the next hop refused XFORWARD");
        }
    }
    positive(
        client
            .cmd(format!(
                "MAIL FROM:<{}>{}\r\n",
                delivery.from, delivery.from_params
            ))
            .await
            .map_err(classify)?,
    )?;
    for (to, params) in &delivery.to {
        positive(
            client
                .cmd(format!("RCPT TO:<{to}>{params}\r\n"))
                .await
                .map_err(classify)?,
        )?;
    }
    let reply = client.cmd(b"DATA\r\n").await.map_err(classify)?;
    if reply.code != 354 {
        return Err(classify(mail_send::Error::UnexpectedReply(reply)));
    }
    // Written here, not with the client's `data`: it adds a CRLF to a
    // message that already ends with one, and does not stuff a dot at the
    // very start. The message must arrive as it came.
    tokio::time::timeout(timeout, async {
        client.stream.write_all(&stuffed(&delivery.message)).await?;
        client.stream.flush().await
    })
    .await
    .map_err(|_| NextHopError::Temporary("the next hop stopped reading the message".into()))?
    .map_err(|e| NextHopError::Temporary(e.to_string()))?;
    positive(client.read().await.map_err(classify)?)?;
    Ok(())
}

/// `message` as DATA carries it (RFC 5321 4.5.2): a dot doubled at the start
/// of every line, a final CRLF if it lacks one, and the ending dot.
fn stuffed(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 5);
    let mut line_start = true;
    for &byte in message {
        if line_start && byte == b'.' {
            out.push(b'.');
        }
        out.push(byte);
        line_start = byte == b'\n';
    }
    if !message.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::stuffed;

    #[test]
    fn every_line_that_starts_with_a_dot_is_stuffed_and_nothing_else_changes() {
        assert_eq!(
            stuffed(b".first\r\nx.y\r\n.\r\n..\r\n"),
            b"..first\r\nx.y\r\n..\r\n...\r\n.\r\n"
        );
        assert_eq!(stuffed(b"no end"), b"no end\r\n.\r\n");
        assert_eq!(stuffed(b""), b"\r\n.\r\n");
    }
}
