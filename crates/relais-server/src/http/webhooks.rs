//! Admin API of outgoing notifications: Slack, Microsoft Teams and generic signed
//! webhooks, and their deliveries (the dead-letter list and its replay).

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, Caller};
use crate::auth::{self, Permission};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use relais_store::{NewWebhook, WEBHOOK_EVENTS};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/webhooks", get(list).post(create))
        .route("/api/v1/webhooks/{id}", delete(remove))
        .route("/api/v1/webhooks/deliveries", get(deliveries))
        .route("/api/v1/webhooks/deliveries/{id}/replay", post(replay))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookRequest {
    kind: String,
    url: String,
    events: Vec<String>,
}

async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(r): ApiJson<WebhookRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Permission::ManageTeams)?;
    if !["slack", "teams", "generic"].contains(&r.kind.as_str()) {
        return Err(ApiError::field(
            "kind",
            format!("{:?} is not one of slack, teams, generic", r.kind),
        ));
    }
    match url::Url::parse(&r.url) {
        Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {}
        _ => return Err(ApiError::field("url", "must be an http(s) URL")),
    }
    if r.events.is_empty() {
        return Err(ApiError::field("events", "name at least one event"));
    }
    if let Some(bad) = r
        .events
        .iter()
        .find(|e| !WEBHOOK_EVENTS.contains(&e.as_str()))
    {
        return Err(ApiError::field(
            "events",
            format!("{bad:?} is not one of {}", WEBHOOK_EVENTS.join(", ")),
        ));
    }
    let secret = (r.kind == "generic").then(|| auth::new_token("rwh"));
    let hook =
        s.rt.store
            .create_webhook(NewWebhook {
                kind: r.kind,
                url: r.url,
                secret: secret.clone(),
                events: r.events,
                created_at: s.rt.clock.now(),
            })
            .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "webhook": hook, "secret": secret, "note": "the secret is shown once" })),
    ))
}

async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageTeams)?;
    Ok(Json(json!({ "webhooks": s.rt.store.webhooks().await? })))
}

async fn remove(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageTeams)?;
    if s.rt.store.delete_webhook(id, s.rt.clock.now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("webhook {id} not found")))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveriesQuery {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
}

async fn deliveries(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<DeliveriesQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageTeams)?;
    if let Some(st) = &q.state
        && !["queued", "delivered", "dead"].contains(&st.as_str())
    {
        return Err(ApiError::field(
            "state",
            format!("{st:?} is not one of queued, delivered, dead"),
        ));
    }
    let list =
        s.rt.store
            .deliveries(q.state, q.limit.unwrap_or(100).clamp(1, 1000))
            .await?;
    Ok(Json(json!({ "deliveries": list })))
}

async fn replay(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageTeams)?;
    let d = s.rt.store.replay_delivery(id, s.rt.clock.now()).await?;
    s.rt.poke_feed();
    Ok(Json(json!({ "delivery": d })))
}

crate::api_body!(WebhookRequest => ManageTeams);
