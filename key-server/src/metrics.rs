//! What operators scrape: `/metrics` in the Prometheus text format.
//!
//! The handlers count with the `metrics` crate's macros (key releases by
//! outcome, lockouts, the Argon2id queue, the mail queue); this module installs
//! the recorder those macros report to, measures every HTTP request, and serves
//! the result on its own address (`metrics_listen`), never on the public port:
//! the figures describe the service's load and are nobody else's business.
//! Without `metrics_listen` no recorder is installed and the macros cost
//! next to nothing.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::Error;

/// Latency of every HTTP request, by method, route (the matched pattern,
/// never the raw URI) and status.
pub(crate) const HTTP_REQUEST_SECONDS: &str = "securedoc_http_request_duration_seconds";

/// Histogram buckets for every `*_seconds` metric: from a health check to a
/// key release that waited in the Argon2id queue.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The process's recorder, installed on first use. Installed inside
/// `get_or_init`, so two servers starting at once in one process (tests)
/// cannot both try: the second would find a recorder already set and fail.
fn recorder() -> Result<PrometheusHandle, Error> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .and_then(PrometheusBuilder::install_recorder)
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| Error::Config(format!("cannot start the metrics exporter: {e}")))
}

/// Installs the recorder and serves `/metrics` on `listen` in the background;
/// returns the bound address (port 0 picks one).
pub(crate) async fn serve_metrics(
    listen: SocketAddr,
    limits: crate::http::ConnectionLimits,
) -> Result<SocketAddr, Error> {
    let handle = recorder()?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Error::Config(format!("cannot serve metrics on {listen}: {e}")))?;
    let bound = listener.local_addr()?;
    // Histograms keep raw samples until upkeep folds them into buckets.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let text = handle.render();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    text,
                )
            }
        }),
    );
    tokio::spawn(crate::http::serve_connections(
        listener,
        app,
        limits,
        std::future::pending(),
    ));
    Ok(bound)
}

/// `/metrics` on `listen` for another securedoc process (the mail hook),
/// with the key server's connection limits; returns the bound address.
pub async fn serve_metrics_for(listen: SocketAddr) -> Result<SocketAddr, Error> {
    let limits = crate::http::ConnectionLimits {
        header: Duration::from_secs(10),
        idle: Duration::from_secs(60),
    };
    serve_metrics(listen, limits).await
}

/// Middleware: times each request into [`HTTP_REQUEST_SECONDS`].
pub(crate) async fn record_http_request(request: Request, next: Next) -> Response {
    // Labels take only bounded values: a client choosing a method or a path
    // must not be able to make the exporter grow without limit.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string());
    let method = match *request.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        _ => "other",
    };
    let started = Instant::now();
    let response = next.run(request).await;
    metrics::histogram!(
        HTTP_REQUEST_SECONDS,
        "method" => method,
        "route" => route,
        "status" => response.status().as_u16().to_string(),
    )
    .record(started.elapsed().as_secs_f64());
    response
}
