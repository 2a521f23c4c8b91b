//! The human half (SPEC §2, §5): what agents do to conversations, what a customer's
//! message does to a conversation a human owns, the lifecycle timers, presence, and
//! the agent views. Visibility (`relais_core::access`) is enforced here, in the
//! queries and before every action: a conversation an agent may not see is "not found".

use crate::model::*;
use crate::outgoing::{self, Outgoing, Route};
use crate::queue::{self, Assigned};
use crate::sql::{ConnExt, Val};
use crate::tx::Tx;
use crate::{Error, Result};
use relais_core::Timestamp;
use relais_core::access::{self, ConversationAction, Relation};
use relais_core::agent::Presence;
use relais_core::conversation::Conversation;
use relais_core::decision::TimerRequest;
use relais_core::event::{Actor, Event, EventKind};
use relais_core::id::{AgentId, ConversationId, MessageId};
use relais_core::lifecycle::{
    self, Lifecycle, Say, TIMER_AUTO_CLOSE, TIMER_AWAY, TIMER_INACTIVE, TIMER_REMIND, TIMER_RETURN,
};
use relais_core::message::{AuthorKind, Message};
use relais_core::step;
use relais_core::ticket::{Action, Resolver, Status};
use serde_json::json;

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
    let relation = Relation::of(conv.team.as_deref(), conv.assignee, viewer.agent, &teams);
    if !access::may(viewer.role, ConversationAction::View, relation)
        || !access::may(viewer.role, action, relation)
    {
        return Err(Error::NotFound(format!("conversation {id}")));
    }
    let lane = Lane {
        channel: conv.channel.clone(),
        address,
    };
    Ok((conv, lane))
}

fn language(tx: &mut Tx<'_>, conv: &Conversation) -> Result<String> {
    Ok(tx
        .contact(conv.contact)?
        .language
        .unwrap_or_else(|| "en".into()))
}

