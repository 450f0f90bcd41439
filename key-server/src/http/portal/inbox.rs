//! `GET /portal/inbox`: the messages sent to the logged-in address, newest
//! first, a page at a time (`?before=<at>.<entry id>`: keyset pages).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use securedoc_templates::{context, fill, text};
use serde::{Deserialize, Serialize};

use super::portal_page;
use super::session::require;
use crate::http::online::{iso_time, render};
use crate::http::pages::choose_language;
use crate::http::pull::EntrySummary;
use crate::http::AppState;
use crate::Error;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct InboxQuery {
    before: String,
    /// Set after a Delete, to say it was done.
    deleted: Option<String>,
}

/// One row as the page lists it.
#[derive(Serialize)]
struct Row {
    message_id: String,
    subject: String,
    from: String,
    received: String,
    available: Option<String>,
    size: String,
    attachments: Option<String>,
    read: bool,
    readable: bool,
}

/// `before=<at>.<entry id>`, if well-formed.
fn cursor(before: &str) -> Option<(i64, &str)> {
    let (at, id) = before.split_once('.')?;
    let id_ok = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    Some((at.parse().ok()?, id)).filter(|_| id_ok)
}

pub(super) async fn inbox(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<InboxQuery>,
) -> Result<Response, Error> {
    let live = match require(&state, &headers, "/portal/inbox").await {
        Ok(live) => live,
        Err(login) => return Ok(login),
    };
    let lang = choose_language(None, &headers);
    let size = state.settings.portal.page_size;
    let before = cursor(&query.before);
    // One more than a page: whether there is an older page, without a COUNT.
    let mut entries = state
        .store
        .inbox_page(&live.session.address, before, size + 1)
        .await?;
    let older = (entries.len() as i64 > size).then(|| {
        entries.truncate(size as usize);
        entries
            .last()
            .map(|e| format!("{}.{}", e.at, e.id))
            .unwrap_or_default()
    });
    let no_subject = text(lang, "opener.no_subject");
    let rows: Vec<Row> = entries
        .into_iter()
        .map(|entry| {
            let summary = EntrySummary::open(&state.master_key, &entry.id, &entry.summary_sealed)
                .unwrap_or_else(|| {
                    tracing::error!(entry = %entry.id, "a mailbox summary does not open under the master key");
                    EntrySummary::default()
                });
            let attachments = match summary.attachments {
                0 => None,
                1 => Some(text(lang, "portal.inbox.attachments_one")),
                n => Some(fill(
                    &text(lang, "portal.inbox.attachments_many"),
                    &[("n", n.to_string())],
                )),
            };
            Row {
                message_id: entry.message_id,
                subject: if summary.subject.is_empty() {
                    no_subject.clone()
                } else {
                    summary.subject
                },
                from: summary.from,
                received: iso_time(entry.at),
                available: entry.expires_at.map(iso_time),
                size: render::size(summary.size as usize, lang),
                attachments,
                read: entry.read_at.is_some(),
                readable: entry.readable,
            }
        })
        .collect();
    Ok(portal_page(
        &state,
        &live,
        StatusCode::OK,
        "portal/inbox",
        lang,
        "inbox",
        context! {
            entries => rows,
            older,
            paged => before.is_some(),
            notice => query.deleted.map(|_| text(lang, "portal.message.deleted")),
        },
    ))
}
