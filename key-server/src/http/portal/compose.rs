//! Reply, Reply all and Forward from a message read in the portal: the same
//! rules, limits and sending as Open Online (`http::answers`), behind the
//! portal's session and its CSRF token. The message is decrypted again for
//! the page and for the post; nothing of it is kept between them.

use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use securedoc_templates::{context, text, Value};

use super::drafts::{self, Saved};
use super::keep_sent;
use super::message::{audited_open, logged_in_open, Opened};
use super::see_other;
use super::session::{csrf_ok, require, Live, PortalPage};
use super::{portal_page, refused_form};
use crate::http::answers::{self, Kind, KindQuery, Paths, Prefill, Sent, Source};
use crate::http::online::restrictions;
use crate::http::{AppState, ClientAddr};
use axum::response::IntoResponse;
use envelope_core::MessageView;

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
        .route(
            "/portal/drafts/autosave",
            post(drafts::autosave).layer(limit),
        )
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
        staff: false,
    }
}

/// The reader's address book for To: contacts, then groups.
async fn address_book(state: &AppState, live: &Live) -> Vec<(String, String)> {
    match super::address_book::choices(state, &live.session.address).await {
        Ok(choices) => choices
            .into_iter()
            .map(|c| (c.label, c.addresses))
            .collect(),
        Err(error) => {
            tracing::error!(%error, "could not read an address book for compose");
            Vec::new()
        }
    }
}

async fn paths(state: &AppState, id: &str, live: &Live, lang: &str) -> Paths {
    Paths {
        action: format!("/portal/m/{id}/compose"),
        back: format!("/portal/m/{id}"),
        csrf: Some(live.session.csrf.clone()),
        draft: None,
        address_book: address_book(state, live).await,
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
    peer: ClientAddr,
) -> Response {
    let (live, opened, lang) = match logged_in_open(&state, &headers, &id, peer).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let source = source(&state, &live, &id, opened, lang).await;
    let paths = paths(&state, &id, &live, lang).await;
    let draw = page(&state, &live, lang);
    answers::compose_page_for(&state, &source, query.kind, &paths, &draw, None)
}

/// `POST /portal/m/{id}/compose`: the answer, sent.
async fn send(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    peer: ClientAddr,
    form: Multipart,
) -> Response {
    // The form (its files stream in) and its token first: the message is
    // decrypted, and its share of the memory budget taken, only for a post
    // that may send.
    let live = match require(&state, &headers, &format!("/portal/m/{id}")).await {
        Ok(live) => live,
        Err(login) => return login,
    };
    let lang = live.lang(&headers);
    let paths = paths(&state, &id, &live, lang).await;
    let draw = page(&state, &live, lang);
    let posted = match checked_form(&state, &live, form, &paths, &draw, lang).await {
        Ok(posted) => posted,
        Err(page) => return page,
    };
    // The session found above, not looked up again.
    let (live, opened, lang) = match audited_open(&state, &headers, live.clone(), &id, peer).await {
        Ok(opened) => opened,
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
            keep_sent(
                state,
                &live.session.address,
                &sent.draft,
                sent.sending.as_deref(),
            )
            .await;
            sent.response
        }
        Err(page) => page,
    }
}

/// A new message's source: nothing to answer, written by the session's
/// owner, with the attachments of the draft it continues (if any).
fn new_message(state: &AppState, live: &Live, lang: &'static str, draft: MessageView) -> Source {
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
        message: draft,
        may_compose: live.session.internal || !state.settings.compose.compose_domains.is_empty(),
        staff: live.session.internal,
    }
}

/// A new message's paths; `draft` is the draft it continues ("" for none yet).
async fn new_paths(state: &AppState, live: &Live, lang: &str, draft: &str) -> Paths {
    Paths {
        action: "/portal/compose".into(),
        back: "/portal/inbox".into(),
        csrf: Some(live.session.csrf.clone()),
        draft: Some(draft.to_string()),
        address_book: address_book(state, live).await,
        notice_title: text(lang, "compose.title_new"),
    }
}

/// `GET /portal/compose`: a new message, to the organisation (`compose_domains`).
async fn new_form(
    State(state): State<AppState>,
    PortalPage { live, lang }: PortalPage,
) -> Response {
    let source = new_message(&state, &live, lang, MessageView::default());
    let draw = page(&state, &live, lang);
    answers::compose_page_for(
        &state,
        &source,
        Kind::New,
        &new_paths(&state, &live, lang, "").await,
        &draw,
        None,
    )
}

/// The compose page of draft `id`, as it was saved; `notice` above it.
pub(super) async fn draft_page(
    state: &AppState,
    live: &Live,
    lang: &'static str,
    id: &str,
    saved: Saved,
    notice: Option<String>,
) -> Response {
    let source = new_message(state, live, lang, saved.as_view());
    let draw = move |status, name: &str, ctx: Value| {
        let ctx = context! { layout => "portal/layout.html", notice => &notice, ..ctx };
        portal_page(state, live, status, name, lang, "drafts", ctx)
    };
    let prefill = Prefill {
        to: saved.to,
        subject: saved.subject,
        body: saved.body,
        html: saved.html,
    };
    let paths = new_paths(state, live, lang, id).await;
    answers::compose_page_for(state, &source, Kind::New, &paths, &draw, Some(prefill))
}

/// `POST /portal/compose`: the new message, sent; or, with "Save draft",
/// saved as a draft.
async fn send_new(State(state): State<AppState>, headers: HeaderMap, form: Multipart) -> Response {
    let live = match require(&state, &headers, "/portal/compose").await {
        Ok(live) => live,
        Err(login) => return login,
    };
    let lang = live.lang(&headers);
    let draw = page(&state, &live, lang);
    let posted = match checked_form(
        &state,
        &live,
        form,
        &new_paths(&state, &live, lang, "").await,
        &draw,
        lang,
    )
    .await
    {
        Ok(posted) => posted,
        Err(page) => return page,
    };
    let address = live.session.address.clone();
    // Someone else's (or a made-up) draft id continues nothing.
    let (draft_id, earlier) = match drafts::load(&state, &address, &posted.draft).await {
        Ok(Some(saved)) => (posted.draft.clone(), saved.as_view()),
        Ok(None) => (String::new(), MessageView::default()),
        Err(error) => return error.into_response(),
    };
    let paths = new_paths(&state, &live, lang, &draft_id).await;
    if posted.action == "save_draft" {
        let notice_page = |status, key: &str| {
            let ctx = context! { title => &paths.notice_title, lines => vec![text(lang, key)] };
            draw(status, "notice", ctx)
        };
        if posted.too_large {
            return notice_page(StatusCode::PAYLOAD_TOO_LARGE, "compose.too_large");
        }
        let saved = Saved::from_post(&posted, &earlier);
        return match drafts::save(&state, &address, &draft_id, &saved).await {
            Ok(Some(id)) => see_other(&format!("/portal/drafts/{id}?saved=1")),
            Ok(None) => notice_page(StatusCode::INSUFFICIENT_STORAGE, "portal.drafts.too_many"),
            Err(error) => error.into_response(),
        };
    }
    let source = new_message(&state, &live, lang, earlier);
    let result = answers::send(&state, &source, posted, &paths, &draw).await;
    if result.is_ok() {
        drafts::discard(&state, &address, &draft_id).await;
    }
    sent(&state, &live, result).await
}
