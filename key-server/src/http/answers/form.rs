//! The compose page of an answer and its post, for Open Online and the
//! portal alike: each gives the [`Source`] it opened, where the form posts
//! and goes back to ([`Paths`]), and how its pages are drawn ([`Page`]).

use std::collections::BTreeMap;

use axum::extract::Multipart;
use axum::http::StatusCode;
use axum::response::Response;
use envelope_core::{Draft, DraftAttachment};
use securedoc_templates::{context, fill, text, Value};
use serde::Serialize;

use super::options::{OptionsForm, SendOptions};
use super::sending::{deliver_plain, seal_and_queue, sent_lines};
use super::{in_domains, may_receive, quoted, recipients, subject_for, Kind, Source};
use crate::http::online::render::size;
use crate::http::AppState;

/// Where a compose form posts (`action`), where Cancel goes (`back`), the
/// session's CSRF token its form carries (if the page has a session), and
/// the title of its one-sentence pages (refusals, "sent").
pub(crate) struct Paths {
    pub action: String,
    pub back: String,
    pub csrf: Option<String>,
    pub notice_title: String,
    /// The draft this page edits, when the page can save drafts
    /// (`Some("")` for a new one).
    pub draft: Option<String>,
    /// The reader's address book, (label, addresses), for To (the portal).
    pub address_book: Vec<(String, String)>,
}

/// What a compose page starts with instead of the kind's defaults (a draft).
pub(crate) struct Prefill {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The formatted body (sanitised), for the editor.
    pub html: String,
}

/// Draws a page: `(status, template, context)`. Open Online's pages stand
/// alone; the portal's carry its navigation and session.
pub(crate) type Page<'a> = &'a (dyn Fn(StatusCode, &str, Value) -> Response + Sync);

/// An answer that went: the page that says so, and the message as sent
/// (for the portal's Sent items).
pub(crate) struct Sent {
    pub response: Response,
    pub draft: Draft,
    /// The sending's id, for staff's messages (their Sent view controls it).
    pub sending: Option<String>,
}

/// A page of one sentence.
fn say(page: Page<'_>, paths: &Paths, status: StatusCode, sentence: String) -> Response {
    page(
        status,
        "notice",
        context! { title => &paths.notice_title, lines => vec![sentence] },
    )
}

fn forbidden(page: Page<'_>, paths: &Paths, lang: &str, kind: Kind) -> Response {
    let sentence = text(lang, &format!("compose.not_allowed_{}", kind.as_str()));
    say(page, paths, StatusCode::FORBIDDEN, sentence)
}

#[derive(Serialize)]
struct Original {
    n: usize,
    name: String,
    size: String,
}

/// What the compose page shows besides its fields.
struct Fields<'a> {
    to: &'a str,
    subject: &'a str,
    body: &'a str,
    html: &'a str,
    keep: Option<&'a [usize]>,
    /// Staff's sender options, as chosen so far.
    options: Option<&'a OptionsForm>,
    errors: BTreeMap<&'a str, String>,
}

fn compose_page(
    status: StatusCode,
    state: &AppState,
    source: &Source,
    kind: Kind,
    paths: &Paths,
    page: Page<'_>,
    fields: Fields<'_>,
) -> Response {
    let lang = source.lang;
    let message = &source.message;
    let limits = &state.settings.compose;
    let (_, left_out) = recipients(limits, kind, source);
    // Forward offers the original's attachments; a new message, its draft's.
    let originals: Vec<Original> = match kind {
        Kind::Forward | Kind::New => message
            .attachments
            .iter()
            .enumerate()
            .map(|(n, part)| Original {
                n,
                name: part.name.clone(),
                size: size(part.bytes.len(), lang),
            })
            .collect(),
        _ => Vec::new(),
    };
    let kept: Vec<usize> = fields
        .keep
        .map_or_else(|| (0..originals.len()).collect(), <[usize]>::to_vec);
    page(
        status,
        "compose",
        context! {
            action => &paths.action,
            back => &paths.back,
            form_csrf => &paths.csrf,
            draft => &paths.draft,
            kind => kind.as_str(),
            title => text(lang, &format!("compose.title_{}", kind.as_str())),
            to => fields.to,
            to_editable => kind.typed_recipients(),
            address_book => if kind.typed_recipients() { paths.address_book.clone() } else { Vec::new() },
            subject => fields.subject,
            body => fields.body,
            html_body => fields.html,
            // The formatting editor, where the page can run it (the portal).
            editor => paths.csrf.is_some(),
            originals,
            originals_legend => text(lang, if kind == Kind::New { "portal.drafts.files" } else { "compose.originals" }),
            kept,
            left_out => left_out.join(", "),
            limits => fill(
                &text(lang, "compose.limits"),
                &[
                    ("files", limits.max_files.to_string()),
                    ("total", size(limits.max_files_bytes, lang)),
                    ("message", size(limits.max_message_bytes, lang)),
                ],
            ),
            sender_options => fields.options.map(|o| o.view(state, lang)),
            errors => fields.errors,
        },
    )
}