/// One agent action, in one transaction.
pub(crate) fn act(tx: &mut Tx<'_>, a: &DeskAction, life: &Lifecycle) -> Result<DeskOutcome> {
    use ConversationAction as CA;
    let needed = match &a.act {
        Act::Reply { .. } => CA::Reply,
        Act::Note { .. } => CA::Note,
        Act::Claim => CA::Claim,
        Act::Transfer { .. } => CA::Transfer,
        Act::SetPending => CA::SetPending,
        Act::Solve => CA::Solve,
        Act::Reopen => CA::Reopen,
    };
    let (mut conv, lane) = load_for(tx, a.viewer, a.conversation, needed)?;
    let me = a.viewer.agent;
    let actor = Actor::Agent(me);
    let now = a.now;
    let mut fx = Effects::default();
    let mut message = None;
    let mut drain_teams: Vec<Option<String>> = Vec::new();
    if conv.status == Status::Bot && !matches!(a.act, Act::Note { .. } | Act::Transfer { .. }) {
        return Err(Error::Conflict(format!(
            "conversation {} is with the bot: transfer it to a team or an agent first",
            conv.id
        )));
    }
    match &a.act {
        Act::Reply {
            text,
            client_id,
            pending,
        } => {
            if let Some(c) = client_id
                && let Some(first) = tx.message_by_client_id(conv.id, c)?
            {
                return Ok(DeskOutcome {
                    message: tx.message(first)?,
                    duplicate: true,
                    timers: Vec::new(),
                    queued: false,
                });
            }
            if conv.status == Status::Closed {
                return Err(Error::Conflict(format!(
                    "conversation {} is closed",
                    conv.id
                )));
            }
            if conv.assignee.is_none() && tx.claim(conv.id, me, now)? {
                // Answering an unassigned conversation takes it.
                queue::record_assignment(tx, conv.id, me, actor, life, now)?;
                conv.assignee = Some(me);
            }
            if matches!(conv.status, Status::Solved) {
                transition(tx, &mut conv, Action::Reopen, actor, now)?;
            }
            let m = write_message(
                tx,
                &mut conv,
                &lane,
                Outgoing {
                    client_id: client_id.clone(),
                    ..Outgoing::text(AuthorKind::Agent, Some(me), text.clone(), Route::Outbox)
                },
                now,
                &mut fx,
            )?;
            message = Some(m);
            // The agent answered: no return to the queue; now the customer is waited for.
            tx.cancel_timers(conv.id, TIMER_RETURN, now)?;
            if *pending && conv.status == Status::Open {
                transition(tx, &mut conv, Action::AwaitCustomer, actor, now)?;
            }
            schedule(
                tx,
                conv.id,
                &lane,
                timer(TIMER_REMIND, now.plus(life.remind_after), json!({})),
                now,
                &mut fx,
            )?;
            schedule(
                tx,
                conv.id,
                &lane,
                timer(TIMER_INACTIVE, now.plus(life.close_after), json!({})),
                now,
                &mut fx,
            )?;
        }
        Act::Note { text } => {
            message = Some(write_message(
                tx,
                &mut conv,
                &lane,
                Outgoing::text(AuthorKind::Agent, Some(me), text.clone(), Route::Note),
                now,
                &mut fx,
            )?);
        }
        Act::Claim => {
            if conv.assignee == Some(me) {
                // Claiming twice is harmless.
            } else if conv.status == Status::Open && tx.claim(conv.id, me, now)? {
                fx.assigned(vec![queue::record_assignment(
                    tx, conv.id, me, actor, life, now,
                )?]);
                conv.assignee = Some(me);
            } else {
                return Err(Error::Conflict(format!(
                    "conversation {} is already assigned or not waiting",
                    conv.id
                )));
            }
        }
        Act::Transfer { team, agent, note } => {
            if team.is_none() && agent.is_none() {
                return Err(Error::Conflict(
                    "a transfer names a team, an agent, or both".into(),
                ));
            }
            if let Some(t) = team
                && tx.team_row(t)?.is_none()
            {
                return Err(Error::NotFound(format!("team {t}")));
            }
            if let Some(ag) = agent
                && tx.agent(*ag)?.filter(|x| !x.disabled).is_none()
            {
                return Err(Error::NotFound(format!("agent {ag}")));
            }
            if conv.status == Status::Bot {
                transition(tx, &mut conv, Action::Escalate, actor, now)?;
                conv.escalation_reason
                    .get_or_insert_with(|| "requested".into());
            } else if matches!(conv.status, Status::Solved | Status::Pending) {
                transition(tx, &mut conv, Action::Reopen, actor, now)?;
            }
            let from_team = conv.team.clone();
            let from_agent = conv.assignee;
            if let Some(t) = team {
                conv.team = Some(t.clone());
            }
            if let Some(n) = note {
                message = Some(write_message(
                    tx,
                    &mut conv,
                    &lane,
                    Outgoing::text(AuthorKind::Agent, Some(me), n.clone(), Route::Note),
                    now,
                    &mut fx,
                )?);
            }
            conv.assignee = None;
            conv.updated_at = now;
            tx.update_conversation(&conv)?;
            tx.enqueue_anew(conv.id, now)?;
            tx.cancel_timers(conv.id, TIMER_RETURN, now)?;
            event(
                tx,
                conv.id,
                EventKind::Transferred,
                actor,
                now,
                json!({
                    "from_team": from_team, "to_team": conv.team, "from_agent": from_agent, "to_agent": agent,
                }),
            )?;
            match agent {
                Some(ag) => {
                    if tx.claim(conv.id, *ag, now)? {
                        fx.assigned(vec![queue::record_assignment(
                            tx, conv.id, *ag, actor, life, now,
                        )?]);
                    }
                }
                None => drain_teams.push(conv.team.clone()),
            }
            drain_teams.push(from_team);
            return finish(tx, drain_teams, life, now, fx, message);
        }
        Act::SetPending => transition(tx, &mut conv, Action::AwaitCustomer, actor, now)?,
        Act::Solve => {
            transition(tx, &mut conv, Action::Solve(Resolver::Agent), actor, now)?;
            solved(
                tx,
                &mut conv,
                &lane,
                SolvedBy::Agent(me),
                life,
                now,
                &mut fx,
            )?;
            drain_teams.push(conv.team.clone());
        }
        Act::Reopen => {
            transition(tx, &mut conv, Action::Reopen, actor, now)?;
            tx.cancel_timers(conv.id, TIMER_AUTO_CLOSE, now)?;
            if conv.assignee != Some(me) {
                tx.c.execute(
                    "UPDATE conversations SET assignee = NULL WHERE id = $1",
                    &[conv.id.0.into()],
                )?;
                conv.assignee = None;
                if tx.claim(conv.id, me, now)? {
                    fx.assigned(vec![queue::record_assignment(
                        tx, conv.id, me, actor, life, now,
                    )?]);
                    conv.assignee = Some(me);
                }
            }
        }
    }
    conv.updated_at = now;
    tx.update_conversation(&conv)?;
    finish(tx, drain_teams, life, now, fx, message)
}

