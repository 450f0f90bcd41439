//! The portal's session cookie and its checks.
//!
//! The cookie is 256 random bits (hex), `HttpOnly`, `SameSite=Strict`,
//! `Path=/`, no `Domain`; over https it is `__Host-securedoc_session` and
//! `Secure` (browsers refuse the `__Host-` prefix without it, so a plain-http
//! loopback demo uses `securedoc_session`). The store keeps only its hash. A
//! new id is made at every login, whatever cookie came with it: a cookie
//! planted before login (session fixation) never becomes a session.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::see_other;
use crate::http::AppState;
use crate::store::{PortalSession, SessionLookup};

/// A session's activity is written at most this often (seconds): reading
/// pages does not write a row per request.
const TOUCH_EVERY: i64 = 30;

/// The portal's settings in effect.
#[derive(Clone, Debug)]
pub struct PortalSettings {
    /// A session ends after this long without activity, seconds.
    pub idle_seconds: i64,
    /// The page warns this long before, seconds.
    pub warning_seconds: i64,
    /// A session ends this long after login, seconds.
    pub max_seconds: i64,
    /// Messages per Inbox page.
    pub page_size: i64,
    /// The cookie's name and whether it is `Secure` (an https origin).
    pub cookie_name: &'static str,
    /// `Secure` on the cookie.
    pub cookie_secure: bool,
    /// How a recipient without an account gets one.
    pub first_contact: crate::config::FirstContact,
    /// A mailed first-time password works this long, seconds.
    pub temporary_seconds: i64,
    /// Keep copies of what recipients send (Sent items).
    pub keep_sent: bool,
    /// Password hints (`[portal] password_hint`).
    pub password_hint: bool,
    /// Memory for decrypted messages, in MiB permits (`decrypt_memory_mb`),
    /// shared by every request of this replica.
    pub decrypt_budget: std::sync::Arc<tokio::sync::Semaphore>,
    /// The budget's size, MiB.
    pub decrypt_budget_mib: u32,
}

impl PortalSettings {
    /// From the configuration; `public_url` decides the cookie.
    pub fn new(config: &crate::config::PortalConfig, public_url: &str) -> PortalSettings {
        let secure = public_url.starts_with("https://");
        PortalSettings {
            idle_seconds: i64::from(config.session_idle_minutes.max(1)) * 60,
            warning_seconds: i64::from(config.session_warning_seconds),
            max_seconds: i64::from(config.session_max_hours.max(1)) * 3600,
            page_size: i64::from(config.page_size.clamp(5, 500)),
            cookie_name: if secure {
                "__Host-securedoc_session"
            } else {
                "securedoc_session"
            },
            cookie_secure: secure,
            first_contact: config.first_contact,
            temporary_seconds: i64::from(config.temporary_password_days.max(1)) * 86_400,
            keep_sent: config.keep_sent,
            password_hint: config.password_hint,
            decrypt_budget: std::sync::Arc::new(tokio::sync::Semaphore::new(
                config.decrypt_memory_mb.max(1) as usize,
            )),
            decrypt_budget_mib: config.decrypt_memory_mb.max(1),
        }
    }

    /// `Set-Cookie` for session `id`.
    pub(super) fn cookie(&self, id: &str) -> HeaderValue {
        let secure = if self.cookie_secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{}={id}; Path=/; HttpOnly; SameSite=Strict{secure}",
            self.cookie_name
        ))
        .expect("a hex id is a valid header value")
    }

    /// `Set-Cookie` that removes the cookie.
    pub(super) fn removal(&self) -> HeaderValue {
        let secure = if self.cookie_secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}",
            self.cookie_name
        ))
        .expect("a fixed value")
    }
}

/// A request's live session.
#[derive(Clone)]
pub(super) struct Live {
    /// The cookie's value.
    pub id: String,
    pub session: PortalSession,
}

impl Live {
    /// The language of this session's pages: the account's (set at
    /// registration or in Preferences), else the browser's first choice we
    /// have (a one-time passcode's session has no account).
    pub(super) fn lang(&self, headers: &HeaderMap) -> &'static str {
        match &self.session.language {
            Some(code) => securedoc_templates::language(code),
            None => crate::http::pages::choose_language(None, headers),
        }
    }
}

/// A portal page (a GET) of a full session: the session and the page's
/// language. Without one, the answer is the way to the login page, which
/// comes back to this page.
pub(super) struct PortalPage {
    pub live: Live,
    pub lang: &'static str,
}

impl axum::extract::FromRequestParts<AppState> for PortalPage {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Response> {
        let here = parts.uri.path().to_string();
        let live = require(state, &parts.headers, &here).await?;
        let lang = live.lang(&parts.headers);
        Ok(PortalPage { live, lang })
    }
}

