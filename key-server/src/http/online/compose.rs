//! Reply, Reply all and Forward from a message opened online
//! (docs/OPENER.md, "Answering"). The recipient proved who they are by
//! opening it: the compose page lives under the view, behind its cookie, and
//! never takes an address from the URL.
//!
//! What may be sent is decided here, whatever the page shows: the
//! envelope's flags (`--no-reply`, `--no-reply-all`, `--no-forward`), who
//! may receive it (Reply: the original sender; Reply all: the sender and
//! those of the other recipients in `reply_domains`; Forward: any address
//! only with `forward_outside`, else the sender and `reply_domains`), and
//! the limits (files, their total, the whole message).
//!
//! The answer is itself a secure message: one server-mode envelope per
//! recipient, each with its own id and key registered here, mailed as a
//! notification through the mail queue. Its plaintext exists only in this
//! request's memory.

use std::collections::BTreeMap;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use envelope_core::{
    ContentKey, Draft, DraftAttachment, EnvelopeInfo, Flags, MessageView, Sealer, SecurityLevel,
};
use securedoc_templates::{context, fill, render_email, text};
use serde::{Deserialize, Serialize};

use super::{opened, say, view_gone, Opened};
use crate::http::pages::render;
use crate::http::AppState;
use crate::mail::{MailAttachment, Mailer};
use crate::store::{NewEnvelope, NewMessage};

/// Reply, Reply all or Forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Reply,
    ReplyAll,
    Forward,
}

impl Kind {
    pub(super) fn allowed(self, flags: &Flags) -> bool {
        match self {
            Kind::Reply => flags.reply,
            Kind::ReplyAll => flags.reply_all,
            Kind::Forward => flags.forward,
        }
    }

