//! One whole message: decide who gets what (policy), seal for the outside
//! recipients that must get envelopes, hand everything on, and say what
//! Postfix should do with the message.
//!
//! Every output is built before the first is handed on, so a failure while
//! sealing hands on nothing; the answer is 250 only once the next hop took
//! every output. A message that asks to be sealed is never handed on as it
//! came to a recipient it was to be sealed for, whatever fails.

use std::collections::HashMap;
use std::sync::Arc;

use crate::next_hop::{self, Delivery, NextHopError};
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

/// At least the size of a notification carrying an envelope of `message`
/// (about 1.8 × plus 270 KB): the page (about 160 KB) around the base64 of
/// the sealed message, base64 again in the mail. Checked before anything
/// is registered, so a message too large leaves nothing at the key server.
fn notification_estimate(message: usize) -> usize {
    (message + 200 * 1024) * 4 / 3 * 4 / 3
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
    let reply = decide(tx, message, config, sealing_slots).await;
    let outcome = match reply.as_bytes().first() {
        Some(b'2') if reply.contains("sealed") => "sealed",
        Some(b'2') => "passed",
        Some(b'4') => "deferred",
        _ => "bounced",
    };
    metrics::counter!(MESSAGES_TOTAL, "outcome" => outcome).increment(1);
    reply
}

