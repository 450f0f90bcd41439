//! The address book (docs/PORTAL.md): contacts (first name, last name,
//! e-mail, sealed together under the master key), listed "Last, First";
//! `GET /portal/contacts` lists them with a form to add one,
//! `/portal/contacts/{id}` edits or deletes one. Groups of contacts are in
//! [`super::groups`]. [`choices`] gives Compose what To and Cc can take.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use securedoc_templates::{context, text};
use serde::{Deserialize, Serialize};

use super::personal::{
    self, clean_name, new_id, opened_row, opened_rows, DoneQuery, Outcome, Rules,
};
use super::session::{require_form, Live, PortalPage, TokenForm};
use super::{portal_page, see_other};
use crate::http::pages::notice;
use crate::http::AppState;
use crate::store::Personal;
use crate::Error;

/// The most contacts an account has.
pub(super) const MAX_CONTACTS: usize = 1000;

/// A contact, as sealed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Contact {
    pub first: String,
    pub last: String,
    pub email: String,
}

impl Contact {
    /// As lists show it: "Last, First" (one of them if the other is
    /// missing; the e-mail if both are).
    pub fn name(&self) -> String {
        match (self.last.is_empty(), self.first.is_empty()) {
            (false, false) => format!("{}, {}", self.last, self.first),
            (false, true) => self.last.clone(),
            (true, false) => self.first.clone(),
            (true, true) => self.email.clone(),
        }
    }
}

/// `address`'s contacts, (id, contact), sorted as listed: by name, then e-mail.
pub(super) async fn contacts_of(
    state: &AppState,
    address: &str,
) -> Result<Vec<(String, Contact)>, Error> {
    let mut contacts: Vec<(String, Contact)> =
        opened_rows(state, Personal::Contacts, address).await?;
    personal::sort_by_name(&mut contacts, |(_, c)| {
        format!("{}\u{0}{}", c.name(), c.email)
    });
    Ok(contacts)
}

/// One line of what To and Cc can take from the address book: a contact
/// (its name, its e-mail) or a group (its name, its members' e-mails).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Choice {
    /// "Last, First" for a contact; the name for a group.
    pub label: String,
    /// The e-mail, or a group's e-mails joined by ", ".
    pub addresses: String,
    pub group: bool,
}

/// What the address book of `address` offers for To and Cc: its contacts
/// by name, then its groups (those with members) by name.
pub(crate) async fn choices(state: &AppState, address: &str) -> Result<Vec<Choice>, Error> {
    let contacts = contacts_of(state, address).await?;
    let mut groups: Vec<(String, String)> = opened_rows(state, Personal::Groups, address).await?;
    personal::sort_by_name(&mut groups, |(_, name)| name.clone());
    let mut members: HashMap<String, Vec<String>> = HashMap::new();
    for (group, contact) in state.store.group_memberships(address).await? {
        members.entry(group).or_default().push(contact);
    }
    let mut choices: Vec<Choice> = contacts
        .iter()
        .map(|(_, contact)| Choice {
            label: contact.name(),
            addresses: contact.email.clone(),
            group: false,
        })
        .collect();
    for (id, name) in groups {
        let ids = members.remove(&id).unwrap_or_default();
        // In the address book's order.
        let emails: Vec<&str> = contacts
            .iter()
            .filter(|(contact, _)| ids.contains(contact))
            .map(|(_, contact)| contact.email.as_str())
            .collect();
        if !emails.is_empty() {
            choices.push(Choice {
                label: name,
                addresses: emails.join(", "),
                group: true,
            });
        }
    }
    Ok(choices)
}

fn not_found(lang: &str) -> Response {
    notice(
        StatusCode::NOT_FOUND,
        lang,
        text(lang, "contacts.title"),
        vec![text(lang, "contacts.not_found")],
    )
}

/// A contact as the list shows it.
#[derive(Serialize)]
struct Listed {
    name: String,
    email: String,
    href: String,
}

/// The form's fields, as typed, with the sentences that refuse them.
#[derive(Default)]
struct Typed {
    contact: Contact,
    errors: BTreeMap<&'static str, String>,
}

async fn list_page(
    state: &AppState,
    live: &Live,
    lang: &str,
    status: StatusCode,
    (notice, typed): (Option<String>, Typed),
) -> Result<Response, Error> {
    let contacts: Vec<Listed> = contacts_of(state, &live.session.address)
        .await?
        .into_iter()
        .map(|(id, contact)| Listed {
            name: contact.name(),
            email: contact.email,
            href: format!("/portal/contacts/{id}"),
        })
        .collect();
    Ok(portal_page(
        state,
        live,
        status,
        "portal/contacts",
        lang,
        "contacts",
        context! {
            full => contacts.len() >= MAX_CONTACTS,
            contacts,
            notice,
            contact => typed.contact,
            errors => typed.errors,
        },
    ))
}

