//! `/healthz`: the process answers and the database does.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::AppState;
use crate::Error;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz(State(state): State<AppState>) -> Result<Json<Value>, Error> {
    state.store.ping().await?;
    Ok(Json(json!({ "status": "ok" })))
}