/// The session cookie's value, if the request carries one that can be ours.
pub(super) fn cookie_value(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let name = state.settings.portal.cookie_name;
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Requests a page makes by itself (draft autosave) say so: they must not
/// keep an unattended session alive.
fn background(headers: &HeaderMap) -> bool {
    headers.contains_key("x-securedoc-background")
}

/// What a session may do.
pub(super) const FULL: &str = "full";
/// Only choose a new password (logged in with a temporary one).
pub(super) const CHANGE_PASSWORD: &str = "change_password";
/// The scope of a session begun with a one-time passcode, before the
/// message id: that one message and its downloads, nothing else
/// (`super::passcode`).
pub(super) const PASSCODE: &str = "passcode:";

/// Whether `live` is a one-time passcode's session.
pub(super) fn is_passcode(live: &Live) -> bool {
    live.session.scope.starts_with(PASSCODE)
}

/// The live session of this request, or the way to the login page (which
/// says why: inactivity, the absolute end), coming back to `next`. A
/// session that must first choose a password is sent to do that.
pub(super) async fn require(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
) -> Result<Live, Response> {
    let live = require_any(state, headers, next).await?;
    full_only(live, headers, next)
}

/// `live`, if it is a full session; else where its scope may go (a
/// page, as the async checks around it answer).
#[allow(clippy::result_large_err)]
fn full_only(live: Live, headers: &HeaderMap, next: &str) -> Result<Live, Response> {
    if is_passcode(&live) {
        return Err(super::passcode::limited(headers));
    }
    if live.session.scope != FULL {
        return Err(see_other(&format!(
            "/portal/password?next={}",
            super::login::query_value(next)
        )));
    }
    Ok(live)
}

/// [`require`], for reading message `id` (its page and downloads): a
/// one-time passcode's session may too, for its own message only.
pub(super) async fn require_message(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
    id: &str,
) -> Result<Live, Response> {
    let live = require_any(state, headers, next).await?;
    if live.session.scope.strip_prefix(PASSCODE) == Some(id) {
        return Ok(live);
    }
    full_only(live, headers, next)
}

/// [`require`], for the one page a `change_password` session may see.
pub(super) async fn require_any(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
) -> Result<Live, Response> {
    let portal = &state.settings.portal;
    let login = |why: &str| {
        let mut response = see_other(&format!(
            "/portal/login?next={}{why}",
            super::login::query_value(next)
        ));
        response
            .headers_mut()
            .insert(header::SET_COOKIE, portal.removal());
        response
    };
    let Some(id) = cookie_value(state, headers) else {
        return Err(login(""));
    };
    let lookup = state
        .store
        .session(&id, portal.idle_seconds, !background(headers), TOUCH_EVERY)
        .await;
    match lookup {
        Ok(SessionLookup::Live(session)) => Ok(Live { id, session }),
        Ok(SessionLookup::TimedOut) => Err(login("&timeout=1")),
        Ok(SessionLookup::Ended) => Err(login("&ended=1")),
        Ok(SessionLookup::Unknown) => Err(login("")),
        Err(error) => Err(error.into_response()),
    }
}

/// Starts a session for `address` with `scope` (a new id, whatever cookie
/// came: the old session, if any, ends) and sends the browser to `next`.
pub(super) async fn start(
    state: &AppState,
    headers: &HeaderMap,
    address: &str,
    client: &str,
    scope: &str,
    next: &str,
) -> Result<Response, crate::Error> {
    if let Some(old) = cookie_value(state, headers) {
        state.store.end_session(&old).await?;
    }
    let portal = &state.settings.portal;
    let id = crate::http::online::secret();
    let csrf = crate::http::online::secret();
    state
        .store
        .create_session(&id, address, &csrf, portal.max_seconds, client, scope)
        .await?;
    let mut response = see_other(next);
    response
        .headers_mut()
        .insert(header::SET_COOKIE, portal.cookie(&id));
    Ok(response)
}

/// A form with nothing but the session's token (Delete, Log out).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct TokenForm {
    pub csrf: String,
}

/// The session of a form post and the page's language, if the form carries
/// the session's token; else the way to the login page, or the refusal.
pub(super) async fn require_form(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
    csrf: &str,
) -> Result<(Live, &'static str), Response> {
    let live = require(state, headers, next).await?;
    let lang = live.lang(headers);
    if !csrf_ok(&live, csrf) {
        return Err(super::refused_form(lang));
    }
    Ok((live, lang))
}

/// Whether `token` is this session's CSRF token (constant time).
pub(super) fn csrf_ok(live: &Live, token: &str) -> bool {
    crate::http::online::same_secret(&live.session.csrf, token)
}

/// `POST /portal/session/keepalive` ("Stay logged in"): counts as activity.
/// The token comes in a header, so only the portal's own script can send it.
pub(super) async fn keepalive(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let portal = &state.settings.portal;
    let Some(id) = cookie_value(&state, &headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    // Looked up without counting as activity; only a post with the
    // session's token keeps it alive.
    match state
        .store
        .session(&id, portal.idle_seconds, false, 0)
        .await
    {
        Ok(SessionLookup::Live(session)) => {
            let token = headers
                .get("x-securedoc-csrf")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !crate::http::online::same_secret(&session.csrf, token) {
                return StatusCode::FORBIDDEN.into_response();
            }
            match state.store.session(&id, portal.idle_seconds, true, 0).await {
                Ok(_) => StatusCode::NO_CONTENT.into_response(),
                Err(error) => error.into_response(),
            }
        }
        Ok(_) => StatusCode::UNAUTHORIZED.into_response(),
        Err(error) => error.into_response(),
    }
}
