//! HTTP: one `AppState`, one router, one error-to-response mapping.

mod health;
mod messages;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;

use crate::{Config, Error, MasterKey, Store};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// The master key.
    pub master_key: Arc<MasterKey>,
}

/// The whole application, for `serve` and for tests.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(messages::router())
        // Requests are small JSON documents; anything larger is refused before it is read.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(64 * 1024))
        .with_state(state)
}

/// Opens the store and the master key from `config`, binds, and serves until
/// Ctrl-C or SIGTERM. `ready` gets the bound address (port 0 picks one).
pub async fn serve(config: &Config, ready: impl FnOnce(std::net::SocketAddr)) -> Result<(), Error> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        Error::Config(format!(
            "cannot create the data directory {}: {e}",
            config.data_dir.display()
        ))
    })?;
    let master_key = Arc::new(MasterKey::load_or_create(&config.master_key_file())?);
    let store = Store::connect(&config.database_url()).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", config.listen)))?;
    ready(listener.local_addr()?);
    axum::serve(listener, app(AppState { store, master_key }))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            Error::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "a valid sender token is required".to_string(),
            ),
            Error::Unprocessable(why) => (StatusCode::UNPROCESSABLE_ENTITY, why.clone()),
            Error::Conflict(why) => (StatusCode::CONFLICT, why.clone()),
            _ => {
                // Logged once here; the client learns nothing about the internals.
                tracing::error!(error = %self, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_string(),
                )
            }
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}
