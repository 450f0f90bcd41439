//! Sent items: what a recipient sends from the portal (answers and new
//! messages), kept for them unless `[portal] keep_sent = false` (as
//! Trustwave's portal). Each copy is the message as sent, encrypted under a
//! key of its own sealed under the master key; `retention_days` deletes it,
//! keys first.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use envelope_core::{Draft, MessageView};
use securedoc_templates::{context, text};
use serde::Deserialize;
use tokio::sync::OwnedSemaphorePermit;
use zeroize::Zeroizing;

use super::inbox::{cursor, open_summary, Row};
use super::session::{require, require_form, Live, PortalPage, TokenForm};
use super::{older_cursor, portal_page, see_other};
use crate::http::online::{download, render};
use crate::http::pages::notice;
use crate::http::pull::EntrySummary;
use crate::http::AppState;
use crate::store::NewItem;
use crate::Error;

/// Sent items kept per account at most (the retention deletes them after
/// `retention_days` anyway; this bounds what one account can store).
const MAX_SENT: i64 = 1000;

/// Keeps `draft`, just sent by `address`, in their Sent items (unless the
/// configuration turns them off). The message has gone already: a failure
/// here is logged, not shown as "not sent". Staff's messages (`sending`)
/// are always kept: their Sent view is where they follow and control them.
pub(crate) async fn keep(state: &AppState, address: &str, draft: &Draft, sending: Option<&str>) {
    if !state.settings.portal.keep_sent && sending.is_none() {
        return;
    }
    let eml = Zeroizing::new(envelope_core::compose(draft));
    let id = crate::hex(&crate::random::<16>());
    let entry_id = crate::hex(&crate::random::<16>());
    let (sealed_key, item) = state.master_key.seal_item(address, &id, &eml);
    let summary = EntrySummary {
        subject: draft.subject.clone(),
        from: draft.to.join(", "),
        date: None,
        size: eml.len() as u64,
        attachments: draft.attachments.len(),
    };
    let kept = state
        .store
        .keep_item(
            NewItem {
                kind: "sent",
                id: &id,
                address,
                sealed_key: &sealed_key,
                item: &item,
                entry_id: &entry_id,
                summary_sealed: &summary.seal(&state.master_key, address, &entry_id),
                sending_id: sending,
            },
            MAX_SENT,
        )
        .await;
    match kept {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            max = MAX_SENT,
            "Sent items are full for an account: a sent message was not kept"
        ),
        Err(error) => tracing::error!(%error, "could not keep a sent message in Sent items"),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ListQuery {
    before: String,
    deleted: Option<String>,
}

/// A list of private items: which kind, where it lives, what it says.
pub(super) struct ItemList {
    pub kind: &'static str,
    /// The list's path, and the navigation's section.
    pub here: &'static str,
    pub section: &'static str,
    /// Text keys: the title, the date's label, the empty list, "deleted".
    pub title: &'static str,
    pub when: &'static str,
    pub empty: &'static str,
    pub deleted: &'static str,
}

/// `GET` of a list of private items (Sent items, Drafts): newest first, a
/// page at a time, each linking to `{here}/{item id}`.
pub(super) async fn item_list(
    state: &AppState,
    headers: &HeaderMap,
    query: ListQuery,
    list: ItemList,
) -> Result<Response, Error> {
    let live = match require(state, headers, list.here).await {
        Ok(live) => live,
        Err(login) => return Ok(login),
    };
    let lang = live.lang(headers);
    // Sent items turned off say so, except to staff, who always keep theirs.
    let empty = if list.kind == "sent" && !state.settings.portal.keep_sent && !live.session.internal
    {
        "portal.sent.not_kept"
    } else {
        list.empty
    };
    let size = state.settings.portal.page_size;
    let before = cursor(&query.before);
    let mut entries = state
        .store
        .items_page(&live.session.address, list.kind, before, size + 1)
        .await?;
    let older = older_cursor(&mut entries, size, |e| (e.at, &e.id));
    let rows: Vec<Row> = entries
        .into_iter()
        .filter_map(|entry| {
            let address = &live.session.address;
            let summary = open_summary(state, address, &entry.id, &entry.summary_sealed)?;
            let href = format!("{}/{}", list.here, entry.item_id);
            Some(Row::new(lang, href, summary, entry.at))
        })
        .collect();
    Ok(portal_page(
        state,
        &live,
        StatusCode::OK,
        "portal/inbox",
        lang,
        list.section,
        context! {
            title => text(lang, list.title),
            who_label => text(lang, "portal.sent.to"),
            when_label => text(lang, list.when),
            empty => text(lang, empty),
            here => list.here,
            entries => rows,
            older,
            paged => before.is_some(),
            notice => query.deleted.map(|_| text(lang, list.deleted)),
        },
    ))
}

/// `GET /portal/sent`: Sent items.
pub(super) async fn sent(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Response, Error> {
    let list = ItemList {
        kind: "sent",
        here: "/portal/sent",
        section: "sent",
        title: SENT_TITLE,
        when: "portal.sent.sent",
        empty: "portal.sent.empty",
        deleted: "portal.message.deleted",
    };
    item_list(&state, &headers, query, list).await
}

const SENT_TITLE: &str = "portal.sent.title";

/// 404 for an item that is not the reader's, under its list's title.
pub(super) fn not_found(lang: &str, title: &str) -> Response {
    notice(
        StatusCode::NOT_FOUND,
        lang,
        text(lang, title),
        vec![text(lang, "portal.message.not_found")],
    )
}

/// A private item (a Sent item, a draft), decrypted.
pub(super) enum PrivateItem {
    /// Its plaintext, and its share of the decryption budget (held while
    /// the plaintext and what is made of it live).
    Found(Zeroizing<Vec<u8>>, OwnedSemaphorePermit),
    /// Not the reader's (or not an id, or it does not open).
    NotFound,
    /// The decryption budget is full: "busy".
    Busy,
}

/// `address`'s item `id` of `kind`, decrypted within the memory budget.
pub(super) async fn open_private(
    state: &AppState,
    address: &str,
    kind: &str,
    id: &str,
) -> Result<PrivateItem, Error> {
    let is_id = id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !is_id {
        return Ok(PrivateItem::NotFound);
    }
    // Its room first, from its size, before its ciphertext is read.
    let Some((sealed_key, size)) = state.store.private_item(address, kind, id).await? else {
        return Ok(PrivateItem::NotFound);
    };
    let Some(permit) =
        super::budget::reserve(state, size.max(0) as u64 * super::budget::VIEW_COST).await
    else {
        return Ok(PrivateItem::Busy);
    };
    let ciphertext = state.store.private_item_bytes(id, size).await?;
    match state
        .master_key
        .open_item((address, id), &sealed_key, &ciphertext)
    {
        Some(plaintext) => Ok(PrivateItem::Found(plaintext, permit)),
        None => {
            tracing::error!(item = %id, kind, "a private item does not open under its key");
            Ok(PrivateItem::NotFound)
        }
    }
}

/// `address`'s sent item `id`, decrypted and read (with its share of the
/// budget); or the page saying why not.
async fn open(
    state: &AppState,
    live: &Live,
    id: &str,
    lang: &str,
) -> Result<(MessageView, OwnedSemaphorePermit), Response> {
    let item = open_private(state, &live.session.address, "sent", id)
        .await
        .map_err(IntoResponse::into_response)?;
    let (eml, permit) = match item {
        PrivateItem::Found(eml, permit) => (eml, permit),
        PrivateItem::NotFound => return Err(not_found(lang, SENT_TITLE)),
        PrivateItem::Busy => return Err(crate::http::pages::busy(lang, 5)),
    };
    let message = MessageView::parse(&eml).map_err(|_| not_found(lang, SENT_TITLE))?;
    Ok((message, permit))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ViewQuery {
    /// What a staff control just did (`locked`, …).
    done: String,
}

/// `GET /portal/sent/{id}`: a message as sent; for staff, with its status
/// and controls.
pub(super) async fn view(
    State(state): State<AppState>,
    PortalPage { live, lang }: PortalPage,
    Path(id): Path<String>,
    Query(query): Query<ViewQuery>,
) -> Response {
    let done = super::staff::done_sentence(lang, &query.done);
    let status =
        match super::staff::status(&state, &live.session.address, &id, lang, done, None).await {
            Ok(status) => status,
            Err(error) => return error.into_response(),
        };
    page(&state, &live, lang, &id, status, StatusCode::OK).await
}

/// Sent item `id`'s page, with a staff sending's `status`.
pub(super) async fn page(
    state: &AppState,
    live: &Live,
    lang: &'static str,
    id: &str,
    status: Option<super::staff::SendingStatus>,
    code: StatusCode,
) -> Response {
    let (message, _memory) = match open(state, live, id, lang).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let url = format!("{}/portal/sent/{id}", state.settings.public_url);
    portal_page(
        state,
        live,
        code,
        "portal/message",
        lang,
        "sent",
        context! {
            print => true,
            answers => Vec::<(String, String)>::new(),
            back => ("/portal/sent", text(lang, "portal.sent.back")),
            delete => format!("/portal/sent/{id}/delete"),
            sent_at => message.date.clone(),
            status,
            ..render::message_context(&message, &url, lang)
        },
    )
}

/// `GET /portal/sent/{id}/attachment/{n}`.
pub(super) async fn attachment(
    State(state): State<AppState>,
    PortalPage { live, lang }: PortalPage,
    Path((id, n)): Path<(String, usize)>,
) -> Response {
    match open(&state, &live, &id, lang).await {
        Ok((message, _memory)) => match message.attachments.into_iter().nth(n) {
            Some(part) => download(&part.name, "application/octet-stream", part.bytes),
            None => not_found(lang, SENT_TITLE),
        },
        Err(page) => page,
    }
}

/// `POST {here}/{id}/delete` of a private item of `kind`: back to the list.
pub(super) async fn delete_item(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
    (kind, here, title): (&str, &str, &str),
    id: &str,
) -> Result<Response, Error> {
    let (live, lang) = match require_form(state, headers, here, csrf).await {
        Ok(session) => session,
        Err(page) => return Ok(page),
    };
    if !state
        .store
        .delete_private_item(&live.session.address, kind, id)
        .await?
    {
        return Ok(not_found(lang, title));
    }
    Ok(see_other(&format!("{here}?deleted=1")))
}

/// `POST /portal/sent/{id}/delete`.
pub(super) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<TokenForm>,
) -> Result<Response, Error> {
    delete_item(
        &state,
        &headers,
        &form.csrf,
        ("sent", "/portal/sent", SENT_TITLE),
        &id,
    )
    .await
}
