//! `POST /api/v1/password/check`: which rules a password breaks, for the
//! forms' live check (`password-check.js`). Nothing is stored or counted.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

use super::AppState;
use crate::policy::Person;
use crate::store::LinkPurpose;
use crate::Error;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct CheckRequest {
    password: Zeroizing<String>,
    email: String,
    first_name: String,
    last_name: String,
    /// On the reset page: whose password it is comes from the link.
    token: String,
}

pub(super) async fn password_check(
    State(state): State<AppState>,
    Json(request): Json<CheckRequest>,
) -> Result<Response, Error> {
    if request.password.len() > 1024 {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": "password too long" })),
        )
            .into_response());
    }
    let profile = if request.token.is_empty() {
        None
    } else {
        match state
            .store
            .link_address(&request.token, LinkPurpose::Reset)
            .await?
        {
            Some(address) => state.store.profile(&address).await?,
            None => None,
        }
    };
    let person = match &profile {
        Some(p) => Person {
            email: &p.address,
            first_name: &p.first_name,
            last_name: &p.last_name,
        },
        None => Person {
            email: &request.email,
            first_name: &request.first_name,
            last_name: &request.last_name,
        },
    };
    let broken: Vec<&str> = state
        .settings
        .policy
        .check(&request.password, &person)
        .iter()
        .map(|v| v.rule)
        .collect();
    Ok(Json(json!({ "broken": broken })).into_response())
}
