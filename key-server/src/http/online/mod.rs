//! Open Online (docs/OPENER.md): the fallback for a recipient whose browser
//! or mail app cannot run the envelope — JavaScript off, a phone's preview,
//! an old browser. Every page here works without JavaScript.
//!
//! 1. `POST /open` — the envelope's own form posts its text form
//!    (multipart). The envelope is parked in memory and a password page
//!    comes back.
//! 2. `POST /open/unlock` — the password, with the parked envelope's
//!    handle. The same checks, limits and audit as key release decide
//!    (`release::open_online_key`); the server then decrypts in memory and
//!    answers with a redirect to the view, setting the view's cookie.
//! 3. `GET /open/view/{id}` — the message; `…/attachment/{n}`,
//!    `…/inline/{n}` (raster `cid:` images) and `…/message.eml` are its
//!    downloads. A view needs its id *and* its cookie.
//!
//! Nothing decrypted is written anywhere: it lives in [`held::Held`] for
//! `open_online_minutes`, then is zeroed.

mod answer;
mod compose;
mod held;
pub(crate) mod render;

pub(crate) use crate::http::answers::allowed as answer_kinds;
pub use crate::http::answers::ComposeLimits;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use envelope_core::{Envelope, Header, MessageView, Mode, SecurityLevel};
use securedoc_templates::{context, fill, text};
use serde::Deserialize;
use zeroize::Zeroizing;

pub use held::Held;
pub(crate) use held::{same_secret, secret};
use held::{Opened, Parked};

use super::pages::{busy, choose_language, notice, render};
use super::{AppState, ClientAddr, Kind, Refusal};

/// The envelope's post and an answer's: the only large bodies the server accepts.
pub fn envelope_router(max_envelope: usize, max_answer: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/open",
            post(post_envelope).layer(DefaultBodyLimit::max(max_envelope)),
        )
        .route(
            "/open/answer",
            post(answer::answer).layer(DefaultBodyLimit::max(max_envelope)),
        )
        .route(
            "/open/view/{id}/compose",
            get(compose::compose_form).post(compose::send).layer(
                // Room for the form's fields and multipart framing beside the files.
                DefaultBodyLimit::max(max_answer + 1024 * 1024),
            ),
        )
}

/// The password post and the view.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/open/unlock", post(unlock))
        .route("/open/view/{id}", get(view))
        .route("/open/view/{id}/attachment/{n}", get(attachment))
        .route("/open/view/{id}/inline/{n}", get(inline))
        .route("/open/view/{id}/message.eml", get(message_file))
}

/// The held envelopes and views, sized from the configuration.
pub fn held(config: &crate::Config) -> Held {
    Held::new(
        Duration::from_secs(u64::from(config.open_online_minutes.max(1)) * 60),
        config.open_online_memory_mb as usize * 1024 * 1024,
    )
}

/// Memory for Open Online is full: the entries end within minutes.
const BUSY_RETRY_SECONDS: u64 = 30;

/// An Open Online page of one sentence (`text_key`) under the Open Online title.
fn say(status: StatusCode, lang: &str, text_key: &str) -> Response {
    say_text(status, lang, text(lang, text_key))
}

fn say_text(status: StatusCode, lang: &str, sentence: String) -> Response {
    notice(status, lang, text(lang, "online.title"), vec![sentence])
}

fn not_an_envelope(lang: &str) -> Response {
    say(
        StatusCode::UNPROCESSABLE_ENTITY,
        lang,
        "opener.errors.damaged",
    )
}

/// What an envelope's form posted: the envelope's text form, and the
/// fields beside it (`lang`; `token` and `kind` from the answer buttons).
struct Posted {
    envelope: Option<axum::body::Bytes>,
    lang: &'static str,
    token: Option<String>,
    kind: Option<String>,
}

