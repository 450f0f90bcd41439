//! A message in the portal: `GET /portal/m/{id}` (the link in a pull
//! notification), its attachments, inline images and `.eml`.
//!
//! Each request decrypts the stored envelope with its key, reads what it
//! needs and drops the plaintext: nothing is cached, so any replica serves
//! any request and no plaintext outlives it. Every view goes through the
//! key's state (expired, withdrawn, locked) as key release does, and counts
//! as an opening (read receipts, the sender's status).

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use envelope_core::{Header, MessageView, OpenedMessage};
use securedoc_templates::{context, text};
use serde::Deserialize;

use super::portal_page;
use super::session::{cookie_value, is_passcode, require, require_message, Live};
use crate::http::online::{download, iso_time, render, restrictions};
use crate::http::pages::{choose_language, notice, render as render_page};
use crate::http::pull::decrypt_with_key;
use crate::http::{AppState, ClientAddr};
use crate::store::KeyState;
use crate::Error;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ViewQuery {
    /// Set by the continue page: the cookie had its chance.
    c: Option<String>,
    /// Set after "Move to" moved it.
    moved: Option<String>,
}

fn is_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A sentence page for this message (gone, locked, not found).
fn say(status: StatusCode, lang: &str, key: &str) -> Response {
    notice(
        status,
        lang,
        text(lang, "portal.inbox.title"),
        vec![text(lang, key), text(lang, "portal.message.back")],
    )
}

/// The decrypted message of envelope `id` for the logged-in address, with
/// its header and mailbox entry; or the page that says why not.
async fn open(state: &AppState, live: &Live, id: &str, lang: &str) -> Result<Opened, Response> {
    let not_found = || say(StatusCode::NOT_FOUND, lang, "portal.message.not_found");
    if !is_id(id) {
        return Err(not_found());
    }
    let failed = |error: Error| error.into_response();
    // Another person's message is "not found", exactly as a made-up id is.
    let Some(entry) = state
        .store
        .mailbox_entry(&live.session.address, id)
        .await
        .map_err(failed)?
    else {
        return Err(not_found());
    };
    let sealed = match state.store.key_state(id).await.map_err(failed)? {
        KeyState::Ready(sealed) => sealed,
        KeyState::Locked => return Err(say(StatusCode::LOCKED, lang, "portal.message.locked")),
        KeyState::Withdrawn | KeyState::Gone => {
            return Err(say(StatusCode::GONE, lang, "portal.message.gone"))
        }
    };
    // The memory budget first (`budget::VIEW_COST` times its size); past
    // the budget, "busy" rather than a server out of memory. A message
    // larger than the whole budget still opens, alone.
    let Some(size) = state.store.stored_envelope_size(id).await.map_err(failed)? else {
        return Err(say(StatusCode::GONE, lang, "portal.message.gone"));
    };
    let Some(permit) =
        super::budget::reserve(state, size.max(0) as u64 * super::budget::VIEW_COST).await
    else {
        return Err(crate::http::pages::busy(lang, 5));
    };
    let Some(bytes) = state.store.stored_envelope(id).await.map_err(failed)? else {
        return Err(say(StatusCode::GONE, lang, "portal.message.gone"));
    };
    let Some(key) = state.master_key.open(id, &sealed) else {
        tracing::error!(envelope = %id, "a stored key does not open under the master key");
        return Err(failed(Error::Corrupt(format!("the key of {id}"))));
    };
    // Decrypting tens of megabytes is work for a blocking thread.
    let decrypted = tokio::task::spawn_blocking(move || decrypt_with_key(&bytes, &key))
        .await
        .ok()
        .flatten();
    let Some((header, message)) = decrypted else {
        tracing::error!(envelope = %id, "a stored envelope does not decrypt with its key");
        return Err(failed(Error::Corrupt(format!("stored envelope {id}"))));
    };
    // The envelope's own (authenticated) header names its recipient: an
    // Inbox entry moved to another account in the database opens nothing.
    if !header.to.eq_ignore_ascii_case(&live.session.address) {
        tracing::error!(envelope = %id, "an Inbox entry points at another recipient's envelope");
        return Err(not_found());
    }
    Ok(Opened {
        header,
        message,
        entry,
        _memory: permit,
    })
}

