//! The portal's folders and address book, over real HTTP on SQLite and
//! PostgreSQL: folders created, renamed and deleted, a message moved in and
//! back (the Inbox no longer lists it meanwhile), deleting a folder returns
//! its messages; contacts listed "Last, First", groups and their members
//! (what Compose gets from the address book); another account's ids are
//! "not found" everywhere; markup in names is escaped; no name or address
//! is in the database in the clear; the limits; deleting the account.

mod common;
mod portal_support;

use common::{account, pull, start, Backend, Server, PASSWORD};
use portal_support::{Answer, Portal};

const BOB: &str = "bob@example.net";
const CAROL: &str = "carol@example.net";

fn envelope_id(seed: char) -> String {
    seed.to_string().repeat(32)
}

/// `address`'s account with a pull message (envelope `seed` × 32) for it,
/// and a portal client logged in as it.
async fn logged_in(server: &Server, address: &str, seeds: &[char]) -> Portal {
    account(server, address, true, None).await;
    for seed in seeds {
        pull(server, &envelope_id(*seed), address).await;
    }
    let mut portal = Portal::new(server);
    let login = portal.log_in(address, PASSWORD, "/portal/inbox").await;
    assert_eq!(login.status, 303, "{}", login.body);
    portal
}

/// The links to `prefix{id}` on a page, with their text: (id, text).
fn links(body: &str, prefix: &str) -> Vec<(String, String)> {
    body.split(&format!("href=\"{prefix}"))
        .skip(1)
        .filter_map(|rest| {
            let id = rest.get(..32)?;
            if !id.bytes().all(|b| b.is_ascii_hexdigit()) || !rest[32..].starts_with("\">") {
                return None;
            }
            let text = rest[34..].split('<').next()?;
            Some((id.to_string(), text.to_string()))
        })
        .collect()
}

/// `text` as the pages' templates write it (`/` read back by [`Portal`]).
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// The id of the link to `prefix{id}` whose text is `text` (as written).
fn link_id(body: &str, prefix: &str, text: &str) -> String {
    links(body, prefix)
        .into_iter()
        .find(|(_, t)| t == text)
        .unwrap_or_else(|| panic!("no link {prefix}… “{text}” in\n{body}"))
        .0
}

/// Posts `form` to `path` with the session's token, taken from `page`
/// (any page of the session), as the browser does.
async fn send(portal: &mut Portal, page: &str, path: &str, form: &[(&str, &str)]) -> Answer {
    let csrf = Portal::csrf(&portal.get(page).await.body);
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(form);
    portal.post(path, &fields).await
}

/// Creates group `name`; its id (from where its creation leads).
async fn create_group(portal: &mut Portal, name: &str) -> String {
    let created = send(
        portal,
        "/portal/groups",
        "/portal/groups",
        &[("name", name)],
    )
    .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let location = created.location.unwrap();
    let id = location
        .strip_prefix("/portal/groups/")
        .and_then(|rest| rest.strip_suffix("?done=created"))
        .unwrap_or_else(|| panic!("{location}"));
    id.to_string()
}

/// Adds a contact; its id.
async fn add_contact(portal: &mut Portal, first: &str, last: &str, email: &str) -> String {
    let form = [("first", first), ("last", last), ("email", email)];
    let added = send(portal, "/portal/contacts", "/portal/contacts", &form).await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(
        added.location.as_deref(),
        Some("/portal/contacts?done=added")
    );
    let page = portal.get("/portal/contacts").await;
    // As the server cleans them.
    let (first, last) = (first.trim(), last.trim());
    let name = match (last.is_empty(), first.is_empty()) {
        (false, false) => format!("{last}, {first}"),
        (false, true) => last.to_string(),
        (true, false) => first.to_string(),
        (true, true) => email.to_string(),
    };
    link_id(&page.body, "/portal/contacts/", &escape(&name))
}

