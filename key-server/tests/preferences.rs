//! The portal's Preferences over real HTTP on SQLite and PostgreSQL:
//! changing the password (the current one checked as the login checks it,
//! toward the same lock; the policy and its history; every other session
//! ends, this browser gets a new one; the old password dies for the portal
//! and key release), the security questions (for the current password; the
//! new answers work for a reset), the personal security phrase and the
//! language (what senders learn), notification mails (`notify` in the
//! registration answer), forged forms, and the password hint (sealed at
//! rest, mailed only to a confirmed account that has one, the same page
//! for any address).

mod common;
mod pages_support;
mod portal_support;

use common::{account, message_to, post, pull, start_with, Backend, Server, PASSWORD};
use key_server::Preset;
use pages_support::{link, no_mail, post_form, wait_mails};
use portal_support::Portal;
use serde_json::Value;

const BOB: &str = "bob@example.net";
const FIRST: &str = "Harbour#Lantern7";
const SECOND: &str = "Sailing#Boat2024";
const PREFERENCES: &str = "/portal/preferences";

/// Trustwave's rules (a history of 4), a lock after 5 wrong passwords,
/// password hints on.
async fn server(backend: Backend) -> Server {
    start_with(backend, |config| {
        config.password_policy = Preset::Trustwave;
        config.lockout_attempts = Some(5);
        config.portal.password_hint = true;
    })
    .await
}

/// Bob's confirmed account, a pull message for him (`id`), and a portal
/// session of his on Preferences: the client and the page's token.
async fn bob_on_preferences(server: &Server, id: &str) -> (Portal, String) {
    account(server, BOB, true, None).await;
    pull(server, id, BOB).await;
    let mut portal = Portal::new(server);
    let login = portal.log_in(BOB, PASSWORD, PREFERENCES).await;
    assert_eq!(login.status, 303, "{}", login.body);
    assert_eq!(login.location.as_deref(), Some(PREFERENCES));
    let page = portal.get(PREFERENCES).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = Portal::csrf(&page.body);
    (portal, csrf)
}

/// The Change password form.
async fn change_password(
    portal: &mut Portal,
    csrf: &str,
    current: &str,
    new: &str,
) -> portal_support::Answer {
    portal
        .post(
            "/portal/preferences/password",
            &[
                ("csrf", csrf),
                ("current_password", current),
                ("password", new),
                ("password_confirm", new),
            ],
        )
        .await
}

/// What a sender learns about `to` when registering envelope `id`.
async fn registration_answer(server: &Server, id: &str, to: &str) -> Value {
    let token = server
        .store
        .create_sender(&format!("sender-{id}"))
        .await
        .unwrap();
    let (status, answer) = post(server, Some(&token), &message_to(id, to, None)).await;
    assert_eq!(status, 200, "{answer}");
    answer["envelopes"][0].clone()
}

