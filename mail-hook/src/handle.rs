//! One whole message: decide who gets what (policy), seal for the outside
//! recipients that must get envelopes, hand everything on, and say what
//! Postfix should do with the message.
//!
//! Every output is built before the first is handed on, so a failure while
//! sealing hands on nothing; the answer is 250 only once the next hop took
//! every output. A message that asks to be sealed is never handed on as it
//! came to a recipient it was to be sealed for, whatever fails.

use std::sync::Arc;

use crate::next_hop::{self, Delivery, NextHopError};
use crate::policy::Plan;
use crate::sealing::{Notification, Report, SealFailure, SealJob, SealedGroup};
use crate::HookConfig;

/// The envelope of one message as Postfix gave it.
#[derive(Default)]
pub(crate) struct Transaction {
    /// `MAIL FROM` address and its parameters.
    pub from: Option<(String, String)>,
    /// Each `RCPT TO` address and its parameters.
    pub to: Vec<(String, String)>,
    /// XFORWARD attributes (Postfix's client information).
    pub xforward: Vec<String>,
}

impl Transaction {
    /// Postfix's queue id for the message (XFORWARD IDENT), for the logs.
    fn queue_id(&self) -> &str {
        self.xforward
            .iter()
            .find_map(|attr| attr.strip_prefix("IDENT="))
            .unwrap_or("-")
    }
}

/// An SMTP reply for Postfix.
fn reply(code: &str, reason: &str) -> String {
    let reason: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(400)
        .collect();
    format!("{code} {reason}")
}

fn too_large(config: &HookConfig) -> String {
    reply(
        "552 5.3.4",
        &format!(
            "Message too large: this gateway takes at most {}",
            megabytes(config.max_size)
        ),
    )
}