/// Creates folder `name`; its id.
async fn create_folder(portal: &mut Portal, name: &str) -> String {
    let created = send(
        portal,
        "/portal/folders",
        "/portal/folders",
        &[("name", name)],
    )
    .await;
    assert_eq!(created.status, 303, "{}", created.body);
    assert_eq!(
        created.location.as_deref(),
        Some("/portal/folders?done=created")
    );
    let page = portal.get("/portal/folders?done=created").await;
    assert!(page.body.contains("The folder was created."));
    link_id(&page.body, "/portal/folders/", &escape(name))
}

/// Moves message `id` into `folder` ("": the Inbox) from the list `back`.
async fn move_message(portal: &mut Portal, id: &str, folder: &str, back: &str) -> Answer {
    send(
        portal,
        back,
        &format!("/portal/m/{id}/move"),
        &[("folder", folder), ("back", back)],
    )
    .await
}

/// Whether a mailbox page lists message `id`.
fn lists(page: &Answer, id: &str) -> bool {
    page.body.contains(&format!("href=\"/portal/m/{id}\""))
}

async fn folders_hold_moved_messages_until_deleted(backend: Backend) {
    let server = start(backend).await;
    let mut portal = logged_in(&server, BOB, &['a', 'b']).await;
    let (a, b) = (envelope_id('a'), envelope_id('b'));

    // Without folders, the Inbox has nowhere to move to: no form.
    let inbox = portal.get("/portal/inbox").await;
    assert!(lists(&inbox, &a) && lists(&inbox, &b));
    assert!(!inbox.body.contains("/move\""), "{}", inbox.body);

    let tax = create_folder(&mut portal, "Tax 2026").await;
    let other = create_folder(&mut portal, "Other").await;
    // Names are one per account whatever their case; a name is needed.
    let twice = send(
        &mut portal,
        "/portal/folders",
        "/portal/folders",
        &[("name", " tax   2026 ")],
    )
    .await;
    assert_eq!(twice.status, 409);
    assert!(twice
        .body
        .contains("You have a folder with this name already."));
    assert!(
        twice.body.contains("value=\" tax   2026 \""),
        "the typed name stays"
    );
    let empty = send(
        &mut portal,
        "/portal/folders",
        "/portal/folders",
        &[("name", "  ")],
    )
    .await;
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains("Enter a name."));

    // Move to: every folder, in the Inbox's forms.
    let inbox = portal.get("/portal/inbox").await;
    assert!(inbox
        .body
        .contains(&format!("<option value=\"{tax}\">Tax 2026</option>")));
    assert!(inbox
        .body
        .contains(&format!("action=\"/portal/m/{a}/move\"")));
    let moved = move_message(&mut portal, &a, &tax, "/portal/inbox").await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    assert_eq!(moved.location.as_deref(), Some("/portal/inbox?moved=1"));

    let inbox = portal.get("/portal/inbox?moved=1").await;
    assert!(inbox.body.contains("The message was moved."));
    assert!(!lists(&inbox, &a), "a moved message leaves the Inbox");
    assert!(lists(&inbox, &b));
    let folder = portal.get(&format!("/portal/folders/{tax}")).await;
    assert_eq!(folder.status, 200, "{}", folder.body);
    assert!(folder.body.contains("<h1 id=\"page-title\">Tax 2026</h1>"));
    assert!(lists(&folder, &a) && !lists(&folder, &b));
    // From a folder: back to the Inbox, or to another folder.
    assert!(folder.body.contains("<option value=\"\">Inbox</option>"));
    assert!(folder
        .body
        .contains(&format!("<option value=\"{other}\">Other</option>")));
    assert!(!folder.body.contains(&format!("<option value=\"{tax}\"")));
    let page = portal.get("/portal/folders").await;
    assert!(page.body.contains("1 message"), "{}", page.body);
    // A message in a folder still opens, and its own page moves it too.
    let message = portal.get(&format!("/portal/m/{a}")).await;
    assert_eq!(message.status, 200);
    assert!(message
        .body
        .contains(&format!("action=\"/portal/m/{a}/move\"")));
    assert!(message.body.contains("<option value=\"\">Inbox</option>"));
    let moved = move_message(&mut portal, &a, &other, &format!("/portal/m/{a}")).await;
    assert_eq!(
        moved.location.as_deref(),
        Some(format!("/portal/m/{a}?moved=1").as_str())
    );
    let message = portal.get(&format!("/portal/m/{a}?moved=1")).await;
    assert!(
        message.body.contains("The message was moved."),
        "{}",
        message.body
    );
    assert!(lists(
        &portal.get(&format!("/portal/folders/{other}")).await,
        &a
    ));
    move_message(&mut portal, &a, &tax, &format!("/portal/m/{a}")).await;
    assert!(!lists(
        &portal.get(&format!("/portal/folders/{other}")).await,
        &a
    ));

    // Renamed: the new name everywhere, the messages stay.
    let renamed = send(
        &mut portal,
        "/portal/folders",
        &format!("/portal/folders/{tax}/rename"),
        &[("name", "Taxes")],
    )
    .await;
    assert_eq!(renamed.status, 303, "{}", renamed.body);
    let page = portal.get("/portal/folders?done=renamed").await;
    assert!(page.body.contains("The folder was renamed."));
    assert_eq!(link_id(&page.body, "/portal/folders/", "Taxes"), tax);
    assert!(!page.body.contains("Tax 2026"));
    let clash = send(
        &mut portal,
        "/portal/folders",
        &format!("/portal/folders/{tax}/rename"),
        &[("name", "OTHER")],
    )
    .await;
    assert_eq!(clash.status, 409);
    assert!(clash.body.contains(&format!("id=\"name-{tax}\"")));
    // Its own name again (another case) is no clash.
    let same = send(
        &mut portal,
        "/portal/folders",
        &format!("/portal/folders/{tax}/rename"),
        &[("name", "TAXES")],
    )
    .await;
    assert_eq!(same.status, 303, "{}", same.body);
    assert!(lists(
        &portal.get(&format!("/portal/folders/{tax}")).await,
        &a
    ));

    // Back to the Inbox from the folder's list.
    let back = move_message(&mut portal, &a, "", &format!("/portal/folders/{tax}")).await;
    assert_eq!(back.status, 303);
    assert_eq!(
        back.location.unwrap(),
        format!("/portal/folders/{tax}?moved=1")
    );
    assert!(lists(&portal.get("/portal/inbox").await, &a));
    let folder = portal.get(&format!("/portal/folders/{tax}")).await;
    assert!(!lists(&folder, &a));
    assert!(folder.body.contains("This folder is empty."));

    // Deleting a folder returns its messages to the Inbox.
    move_message(&mut portal, &a, &tax, "/portal/inbox").await;
    move_message(&mut portal, &b, &tax, "/portal/inbox").await;
    let inbox = portal.get("/portal/inbox").await;
    assert!(!lists(&inbox, &a) && !lists(&inbox, &b));
    let deleted = send(
        &mut portal,
        "/portal/folders",
        &format!("/portal/folders/{tax}/delete"),
        &[],
    )
    .await;
    assert_eq!(deleted.status, 303);
    assert_eq!(
        deleted.location.as_deref(),
        Some("/portal/folders?done=deleted")
    );
    let inbox = portal.get("/portal/inbox").await;
    assert!(lists(&inbox, &a) && lists(&inbox, &b), "{}", inbox.body);
    assert_eq!(
        portal.get(&format!("/portal/folders/{tax}")).await.status,
        404
    );
    let gone = move_message(&mut portal, &a, &tax, "/portal/inbox").await;
    assert_eq!(gone.status, 404, "no moving into a deleted folder");
    assert!(lists(&portal.get("/portal/inbox").await, &a));
}

