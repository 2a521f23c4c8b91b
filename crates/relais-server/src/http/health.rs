//! Liveness (`/health`), readiness (`/ready`: the database answers and we are not
//! shutting down) and Prometheus `/metrics`.

use super::AppState;
use super::error::ApiError;
use super::extract::Caller;
use crate::auth::Permission;
use crate::guard::MetricsAccess;
use axum::extract::FromRequestParts;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::atomic::Ordering;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
}

async fn ready(State(s): State<AppState>) -> impl IntoResponse {
    if !s.ready.load(Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not ready" })),
        );
    }
    // One indexed read (MAX of a primary key): the database answers, at no cost that
    // grows with the data (a COUNT here made every probe scan the tables).
    match s.rt.store.last_event_id().await {
        Ok(_) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "database unavailable" })),
            )
        }
    }
}

/// Open when `[server] metrics` says so (by default: when listening on loopback only);
/// otherwise an admin's token.
async fn metrics(
    State(s): State<AppState>,
    req: axum::extract::Request,
) -> Result<impl IntoResponse, ApiError> {
    let open = match s.guard.metrics {
        MetricsAccess::Open => true,
        MetricsAccess::Auto => s.loopback,
        MetricsAccess::Token => false,
    };
    if !open {
        let (mut parts, _) = req.into_parts();
        let caller = Caller::from_request_parts(&mut parts, &s).await?;
        caller.require(Permission::ManageFlows)?;
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.rt.metrics.render(),
    ))
}