/// The compose page of `kind` for `source`: the recipients the kind starts
/// with, "Re:"/"Fwd:", the original quoted (or what `prefill` says);
/// refused if the sender forbade it.
pub(crate) fn compose_page_for(
    state: &AppState,
    source: &Source,
    kind: Kind,
    paths: &Paths,
    page: Page<'_>,
    prefill: Option<Prefill>,
) -> Response {
    if !kind.allowed_for(source) {
        return forbidden(page, paths, source.lang, kind);
    }
    let options = (source.staff && kind == Kind::New).then(|| OptionsForm::initial(state));
    let prefill = prefill.unwrap_or_else(|| Prefill {
        to: recipients(&state.settings.compose, kind, source)
            .0
            .join(", "),
        subject: subject_for(kind, &source.message.subject),
        body: quoted(source.lang, &source.message),
        html: String::new(),
    });
    compose_page(
        StatusCode::OK,
        state,
        source,
        kind,
        paths,
        page,
        Fields {
            to: &prefill.to,
            subject: &prefill.subject,
            body: &prefill.body,
            html: &prefill.html,
            keep: None,
            options: options.as_ref(),
            errors: BTreeMap::new(),
        },
    )
}

/// Original or draft attachments one post may keep (indices; duplicates
/// are dropped as they are read).
const MAX_KEPT: usize = 1000;

/// What the compose form posted.
#[derive(Default)]
pub(crate) struct Posted {
    /// The session's token (portal forms).
    pub csrf: String,
    /// `save_draft` when "Save draft" was pressed.
    pub action: String,
    /// The draft being edited, if any.
    pub draft: String,
    kind: Option<Kind>,
    pub to: String,
    pub subject: String,
    /// The text (the text alternative, when there is `html`).
    pub body: String,
    /// The formatted body from the editor, if it was used (not sanitised yet).
    pub html: String,
    /// Attachments of the original (Forward) or the draft kept, by index.
    pub keep: Vec<usize>,
    /// Addresses ticked in the address book (each a contact's, or a group's
    /// joined by ", "), added to To.
    pub book_to: Vec<String>,
    /// Attachments added by this post.
    pub files: Vec<DraftAttachment>,
    pub too_large: bool,
    /// Staff's sender options (read for staff only).
    pub options: OptionsForm,
}

/// The formatted body to send, if the editor gave one: sanitised, and
/// nothing when only whitespace or markup without text remains.
pub(crate) fn formatted(html: &str) -> Option<String> {
    if html.len() > super::html::MAX_HTML {
        return None;
    }
    let clean = super::html::sanitise(html);
    let has_text = !ammonia::Builder::empty()
        .clean(&clean)
        .to_string()
        .trim()
        .is_empty();
    has_text.then_some(clean)
}

/// Reads a compose form, attachments' names sanitised; at most `limit`
/// bytes of files are kept (past it, `too_large`).
pub(crate) async fn read_form(mut form: Multipart, limit: usize) -> Result<Posted, ()> {
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
                    "csrf" => posted.csrf = value,
                    "action" => posted.action = value,
                    "draft" => posted.draft = value,
                    "kind" => posted.kind = serde_json::from_value(value.into()).ok(),
                    "to" => posted.to = value,
                    "subject" => posted.subject = value,
                    "body" => posted.body = value,
                    "html" => posted.html = value,
                    "book_to" => posted.book_to.push(value),
                    // Each index once, and a bounded number of them: a
                    // post repeating one index must not copy its file again.
                    "keep" => {
                        if let Ok(n) = value.parse::<usize>() {
                            if !posted.keep.contains(&n) && posted.keep.len() < MAX_KEPT {
                                posted.keep.push(n);
                            }
                        }
                    }
                    other => {
                        posted.options.read(other, &value);
                    }
                }
            }
        }
    }
    Ok(posted)
}