async fn another_accounts_ids_are_not_found(backend: Backend) {
    let server = start(backend).await;
    let mut carol = logged_in(&server, CAROL, &['c']).await;
    let mut bob = logged_in(&server, BOB, &['b']).await;
    let (b, c) = (envelope_id('b'), envelope_id('c'));
    let folder = create_folder(&mut carol, "Carol's").await;
    let contact = add_contact(&mut carol, "Dan", "Lee", "dan@example.org").await;
    let group = create_group(&mut carol, "Carol team").await;
    let bobs_group = create_group(&mut bob, "Bob team").await;

    // Reading another's folder, contact or group.
    for path in [
        format!("/portal/folders/{folder}"),
        format!("/portal/contacts/{contact}"),
        format!("/portal/groups/{group}"),
        "/portal/folders/not-an-id".to_string(),
    ] {
        let answer = bob.get(&path).await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.body);
        assert!(!answer.body.contains("Carol"), "{path}");
    }
    // Changing them.
    for (path, form) in [
        (
            format!("/portal/folders/{folder}/rename"),
            vec![("name", "Mine")],
        ),
        (format!("/portal/folders/{folder}/delete"), vec![]),
        (
            format!("/portal/contacts/{contact}"),
            vec![("first", "X"), ("last", "Y"), ("email", "x@example.org")],
        ),
        (format!("/portal/contacts/{contact}/delete"), vec![]),
        (
            format!("/portal/groups/{group}/rename"),
            vec![("name", "Mine")],
        ),
        (format!("/portal/groups/{group}/members"), vec![]),
        (format!("/portal/groups/{group}/delete"), vec![]),
    ] {
        let answer = send(&mut bob, "/portal/inbox", &path, &form).await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.body);
    }
    // Moving into another's folder, or another's message.
    let into = move_message(&mut bob, &b, &folder, "/portal/inbox").await;
    assert_eq!(into.status, 404);
    assert!(lists(&bob.get("/portal/inbox").await, &b));
    let bobs_folder = create_folder(&mut bob, "Bob's").await;
    let theirs = move_message(&mut bob, &c, &bobs_folder, "/portal/inbox").await;
    assert_eq!(theirs.status, 404);
    assert!(lists(&carol.get("/portal/inbox").await, &c));
    // Another's contact in one's own group: left out.
    let members = send(
        &mut bob,
        "/portal/inbox",
        &format!("/portal/groups/{bobs_group}/members"),
        &[("member", contact.as_str())],
    )
    .await;
    assert_eq!(members.status, 303);
    let groups = bob.get("/portal/groups").await;
    assert!(groups.body.contains("No members"), "{}", groups.body);

    // Carol's are untouched.
    let page = carol.get("/portal/folders").await;
    assert_eq!(
        link_id(&page.body, "/portal/folders/", "Carol&#x27;s"),
        folder
    );
    let contacts = carol.get("/portal/contacts").await;
    assert_eq!(
        link_id(&contacts.body, "/portal/contacts/", "Lee, Dan"),
        contact
    );
    assert!(carol
        .get(&format!("/portal/groups/{group}"))
        .await
        .body
        .contains("Carol team"));
}