fn finish(
    tx: &mut Tx<'_>,
    drain_teams: Vec<Option<String>>,
    life: &Lifecycle,
    now: Timestamp,
    mut fx: Effects,
    message: Option<Message>,
) -> Result<DeskOutcome> {
    for t in drain_teams {
        let assigned = queue::drain(tx, t.as_deref(), life, now)?;
        fx.assigned(assigned);
    }
    Ok(DeskOutcome {
        message,
        duplicate: false,
        timers: fx.timers,
        queued: fx.queued,
    })
}

/// Who solved a conversation, for what follows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SolvedBy {
    Agent(AgentId),
    Inactivity,
    /// The bot; `csat` when its flow's `resolve` asked for the survey.
    Bot {
        csat: bool,
    },
}

/// After a solve: the conversation closes after `auto_close`; the survey goes out for
/// an agent's solve (and a bot's that asked for it), never for an auto-solve.
pub(crate) fn solved(
    tx: &mut Tx<'_>,
    conv: &mut Conversation,
    lane: &Lane,
    by: SolvedBy,
    life: &Lifecycle,
    now: Timestamp,
    fx: &mut Effects,
) -> Result<()> {
    if !matches!(by, SolvedBy::Bot { .. }) {
        // Nobody waits for anybody any more (the bot has no such timers).
        cancel_waiting_for_customer(tx, conv.id, now)?;
        tx.cancel_timers(conv.id, TIMER_RETURN, now)?;
    }
    tx.c.execute(
        "UPDATE conversations SET solved_at = $1, last_assignee = COALESCE(assignee, last_assignee) WHERE id = $2",
        &[now.0.into(), conv.id.0.into()],
    )?;
    schedule(
        tx,
        conv.id,
        lane,
        timer(TIMER_AUTO_CLOSE, now.plus(life.auto_close), json!({})),
        now,
        fx,
    )?;
    let survey = match by {
        SolvedBy::Agent(agent) => life.csat.then_some(Some(agent)),
        SolvedBy::Bot { csat } => (csat && life.csat).then_some(None),
        SolvedBy::Inactivity => None,
    };
    if let Some(agent) = survey {
        send_survey(tx, conv, lane, agent, now, fx)?;
    }
    Ok(())
}

/// Sends the satisfaction question in the customer's language and records the survey.
pub(crate) fn send_survey(
    tx: &mut Tx<'_>,
    conv: &mut Conversation,
    lane: &Lane,
    agent: Option<AgentId>,
    now: Timestamp,
    fx: &mut Effects,
) -> Result<()> {
    let lang = language(tx, conv)?;
    let m = write_message(
        tx,
        conv,
        lane,
        Outgoing::text(
            AuthorKind::System,
            None,
            lifecycle::text(Say::CsatQuestion, &lang).to_owned(),
            Route::Outbox,
        ),
        now,
        fx,
    )?;
    tx.c.execute(
        "INSERT INTO csat (conversation_id, message_id, agent_id, state, sent_at) VALUES ($1, $2, $3, 'sent', $4) \
         ON CONFLICT (conversation_id) DO UPDATE SET message_id = $2, agent_id = $3, state = 'sent', score = NULL, sent_at = $4, answered_at = NULL",
        &[conv.id.0.into(), m.id.0.into(), agent.map(|a| a.0).into(), now.0.into()],
    )?;
    event(
        tx,
        conv.id,
        EventKind::CsatSent,
        Actor::System,
        now,
        json!({ "message": m.id }),
    )?;
    Ok(())
}

