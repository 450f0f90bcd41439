//! Answering a secure message — Reply, Reply all, Forward — wherever it
//! was read: Open Online (`/open/view/{id}`) or the portal (`/portal/m/{id}`)
//! (docs/OPENER.md, "Answering"; docs/PORTAL.md). The rules are here, once:
//!
//! What may be sent is decided on the server, whatever the page shows: the
//! sender's flags (`--no-reply`, `--no-reply-all`, `--no-forward`), who
//! may receive it (Reply: the original sender; Reply all: the sender and
//! those of the other recipients in `reply_domains`; Forward: any address
//! only with `forward_outside`, else the sender and `reply_domains`), and
//! the limits (files, their total, the whole message).
//!
//! The answer is itself a secure message: one server-mode envelope per
//! recipient, each with its own id and key registered here, mailed as a
//! notification through the mail queue (`sending`). Its plaintext exists
//! only in the request's memory. `form` is the compose page and its post.

mod form;
mod html;
mod options;
mod sending;

use envelope_core::{Flags, MessageView};
use securedoc_templates::{fill, text};
use serde::{Deserialize, Serialize};

pub(crate) use form::{compose_page_for, formatted, read_form, send, Paths, Posted, Prefill, Sent};
pub(crate) use options::{end_of_day, STAFF as STAFF_SENDER};

/// The message being answered, however it was opened.
pub(crate) struct Source {
    /// Its envelope's id (the sender's record counts the reply there).
    pub message_id: String,
    /// Who answers: the envelope's recipient.
    pub recipient: String,
    /// The original sender (the From the sender's token registered).
    pub sender: String,
    /// What the sender allows.
    pub flags: Flags,
    /// The page's language.
    pub lang: &'static str,
    /// The message (empty for a new one).
    pub message: MessageView,
    /// A new message may be written (the portal's Compose, to `compose_domains`).
    pub may_compose: bool,
    /// Written by staff: a new message may go to any address, with the
    /// sender options (`options`).
    pub staff: bool,
}

/// Reply, Reply all, Forward, or a new message (from the portal's Compose).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Reply,
    ReplyAll,
    Forward,
    New,
}

impl Kind {
    /// Whether `source` may be answered (or, for [`Kind::New`], whether
    /// its reader may compose at all): the sender's flags decide answers.
    pub(crate) fn allowed_for(self, source: &Source) -> bool {
        match self {
            Kind::New => source.may_compose,
            kind => kind.allowed(&source.flags),
        }
    }

    pub(crate) fn allowed(self, flags: &Flags) -> bool {
        match self {
            Kind::Reply => flags.reply,
            Kind::ReplyAll => flags.reply_all,
            Kind::Forward => flags.forward,
            Kind::New => false,
        }
    }

    /// The recipients come from the form (Forward, New), not the message.
    pub(crate) fn typed_recipients(self) -> bool {
        matches!(self, Kind::Forward | Kind::New)
    }

    /// A kind as a form names it.
    pub(crate) fn parse(name: &str) -> Option<Kind> {
        match name {
            "reply" => Some(Kind::Reply),
            "reply_all" => Some(Kind::ReplyAll),
            "forward" => Some(Kind::Forward),
            "new" => Some(Kind::New),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Reply => "reply",
            Kind::ReplyAll => "reply_all",
            Kind::Forward => "forward",
            Kind::New => "new",
        }
    }
}

/// Limits of one answer, from the configuration (defaults from the seeds:
/// 10 files, 30 MB of files, 35 MB in all).
#[derive(Debug, Clone)]
pub struct ComposeLimits {
    pub max_files: usize,
    pub max_files_bytes: usize,
    pub max_message_bytes: usize,
    /// Domains replies and forwards may go to besides the original sender.
    pub reply_domains: Vec<String>,
    /// Forward to any address (each must register before opening).
    pub forward_outside: bool,
    /// Answers expire after this many seconds.
    pub expires_seconds: i64,
    /// An answer token (key release's proof for answering) lasts this long.
    pub token_seconds: i64,
    /// Answers to these domains go as ordinary mail through the relay
    /// (`internal_answers_plain`); empty: every answer is sealed.
    pub plain_domains: Vec<String>,
    /// A new message from the portal may go to these domains (the
    /// organisation's); empty: recipients cannot compose new messages.
    pub compose_domains: Vec<String>,
}