async fn markup_in_names_is_escaped(backend: Backend) {
    let server = start(backend).await;
    let mut portal = logged_in(&server, BOB, &['a']).await;
    let hostile = "<script>alert(1)</script>";
    // As the page holds it (Portal reads `&#x2f;` back as `/`).
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;";
    let folder = create_folder(&mut portal, hostile).await;
    let a = envelope_id('a');
    let moved = move_message(&mut portal, &a, &folder, "/portal/inbox").await;
    assert_eq!(moved.status, 303);
    add_contact(
        &mut portal,
        "<b>Eve</b>",
        "<img src=x onerror=alert(2)>",
        "eve@example.org",
    )
    .await;
    let group = create_group(&mut portal, "<iframe src=//evil.example>").await;
    let pages = [
        "/portal/folders".to_string(),
        format!("/portal/folders/{folder}"),
        "/portal/contacts".to_string(),
        "/portal/groups".to_string(),
        format!("/portal/groups/{group}"),
    ];
    for path in &pages {
        let page = portal.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        for markup in [hostile, "<b>Eve", "<img src=x", "<iframe"] {
            assert!(
                !page.body.contains(markup),
                "{path} holds {markup}:\n{}",
                page.body
            );
        }
    }
    let folders = portal.get("/portal/folders").await;
    assert!(folders.body.contains(escaped), "{}", folders.body);
    let listing = portal.get(&format!("/portal/folders/{folder}")).await;
    assert!(listing.body.contains(&format!("<title>{escaped}")));
    let contacts = portal.get("/portal/contacts").await;
    assert!(contacts
        .body
        .contains("&lt;img src=x onerror=alert(2)&gt;, &lt;b&gt;Eve&lt;/b&gt;"));
    let group_page = portal.get(&format!("/portal/groups/{group}")).await;
    assert!(group_page
        .body
        .contains("&lt;iframe src=//evil.example&gt;"));
    // The folder is offered in the Inbox's Move to, escaped too.
    move_message(&mut portal, &a, "", &format!("/portal/folders/{folder}")).await;
    let inbox = portal.get("/portal/inbox").await;
    assert!(inbox.body.contains(&format!(">{escaped}</option>")));
    assert!(!inbox.body.contains(hostile));
}

