//! The audit log (SPEC §11): who read which conversation or contact, when and from
//! where, appended by the API and the workspace's pages, and every admin change (the
//! store writes one with each `admin_action` event); `GET /api/v1/audit` (admins)
//! reads it back, as JSON or CSV.

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
            detail: None,
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

/// `id,at,agent,token,action,target,ip,detail`. Targets and details may hold what an
/// admin typed (a team's name): quoted, and a leading `=`, `+`, `-` or `@` defused so
/// that a spreadsheet does not run it.
pub fn csv(entries: &[AccessEntry]) -> String {
    let mut out = String::from("id,at,agent,token,action,target,ip,detail\n");
    for e in entries {
        let at = jiff::Timestamp::from_millisecond(e.at.0)
            .map(|t| t.to_string())
            .unwrap_or_default();
        out.push_str(&format!(
            "{},{at},{},{},{},{},{},{}\n",
            e.id,
            e.agent.0,
            e.token.map(|t| t.to_string()).unwrap_or_default(),
            cell(&e.action),
            cell(&e.target),
            cell(e.ip.as_deref().unwrap_or_default()),
            cell(e.detail.as_deref().unwrap_or_default()),
        ));
    }
    out
}

/// One CSV cell: quoted when it must be, never a formula.
fn cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) {
        format!("'{v}")
    } else {
        v.to_owned()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_never_formulas() {
        assert_eq!(cell("contact:7"), "contact:7");
        assert_eq!(cell(r#"{"a":1,"b":"x"}"#), r#""{""a"":1,""b"":""x""}""#);
        assert_eq!(cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(cell("-1,2"), "\"'-1,2\"");
    }
}
