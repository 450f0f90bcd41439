//! Reply, Reply all and Forward from a message read in the portal: the same
//! rules, limits and sending as Open Online (`http::answers`), behind the
//! portal's session and its CSRF token. The message is decrypted again for
//! the page and for the post; nothing of it is kept between them.

use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use securedoc_templates::{context, text, Value};

use super::keep_sent;
use super::message::{logged_in_open, Opened};
use super::session::{csrf_ok, require, Live};
use super::{portal_page, refused_form};
use crate::http::answers::{self, Kind, KindQuery, Paths, Sent, Source};
use crate::http::online::restrictions;
use crate::http::pages::choose_language;
use crate::http::AppState;

/// The compose page and its post, with room for the answer's files (the
/// rest of the portal takes small forms only).
pub fn router(max_answer: usize) -> Router<AppState> {
    // Room for the form's fields and multipart framing beside the files.
    let limit = DefaultBodyLimit::max(max_answer + 1024 * 1024);
    Router::new()
        .route(
            "/portal/m/{id}/compose",
            get(compose_form).post(send).layer(limit),
        )
        .route("/portal/compose", get(new_form).post(send_new).layer(limit))
        .layer(axum::middleware::from_fn(super::same_origin_posts))
}

/// What answering needs of an opened message.
async fn source(
    state: &AppState,
    live: &Live,
    id: &str,
    opened: Opened,
    lang: &'static str,
) -> Source {
    let sender = state
        .store
        .message_sender(id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| opened.header.from.to_ascii_lowercase());
    Source {
        message_id: id.to_string(),
        recipient: live.session.address.clone(),
        sender,
        flags: restrictions(state, &opened.header).await,
        lang,
        message: opened.message.view().unwrap_or_default(),
        may_compose: false,
    }
}

fn paths(id: &str, live: &Live, lang: &str) -> Paths {
    Paths {
        action: format!("/portal/m/{id}/compose"),
        back: format!("/portal/m/{id}"),
        csrf: Some(live.session.csrf.clone()),
        notice_title: text(lang, "portal.inbox.title"),
    }
}

/// The portal's page for the answer's templates (which take the layout).
fn page<'a>(
    state: &'a AppState,
    live: &'a Live,
    lang: &'a str,
) -> impl Fn(StatusCode, &str, Value) -> Response + Sync + 'a {
    move |status, name, ctx| {
        let ctx = context! { layout => "portal/layout.html", ..ctx };
        portal_page(state, live, status, name, lang, "inbox", ctx)
    }
}

/// `GET /portal/m/{id}/compose?kind=`.
async fn compose_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<KindQuery>,
    headers: HeaderMap,
) -> Response {
    let (live, opened, lang) = match logged_in_open(&state, &headers, &id).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let source = source(&state, &live, &id, opened, lang).await;
    let paths = paths(&id, &live, lang);
    let draw = page(&state, &live, lang);
    answers::compose_page_for(&state, &source, query.kind, &paths, &draw)
}

/// `POST /portal/m/{id}/compose`: the answer, sent.
async fn send(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    let (live, opened, lang) = match logged_in_open(&state, &headers, &id).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let paths = paths(&id, &live, lang);
    let draw = page(&state, &live, lang);
    let posted = match checked_form(&state, &live, form, &paths, &draw, lang).await {
        Ok(posted) => posted,
        Err(page) => return page,
    };
    let source = source(&state, &live, &id, opened, lang).await;
    sent(
        &state,
        &live,
        answers::send(&state, &source, posted, &paths, &draw).await,
    )
    .await
}

/// The compose form, read, if it carries the session's token.
async fn checked_form(
    state: &AppState,
    live: &Live,
    form: Multipart,
    paths: &Paths,
    draw: &(dyn Fn(StatusCode, &str, Value) -> Response + Sync),
    lang: &str,
) -> Result<answers::Posted, Response> {
    let Ok(posted) = answers::read_form(form, state.settings.compose.max_message_bytes).await
    else {
        let ctx = context! { title => &paths.notice_title, lines => vec![text(lang, "compose.bad_form")] };
        return Err(draw(StatusCode::BAD_REQUEST, "notice", ctx));
    };
    if !csrf_ok(live, &posted.csrf) {
        return Err(refused_form(lang));
    }
    Ok(posted)
}

/// After a send: keep the copy in Sent items; the page that says so.
async fn sent(state: &AppState, live: &Live, result: Result<Sent, Response>) -> Response {
    match result {
        Ok(sent) => {
            keep_sent(state, &live.session.address, &sent.draft).await;
            sent.response
        }
        Err(page) => page,
    }
}

/// A new message's source: nothing to answer, written by the session's owner.
fn new_message(live: &Live, lang: &'static str) -> Source {
    Source {
        message_id: String::new(),
        recipient: live.session.address.clone(),
        sender: String::new(),
        flags: envelope_core::Flags {
            reply: false,
            reply_all: false,
            forward: false,
            print: false,
            read_receipt: false,
        },
        lang,
        message: Default::default(),
        may_compose: true,
    }
}

fn new_paths(live: &Live, lang: &str) -> Paths {
    Paths {
        action: "/portal/compose".into(),
        back: "/portal/inbox".into(),
        csrf: Some(live.session.csrf.clone()),
        notice_title: text(lang, "compose.title_new"),
    }
}

/// `GET /portal/compose`: a new message, to the organisation (`compose_domains`).
async fn new_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let lang = choose_language(None, &headers);
    let live = match require(&state, &headers, "/portal/compose").await {
        Ok(live) => live,
        Err(login) => return login,
    };
    let source = Source {
        may_compose: !state.settings.compose.compose_domains.is_empty(),
        ..new_message(&live, lang)
    };
    let draw = page(&state, &live, lang);
    answers::compose_page_for(&state, &source, Kind::New, &new_paths(&live, lang), &draw)
}

/// `POST /portal/compose`: the new message, sent.
async fn send_new(State(state): State<AppState>, headers: HeaderMap, form: Multipart) -> Response {
    let lang = choose_language(None, &headers);
    let live = match require(&state, &headers, "/portal/compose").await {
        Ok(live) => live,
        Err(login) => return login,
    };
    let paths = new_paths(&live, lang);
    let draw = page(&state, &live, lang);
    let posted = match checked_form(&state, &live, form, &paths, &draw, lang).await {
        Ok(posted) => posted,
        Err(page) => return page,
    };
    let source = Source {
        may_compose: !state.settings.compose.compose_domains.is_empty(),
        ..new_message(&live, lang)
    };
    sent(
        &state,
        &live,
        answers::send(&state, &source, posted, &paths, &draw).await,
    )
    .await
}