/// A survey question that could not be delivered is recorded as such.
pub(crate) fn survey_failed(tx: &mut Tx<'_>, message: MessageId, now: Timestamp) -> Result<()> {
    let r = tx.c.query_opt(
        "UPDATE csat SET state = 'undeliverable' WHERE message_id = $1 AND state = 'sent' RETURNING conversation_id",
        &[message.0.into()],
    )?;
    if let Some(r) = r {
        let id = ConversationId(r.int(0)?);
        event(
            tx,
            id,
            EventKind::CsatUndeliverable,
            Actor::System,
            now,
            json!({ "message": message }),
        )?;
    }
    Ok(())
}

/// Is this customer message the answer to a survey? Then it is recorded (and the
/// conversation stays solved); the caller thanks the customer after storing the message.
pub(crate) fn survey_answer(
    tx: &mut Tx<'_>,
    conv: &Conversation,
    text: &str,
    now: Timestamp,
) -> Result<bool> {
    if conv.status != Status::Solved {
        return Ok(false);
    }
    let Some(score) = lifecycle::parse_csat(text) else {
        return Ok(false);
    };
    let n = tx.c.execute(
        "UPDATE csat SET state = 'answered', score = $1, answered_at = $2 WHERE conversation_id = $3 AND state IN ('sent', 'undeliverable')",
        &[i64::from(score).into(), now.0.into(), conv.id.0.into()],
    )?;
    if n == 0 {
        return Ok(false);
    }
    event(
        tx,
        conv.id,
        EventKind::CsatAnswered,
        Actor::Contact(conv.contact),
        now,
        json!({ "score": score }),
    )?;
    Ok(true)
}

/// Thanks for a survey answer, in the customer's language: in the response for an
/// in-band channel, else through the outbox.
pub(crate) fn survey_thanks(
    tx: &mut Tx<'_>,
    conv: &mut Conversation,
    lane: &Lane,
    answer: MessageId,
    in_band: bool,
    now: Timestamp,
) -> Result<(Message, bool)> {
    let lang = language(tx, conv)?;
    let route = if in_band {
        Route::InBand
    } else {
        Route::Outbox
    };
    let thanks = Outgoing {
        reply_to: Some(answer),
        ..Outgoing::text(
            AuthorKind::System,
            None,
            lifecycle::text(Say::CsatThanks, &lang).to_owned(),
            route,
        )
    };
    let m = outgoing::write(tx, conv, lane, thanks, now)?;
    Ok((m, route == Route::Outbox))
}

