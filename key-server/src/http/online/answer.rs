//! `POST /open/answer`: Reply, Reply all or Forward from a message opened
//! in the envelope itself (docs/OPENER.md, "Answering").
//!
//! The envelope's answer buttons post its Open Online form — the envelope's
//! text form — with `kind` and the answer token key release sealed to that
//! opener (`crate::answer_token`). The token, not an address in a URL, is
//! the proof: it names this message and recipient and ends after
//! `answer_token_minutes`. The server then opens the envelope in memory as
//! Open Online does and sends the browser to the compose page of that view,
//! so every rule of answering (`compose.rs`) applies unchanged. (The
//! browser gets there through a page of this origin, not a redirect: the
//! view's cookie is SameSite=Strict, and a redirect chain that began with
//! a post from a file would not carry it.)

use axum::extract::{Multipart, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;

use securedoc_templates::{context, text};

use super::{held::Parked, hold, posted_envelope, say};
use crate::answer_token::{self, Refused};
use crate::http::answers::Kind;
use crate::http::pages::render;
use crate::http::{AppState, ClientAddr};

pub(super) async fn answer(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    let (posted, bytes, header) = match posted_envelope(&state, &headers, form).await {
        Ok(ours) => ours,
        Err(page) => return page,
    };
    let lang = posted.lang;
    let Some(kind) = posted.kind.as_deref().and_then(Kind::parse) else {
        return say(StatusCode::BAD_REQUEST, lang, "compose.bad_form");
    };
    match answer_token::check(
        &state.master_key,
        posted.token.as_deref().unwrap_or_default(),
        &header.id,
        &header.to,
        state.store.now(),
    ) {
        Ok(()) => {}
        Err(Refused::Expired) => return say(StatusCode::FORBIDDEN, lang, "compose.token_expired"),
        Err(Refused::Invalid) => return say(StatusCode::FORBIDDEN, lang, "compose.token_invalid"),
    }
    // A kind the sender forbade goes no further than a refusal (the
    // compose page would refuse it too; nothing needs opening for that).
    let flags = super::restrictions(&state, &header).await;
    if !kind.allowed(&flags) {
        let sentence = format!("compose.not_allowed_{}", kind.as_str());
        return say(StatusCode::FORBIDDEN, lang, &sentence);
    }
    let key = match super::super::release::answer_key(
        &state,
        &header.id,
        &header.to,
        &client.to_string(),
    )
    .await
    {
        Ok(key) => key,
        Err(refusal) => {
            let sentence =
                super::refusal_text(lang, &refusal, &header.to, &state.settings.public_url);
            return super::say_text(refusal.kind().status(), lang, sentence);
        }
    };
    let parked = std::sync::Arc::new(Parked {
        message_id: header.id.clone(),
        envelope: bytes,
        lang,
    });
    match hold(&state, &header, flags, parked, key).await {
        Ok((id, cookie)) => {
            let next = format!("/open/view/{id}/compose?kind={}", kind.as_str());
            let title = text(lang, &format!("compose.title_{}", kind.as_str()));
            let mut response = render(
                StatusCode::OK,
                "online_continue",
                lang,
                context! { title, next },
            );
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response
        }
        Err(page) => page,
    }
}
