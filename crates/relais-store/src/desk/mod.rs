//! The human half (SPEC §2, §5): what agents do to conversations, what a customer's
//! message does to a conversation a human owns, the lifecycle timers, presence, and
//! the agent views. Visibility (`relais_core::access`) is enforced here, in the
//! queries and before every action: a conversation an agent may not see is "not found".
//!
//! `act` holds the agents' actions, `ticket_life` solving, surveys, customer messages
//! and the lifecycle timers, `presence` presence, `views` the views' queries, and
//! `teams` teams and canned responses, `articles` the knowledge base, `watchers` who
//! has a conversation's page open (collision detection); this file the
//! helpers they share.

use crate::model::*;
use crate::outgoing::{self, Outgoing, Route};
use crate::queue::Assigned;
use crate::sql::ConnExt;
use crate::tx::Tx;
use crate::{Error, Result};
use relais_core::Timestamp;
use relais_core::access::{self, ConversationAction};
use relais_core::conversation::Conversation;
use relais_core::decision::TimerRequest;
use relais_core::event::{Actor, Event, EventKind};
use relais_core::id::{AgentId, ConversationId, MessageId};
use relais_core::lifecycle::{TIMER_INACTIVE, TIMER_REMIND};
use relais_core::message::Message;
use relais_core::step;
use relais_core::ticket::Action;

mod act;
mod articles;
mod presence;
mod teams;
mod templates;
mod ticket_life;
mod views;
mod watchers;

pub(crate) use act::act;
pub(crate) use articles::*;
pub(crate) use presence::*;
pub(crate) use teams::*;
pub(crate) use templates::*;
pub(crate) use ticket_life::*;
pub(crate) use views::*;
pub(crate) use watchers::*;

impl Tx<'_> {
    pub(crate) fn agent_teams(&mut self, agent: AgentId) -> Result<Vec<String>> {
        self.c
            .query(
                "SELECT team_id FROM team_members WHERE agent_id = $1 ORDER BY team_id",
                &[agent.0.into()],
            )?
            .iter()
            .map(|r| r.text(0))
            .collect()
    }

    fn has_pending_timer(&mut self, id: ConversationId, name: &str) -> Result<bool> {
        Ok(self
            .c
            .query_opt(
                "SELECT 1 FROM timers WHERE conversation_id = $1 AND name = $2 AND state = 'pending'",
                &[id.0.into(), name.into()],
            )?
            .is_some())
    }

    fn message_by_client_id(
        &mut self,
        id: ConversationId,
        client: &str,
    ) -> Result<Option<MessageId>> {
        let r = self.c.query_opt(
            "SELECT id FROM messages WHERE conversation_id = $1 AND client_id = $2",
            &[id.0.into(), client.into()],
        )?;
        r.map(|r| r.int(0).map(MessageId)).transpose()
    }

    fn assignment_times(
        &mut self,
        id: ConversationId,
    ) -> Result<(Option<Timestamp>, Option<Timestamp>, Option<AgentId>)> {
        let r = self.c.query_one(
            "SELECT queued_at, assigned_at, last_assignee FROM conversations WHERE id = $1",
            &[id.0.into()],
        )?;
        Ok((
            r.opt_int(0)?.map(Timestamp),
            r.opt_int(1)?.map(Timestamp),
            r.opt_int(2)?.map(AgentId),
        ))
    }

    pub(crate) fn csat(&mut self, id: ConversationId) -> Result<Option<Csat>> {
        let r = self.c.query_opt(
            "SELECT state, score, agent_id, sent_at, answered_at FROM csat WHERE conversation_id = $1",
            &[id.0.into()],
        )?;
        r.map(|r| {
            Ok(Csat {
                state: r.text(0)?,
                score: r.opt_int(1)?,
                agent: r.opt_int(2)?.map(AgentId),
                sent_at: Timestamp(r.int(3)?),
                answered_at: r.opt_int(4)?.map(Timestamp),
            })
        })
        .transpose()
    }
}

/// Timers and outbox rows a step created, for the runtime.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    pub timers: Vec<ScheduledTimer>,
    pub queued: bool,
}

