//! Agents' presence: set by hand or following activity, and what it does to the
//! conversations of agents who go away or offline.

use super::*;
use crate::queue;
use crate::sql::ConnExt;
use crate::tx::Tx;
use crate::{Error, Result};
use relais_core::Timestamp;
use relais_core::agent::Presence;
use relais_core::id::{AgentId, ConversationId};
use relais_core::lifecycle::Lifecycle;
use relais_core::step;

/// An agent's presence: going offline returns their open conversations to the queue
/// (if configured); coming online drains their teams' queues.
pub(crate) fn set_presence(
    tx: &mut Tx<'_>,
    agent: AgentId,
    presence: Presence,
    life: &Lifecycle,
    now: Timestamp,
) -> Result<Rerouted> {
    let current = tx
        .agent(agent)?
        .ok_or_else(|| Error::NotFound(format!("agent {agent}")))?;
    tx.c.execute(
        "UPDATE agents SET presence = $1, presence_at = $2 WHERE id = $3",
        &[presence.as_str().into(), now.0.into(), agent.0.into()],
    )?;
    // The decision is the core's; this applies it.
    let moves = step::on_presence(agent, current.presence, presence, life, now);
    if let Some(e) = &moves.event {
        tx.insert_event(None, e)?;
    }
    let mut fx = Effects::default();
    let teams: Vec<Option<String>> = tx.agent_teams(agent)?.into_iter().map(Some).collect();
    if moves.give_back_open {
        let rows = tx.c.query(
            "SELECT id FROM conversations WHERE assignee = $1 AND status = 'open' ORDER BY id",
            &[agent.0.into()],
        )?;
        for r in rows {
            let id = ConversationId(r.int(0)?);
            if let Some((mut conv, _)) = tx.conversation(id, true)? {
                give_back(tx, &mut conv, Some(agent), "offline", life, now, &mut fx)?;
            }
        }
    }
    if let Some((name, due_at, payload)) = &moves.away_timer {
        // Away for too long: each open conversation goes back to the queue then.
        let rows = tx.c.query(
            "SELECT id FROM conversations WHERE assignee = $1 AND status = 'open'",
            &[agent.0.into()],
        )?;
        for r in rows {
            let id = ConversationId(r.int(0)?);
            let lane = tx.lane_of(id)?;
            let t = timer(name, *due_at, payload.clone());
            schedule(tx, id, &lane, t, now, &mut fx)?;
        }
    }
    for t in teams {
        fx.assigned(queue::drain(tx, t.as_deref(), life, now)?);
    }
    Ok(Rerouted { timers: fx.timers })
}

/// Records an agent's activity and returns their presence.
pub(crate) fn touch(tx: &mut Tx<'_>, agent: AgentId, now: Timestamp) -> Result<Presence> {
    let r =
        tx.c.query_opt(
            "UPDATE agents SET last_seen_at = $1 WHERE id = $2 RETURNING presence",
            &[now.0.into(), agent.0.into()],
        )?
        .ok_or_else(|| Error::NotFound(format!("agent {agent}")))?;
    let p = r.text(0)?;
    Presence::parse(&p).ok_or_else(|| Error::Corrupt(format!("unknown presence {p:?}")))
}

/// Online agents whose last activity and last presence change are both before `before`.
pub(crate) fn idle(tx: &mut Tx<'_>, before: Timestamp) -> Result<Vec<AgentId>> {
    tx.c.query(
        "SELECT id FROM agents WHERE presence = 'online' AND disabled = 0 \
         AND COALESCE(last_seen_at, 0) < $1 AND presence_at < $1 ORDER BY id",
        &[before.0.into()],
    )?
    .iter()
    .map(|r| r.int(0).map(AgentId))
    .collect()
}

/// Disables an agent (see `Admin::deactivate_agent`): tokens revoked, offline, and
/// their open conversations back to the queue whatever `[handoff] return_on_offline`
/// says (nobody will come back for them). Pending conversations stay pending: when the
/// customer answers, the assignee cannot take it (offline) and it goes to the queue.
pub(crate) fn deactivate(
    tx: &mut Tx<'_>,
    agent: AgentId,
    by: AgentId,
    life: &Lifecycle,
    now: Timestamp,
) -> Result<Rerouted> {
    let current = tx
        .agent(agent)?
        .ok_or_else(|| Error::NotFound(format!("agent {agent}")))?;
    if current.disabled {
        return Err(Error::Conflict(format!(
            "agent {agent} is already deactivated"
        )));
    }
    if current.role == relais_core::agent::Role::Admin && tx.active_admins()? <= 1 {
        return Err(Error::Conflict(
            "the last active admin cannot be deactivated".into(),
        ));
    }
    tx.set_agent_disabled(agent, true)?;
    let revoked = tx.revoke_tokens_of(agent, now)?;
    let forced = Lifecycle {
        return_on_offline: true,
        ..life.clone()
    };
    let out = set_presence(tx, agent, Presence::Offline, &forced, now)?;
    admin_action(
        tx,
        by,
        now,
        serde_json::json!({ "action": "agent_deactivated", "agent": agent, "tokens_revoked": revoked }),
    )?;
    Ok(out)
}

pub(crate) fn activate(tx: &mut Tx<'_>, agent: AgentId, by: AgentId, now: Timestamp) -> Result<()> {
    if !tx.set_agent_disabled(agent, false)? {
        return Err(Error::NotFound(format!("agent {agent}")));
    }
    admin_action(
        tx,
        by,
        now,
        serde_json::json!({ "action": "agent_activated", "agent": agent }),
    )
}

/// What an admin did, in the same transaction as the change, with who did it.
fn admin_action(
    tx: &mut Tx<'_>,
    by: AgentId,
    now: Timestamp,
    data: serde_json::Value,
) -> Result<()> {
    tx.admin_event(by, now, data)
}
