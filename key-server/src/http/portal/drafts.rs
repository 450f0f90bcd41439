//! Drafts of new messages: saved with "Save draft" (without JavaScript),
//! and every few seconds while typing (`/static/portal-drafts.js` posts
//! `/portal/drafts/autosave`, as a background request that does not keep
//! an unattended session alive). A draft — To, Subject, the text and its
//! attachments — is encrypted like Sent items (a key of its own sealed under
//! the master key), at most [`MAX_DRAFTS`] per account, deleted when sent,
//! by its owner, or by the retention, keys first.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use envelope_core::{Attachment, DraftAttachment, MessageView};
use securedoc_templates::text;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::sent::{item_list, ItemList, ListQuery, PrivateItem};
use super::session::{csrf_ok, require, Live, PortalPage, TokenForm};
use crate::http::answers::{formatted, Posted};
use crate::http::pull::EntrySummary;
use crate::http::AppState;
use crate::store::NewItem;
use crate::Error;

/// Drafts one account may keep.
pub(super) const MAX_DRAFTS: i64 = 50;

#[derive(Serialize, Deserialize)]
struct SavedFile {
    name: String,
    /// The bytes, base64 (inside the encrypted draft).
    data: String,
}

/// A draft as saved (encrypted as one JSON document).
#[derive(Serialize, Deserialize, Default)]
pub(super) struct Saved {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The editor's formatting, sanitised before it is saved.
    #[serde(default)]
    pub html: String,
    files: Vec<SavedFile>,
}

impl Saved {
    /// The draft's attachments, as the compose page offers them to keep.
    pub(super) fn as_view(&self) -> MessageView {
        MessageView {
            attachments: self
                .files
                .iter()
                .map(|f| Attachment {
                    name: f.name.clone(),
                    content_type: "application/octet-stream".into(),
                    content_id: None,
                    bytes: STANDARD.decode(&f.data).unwrap_or_default(),
                })
                .collect(),
            ..MessageView::default()
        }
    }

    /// What a compose post says, keeping the ticked files of `earlier`.
    pub(super) fn from_post(posted: &Posted, earlier: &MessageView) -> Saved {
        let kept = posted
            .keep
            .iter()
            .filter_map(|n| earlier.attachments.get(*n))
            .map(|a| (a.name.as_str(), a.bytes.as_slice()));
        let added = posted
            .files
            .iter()
            .map(|f: &DraftAttachment| (f.name.as_str(), f.bytes.as_slice()));
        Saved {
            to: posted.to.clone(),
            subject: posted.subject.clone(),
            body: posted.body.clone(),
            html: formatted(&posted.html).unwrap_or_default(),
            files: kept
                .chain(added)
                .map(|(name, bytes)| SavedFile {
                    name: name.to_string(),
                    data: STANDARD.encode(bytes),
                })
                .collect(),
        }
    }
}

fn is_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `address`'s draft `id`, decrypted, if it is theirs.
pub(super) async fn load(
    state: &AppState,
    address: &str,
    id: &str,
) -> Result<Option<Saved>, Error> {
    // Read within the decryption budget (the draft's attachments live on
    // in what is returned; the budget covers the decryption).
    match super::sent::open_private(state, address, "draft", id).await? {
        PrivateItem::Found(json, _memory) => Ok(serde_json::from_slice(&json).ok()),
        PrivateItem::NotFound => Ok(None),
        PrivateItem::Busy => Err(Error::Busy),
    }
}

/// Saves `saved` as `address`'s draft `id` (a new one when `id` is not
/// theirs or empty): its id, or None at [`MAX_DRAFTS`].
pub(super) async fn save(
    state: &AppState,
    address: &str,
    id: &str,
    saved: &Saved,
) -> Result<Option<String>, Error> {
    let id = if is_id(id) {
        id.to_string()
    } else {
        crate::hex(&crate::random::<16>())
    };
    let json = Zeroizing::new(serde_json::to_vec(saved).expect("a draft serialises"));
    let (sealed_key, item) = state.master_key.seal_item(address, &id, &json);
    let entry_id = crate::hex(&crate::random::<16>());
    let summary = EntrySummary {
        subject: saved.subject.clone(),
        from: saved.to.clone(),
        date: None,
        size: json.len() as u64,
        attachments: saved.files.len(),
    };
    let kept = state
        .store
        .keep_item(
            NewItem {
                kind: "draft",
                id: &id,
                address,
                sealed_key: &sealed_key,
                item: &item,
                entry_id: &entry_id,
                summary_sealed: &summary.seal(&state.master_key, address, &entry_id),
                sending_id: None,
            },
            MAX_DRAFTS,
        )
        .await?;
    Ok(kept.then_some(id))
}