async fn decide(
    tx: Transaction,
    message: Option<Vec<u8>>,
    config: &HookConfig,
    sealing_slots: &tokio::sync::Semaphore,
) -> String {
    let queue_id = tx.queue_id().to_string();
    let Some(message) = message else {
        tracing::warn!(
            queue_id,
            outcome = "bounced",
            reason = "over max_size",
            "message too large"
        );
        return too_large(config);
    };
    let (from, from_params) = tx.from.clone().unwrap_or_default();
    let recipients: Vec<String> = tx.to.iter().map(|(to, _)| to.clone()).collect();
    let headers = Headers::of(&message, &from);
    // A securedoc notification is never sealed again because of a tag; but
    // the header proves nothing (anyone can write it), so rules, which an
    // organisation makes mandatory, still apply.
    let triggered = config.policy.triggers.matches(&message);
    let plan = config.policy.plan(
        &[headers.sender.as_str(), from.as_str()],
        &recipients,
        triggered,
    );
    if !plan.seals() {
        let delivery = Delivery {
            from,
            from_params,
            to: tx.to,
            xforward: tx.xforward,
            message,
        };
        let recipients: Vec<&str> = delivery.to.iter().map(|(to, _)| to.as_str()).collect();
        let recipients = recipients.join(",");
        return match next_hop::deliver(
            config.next_hop,
            &config.hostname,
            config.timeout,
            std::slice::from_ref(&delivery),
        )
        .await
        {
            Ok(()) => {
                tracing::info!(queue_id, from = %delivery.from, recipients, outcome = "passed", "message passed on untouched");
                "250 2.0.0 Ok: passed on".into()
            }
            Err(error) => {
                tracing::warn!(queue_id, from = %delivery.from, recipients, outcome = "deferred", %error, "message not passed on");
                next_hop_reply(error)
            }
        };
    }
    let rules: Vec<&str> = plan.sealed.iter().map(|(s, _)| s.rule.as_str()).collect();
    let rules = rules.join(",");
    let Some(sealer) = config.sealing.clone() else {
        tracing::warn!(queue_id, %from, rules, outcome = "deferred", "a message is to be sealed and no key server is set up");
        return reply(
            "451 4.7.0",
            "This message is to be sealed and this gateway has no key server set up; it stays queued",
        );
    };
    if notification_estimate(message.len()) > config.max_notification_size {
        tracing::warn!(queue_id, %from, rules, size = message.len(), outcome = "bounced", "too large to send sealed");
        return reply(
            "552 5.3.4",
            &format!(
                "This message is to be sent securely, and as a secure envelope attached to a notification it would be about {}, over the {} this gateway sends. Send smaller attachments, or share them another way",
                megabytes(notification_estimate(message.len())),
                megabytes(config.max_notification_size)
            ),
        );
    }
    // All the notifications are held at once before the first goes: bound them.
    let envelopes: usize = plan.sealed.iter().map(|(_, group)| group.len()).sum();
    let budget = OUTPUT_BUDGET_NOTIFICATIONS * config.max_notification_size;
    if notification_estimate(message.len()).saturating_mul(envelopes) > budget {
        tracing::warn!(queue_id, %from, rules, size = message.len(), envelopes, outcome = "bounced", "too many envelopes of this size");
        return reply(
            "552 5.3.4",
            &format!(
                "This message is to be sent securely to {envelopes} recipients, each with their own envelope of about {}; this gateway makes at most {} of envelopes per message. Send it to fewer recipients at once, or with smaller attachments",
                megabytes(notification_estimate(message.len())),
                megabytes(budget)
            ),
        );
    }

    // Who may not get an envelope at all: an address no envelope can name.
    let mut refused = Vec::new();
    let mut jobs = Vec::new();
    let (stripped, subject) = config.policy.triggers.strip_tags(&message);
    let stripped = Arc::new(stripped);
    for (sealing, group) in &plan.sealed {
        let mut recipients = Vec::new();
        for to in group {
            match envelope_core::validate_address("recipient", to) {
                Ok(()) => recipients.push(to.clone()),
                Err(reason) => refused.push((to.clone(), reason)),
            }
        }
        if !recipients.is_empty() {
            jobs.push((
                sealing.rule.clone(),
                SealJob {
                    sender: headers.sender.clone(),
                    reply_to: headers.reply_to.clone(),
                    recipients,
                    message: stripped.clone(),
                    options: sealing.options.clone(),
                },
            ));
        }
    }
    // The confirmation goes to the sender, never outside the organisation
    // (so never without `internal_domains`).
    let confirm = config.confirm_sender
        && !from.is_empty()
        && crate::policy::plain_local(&headers.sender)
        && crate::policy::matches(&config.policy.internal_domains, &headers.sender);
    if let (Some((to, reason)), false) = (refused.first(), confirm) {
        // Without a confirmation the sender would never learn: bounce it all.
        tracing::warn!(queue_id, %from, rules, outcome = "bounced", %to, %reason, "a recipient cannot get an envelope");
        return reply(
            "550 5.1.3",
            &format!("This message cannot be sent securely to {to}: {reason}"),
        );
    }
    if let (true, true, Some((to, reason))) =
        (jobs.is_empty(), plan.clear.is_empty(), refused.first())
    {
        tracing::warn!(queue_id, %from, rules, outcome = "bounced", %to, %reason, "no recipient can get an envelope");
        return reply(
            "550 5.1.3",
            &format!("This message cannot be sent securely to {to}: {reason}"),
        );
    }

    // Seal every group before anything is handed on.
    let started = std::time::Instant::now();
    let slot = sealing_slots.acquire().await;
    let mut sealed: Vec<(String, SealedGroup)> = Vec::new();
    for (rule, job) in jobs {
        let sealer = sealer.clone();
        let result = tokio::task::spawn_blocking(move || sealer.seal(&job))
            .await
            .unwrap_or_else(|_| {
                Err(SealFailure::Temporary(
                    "sealing stopped unexpectedly".into(),
                ))
            });
        match result {
            Ok(group) => sealed.push((rule, group)),
            Err(failure) => {
                let (code, outcome) = match failure {
                    SealFailure::Temporary(_) => ("451 4.7.0", "deferred"),
                    SealFailure::Permanent(_) => ("550 5.7.1", "bounced"),
                };
                tracing::warn!(queue_id, %from, rules, outcome, reason = %failure, "message not sealed");
                let reason = match failure {
                    SealFailure::Temporary(reason) => format!(
                        "This message is to be sent securely and cannot be sealed now; it stays queued: {reason}"
                    ),
                    SealFailure::Permanent(reason) => {
                        format!("This message cannot be sent securely: {reason}")
                    }
                };
                return reply(code, &reason);
            }
        }
    }
    drop(slot);
    let seal_ms = started.elapsed().as_millis() as u64;
    let messages: Vec<String> = sealed
        .iter()
        .filter_map(|(_, g)| g.message_id.clone())
        .collect();
    let messages = messages.join(",");
    let report_sealed: Vec<(String, Option<i64>)> = sealed
        .iter()
        .flat_map(|(_, g)| {
            g.notifications
                .iter()
                .map(|n| (n.recipient.clone(), g.expires))
        })
        .collect();
    let notifications: Vec<Notification> = sealed
        .into_iter()
        .flat_map(|(_, g)| g.notifications)
        .collect();
    if let Some(big) = notifications
        .iter()
        .find(|n| n.mail.len() > config.max_notification_size)
    {
        tracing::warn!(queue_id, %from, rules, outcome = "bounced", reason = "notification over max_notification_size", "a notification is too large");
        return reply(
            "552 5.3.4",
            &format!(
                "This message is to be sent securely, and its notification would be {}, over the {} this gateway sends. Send smaller attachments, or share them another way",
                megabytes(big.mail.len()),
                megabytes(config.max_notification_size)
            ),
        );
    }
    let envelopes: Vec<&str> = notifications
        .iter()
        .map(|n| n.envelope_id.as_str())
        .collect();
    let envelopes = envelopes.join(",");
    let sealed_count = notifications.len();

    // The sender's confirmation, built before anything goes: a recipient
    // who gets nothing must be told, by it or by a bounce.
    let confirmation = if confirm {
        let report = Report {
            to: headers.sender.clone(),
            subject,
            sealed: report_sealed,
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
                to: vec![(headers.sender.clone(), String::new())],
                xforward: Vec::new(),
                message: mail,
            }),
            failed => {
                let error = match failed {
                    Ok(Err(error)) => error.to_string(),
                    _ => "the confirmation could not be written".into(),
                };
                if let Some((to, reason)) = refused.first() {
                    tracing::warn!(queue_id, %from, rules, outcome = "bounced", %error, "no confirmation to name a refused recipient");
                    return reply(
                        "550 5.1.3",
                        &format!("This message cannot be sent securely to {to}: {reason}"),
                    );
                }
                tracing::warn!(queue_id, %error, "no confirmation for the sender");
                None
            }
        }
    } else {
        None
    };

    // Everything to hand on: the message as it came to those who get it so,
    // then each notification.
    let params: HashMap<&str, &str> = tx
        .to
        .iter()
        .map(|(to, params)| (to.as_str(), params.as_str()))
        .collect();
    let with_params = |to: &str| -> (String, String) {
        (
            to.to_string(),
            params.get(to).copied().unwrap_or("").to_string(),
        )
    };
    // The notifications are new messages: no SIZE or BODY from the original.
    let new_params: String = from_params
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
        deliveries.push(Delivery {
            from: from.clone(),
            from_params: from_params.clone(),
            to: plan.clear.iter().map(|to| with_params(to)).collect(),
            xforward: tx.xforward.clone(),
            message,
        });
    }
    for notification in notifications {
        deliveries.push(Delivery {
            from: from.clone(),
            from_params: new_params.clone(),
            to: vec![with_params(&notification.recipient)],
            xforward: tx.xforward.clone(),
            message: notification.mail,
        });
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
                recipients = recipients.join(","),
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

/// What the hook reads from the message's header.
struct Headers {
    /// The From address (else the envelope sender).
    sender: String,
    /// The Reply-To address (else the sender).
    reply_to: String,
}

impl Headers {
    fn of(message: &[u8], envelope_from: &str) -> Headers {
        let parsed = mail_parser::MessageParser::default().parse_headers(message);
        let first = |address: Option<&mail_parser::Address>| {
            address
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .map(str::to_string)
        };
        let sender = parsed
            .as_ref()
            .and_then(|p| first(p.from()))
            .unwrap_or_else(|| envelope_from.to_string());
        let reply_to = parsed
            .as_ref()
            .and_then(|p| first(p.reply_to()))
            .unwrap_or_else(|| sender.clone());
        Headers { sender, reply_to }
    }
}