pub(super) struct Opened {
    pub header: Header,
    pub message: OpenedMessage,
    pub entry: crate::store::MailboxEntry,
    /// Its share of the decryption budget, given back when it is dropped.
    _memory: tokio::sync::OwnedSemaphorePermit,
}

/// `GET /portal/m/{id}`: the message.
pub(super) async fn view(
    State(state): State<AppState>,
    Path(id): Path<String>,
    peer: ClientAddr,
    headers: HeaderMap,
    Query(query): Query<ViewQuery>,
) -> Result<Response, Error> {
    let lang = choose_language(None, &headers);
    let here = format!("/portal/m/{}", if is_id(&id) { id.as_str() } else { "" });
    // A link followed from a mail client comes without the SameSite=Strict
    // cookie: one same-site step, and it comes with it.
    if cookie_value(&state, &headers).is_none() && query.c.is_none() && is_id(&id) {
        return Ok(render_page(
            StatusCode::OK,
            "portal/continue",
            lang,
            context! { target => format!("{here}?c=1") },
        ));
    }
    let live = match require_message(&state, &headers, &here, &id).await {
        Ok(live) => live,
        Err(login) => return Ok(login),
    };
    let lang = live.lang(&headers);
    let opened = match open(&state, &live, &id, lang).await {
        Ok(opened) => opened,
        Err(page) => return Ok(page),
    };
    let Ok(message) = opened.message.view() else {
        return Ok(say(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            "opener.errors.not_a_message",
        ));
    };
    let client = crate::http::pages::client(peer);
    state.store.mark_read(&opened.entry.id).await?;
    // An opening, as a key release is: the sender's status and read receipt.
    crate::http::opened::opened(&state, &id, &live.session.address, &client).await?;
    if let Err(error) = state
        .store
        .audit(
            Some(&live.session.address),
            Some(&id),
            &client,
            "portal_view",
        )
        .await
    {
        tracing::error!(%error, "could not write the audit row of a portal view");
    }
    let mut flags = restrictions(&state, &opened.header).await;
    // A one-time passcode reads this message; answering needs an account.
    let limited = is_passcode(&live);
    if limited {
        (flags.reply, flags.reply_all, flags.forward) = (false, false, false);
    }
    let url = format!("{}/portal/m/{id}", state.settings.public_url);
    let registered = state.store.message_sender(&id).await?;
    // "Move to" a folder, for an account's session (a passcode has no folders).
    let move_to = if limited {
        None
    } else {
        super::folders::move_message_to(&state, &live.session.address, lang, &id).await?
    };
    Ok(portal_page(
        &state,
        &live,
        StatusCode::OK,
        "portal/message",
        lang,
        "message",
        context! {
            sender_warning => render::sender_warning(&message, registered.as_deref(), lang),
            move_to,
            notice => query.moved.map(|_| text(lang, "folders.moved")),
            print => flags.print,
            answers => crate::http::answers::allowed(&flags)
                .into_iter()
                .map(|kind| (format!("/portal/m/{id}/compose?kind={kind}"), text(lang, &format!("compose.button_{kind}"))))
                .collect::<Vec<_>>(),
            available => opened.entry.expires_at.map(iso_time),
            zip => format!("/portal/m/{id}/attachments.zip"),
            delete => (!limited).then(|| format!("/portal/m/{id}/delete")),
            ..render::message_context(&message, &url, lang)
        },
    ))
}

/// The message of a download (an attachment, the .eml, the .zip) or of an
/// answer, for the logged-in address, in the page's language; or the page
/// that says why not. Every such decryption leaves an audit row
/// (`portal_download`); the message page's own view is the opening.
pub(super) async fn logged_in_open(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    peer: ClientAddr,
) -> Result<(Live, Opened, &'static str), Response> {
    let live = require(state, headers, &format!("/portal/m/{id}")).await?;
    audited_open(state, headers, live, id, peer).await
}

