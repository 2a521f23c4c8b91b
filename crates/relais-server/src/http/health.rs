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
    let mut text = s.rt.metrics.render();
    text.push_str(&kpi_gauges(&s).await);
    text.push_str(&understanding_gauges(&s));
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}

/// What language understanding holds in memory (0 when the workspace needs no model).
fn understanding_gauges(s: &AppState) -> String {
    let (heap, table) =
        s.rt.flows
            .as_ref()
            .and_then(|f| f.loaded().understanding.as_ref().map(|u| u.memory()))
            .unwrap_or((0, 0));
    format!(
        "# HELP relais_nlu_heap_bytes Language understanding on the heap: the encoder's layers and tokenizer, the intent classifier, the knowledge base.\n\
         # TYPE relais_nlu_heap_bytes gauge\nrelais_nlu_heap_bytes {heap}\n\
         # HELP relais_nlu_table_bytes The encoder's embedding table, read from the binary as needed (resident only where read).\n\
         # TYPE relais_nlu_table_bytes gauge\nrelais_nlu_table_bytes {table}\n"
    )
}

/// The headline KPIs of the last 24 hours (`docs/kpis.md`), computed from the event log
/// at most once a minute (scrapes in between get the same figures).
async fn kpi_gauges(s: &AppState) -> String {
    const EVERY_MS: i64 = 60_000;
    let now = s.rt.clock.now().0;
    if let Some((at, text)) = s
        .kpi_gauges
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        && now - at < EVERY_MS
    {
        return text.clone();
    }
    // `[now - 24 h, now]`: what started this very millisecond counts too.
    let to = jiff::Timestamp::from_millisecond(now + 1)
        .map(|t| t.to_string())
        .ok();
    let from = jiff::Timestamp::from_millisecond(now + 1 - 86_400_000)
        .map(|t| t.to_string())
        .ok();
    let params = super::reports::ReportParams {
        from,
        to,
        ..Default::default()
    };
    let Ok(r) = super::reports::report(s, &params).await else {
        return String::new();
    };
    let sm = &r.summary;
    let mut text = String::new();
    let mut gauge = |name: &str, help: &str, v: Option<f64>| {
        if let Some(v) = v {
            text.push_str(&format!(
                "# HELP {name} {help} (last 24 h)\n# TYPE {name} gauge\n{name} {v}\n"
            ));
        }
    };
    gauge(
        "relais_kpi_conversations",
        "Conversations started",
        Some(sm.conversations as f64),
    );
    gauge(
        "relais_kpi_deflection_rate",
        "Conversations solved without a human / all",
        sm.deflection_rate,
    );
    gauge(
        "relais_kpi_escalation_rate",
        "Conversations handed to agents / all",
        sm.escalation_rate,
    );
    gauge(
        "relais_kpi_first_response_p50_seconds",
        "Median first response time of agents",
        sm.first_response_time.p50_s,
    );
    gauge(
        "relais_kpi_resolution_p50_seconds",
        "Median resolution time",
        sm.resolution_time.p50_s,
    );
    gauge(
        "relais_kpi_csat_average",
        "Average CSAT score",
        sm.csat.average,
    );
    gauge(
        "relais_kpi_sla_breaches",
        "Escalated conversations answered later than their target",
        Some(sm.sla_breaches as f64),
    );
    *s.kpi_gauges.lock().unwrap_or_else(|p| p.into_inner()) = Some((now, text.clone()));
    text
}
