//! Reply, Reply all and Forward from a message opened online
//! (docs/OPENER.md, "Answering"). The recipient proved who they are by
//! opening it: the compose page lives under the view, behind its cookie, and
//! never takes an address from the URL. The rules and the sending are
//! `http::answers`, shared with the portal.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use envelope_core::MessageView;
use securedoc_templates::Value;

use super::{opened, say, view_gone, Opened};
use crate::http::answers::{self, KindQuery, Paths, Source};
use crate::http::pages::render;
use crate::http::AppState;

fn source(opened: &Opened) -> Source {
    Source {
        message_id: opened.message_id.clone(),
        recipient: opened.recipient.clone(),
        sender: opened.sender.clone(),
        flags: opened.flags,
        lang: opened.lang,
        message: MessageView::parse(&opened.message).unwrap_or_default(),
        may_compose: false,
        staff: false,
    }
}

fn paths(id: &str, lang: &str) -> Paths {
    Paths {
        action: format!("/open/view/{id}/compose"),
        back: format!("/open/view/{id}"),
        csrf: None,
        draft: None,
        address_book: Vec::new(),
        notice_title: securedoc_templates::text(lang, "online.title"),
    }
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
    let lang = opened.lang;
    let page = |status, name: &str, ctx: Value| render(status, name, lang, ctx);
    answers::compose_page_for(
        &state,
        &source(&opened),
        query.kind,
        &paths(&id, lang),
        &page,
        None,
    )
}

/// `POST /open/view/{id}/compose`: the answer, sent.
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
    let Ok(posted) = answers::read_form(form, state.settings.compose.max_message_bytes).await
    else {
        return say(StatusCode::BAD_REQUEST, lang, "compose.bad_form");
    };
    let page = |status, name: &str, ctx: Value| render(status, name, lang, ctx);
    match answers::send(&state, &source(&opened), posted, &paths(&id, lang), &page).await {
        Ok(sent) => sent.response,
        Err(page) => page,
    }
}
