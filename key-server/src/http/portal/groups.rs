//! Groups of contacts (docs/PORTAL.md, "Address book"): `GET /portal/groups`
//! lists them with a form to create one; `/portal/groups/{id}` renames one,
//! chooses its members by checkboxes (one per contact, no Ctrl-click) and
//! deletes it. A group's name is sealed under the master key; its members
//! are contact ids (deleting a contact takes it out of its groups).

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use securedoc_templates::{context, fill, text};
use serde::Serialize;

use super::address_book::{choices, contacts_of};
use super::personal::{
    self, clean_name, is_id, new_id, opened_row, opened_rows, same_name, DoneQuery, NameForm,
    Outcome, Rules,
};
use super::session::{require_form, Live, PortalPage, TokenForm};
use super::{portal_page, see_other};
use crate::http::pages::notice;
use crate::http::AppState;
use crate::store::Personal;
use crate::Error;

/// The most groups an account has.
pub(super) const MAX_GROUPS: usize = 100;

fn not_found(lang: &str) -> Response {
    notice(
        StatusCode::NOT_FOUND,
        lang,
        text(lang, "contacts.groups.title"),
        vec![text(lang, "contacts.groups.not_found")],
    )
}

fn members_text(lang: &str, n: usize) -> String {
    match n {
        0 => text(lang, "contacts.groups.count_none"),
        1 => text(lang, "contacts.groups.count_one"),
        n => fill(
            &text(lang, "contacts.groups.count_many"),
            &[("n", n.to_string())],
        ),
    }
}

#[derive(Serialize)]
struct Listed {
    name: String,
    count: String,
    href: String,
    /// Its members' e-mails, as Compose takes them.
    addresses: Option<String>,
}

/// What was typed in a name field, and what refuses it.
#[derive(Default)]
struct Typed {
    value: Option<String>,
    errors: BTreeMap<&'static str, String>,
}

impl Typed {
    fn refused(value: &str, lang: &str, why: &str) -> Typed {
        Typed {
            value: Some(value.to_string()),
            errors: BTreeMap::from([("name", text(lang, why))]),
        }
    }
}

async fn list_page(
    state: &AppState,
    live: &Live,
    lang: &str,
    status: StatusCode,
    (notice, typed): (Option<String>, Typed),
) -> Result<Response, Error> {
    let address = &live.session.address;
    let mut groups: Vec<(String, String)> = opened_rows(state, Personal::Groups, address).await?;
    personal::sort_by_name(&mut groups, |(_, name)| name.clone());
    let memberships = state.store.group_memberships(address).await?;
    // What Compose would put in To for each (groups with members only).
    let addresses: HashMap<String, String> = choices(state, address)
        .await?
        .into_iter()
        .filter(|choice| choice.group)
        .map(|choice| (choice.label, choice.addresses))
        .collect();
    let groups: Vec<Listed> = groups
        .into_iter()
        .map(|(id, name)| Listed {
            count: members_text(lang, memberships.iter().filter(|(g, _)| *g == id).count()),
            href: format!("/portal/groups/{id}"),
            addresses: addresses.get(&name).cloned(),
            name,
        })
        .collect();
    Ok(portal_page(
        state,
        live,
        status,
        "portal/groups",
        lang,
        "contacts",
        context! {
            full => groups.len() >= MAX_GROUPS,
            groups,
            notice,
            value => typed.value.unwrap_or_default(),
            errors => typed.errors,
        },
    ))
}

/// `GET /portal/groups`.
pub(super) async fn groups(
    State(state): State<AppState>,
    PortalPage { live, lang }: PortalPage,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Error> {
    let notice = (query.done == "deleted").then(|| text(lang, "contacts.groups.deleted"));
    list_page(
        &state,
        &live,
        lang,
        StatusCode::OK,
        (notice, Typed::default()),
    )
    .await
}

/// Saves group `id` (a new one when `new`) named `raw`: the name's
/// refusal, if any.
async fn save(
    state: &AppState,
    live: &Live,
    lang: &str,
    (id, new): (&str, bool),
    raw: &str,
) -> Result<Option<Typed>, Error> {
    let name = match clean_name(raw, false) {
        Ok(name) => name,
        Err(why) => return Ok(Some(Typed::refused(raw, lang, why))),
    };
    let rules = Rules {
        max: MAX_GROUPS,
        same: |a: &String, b: &String| same_name(a, b),
        exists: "contacts.errors.group_exists",
        full: "contacts.errors.groups_full",
    };
    let row = (Personal::Groups, live.session.address.as_str(), id);
    Ok(match personal::save(state, row, new, &name, rules).await? {
        Outcome::Saved => None,
        Outcome::Refused(why) => Some(Typed::refused(raw, lang, why)),
        Outcome::NotFound => Some(Typed::refused(raw, lang, "contacts.groups.not_found")),
    })
}

/// `POST /portal/groups`: a new group, then its page to choose members.
pub(super) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<NameForm>,
) -> Result<Response, Error> {
    let (live, lang) = match require_form(&state, &headers, "/portal/groups", &form.csrf).await {
        Ok(session) => session,
        Err(page) => return Ok(page),
    };
    let id = new_id();
    match save(&state, &live, lang, (&id, true), &form.name).await? {
        None => Ok(see_other(&format!("/portal/groups/{id}?done=created"))),
        Some(typed) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            list_page(&state, &live, lang, status, (None, typed)).await
        }
    }
}