/// What a customer's message does to a conversation a human owns (after the ticket
/// moved): stop the inactivity timers, reopen a solved one to its agent or the queue,
/// and start the clock on the assignee's answer.
pub(crate) fn customer_wrote(
    tx: &mut Tx<'_>,
    conv: &mut Conversation,
    lane: &Lane,
    before: Status,
    life: &Lifecycle,
    now: Timestamp,
) -> Result<Effects> {
    let mut fx = Effects::default();
    if !matches!(conv.status, Status::Open | Status::Pending) {
        return Ok(fx);
    }
    cancel_waiting_for_customer(tx, conv.id, now)?;
    if before == Status::Solved {
        tx.cancel_timers(conv.id, TIMER_AUTO_CLOSE, now)?;
        let (_, _, last) = tx.assignment_times(conv.id)?;
        conv.assignee = None;
        tx.update_conversation(conv)?;
        tx.enqueue_anew(conv.id, now)?;
        // Back to the same agent if they are online with room, else the team's queue.
        let back = match (last, conv.team.clone()) {
            (Some(agent), Some(team)) => {
                let cap = tx.team_row(&team)?.map_or(0, |t| t.capacity);
                tx.candidates(&team, cap)?
                    .iter()
                    .any(|c| c.agent == agent && c.has_room())
            }
            (Some(agent), None) => tx
                .agent(agent)?
                .is_some_and(|a| a.presence == Presence::Online),
            _ => false,
        };
        match last {
            Some(agent) if back && tx.claim(conv.id, agent, now)? => {
                fx.assigned(vec![queue::record_assignment(
                    tx,
                    conv.id,
                    agent,
                    Actor::System,
                    life,
                    now,
                )?]);
                conv.assignee = Some(agent);
            }
            _ => {
                let assigned = queue::drain(tx, conv.team.as_deref(), life, now)?;
                // The caller saves `conv` again: it must carry the new assignee.
                if let Some(a) = assigned.iter().find(|a| a.conversation == conv.id) {
                    conv.assignee = Some(a.agent);
                }
                fx.assigned(assigned);
            }
        }
        return Ok(fx);
    }
    if conv.assignee.is_some()
        && let Some(after) = life.return_after
        && !tx.has_pending_timer(conv.id, TIMER_RETURN)?
    {
        let agent = conv.assignee;
        schedule(
            tx,
            conv.id,
            lane,
            timer(TIMER_RETURN, now.plus(after), json!({ "agent": agent })),
            now,
            &mut fx,
        )?;
    }
    Ok(fx)
}

/// Fires a lifecycle timer (the bot never sees these).
pub(crate) fn fire(
    tx: &mut Tx<'_>,
    id: ConversationId,
    name: &str,
    payload: &serde_json::Value,
    life: &Lifecycle,
    now: Timestamp,
) -> Result<Fired> {
    let (mut conv, address) = tx
        .conversation(id, true)?
        .ok_or_else(|| Error::Corrupt(format!("timer {name} of a missing conversation {id}")))?;
    let lane = Lane {
        channel: conv.channel.clone(),
        address,
    };
    event(
        tx,
        id,
        EventKind::TimerFired,
        Actor::System,
        now,
        json!({ "name": name }),
    )?;
    let mut fx = Effects::default();
    match (name, conv.status) {
        (TIMER_AUTO_CLOSE, Status::Solved) => {
            transition(tx, &mut conv, Action::AutoClose, Actor::System, now)?;
        }
        (TIMER_REMIND, Status::Open | Status::Pending) => {
            let lang = language(tx, &conv)?;
            write_message(
                tx,
                &mut conv,
                &lane,
                Outgoing::text(
                    AuthorKind::System,
                    None,
                    lifecycle::text(Say::StillThere, &lang).to_owned(),
                    Route::Outbox,
                ),
                now,
                &mut fx,
            )?;
        }
        (TIMER_INACTIVE, Status::Open | Status::Pending) => {
            if life.close_status == Status::Pending {
                if conv.status == Status::Open {
                    transition(tx, &mut conv, Action::AwaitCustomer, Actor::System, now)?;
                }
            } else {
                transition(
                    tx,
                    &mut conv,
                    Action::Solve(Resolver::Inactivity),
                    Actor::System,
                    now,
                )?;
                solved(
                    tx,
                    &mut conv,
                    &lane,
                    SolvedBy::Inactivity,
                    life,
                    now,
                    &mut fx,
                )?;
                let team = conv.team.clone();
                conv.updated_at = now;
                tx.update_conversation(&conv)?;
                fx.assigned(queue::drain(tx, team.as_deref(), life, now)?);
            }
        }
        (TIMER_AWAY, Status::Open) => {
            let agent = payload
                .get("agent")
                .and_then(serde_json::Value::as_i64)
                .map(AgentId);
            let since = payload.get("since").and_then(serde_json::Value::as_i64);
            let still_away = match agent {
                Some(a) => tx.c.query_opt(
                    "SELECT 1 FROM agents WHERE id = $1 AND presence = 'away' AND presence_at = $2",
                    &[a.0.into(), since.into()],
                )?.is_some(),
                None => false,
            };
            if still_away && conv.assignee == agent {
                give_back(tx, &mut conv, agent, "away", life, now, &mut fx)?;
                return Ok(fired(id, fx));
            }
        }
        (TIMER_RETURN, Status::Open) => {
            let due = payload
                .get("agent")
                .and_then(serde_json::Value::as_i64)
                .map(AgentId);
            if conv.assignee.is_some() && conv.assignee == due {
                give_back(tx, &mut conv, due, "no_answer", life, now, &mut fx)?;
                return Ok(fired(id, fx));
            }
        }
        _ => {}
    }
    conv.updated_at = now;
    tx.update_conversation(&conv)?;
    Ok(fired(id, fx))
}

