//! The HTTP surface: `/health`, `/ready`, `/metrics`, the REST channel's converse
//! endpoint, and the `/api/v1` agent and admin API. Each module exposes its routes;
//! errors become responses only in [`error`].

pub mod api;
pub mod articles;
pub mod audit;
pub mod contacts;
pub mod converse;
pub mod desk;
pub mod error;
pub mod extract;
pub mod flows;
pub mod health;
pub mod openapi;
pub mod providers;
pub mod reports;
pub mod serve;
pub mod shield;
pub mod stream;
pub mod teams;
pub mod templates;
pub mod tokens;
pub mod totp;
pub mod webchat;
pub mod webhooks;

use crate::runtime::Runtime;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

#[derive(Clone)]
pub struct AppState {
    pub rt: Arc<Runtime>,
    pub max_body_bytes: usize,
    pub max_text_chars: usize,
    /// False while starting and once shutdown begins: `/ready` answers 503.
    pub ready: Arc<AtomicBool>,
    /// Password hashing on a fixed pool of workers.
    pub passwords: crate::auth::password::Passwords,
    pub throttle: Arc<std::sync::Mutex<crate::auth::throttle::Throttle>>,
    pub guard: crate::guard::Guard,
    /// The shared tail of the event log every live stream follows.
    pub live: Arc<crate::runtime::live::Live>,
    /// Whether the listener is on a loopback address (`/metrics` may then be open).
    pub loopback: bool,
    /// The last `/metrics` KPI gauges and when they were computed.
    pub kpi_gauges: Arc<std::sync::Mutex<Option<(i64, String)>>>,
}

pub fn router(state: AppState) -> Router {
    let limit = state.max_body_bytes;
    Router::new()
        .merge(health::routes())
        .merge(converse::routes())
        .merge(api::routes())
        .merge(tokens::routes())
        .merge(totp::routes())
        .merge(flows::routes())
        .merge(desk::routes())
        .merge(teams::routes())
        .merge(articles::routes())
        .merge(templates::routes())
        .merge(stream::routes())
        .merge(openapi::routes())
        .merge(webhooks::routes())
        .merge(providers::routes())
        .merge(contacts::routes())
        .merge(reports::routes())
        .merge(audit::routes())
        .merge(webchat::routes())
        .merge(crate::web::routes())
        .fallback(|| async { error::ApiError::NotFound("no such route".into()) })
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(shield::shield))
        .with_state(state)
}
