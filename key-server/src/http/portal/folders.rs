//! Folders (docs/PORTAL.md): `GET /portal/folders` lists them with forms to
//! create, rename and delete; `GET /portal/folders/{id}` lists a folder's
//! messages as the Inbox lists its own; `POST /portal/m/{id}/move` moves an
//! Inbox message into a folder or back. A folder's name is sealed under the
//! master key; deleting a folder moves its messages back to the Inbox.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use securedoc_templates::{context, fill, text};
use serde::{Deserialize, Serialize};

use super::inbox::{cursor, rows};
use super::personal::{
    self, clean_name, is_id, new_id, opened_row, opened_rows, same_name, DoneQuery, NameForm,
    Outcome, Rules,
};
use super::session::{require_form, Live, PortalPage, TokenForm};
use super::{local_next, older_cursor, portal_page, see_other};
use crate::http::pages::notice;
use crate::http::AppState;
use crate::store::Personal;
use crate::Error;

/// The most folders an account has.
pub(super) const MAX_FOLDERS: usize = 100;

/// A folder as its pages show it.
#[derive(Serialize)]
struct Folder {
    id: String,
    name: String,
    href: String,
    /// "3 messages".
    count: String,
}

/// `address`'s folders, (id, name), sorted by name.
async fn folders_of(state: &AppState, address: &str) -> Result<Vec<(String, String)>, Error> {
    let mut folders: Vec<(String, String)> = opened_rows(state, Personal::Folders, address).await?;
    personal::sort_by_name(&mut folders, |(_, name)| name.clone());
    Ok(folders)
}

/// A list's "Move to" forms: where each message can go (value, label) and
/// where to come back to.
#[derive(Serialize)]
pub(super) struct MoveTo {
    choices: Vec<(String, String)>,
    back: String,
}

/// The "Move to" forms of the Inbox (`current` None) or of folder
/// `current`: the Inbox and every other folder; None when there is nowhere
/// to move to.
pub(super) async fn move_to(
    state: &AppState,
    address: &str,
    lang: &str,
    current: Option<&str>,
) -> Result<Option<MoveTo>, Error> {
    let folders = folders_of(state, address).await?;
    let mut choices: Vec<(String, String)> = Vec::new();
    if current.is_some() {
        choices.push((String::new(), text(lang, "folders.inbox")));
    }
    choices.extend(
        folders
            .into_iter()
            .filter(|(id, _)| Some(id.as_str()) != current),
    );
    let back = match current {
        Some(id) => format!("/portal/folders/{id}"),
        None => "/portal/inbox".to_string(),
    };
    Ok((!choices.is_empty()).then_some(MoveTo { choices, back }))
}

/// The "Move to" form of message `id`'s own page: the Inbox and every
/// folder (moving to where it is already changes nothing); back to the
/// message. None when there are no folders.
pub(super) async fn move_message_to(
    state: &AppState,
    address: &str,
    lang: &str,
    id: &str,
) -> Result<Option<MoveTo>, Error> {
    let folders = folders_of(state, address).await?;
    if folders.is_empty() {
        return Ok(None);
    }
    let mut choices = vec![(String::new(), text(lang, "folders.inbox"))];
    choices.extend(folders);
    Ok(Some(MoveTo {
        choices,
        back: format!("/portal/m/{id}"),
    }))
}

fn not_found(lang: &str) -> Response {
    notice(
        StatusCode::NOT_FOUND,
        lang,
        text(lang, "folders.title"),
        vec![text(lang, "folders.not_found")],
    )
}

/// What the Folders page shows besides the folders.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    /// Field id → sentence.
    errors: BTreeMap<String, String>,
    /// What was typed in the New folder form.
    value: String,
    /// The folder whose rename form is open.
    open: Option<String>,
}

async fn folders_page(
    state: &AppState,
    live: &Live,
    lang: &str,
    status: StatusCode,
    shown: Shown,
) -> Result<Response, Error> {
    let address = &live.session.address;
    let counts: BTreeMap<String, i64> = state
        .store
        .folder_counts(address)
        .await?
        .into_iter()
        .collect();
    let folders: Vec<Folder> = folders_of(state, address)
        .await?
        .into_iter()
        .map(|(id, name)| {
            let count = match counts.get(&id).copied().unwrap_or(0) {
                0 => text(lang, "folders.count_none"),
                1 => text(lang, "folders.count_one"),
                n => fill(&text(lang, "folders.count_many"), &[("n", n.to_string())]),
            };
            Folder {
                href: format!("/portal/folders/{id}"),
                id,
                name,
                count,
            }
        })
        .collect();
    Ok(portal_page(
        state,
        live,
        status,
        "portal/folders",
        lang,
        "folders",
        context! {
            full => folders.len() >= MAX_FOLDERS,
            folders,
            notice => shown.notice,
            errors => shown.errors,
            value => shown.value,
            open => shown.open,
        },
    ))
}

