//! `/healthz` (the process answers) and `/health` (it can do its work: database reachable,
//! schema current). Load balancers use the first for liveness and the second for readiness.
//! The version and the names of pending migrations are shown only to the operator
//! (`Authorization: Bearer <METRICS_TOKEN>`).

use std::time::Duration;

use app::ssr::AppState;
use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
};
use secrecy::SecretString;
use serde::Serialize;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Liveness: no dependencies checked.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The readiness endpoint's state.
#[derive(Clone)]
pub struct HealthEndpoint {
    pub app: AppState,
    /// `METRICS_TOKEN`; without it nobody sees the details.
    pub token: Option<SecretString>,
}

#[derive(Debug, Serialize)]
pub struct HealthReport {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<&'static str>,
    pub checks: Vec<Check>,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Readiness: 200 when every check passes, 503 with the failing checks' reasons otherwise.
pub async fn health(
    State(endpoint): State<HealthEndpoint>,
    headers: HeaderMap,
) -> impl IntoResponse {
    let is_operator = endpoint
        .token
        .as_ref()
        .is_some_and(|token| crate::metrics::bearer_matches(&headers, token));
    let checks = vec![database(&endpoint.app, is_operator).await];
    let healthy = checks.iter().all(|check| check.ok);
    let report = HealthReport {
        status: if healthy { "ok" } else { "unavailable" },
        version: is_operator.then_some(env!("CARGO_PKG_VERSION")),
        checks,
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(report),
    )
}

async fn database(state: &AppState, is_operator: bool) -> Check {
    let name = "database";
    let status = tokio::time::timeout(
        CHECK_TIMEOUT,
        studio_core::db::migration_status(&state.pool),
    )
    .await;
    match status {
        Err(_) => Check {
            name,
            ok: false,
            reason: Some("the database did not answer within 2 s".into()),
        },
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "health check: database unreachable");
            Check {
                name,
                ok: false,
                reason: Some("the database is unreachable".into()),
            }
        }
        Ok(Ok(status)) if !status.is_current() => Check {
            name,
            ok: false,
            reason: Some(if is_operator {
                format!("migrations not applied: {:?}", status.pending)
            } else {
                "migrations not applied".to_owned()
            }),
        },
        Ok(Ok(_)) => Check {
            name,
            ok: true,
            reason: None,
        },
    }
}
