//! Staff's Sent view (docs/PORTAL.md, "Staff"): each message a member of
//! staff sent from the portal shows, per recipient, what `securedoc message
//! status` shows (registered, opened, replies, locked, withdrawn, expiry),
//! with Lock / Unlock, Revoke and a new expiry — the sender controls of the
//! API (`http::sender_controls`), with the same rules and audit rows.
//!
//! A sending is reached only through its owner's Sent item: the item's row
//! names the sending, and the item is looked up by its owner's address, so
//! another account (staff or not) gets the same 404 as a made-up id.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use securedoc_templates::{fill, text};
use serde::{Deserialize, Serialize};

use super::see_other;
use super::session::{require_form, Live};
use crate::http::answers::{end_of_day, STAFF_SENDER};
use crate::http::opened::format_time;
use crate::http::sender_controls::{apply, latest_expiry, Control, ControlRefusal};
use crate::http::AppState;
use crate::{EnvelopeState, Error};

/// One recipient's line in the status table.
#[derive(Serialize)]
struct RecipientLine {
    recipient: String,
    state: String,
    registered: String,
    opened: String,
    replies: i64,
    expires: String,
}

/// What the Sent view shows of a sending, and the controls it offers.
#[derive(Serialize)]
pub(super) struct SendingStatus {
    lines: Vec<RecipientLine>,
    /// Keys remain: the controls apply.
    live: bool,
    /// Some envelope is locked (Unlock), some is not (Lock).
    any_locked: bool,
    any_unlocked: bool,
    /// The date field's bounds and current value, `YYYY-MM-DD`.
    min_date: String,
    max_date: String,
    expires_on: String,
    action: String,
    /// What the last control did, or why the expiry could not change.
    done: Option<String>,
    error: Option<String>,
}

fn day(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn line(lang: &str, e: &EnvelopeState) -> RecipientLine {
    let state = if e.revoked_at.is_some() {
        "staff.status.withdrawn"
    } else if !e.key_present {
        "staff.status.expired"
    } else if e.locked {
        "staff.status.locked"
    } else {
        "staff.status.active"
    };
    let opened = match (e.first_opened_at, e.last_opened_at) {
        (Some(first), Some(last)) => fill(
            &text(lang, "staff.status.opened_times"),
            &[
                ("n", e.open_count.to_string()),
                ("first", format_time(first)),
                ("last", format_time(last)),
            ],
        ),
        _ => text(lang, "staff.status.not_opened"),
    };
    RecipientLine {
        recipient: e.recipient.clone(),
        state: text(lang, state),
        registered: text(
            lang,
            if e.registered {
                "staff.status.registered"
            } else {
                "staff.status.not_registered"
            },
        ),
        opened,
        replies: e.replies_sent,
        expires: e.expires_at.map(format_time).unwrap_or_default(),
    }
}

/// The sending `address`'s Sent item `item_id` made, with its envelopes;
/// None for an item that is not a staff sending of theirs.
async fn sending(
    state: &AppState,
    address: &str,
    item_id: &str,
) -> Result<Option<(String, String, Vec<EnvelopeState>)>, Error> {
    let Some(sending) = state.store.sent_item_sending(address, item_id).await? else {
        return Ok(None);
    };
    let sender_id = state.store.internal_sender(STAFF_SENDER).await?;
    let envelopes = state.store.sender_envelopes(&sender_id, &sending).await?;
    Ok(Some((sender_id, sending, envelopes)).filter(|(_, _, e)| !e.is_empty()))
}

/// The status of `address`'s Sent item `item_id`, if it is a staff sending.
pub(super) async fn status(
    state: &AppState,
    address: &str,
    item_id: &str,
    lang: &str,
    done: Option<String>,
    error: Option<String>,
) -> Result<Option<SendingStatus>, Error> {
    let Some((_, _, envelopes)) = sending(state, address, item_id).await? else {
        return Ok(None);
    };
    Ok(Some(describe(
        state, lang, item_id, &envelopes, done, error,
    )))
}

fn describe(
    state: &AppState,
    lang: &str,
    item_id: &str,
    envelopes: &[EnvelopeState],
    done: Option<String>,
    error: Option<String>,
) -> SendingStatus {
    let registered = envelopes.iter().map(|e| e.created_at).min().unwrap_or(0);
    let now = state.store.now();
    SendingStatus {
        lines: envelopes.iter().map(|e| line(lang, e)).collect(),
        live: envelopes.iter().any(|e| e.key_present),
        any_locked: envelopes.iter().any(|e| e.key_present && e.locked),
        any_unlocked: envelopes.iter().any(|e| e.key_present && !e.locked),
        min_date: day(now + 86_400),
        max_date: day(latest_expiry(state, registered)),
        expires_on: envelopes
            .iter()
            .filter_map(|e| e.expires_at)
            .max()
            .map(day)
            .unwrap_or_default(),
        action: format!("/portal/sent/{item_id}/control"),
        done,
        error,
    }
}

/// The Sent view's controls as posted.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ControlForm {
    csrf: String,
    /// `lock`, `unlock`, `revoke`, `expire`.
    action: String,
    /// `YYYY-MM-DD`, for `expire`.
    expires_on: String,
}

