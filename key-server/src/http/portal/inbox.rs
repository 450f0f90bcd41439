//! `GET /portal/inbox`: the messages sent to the logged-in address, newest
//! first, a page at a time (`?before=<at>.<entry id>`: keyset pages).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use securedoc_templates::{context, fill, text};
use serde::{Deserialize, Serialize};

use super::session::PortalPage;
use super::{older_cursor, portal_page};
use crate::http::online::{iso_time, render};
use crate::http::pull::EntrySummary;
use crate::http::AppState;
use crate::store::MailboxEntry;
use crate::Error;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct InboxQuery {
    before: String,
    /// Set after a Delete, to say it was done.
    deleted: Option<String>,
    /// Set after a Move to a folder.
    moved: Option<String>,
}

/// One row as a mailbox page (Inbox, Sent items) lists it.
#[derive(Serialize)]
pub(super) struct Row {
    href: String,
    subject: String,
    /// From (Inbox) or To (Sent items).
    who: String,
    /// Received or sent.
    when: String,
    /// Inbox only: until when it can be read.
    available: Option<String>,
    size: String,
    attachments: Option<String>,
    read: bool,
    readable: bool,
}

impl Row {
    /// A row for `summary`, linking to `href`, at `at`: read, readable,
    /// without an expiry (the Inbox sets those).
    pub(super) fn new(lang: &str, href: String, summary: EntrySummary, at: i64) -> Row {
        let attachments = match summary.attachments {
            0 => None,
            1 => Some(text(lang, "portal.inbox.attachments_one")),
            n => Some(fill(
                &text(lang, "portal.inbox.attachments_many"),
                &[("n", n.to_string())],
            )),
        };
        Row {
            href,
            subject: if summary.subject.is_empty() {
                text(lang, "opener.no_subject")
            } else {
                summary.subject
            },
            who: summary.from,
            when: iso_time(at),
            available: None,
            size: render::size(summary.size as usize, lang),
            attachments,
            read: true,
            readable: true,
        }
    }
}

/// `before=<at>.<entry id>`, if well-formed.
pub(super) fn cursor(before: &str) -> Option<(i64, &str)> {
    let (at, id) = before.split_once('.')?;
    let id_ok = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    Some((at.parse().ok()?, id)).filter(|_| id_ok)
}

/// The rows of Inbox (or folder) entries: unread ones, expired ones, and
/// until when each can be read.
pub(super) fn rows(
    state: &AppState,
    (lang, address): (&str, &str),
    entries: Vec<MailboxEntry>,
) -> Vec<Row> {
    entries
        .into_iter()
        .filter_map(|entry| {
            // A summary that does not open for this account is not its own
            // (a row moved in the database) or is damaged: not listed.
            let summary = open_summary(state, address, &entry.id, &entry.summary_sealed)?;
            let href = format!("/portal/m/{}", entry.message_id);
            Some(Row {
                available: entry.expires_at.map(iso_time),
                read: entry.read_at.is_some(),
                readable: entry.readable,
                ..Row::new(lang, href, summary, entry.at)
            })
        })
        .collect()
}

/// `address`'s mailbox entry summary, opened; None (and an error logged)
/// when it does not open for them.
pub(super) fn open_summary(
    state: &AppState,
    address: &str,
    entry_id: &str,
    sealed: &str,
) -> Option<EntrySummary> {
    let summary = EntrySummary::open(&state.master_key, address, entry_id, sealed);
    if summary.is_none() {
        tracing::error!(entry = %entry_id, "a mailbox summary does not open for its account");
    }
    summary
}

pub(super) async fn inbox(
    State(state): State<AppState>,
    PortalPage { live, lang }: PortalPage,
    Query(query): Query<InboxQuery>,
) -> Result<Response, Error> {
    let size = state.settings.portal.page_size;
    let before = cursor(&query.before);
    let mut entries = state
        .store
        .inbox_page(&live.session.address, before, size + 1)
        .await?;
    let older = older_cursor(&mut entries, size, |e| (e.at, &e.id));
    let move_to = super::folders::move_to(&state, &live.session.address, lang, None).await?;
    Ok(portal_page(
        &state,
        &live,
        StatusCode::OK,
        "portal/inbox",
        lang,
        "inbox",
        context! {
            title => text(lang, "portal.inbox.title"),
            who_label => text(lang, "portal.inbox.from"),
            when_label => text(lang, "portal.inbox.received"),
            empty => text(lang, "portal.inbox.empty"),
            here => "/portal/inbox",
            inbox => true,
            entries => rows(&state, (lang, &live.session.address), entries),
            older,
            paged => before.is_some(),
            notice => query.deleted.map(|_| text(lang, "portal.message.deleted"))
                .or(query.moved.map(|_| text(lang, "folders.moved"))),
            move_to,
            expiry_notice => crate::http::lifecycle::expiry_notice(&state, &live.session.address, lang).await,
        },
    ))
}