/// Reads an envelope's form, or the page that says why it cannot be read.
async fn read_posted(headers: &HeaderMap, mut form: Multipart) -> Result<Posted, Response> {
    let (mut envelope, mut asked, mut token, mut kind) = (None, None, None, None);
    loop {
        match form.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("envelope") => envelope = field.bytes().await.ok(),
                Some("lang") => asked = field.text().await.ok(),
                Some("token") => token = field.text().await.ok(),
                Some("kind") => kind = field.text().await.ok(),
                _ => {}
            },
            Ok(None) => break,
            Err(error) => {
                let lang = choose_language(asked.as_deref(), headers);
                return Err(match error.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => {
                        say(StatusCode::PAYLOAD_TOO_LARGE, lang, "online.too_large")
                    }
                    _ => not_an_envelope(lang),
                });
            }
        }
    }
    Ok(Posted {
        envelope,
        lang: choose_language(asked.as_deref(), headers),
        token,
        kind,
    })
}

/// An envelope's form as posted, with the envelope's bytes and header, if
/// it is one of this key server's envelopes for a real recipient of a real
/// message; else the page that says why not.
async fn posted_envelope(
    state: &AppState,
    headers: &HeaderMap,
    form: Multipart,
) -> Result<(Posted, Vec<u8>, Header), Response> {
    let posted = read_posted(headers, form).await?;
    let (bytes, header) = our_envelope(state, &posted).await?;
    Ok((posted, bytes, header))
}

async fn our_envelope(state: &AppState, posted: &Posted) -> Result<(Vec<u8>, Header), Response> {
    let lang = posted.lang;
    let Some(bytes) = posted
        .envelope
        .as_deref()
        .and_then(|t| std::str::from_utf8(t).ok())
        .and_then(|t| envelope_core::from_text(t).ok())
    else {
        return Err(not_an_envelope(lang));
    };
    let header = match Envelope::parse(&bytes) {
        Ok(envelope) => envelope.header().clone(),
        Err(_) => return Err(not_an_envelope(lang)),
    };
    // Only this key server's envelopes: it holds no other keys.
    if header.mode != Mode::Server
        || header.key_server.as_deref() != Some(state.settings.public_url.as_str())
    {
        return Err(say(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            "online.not_ours",
        ));
    }
    // Only an envelope that names a real recipient of a real message is
    // held: its 128-bit id is the envelope's own secret, so memory cannot be
    // filled with made-up envelopes (and one real one is held once).
    match state.store.is_recipient(&header.id, &header.to).await {
        Ok(true) => Ok((bytes, header)),
        Ok(false) => {
            let sentence = fill(
                &text(lang, "opener.errors.not_a_recipient"),
                &[("recipient", header.to.clone())],
            );
            Err(say_text(StatusCode::FORBIDDEN, lang, sentence))
        }
        Err(error) => {
            tracing::error!(%error, "Open Online could not look up an envelope");
            Err(server_error(state, lang))
        }
    }
}

fn server_error(state: &AppState, lang: &str) -> Response {
    let sentence = fill(
        &text(lang, "opener.errors.server_internal"),
        &[("origin", state.settings.public_url.clone())],
    );
    say_text(StatusCode::INTERNAL_SERVER_ERROR, lang, sentence)
}

/// `POST /open`: the envelope's form. Parks the envelope, asks for the password.
async fn post_envelope(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    let (posted, bytes, header) = match posted_envelope(&state, &headers, form).await {
        Ok(ours) => ours,
        Err(page) => return page,
    };
    let lang = posted.lang;
    let asks = match asks(&state, &header).await {
        Ok(asks) => asks,
        Err(_) => return server_error(&state, lang),
    };
    match state.held.park(Parked {
        message_id: header.id.clone(),
        envelope: bytes,
        lang,
    }) {
        Ok(handle) => password_page(StatusCode::OK, lang, &header, &handle, asks, None, None),
        Err(held::Full) => busy(lang, BUSY_RETRY_SECONDS),
    }
}

/// What the page asks for: the password, or (for a recipient who reads
/// this message by one-time passcode) "Send me a code", then the code.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Asks {
    Password,
    SendCode,
    Code,
}

