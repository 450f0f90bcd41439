//! Security questions: three new questions and answers (checked, normalised
//! and hashed as the registration's are), for the current password.

use axum::extract::State;
use axum::response::Response;
use securedoc_templates::text;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{answer, current_password_refused, refused, saved, Posted, Typed};
use crate::http::pages::{hash_answers, question_errors, QuestionFields};
use crate::http::AppState;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct QuestionsForm {
    questions_password: Zeroizing<String>,
    #[serde(flatten)]
    questions: QuestionFields,
}

/// `POST /portal/preferences/questions`.
pub(super) async fn change(
    State(state): State<AppState>,
    posted: Posted<QuestionsForm>,
) -> Response {
    let (form, lang) = (&posted.form, posted.lang);
    let result = async {
        // Kept as chosen (at most a select value's length), never the answers.
        let typed = || Typed {
            questions: Some(
                form.questions
                    .questions()
                    .map(|q| q.chars().take(40).collect()),
            ),
            ..Typed::default()
        };
        let mut errors = question_errors(lang, &form.questions);
        let (field, current) = ("questions_password", &form.questions_password);
        if current.is_empty() {
            errors.insert(field.into(), text(lang, "errors.required"));
        }
        if !errors.is_empty() {
            return refused(&state, &posted, errors, typed()).await;
        }
        if let Some(refusal) =
            current_password_refused(&state, &posted, field, current, typed()).await?
        {
            return Ok(refusal);
        }
        let answers = hash_answers(&state, &form.questions).await?;
        let address = &posted.prefs.address;
        state.store.set_security_answers(address, &answers).await?;
        state
            .store
            .audit(Some(address), None, &posted.client, "questions_changed")
            .await?;
        Ok(saved("questions"))
    };
    answer(lang, result.await)
}