/// Takes a conversation back from its agent into its queue (it keeps its place) and
/// lets the queue drain.
fn give_back(
    tx: &mut Tx<'_>,
    conv: &mut Conversation,
    agent: Option<AgentId>,
    why: &str,
    life: &Lifecycle,
    now: Timestamp,
    fx: &mut Effects,
) -> Result<()> {
    conv.assignee = None;
    conv.updated_at = now;
    tx.update_conversation(conv)?;
    tx.enqueue(conv.id, now)?;
    tx.cancel_timers(conv.id, TIMER_RETURN, now)?;
    event(
        tx,
        conv.id,
        EventKind::Unassigned,
        Actor::System,
        now,
        json!({ "agent": agent, "why": why }),
    )?;
    fx.assigned(queue::drain(tx, conv.team.as_deref(), life, now)?);
    Ok(())
}

fn fired(id: ConversationId, fx: Effects) -> Fired {
    Fired {
        conversation: id,
        replies: Vec::new(),
        timers: fx.timers,
        queued: fx.queued,
        http: None,
    }
}

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

/// Teams and agents from teams.yaml: teams upserted, missing agents created without a
/// password (an admin sets one), each listed agent's teams replaced.
pub(crate) fn sync_teams(
    tx: &mut Tx<'_>,
    teams: &[TeamSpec],
    members: &[MemberSpec],
    now: Timestamp,
) -> Result<()> {
    for t in teams {
        // Hours of file teams live in the file: the stored ones (API teams) are kept.
        tx.c.execute(
            "INSERT INTO teams (id, name, assignment, capacity, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET name = $2, assignment = $3, capacity = $4, updated_at = $5",
            &[
                t.id.as_str().into(),
                t.name.as_str().into(),
                t.assignment.as_str().into(),
                t.capacity.into(),
                now.0.into(),
            ],
        )?;
    }
    for m in members {
        let agent = match tx.agent_by_email(&m.email)? {
            Some((a, _)) => a,
            None => tx.insert_agent(&NewAgent {
                email: m.email.clone(),
                name: m.name.clone(),
                role: m.role,
                password_hash: None,
                capacity: 5,
                created_at: now,
            })?,
        };
        set_members_of_agent(tx, agent.id, &m.teams)?;
    }
    Ok(())
}

pub(crate) fn upsert_team(tx: &mut Tx<'_>, t: &TeamSpec, now: Timestamp) -> Result<()> {
    tx.c.execute(
        "INSERT INTO teams (id, name, assignment, capacity, updated_at, hours, holidays) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (id) DO UPDATE SET name = $2, assignment = $3, capacity = $4, updated_at = $5, hours = $6, holidays = $7",
        &[
            t.id.as_str().into(),
            t.name.as_str().into(),
            t.assignment.as_str().into(),
            t.capacity.into(),
            now.0.into(),
            t.hours.as_ref().map(serde_json::Value::to_string).into(),
            (!t.holidays.is_empty())
                .then(|| serde_json::json!(t.holidays).to_string())
                .into(),
        ],
    )?;
    Ok(())
}