/// [`Asks::SendCode`] for a passcode recipient, else the password.
async fn asks(state: &AppState, header: &Header) -> Result<Asks, crate::Error> {
    let passcode = state
        .store
        .is_passcode_recipient(&header.id, &header.to)
        .await?;
    Ok(if passcode {
        Asks::SendCode
    } else {
        Asks::Password
    })
}

/// The password page for a parked envelope (or the one-time passcode's,
/// as `asks` says), with an error when one was refused.
fn password_page(
    status: StatusCode,
    lang: &str,
    header: &Header,
    handle: &str,
    asks: Asks,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let field = if asks == Asks::Password {
        "password"
    } else {
        "passcode"
    };
    let errors: BTreeMap<&str, String> = error.into_iter().map(|e| (field, e)).collect();
    render(
        status,
        "online_password",
        lang,
        context! {
            handle,
            from => &header.from,
            to => &header.to,
            sent => iso_time(header.created),
            expires => header.expires.map(iso_time),
            phrase => &header.phrase,
            needs_password => header.security != SecurityLevel::Low,
            passcode => asks != Asks::Password,
            code_sent => asks == Asks::Code,
            notice,
            errors,
        },
    )
}

pub(crate) fn iso_time(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// What the recipient may do with the message: what its header allows and
/// the sender registered, both. The recipient holds the content key and so
/// could re-seal a header that allows more; the registered flags it cannot
/// change. Unreadable from the store: nothing but printing, as the header says.
pub(crate) async fn restrictions(state: &AppState, header: &Header) -> envelope_core::Flags {
    let ours = header.flags;
    let registered = match state.store.message_flags(&header.id).await {
        Ok(Some(flags)) => flags,
        Ok(None) | Err(_) => envelope_core::Flags {
            reply: false,
            reply_all: false,
            forward: false,
            print: ours.print,
            read_receipt: false,
        },
    };
    envelope_core::Flags {
        reply: ours.reply && registered.reply,
        reply_all: ours.reply_all && registered.reply_all,
        forward: ours.forward && registered.forward,
        print: ours.print && registered.print,
        read_receipt: registered.read_receipt,
    }
}

/// What a refusal says to the recipient, in their language: the opener's
/// own sentences (one table of them, `[opener.errors]`).
fn refusal_text(lang: &str, refusal: &Refusal, recipient: &str, origin: &str) -> String {
    let t = |key: &str| text(lang, &format!("opener.errors.{key}"));
    let sentence = match refusal.kind() {
        Kind::WrongPassword => match refusal.field("attempts_left").and_then(|v| v.as_i64()) {
            Some(0) => format!("{} {}", t("wrong_password"), t("now_locked")),
            Some(1) => format!("{} {}", t("wrong_password"), t("attempts_left_one")),
            Some(n) => format!(
                "{} {}",
                t("wrong_password"),
                fill(&t("attempts_left_many"), &[("n", n.to_string())])
            ),
            None => t("wrong_password"),
        },
        Kind::Locked => match refusal.field("locked_until").and_then(|v| v.as_i64()) {
            Some(until) => fill(&t("locked_until"), &[("time", iso_time(until))]),
            None => t("locked"),
        },
        Kind::NotARecipient => t("not_a_recipient"),
        Kind::WrongPasscode | Kind::PasscodeExpired => {
            super::release::refusal_sentence(lang, refusal).unwrap_or_default()
        }
        kind @ (Kind::RateLimited
        | Kind::Busy
        | Kind::Unconfirmed
        | Kind::PasswordExpired
        | Kind::Gone
        | Kind::MessageLocked
        | Kind::BadRequest) => t(kind.as_str()),
        Kind::Disabled => t("disabled"),
        _ => t("server_internal"),
    };
    fill(
        &sentence,
        &[
            ("recipient", recipient.to_string()),
            ("origin", origin.to_string()),
        ],
    )
}

#[derive(Deserialize)]
struct UnlockForm {
    handle: String,
    #[serde(default)]
    password: Zeroizing<String>,
    /// The one-time passcode, for a recipient who reads by code.
    #[serde(default)]
    passcode: Option<Zeroizing<String>>,
    /// "Send me a code" (`first`) or "Send a new code" (`again`).
    #[serde(default)]
    send: Option<String>,
}

/// `POST /open/unlock`: the password for a parked envelope.
async fn unlock(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<UnlockForm>,
) -> Response {
    let Some(parked) = state.held.parked(&form.handle) else {
        let lang = choose_language(None, &headers);
        return say(StatusCode::GONE, lang, "online.page_expired");
    };
    let lang = parked.lang;
    let header = Envelope::parse(&parked.envelope)
        .expect("parked envelopes were parsed")
        .header()
        .clone();
    let client = client.to_string();
    let asks = match asks(&state, &header).await {
        Ok(asks) => asks,
        Err(_) => return server_error(&state, lang),
    };
    if let (Asks::SendCode, Some(send)) = (asks, &form.send) {
        // The same page whatever `send_code` decided, as the API's 202.
        if super::release::send_code(&state, &header.id, &header.to, Some(lang), &client)
            .await
            .is_err()
        {
            return server_error(&state, lang);
        }
        let key = if send == "again" {
            "passcode.resent"
        } else {
            "passcode.sent"
        };
        let sent = fill(&text(lang, key), &[("email", header.to.clone())]);
        return password_page(
            StatusCode::OK,
            lang,
            &header,
            &form.handle,
            Asks::Code,
            None,
            Some(sent),
        );
    }
    // A passcode recipient's code; nobody else's form carries one.
    let (password, passcode) = match asks {
        Asks::Password => (form.password, None),
        _ => (
            Zeroizing::default(),
            Some(form.passcode.unwrap_or_default()),
        ),
    };
    let key = match super::release::open_online_key(
        &state, &header.id, &header.to, password, passcode, &client,
    )
    .await
    {
        Ok(key) => key,
        Err(refusal) => {
            let status = refusal.kind().status();
            if refusal.kind() == Kind::Gone {
                state.held.remove(&form.handle);
                return say_text(
                    status,
                    lang,
                    refusal_text(lang, &refusal, &header.to, &state.settings.public_url),
                );
            }
            let error = refusal_text(lang, &refusal, &header.to, &state.settings.public_url);
            // A code's refusal leaves the code field there for the next.
            let asks = match asks {
                Asks::Password => Asks::Password,
                _ => Asks::Code,
            };
            return password_page(status, lang, &header, &form.handle, asks, Some(error), None);
        }
    };
    state.held.remove(&form.handle);
    let flags = restrictions(&state, &header).await;
    match hold(&state, &header, flags, parked, key).await {
        Ok((id, cookie)) => {
            let location = format!("/open/view/{id}");
            let mut response =
                (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response
        }
        Err(page) => page,
    }
}

/// Decrypts an envelope in memory with its key and holds the message as a
/// view allowed `flags` (from [`restrictions`]): its id and the
/// `Set-Cookie` value of its cookie.
async fn hold(
    state: &AppState,
    header: &Header,
    flags: envelope_core::Flags,
    envelope: std::sync::Arc<Parked>,
    key: Zeroizing<Vec<u8>>,
) -> Result<(String, HeaderValue), Response> {
    let lang = envelope.lang;
    // Decrypting tens of megabytes is work for a blocking thread.
    let opened = tokio::task::spawn_blocking(move || {
        let (_, opened) = crate::http::pull::decrypt_with_key(&envelope.envelope, &key)?;
        // Held as the .eml the recipient saves; a v2 container zeroes its own memory.
        Some(Zeroizing::new(opened.eml().into_owned()))
    })
    .await
    .ok()
    .flatten();
    let Some(message) = opened else {
        return Err(say(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            "opener.errors.wrong_key",
        ));
    };
    let cookie = held::secret();
    let Ok(id) = state.held.open(Opened {
        message,
        cookie: cookie.clone(),
        message_id: header.id.clone(),
        recipient: header.to.clone(),
        sender: state
            .store
            .message_sender(&header.id)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| header.from.to_ascii_lowercase()),
        flags,
        lang,
    }) else {
        return Err(busy(lang, BUSY_RETRY_SECONDS));
    };
    let secure = if state.settings.public_url.starts_with("https:") {
        "; Secure"
    } else {
        ""
    };
    let set_cookie = format!(
        "{COOKIE}={cookie}; Path=/open/view/{id}; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
        state.held.lifetime().as_secs()
    );
    let set_cookie = HeaderValue::from_str(&set_cookie).expect("hex and ASCII");
    Ok((id, set_cookie))
}

/// The view's cookie: scoped to the view's path, so views do not mix.
const COOKIE: &str = "securedoc_view";

/// The opened message of `id` if the request carries its cookie.
fn opened(state: &AppState, id: &str, headers: &HeaderMap) -> Option<std::sync::Arc<Opened>> {
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())?;
    state.held.opened(id, &cookie)
}

