//! The agent views' queries and a conversation opened by an agent, filtered by
//! visibility in SQL.

use super::*;
use crate::sql::Val;
use crate::tx::Tx;
use crate::{Error, Result};
use relais_core::access::{self, ConversationAction};
use relais_core::id::ConversationId;

/// The conversations of a view that `q.viewer` may see, newest first.
pub(crate) fn list(tx: &mut Tx<'_>, q: &DeskQuery) -> Result<Vec<DeskConversation>> {
    let me = q.viewer.agent;
    let all = access::sees_all(q.viewer.role);
    if q.view == View::All && !all {
        return Err(Error::NotFound("the view all".into()));
    }
    let teams = tx.agent_teams(me)?;
    let mut params: Vec<Val> = Vec::new();
    let mut p = |v: Val, params: &mut Vec<Val>| {
        params.push(v);
        format!("${}", params.len())
    };
    let mut clauses: Vec<String> = Vec::new();
    let team_list =
        |params: &mut Vec<Val>, p: &mut dyn FnMut(Val, &mut Vec<Val>) -> String| -> String {
            if teams.is_empty() {
                "NULL".to_owned()
            } else {
                teams
                    .iter()
                    .map(|t| p(Val::Text(t.clone()), params))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
    match q.view {
        View::Mine => {
            let a = p(me.0.into(), &mut params);
            clauses.push(format!(
                "v.assignee = {a} AND v.status IN ('open', 'pending')"
            ));
        }
        View::Unassigned => clauses.push("v.assignee IS NULL AND v.status = 'open'".into()),
        View::MyTeams => {
            let l = team_list(&mut params, &mut p);
            clauses.push(format!(
                "v.team IN ({l}) AND v.status IN ('open', 'pending')"
            ));
        }
        View::Pending => clauses.push("v.status = 'pending'".into()),
        View::Solved => clauses.push("v.status = 'solved'".into()),
        View::All => {}
    }
    if !all {
        let a = p(me.0.into(), &mut params);
        let l = team_list(&mut params, &mut p);
        clauses.push(format!(
            "(v.assignee = {a} OR v.team IS NULL OR v.team IN ({l}))"
        ));
        clauses.push("v.status <> 'bot'".into());
    }
    if let Some(t) = &q.team {
        let x = p(Val::Text(t.clone()), &mut params);
        clauses.push(format!("v.team = {x}"));
    }
    if let Some(pr) = &q.priority {
        let x = p(Val::Text(pr.clone()), &mut params);
        clauses.push(format!("v.priority = {x}"));
    }
    let before = p(q.before.map_or(i64::MAX, |b| b.0).into(), &mut params);
    clauses.push(format!("v.id < {before}"));
    let limit = p(i64::from(q.limit).into(), &mut params);
    tx.desk_conversations(&clauses.join(" AND "), &limit, &params)
}

/// One conversation for `viewer`, or `None` when they may not see it.
pub(crate) fn open(
    tx: &mut Tx<'_>,
    viewer: Viewer,
    id: ConversationId,
) -> Result<Option<DeskConversation>> {
    match load_for(tx, viewer, id, ConversationAction::View) {
        Ok(_) => {}
        Err(Error::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    }
    let p = [Val::Int(id.0), Val::Int(1)];
    Ok(tx.desk_conversations("v.id = $1", "$2", &p)?.pop())
}