/// `GET /portal/folders`.
pub(super) async fn folders(
    State(state): State<AppState>,
    PortalPage { live, lang }: PortalPage,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Error> {
    let notice = matches!(query.done.as_str(), "created" | "renamed" | "deleted")
        .then(|| text(lang, &format!("folders.{}", query.done)));
    let shown = Shown {
        notice,
        ..Shown::default()
    };
    folders_page(&state, &live, lang, StatusCode::OK, shown).await
}

/// Saves folder `id` (a new one when `new`) named `raw`: to the Folders
/// page, or back to it with the sentence that says why not.
async fn save(
    state: &AppState,
    (live, lang): (Live, &str),
    id: &str,
    new: bool,
    raw: &str,
) -> Result<Response, Error> {
    let field = if new {
        "name".to_string()
    } else {
        format!("name-{id}")
    };
    let refused = |why: &str| Shown {
        errors: BTreeMap::from([(field.clone(), text(lang, why))]),
        value: if new { raw.to_string() } else { String::new() },
        open: (!new).then(|| id.to_string()),
        ..Shown::default()
    };
    let name = match clean_name(raw, false) {
        Ok(name) => name,
        Err(why) => {
            let shown = refused(why);
            return folders_page(state, &live, lang, StatusCode::UNPROCESSABLE_ENTITY, shown).await;
        }
    };
    let rules = Rules {
        max: MAX_FOLDERS,
        same: |a: &String, b: &String| same_name(a, b),
        exists: "contacts.errors.folder_exists",
        full: "contacts.errors.folders_full",
    };
    let table = (Personal::Folders, live.session.address.as_str(), id);
    match personal::save(state, table, new, &name, rules).await? {
        Outcome::Saved => Ok(see_other(&format!(
            "/portal/folders?done={}",
            if new { "created" } else { "renamed" }
        ))),
        Outcome::Refused(why) => {
            let shown = refused(why);
            folders_page(state, &live, lang, StatusCode::CONFLICT, shown).await
        }
        Outcome::NotFound => Ok(not_found(lang)),
    }
}

/// `POST /portal/folders`: a new folder.
pub(super) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<NameForm>,
) -> Result<Response, Error> {
    let session = match require_form(&state, &headers, "/portal/folders", &form.csrf).await {
        Ok(session) => session,
        Err(page) => return Ok(page),
    };
    save(&state, session, &new_id(), true, &form.name).await
}

/// `POST /portal/folders/{id}/rename`.
pub(super) async fn rename(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<NameForm>,
) -> Result<Response, Error> {
    let session = match require_form(&state, &headers, "/portal/folders", &form.csrf).await {
        Ok(session) => session,
        Err(page) => return Ok(page),
    };
    if !is_id(&id) {
        return Ok(not_found(session.1));
    }
    save(&state, session, &id, false, &form.name).await
}

/// `POST /portal/folders/{id}/delete`: its messages go back to the Inbox.
pub(super) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<TokenForm>,
) -> Result<Response, Error> {
    let (live, lang) = match require_form(&state, &headers, "/portal/folders", &form.csrf).await {
        Ok(session) => session,
        Err(page) => return Ok(page),
    };
    if !is_id(&id)
        || !state
            .store
            .delete_folder(&live.session.address, &id)
            .await?
    {
        return Ok(not_found(lang));
    }
    Ok(see_other("/portal/folders?done=deleted"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ListingQuery {
    before: String,
    /// Set after a Move.
    moved: Option<String>,
}

/// `GET /portal/folders/{id}`: the folder's messages, newest first, a page
/// at a time, as the Inbox.
pub(super) async fn listing(
    State(state): State<AppState>,
    PortalPage { live, lang }: PortalPage,
    Path(id): Path<String>,
    Query(query): Query<ListingQuery>,
) -> Result<Response, Error> {
    let here = format!(
        "/portal/folders/{}",
        if is_id(&id) { id.as_str() } else { "" }
    );
    let address = &live.session.address;
    let Some(name) = opened_row::<String>(&state, Personal::Folders, address, &id).await? else {
        return Ok(not_found(lang));
    };
    let size = state.settings.portal.page_size;
    let before = cursor(&query.before);
    let mut entries = state
        .store
        .folder_page(address, &id, before, size + 1)
        .await?;
    let older = older_cursor(&mut entries, size, |e| (e.at, &e.id));
    let move_to = move_to(&state, address, lang, Some(&id)).await?;
    Ok(portal_page(
        &state,
        &live,
        StatusCode::OK,
        "portal/inbox",
        lang,
        "folders",
        context! {
            title => name,
            who_label => text(lang, "portal.inbox.from"),
            when_label => text(lang, "portal.inbox.received"),
            empty => text(lang, "folders.empty"),
            here,
            inbox => true,
            entries => rows(&state, (lang, &live.session.address), entries),
            older,
            paged => before.is_some(),
            notice => query.moved.map(|_| text(lang, "folders.moved")),
            move_to,
        },
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct MoveForm {
    csrf: String,
    /// A folder's id; empty: the Inbox.
    folder: String,
    /// The list the form was on.
    back: String,
}

/// `POST /portal/m/{id}/move`: an Inbox message into one of the account's
/// folders, or back to the Inbox; then back to the list.
pub(super) async fn move_message(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<MoveForm>,
) -> Result<Response, Error> {
    let back = local_next(&form.back);
    let (live, lang) = match require_form(&state, &headers, &back, &form.csrf).await {
        Ok(session) => session,
        Err(page) => return Ok(page),
    };
    let folder = (!form.folder.is_empty()).then_some(form.folder.as_str());
    let moved = is_id(&id)
        && folder.is_none_or(is_id)
        && state
            .store
            .move_to_folder(&live.session.address, &id, folder)
            .await?;
    if !moved {
        return Ok(not_found(lang));
    }
    let separator = if back.contains('?') { '&' } else { '?' };
    Ok(see_other(&format!("{back}{separator}moved=1")))
}