/// `POST /portal/sent/{id}/control`: Lock, Unlock, Revoke or a new expiry
/// of a staff member's own sending; back to its Sent view, saying what
/// happened (or why the expiry did not change).
pub(super) async fn control(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ControlForm>,
) -> Result<Response, Error> {
    let (live, lang) = match require_form(&state, &headers, "/portal/sent", &form.csrf).await {
        Ok(session) => session,
        Err(page) => return Ok(page),
    };
    let Some((sender_id, sending_id, envelopes)) =
        sending(&state, &live.session.address, &id).await?
    else {
        return Ok(super::sent::not_found(lang, "portal.sent.title"));
    };
    let control = match form.action.as_str() {
        "lock" => Control::Lock,
        "unlock" => Control::Unlock,
        "revoke" => Control::Revoke,
        "expire" => match end_of_day(&form.expires_on) {
            Some(expires) => Control::Expire(expires),
            None => {
                let error = text(lang, "staff.options.date_invalid");
                return refused(&state, &live, lang, &id, &envelopes, error).await;
            }
        },
        _ => return Ok(super::refused_form(lang)),
    };
    let by = format!("staff:{}", live.session.address);
    match apply(&state, &sender_id, &by, &sending_id, &envelopes, control).await? {
        Ok(_) => Ok(see_other(&format!(
            "/portal/sent/{id}?done={}",
            control.outcome()
        ))),
        Err(why) => {
            let error = match why {
                ControlRefusal::InThePast => text(lang, "staff.options.date_past"),
                ControlRefusal::KeysGone => text(lang, "staff.control.keys_gone"),
                ControlRefusal::AfterRetention(last) => fill(
                    &text(lang, "staff.options.date_too_late"),
                    &[("date", day(last))],
                ),
            };
            refused(&state, &live, lang, &id, &envelopes, error).await
        }
    }
}

/// What a control did, for the page it returns to (`?done=`).
pub(super) fn done_sentence(lang: &str, outcome: &str) -> Option<String> {
    let key = match outcome {
        "locked" => "staff.control.locked",
        "unlocked" => "staff.control.unlocked",
        "revoked" => "staff.control.revoked",
        "expiry_changed" => "staff.control.expiry_changed",
        _ => return None,
    };
    Some(text(lang, key))
}

/// The Sent view again, with why the control was refused.
async fn refused(
    state: &AppState,
    live: &Live,
    lang: &'static str,
    id: &str,
    envelopes: &[EnvelopeState],
    error: String,
) -> Result<Response, Error> {
    let status = describe(state, lang, id, envelopes, None, Some(error));
    Ok(super::sent::page(
        state,
        live,
        lang,
        id,
        Some(status),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await)
}
