//! Agents' presence: set by hand or following activity, and what it does to the
//! conversations of agents who go away or offline.

use super::*;
use crate::queue;
use crate::sql::ConnExt;
use crate::tx::Tx;
use crate::{Error, Result};
use relais_core::Timestamp;
use relais_core::agent::Presence;
use relais_core::event::{Actor, Event, EventKind};
use relais_core::id::{AgentId, ConversationId};
use relais_core::lifecycle::{Lifecycle, TIMER_AWAY};
use serde_json::json;

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
    if current.presence != presence {
        tx.insert_event(
            None,
            &Event::new(
                EventKind::PresenceChanged,
                Actor::Agent(agent),
                now,
                json!({ "from": current.presence.as_str(), "to": presence.as_str() }),
            ),
        )?;
    }
    let mut fx = Effects::default();
    let teams: Vec<Option<String>> = tx.agent_teams(agent)?.into_iter().map(Some).collect();
    if presence == Presence::Offline && life.return_on_offline {
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
    if presence == Presence::Away
        && current.presence != Presence::Away
        && let Some(limit) = life.away_limit
    {
        // Away for too long: each open conversation goes back to the queue then.
        let rows = tx.c.query(
            "SELECT id FROM conversations WHERE assignee = $1 AND status = 'open'",
            &[agent.0.into()],
        )?;
        for r in rows {
            let id = ConversationId(r.int(0)?);
            let lane = tx.lane_of(id)?;
            schedule(
                tx,
                id,
                &lane,
                timer(
                    TIMER_AWAY,
                    now.plus(limit),
                    json!({ "agent": agent, "since": now }),
                ),
                now,
                &mut fx,
            )?;
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