/// [`logged_in_open`] for a download of the message (an attachment, an
/// inline image, the .eml, the .zip): a one-time passcode's session for
/// this message may too. Answers (compose) stay with `logged_in_open`.
async fn download_open(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    peer: ClientAddr,
) -> Result<(Live, Opened, &'static str), Response> {
    let live = require_message(state, headers, &format!("/portal/m/{id}"), id).await?;
    audited_open(state, headers, live, id, peer).await
}

/// The message of `live`'s download or answer, and its audit row.
pub(super) async fn audited_open(
    state: &AppState,
    headers: &HeaderMap,
    live: Live,
    id: &str,
    peer: ClientAddr,
) -> Result<(Live, Opened, &'static str), Response> {
    let lang = live.lang(headers);
    let opened = open(state, &live, id, lang).await?;
    let client = crate::http::pages::client(peer);
    let audited = state
        .store
        .audit(
            Some(&live.session.address),
            Some(id),
            &client,
            "portal_download",
        )
        .await;
    if let Err(error) = audited {
        tracing::error!(%error, "could not write the audit row of a portal download");
    }
    Ok((live, opened, lang))
}

/// One part of the message, for a download or an inline image.
async fn part(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    n: usize,
    peer: ClientAddr,
) -> Result<envelope_core::Attachment, Response> {
    let (_, opened, lang) = download_open(state, headers, id, peer).await?;
    opened
        .message
        .view()
        .ok()
        .and_then(|view: MessageView| view.attachments.into_iter().nth(n))
        .ok_or_else(|| say(StatusCode::NOT_FOUND, lang, "portal.message.not_found"))
}

/// `GET /portal/m/{id}/attachment/{n}`: always a download, whatever its type.
pub(super) async fn attachment(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, usize)>,
    headers: HeaderMap,
    peer: ClientAddr,
) -> Response {
    match part(&state, &headers, &id, n, peer).await {
        Ok(part) => download(&part.name, "application/octet-stream", part.bytes),
        Err(page) => page,
    }
}

/// `GET /portal/m/{id}/inline/{n}`: a raster image the body shows.
pub(super) async fn inline(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, usize)>,
    headers: HeaderMap,
    peer: ClientAddr,
) -> Response {
    match part(&state, &headers, &id, n, peer).await {
        Ok(part) if render::INLINE_IMAGE_TYPES.contains(&part.content_type.as_str()) => (
            [
                (header::CONTENT_TYPE, part.content_type),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
                (header::CACHE_CONTROL, "no-store".into()),
            ],
            part.bytes,
        )
            .into_response(),
        Ok(_) | Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /portal/m/{id}/message.eml`: "Save message", the message as sealed.
pub(super) async fn message_file(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    peer: ClientAddr,
) -> Response {
    match download_open(&state, &headers, &id, peer).await {
        Ok((_, opened, _)) => download(
            "message.eml",
            "message/rfc822",
            opened.message.eml().into_owned(),
        ),
        Err(page) => page,
    }
}

/// `GET /portal/m/{id}/attachments.zip`: "Download attachments".
pub(super) async fn attachments_zip(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    peer: ClientAddr,
) -> Response {
    let (_, opened, lang) = match download_open(&state, &headers, &id, peer).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let zipped = tokio::task::spawn_blocking(move || {
        let view = opened.message.view().ok()?;
        super::download::attachments_zip(&view, lang).ok()
    })
    .await
    .ok()
    .flatten();
    match zipped {
        Some(bytes) => download("attachments.zip", "application/zip", bytes),
        None => say(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            "opener.errors.not_a_message",
        ),
    }
}

/// `POST /portal/m/{id}/delete`: out of the Inbox, and its stored envelope
/// with it.
pub(super) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<super::session::TokenForm>,
) -> Result<Response, Error> {
    let session = super::session::require_form(&state, &headers, "/portal/inbox", &form.csrf);
    let (live, lang) = match session.await {
        Ok(session) => session,
        Err(page) => return Ok(page),
    };
    if !is_id(&id)
        || !state
            .store
            .delete_mailbox_entry(&live.session.address, &id)
            .await?
    {
        return Ok(say(StatusCode::NOT_FOUND, lang, "portal.message.not_found"));
    }
    Ok(super::see_other("/portal/inbox?deleted=1"))
}
