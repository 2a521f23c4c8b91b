//! API tokens: `POST /api/v1/tokens` mints one (scopes only narrow: a token can only
//! give what it holds; an optional `expires_in`), `GET /api/v1/tokens` lists the
//! caller's live tokens (`?all=true`: everyone's, for admins), `DELETE
//! /api/v1/tokens/{id}` revokes one's own, or any for admins.

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, Caller};
use crate::auth::{self, Permission};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use relais_core::Duration;
use relais_store::{Agent, NewToken, TokenInfo};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tokens", post(create_token).get(list_tokens))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
}

/// The longest life a token may be given.
const MAX_LIFE: Duration = Duration::days(366);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    name: String,
    scopes: Vec<String>,
    /// `90d`, `12h`… (at most 366 days); none: until revoked.
    #[serde(default)]
    expires_in: Option<String>,
}

crate::api_body!(TokenRequest => ManageOwnTokens);

async fn create_token(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Permission::ManageOwnTokens)?;
    if req.name.trim().is_empty() || req.name.len() > 100 {
        return Err(ApiError::field("name", "name must be 1 to 100 characters"));
    }
    if req.scopes.is_empty() {
        return Err(ApiError::field("scopes", "give at least one scope"));
    }
    for (i, scope) in req.scopes.iter().enumerate() {
        if !auth::SCOPES.contains(&scope.as_str()) || scope == "*" {
            return Err(ApiError::field(
                format!("scopes[{i}]"),
                format!(
                    "unknown scope {scope:?}; use admin, conversations:read, conversations:write, tokens or events"
                ),
            ));
        }
        if !auth::may_grant(caller.agent.role, &caller.token.scopes, scope) {
            return Err(ApiError::Forbidden(format!(
                "scopes[{i}]: a token can only create tokens with scopes it holds itself \
                 (this one: {:?}, role {}); {scope:?} is not among them",
                caller.token.scopes,
                caller.agent.role.as_str()
            )));
        }
    }
    let now = s.rt.clock.now();
    let mut expires_at = match &req.expires_in {
        None => None,
        Some(text) => {
            let life =
                Duration::parse(text).map_err(|e| ApiError::field("expires_in", e.to_string()))?;
            if life.0 <= 0 || life > MAX_LIFE {
                return Err(ApiError::field(
                    "expires_in",
                    "must be above 0 and at most 366d",
                ));
            }
            Some(now.plus(life))
        }
    };
    // An API token that expires cannot mint one that outlives it (sessions can: that is
    // how an integration's long-lived token is made from the browser).
    if caller.token.kind != "session"
        && let Some(limit) = caller.token.expires_at
    {
        expires_at = Some(expires_at.map_or(limit, |e| e.min(limit)));
    }
    let token = auth::new_token("rat");
    let info = issue_token(&s, &caller.agent, &req.name, req.scopes, &token, expires_at).await?;
    super::api::admin_event(
        &s,
        &caller,
        json!({ "action": "token_created", "token": info.id, "scopes": info.scopes }),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": token, "info": info, "note": "the token is shown once" })),
    ))
}

/// Stores a new API token for `agent` (the caller shows the token once).
pub async fn issue_token(
    s: &AppState,
    agent: &Agent,
    name: &str,
    scopes: Vec<String>,
    token: &str,
    expires_at: Option<relais_core::Timestamp>,
) -> Result<TokenInfo, ApiError> {
    let info =
        s.rt.store
            .create_token(NewToken {
                agent: agent.id,
                name: name.into(),
                hash: auth::token_hash(token),
                scopes,
                kind: "api".into(),
                created_at: s.rt.clock.now(),
                expires_at,
            })
            .await?;
    Ok(info)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    all: bool,
}

async fn list_tokens(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageOwnTokens)?;
    let whose = if q.all {
        caller.require(Permission::ManageAgents)?;
        None
    } else {
        Some(caller.agent.id)
    };
    let tokens = s.rt.store.tokens(whose, s.rt.clock.now()).await?;
    Ok(Json(json!({ "tokens": tokens })))
}

async fn revoke_token(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageOwnTokens)?;
    let now = s.rt.clock.now();
    let done = if auth::allows(
        caller.agent.role,
        &caller.token.scopes,
        Permission::ManageAgents,
    ) {
        s.rt.store.revoke_any_token(id, now).await?
    } else {
        s.rt.store.revoke_token(id, caller.agent.id, now).await?
    };
    if !done {
        return Err(ApiError::NotFound(format!(
            "no live token {id} that you may revoke"
        )));
    }
    super::api::admin_event(
        &s,
        &caller,
        json!({ "action": "token_revoked", "token": id }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
