//! The secure-mail portal (docs/PORTAL.md): the key server's second face,
//! on the same accounts, keys, limits and audit. Server-rendered, usable
//! without JavaScript; a message is decrypted per request from the stored
//! envelope and nothing of it is kept, so any replica answers any request.
//!
//! One module per flow: `session` (cookies and their checks), `login`,
//! `inbox`, `message`.

mod address_book;
mod budget;
mod compose;
mod download;
mod drafts;
mod first_contact;
mod folders;
mod groups;
mod inbox;
mod login;
mod message;
mod passcode;
mod personal;
mod preferences;
mod sent;
mod session;
mod sso;
mod staff;

pub(crate) use budget::reserve as reserve_decryption;
pub use compose::router as upload_router;
pub(crate) use first_contact::issue_temporary_password;
pub(crate) use preferences::{hint_holds, open_password_hint, seal_password_hint, MAX_HINT};
pub(crate) use sent::keep as keep_sent;
pub use session::PortalSettings;
pub use sso::StaffSettings;

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use securedoc_templates::{text, Value};

use super::pages::{choose_language, notice, render};
use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/portal", get(|| async { Redirect::to("/portal/inbox") }))
        .route("/portal/login", get(login::form).post(login::email_step))
        .route("/portal/login/password", post(login::password_step))
        .route("/portal/logout", post(login::logout))
        .route("/portal/passcode/send", post(passcode::send))
        .route("/portal/passcode", post(passcode::enter))
        .route(
            "/portal/password",
            get(first_contact::password_form).post(first_contact::choose_password),
        )
        .route("/portal/session/keepalive", post(session::keepalive))
        .route("/portal/inbox", get(inbox::inbox))
        .route("/portal/m/{id}", get(message::view))
        .route("/portal/m/{id}/attachment/{n}", get(message::attachment))
        .route("/portal/m/{id}/inline/{n}", get(message::inline))
        .route("/portal/m/{id}/message.eml", get(message::message_file))
        .route(
            "/portal/m/{id}/attachments.zip",
            get(message::attachments_zip),
        )
        .route("/portal/m/{id}/delete", post(message::delete))
        .route("/portal/m/{id}/move", post(folders::move_message))
        .route(
            "/portal/folders",
            get(folders::folders).post(folders::create),
        )
        .route("/portal/folders/{id}", get(folders::listing))
        .route("/portal/folders/{id}/rename", post(folders::rename))
        .route("/portal/folders/{id}/delete", post(folders::delete))
        .route(
            "/portal/contacts",
            get(address_book::contacts).post(address_book::add),
        )
        .route(
            "/portal/contacts/{id}",
            get(address_book::edit).post(address_book::update),
        )
        .route("/portal/contacts/{id}/delete", post(address_book::delete))
        .route("/portal/groups", get(groups::groups).post(groups::create))
        .route("/portal/groups/{id}", get(groups::group))
        .route("/portal/groups/{id}/rename", post(groups::rename))
        .route("/portal/groups/{id}/members", post(groups::set_members))
        .route("/portal/groups/{id}/delete", post(groups::delete))
        .route("/portal/drafts", get(drafts::drafts))
        .route("/portal/drafts/{id}", get(drafts::open))
        .route("/portal/drafts/{id}/delete", post(drafts::delete))
        .route("/portal/sent", get(sent::sent))
        .route("/portal/sent/{id}", get(sent::view))
        .route("/portal/sent/{id}/attachment/{n}", get(sent::attachment))
        .route("/portal/sent/{id}/delete", post(sent::delete))
        .route("/portal/sent/{id}/control", post(staff::control))
        .merge(preferences::router())
        .layer(axum::middleware::from_fn(same_origin_posts))
}

/// Every state-changing request to the portal must come from the portal's
/// own pages: a browser says where a request comes from (`Sec-Fetch-Site`,
/// else `Origin`), and a form another site posts is refused before any
/// handler runs. The session's CSRF token is the second check, for the
/// forms of a logged-in session; this one also covers the login forms.
async fn same_origin_posts(request: Request, next: Next) -> Response {
    if request.method() != Method::GET
        && request.method() != Method::HEAD
        && !from_this_site(request.headers())
    {
        let lang = choose_language(None, request.headers());
        return refused_form(lang);
    }
    next.run(request).await
}

fn from_this_site(headers: &HeaderMap) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = value("sec-fetch-site") {
        // `none`: typed or bookmarked by the user, not another site's doing.
        return matches!(site, "same-origin" | "none");
    }
    match (value("origin"), value("host")) {
        // No Origin: not a browser's cross-site form (browsers send it on
        // every POST); a command-line client cannot forge a victim's cookie.
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    }
}

/// 403: a form from elsewhere, or without its session's token.
fn refused_form(lang: &str) -> Response {
    notice(
        StatusCode::FORBIDDEN,
        lang,
        text(lang, "portal.login.title"),
        vec![text(lang, "portal.login.refused_form")],
    )
}

/// A portal page for a logged-in session: its layout needs the session's
/// address, token and timings beside the page's own context.
fn portal_page(
    state: &AppState,
    live: &session::Live,
    status: StatusCode,
    name: &str,
    lang: &str,
    section: &str,
    ctx: Value,
) -> Response {
    let portal = &state.settings.portal;
    let ctx = securedoc_templates::context! {
        session_email => live.session.address.clone(),
        csrf => live.session.csrf.clone(),
        idle_seconds => portal.idle_seconds,
        warning_seconds => portal.warning_seconds,
        // Staff always compose, and always keep what they send (their Sent
        // view is where they follow and control it).
        can_compose => live.session.internal || !state.settings.compose.compose_domains.is_empty(),
        keep_sent => portal.keep_sent || live.session.internal,
        staff => live.session.internal,
        // A one-time passcode's session: its message, and Log out.
        limited => session::is_passcode(live),
        section,
        ..ctx
    };
    render(status, name, lang, ctx)
}

/// Pages of a mailbox list are fetched one entry longer than a page: that
/// one says whether there is an older page, without a COUNT. Cuts `entries`
/// to the page and gives the next page's `before=` cursor, if any.
fn older_cursor<T>(
    entries: &mut Vec<T>,
    size: i64,
    key: impl Fn(&T) -> (i64, &str),
) -> Option<String> {
    if entries.len() as i64 <= size {
        return None;
    }
    entries.truncate(size as usize);
    entries.last().map(|entry| {
        let (at, id) = key(entry);
        format!("{at}.{id}")
    })
}

/// 303 to `location`.
fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

/// Where a login may return to: a portal path, nothing else (no open redirect).
fn local_next(next: &str) -> String {
    let safe = next.starts_with("/portal/")
        && !next.starts_with("//")
        && next.len() <= 200
        && next
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.?=&".contains(&b));
    if safe {
        next.to_string()
    } else {
        "/portal/inbox".to_string()
    }
}
