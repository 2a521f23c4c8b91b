//! The configuration pages (SPEC §9): channels (the webhook address to paste into
//! each provider, which secrets are set — never their values), teams, agents, canned
//! responses, knowledge-base articles, templates and settings. Supervisors read them; only admins change
//! them, through the same checks as the JSON API, each change recorded as an admin
//! event. `relais admin export-workspace` writes the result back to files.
//!
//! `channels` channels (read, and added or changed by admins from a pasted
//! channels.yaml entry); `settings` the user's preferences and the server's settings
//! (lifecycle, SLA, costs: changed by admins, `crate::tunable`); `teams`, `agents`,
//! `canned`, `articles`, `templates` what admins change; this file the routes and what
//! they share.

use super::i18n::Lang;
use super::layout::{Form, Refused, enc, flash, frame, lang, not_found, page, reads_config};
use super::session::Signed;
use crate::html::escape;
use crate::http::AppState;
use crate::http::error::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use relais_core::access;
use relais_core::id::AgentId;
use serde::Deserialize;
use serde_json::json;

mod agents;
mod articles;
mod audit;
mod canned;
mod channels;
mod settings;
mod teams;
mod templates;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/channels",
            get(channels::channels).post(channels::add_channel),
        )
        .route("/channels/{id}/switch", post(channels::switch_channel))
        .route("/channels/{id}/edit", post(channels::edit_channel))
        .route("/teams", get(teams::teams).post(teams::save_team))
        .route("/agents", get(agents::agents).post(agents::invite))
        .route("/agents/{id}", post(agents::change_agent))
        .route("/canned", get(canned::canned).post(canned::save_canned))
        .route("/canned/{id}/delete", post(canned::delete_canned))
        .route(
            "/articles",
            get(articles::articles).post(articles::save_article),
        )
        .route("/articles/{id}/delete", post(articles::delete_article))
        .route(
            "/templates",
            get(templates::templates).post(templates::save_template),
        )
        .route("/templates/{id}/delete", post(templates::delete_template))
        .route(
            "/settings",
            get(settings::settings).post(settings::save_settings),
        )
        .route("/settings/reset", post(settings::reset_settings))
        .route("/audit", get(audit::audit))
        .route("/audit.csv", get(audit::audit_csv))
}

#[derive(Deserialize, Default)]
pub struct Flash {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    done: Option<String>,
    /// What a refused form held, given back to it (a pasted channel entry).
    #[serde(default)]
    draft: Option<String>,
}

/// Whether the agent may change the configuration (admins).
fn writes(who: &Signed) -> bool {
    access::may_configure(who.agent.role)
}

/// A change's form: its CSRF token checked, then that the agent is an admin (the
/// page hid the form from others; the post says no).
fn admin_form(who: &Signed, body: &[u8]) -> Result<Form, Refused> {
    let form = Form::checked(who, body)?;
    if writes(who) {
        Ok(form)
    } else {
        Err(Refused("only admins change the configuration"))
    }
}

/// Back to a page with a line of feedback.
fn back(path: &str, error: Option<&str>, done: Option<&str>) -> Response {
    let q = match (error, done) {
        (Some(e), _) => format!("?error={}", enc(e)),
        (None, Some(d)) => format!("?done={}", enc(d)),
        _ => String::new(),
    };
    Redirect::to(&format!("{path}{q}")).into_response()
}

/// What an API check refused, as the page says it.
fn said(e: ApiError) -> String {
    match e {
        ApiError::BadRequest {
            field: Some(f),
            message,
        } => format!("{f}: {message}"),
        other => other.to_string(),
    }
}

/// Records an admin's change, as the API does.
async fn audit(s: &AppState, who: &Signed, data: serde_json::Value) -> Result<(), Response> {
    let via = who.via();
    crate::http::api::record_admin_action(s, who.agent.id, via, data)
        .await
        .map_err(IntoResponse::into_response)
}

/// After a delete on a page: recorded as the admin's action (`event`), the workspace
/// reloaded when the row is part of it, back to `page` with a line of feedback.
async fn after_delete(
    s: &AppState,
    who: &Signed,
    page: &str,
    outcome: Result<bool, relais_store::Error>,
    event: serde_json::Value,
    reload: bool,
) -> Response {
    let l = lang(who);
    match outcome {
        Ok(true) => {
            if let Err(r) = audit(s, who, event).await {
                return r;
            }
            if reload {
                crate::http::articles::go_live(s).await;
            }
            back(page, None, Some(l.t("Deleted.")))
        }
        Ok(false) => back(page, Some(l.t("Not found")), None),
        Err(e) => crate::web::failed(e),
    }
}

fn section(who: &Signed, active: &str, title: &str, main: String) -> Response {
    page(StatusCode::OK, frame(who, active, title, &main))
}

fn yes_no(l: Lang, b: bool) -> &'static str {
    if b { l.t("yes") } else { l.t("no") }
}

fn role_name(l: Lang, r: relais_core::agent::Role) -> &'static str {
    match r {
        relais_core::agent::Role::Agent => l.t("agent"),
        relais_core::agent::Role::Supervisor => l.t("supervisor"),
        relais_core::agent::Role::Admin => l.t("admin"),
    }
}
