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
    // SQLite numbers `$N` parameters in the order they first appear in the text: the
    // viewer (in the select list) comes first, then the clauses, then the limit.
    let mut params: Vec<Val> = Vec::new();
    let viewer = push(&mut params, q.viewer.agent.0.into());
    let clauses = filter(tx, q, &mut params)?;
    let before = push(&mut params, q.before.map_or(i64::MAX, |b| b.0).into());
    let limit = push(&mut params, i64::from(q.limit).into());
    tx.desk_conversations(
        &format!("{clauses} AND v.id < {before}"),
        &limit,
        &viewer,
        &params,
    )
}

/// How many conversations each view holds for the viewer (the views they may open).
pub(crate) fn counts(tx: &mut Tx<'_>, viewer: Viewer) -> Result<Vec<(View, i64)>> {
    let all = access::sees_all(viewer.role);
    let mut out = Vec::new();
    for view in View::ALL {
        if view == View::All && !all {
            continue;
        }
        let mut params: Vec<Val> = Vec::new();
        let clauses = filter(tx, &DeskQuery::view(viewer, view, 0), &mut params)?;
        let sql = format!("SELECT COUNT(*) FROM conversations v WHERE {clauses}");
        let n = tx.c.query_one(&sql, &params)?.int(0)?;
        out.push((view, n));
    }
    Ok(out)
}

/// Records that an agent has read a conversation up to a message (never backwards).
pub(crate) fn mark_read(
    tx: &mut Tx<'_>,
    agent: relais_core::id::AgentId,
    conversation: ConversationId,
    upto: relais_core::id::MessageId,
) -> Result<()> {
    tx.c.execute(
        "INSERT INTO agent_reads (agent_id, conversation_id, message_id) VALUES ($1, $2, $3) \
         ON CONFLICT (agent_id, conversation_id) DO UPDATE SET message_id = excluded.message_id \
         WHERE agent_reads.message_id < excluded.message_id",
        &[agent.0.into(), conversation.0.into(), upto.0.into()],
    )?;
    Ok(())
}

fn push(params: &mut Vec<Val>, v: Val) -> String {
    params.push(v);
    format!("${}", params.len())
}

/// The WHERE clauses of a view and its filters for the viewer, visibility included.
fn filter(tx: &mut Tx<'_>, q: &DeskQuery, params: &mut Vec<Val>) -> Result<String> {
    let me = q.viewer.agent;
    let all = access::sees_all(q.viewer.role);
    if q.view == View::All && !all && q.contact.is_none() {
        return Err(Error::NotFound("the view all".into()));
    }
    let teams = tx.agent_teams(me)?;
    let team_list = |params: &mut Vec<Val>| -> String {
        if teams.is_empty() {
            "NULL".to_owned()
        } else {
            teams
                .iter()
                .map(|t| push(params, Val::Text(t.clone())))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut clauses: Vec<String> = Vec::new();
    match q.view {
        View::Mine => {
            let a = push(params, me.0.into());
            clauses.push(format!(
                "v.assignee = {a} AND v.status IN ('open', 'pending')"
            ));
        }
        View::Unassigned => clauses.push("v.assignee IS NULL AND v.status = 'open'".into()),
        View::MyTeams => {
            let l = team_list(params);
            clauses.push(format!(
                "v.team IN ({l}) AND v.status IN ('open', 'pending')"
            ));
        }
        View::Pending => clauses.push("v.status = 'pending'".into()),
        View::Solved => clauses.push("v.status = 'solved'".into()),
        View::All => clauses.push("1 = 1".into()),
    }
    if !all {
        let a = push(params, me.0.into());
        let l = team_list(params);
        clauses.push(format!(
            "(v.assignee = {a} OR v.team IS NULL OR v.team IN ({l}))"
        ));
        clauses.push("v.status <> 'bot'".into());
    }
    narrow(q, params, &mut clauses);
    Ok(clauses.join(" AND "))
}

/// The clauses of the query's own filters (team, priority, channel, contact, status,
/// words searched), after the view's and visibility's.
fn narrow(q: &DeskQuery, params: &mut Vec<Val>, clauses: &mut Vec<String>) {
    if let Some(t) = &q.team {
        let x = push(params, Val::Text(t.clone()));
        clauses.push(format!("v.team = {x}"));
    }
    if let Some(pr) = &q.priority {
        let x = push(params, Val::Text(pr.clone()));
        clauses.push(format!("v.priority = {x}"));
    }
    if let Some(ch) = &q.channel {
        let x = push(params, Val::Text(ch.clone()));
        clauses.push(format!("v.channel_id = {x}"));
    }
    if let Some(c) = q.contact {
        let x = push(params, c.0.into());
        clauses.push(format!("v.contact_id = {x}"));
    }
    if let Some(st) = q.status {
        let x = push(params, Val::Text(st.as_str().into()));
        clauses.push(format!("v.status = {x}"));
    }
    if let Some(words) = q.search.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
        // LOWER on both sides: SQLite's LIKE folds ASCII case, PostgreSQL's does not.
        let like = push(
            params,
            Val::Text(format!("%{}%", like_escape(&words.to_lowercase()))),
        );
        clauses.push(format!(
            "(EXISTS (SELECT 1 FROM contacts c WHERE c.id = v.contact_id \
               AND (LOWER(COALESCE(c.name, '')) LIKE {like} ESCAPE '\\' \
                 OR LOWER(c.fields) LIKE {like} ESCAPE '\\')) \
             OR LOWER(v.address) LIKE {like} ESCAPE '\\' \
             OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = v.id \
               AND LOWER(m.body) LIKE {like} ESCAPE '\\'))"
        ));
    }
}

/// `%`, `_` and the escape character itself match literally.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
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
    let p = [Val::Int(viewer.agent.0), Val::Int(id.0), Val::Int(1)];
    Ok(tx.desk_conversations("v.id = $2", "$3", "$1", &p)?.pop())
}

/// One conversation for `viewer`, read without a lock (for frequent looks, like the
/// workspace's "who is here" pings); `None` when they may not see it.
pub(crate) fn peek(
    tx: &mut Tx<'_>,
    viewer: Viewer,
    id: ConversationId,
) -> Result<Option<DeskConversation>> {
    if !super::visible_to(tx, viewer, id)? {
        return Ok(None);
    }
    let p = [Val::Int(viewer.agent.0), Val::Int(id.0), Val::Int(1)];
    Ok(tx.desk_conversations("v.id = $2", "$3", "$1", &p)?.pop())
}