async fn nothing_is_stored_in_the_clear(backend: Backend) {
    let server = start(backend).await;
    let mut portal = logged_in(&server, BOB, &['a']).await;
    let folder = create_folder(&mut portal, "folder-marker-5e2a").await;
    send(
        &mut portal,
        "/portal/contacts",
        "/portal/contacts",
        &[
            ("first", "first-marker-1b7c"),
            ("last", "last-marker-90d4"),
            ("email", "mail-marker-44f1@example.org"),
        ],
    )
    .await;
    send(
        &mut portal,
        "/portal/groups",
        "/portal/groups",
        &[("name", "group-marker-c3a0")],
    )
    .await;
    // Renamed: the old name is not left behind either.
    send(
        &mut portal,
        "/portal/folders",
        &format!("/portal/folders/{folder}/rename"),
        &[("name", "renamed-marker-77b2")],
    )
    .await;
    let page = portal.get("/portal/contacts").await;
    assert!(page.body.contains("last-marker-90d4, first-marker-1b7c"));
    assert!(page.body.contains("mail-marker-44f1@example.org"));
    common::assert_not_at_rest(
        &server,
        &[
            b"folder-marker-5e2a",
            b"renamed-marker-77b2",
            b"first-marker-1b7c",
            b"last-marker-90d4",
            b"mail-marker-44f1",
            b"group-marker-c3a0",
        ],
    );
}

/// Where `needle` is in `body` (it must be).
fn at(body: &str, needle: &str) -> usize {
    body.find(needle)
        .unwrap_or_else(|| panic!("no {needle} in\n{body}"))
}

