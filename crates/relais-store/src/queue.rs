//! Queues and assignment inside a transaction: a handed-off conversation waits in its
//! team's queue (or the shared one) until the team's strategy gives it to an online
//! agent with room. The choice itself is `relais_core::routing`; this module reads
//! the rows it needs and writes the outcome. A claim is a conditional `UPDATE … WHERE
//! assignee IS NULL`, so a conversation is assigned once however many claims race.

use crate::model::Lane;
use crate::sql::ConnExt;
use crate::tx::Tx;
use crate::{Error, Result};
use relais_core::Timestamp;
use relais_core::agent::Presence;
use relais_core::conversation::Priority;
use relais_core::decision::{QueueInfo, QueueProbe, TimerRequest};
use relais_core::event::{Actor, Event, EventKind};
use relais_core::id::{AgentId, ConversationId};
use relais_core::lifecycle::{Lifecycle, TIMER_RETURN};
use relais_core::routing::{self, Candidate, Strategy, Waiting};
use serde_json::json;
use std::cell::RefCell;

/// How many recent handling times the wait estimate looks at.
const RECENT: i64 = 20;

/// A team as assignment sees it.
#[derive(Debug, Clone)]
pub(crate) struct TeamRow {
    pub strategy: Strategy,
    pub capacity: u32,
}

