//! Prometheus metrics: HTTP requests by route, job outcomes (recorded by the runner) and the
//! queue depth, read from the database at scrape time.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, OnceLock},
    time::Instant,
};

use app::ssr::AppState;
use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use secrecy::{ExposeSecret, SecretString};

/// Latency buckets in seconds: 1 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the global recorder (once per process) and returns the handle that renders it.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)?
        .install_recorder()?;
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// Counts and times every request under its route pattern (never the raw path, which would
/// put user data and unbounded cardinality into labels).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The scrape endpoint state: the handle plus the optional bearer token.
#[derive(Clone)]
pub struct MetricsEndpoint {
    pub handle: PrometheusHandle,
    pub token: Option<SecretString>,
    pub app: AppState,
    /// Every (kind, status) reported so far, so one that empties reads 0, not its last value.
    pub reported: Arc<Mutex<HashSet<(String, String)>>>,
}

/// Whether the request carries `Authorization: Bearer <token>`. The comparison does not stop
/// at the first differing byte, so its time says nothing about the token.
pub fn bearer_matches(headers: &HeaderMap, token: &SecretString) -> bool {
    let Some(presented) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    else {
        return false;
    };
    let expected = token.expose_secret().as_bytes();
    presented.len() == expected.len()
        && presented
            .bytes()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// `GET /metrics` in the Prometheus text format.
pub async fn render(State(endpoint): State<MetricsEndpoint>, headers: HeaderMap) -> Response {
    if let Some(token) = &endpoint.token
        && !bearer_matches(&headers, token)
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match studio_core::db::jobs::counts(&endpoint.app.pool).await {
        Ok(counts) => {
            let mut reported = endpoint
                .reported
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            for (kind, status) in reported.iter() {
                metrics::gauge!("jobs_queue_depth", "kind" => kind.clone(), "status" => status.clone())
                    .set(0.0);
            }
            for count in counts {
                metrics::gauge!("jobs_queue_depth", "kind" => count.kind.clone(), "status" => count.status.clone())
                    .set(count.count as f64);
                reported.insert((count.kind, count.status));
            }
            metrics::gauge!("jobs_queue_up").set(1.0);
        }
        Err(err) => {
            tracing::warn!(error = %err, "metrics: could not count jobs");
            metrics::gauge!("jobs_queue_up").set(0.0);
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        endpoint.handle.render(),
    )
        .into_response()
}