/// A compose form's post (read by [`read_form`]): checks, seals per
/// recipient, queues the notifications, and says "Your reply was sent".
pub(crate) async fn send(
    state: &AppState,
    source: &Source,
    posted: Posted,
    paths: &Paths,
    page: Page<'_>,
) -> Result<Sent, Response> {
    let lang = source.lang;
    let limits = state.settings.compose.clone();
    let Some(kind) = posted.kind else {
        return Err(say(
            page,
            paths,
            StatusCode::BAD_REQUEST,
            text(lang, "compose.bad_form"),
        ));
    };
    // The sender's flags decide, whatever the page showed.
    if !kind.allowed_for(source) {
        return Err(forbidden(page, paths, lang, kind));
    }
    let message = &source.message;

    let mut errors = BTreeMap::new();
    let to: Vec<String> = match kind {
        // Typed, or ticked in the address book; each once.
        Kind::Forward | Kind::New => {
            let mut typed: Vec<String> = Vec::new();
            for address in std::iter::once(&posted.to)
                .chain(&posted.book_to)
                .flat_map(|list| list.split([',', ';', ' ', '\n']))
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_ascii_lowercase)
            {
                if !typed.contains(&address) {
                    typed.push(address);
                }
            }
            typed
        }
        // Reply and Reply all go where the message says, never where the post says.
        _ => recipients(&limits, kind, source).0,
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
    } else if let Some(outside) = to.iter().find(|a| !may_receive(&limits, kind, source, a)) {
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
    // Counted before anything is copied.
    let kept = posted
        .keep
        .iter()
        .filter(|n| **n < message.attachments.len())
        .count();
    if kept + posted.files.len() > limits.max_files {
        errors.insert(
            "file",
            fill(
                &text(lang, "compose.too_many_files"),
                &[("n", limits.max_files.to_string())],
            ),
        );
    } else if matches!(kind, Kind::Forward | Kind::New) {
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
        || files_bytes + posted.body.len() + posted.html.len() > limits.max_message_bytes
    {
        errors.insert(
            "file",
            fill(
                &text(lang, "compose.too_large"),
                &[
                    ("total", size(limits.max_files_bytes, lang)),
                    ("message", size(limits.max_message_bytes, lang)),
                ],
            ),
        );
    }
    if posted.subject.chars().count() > 300 {
        errors.insert("subject", text(lang, "compose.subject_too_long"));
    }
    // Staff choose how their new message goes; everything else (and an
    // outside account's post, whatever it carries) goes as an answer does.
    let staff_options = source.staff && kind == Kind::New;
    let options = if staff_options {
        match posted.options.decide(state, lang) {
            Ok(options) => options,
            Err((field, why)) => {
                errors.insert(field, why);
                SendOptions::answer(state)
            }
        }
    } else {
        SendOptions::answer(state)
    };
    if !errors.is_empty() {
        let to = if kind.typed_recipients() {
            // What was ticked joins what was typed, so nothing is lost.
            to.join(", ")
        } else {
            to.join(", ")
        };
        return Err(compose_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            state,
            source,
            kind,
            paths,
            page,
            Fields {
                to: &to,
                subject: &posted.subject,
                body: &posted.body,
                html: &formatted(&posted.html).unwrap_or_default(),
                keep: Some(&posted.keep),
                options: staff_options.then_some(&posted.options),
                errors,
            },
        ));
    }

    let draft = Draft {
        from: source.recipient.clone(),
        to: to.clone(),
        subject: posted.subject,
        text: Some(posted.body),
        // The editor's formatting, allowlisted here whatever was posted.
        html: formatted(&posted.html),
        attachments: files,
        date: state.store.now(),
    };
    // Internal addresses first, when the configuration delivers answers to
    // them in the clear: if the relay refuses, nothing has gone anywhere.
    // Staff's messages are always sealed: they carry the options chosen.
    let (plain, sealed): (Vec<String>, Vec<String>) = to
        .iter()
        .cloned()
        .partition(|address| !source.staff && in_domains(address, &limits.plain_domains));
    if !plain.is_empty() {
        if let Err(error) = deliver_plain(state, &draft, &plain).await {
            tracing::error!(%error, "the relay did not take an answer to internal addresses");
            let sentence = text(lang, "compose.failed");
            return Err(say(page, paths, StatusCode::SERVICE_UNAVAILABLE, sentence));
        }
    }
    let mut sending = None;
    if !sealed.is_empty() {
        let sealed_as = seal_and_queue(state, &draft, &sealed, &options).await;
        if let Ok(id) = &sealed_as {
            sending = Some(id.clone());
        }
        if let Err(error) = sealed_as {
            tracing::error!(%error, "could not seal or queue an answer");
            if plain.is_empty() {
                let sentence = text(lang, "compose.failed");
                return Err(say(
                    page,
                    paths,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    sentence,
                ));
            }
            // The internal addresses have it already: say so, not "nothing was sent".
            let sentence = fill(
                &text(lang, "compose.failed_partly"),
                &[("to", plain.join(", "))],
            );
            return Err(say(
                page,
                paths,
                StatusCode::INTERNAL_SERVER_ERROR,
                sentence,
            ));
        }
    }
    // On the original sender's record (`securedoc message status`); the
    // answer has gone already, so a failure here is only logged.
    if kind != Kind::New {
        if let Err(error) = state
            .store
            .record_reply(&source.message_id, &source.recipient)
            .await
        {
            tracing::error!(%error, "could not count a reply on the sender's record");
        }
    }
    let response = page(
        StatusCode::OK,
        "notice",
        context! {
            title => text(lang, "compose.sent_title"),
            lines => sent_lines(lang, &sealed, &plain, options.pull),
        },
    );
    Ok(Sent {
        response,
        draft,
        sending: sending.filter(|_| staff_options),
    })
}