impl Tx<'_> {
    pub(crate) fn team_row(&mut self, team: &str) -> Result<Option<TeamRow>> {
        let r = self.c.query_opt(
            "SELECT assignment, capacity FROM teams WHERE id = $1",
            &[team.into()],
        )?;
        r.map(|r| {
            let s = r.text(0)?;
            Ok(TeamRow {
                strategy: Strategy::parse(&s)
                    .ok_or_else(|| Error::Corrupt(format!("unknown assignment {s:?}")))?,
                capacity: u32::try_from(r.int(1)?).unwrap_or(0),
            })
        })
        .transpose()
    }

    /// The members of `team` with their presence, room and last assignment. Each
    /// agent row is locked (PostgreSQL) so two nodes cannot both fill the last slot.
    pub(crate) fn candidates(&mut self, team: &str, team_capacity: u32) -> Result<Vec<Candidate>> {
        let rows = self.c.query(
            &format!(
                "SELECT a.id, a.presence, a.capacity, a.last_assigned_at, \
                 (SELECT COUNT(*) FROM conversations v WHERE v.assignee = a.id AND v.status IN ('open', 'pending')) \
                 FROM agents a JOIN team_members m ON m.agent_id = a.id \
                 WHERE m.team_id = $1 AND a.disabled = 0 ORDER BY m.agent_id{}",
                self.c.dialect().for_update_of("a")
            ),
            &[team.into()],
        )?;
        rows.iter()
            .map(|r| {
                let p = r.text(1)?;
                Ok(Candidate {
                    agent: AgentId(r.int(0)?),
                    presence: Presence::parse(&p)
                        .ok_or_else(|| Error::Corrupt(format!("unknown presence {p:?}")))?,
                    capacity: team_capacity.min(u32::try_from(r.int(2)?).unwrap_or(0)),
                    load: u32::try_from(r.int(4)?).unwrap_or(u32::MAX),
                    last_assigned: r.opt_int(3)?.map(Timestamp),
                })
            })
            .collect()
    }

    /// The first `limit` conversations waiting (open, unassigned) in `team`'s queue
    /// (`None`: shared), in drain order: a range of the queue index, never the whole
    /// queue.
    pub(crate) fn next_waiting(&mut self, team: Option<&str>, limit: u32) -> Result<Vec<Waiting>> {
        const COLS: &str = "SELECT id, priority, queued_at FROM conversations \
             WHERE status = 'open' AND assignee IS NULL AND queued_at IS NOT NULL";
        const ORDER: &str = "ORDER BY queue_rank, queued_at, id LIMIT";
        let rows = match team {
            Some(t) => self.c.query(
                &format!("{COLS} AND team = $1 {ORDER} $2"),
                &[t.into(), i64::from(limit).into()],
            )?,
            None => self.c.query(
                &format!("{COLS} AND team IS NULL {ORDER} $1"),
                &[i64::from(limit).into()],
            )?,
        };
        rows.iter()
            .map(|r| {
                let p = r.text(1)?;
                Ok(Waiting {
                    conversation: ConversationId(r.int(0)?),
                    priority: Priority::parse(&p)
                        .ok_or_else(|| Error::Corrupt(format!("unknown priority {p:?}")))?,
                    queued_at: Timestamp(r.int(2)?),
                })
            })
            .collect()
    }

    /// How many conversations wait in `team`'s queue, per `routing::queue_rank` (urgent
    /// first), from the `queue_depth` aggregate the triggers keep.
    fn depth(&mut self, team: Option<&str>) -> Result<[u64; 4]> {
        let rows = self.c.query(
            "SELECT queue_rank, waiting FROM queue_depth WHERE team = $1",
            &[team.unwrap_or("").into()],
        )?;
        let mut out = [0u64; 4];
        for r in &rows {
            if let Some(slot) = usize::try_from(r.int(0)?).ok().and_then(|i| out.get_mut(i)) {
                *slot = u64::try_from(r.int(1)?).unwrap_or(0);
            }
        }
        Ok(out)
    }

    /// Conversations of `rank` in `team`'s queue that arrived after `at`: the ones a
    /// newcomer at `at` does not wait behind. A range of the queue index, empty unless
    /// clocks disagree.
    fn arrived_after(&mut self, team: Option<&str>, rank: u8, at: Timestamp) -> Result<u64> {
        const COUNT: &str = "SELECT COUNT(*) FROM conversations \
             WHERE status = 'open' AND assignee IS NULL AND queued_at IS NOT NULL";
        let r = match team {
            Some(t) => self.c.query_one(
                &format!("{COUNT} AND team = $1 AND queue_rank = $2 AND queued_at > $3"),
                &[t.into(), i64::from(rank).into(), at.0.into()],
            )?,
            None => self.c.query_one(
                &format!("{COUNT} AND team IS NULL AND queue_rank = $1 AND queued_at > $2"),
                &[i64::from(rank).into(), at.0.into()],
            )?,
        };
        Ok(u64::try_from(r.int(0)?).unwrap_or(0))
    }

    /// Handling times (assignment to solve) of the team's latest solved conversations:
    /// the newest entries of the `conversations_handled` index.
    fn recent_handling(&mut self, team: Option<&str>) -> Result<Vec<relais_core::Duration>> {
        const SELECT: &str = "SELECT solved_at - assigned_at FROM conversations \
             WHERE resolved_by = 'agent' AND solved_at IS NOT NULL AND assigned_at IS NOT NULL";
        let rows = match team {
            Some(t) => self.c.query(
                &format!("{SELECT} AND team = $1 ORDER BY solved_at DESC LIMIT $2"),
                &[t.into(), RECENT.into()],
            )?,
            None => self.c.query(
                &format!("{SELECT} AND team IS NULL ORDER BY solved_at DESC LIMIT $1"),
                &[RECENT.into()],
            )?,
        };
        rows.iter()
            .map(|r| r.int(0).map(relais_core::Duration))
            .collect()
    }

    /// Puts a conversation in its queue (keeping its place if it was queued before).
    pub(crate) fn enqueue(&mut self, id: ConversationId, now: Timestamp) -> Result<()> {
        self.c.execute(
            "UPDATE conversations SET assignee = NULL, assigned_at = NULL, \
             queued_at = COALESCE(queued_at, $1) WHERE id = $2",
            &[now.0.into(), id.0.into()],
        )?;
        Ok(())
    }

    /// Puts a conversation at the back of its queue as a new arrival (a transfer, a
    /// reopen).
    pub(crate) fn enqueue_anew(&mut self, id: ConversationId, now: Timestamp) -> Result<()> {
        self.c.execute(
            "UPDATE conversations SET assignee = NULL, assigned_at = NULL, queued_at = $1 WHERE id = $2",
            &[now.0.into(), id.0.into()],
        )?;
        Ok(())
    }

    /// The claim: `true` only for the one caller that assigns an unassigned conversation.
    pub(crate) fn claim(
        &mut self,
        id: ConversationId,
        agent: AgentId,
        now: Timestamp,
    ) -> Result<bool> {
        let n = self.c.execute(
            "UPDATE conversations SET assignee = $1, assigned_at = $2, last_assignee = $1 \
             WHERE id = $3 AND assignee IS NULL AND status IN ('open', 'pending')",
            &[agent.0.into(), now.0.into(), id.0.into()],
        )?;
        if n == 1 {
            self.c.execute(
                "UPDATE agents SET last_assigned_at = $1 WHERE id = $2",
                &[now.0.into(), agent.0.into()],
            )?;
        }
        Ok(n == 1)
    }

    pub(crate) fn lane_of(&mut self, id: ConversationId) -> Result<Lane> {
        let r = self
            .c
            .query_opt(
                "SELECT channel_id, address FROM conversations WHERE id = $1",
                &[id.0.into()],
            )?
            .ok_or_else(|| Error::NotFound(format!("conversation {id}")))?;
        Ok(Lane {
            channel: relais_core::id::ChannelId(r.text(0)?),
            address: r.text(1)?,
        })
    }
}

/// What an assignment did, for the caller's timers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Assigned {
    pub conversation: ConversationId,
    pub agent: AgentId,
    pub timer: Option<crate::model::ScheduledTimer>,
}