pub(crate) fn set_members_of_agent(
    tx: &mut Tx<'_>,
    agent: AgentId,
    teams: &[String],
) -> Result<()> {
    tx.c.execute(
        "DELETE FROM team_members WHERE agent_id = $1",
        &[agent.0.into()],
    )?;
    for t in teams {
        if tx.team_row(t)?.is_none() {
            return Err(Error::NotFound(format!("team {t}")));
        }
        tx.c.execute(
            "INSERT INTO team_members (team_id, agent_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[t.as_str().into(), agent.0.into()],
        )?;
    }
    Ok(())
}

pub(crate) fn teams(tx: &mut Tx<'_>) -> Result<Vec<TeamInfo>> {
    let rows = tx.c.query(
        "SELECT id, name, assignment, capacity, hours, holidays FROM teams ORDER BY id",
        &[],
    )?;
    let mut out = Vec::new();
    for r in rows {
        let id = r.text(0)?;
        let members =
            tx.c.query(
                "SELECT agent_id FROM team_members WHERE team_id = $1 ORDER BY agent_id",
                &[id.as_str().into()],
            )?
            .iter()
            .map(|m| m.int(0).map(AgentId))
            .collect::<Result<Vec<_>>>()?;
        out.push(TeamInfo {
            team: TeamSpec {
                id,
                name: r.text(1)?,
                assignment: r.text(2)?,
                capacity: r.int(3)?,
                hours: match r.opt_text(4)? {
                    Some(h) => Some(serde_json::from_str(&h)?),
                    None => None,
                },
                holidays: match r.opt_text(5)? {
                    Some(h) => serde_json::from_str(&h)?,
                    None => Vec::new(),
                },
            },
            members,
        });
    }
    Ok(out)
}

fn canned_from(r: &crate::sql::Row) -> Result<Canned> {
    Ok(Canned {
        id: r.int(0)?,
        shortcut: r.text(1)?,
        title: r.text(2)?,
        body: r.text(3)?,
        language: r.opt_text(4)?,
    })
}

pub(crate) fn canned(tx: &mut Tx<'_>) -> Result<Vec<Canned>> {
    tx.c.query(
        "SELECT id, shortcut, title, body, language FROM canned_responses ORDER BY shortcut, language",
        &[],
    )?
    .iter()
    .map(canned_from)
    .collect()
}

/// Creates (`id` None) or replaces a canned response. Shortcuts are unique.
pub(crate) fn save_canned(
    tx: &mut Tx<'_>,
    id: Option<i64>,
    c: &Canned,
    now: Timestamp,
) -> Result<Canned> {
    let taken =
        tx.c.query_opt(
            "SELECT id FROM canned_responses WHERE shortcut = $1",
            &[c.shortcut.as_str().into()],
        )?
        .map(|r| r.int(0))
        .transpose()?;
    if taken.is_some() && taken != id {
        return Err(Error::AlreadyExists(format!(
            "canned response /{}",
            c.shortcut
        )));
    }
    let r = match id {
        None => tx.c.query_one(
            "INSERT INTO canned_responses (shortcut, title, body, language, created_at) VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, shortcut, title, body, language",
            &[c.shortcut.as_str().into(), c.title.as_str().into(), c.body.as_str().into(), c.language.as_ref().into(), now.0.into()],
        )?,
        Some(id) => tx
            .c
            .query_opt(
                "UPDATE canned_responses SET shortcut = $1, title = $2, body = $3, language = $4 WHERE id = $5 \
                 RETURNING id, shortcut, title, body, language",
                &[c.shortcut.as_str().into(), c.title.as_str().into(), c.body.as_str().into(), c.language.as_ref().into(), id.into()],
            )?
            .ok_or_else(|| Error::NotFound(format!("canned response {id}")))?,
    };
    canned_from(&r)
}

pub(crate) fn delete_canned(tx: &mut Tx<'_>, id: i64) -> Result<bool> {
    Ok(tx
        .c
        .execute("DELETE FROM canned_responses WHERE id = $1", &[id.into()])?
        == 1)
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