fn megabytes(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

/// What the next hop's failure means to Postfix.
fn next_hop_reply(error: NextHopError) -> String {
    match error {
        NextHopError::Temporary(reason) => reply(
            "451 4.4.1",
            &format!("The next hop did not take the message, try again later: {reason}"),
        ),
        NextHopError::Permanent(reason) => reply(
            "554 5.0.0",
            &format!("The next hop refused the message: {reason}"),
        ),
    }
}

/// How many largest notifications' worth of output one message may make
/// (all of it is held in memory before the first is handed on).
const OUTPUT_BUDGET_NOTIFICATIONS: usize = 8;

/// About the size of the envelope file (`securedoc.html`) for `message`:
/// the page (about 160 KB) around the base64 of the sealed message.
fn page_estimate(message: usize) -> usize {
    (message + 200 * 1024) * 4 / 3
}

/// At least the size of a notification carrying an envelope of `message`
/// (about 1.8 × plus 270 KB): the envelope file, base64 again in the mail.
/// Checked before anything is registered, so a message too large leaves
/// nothing at the key server.
fn notification_estimate(message: usize) -> usize {
    page_estimate(message) * 4 / 3
}

/// Messages by what became of them (`passed`, `sealed`, `deferred`,
/// `bounced`), for `/metrics`.
const MESSAGES_TOTAL: &str = "securedoc_hook_messages_total";
/// Envelopes sealed and handed on.
const ENVELOPES_TOTAL: &str = "securedoc_hook_envelopes_total";

/// What to answer for one message (`None`: over the size limit), counted.
pub(crate) async fn handle(
    tx: Transaction,
    message: Option<Vec<u8>>,
    config: &HookConfig,
    sealing_slots: &tokio::sync::Semaphore,
) -> String {
    let queue_id = tx.queue_id().to_string();
    let (reply, sealing) = match message {
        None => {
            tracing::warn!(
                queue_id,
                outcome = "bounced",
                reason = "over max_size",
                "message too large"
            );
            (too_large(config), false)
        }
        Some(message) => {
            let message = Message::read(tx, message, config);
            let plan = config.policy.plan(
                &[message.sender.as_str(), message.envelope_from()],
                &message.recipients(),
                message.reading.triggered,
            );
            if plan.seals() {
                (
                    seal_and_pass_on(&queue_id, message, plan, config, sealing_slots).await,
                    true,
                )
            } else {
                (pass_on(&queue_id, message, config).await, false)
            }
        }
    };
    // The reply's class says what Postfix does; only a 2xx needs telling apart.
    let outcome = match (reply.as_bytes().first(), sealing) {
        (Some(b'2'), true) => "sealed",
        (Some(b'2'), false) => "passed",
        (Some(b'4'), _) => "deferred",
        _ => "bounced",
    };
    metrics::counter!(MESSAGES_TOTAL, "outcome" => outcome).increment(1);
    reply
}

/// One message as the hook holds it: Postfix's envelope, the bytes, and
/// what its header says (read once).
struct Message {
    tx: Transaction,
    bytes: Arc<Vec<u8>>,
    reading: crate::trigger::Reading,
    /// The From address, else the envelope sender.
    sender: String,
}

impl Message {
    fn read(tx: Transaction, bytes: Vec<u8>, config: &HookConfig) -> Message {
        // A securedoc notification is never sealed again because of a tag;
        // but the header proves nothing (anyone can write it), so rules,
        // which an organisation makes mandatory, still apply.
        let reading = config.policy.triggers.read(&bytes);
        let sender = reading.from.clone().unwrap_or_else(|| {
            tx.from
                .as_ref()
                .map(|(from, _)| from.clone())
                .unwrap_or_default()
        });
        Message {
            tx,
            bytes: Arc::new(bytes),
            reading,
            sender,
        }
    }

    fn envelope_from(&self) -> &str {
        self.tx.from.as_ref().map_or("", |(from, _)| from.as_str())
    }

    fn mail_params(&self) -> &str {
        self.tx
            .from
            .as_ref()
            .map_or("", |(_, params)| params.as_str())
    }

    fn recipients(&self) -> Vec<String> {
        self.tx.to.iter().map(|(to, _)| to.clone()).collect()
    }

    /// Where a plain reply to a notification goes.
    fn reply_to(&self) -> String {
        self.reading
            .reply_to
            .clone()
            .unwrap_or_else(|| self.sender.clone())
    }

    /// A delivery of `bytes` to `to` (with their RCPT parameters as they
    /// came) from the envelope sender with `from_params`.
    fn delivery(&self, to: &[String], from_params: &str, bytes: Arc<Vec<u8>>) -> Delivery {
        let params = |to: &str| {
            self.tx
                .to
                .iter()
                .find(|(rcpt, _)| rcpt == to)
                .map_or(String::new(), |(_, params)| params.clone())
        };
        Delivery {
            from: self.envelope_from().to_string(),
            from_params: from_params.to_string(),
            to: to.iter().map(|to| (to.clone(), params(to))).collect(),
            xforward: self.tx.xforward.clone(),
            message: bytes,
        }
    }
}

/// Nothing to seal: the message goes on as it came, envelope and all.
async fn pass_on(queue_id: &str, message: Message, config: &HookConfig) -> String {
    let delivery = message.delivery(
        &message.recipients(),
        message.mail_params(),
        message.bytes.clone(),
    );
    let recipients: Vec<&str> = delivery.to.iter().map(|(to, _)| to.as_str()).collect();
    let recipients = recipients.join(",");
    let from = &delivery.from;
    match next_hop::deliver(
        config.next_hop,
        &config.hostname,
        config.timeout,
        std::slice::from_ref(&delivery),
    )
    .await
    {
        Ok(()) => {
            tracing::info!(queue_id, %from, recipients, outcome = "passed", "message passed on untouched");
            "250 2.0.0 Ok: passed on".into()
        }
        Err(error) => {
            tracing::warn!(queue_id, %from, recipients, outcome = "deferred", %error, "message not passed on");
            next_hop_reply(error)
        }
    }
}

/// The bounce for a recipient who can get no envelope.
fn refused_reply((to, reason): &(String, String)) -> String {
    reply(
        "550 5.1.3",
        &format!("This message cannot be sent securely to {to}: {reason}"),
    )
}

/// Seals for the outside recipients the plan names, then hands on the
/// clear copy, the notifications and the sender's confirmation.
async fn seal_and_pass_on(
    queue_id: &str,
    message: Message,
    plan: Plan,
    config: &HookConfig,
    sealing_slots: &tokio::sync::Semaphore,
) -> String {
    let from = message.envelope_from().to_string();
    let rules: Vec<&str> = plan.sealed.iter().map(|(s, _)| s.rule.as_str()).collect();
    let rules = rules.join(",");
    let Some(sealer) = config.sealing.clone() else {
        tracing::warn!(queue_id, %from, rules, outcome = "deferred", "a message is to be sealed and no key server is set up");
        return reply(
            "451 4.7.0",
            "This message is to be sealed and this gateway has no key server set up; it stays queued",
        );
    };
    // Only attached envelopes make large notifications: a pull
    // notification carries a link.
    let estimate = notification_estimate(message.bytes.len());
    let page = page_estimate(message.bytes.len()) as u64;
    let attached: usize = plan
        .sealed
        .iter()
        .filter(|(sealing, _)| !sealing.options.pulls(page))
        .map(|(_, group)| group.len())
        .sum();
    if attached > 0 && estimate > config.max_notification_size {
        tracing::warn!(queue_id, %from, rules, size = message.bytes.len(), outcome = "bounced", "too large to send sealed");
        return reply(
            "552 5.3.4",
            &format!(
                "This message is to be sent securely, and as a secure envelope attached to a notification it would be about {}, over the {} this gateway sends. Send smaller attachments, or share them another way",
                megabytes(estimate),
                megabytes(config.max_notification_size)
            ),
        );
    }
    // All the notifications are held at once before the first goes: bound them.
    let envelopes = attached;
    let budget = OUTPUT_BUDGET_NOTIFICATIONS * config.max_notification_size;
    if estimate.saturating_mul(envelopes) > budget {
        tracing::warn!(queue_id, %from, rules, size = message.bytes.len(), envelopes, outcome = "bounced", "too many envelopes of this size");
        return reply(
            "552 5.3.4",
            &format!(
                "This message is to be sent securely to {envelopes} recipients, each with their own envelope of about {}; this gateway makes at most {} of envelopes per message. Send it to fewer recipients at once, or with smaller attachments",
                megabytes(estimate),
                megabytes(budget)
            ),
        );
    }

    // Who may not get an envelope at all: an address no envelope can name.
    let mut refused = Vec::new();
    let mut jobs = Vec::new();
    let sealed_bytes = match config
        .policy
        .triggers
        .strip_tags(&message.bytes, &message.reading)
    {
        Some(stripped) => Arc::new(stripped),
        None => message.bytes.clone(),
    };
    for (sealing, group) in &plan.sealed {
        let mut recipients = Vec::new();
        for to in group {
            match envelope_core::validate_address("recipient", to) {
                Ok(()) => recipients.push(to.clone()),
                Err(reason) => refused.push((to.clone(), reason)),
            }
        }
        if !recipients.is_empty() {
            jobs.push(SealJob {
                sender: message.sender.clone(),
                reply_to: message.reply_to(),
                recipients,
                message: sealed_bytes.clone(),
                options: sealing.options.clone(),
            });
        }
    }
    // The confirmation goes to the sender, never outside the organisation
    // (so never without `internal_domains`).
    let confirm = config.confirm_sender
        && !from.is_empty()
        && crate::policy::plain_local(&message.sender)
        && crate::policy::matches(&config.policy.internal_domains, &message.sender);
    if let Some(first) = refused.first() {
        // Without a confirmation the sender would never learn: bounce it all.
        if !confirm || (jobs.is_empty() && plan.clear.is_empty()) {
            tracing::warn!(queue_id, %from, rules, outcome = "bounced", to = %first.0, reason = %first.1, "a recipient cannot get an envelope");
            return refused_reply(first);
        }
    }

    // Seal every group before anything is handed on.
    let started = std::time::Instant::now();
    let slot = sealing_slots.acquire().await;
    let mut sealed: Vec<SealedGroup> = Vec::new();
    for job in jobs {
        let sealer = sealer.clone();
        let result = tokio::task::spawn_blocking(move || sealer.seal(&job))
            .await
            .unwrap_or_else(|_| {
                Err(SealFailure::Temporary(
                    "sealing stopped unexpectedly".into(),
                ))
            });
        match result {
            Ok(group) => sealed.push(group),
            Err(failure) => {
                let (code, outcome, reason) = match &failure {
                    SealFailure::Temporary(reason) => ("451 4.7.0", "deferred", format!(
                        "This message is to be sent securely and cannot be sealed now; it stays queued: {reason}"
                    )),
                    SealFailure::Permanent(reason) => ("550 5.7.1", "bounced", format!(
                        "This message cannot be sent securely: {reason}"
                    )),
                };
                tracing::warn!(queue_id, %from, rules, outcome, reason = %failure, "message not sealed");
                return reply(code, &reason);
            }
        }
    }
    drop(slot);
    let seal_ms = started.elapsed().as_millis() as u64;
    let messages: Vec<&str> = sealed
        .iter()
        .filter_map(|g| g.message_id.as_deref())
        .collect();
    let messages = messages.join(",");
    let notifications: Vec<(&Notification, Option<i64>)> = sealed
        .iter()
        .flat_map(|g| g.notifications.iter().map(move |n| (n, g.expires)))
        .collect();
    if let Some((big, _)) = notifications
        .iter()
        .find(|(n, _)| n.mail.as_ref().map_or(0, Vec::len) > config.max_notification_size)
    {
        tracing::warn!(queue_id, %from, rules, outcome = "bounced", reason = "notification over max_notification_size", "a notification is too large");
        return reply(
            "552 5.3.4",
            &format!(
                "This message is to be sent securely, and its notification would be {}, over the {} this gateway sends. Send smaller attachments, or share them another way",
                megabytes(big.mail.as_ref().map_or(0, Vec::len)),
                megabytes(config.max_notification_size)
            ),
        );
    }
    let envelopes: Vec<&str> = notifications
        .iter()
        .map(|(n, _)| n.envelope_id.as_str())
        .collect();
    let envelopes = envelopes.join(",");
    let sealed_count = notifications.len();

    // The sender's confirmation, built before anything goes: a recipient
    // who gets nothing must be told, by it or by a bounce.
    let confirmation = if confirm {
        let report = Report {
            to: message.sender.clone(),
            subject: message.reading.subject.clone(),
            sealed: notifications
                .iter()
                .map(|(n, expires)| (n.recipient.clone(), *expires))
                .collect(),
            internal: plan.internal.clone(),
            clear: plan
                .clear
                .iter()
                .filter(|to| !plan.internal.contains(to))
                .cloned()
                .collect(),
            refused: refused.clone(),
        };
        let sealer = sealer.clone();
        match tokio::task::spawn_blocking(move || sealer.confirmation(&report)).await {
            Ok(Ok(mail)) => Some(Delivery {
                // A notice like a bounce: the null sender, so it never bounces back.
                from: String::new(),
                from_params: String::new(),
                to: vec![(message.sender.clone(), String::new())],
                xforward: Vec::new(),
                message: Arc::new(mail),
            }),
            failed => {
                let error = match failed {
                    Ok(Err(error)) => error.to_string(),
                    _ => "the confirmation could not be written".into(),
                };
                if let Some(first) = refused.first() {
                    tracing::warn!(queue_id, %from, rules, outcome = "bounced", %error, "no confirmation to name a refused recipient");
                    return refused_reply(first);
                }
                tracing::warn!(queue_id, %error, "no confirmation for the sender");
                None
            }
        }
    } else {
        None
    };

    // Everything to hand on: the message as it came to those who get it so,
    // then each notification. The notifications are new messages: no SIZE
    // or BODY from the original.
    let new_params: String = message
        .mail_params()
        .split_ascii_whitespace()
        .filter(|p| {
            let key = p.split('=').next().unwrap_or_default();
            ["RET", "ENVID", "SMTPUTF8"]
                .iter()
                .any(|k| k.eq_ignore_ascii_case(key))
        })
        .map(|p| format!(" {p}"))
        .collect();
    let mut deliveries = Vec::new();
    if !plan.clear.is_empty() {
        deliveries.push(message.delivery(
            &plan.clear,
            message.mail_params(),
            message.bytes.clone(),
        ));
    }
    let sealed_mail = sealed.into_iter().flat_map(|g| g.notifications);
    for notification in sealed_mail {
        // A recipient without notification mails finds it in the portal.
        let Some(mail) = notification.mail else {
            tracing::info!(
                queue_id,
                "a recipient turned notification mails off: sealed for the portal, not mailed"
            );
            continue;
        };
        deliveries.push(message.delivery(
            std::slice::from_ref(&notification.recipient),
            &new_params,
            Arc::new(mail),
        ));
    }
    let started = std::time::Instant::now();
    match next_hop::deliver(
        config.next_hop,
        &config.hostname,
        config.timeout,
        &deliveries,
    )
    .await
    {
        Ok(()) => {
            tracing::info!(
                queue_id,
                %from,
                rules,
                seal_ms,
                hand_on_ms = started.elapsed().as_millis() as u64,
                recipients = message.recipients().join(","),
                sealed = sealed_count,
                clear = plan.clear.len(),
                refused = refused.len(),
                messages,
                envelopes,
                outcome = "sealed",
                "message sealed and passed on"
            );
            metrics::counter!(ENVELOPES_TOTAL).increment(sealed_count as u64);
            // The confirmation is a courtesy: the message went, whatever becomes of it.
            if let Some(confirmation) = confirmation {
                if let Err(error) = next_hop::deliver(
                    config.next_hop,
                    &config.hostname,
                    config.timeout,
                    std::slice::from_ref(&confirmation),
                )
                .await
                {
                    tracing::warn!(queue_id, %error, refused = refused.len(), "the confirmation did not go");
                }
            }
            format!(
                "250 2.0.0 Ok: sealed for {} recipient{}",
                sealed_count,
                if sealed_count == 1 { "" } else { "s" }
            )
        }
        Err(error) => {
            tracing::warn!(queue_id, %from, rules, messages, outcome = "deferred", %error, "sealed message not passed on");
            next_hop_reply(error)
        }
    }
}