/// `?kind=` of a compose page.
#[derive(Deserialize)]
pub(crate) struct KindQuery {
    pub kind: Kind,
}

/// What `flags` allow, for the buttons a page shows.
pub(crate) fn allowed(flags: &Flags) -> Vec<&'static str> {
    [Kind::Reply, Kind::ReplyAll, Kind::Forward]
        .into_iter()
        .filter(|kind| kind.allowed(flags))
        .map(Kind::as_str)
        .collect()
}

/// Whether `address` is in one of `domains` (lower-cased, as configured).
fn in_domains(address: &str, domains: &[String]) -> bool {
    let domain = address.rsplit_once('@').map_or("", |(_, domain)| domain);
    domains.iter().any(|d| domain.eq_ignore_ascii_case(d))
}

/// May `address` receive this kind of answer to `source`?
fn may_receive(limits: &ComposeLimits, kind: Kind, source: &Source, address: &str) -> bool {
    if kind != Kind::New && address.eq_ignore_ascii_case(&source.sender) {
        return true;
    }
    match kind {
        Kind::Reply => false,
        Kind::ReplyAll => in_domains(address, &limits.reply_domains),
        Kind::Forward => limits.forward_outside || in_domains(address, &limits.reply_domains),
        // Staff write to the people outside they serve.
        Kind::New => source.staff || in_domains(address, &limits.compose_domains),
    }
}

/// The bare address in `Name <addr>`.
fn bare(address: &str) -> String {
    address
        .rsplit_once('<')
        .map_or(address, |(_, rest)| rest.trim_end_matches('>'))
        .trim()
        .to_ascii_lowercase()
}

/// The recipients a kind starts with, and those Reply all leaves out.
fn recipients(limits: &ComposeLimits, kind: Kind, source: &Source) -> (Vec<String>, Vec<String>) {
    let (message, sender) = (&source.message, source.sender.clone());
    match kind {
        Kind::Reply => (vec![sender], Vec::new()),
        Kind::Forward | Kind::New => (Vec::new(), Vec::new()),
        Kind::ReplyAll => {
            let mut to = vec![sender.clone()];
            let mut left_out = Vec::new();
            for address in message.to.iter().chain(&message.cc).map(|a| bare(a)) {
                if address == source.recipient.to_ascii_lowercase() || to.contains(&address) {
                    continue;
                }
                if may_receive(limits, kind, source, &address) {
                    to.push(address);
                } else if !left_out.contains(&address) {
                    left_out.push(address);
                }
            }
            (to, left_out)
        }
    }
}

fn subject_for(kind: Kind, subject: &str) -> String {
    if kind == Kind::New {
        return String::new();
    }
    let (prefix, has) = match kind {
        Kind::Forward => ("Fwd: ", subject.to_ascii_lowercase().starts_with("fwd:")),
        _ => ("Re: ", subject.to_ascii_lowercase().starts_with("re:")),
    };
    if has {
        subject.to_string()
    } else {
        format!("{prefix}{subject}")
    }
}

/// The original's text, quoted below the answer.
fn quoted(lang: &str, message: &MessageView) -> String {
    let Some(text_body) = message.text.as_deref() else {
        return String::new();
    };
    let intro = fill(
        &text(lang, "compose.quote_intro"),
        &[
            ("from", message.from.clone()),
            ("date", message.date.clone().unwrap_or_default()),
        ],
    );
    let lines: String = text_body.lines().map(|l| format!("> {l}\n")).collect();
    format!("\n\n{intro}\n{lines}")
}