/// `GET /portal/contacts`.
pub(super) async fn contacts(
    State(state): State<AppState>,
    PortalPage { live, lang }: PortalPage,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Error> {
    let notice = matches!(query.done.as_str(), "added" | "deleted")
        .then(|| text(lang, &format!("contacts.{}", query.done)));
    list_page(
        &state,
        &live,
        lang,
        StatusCode::OK,
        (notice, Typed::default()),
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ContactForm {
    csrf: String,
    first: String,
    last: String,
    email: String,
}

/// The form's contact, cleaned, or what refuses it.
fn checked(form: &ContactForm, lang: &str) -> Result<Contact, Typed> {
    let mut errors = BTreeMap::new();
    let mut name = |field: &'static str, raw: &str| {
        clean_name(raw, true).unwrap_or_else(|why| {
            errors.insert(field, text(lang, why));
            raw.to_string()
        })
    };
    let first = name("first", &form.first);
    let last = name("last", &form.last);
    let email = form.email.trim().to_string();
    if email.is_empty() {
        errors.insert("email", text(lang, "contacts.errors.email_required"));
    } else if envelope_core::validate_address("email", &email).is_err() {
        errors.insert("email", text(lang, "contacts.errors.email_invalid"));
    }
    let contact = Contact { first, last, email };
    if errors.is_empty() {
        Ok(contact)
    } else {
        Err(Typed { contact, errors })
    }
}

/// Saves contact `id` (a new one when `new`) from `form`; the refusal as
/// `Typed` to show again with the form.
async fn save(
    state: &AppState,
    live: &Live,
    lang: &str,
    (id, new): (&str, bool),
    form: &ContactForm,
) -> Result<Result<(), Typed>, Error> {
    let contact = match checked(form, lang) {
        Ok(contact) => contact,
        Err(typed) => return Ok(Err(typed)),
    };
    let rules = Rules {
        max: MAX_CONTACTS,
        same: |a: &Contact, b: &Contact| a.email.eq_ignore_ascii_case(&b.email),
        exists: "contacts.errors.contact_exists",
        full: "contacts.errors.contacts_full",
    };
    let row = (Personal::Contacts, live.session.address.as_str(), id);
    match personal::save(state, row, new, &contact, rules).await? {
        Outcome::Saved => Ok(Ok(())),
        // Deleted meanwhile: the form says so.
        Outcome::NotFound => Ok(Err(Typed {
            errors: BTreeMap::from([("email", text(lang, "contacts.not_found"))]),
            contact,
        })),
        Outcome::Refused(why) => {
            // The whole form when the book is full: the summary links to it.
            let field = if why == "contacts.errors.contact_exists" {
                "email"
            } else {
                "add"
            };
            Ok(Err(Typed {
                errors: BTreeMap::from([(field, text(lang, why))]),
                contact,
            }))
        }
    }
}

/// `POST /portal/contacts`: a new contact.
pub(super) async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<ContactForm>,
) -> Result<Response, Error> {
    let (live, lang) = match require_form(&state, &headers, "/portal/contacts", &form.csrf).await {
        Ok(session) => session,
        Err(page) => return Ok(page),
    };
    match save(&state, &live, lang, (&new_id(), true), &form).await? {
        Ok(()) => Ok(see_other("/portal/contacts?done=added")),
        Err(typed) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            list_page(&state, &live, lang, status, (None, typed)).await
        }
    }
}

fn edit_page(
    state: &AppState,
    live: &Live,
    lang: &str,
    status: StatusCode,
    id: &str,
    typed: Typed,
    notice: Option<String>,
) -> Response {
    portal_page(
        state,
        live,
        status,
        "portal/contact",
        lang,
        "contacts",
        context! {
            action => format!("/portal/contacts/{id}"),
            delete => format!("/portal/contacts/{id}/delete"),
            contact => typed.contact,
            errors => typed.errors,
            notice,
        },
    )
}

/// `GET /portal/contacts/{id}`: the contact's form.
pub(super) async fn edit(
    State(state): State<AppState>,
    PortalPage { live, lang }: PortalPage,
    Path(id): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Error> {
    let Some(contact) =
        opened_row::<Contact>(&state, Personal::Contacts, &live.session.address, &id).await?
    else {
        return Ok(not_found(lang));
    };
    let notice = (query.done == "saved").then(|| text(lang, "contacts.saved"));
    let typed = Typed {
        contact,
        ..Typed::default()
    };
    Ok(edit_page(
        &state,
        &live,
        lang,
        StatusCode::OK,
        &id,
        typed,
        notice,
    ))
}

/// `POST /portal/contacts/{id}`: saves the contact's form.
pub(super) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<ContactForm>,
) -> Result<Response, Error> {
    let (live, lang) = match require_form(&state, &headers, "/portal/contacts", &form.csrf).await {
        Ok(session) => session,
        Err(page) => return Ok(page),
    };
    if opened_row::<Contact>(&state, Personal::Contacts, &live.session.address, &id)
        .await?
        .is_none()
    {
        return Ok(not_found(lang));
    }
    match save(&state, &live, lang, (&id, false), &form).await? {
        Ok(()) => Ok(see_other(&format!("/portal/contacts/{id}?done=saved"))),
        Err(typed) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(edit_page(&state, &live, lang, status, &id, typed, None))
        }
    }
}

/// `POST /portal/contacts/{id}/delete`: the contact, and its place in groups.
pub(super) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<TokenForm>,
) -> Result<Response, Error> {
    let row = (Personal::Contacts, "/portal/contacts");
    personal::delete_row(&state, (&headers, &form.csrf), row, &id, not_found).await
}