fn view_gone(headers: &HeaderMap) -> Response {
    let lang = choose_language(None, headers);
    say(StatusCode::NOT_FOUND, lang, "online.view_gone")
}

/// `GET /open/view/{id}`: the message, server-rendered.
async fn view(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(opened) = opened(&state, &id, &headers) else {
        return view_gone(&headers);
    };
    let lang = opened.lang;
    let Ok(message) = MessageView::parse(&opened.message) else {
        return say(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            "opener.errors.not_a_message",
        );
    };
    let url = format!("{}/open/view/{id}", state.settings.public_url);
    let registered = match state.store.message_sender(&opened.message_id).await {
        Ok(registered) => registered,
        Err(error) => return error.into_response(),
    };
    render(
        StatusCode::OK,
        "online_message",
        lang,
        context! {
            sender_warning => render::sender_warning(&message, registered.as_deref(), lang),
            print => opened.flags.print,
            answers => answer_kinds(&opened.flags)
                .into_iter()
                .map(|kind| (format!("{url}/compose?kind={kind}"), text(lang, &format!("compose.button_{kind}"))))
                .collect::<Vec<_>>(),
            minutes => state.held.lifetime().as_secs() / 60,
            ..render::message_context(&message, &url, lang)
        },
    )
}

/// A download: never shown by the browser as a page of this origin.
pub(crate) fn download(name: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        urlencoding(name)
    );
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
            (header::CACHE_CONTROL, "no-store".into()),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'".into(),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// RFC 5987 percent-encoding of a file name (also a query value).