async fn contacts_are_listed_last_first_and_grouped(backend: Backend) {
    let server = start(backend).await;
    let mut portal = logged_in(&server, BOB, &[]).await;
    let empty = portal.get("/portal/contacts").await;
    assert!(empty.body.contains("Your address book is empty."));
    let jane = add_contact(&mut portal, "Jane", "Doe", "jane@example.org").await;
    let john = add_contact(&mut portal, " John ", "doe", "john@example.org").await;
    add_contact(&mut portal, "Ann", "Zed", "ann@example.org").await;
    add_contact(&mut portal, "Bob", "Adams", "bobby@example.org").await;
    add_contact(&mut portal, "", "", "zz@example.org").await;

    let page = portal.get("/portal/contacts").await;
    let order: Vec<String> = links(&page.body, "/portal/contacts/")
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    assert_eq!(
        order,
        [
            "Adams, Bob",
            "Doe, Jane",
            "doe, John",
            "Zed, Ann",
            "zz@example.org"
        ]
    );
    assert!(at(&page.body, "jane@example.org") < at(&page.body, "john@example.org"));

    // One entry per e-mail, whatever its case; a valid e-mail is needed.
    let form = |email: &'static str| [("first", "J"), ("last", "D"), ("email", email)];
    let twice = send(
        &mut portal,
        "/portal/contacts",
        "/portal/contacts",
        &form("JANE@example.org"),
    )
    .await;
    assert_eq!(twice.status, 422);
    assert!(twice
        .body
        .contains("This e-mail address is in your address book already."));
    let invalid = send(
        &mut portal,
        "/portal/contacts",
        "/portal/contacts",
        &form("jane at example"),
    )
    .await;
    assert_eq!(invalid.status, 422);
    assert!(invalid.body.contains("Enter an e-mail address such as"));
    assert!(invalid.body.contains("value=\"jane at example\""));

    // Edited: listed under the new name; the e-mail may stay its own.
    let edit = portal.get(&format!("/portal/contacts/{john}")).await;
    assert_eq!(edit.status, 200);
    assert!(edit.body.contains("value=\"john@example.org\""));
    let saved = send(
        &mut portal,
        "/portal/contacts",
        &format!("/portal/contacts/{john}"),
        &[
            ("first", "John"),
            ("last", "Abbott"),
            ("email", "JOHN@example.org"),
        ],
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let clash = send(
        &mut portal,
        "/portal/contacts",
        &format!("/portal/contacts/{john}"),
        &[
            ("first", "John"),
            ("last", "Abbott"),
            ("email", "ann@example.org"),
        ],
    )
    .await;
    assert_eq!(clash.status, 422);
    let page = portal.get("/portal/contacts").await;
    assert_eq!(links(&page.body, "/portal/contacts/")[0].1, "Abbott, John");

    // A group: members by checkboxes.
    let team = create_group(&mut portal, "Team").await;
    let group = portal
        .get(&format!("/portal/groups/{team}?done=created"))
        .await;
    assert!(group.body.contains("The group was created."));
    for id in [&jane, &john] {
        assert!(group.body.contains(&format!(
            "type=\"checkbox\" id=\"member-{id}\" name=\"member\" value=\"{id}\">"
        )));
    }
    let members = send(
        &mut portal,
        "/portal/groups",
        &format!("/portal/groups/{team}/members"),
        &[
            ("member", jane.as_str()),
            ("member", john.as_str()),
            ("member", "f".repeat(32).as_str()),
        ],
    )
    .await;
    assert_eq!(members.status, 303, "{}", members.body);
    let group = portal
        .get(&format!("/portal/groups/{team}?done=members"))
        .await;
    assert!(group.body.contains("The members were saved."));
    assert!(group.body.contains(&format!("value=\"{jane}\" checked>")));
    assert!(group.body.contains(&format!("value=\"{john}\" checked>")));
    assert_eq!(group.body.matches(" checked>").count(), 2);
    // What Compose gets (address_book::choices): the members' e-mails, in
    // the address book's order, as the Groups page shows them.
    let groups = portal.get("/portal/groups").await;
    assert!(
        groups
            .body
            .contains("2 members: JOHN@example.org, jane@example.org"),
        "{}",
        groups.body
    );
    create_group(&mut portal, "Nobody").await;
    let renamed = send(
        &mut portal,
        "/portal/groups",
        &format!("/portal/groups/{team}/rename"),
        &[("name", "nobody")],
    )
    .await;
    assert_eq!(renamed.status, 422);
    assert!(renamed
        .body
        .contains("You have a group with this name already."));

    // Deleting a contact takes it out of its groups; deleting a group
    // leaves its contacts.
    let gone = send(
        &mut portal,
        "/portal/contacts",
        &format!("/portal/contacts/{john}/delete"),
        &[],
    )
    .await;
    assert_eq!(gone.status, 303);
    assert_eq!(
        portal.get(&format!("/portal/contacts/{john}")).await.status,
        404
    );
    let groups = portal.get("/portal/groups").await;
    assert!(
        groups.body.contains("1 member: jane@example.org"),
        "{}",
        groups.body
    );
    let deleted = send(
        &mut portal,
        "/portal/groups",
        &format!("/portal/groups/{team}/delete"),
        &[],
    )
    .await;
    assert_eq!(deleted.status, 303);
    assert_eq!(
        deleted.location.as_deref(),
        Some("/portal/groups?done=deleted")
    );
    assert_eq!(
        portal.get(&format!("/portal/groups/{team}")).await.status,
        404
    );
    let page = portal.get("/portal/contacts").await;
    assert_eq!(link_id(&page.body, "/portal/contacts/", "Doe, Jane"), jane);
}

async fn an_account_has_at_most_100_folders(backend: Backend) {
    let server = start(backend).await;
    let mut portal = logged_in(&server, BOB, &[]).await;
    let page = portal.get("/portal/folders").await;
    let csrf = Portal::csrf(&page.body);
    for n in 0..100 {
        let name = format!("Folder {n}");
        let created = portal
            .post("/portal/folders", &[("csrf", &csrf), ("name", &name)])
            .await;
        assert_eq!(created.status, 303, "{n}: {}", created.body);
    }
    let full = portal
        .post("/portal/folders", &[("csrf", &csrf), ("name", "One more")])
        .await;
    assert_eq!(full.status, 409);
    assert!(full.body.contains("You have 100 folders"));
    let page = portal.get("/portal/folders").await;
    assert_eq!(links(&page.body, "/portal/folders/").len(), 100);
    assert!(
        !page.body.contains("action=\"/portal/folders\""),
        "no New folder form"
    );
    // Renaming is not creating.
    let id = link_id(&page.body, "/portal/folders/", "Folder 7");
    let renamed = portal
        .post(
            &format!("/portal/folders/{id}/rename"),
            &[("csrf", &csrf), ("name", "Seven")],
        )
        .await;
    assert_eq!(renamed.status, 303);
}

async fn deleting_the_account_deletes_its_folders_and_address_book(backend: Backend) {
    let server = start(backend).await;
    let mut portal = logged_in(&server, BOB, &['a']).await;
    let folder = create_folder(&mut portal, "Kept").await;
    move_message(&mut portal, &envelope_id('a'), &folder, "/portal/inbox").await;
    let jane = add_contact(&mut portal, "Jane", "Doe", "jane@example.org").await;
    let team = create_group(&mut portal, "Team").await;
    send(
        &mut portal,
        "/portal/groups",
        &format!("/portal/groups/{team}/members"),
        &[("member", jane.as_str())],
    )
    .await;
    // Carol's stay.
    let mut carol = logged_in(&server, CAROL, &[]).await;
    create_folder(&mut carol, "Hers").await;
    add_contact(&mut carol, "Dan", "Lee", "dan@example.org").await;

    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.database_url).await.unwrap();
    let count = |table: &'static str| {
        let pool = pool.clone();
        async move {
            let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&pool)
                .await
                .unwrap();
            n
        }
    };
    assert_eq!(count("contact_group_members").await, 1);
    server.store.delete_account(BOB).await.unwrap();
    assert_eq!(count("folders").await, 1, "Carol's folder only");
    assert_eq!(count("contacts").await, 1, "Carol's contact only");
    assert_eq!(count("contact_groups").await, 0);
    assert_eq!(count("contact_group_members").await, 0);
}

on_both_stores!(
    folders_hold_moved_messages_until_deleted,
    another_accounts_ids_are_not_found,
    markup_in_names_is_escaped,
    nothing_is_stored_in_the_clear,
    contacts_are_listed_last_first_and_grouped,
    an_account_has_at_most_100_folders,
    deleting_the_account_deletes_its_folders_and_address_book,
);