/// A group's page: its name's form, its members' checkboxes, Delete.
async fn group_page(
    state: &AppState,
    (live, lang): (&Live, &str),
    id: &str,
    status: StatusCode,
    (notice, typed): (Option<String>, Typed),
) -> Result<Response, Error> {
    let address = &live.session.address;
    let Some(name) = opened_row::<String>(state, Personal::Groups, address, id).await? else {
        return Ok(not_found(lang));
    };
    let members: HashSet<String> = state
        .store
        .group_memberships(address)
        .await?
        .into_iter()
        .filter_map(|(group, contact)| (group == id).then_some(contact))
        .collect();
    let contacts: Vec<_> = contacts_of(state, address)
        .await?
        .into_iter()
        .map(|(contact_id, contact)| {
            context! {
                member => members.contains(&contact_id),
                id => contact_id,
                name => contact.name(),
                email => contact.email,
            }
        })
        .collect();
    Ok(portal_page(
        state,
        live,
        status,
        "portal/group",
        lang,
        "contacts",
        context! {
            title => name.clone(),
            value => typed.value.unwrap_or(name),
            errors => typed.errors,
            contacts,
            rename_action => format!("/portal/groups/{id}/rename"),
            members_action => format!("/portal/groups/{id}/members"),
            delete => format!("/portal/groups/{id}/delete"),
            notice,
        },
    ))
}

/// `GET /portal/groups/{id}`.
pub(super) async fn group(
    State(state): State<AppState>,
    PortalPage { live, lang }: PortalPage,
    Path(id): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Error> {
    let notice = match query.done.as_str() {
        "created" => Some("contacts.groups.created"),
        "renamed" => Some("contacts.groups.renamed"),
        "members" => Some("contacts.groups.members_saved"),
        _ => None,
    }
    .map(|key| text(lang, key));
    group_page(
        &state,
        (&live, lang),
        &id,
        StatusCode::OK,
        (notice, Typed::default()),
    )
    .await
}

/// `POST /portal/groups/{id}/rename`.
pub(super) async fn rename(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<NameForm>,
) -> Result<Response, Error> {
    let (live, lang) = match require_form(&state, &headers, "/portal/groups", &form.csrf).await {
        Ok(session) => session,
        Err(page) => return Ok(page),
    };
    if !is_id(&id) {
        return Ok(not_found(lang));
    }
    match save(&state, &live, lang, (&id, false), &form.name).await? {
        None => Ok(see_other(&format!("/portal/groups/{id}?done=renamed"))),
        Some(typed) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            group_page(&state, (&live, lang), &id, status, (None, typed)).await
        }
    }
}

/// `POST /portal/groups/{id}/members`: `csrf`, and `member` once per ticked
/// contact. Ids that are not the account's contacts are left out.
pub(super) async fn set_members(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> Result<Response, Error> {
    let field = |name: &'static str| {
        fields
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v)
    };
    let csrf = field("csrf").next().cloned().unwrap_or_default();
    let (live, lang) = match require_form(&state, &headers, "/portal/groups", &csrf).await {
        Ok(session) => session,
        Err(page) => return Ok(page),
    };
    let mut chosen: Vec<String> = field("member").filter(|v| is_id(v)).cloned().collect();
    chosen.sort();
    chosen.dedup();
    chosen.truncate(super::address_book::MAX_CONTACTS);
    if !is_id(&id)
        || !state
            .store
            .set_group_members(&live.session.address, &id, &chosen)
            .await?
    {
        return Ok(not_found(lang));
    }
    Ok(see_other(&format!("/portal/groups/{id}?done=members")))
}

/// `POST /portal/groups/{id}/delete`: the group, not its contacts.
pub(super) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<TokenForm>,
) -> Result<Response, Error> {
    let row = (Personal::Groups, "/portal/groups");
    personal::delete_row(&state, (&headers, &form.csrf), row, &id, not_found).await
}