async fn changing_the_password(backend: Backend) {
    let server = server(backend).await;
    let id = "a".repeat(32);
    let (mut portal, csrf) = bob_on_preferences(&server, &id).await;
    let page = portal.get(PREFERENCES).await;
    for expected in [
        r#"href="/portal/preferences" aria-current="page""#,
        "Change password",
        "Current password",
        "Different from your last 4 passwords",
        r#"<script src="/static/password-check.js">"#,
    ] {
        assert!(page.body.contains(expected), "the page lacks {expected:?}");
    }
    let mut elsewhere = Portal::new(&server);
    assert_eq!(
        elsewhere
            .log_in(BOB, PASSWORD, "/portal/inbox")
            .await
            .status,
        303
    );

    // A new password against the policy costs no attempt.
    let refused = change_password(&mut portal, &csrf, "not it", "short").await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("Use at least 10 characters."));
    assert!(refused.body.contains(r#"id="error-summary""#));
    let account = server.store.account(BOB).await.unwrap().unwrap();
    assert_eq!(account.failed_logins, 0);
    // A wrong current password counts toward the account's lock.
    let refused = change_password(&mut portal, &csrf, "not it", FIRST).await;
    assert_eq!(refused.status, 422);
    assert!(refused
        .body
        .contains("Current password: This is not your current password."));
    assert!(!refused.body.contains(FIRST), "no secret comes back");
    let account = server.store.account(BOB).await.unwrap().unwrap();
    assert_eq!(account.failed_logins, 1);
    assert_eq!(
        server
            .store
            .audit_count(BOB, "preferences_wrong_password")
            .await
            .unwrap(),
        1
    );

    // The right one: every other session ends, this browser gets a new one.
    let old_cookie = portal.cookie.clone();
    let changed = change_password(&mut portal, &csrf, PASSWORD, FIRST).await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    assert_eq!(
        changed.location.as_deref(),
        Some("/portal/preferences?saved=password")
    );
    assert!(portal.cookie.is_some());
    assert_ne!(portal.cookie, old_cookie, "a new session id");
    let page = portal.get("/portal/preferences?saved=password").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Your password was changed."));
    let gone = elsewhere.get("/portal/inbox").await;
    assert_eq!(gone.status, 303);
    assert!(gone.location.unwrap().starts_with("/portal/login"));
    // The old session's token went with it.
    let mut replay = Portal::new(&server);
    replay.cookie = old_cookie;
    assert_eq!(replay.get(PREFERENCES).await.status, 303);

    // The old password is dead, in the portal and for key release; the new one works.
    let mut other = Portal::new(&server);
    assert_eq!(
        other.log_in(BOB, PASSWORD, "/portal/inbox").await.status,
        401
    );
    assert_eq!(common::release(&server, &id, BOB, PASSWORD).await.0, 401);
    let (status, _, key) = common::release(&server, &id, BOB, FIRST).await;
    assert_eq!(status, 200);
    assert!(key.is_some());

    // The history: the password itself, or it with its number moved by one.
    let csrf = Portal::csrf(&page.body);
    for recent in [FIRST, "Harbour#Lantern8"] {
        let refused = change_password(&mut portal, &csrf, FIRST, recent).await;
        assert_eq!(refused.status, 422, "{recent}");
        assert!(refused.body.contains("not used recently"), "{recent}");
    }
    let changed = change_password(&mut portal, &csrf, FIRST, SECOND).await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    assert_eq!(common::release(&server, &id, BOB, SECOND).await.0, 200);
}

async fn wrong_current_passwords_lock_the_account(backend: Backend) {
    let server = server(backend).await;
    let id = "b".repeat(32);
    let (mut portal, csrf) = bob_on_preferences(&server, &id).await;
    for n in 1..=5 {
        let refused = change_password(&mut portal, &csrf, "Wrong#Guess99", FIRST).await;
        assert_eq!(refused.status, 422, "try {n}");
        if n == 5 {
            assert!(
                refused.body.contains("your account is locked"),
                "{}",
                refused.body
            );
        }
    }
    let account = server.store.account(BOB).await.unwrap().unwrap();
    assert!(
        account.locked_until.is_some(),
        "five wrong passwords lock it"
    );
    // Locked: even the right password changes nothing, here or elsewhere.
    let refused = change_password(&mut portal, &csrf, PASSWORD, FIRST).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("your account is locked"));
    let (status, body, _) = common::release(&server, &id, BOB, PASSWORD).await;
    assert_eq!((status, body["error"].as_str()), (423, Some("locked")));
    assert_eq!(
        Portal::new(&server)
            .log_in(BOB, PASSWORD, "/portal/inbox")
            .await
            .status,
        401
    );
    // The questions and the hint take the current password the same way.
    let refused = set_hint(&mut portal, &csrf, "the boat", PASSWORD).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("your account is locked"));
}

fn questions_form<'a>(csrf: &'a str, password: &'a str, first: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("questions_password", password),
        ("question1", first),
        ("answer1", "Ginger"),
        ("answer1_confirm", "ginger"),
        ("question2", "first_car"),
        ("answer2", "Volvo Amazon"),
        ("answer2_confirm", "Volvo  Amazon"),
        ("question3", "childhood_nickname"),
        ("answer3", "Bee"),
        ("answer3_confirm", "Bee"),
    ]
}

