//! `/healthz` (the process answers) and `/health` (it can do its work: database reachable,
//! schema current). Load balancers use the first for liveness and the second for readiness.

use std::time::Duration;

use app::ssr::AppState;
use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde::Serialize;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Liveness: no dependencies checked.
pub async fn healthz() -> &'static str {
    "ok"
}

#[derive(Debug, Serialize)]
pub struct HealthReport {
    pub status: &'static str,
    pub version: &'static str,
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
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let checks = vec![database(&state).await];
    let healthy = checks.iter().all(|check| check.ok);
    let report = HealthReport {
        status: if healthy { "ok" } else { "unavailable" },
        version: env!("CARGO_PKG_VERSION"),
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

async fn database(state: &AppState) -> Check {
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
            reason: Some(format!("migrations not applied: {:?}", status.pending)),
        },
        Ok(Ok(_)) => Check {
            name,
            ok: true,
            reason: None,
        },
    }
}
