//! Teams (members, strategy, capacity, hours, holidays), an agent's teams, and canned
//! responses (SPEC §5, §9): read by every agent, changed by admins.

use super::AppState;
use super::desk::text_field;
use super::error::ApiError;
use super::extract::{ApiJson, Caller, language_code, slug};
use crate::auth::Permission;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use relais_core::id::AgentId;
use relais_core::routing::Strategy;
use relais_store::TeamSpec;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/teams", get(teams).post(upsert_team))
        .route("/api/v1/agents/{id}/teams", put(agent_teams))
        .route("/api/v1/canned", get(canned).post(create_canned))
        .route(
            "/api/v1/canned/{id}",
            put(update_canned).delete(delete_canned),
        )
}

async fn teams(State(s): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    Ok(Json(json!({ "teams": s.rt.store.teams().await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TeamRequest {
    pub id: String,
    pub name: String,
    pub assignment: String,
    #[serde(default)]
    pub capacity: Option<i64>,
    /// As in teams.yaml: `{"tz": "Europe/Paris", "mon-fri": "09:00-18:00"}`.
    #[serde(default)]
    pub hours: Option<Value>,
    /// Local dates, `YYYY-MM-DD`.
    #[serde(default)]
    pub holidays: Vec<String>,
}

async fn upsert_team(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(r): ApiJson<TeamRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Permission::ManageTeams)?;
    let team = save_team(&s, r).await?;
    Ok((StatusCode::CREATED, Json(json!({ "team": team }))))
}

/// Checks a team (as teams.yaml would) and saves it; the workspace reloads so flows
/// see it. Also the workspace page's.
pub(crate) async fn save_team(s: &AppState, r: TeamRequest) -> Result<TeamSpec, ApiError> {
    if r.name.trim().is_empty() || r.name.len() > 100 {
        return Err(ApiError::field("name", "must be 1 to 100 characters"));
    }
    slug("id", &r.id, 64)?;
    if Strategy::parse(&r.assignment).is_none() {
        return Err(ApiError::field(
            "assignment",
            format!(
                "{:?} is not one of round_robin, least_busy, manual",
                r.assignment
            ),
        ));
    }
    let capacity = r.capacity.unwrap_or(5);
    if !(1..=1000).contains(&capacity) {
        return Err(ApiError::field("capacity", "must be between 1 and 1000"));
    }
    relais_flow::workspace::team_from_json(
        &r.id,
        &r.name,
        &r.assignment,
        u32::try_from(capacity).unwrap_or(0),
        r.hours.as_ref(),
        &r.holidays,
    )
    .map_err(|e| ApiError::field("hours", e))?;
    let team = TeamSpec {
        id: r.id,
        name: r.name,
        assignment: r.assignment,
        capacity,
        hours: r.hours,
        holidays: r.holidays,
    };
    s.rt.store
        .upsert_team(team.clone(), s.rt.clock.now())
        .await?;
    // Flows and `business_hours()` see the team (and its hours) from the next load.
    if s.rt.home.is_some() {
        match s.rt.reload().await {
            Ok(_) => s.rt.announce_change(s.rt.clock.now()).await,
            Err(e) => {
                tracing::warn!(error = %e, "the team is saved; the workspace could not be reloaded");
            }
        }
    }
    Ok(team)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentTeamsRequest {
    teams: Vec<String>,
}

async fn agent_teams(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<AgentTeamsRequest>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageTeams)?;
    s.rt.store
        .set_agent_teams(AgentId(id), r.teams.clone())
        .await
        .map_err(|e| match e {
            // A missing team is a fault of the body; a missing agent, of the path.
            relais_store::Error::NotFound(what) if what.starts_with("team ") => {
                ApiError::field("teams", format!("{what} does not exist"))
            }
            other => other.into(),
        })?;
    Ok(Json(json!({ "agent": id, "teams": r.teams })))
}

async fn canned(State(s): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    Ok(Json(json!({ "canned": s.rt.store.canned().await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CannedRequest {
    pub shortcut: String,
    pub title: String,
    pub body: String,
    /// A language code (`fr`); none: every language.
    #[serde(default)]
    pub language: Option<String>,
}

pub(crate) fn canned_fields(r: CannedRequest) -> Result<relais_store::Canned, ApiError> {
    slug("shortcut", &r.shortcut, 40)?;
    let language = r
        .language
        .as_deref()
        .map(|l| language_code("language", l))
        .transpose()?;
    Ok(relais_store::Canned {
        id: 0,
        shortcut: r.shortcut,
        title: text_field("title", &r.title)?,
        body: text_field("body", &r.body)?,
        language,
    })
}

async fn create_canned(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(r): ApiJson<CannedRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Permission::ManageTeams)?;
    let c =
        s.rt.store
            .save_canned(None, canned_fields(r)?, s.rt.clock.now())
            .await?;
    Ok((StatusCode::CREATED, Json(json!({ "canned": c }))))
}

async fn update_canned(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<CannedRequest>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageTeams)?;
    let c =
        s.rt.store
            .save_canned(Some(id), canned_fields(r)?, s.rt.clock.now())
            .await?;
    Ok(Json(json!({ "canned": c })))
}

async fn delete_canned(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageTeams)?;
    if s.rt.store.delete_canned(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "canned response {id} not found"
        )))
    }
}

crate::api_body!(TeamRequest => ManageTeams);
crate::api_body!(AgentTeamsRequest => ManageTeams);
crate::api_body!(CannedRequest => ManageTeams);
