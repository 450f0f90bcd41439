//! Registration, confirmation, "Forgot password?" and reset over real HTTP
//! and a real outbox, on SQLite and PostgreSQL: what a recipient does in a
//! browser, as form posts, and what they then can (and cannot) open.

mod common;
mod pages_support;

use common::{register, register_with, release, release_with, start, start_with, Backend};
use key_server::Preset;
use serde_json::json;

use pages_support::*;

async fn registration_journey(backend: Backend) {
    let server = start(backend).await;
    let id = "0123456789abcdef0123456789abcdef";
    register(&server, id, &["bob@example.net"], None).await;
    assert_eq!(
        status(&server, id, "bob@example.net").await,
        (
            200,
            json!({"registered": false, "security": "high", "passcode": false})
        )
    );
    assert_eq!(status(&server, id, "mallory@example.net").await.0, 403);

    // The form, pre-filled and read-only, with the policy's rules and the questions.
    let (code, page) = get(&server, "/register?email=bob%40example.net").await;
    assert_eq!(code, 200);
    for expected in [
        r#"value="bob@example.net""#,
        " readonly",
        "Language",
        "First name",
        "Last name",
        "Confirm password",
        "Enable my personal security phrase",
        "Security question 3",
        "Confirm answer",
        "Not a common or easily guessed password",
        "What was the name of your first pet?",
    ] {
        assert!(page.contains(expected), "the form lacks {expected:?}");
    }

    // One mistake: the form comes back with what was typed, minus secrets.
    let good = form("bob@example.net");
    let wrong = with(
        &good,
        &[
            ("password_confirm", "Quiet-Harbour-Lantern-43"),
            ("first_name", "Rob <b>ert</b>"),
        ],
    );
    let (code, page) = post_form(&server, "/register", &pairs(&wrong)).await;
    assert_eq!(code, 422);
    assert!(page.contains("The two passwords are not the same."));
    assert!(
        page.contains(r#"id="password_confirm" name="password_confirm" type="password" value="""#)
    );
    assert!(
        page.contains("Rob &lt;b&gt;ert&lt;&#x2f;b&gt;"),
        "typed values come back, escaped"
    );
    assert!(page.contains("Blue kettle on Sunday"));
    assert!(page.contains(r#"<option value="first_school" selected>"#));
    assert!(!page.contains(PASSWORD), "the password is not sent back");
    assert!(!page.contains("Hillside"), "answers are not sent back");
    no_mail(&server).await;

    // Other mistakes each name their field.
    for (changes, message) in [
        (
            vec![("question2", "first_pet")],
            "Choose three different questions.",
        ),
        (
            vec![("question3", "favourite_colour")],
            "Choose a question from the list.",
        ),
        (
            vec![("answer2_confirm", "Hillside")],
            "The answer and its confirmation are not the same.",
        ),
        (
            vec![("password", "password1"), ("password_confirm", "password1")],
            "too common",
        ),
        (vec![("phrase", "")], "Enable my personal security phrase"),
        (vec![("last_name", "")], "This field is required."),
        (
            vec![("first_name", "Bob http://evil.example")],
            "Use letters, spaces and the characters",
        ),
    ] {
        let (code, page) = post_form(&server, "/register", &pairs(&with(&good, &changes))).await;
        assert_eq!(code, 422, "{changes:?}");
        assert!(page.contains(message), "{changes:?}: {message}");
    }

    // A phrase typed without "Enable" ticked is asked about, not dropped.
    let unticked: Vec<_> = good
        .iter()
        .filter(|(name, _)| *name != "phrase_enabled")
        .cloned()
        .collect();
    let (code, page) = post_form(&server, "/register", &pairs(&unticked)).await;
    assert_eq!(code, 422);
    assert!(
        page.contains("You typed a phrase but did not tick"),
        "{page}"
    );
    assert!(
        page.contains("Blue kettle on Sunday"),
        "the phrase comes back"
    );

    // Several mistakes: the summary lists them in the form's order, each
    // with its field's name (not one "This field is required." per id).
    let empty = with(
        &good,
        &[
            ("first_name", ""),
            ("password_confirm", "Quiet-Harbour-Lantern-43"),
            ("question1", ""),
            ("answer1", ""),
            ("answer3_confirm", "Panda"),
        ],
    );
    let (code, page) = post_form(&server, "/register", &pairs(&empty)).await;
    assert_eq!(code, 422);
    let summary = &page[page.find("error-summary").expect("a summary")..];
    let summary = &summary[..summary.find("</div>").unwrap()];
    let expected = [
        "First name: This field is required.",
        "Confirm password: The two passwords are not the same.",
        "Security question 1: This field is required.",
        "Answer to question 1: This field is required.",
        "Confirm answer to question 3: The answer and its confirmation are not the same.",
    ];
    let at: Vec<usize> = expected
        .iter()
        .map(|item| {
            summary
                .find(item)
                .unwrap_or_else(|| panic!("{item:?} not in the summary:\n{summary}"))
        })
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "not in the form's order:\n{summary}"
    );

    // Right: a confirmation mail; the account does not work until it is followed.
    let (code, page) = post_form(&server, "/register", &pairs(&good)).await;
    assert_eq!(code, 200);
    assert!(page.contains("Check your e-mail"));
    let mails = wait_mails(&server, 1).await;
    let (to, subject, text) = &mails[0];
    assert_eq!(to, "bob@example.net");
    assert_eq!(subject, "Confirm your e-mail address for secure messages");
    assert!(
        !text.contains("Robert"),
        "a name typed before confirmation is not mailed"
    );
    let confirm = link(text, "/confirm?token=");
    let (code, _, key) = release(&server, id, "bob@example.net", PASSWORD).await;
    assert!(
        code != 200 && key.is_none(),
        "no key before the address is confirmed"
    );
    assert_eq!(
        status(&server, id, "bob@example.net").await.1["registered"],
        false
    );

    // The link opens a page with a button; opening it confirms nothing.
    let (code, page) = get(&server, &confirm).await;
    assert_eq!(code, 200);
    assert!(page.contains("Confirm my address") && page.contains(r#"type="password""#));
    assert_eq!(
        status(&server, id, "bob@example.net").await.1["registered"],
        false
    );
    let (code, page) = confirm_with(&server, &confirm, "Not-The-Password-1").await;
    assert_eq!(code, 422);
    assert!(page.contains("This is not the password chosen with this registration."));
    let (code, page) = confirm_with(&server, &confirm, PASSWORD).await;
    assert_eq!(code, 200);
    assert!(page.contains("bob@example.net is confirmed"));
    let (code, page) = confirm_with(&server, &confirm, PASSWORD).await;
    assert_eq!(code, 410, "the link works once");
    assert!(page.contains("This link no longer works"));
    assert_eq!(get(&server, &confirm).await.0, 410);
    assert_eq!(
        status(&server, id, "bob@example.net").await.1["registered"],
        true
    );
    let (code, _, key) = release(&server, id, "bob@example.net", PASSWORD).await;
    assert_eq!(code, 200);
    assert_eq!(key.unwrap(), common::KEY);

    // The phrase now goes to senders with every new message.
    let token = server.store.create_sender("second").await.unwrap();
    let body = common::message_to("fedcba9876543210fedcba9876543210", "bob@example.net", None);
    let (code, answer) = common::post(&server, Some(&token), &body).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["envelopes"][0]["registered"], true);
    assert_eq!(answer["envelopes"][0]["phrase"], "Blue kettle on Sunday");

    // Registering again changes nothing; the owner is told by mail, the page says the same.
    let (code, page) = post_form(
        &server,
        "/register",
        &pairs(&with(
            &good,
            &[
                ("password", "Another-Long-Passphrase-7"),
                ("password_confirm", "Another-Long-Passphrase-7"),
            ],
        )),
    )
    .await;
    assert_eq!(code, 200);
    assert!(page.contains("Check your e-mail"));
    let mails = wait_mails(&server, 1).await;
    assert_eq!(
        mails[0].1,
        "You already have an account for secure messages"
    );
    assert_eq!(
        release(&server, id, "bob@example.net", PASSWORD).await.0,
        200
    );

    // An address that was never sent a message gets the same page and no mail.
    let (code, page) = post_form(&server, "/register", &pairs(&form("stranger@example.org"))).await;
    assert_eq!(code, 200);
    assert!(page.contains("Check your e-mail"));
    no_mail(&server).await;
}

async fn reset_unlocks(backend: Backend) {
    let server = start_with(backend, |config| config.password_policy = Preset::Trustwave).await;
    let id = "00112233445566778899aabbccddeeff";
    register(&server, id, &["ann@example.org"], None).await;
    let password = "Harbour#Lantern7";
    let good = with(
        &form("ann@example.org"),
        &[
            ("password", password),
            ("password_confirm", password),
            ("first_name", "Ann"),
        ],
    );
    assert_eq!(post_form(&server, "/register", &pairs(&good)).await.0, 200);
    let confirm = link(&wait_mails(&server, 1).await[0].2, "/confirm?token=");
    assert_eq!(confirm_with(&server, &confirm, password).await.0, 200);

    // Trustwave: three wrong passwords lock the account.
    for _ in 0..3 {
        release(&server, id, "ann@example.org", "Wrong#Password1").await;
    }
    let (code, body, _) = release(&server, id, "ann@example.org", password).await;
    assert_eq!((code, body["error"].as_str()), (423, Some("locked")));

    // Forgot password: the same page whether or not there is an account.
    let (code, page) = get(&server, "/forgot?email=ann%40example.org").await;
    assert_eq!(code, 200);
    assert!(page.contains(r#"value="ann@example.org""#));
    let (_, unknown) = post_form(&server, "/forgot", &[("email", "nobody@example.org")]).await;
    no_mail(&server).await;
    let (code, known) = post_form(&server, "/forgot", &[("email", "ann@example.org")]).await;
    assert_eq!(code, 200);
    assert_eq!(
        unknown.replace("nobody@example.org", "X"),
        known.replace("ann@example.org", "X"),
        "no user enumeration"
    );
    let mails = wait_mails(&server, 1).await;
    assert_eq!(mails[0].1, "Reset your password for secure messages");
    let reset = link(&mails[0].2, "/reset?token=");
    let token = reset.split("token=").nth(1).unwrap().to_string();

    let (code, page) = get(&server, &reset).await;
    assert_eq!(code, 200);
    assert!(page.contains("What was the name of your first pet?"));
    assert!(page.contains("Different from your last 4 passwords"));

    let answers = |a1: &str| {
        vec![
            ("token", token.clone()),
            ("answer1", a1.to_string()),
            ("answer2", "hillside  primary".into()),
            ("answer3", "FIAT".into()),
        ]
    };
    let attempt = |a1: &str, new: &str| {
        let mut f = answers(a1);
        f.push(("password", new.to_string()));
        f.push(("password_confirm", new.to_string()));
        f
    };
    // A password breaking the policy costs no attempt and keeps the link.
    let (code, page) = post_form(&server, "/reset", &pairs(&attempt("Rex", "short"))).await;
    assert_eq!(code, 422);
    assert!(page.contains("Use at least 10 characters."));
    // A wrong answer counts.
    let (code, page) = post_form(
        &server,
        "/reset",
        &pairs(&attempt("Max", "Sailing#Boat2024")),
    )
    .await;
    assert_eq!(code, 422);
    assert!(page.contains("These answers do not match, or this link can take no more answers."));
    // Said of the answers together, never pinned on the first question.
    assert!(page.contains(r#"id="answers-error""#) && !page.contains(r#"id="answer1-error""#));
    assert!(page.contains("Security questions: These answers do not match"));
    // The old password, or it with its number moved by one, is refused.
    let (code, page) = post_form(
        &server,
        "/reset",
        &pairs(&attempt("rex", "Harbour#Lantern8")),
    )
    .await;
    assert_eq!(code, 422);
    assert!(page.contains("not used recently"));
    // Right answers (case and spaces do not matter) and a new password: unlocked.
    let (code, page) = post_form(
        &server,
        "/reset",
        &pairs(&attempt(" REX ", "Sailing#Boat2024")),
    )
    .await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("Your password has been changed"));
    assert_eq!(
        release(&server, id, "ann@example.org", "Sailing#Boat2024")
            .await
            .0,
        200
    );
    assert_eq!(
        release(&server, id, "ann@example.org", password).await.0,
        401
    );
    // The link worked once: the right answers again get the refusal.
    let (code, page) = post_form(
        &server,
        "/reset",
        &pairs(&attempt("Rex", "Another#Boat2025")),
    )
    .await;
    assert_eq!(code, 422);
    assert!(page.contains("this link can take no more answers"));
    assert_eq!(get(&server, &reset).await.0, 410);

    // Five wrong answers use a link up.
    // Five wrong answer sets use a link up; then even the right answers get
    // the same answer as wrong ones.
    post_form(&server, "/forgot", &[("email", "ann@example.org")]).await;
    let reset = link(&wait_mails(&server, 1).await[0].2, "/reset?token=");
    let token = reset.split("token=").nth(1).unwrap().to_string();
    let mut refusals = Vec::new();
    for _ in 0..5 {
        let form = [
            ("token", token.as_str()),
            ("answer1", "no"),
            ("answer2", "no"),
            ("answer3", "no"),
            ("password", "Brand#New#Boat99"),
            ("password_confirm", "Brand#New#Boat99"),
        ];
        refusals.push(post_form(&server, "/reset", &form).await);
    }
    let right = [
        ("token", token.as_str()),
        ("answer1", "Rex"),
        ("answer2", "Hillside Primary"),
        ("answer3", "Fiat"),
        ("password", "Brand#New#Boat99"),
        ("password_confirm", "Brand#New#Boat99"),
    ];
    let used_up = post_form(&server, "/reset", &right).await;
    assert_eq!(used_up.0, 422);
    assert!(
        refusals.iter().all(|wrong| *wrong == used_up),
        "wrong answers and a used-up link look the same"
    );
    assert_eq!(
        release(&server, id, "ann@example.org", "Brand#New#Boat99")
            .await
            .0,
        401
    );
}

async fn security_levels(backend: Backend) {
    let server = start(backend).await;
    let (high, medium, low) = (
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "cccccccccccccccccccccccccccccccc",
    );
    register_with(&server, high, &["dee@example.org"], None, "high").await;
    register_with(&server, medium, &["dee@example.org"], None, "medium").await;
    register_with(&server, low, &["dee@example.org"], None, "low").await;
    assert_eq!(
        status(&server, medium, "dee@example.org").await.1["security"],
        "medium"
    );

    // Low: no password, no account; but only for its recipient.
    let (code, _, key) = release_with(&server, low, "dee@example.org", json!({})).await;
    assert_eq!((code, key.is_some()), (200, true));
    assert_eq!(
        release_with(&server, low, "eve@example.org", json!({}))
            .await
            .0,
        403
    );

    assert_eq!(
        post_form(&server, "/register", &pairs(&form("dee@example.org")))
            .await
            .0,
        200
    );
    let confirm = link(&wait_mails(&server, 1).await[0].2, "/confirm?token=");
    assert_eq!(confirm_with(&server, &confirm, PASSWORD).await.0, 200);

    // Medium: the password opens it; "Remember me" (a browser's signing key,
    // not a token) is tested in tests/remember.rs.
    let (code, body, _) = release_with(
        &server,
        medium,
        "dee@example.org",
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
}

async fn hostile_forms(backend: Backend) {
    let server = start(backend).await;
    register(
        &server,
        "dddddddddddddddddddddddddddddddd",
        &["fay@example.org"],
        None,
    )
    .await;
    let good = form("fay@example.org");
    let long = "x".repeat(5000);
    for changes in [
        vec![("first_name", long.as_str())],
        vec![
            ("answer1", long.as_str()),
            ("answer1_confirm", long.as_str()),
        ],
        vec![("phrase", long.as_str())],
        vec![("email", "not an address")],
        vec![("email", "fay@example.org\r\nBcc: victim@example.org")],
        vec![("first_name", "Fay\u{0}")],
    ] {
        let (code, page) = post_form(&server, "/register", &pairs(&with(&good, &changes))).await;
        assert_eq!(code, 422, "{changes:?}");
        assert!(!page.contains(&long), "a long value is not echoed");
    }
    no_mail(&server).await;
    // Pages carry a CSP that allows no inline script and no framing.
    let response = client()
        .get(format!("{}/register?email=fay%40example.org", server.base))
        .send()
        .await
        .unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    // Made-up and malformed link tokens are refused, not errors.
    assert_eq!(get(&server, "/confirm?token=made-up").await.0, 410);
    assert_eq!(get(&server, "/reset?token=%00%ff").await.0, 410);
    assert_eq!(get(&server, "/confirm").await.0, 410);
    assert_eq!(
        post_form(
            &server,
            "/confirm",
            &[("token", "made-up"), ("password", "x")]
        )
        .await
        .0,
        410
    );
    // The live check says which rules a password breaks.
    let response = client()
        .post(format!("{}/api/v1/password/check", server.base))
        .json(&json!({"password": "fay", "email": "fay@example.org", "first_name": "Fay", "last_name": "Doe"}))
        .send()
        .await
        .unwrap();
    let broken: serde_json::Value = response.json().await.unwrap();
    assert!(broken["broken"]
        .as_array()
        .unwrap()
        .contains(&json!("min_len")));
    assert!(broken["broken"]
        .as_array()
        .unwrap()
        .contains(&json!("personal")));
}

#[tokio::test]
async fn sqlite_registration_journey() {
    registration_journey(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_registration_journey() {
    registration_journey(Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite_reset_unlocks() {
    reset_unlocks(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_reset_unlocks() {
    reset_unlocks(Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite_security_levels() {
    security_levels(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_security_levels() {
    security_levels(Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite_hostile_forms() {
    hostile_forms(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_hostile_forms() {
    hostile_forms(Backend::Postgres).await;
}

/// With the Argon2 queue full, a registration is refused with a page (not
/// a 500, not the API's JSON): 503, Retry-After and a sentence to act on,
/// in the asker's language.
async fn a_full_password_queue_answers_a_busy_page(backend: Backend) {
    let server = start_with(backend, |config| {
        config.password_concurrency = Some(1);
        config.password_queue = 0;
    })
    .await;
    let burst: Vec<_> = (0..8)
        .map(|n| {
            let base = server.base.clone();
            let form = form(&format!("busy{n}@example.org"));
            tokio::spawn(async move {
                let response = client()
                    .post(format!("{base}/register"))
                    .header("Accept-Language", "fr")
                    .form(&pairs(&form))
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let retry = response
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string());
                let kind = response
                    .headers()
                    .get("content-type")
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default();
                (status, retry, kind, response.text().await.unwrap())
            })
        })
        .collect();
    let mut busy = 0;
    for answer in burst {
        let (status, retry, kind, page) = answer.await.unwrap();
        assert!(status == 200 || status == 503, "{status}: {page}");
        if status == 503 {
            busy += 1;
            assert!(retry.is_some(), "a busy page says when to come back");
            assert!(kind.starts_with("text/html"), "{kind}: {page}");
            assert!(page.contains("Le serveur de clés est occupé"), "{page}");
        }
    }
    assert!(busy > 0, "eight registrations at once, one hash at a time");
}

#[tokio::test]
async fn sqlite_a_full_password_queue_answers_a_busy_page() {
    a_full_password_queue_answers_a_busy_page(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_a_full_password_queue_answers_a_busy_page() {
    a_full_password_queue_answers_a_busy_page(Backend::Postgres).await;
}