/// Deletes `address`'s draft `id` (after it was sent).
pub(super) async fn discard(state: &AppState, address: &str, id: &str) {
    if is_id(id) {
        if let Err(error) = state.store.delete_private_item(address, "draft", id).await {
            tracing::error!(%error, "could not delete a sent draft");
        }
    }
}

/// `GET /portal/drafts`.
pub(super) async fn drafts(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Response, Error> {
    let list = ItemList {
        kind: "draft",
        here: "/portal/drafts",
        section: "drafts",
        title: DRAFTS_TITLE,
        when: "portal.drafts.saved",
        empty: "portal.drafts.empty",
        deleted: "portal.drafts.deleted",
    };
    item_list(&state, &headers, query, list).await
}

const DRAFTS_TITLE: &str = "portal.drafts.title";

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct OpenQuery {
    saved: Option<String>,
}

/// `GET /portal/drafts/{id}`: the compose page, as the draft left it.
pub(super) async fn open(
    State(state): State<AppState>,
    PortalPage { live, lang }: PortalPage,
    Path(id): Path<String>,
    Query(query): Query<OpenQuery>,
) -> Result<Response, Error> {
    let Some(saved) = load(&state, &live.session.address, &id).await? else {
        return Ok(super::sent::not_found(lang, DRAFTS_TITLE));
    };
    let saved_notice = query
        .saved
        .map(|_| text(lang, "portal.drafts.saved_notice"));
    Ok(super::compose::draft_page(&state, &live, lang, &id, saved, saved_notice).await)
}

/// `POST /portal/drafts/{id}/delete`.
pub(super) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<TokenForm>,
) -> Result<Response, Error> {
    super::sent::delete_item(
        &state,
        &headers,
        &form.csrf,
        ("draft", "/portal/drafts", DRAFTS_TITLE),
        &id,
    )
    .await
}

/// What the page's script sends while the recipient types.
#[derive(Deserialize)]
pub(super) struct Autosave {
    #[serde(default)]
    draft: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    html: String,
}

/// `POST /portal/drafts/autosave` (JSON, the session's token in
/// `X-Securedoc-Csrf`): saves the text fields, keeping the draft's files.
pub(super) async fn autosave(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(posted): Json<Autosave>,
) -> Result<Response, Error> {
    let live: Live = match require(&state, &headers, "/portal/drafts").await {
        Ok(live) => live,
        Err(_) => return Ok(StatusCode::UNAUTHORIZED.into_response()),
    };
    let token = headers
        .get("x-securedoc-csrf")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !csrf_ok(&live, token) {
        return Ok(StatusCode::FORBIDDEN.into_response());
    }
    let limits = &state.settings.compose;
    if posted.to.len() > 2000
        || posted.subject.chars().count() > 300
        || posted.body.len() > limits.max_message_bytes
    {
        return Ok(StatusCode::PAYLOAD_TOO_LARGE.into_response());
    }
    let address = &live.session.address;
    // Someone else's (or a made-up) draft id starts a draft of one's own.
    let (id, earlier) = match load(&state, address, &posted.draft).await? {
        Some(earlier) => (posted.draft.as_str(), earlier),
        None => ("", Saved::default()),
    };
    let saved = Saved {
        to: posted.to,
        subject: posted.subject,
        body: posted.body,
        html: formatted(&posted.html).unwrap_or_default(),
        files: earlier.files,
    };
    match save(&state, address, id, &saved).await? {
        Some(id) => Ok(Json(serde_json::json!({ "draft": id })).into_response()),
        None => Ok(StatusCode::INSUFFICIENT_STORAGE.into_response()),
    }
}