pub(crate) fn urlencoding(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn part(
    state: &AppState,
    id: &str,
    n: usize,
    headers: &HeaderMap,
) -> Option<envelope_core::Attachment> {
    let opened = opened(state, id, headers)?;
    MessageView::parse(&opened.message)
        .ok()?
        .attachments
        .into_iter()
        .nth(n)
}

/// `GET /open/view/{id}/attachment/{n}`: always a download, whatever its type.
async fn attachment(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, usize)>,
    headers: HeaderMap,
) -> Response {
    match part(&state, &id, n, &headers) {
        Some(part) => download(&part.name, "application/octet-stream", part.bytes),
        None => view_gone(&headers),
    }
}

/// `GET /open/view/{id}/inline/{n}`: a raster image the body shows.
async fn inline(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, usize)>,
    headers: HeaderMap,
) -> Response {
    match part(&state, &id, n, &headers) {
        Some(part) if render::INLINE_IMAGE_TYPES.contains(&part.content_type.as_str()) => (
            [
                (header::CONTENT_TYPE, part.content_type),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
                (header::CACHE_CONTROL, "no-store".into()),
            ],
            part.bytes,
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /open/view/{id}/message.eml`: "Save message", the message as sealed.
async fn message_file(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match opened(&state, &id, &headers) {
        Some(opened) => download("message.eml", "message/rfc822", opened.message.to_vec()),
        None => view_gone(&headers),
    }
}