async fn security_questions_need_the_password_and_work_for_a_reset(backend: Backend) {
    let server = server(backend).await;
    let id = "c".repeat(32);
    let (mut portal, csrf) = bob_on_preferences(&server, &id).await;
    let path = "/portal/preferences/questions";

    // Mistakes come back (422), naming their field, nothing saved.
    let refused = portal
        .post(path, &questions_form(&csrf, "", "first_pet"))
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused
        .body
        .contains("Current password (for the security questions): This field is required."));
    let refused = portal
        .post(path, &questions_form(&csrf, PASSWORD, "first_car"))
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("Choose three different questions."));
    assert!(
        refused
            .body
            .contains(r#"<option value="first_car" selected>"#),
        "the questions chosen are kept"
    );
    assert!(!refused.body.contains("Volvo"), "answers are not sent back");
    let refused = portal
        .post(path, &questions_form(&csrf, "Wrong#Guess99", "first_pet"))
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("This is not your current password."));
    assert_eq!(
        server
            .store
            .account(BOB)
            .await
            .unwrap()
            .unwrap()
            .failed_logins,
        1
    );
    assert!(server.store.security_answers(BOB).await.unwrap().is_empty());

    let saved = portal
        .post(path, &questions_form(&csrf, PASSWORD, "first_pet"))
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(
        saved.location.as_deref(),
        Some("/portal/preferences?saved=questions")
    );
    let stored = server.store.security_answers(BOB).await.unwrap();
    let questions: Vec<&str> = stored.iter().map(|a| a.question.as_str()).collect();
    assert_eq!(questions, ["first_pet", "first_car", "childhood_nickname"]);
    assert!(stored
        .iter()
        .all(|a| a.answer_hash.starts_with("$argon2id$")));
    let page = portal.get("/portal/preferences?saved=questions").await;
    assert!(page.body.contains("Your security questions were saved."));
    assert!(page
        .body
        .contains(r#"<option value="childhood_nickname" selected>"#));

    // The new answers (case and spacing aside) reset the password.
    let (code, _) = post_form(&server, "/forgot", &[("email", BOB)]).await;
    assert_eq!(code, 200);
    let reset = link(&wait_mails(&server, 1).await[0].2, "/reset?token=");
    let (code, page) = pages_support::get(&server, &reset).await;
    assert_eq!(code, 200);
    assert!(page.contains("What was your childhood nickname?"));
    let token = reset.split("token=").nth(1).unwrap();
    let (code, page) = post_form(
        &server,
        "/reset",
        &[
            ("token", token),
            ("answer1", "GINGER"),
            ("answer2", " volvo amazon "),
            ("answer3", "bee"),
            ("password", SECOND),
            ("password_confirm", SECOND),
        ],
    )
    .await;
    assert_eq!(code, 200, "{page}");
    assert_eq!(common::release(&server, &id, BOB, SECOND).await.0, 200);
}

/// The phrase form.
async fn post_phrase(
    portal: &mut Portal,
    csrf: &str,
    phrase: &str,
    enabled: bool,
) -> portal_support::Answer {
    let mut form = vec![("csrf", csrf), ("security_phrase", phrase)];
    if enabled {
        form.push(("phrase_enabled", "on"));
    }
    portal.post("/portal/preferences/phrase", &form).await
}

/// The hint form.
async fn set_hint(
    portal: &mut Portal,
    csrf: &str,
    hint: &str,
    password: &str,
) -> portal_support::Answer {
    portal
        .post(
            "/portal/preferences/hint",
            &[("csrf", csrf), ("hint", hint), ("hint_password", password)],
        )
        .await
}

async fn phrase_language_and_notifications_reach_senders(backend: Backend) {
    let server = server(backend).await;
    let (mut portal, csrf) = bob_on_preferences(&server, &"d".repeat(32)).await;
    let answer = registration_answer(&server, &"1".repeat(32), BOB).await;
    assert_eq!(answer["phrase"], Value::Null);
    assert_eq!(answer["language"], "en");
    assert_eq!(answer["notify"], true);

    // The phrase: asked for when enabled but empty; saved, shown, sent.
    let refused = post_phrase(&mut portal, &csrf, "  ", true).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("Enter a phrase, or untick"));
    let saved = post_phrase(&mut portal, &csrf, "Blue heron at dawn", true).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = portal.get("/portal/preferences?saved=phrase").await;
    assert!(page.body.contains(r#"value="Blue heron at dawn""#));
    assert!(page
        .body
        .contains(r#"name="phrase_enabled" type="checkbox" value="on" checked"#));
    let answer = registration_answer(&server, &"2".repeat(32), BOB).await;
    assert_eq!(answer["phrase"], "Blue heron at dawn");
    // Kept but not shown on envelopes.
    let saved = post_phrase(&mut portal, &csrf, "Blue heron at dawn", false).await;
    assert_eq!(saved.status, 303);
    let answer = registration_answer(&server, &"3".repeat(32), BOB).await;
    assert_eq!(answer["phrase"], Value::Null);
    let page = portal.get(PREFERENCES).await;
    assert!(page.body.contains(r#"value="Blue heron at dawn""#));

    // The language: the page and what senders learn.
    let refused = portal
        .post(
            "/portal/preferences/language",
            &[("csrf", &csrf), ("language", "xx")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("Choose a language from the list."));
    let saved = portal
        .post(
            "/portal/preferences/language",
            &[("csrf", &csrf), ("language", "fr")],
        )
        .await;
    assert_eq!(saved.status, 303);
    let page = portal.get("/portal/preferences?saved=language").await;
    assert!(page.body.contains(r#"<html lang="fr">"#));
    assert!(page.body.contains("Votre langue a été enregistrée."));
    assert!(page
        .body
        .contains(r#"<option value="fr" lang="fr" selected>"#));
    let answer = registration_answer(&server, &"4".repeat(32), BOB).await;
    assert_eq!(answer["language"], "fr");
    // Every portal page now speaks it, whatever the browser asks for.
    for path in [
        "/portal/inbox",
        "/portal/sent",
        "/portal/drafts",
        "/portal/contacts",
    ] {
        let page = portal.get(path).await;
        assert!(
            page.body.contains(r#"<html lang="fr">"#),
            "{path}: {}",
            page.body
        );
    }
    assert!(portal
        .get("/portal/inbox")
        .await
        .body
        .contains("Boîte de réception"));

    // Notification mails off: senders are told.
    let saved = portal
        .post("/portal/preferences/notifications", &[("csrf", &csrf)])
        .await;
    assert_eq!(saved.status, 303);
    let answer = registration_answer(&server, &"5".repeat(32), BOB).await;
    assert_eq!(answer["notify"], false);
    let page = portal.get(PREFERENCES).await;
    assert!(page
        .body
        .contains(r#"name="notify" type="checkbox" value="on" aria-describedby="notify-help">"#));
    let saved = portal
        .post(
            "/portal/preferences/notifications",
            &[("csrf", &csrf), ("notify", "on")],
        )
        .await;
    assert_eq!(saved.status, 303);
    let answer = registration_answer(&server, &"6".repeat(32), BOB).await;
    assert_eq!(answer["notify"], true);
    // Nobody else's: an address without an account gets notifications.
    let answer = registration_answer(&server, &"7".repeat(32), "carol@example.net").await;
    assert_eq!(answer["notify"], true);
}

async fn forged_forms_are_refused(backend: Backend) {
    let server = server(backend).await;
    let (mut portal, csrf) = bob_on_preferences(&server, &"e".repeat(32)).await;
    let forms: [(&str, Vec<(&str, &str)>); 6] = [
        ("language", vec![("language", "fr")]),
        ("notifications", vec![]),
        ("phrase", vec![("security_phrase", "forged")]),
        (
            "password",
            vec![
                ("current_password", PASSWORD),
                ("password", FIRST),
                ("password_confirm", FIRST),
            ],
        ),
        (
            "questions",
            questions_form("", PASSWORD, "first_pet")[1..].to_vec(),
        ),
        (
            "hint",
            vec![("hint", "forged"), ("hint_password", PASSWORD)],
        ),
    ];
    for (part, fields) in forms {
        let path = format!("/portal/preferences/{part}");
        // Without the session's token.
        let answer = portal.post(&path, &fields).await;
        assert_eq!(answer.status, 403, "{part} without a token");
        let mut with_token = fields.clone();
        with_token.push(("csrf", &csrf));
        // From another site, token and all.
        let evil = ("Origin", "https://evil.example");
        for headers in [vec![("Sec-Fetch-Site", "cross-site"), evil], vec![evil]] {
            let answer = portal.post_with(&path, &with_token, &headers).await;
            assert_eq!(answer.status, 403, "{part} from {headers:?}");
        }
    }
    // Nothing changed.
    let prefs = server.store.preferences(BOB).await.unwrap().unwrap();
    assert_eq!(prefs.language, "en");
    assert!(prefs.notify_mail);
    assert_eq!(prefs.phrase, None);
    assert_eq!(prefs.hint_sealed, None);
    assert!(server.store.security_answers(BOB).await.unwrap().is_empty());
    let mut other = Portal::new(&server);
    assert_eq!(
        other.log_in(BOB, PASSWORD, "/portal/inbox").await.status,
        303
    );
    // And without a session, the login page.
    let answer = Portal::new(&server)
        .post("/portal/preferences/language", &[("language", "fr")])
        .await;
    assert_eq!(answer.status, 303);
    assert!(answer.location.unwrap().starts_with("/portal/login"));
}

/// A hint that would give [`FIRST`] away.
const HINT: &str = "the boat Harbour#Lantern7 in the old port";

/// Every stored password hint, as the database holds it.
async fn stored_hints(server: &Server) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.database_url).await.unwrap();
    let rows: Vec<(Option<String>,)> = sqlx::query_as("SELECT password_hint FROM accounts")
        .fetch_all(&pool)
        .await
        .unwrap();
    rows.into_iter().filter_map(|(hint,)| hint).collect()
}

async fn password_hints(backend: Backend) {
    let server = server(backend).await;
    let (mut portal, csrf) = bob_on_preferences(&server, &"f".repeat(32)).await;
    let page = portal.get(PREFERENCES).await;
    assert!(page.body.contains("You have no password hint."));
    // A hint must not hold the password, whatever its case.
    for (hint, why) in [
        (PASSWORD, "the password itself"),
        ("psst: CORRECT HORSE battery staple", "the password inside"),
    ] {
        let refused = set_hint(&mut portal, &csrf, hint, PASSWORD).await;
        assert_eq!(refused.status, 422, "{why}");
        assert!(
            refused
                .body
                .contains("A hint must not contain your password."),
            "{why}"
        );
        assert!(
            !refused.body.contains("CORRECT HORSE"),
            "the hint is not sent back"
        );
    }
    let refused = set_hint(&mut portal, &csrf, HINT, "not it").await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("This is not your current password."));
    let saved = set_hint(&mut portal, &csrf, HINT, PASSWORD).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = portal.get("/portal/preferences?saved=hint").await;
    assert!(page.body.contains("Your password hint was saved."));
    assert!(page.body.contains("You have a password hint."));
    assert!(!page.body.contains(HINT), "the page does not show it");

    // Stored sealed, never in the clear.
    let hints = stored_hints(&server).await;
    assert_eq!(hints.len(), 1);
    assert!(!hints[0].contains("Harbour") && !hints[0].contains("boat"));
    common::assert_not_at_rest(&server, &[HINT.as_bytes(), b"old port"]);

    // A new password the hint would give away is refused.
    let refused = change_password(&mut portal, &csrf, PASSWORD, FIRST).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused
        .body
        .contains("Your password hint gives this password away"));

    // "Forgot your password?" offers it; the same page and status whatever the address.
    let (code, page) = pages_support::get(&server, "/forgot").await;
    assert_eq!(code, 200);
    assert!(page.contains(r#"name="action" value="hint""#));
    account(&server, "nohint@example.net", true, None).await;
    account(&server, "unconfirmed@example.net", false, None).await;
    let mut pages = Vec::new();
    for address in [
        BOB,
        "nobody@example.net",
        "nohint@example.net",
        "unconfirmed@example.net",
    ] {
        let (code, page) = post_form(
            &server,
            "/forgot",
            &[("email", address), ("action", "hint")],
        )
        .await;
        assert_eq!(code, 200, "{address}");
        pages.push(page.replace(address, "X"));
    }
    assert!(pages.windows(2).all(|w| w[0] == w[1]), "no enumeration");
    assert!(pages[0].contains("with a password hint"));
    let mails = wait_mails(&server, 1).await;
    let (to, subject, body) = &mails[0];
    assert_eq!(to, BOB);
    assert_eq!(subject, "Your password hint for secure messages");
    assert!(body.contains(HINT), "{body}");
    assert!(body.contains("/portal/login"), "{body}");
    no_mail(&server).await;

    // A disabled account gets no hint.
    server.store.set_account_disabled(BOB, true).await.unwrap();
    post_form(&server, "/forgot", &[("email", BOB), ("action", "hint")]).await;
    no_mail(&server).await;
    server.store.set_account_disabled(BOB, false).await.unwrap();

    // Removed, it is mailed no more.
    let mut portal = Portal::new(&server);
    portal.log_in(BOB, PASSWORD, PREFERENCES).await;
    let csrf = Portal::csrf(&portal.get(PREFERENCES).await.body);
    let removed = portal
        .post(
            "/portal/preferences/hint",
            &[("csrf", &csrf), ("remove", "1")],
        )
        .await;
    assert_eq!(removed.status, 303);
    assert_eq!(
        removed.location.as_deref(),
        Some("/portal/preferences?saved=hint_removed")
    );
    assert!(stored_hints(&server).await.is_empty());
    post_form(&server, "/forgot", &[("email", BOB), ("action", "hint")]).await;
    no_mail(&server).await;

    // The address's mail limit (3 an hour from /forgot) covers hints too:
    // one went already.
    assert_eq!(
        set_hint(&mut portal, &csrf, HINT, PASSWORD).await.status,
        303
    );
    for _ in 0..4 {
        post_form(&server, "/forgot", &[("email", BOB), ("action", "hint")]).await;
    }
    assert_eq!(wait_mails(&server, 2).await.len(), 2);
    no_mail(&server).await;
}

async fn hints_are_off_by_default(backend: Backend) {
    let server = start_with(backend, |_| {}).await;
    let (mut portal, csrf) = bob_on_preferences(&server, &"9".repeat(32)).await;
    let page = portal.get(PREFERENCES).await;
    assert!(!page.body.contains("Password hint"));
    let refused = set_hint(&mut portal, &csrf, HINT, PASSWORD).await;
    assert_eq!(refused.status, 404);
    let (_, page) = pages_support::get(&server, "/forgot").await;
    assert!(!page.contains(r#"value="hint""#));
    // The button's value is ignored: the usual reset link.
    post_form(&server, "/forgot", &[("email", BOB), ("action", "hint")]).await;
    let mails = wait_mails(&server, 1).await;
    assert_eq!(mails[0].1, "Reset your password for secure messages");
}

/// MailGate's hint at registration: offered on the form when hints are on
/// (and not otherwise), refused when it holds the password, kept sealed
/// once the address is confirmed, and mailed from "Forgot your password?".
async fn a_hint_chosen_at_registration(backend: Backend) {
    const AT_REGISTRATION: &str = "the red kettle in the kitchen";
    let server = start_with(backend, |config| config.portal.password_hint = true).await;
    // Only an address that was sent a message can register.
    pull(&server, &"7".repeat(32), BOB).await;
    let (code, page) = pages_support::get(&server, "/register?email=bob%40example.net").await;
    assert_eq!(code, 200);
    assert!(page.contains("Password hint (optional)"), "{page}");
    let good = pages_support::form(BOB);
    let holding = pages_support::with(&good, &[("hint", "my QUIET-harbour-lantern-42")]);
    let (code, page) = post_form(&server, "/register", &pages_support::pairs(&holding)).await;
    assert_eq!(code, 422, "{page}");
    assert!(
        page.contains("A hint must not contain your password."),
        "{page}"
    );
    assert!(
        !page.contains("CORRECT horse"),
        "the hint is not sent back: {page}"
    );
    let hinted = pages_support::with(&good, &[("hint", AT_REGISTRATION)]);
    let (code, page) = post_form(&server, "/register", &pages_support::pairs(&hinted)).await;
    assert_eq!(code, 200, "{page}");
    let mails = wait_mails(&server, 1).await;
    let confirm = link(&mails[0].2, "/confirm?token=");
    let (code, page) =
        pages_support::confirm_with(&server, &confirm, pages_support::PASSWORD).await;
    assert_eq!(code, 200, "{page}");
    let hints = stored_hints(&server).await;
    assert_eq!(hints.len(), 1, "copied to the account");
    common::assert_not_at_rest(&server, &[AT_REGISTRATION.as_bytes()]);
    post_form(&server, "/forgot", &[("email", BOB), ("action", "hint")]).await;
    let mails = wait_mails(&server, 1).await;
    assert!(mails[0].2.contains(AT_REGISTRATION), "{}", mails[0].2);

    // Hints off: no field, and a forged one is not kept.
    let server = start_with(Backend::Sqlite, |_| {}).await;
    pull(&server, &"7".repeat(32), BOB).await;
    let (_, page) = pages_support::get(&server, "/register?email=bob%40example.net").await;
    assert!(!page.contains("Password hint"));
    let (code, _) = post_form(&server, "/register", &pages_support::pairs(&hinted)).await;
    assert_eq!(code, 200);
    let mails = wait_mails(&server, 1).await;
    let confirm = link(&mails[0].2, "/confirm?token=");
    pages_support::confirm_with(&server, &confirm, pages_support::PASSWORD).await;
    assert!(stored_hints(&server).await.is_empty());
}

on_both_stores!(
    a_hint_chosen_at_registration,
    changing_the_password,
    wrong_current_passwords_lock_the_account,
    security_questions_need_the_password_and_work_for_a_reset,
    phrase_language_and_notifications_reach_senders,
    forged_forms_are_refused,
    password_hints,
    hints_are_off_by_default,
);