    /// A kind as a form names it.
    pub(super) fn parse(name: &str) -> Option<Kind> {
        match name {
            "reply" => Some(Kind::Reply),
            "reply_all" => Some(Kind::ReplyAll),
            "forward" => Some(Kind::Forward),
            _ => None,
        }
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Kind::Reply => "reply",
            Kind::ReplyAll => "reply_all",
            Kind::Forward => "forward",
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
}

#[derive(Deserialize)]
pub(super) struct KindQuery {
    kind: Kind,
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

/// May `address` receive this kind of answer?
fn may_receive(limits: &ComposeLimits, kind: Kind, sender: &str, address: &str) -> bool {
    if address.eq_ignore_ascii_case(sender) {
        return true;
    }
    match kind {
        Kind::Reply => false,
        Kind::ReplyAll => in_domains(address, &limits.reply_domains),
        Kind::Forward => limits.forward_outside || in_domains(address, &limits.reply_domains),
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
fn recipients(
    limits: &ComposeLimits,
    kind: Kind,
    opened: &Opened,
    message: &MessageView,
) -> (Vec<String>, Vec<String>) {
    let sender = opened.sender.clone();
    match kind {
        Kind::Reply => (vec![sender], Vec::new()),
        Kind::Forward => (Vec::new(), Vec::new()),
        Kind::ReplyAll => {
            let mut to = vec![sender.clone()];
            let mut left_out = Vec::new();
            for address in message.to.iter().chain(&message.cc).map(|a| bare(a)) {
                if address == opened.recipient.to_ascii_lowercase() || to.contains(&address) {
                    continue;
                }
                if may_receive(limits, kind, &sender, &address) {
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

#[derive(Serialize)]
struct Original {
    n: usize,
    name: String,
    size: String,
}

#[allow(clippy::too_many_arguments)]
fn compose_page(
    status: StatusCode,
    state: &AppState,
    id: &str,
    opened: &Opened,
    kind: Kind,
    to: &str,
    subject: &str,
    body: &str,
    keep: Option<&[usize]>,
    errors: BTreeMap<&str, String>,
) -> Response {
    let lang = opened.lang;
    let message = MessageView::parse(&opened.message).unwrap_or_default();
    let limits = &state.settings.compose;
    let (_, left_out) = recipients(limits, kind, opened, &message);
    let originals: Vec<Original> = match kind {
        Kind::Forward => message
            .attachments
            .iter()
            .enumerate()
            .map(|(n, part)| Original {
                n,
                name: part.name.clone(),
                size: super::render::size(part.bytes.len(), lang),
            })
            .collect(),
        _ => Vec::new(),
    };
    let kept: Vec<usize> = keep.map_or_else(|| (0..originals.len()).collect(), <[usize]>::to_vec);
    render(
        status,
        "compose",
        lang,
        context! {
            action => format!("/open/view/{id}/compose"),
            back => format!("/open/view/{id}"),
            kind => kind.as_str(),
            title => text(lang, &format!("compose.title_{}", kind.as_str())),
            to,
            to_editable => kind == Kind::Forward,
            subject,
            body,
            originals,
            kept,
            left_out => left_out.join(", "),
            limits => fill(
                &text(lang, "compose.limits"),
                &[
                    ("files", limits.max_files.to_string()),
                    ("total", super::render::size(limits.max_files_bytes, lang)),
                    ("message", super::render::size(limits.max_message_bytes, lang)),
                ],
            ),
            errors,
        },
    )
}

fn forbidden(lang: &str, kind: Kind) -> Response {
    say(
        StatusCode::FORBIDDEN,
        lang,
        &format!("compose.not_allowed_{}", kind.as_str()),
    )
}

/// `GET /open/view/{id}/compose?kind=`: the compose page.
pub(super) async fn compose_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<KindQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(opened) = opened(&state, &id, &headers) else {
        return view_gone(&headers);
    };
    let kind = query.kind;
    if !kind.allowed(&opened.flags) {
        return forbidden(opened.lang, kind);
    }
    let message = MessageView::parse(&opened.message).unwrap_or_default();
    let (to, _) = recipients(&state.settings.compose, kind, &opened, &message);
    let body = quoted(opened.lang, &message);
    compose_page(
        StatusCode::OK,
        &state,
        &id,
        &opened,
        kind,
        &to.join(", "),
        &subject_for(kind, &message.subject),
        &body,
        None,
        BTreeMap::new(),
    )
}

/// What the compose form posted.
#[derive(Default)]
struct Posted {
    kind: Option<Kind>,
    to: String,
    subject: String,
    body: String,
    keep: Vec<usize>,
    files: Vec<DraftAttachment>,
    too_large: bool,
}

async fn read_form(mut form: Multipart, limit: usize) -> Result<Posted, ()> {
    let mut posted = Posted::default();
    let mut total = 0usize;
    loop {
        let Some(mut field) = form.next_field().await.map_err(|_| ())? else {
            break;
        };
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => {
                let file_name = field.file_name().unwrap_or_default().to_string();
                let mut bytes = Vec::new();
                // Read in chunks and stop counting past the limit: the
                // request's own limit bounds what is read at all.
                while let Some(chunk) = field.chunk().await.map_err(|_| ())? {
                    total += chunk.len();
                    if total > limit {
                        posted.too_large = true;
                    } else {
                        bytes.extend_from_slice(&chunk);
                    }
                }
                if !file_name.is_empty() {
                    posted.files.push(DraftAttachment {
                        name: envelope_core::sanitize_filename(&file_name),
                        bytes,
                    });
                }
            }
            _ => {
                let value = field.text().await.map_err(|_| ())?;
                match name.as_str() {
                    "kind" => posted.kind = serde_json::from_value(value.into()).ok(),
                    "to" => posted.to = value,
                    "subject" => posted.subject = value,
                    "body" => posted.body = value,
                    "keep" => posted.keep.extend(value.parse::<usize>().ok()),
                    _ => {}
                }
            }
        }
    }
    Ok(posted)
}

/// `POST /open/view/{id}/compose`: checks, seals per recipient, queues the
/// notifications, and says "Your reply was sent".
pub(super) async fn send(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    let Some(opened) = opened(&state, &id, &headers) else {
        return view_gone(&headers);
    };
    let lang = opened.lang;
    let limits = state.settings.compose.clone();
    let Ok(posted) = read_form(form, limits.max_message_bytes).await else {
        return say(StatusCode::BAD_REQUEST, lang, "compose.bad_form");
    };
    let Some(kind) = posted.kind else {
        return say(StatusCode::BAD_REQUEST, lang, "compose.bad_form");
    };
    // The envelope's flags decide, whatever the page showed.
    if !kind.allowed(&opened.flags) {
        return forbidden(lang, kind);
    }
    let message = MessageView::parse(&opened.message).unwrap_or_default();

    let mut errors = BTreeMap::new();
    let to: Vec<String> = match kind {
        Kind::Forward => posted
            .to
            .split([',', ';', ' ', '\n'])
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_ascii_lowercase)
            .collect(),
        // Reply and Reply all go where the message says, never where the post says.
        _ => recipients(&limits, kind, &opened, &message).0,
    };
    if to.is_empty() {
        errors.insert("to", text(lang, "compose.to_required"));
    } else if let Some(bad) = to
        .iter()
        .find(|a| envelope_core::validate_address("to", a).is_err())
    {
        errors.insert(
            "to",
            fill(
                &text(lang, "compose.to_invalid"),
                &[("address", bad.clone())],
            ),
        );
    } else if let Some(outside) = to
        .iter()
        .find(|a| !may_receive(&limits, kind, &opened.sender, a))
    {
        errors.insert(
            "to",
            fill(
                &text(lang, "compose.to_outside"),
                &[("address", outside.clone())],
            ),
        );
    } else if to.len() > 50 {
        errors.insert("to", text(lang, "compose.to_too_many"));
    }
    let mut files = Vec::new();
    if kind == Kind::Forward {
        for n in &posted.keep {
            if let Some(part) = message.attachments.get(*n) {
                files.push(DraftAttachment {
                    name: part.name.clone(),
                    bytes: part.bytes.clone(),
                });
            }
        }
    }
    files.extend(posted.files);
    let files_bytes: usize = files.iter().map(|f| f.bytes.len()).sum();
    if files.len() > limits.max_files {
        errors.insert(
            "file",
            fill(
                &text(lang, "compose.too_many_files"),
                &[("n", limits.max_files.to_string())],
            ),
        );
    } else if posted.too_large
        || files_bytes > limits.max_files_bytes
        || files_bytes + posted.body.len() > limits.max_message_bytes
    {
        errors.insert(
            "file",
            fill(
                &text(lang, "compose.too_large"),
                &[
                    ("total", super::render::size(limits.max_files_bytes, lang)),
                    (
                        "message",
                        super::render::size(limits.max_message_bytes, lang),
                    ),
                ],
            ),
        );
    }
    if posted.subject.chars().count() > 300 {
        errors.insert("subject", text(lang, "compose.subject_too_long"));
    }
    if !errors.is_empty() {
        return compose_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &state,
            &id,
            &opened,
            kind,
            &if kind == Kind::Forward {
                posted.to.clone()
            } else {
                to.join(", ")
            },
            &posted.subject,
            &posted.body,
            Some(&posted.keep),
            errors,
        );
    }

    let draft = Draft {
        from: opened.recipient.clone(),
        to: to.clone(),
        subject: posted.subject,
        text: Some(posted.body),
        html: None,
        attachments: files,
        date: state.store.now(),
    };
    // Internal addresses first, when the configuration delivers answers to
    // them in the clear: if the relay refuses, nothing has gone anywhere.
    let (plain, sealed): (Vec<String>, Vec<String>) = to
        .iter()
        .cloned()
        .partition(|address| in_domains(address, &limits.plain_domains));
    if !plain.is_empty() {
        if let Err(error) = deliver_plain(&state, &draft, &plain).await {
            tracing::error!(%error, "the relay did not take an answer to internal addresses");
            return say(StatusCode::SERVICE_UNAVAILABLE, lang, "compose.failed");
        }
    }
    if !sealed.is_empty() {
        if let Err(error) = seal_and_queue(&state, &draft, &sealed).await {
            tracing::error!(%error, "could not seal or queue an answer");
            if plain.is_empty() {
                return say(StatusCode::INTERNAL_SERVER_ERROR, lang, "compose.failed");
            }
            // The internal addresses have it already: say so, not "nothing was sent".
            let sentence = fill(
                &text(lang, "compose.failed_partly"),
                &[("to", plain.join(", "))],
            );
            return super::say_text(StatusCode::INTERNAL_SERVER_ERROR, lang, sentence);
        }
    }
    // On the original sender's record (`securedoc message status`); the
    // answer has gone already, so a failure here is only logged.
    if let Err(error) = state
        .store
        .record_reply(&opened.message_id, &opened.recipient)
        .await
    {
        tracing::error!(%error, "could not count a reply on the sender's record");
    }
    render(
        StatusCode::OK,
        "notice",
        lang,
        context! {
            title => text(lang, "compose.sent_title"),
            lines => sent_lines(lang, &sealed, &plain),
        },
    )
}

/// What "Your message was sent" says: who got it sealed, who as ordinary
/// mail inside the organisation.
fn sent_lines(lang: &str, sealed: &[String], plain: &[String]) -> Vec<String> {
    let mut lines = Vec::new();
    if !sealed.is_empty() {
        lines.push(fill(
            &text(lang, "compose.sent_body"),
            &[("to", sealed.join(", "))],
        ));
        lines.push(text(lang, "compose.sent_after"));
    }
    if !plain.is_empty() {
        lines.push(fill(
            &text(lang, "compose.sent_internal"),
            &[("to", plain.join(", "))],
        ));
    }
    lines
}

/// Sends `draft` to `recipients` (the organisation's own addresses) as one
/// ordinary mail, straight to the relay: never through the queue, so its
/// plaintext is not stored, and an error means it was not sent.
async fn deliver_plain(
    state: &AppState,
    draft: &Draft,
    recipients: &[String],
) -> Result<(), crate::Error> {
    let message = zeroize::Zeroizing::new(envelope_core::compose(draft));
    let mailer = state.mailer.clone();
    let from = state.settings.mail_from.clone();
    let to = recipients.to_vec();
    tokio::task::spawn_blocking(move || mailer.send_raw_blocking(&from, &to, &message))
        .await
        .map_err(|e| crate::Error::Io(std::io::Error::other(e)))??;
    metrics::counter!("securedoc_answers_total", "kind" => "plain").increment(1);
    tracing::info!(
        recipients = recipients.len(),
        "an answer went to internal addresses as ordinary mail"
    );
    Ok(())
}

/// Seals `draft` for each of `recipients` (own id and key, registered here)
/// and queues each notification with its envelope attached.
async fn seal_and_queue(
    state: &AppState,
    draft: &Draft,
    recipients: &[String],
) -> Result<(), crate::Error> {
    let limits = &state.settings.compose;
    let sender_id = state.store.internal_sender("securedoc-answers").await?;
    let created = state.store.now();
    let expires = created + limits.expires_seconds;
    let flags = Flags::default();
    // Each recipient's envelope: its own random id and content key.
    let keys: Vec<([u8; 16], ContentKey)> = recipients
        .iter()
        .map(|_| (crate::random::<16>(), ContentKey::generate()))
        .collect();
    let envelopes: Vec<NewEnvelope> = recipients
        .iter()
        .zip(&keys)
        .map(|(to, (id, key))| {
            let id = crate::hex(id);
            NewEnvelope {
                sealed_key: state.master_key.seal(&id, key.as_bytes()),
                id,
                recipient: to.clone(),
            }
        })
        .collect();
    let statuses = state
        .store
        .register_envelopes(
            &sender_id,
            &NewMessage {
                from: draft.from.clone(),
                expires: Some(expires),
                flags,
                security: SecurityLevel::High,
                sending_id: crate::hex(&crate::random::<16>()),
                sender_lang: None,
            },
            &envelopes,
        )
        .await?;
    let message = zeroize::Zeroizing::new(envelope_core::compose(draft));
    let packed = envelope_core::pack(&message)
        .map_err(|e| crate::Error::Unprocessable(format!("cannot seal: {e}")))?;
    // Each recipient's notification and envelope in their account's language.
    let notification = |lang: Option<&str>| {
        render_email(
            "notification",
            context! {
                lang,
                sender => &draft.from,
                mode => "server",
                key_server => state.settings.organization_name.as_ref().unwrap_or(&state.settings.public_url),
                expires => jiff::Timestamp::from_second(expires).map(|t| t.strftime("%Y-%m-%d").to_string()).ok(),
            },
        )
        .map_err(|e| crate::Error::Unprocessable(format!("cannot render the notification: {e}")))
    };
    for ((to, (id, key)), status) in recipients.iter().zip(keys).zip(statuses) {
        let email = notification(status.language.as_deref())?;
        let info = EnvelopeInfo {
            from: draft.from.clone(),
            to: to.clone(),
            created,
            expires: Some(expires),
            flags,
        };
        let html = envelope_page(info, id, status, state, key, &packed)
            .map_err(|e| crate::Error::Unprocessable(format!("cannot seal: {e}")))?;
        let mail = Mailer::compose(
            &state.settings.mail_from,
            to,
            &email,
            vec![MailAttachment {
                name: "securedoc.html".into(),
                content_type: "text/html; charset=utf-8".into(),
                bytes: html.into_bytes(),
            }],
        )?;
        state
            .store
            .enqueue_mail("answer", to, &mail.formatted())
            .await?;
    }
    state.mail_wake.notify_one();
    metrics::counter!("securedoc_answers_total", "kind" => "sent").increment(1);
    tracing::info!(
        recipients = recipients.len(),
        "an answer was sealed and queued"
    );
    Ok(())
}

/// One recipient's `securedoc.html`: the header (with their phrase,
/// language and the organisation), the sealed message, the page around it.
fn envelope_page(
    info: EnvelopeInfo,
    id: [u8; 16],
    status: crate::store::RecipientStatus,
    state: &AppState,
    key: ContentKey,
    message: &envelope_core::Packed,
) -> Result<String, envelope_core::SealError> {
    let mut header = info.server_header(id, &state.settings.public_url, SecurityLevel::High)?;
    header.phrase = status.phrase;
    header.lang = status
        .language
        .map(|code| securedoc_templates::language(&code).to_string());
    header.organization = state.settings.organization_name.clone();
    securedoc_templates::sealed_page(&Sealer::new(header, key)?, &[], message)
}
