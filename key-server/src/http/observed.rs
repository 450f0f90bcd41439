//! The layers every request passes through on its way in, outermost first:
//! the request log, the latency histogram, then the request timeout.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;
use tracing::Level;

/// Wraps `router` in the request log, the metrics and the request timeout.
pub(crate) fn observed(router: Router, request_timeout: Duration) -> Router {
    let log = TraceLayer::new_for_http()
        // The path only: links carry tokens in their query string, and the
        // headers carry the sender's token; neither belongs in a log.
        .make_span_with(|request: &Request| {
            tracing::info_span!(
                "request",
                method = %request.method(),
                path = %request.uri().path(),
            )
        })
        .on_request(())
        .on_response(
            DefaultOnResponse::new()
                .level(Level::INFO)
                .latency_unit(LatencyUnit::Millis),
        )
        .on_failure(
            // A 5xx: the error itself is logged where it happens.
            DefaultOnFailure::new()
                .level(Level::WARN)
                .latency_unit(LatencyUnit::Millis),
        );
    router
        .layer(middleware::from_fn_with_state(
            request_timeout,
            answer_within,
        ))
        .layer(middleware::from_fn(crate::metrics::record_http_request))
        .layer(log)
}

/// Middleware: a request still unanswered after the timeout gets 503 `busy`
/// (the usual cause is a full Argon2id queue), and its handler is dropped.
async fn answer_within(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(seconds = limit.as_secs(), "request timed out");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "30")],
                Json(json!({
                    "error": "busy",
                    "message": "The key server is too busy to answer now. Try again in a minute.",
                })),
            )
                .into_response()
        }
    }
}
