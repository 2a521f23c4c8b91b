//! The audit log of reads (SPEC §11): who read which conversation or contact, when and
//! from where, appended by the API and the workspace's pages; `GET /api/v1/audit`
//! (admins) reads it back, as JSON or CSV. Admin changes are `admin_action` events.

use super::AppState;
use super::error::ApiError;
use super::extract::Caller;
use crate::auth::Permission;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use relais_core::id::AgentId;
use relais_store::AccessEntry;
use serde::Deserialize;
use std::net::IpAddr;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/audit", get(list))
}

/// Appends one read to the log.
pub async fn record(
    s: &AppState,
    agent: AgentId,
    token: Option<i64>,
    action: &str,
    target: String,
    ip: IpAddr,
) -> Result<(), ApiError> {
    s.rt.store
        .record_access(AccessEntry {
            id: 0,
            at: s.rt.clock.now(),
            agent,
            token,
            action: action.to_owned(),
            target,
            ip: Some(ip.to_string()),
        })
        .await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Entries after this id (the previous page's `next_after`).
    #[serde(default)]
    after: Option<i64>,
    #[serde(default)]
    limit: Option<u32>,
    /// `json` (default) or `csv`.
    #[serde(default)]
    format: Option<String>,
}

/// The log, oldest first, for admins.
async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ManageAgents)?;
    let limit = q.limit.unwrap_or(500).clamp(1, 5000);
    let entries = s.rt.store.access_log(q.after.unwrap_or(0), limit).await?;
    match q.format.as_deref() {
        None | Some("json") => {
            let next = (entries.len() as u32 == limit)
                .then(|| entries.last().map(|e| e.id))
                .flatten();
            Ok(Json(serde_json::json!({ "entries": entries, "next_after": next })).into_response())
        }
        Some("csv") => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"audit.csv\"",
                ),
            ],
            csv(&entries),
        )
            .into_response()),
        Some(other) => Err(ApiError::field(
            "format",
            format!("{other:?} is not one of json, csv"),
        )),
    }
}

/// `id,at,agent,token,action,target,ip`; every value is ours (numbers, fixed words,
/// addresses), none typed by a customer.
pub fn csv(entries: &[AccessEntry]) -> String {
    let mut out = String::from("id,at,agent,token,action,target,ip\n");
    for e in entries {
        let at = jiff::Timestamp::from_millisecond(e.at.0)
            .map(|t| t.to_string())
            .unwrap_or_default();
        out.push_str(&format!(
            "{},{at},{},{},{},{},{}\n",
            e.id,
            e.agent.0,
            e.token.map(|t| t.to_string()).unwrap_or_default(),
            e.action,
            e.target,
            e.ip.as_deref().unwrap_or_default()
        ));
    }
    out
}