/// Records an assignment made by `actor`: the event, and the return timer that gives
/// the conversation back to the queue if the agent does not answer in time.
pub(crate) fn record_assignment(
    tx: &mut Tx<'_>,
    id: ConversationId,
    agent: AgentId,
    actor: Actor,
    life: &Lifecycle,
    now: Timestamp,
) -> Result<Assigned> {
    tx.insert_event(
        Some(id),
        &Event::new(EventKind::Assigned, actor, now, json!({ "agent": agent })),
    )?;
    tx.cancel_timers(id, TIMER_RETURN, now)?;
    let timer = match life.return_after {
        Some(after) => {
            let lane = tx.lane_of(id)?;
            let t = TimerRequest {
                name: TIMER_RETURN.into(),
                due_at: now.plus(after),
                payload: json!({ "agent": agent }),
            };
            let timer = tx.insert_timer(id, &lane, &t, now)?;
            Some(crate::model::ScheduledTimer {
                id: timer,
                due_at: t.due_at,
                lane,
            })
        }
        None => None,
    };
    Ok(Assigned {
        conversation: id,
        agent,
        timer,
    })
}

/// Gives waiting conversations of `team` to its online agents with room, in drain
/// order, until the queue is empty or nobody has room. The shared queue is manual.
pub(crate) fn drain(
    tx: &mut Tx<'_>,
    team: Option<&str>,
    life: &Lifecycle,
    now: Timestamp,
) -> Result<Vec<Assigned>> {
    let Some(team) = team else {
        return Ok(Vec::new());
    };
    let Some(row) = tx.team_row(team)? else {
        return Ok(Vec::new());
    };
    if row.strategy == Strategy::Manual {
        return Ok(Vec::new());
    }
    let mut agents = tx.candidates(team, row.capacity)?;
    // Only as many waiting conversations as there are free seats are read.
    let room: u32 = agents
        .iter()
        .filter(|c| c.has_room())
        .map(|c| c.capacity - c.load)
        .fold(0, u32::saturating_add);
    if room == 0 {
        return Ok(Vec::new());
    }
    let waiting = tx.next_waiting(Some(team), room)?;
    let mut out = Vec::new();
    for w in waiting {
        let Some(agent) = routing::pick(row.strategy, &agents) else {
            break;
        };
        if tx.claim(w.conversation, agent, now)? {
            out.push(record_assignment(
                tx,
                w.conversation,
                agent,
                Actor::System,
                life,
                now,
            )?);
            if let Some(c) = agents.iter_mut().find(|c| c.agent == agent) {
                c.load += 1;
                c.last_assigned = Some(now);
            }
        }
    }
    Ok(out)
}

/// Answers the bot's "where would this handoff land?" from inside the transaction.
pub(crate) struct Probe<'p, 't> {
    tx: RefCell<&'p mut Tx<'t>>,
    now: Timestamp,
}

impl<'p, 't> Probe<'p, 't> {
    pub(crate) fn new(tx: &'p mut Tx<'t>, now: Timestamp) -> Self {
        Probe {
            tx: RefCell::new(tx),
            now,
        }
    }

    pub(crate) fn info(&self, team: Option<&str>, priority: Priority) -> Result<QueueInfo> {
        let mut tx = self.tx.borrow_mut();
        let (strategy, agents) = match team {
            Some(t) => match tx.team_row(t)? {
                Some(row) => (row.strategy, tx.candidates(t, row.capacity)?),
                None => (Strategy::Manual, Vec::new()),
            },
            None => (Strategy::Manual, Vec::new()),
        };
        let depth = tx.depth(team)?;
        if depth.iter().all(|n| *n == 0) && routing::pick(strategy, &agents).is_some() {
            return Ok(QueueInfo::default());
        }
        let later = tx.arrived_after(team, routing::queue_rank(priority), self.now)?;
        let position = routing::queue_position(&depth, priority, later);
        let working = agents
            .iter()
            .filter(|c| c.presence == Presence::Online)
            .count();
        // Nobody online: no estimate, so the history is not read.
        let recent = if working == 0 {
            Vec::new()
        } else {
            tx.recent_handling(team)?
        };
        Ok(QueueInfo {
            position,
            wait: routing::estimate_wait(
                position,
                u32::try_from(working).unwrap_or(u32::MAX),
                &recent,
            ),
        })
    }
}

impl std::fmt::Debug for Probe<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe").field("now", &self.now).finish()
    }
}

impl QueueProbe for Probe<'_, '_> {
    fn probe(&self, team: Option<&str>, priority: Priority) -> QueueInfo {
        // A failed read only costs the customer the position in the message.
        self.info(team, priority).unwrap_or_default()
    }
}