impl Effects {
    fn assigned(&mut self, list: Vec<Assigned>) {
        self.timers.extend(list.into_iter().filter_map(|a| a.timer));
    }
}

fn event(
    tx: &mut Tx<'_>,
    id: ConversationId,
    kind: EventKind,
    actor: Actor,
    now: Timestamp,
    data: serde_json::Value,
) -> Result<()> {
    tx.insert_event(Some(id), &Event::new(kind, actor, now, data))
}

/// Moves the ticket, recording the change. Refusals are conflicts (the caller's input).
fn transition(
    tx: &mut Tx<'_>,
    conv: &mut Conversation,
    action: Action,
    actor: Actor,
    now: Timestamp,
) -> Result<()> {
    match step::move_ticket(conv, action, actor, now) {
        Ok(changed) => {
            if let Some(e) = changed {
                tx.insert_event(Some(conv.id), &e)?;
            }
            Ok(())
        }
        Err(_) => Err(Error::Conflict(format!(
            "a conversation in status {} cannot be {}",
            conv.status,
            match action {
                Action::AwaitCustomer => "set pending",
                Action::Solve(_) => "solved",
                Action::Reopen => "reopened",
                _ => "changed this way",
            }
        ))),
    }
}

/// Writes a message for `fx`'s caller: queued for the outbox, or an internal note.
fn write_message(
    tx: &mut Tx<'_>,
    conv: &mut Conversation,
    lane: &Lane,
    out: Outgoing,
    now: Timestamp,
    fx: &mut Effects,
) -> Result<Message> {
    fx.queued |= out.route == Route::Outbox;
    outgoing::write(tx, conv, lane, out, now)
}

fn schedule(
    tx: &mut Tx<'_>,
    id: ConversationId,
    lane: &Lane,
    t: TimerRequest,
    now: Timestamp,
    fx: &mut Effects,
) -> Result<()> {
    tx.cancel_timers(id, &t.name, now)?;
    let timer = tx.insert_timer(id, lane, &t, now)?;
    fx.timers.push(ScheduledTimer {
        id: timer,
        due_at: t.due_at,
        lane: lane.clone(),
    });
    Ok(())
}

/// A lifecycle timer due at `due_at`.
fn timer(name: &str, due_at: Timestamp, payload: serde_json::Value) -> TimerRequest {
    TimerRequest {
        name: name.into(),
        due_at,
        payload,
    }
}

fn cancel_waiting_for_customer(tx: &mut Tx<'_>, id: ConversationId, now: Timestamp) -> Result<()> {
    tx.cancel_timers(id, TIMER_REMIND, now)?;
    tx.cancel_timers(id, TIMER_INACTIVE, now)?;
    Ok(())
}

/// Loads a conversation for `viewer`, locked; `NotFound` when they may not see it or
/// may not do `action` to it.
fn load_for(
    tx: &mut Tx<'_>,
    viewer: Viewer,
    id: ConversationId,
    action: ConversationAction,
) -> Result<(Conversation, Lane)> {
    let Some((conv, address)) = tx.conversation(id, true)? else {
        return Err(Error::NotFound(format!("conversation {id}")));
    };
    let teams = tx.agent_teams(viewer.agent)?;
    if !access::may_on(viewer.role, viewer.agent, &teams, &conv, action) {
        return Err(Error::NotFound(format!("conversation {id}")));
    }
    let lane = Lane {
        channel: conv.channel.clone(),
        address,
    };
    Ok((conv, lane))
}

/// Whether `viewer` may see conversation `id` (a read, without locking).
pub(crate) fn visible_to(tx: &mut Tx<'_>, viewer: Viewer, id: ConversationId) -> Result<bool> {
    let Some((conv, _)) = tx.conversation(id, false)? else {
        return Ok(false);
    };
    let teams = tx.agent_teams(viewer.agent)?;
    Ok(access::may_on(
        viewer.role,
        viewer.agent,
        &teams,
        &conv,
        ConversationAction::View,
    ))
}

fn language(tx: &mut Tx<'_>, conv: &Conversation) -> Result<String> {
    Ok(tx
        .contact(conv.contact)?
        .language
        .unwrap_or_else(|| "en".into()))
}
