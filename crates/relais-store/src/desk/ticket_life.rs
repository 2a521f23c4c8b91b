//! The ticket's life after the bot: solving and the satisfaction survey, what a
//! customer's message does to a conversation a human owns (reopen, survey answers), and
//! the lifecycle timers (`ticket.*`: return, reminder, inactivity, auto-close).

use super::*;
use crate::outgoing::{self, Outgoing, Route};
use crate::queue;
use crate::sql::ConnExt;
use crate::tx::Tx;
use crate::{Error, Result};
use relais_core::Timestamp;
use relais_core::agent::Presence;
use relais_core::conversation::Conversation;
use relais_core::event::{Actor, EventKind};
use relais_core::id::{AgentId, ConversationId, MessageId};
use relais_core::lifecycle::{self, Lifecycle, Say, TIMER_AUTO_CLOSE, TIMER_AWAY, TIMER_RETURN};
use relais_core::message::{AuthorKind, Message};
use relais_core::step::{self, HumanMove, SolvedBy, TimerMove};
use relais_core::ticket::{Action, Resolver, Status};
use serde_json::json;
use std::cell::RefCell;

/// After a solve, as `step::on_solved` plans it: the conversation closes after
/// `auto_close`; the survey goes out for an agent's solve (and a bot's that asked for
/// it), never for an auto-solve.
pub(crate) fn solved(
    tx: &mut Tx<'_>,
    conv: &mut Conversation,
    lane: &Lane,
    by: SolvedBy,
    life: &Lifecycle,
    now: Timestamp,
    fx: &mut Effects,
) -> Result<()> {
    let plan = step::on_solved(by, life, now);
    if plan.stop_waiting {
        cancel_waiting_for_customer(tx, conv.id, now)?;
        tx.cancel_timers(conv.id, TIMER_RETURN, now)?;
    }
    tx.c.execute(
        "UPDATE conversations SET solved_at = $1, last_assignee = COALESCE(assignee, last_assignee) WHERE id = $2",
        &[now.0.into(), conv.id.0.into()],
    )?;
    let close = timer(TIMER_AUTO_CLOSE, plan.auto_close_at, json!({}));
    schedule(tx, conv.id, lane, close, now, fx)?;
    if let Some(agent) = plan.survey {
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

/// Is this customer message the answer to a survey (the core's rule,
/// `step::survey_answer`)? Then it is recorded (and the conversation stays solved); the
/// caller thanks the customer after storing the message.
pub(crate) fn survey_answer(
    tx: &mut Tx<'_>,
    conv: &Conversation,
    text: &str,
    now: Timestamp,
) -> Result<bool> {
    let waiting = |tx: &mut Tx<'_>| -> Result<bool> {
        Ok(tx
            .c
            .query_opt(
                "SELECT 1 FROM csat WHERE conversation_id = $1 AND state IN ('sent', 'undeliverable')",
                &[conv.id.0.into()],
            )?
            .is_some())
    };
    let Some(score) = step::survey_answer(conv.status, text, || waiting(tx))? else {
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
    // The decision is the core's; the facts it asks for are read here, on demand.
    let moves = {
        let facts = TxFacts {
            tx: RefCell::new(&mut *tx),
            conversation: conv.id,
            error: RefCell::new(None),
        };
        let moves = step::on_customer_to_human(conv, before, life, now, &facts);
        if let Some(e) = facts.error.into_inner() {
            return Err(e);
        }
        moves
    };
    for m in moves {
        match m {
            HumanMove::StopWaitingForCustomer => cancel_waiting_for_customer(tx, conv.id, now)?,
            HumanMove::Reopen { back_to } => reopen_to(tx, conv, back_to, life, now, &mut fx)?,
            HumanMove::ExpectAgent { agent, due_at } => {
                let t = timer(TIMER_RETURN, due_at, json!({ "agent": agent }));
                schedule(tx, conv.id, lane, t, now, &mut fx)?;
            }
        }
    }
    Ok(fx)
}

/// A reopened conversation: to the back of its queue, then to `back_to` if the claim
/// wins, else to whoever the queue gives it.
fn reopen_to(
    tx: &mut Tx<'_>,
    conv: &mut Conversation,
    back_to: Option<AgentId>,
    life: &Lifecycle,
    now: Timestamp,
    fx: &mut Effects,
) -> Result<()> {
    tx.cancel_timers(conv.id, TIMER_AUTO_CLOSE, now)?;
    conv.assignee = None;
    tx.update_conversation(conv)?;
    tx.enqueue_anew(conv.id, now)?;
    match back_to {
        Some(agent) if tx.claim(conv.id, agent, now)? => {
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
    Ok(())
}

/// The desk facts the core's rules ask for, read in the transaction. The first failed
/// read is kept and returned by the caller once the rule has decided.
struct TxFacts<'p, 't> {
    tx: RefCell<&'p mut Tx<'t>>,
    conversation: ConversationId,
    error: RefCell<Option<Error>>,
}

impl TxFacts<'_, '_> {
    fn answer<T: Default>(&self, read: impl FnOnce(&mut Tx<'_>) -> Result<T>) -> T {
        match read(&mut self.tx.borrow_mut()) {
            Ok(v) => v,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                T::default()
            }
        }
    }
}

impl step::DeskFacts for TxFacts<'_, '_> {
    fn last_assignee(&self) -> Option<AgentId> {
        self.answer(|tx| Ok(tx.assignment_times(self.conversation)?.2))
    }

    fn can_take(&self, agent: AgentId, team: Option<&str>) -> bool {
        self.answer(|tx| match team {
            Some(team) => {
                let cap = tx.team_row(team)?.map_or(0, |t| t.capacity);
                Ok(tx
                    .candidates(team, cap)?
                    .iter()
                    .any(|c| c.agent == agent && c.has_room()))
            }
            None => Ok(tx
                .agent(agent)?
                .is_some_and(|a| a.presence == Presence::Online)),
        })
    }

    fn return_timer_pending(&self) -> bool {
        self.answer(|tx| tx.has_pending_timer(self.conversation, TIMER_RETURN))
    }
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
    // The decision is the core's; this applies it.
    let still_away = match step::away_question(payload) {
        Some((agent, since)) if name == TIMER_AWAY => {
            tx.c.query_opt(
                "SELECT 1 FROM agents WHERE id = $1 AND presence = 'away' AND presence_at = $2",
                &[agent.0.into(), since.into()],
            )?
            .is_some()
        }
        _ => false,
    };
    match step::on_lifecycle_timer(&conv, name, payload, life, still_away) {
        TimerMove::Nothing => {}
        TimerMove::AutoClose => {
            transition(tx, &mut conv, Action::AutoClose, Actor::System, now)?;
        }
        TimerMove::Remind => {
            let lang = language(tx, &conv)?;
            let text = lifecycle::text(Say::StillThere, &lang).to_owned();
            let out = Outgoing::text(AuthorKind::System, None, text, Route::Outbox);
            write_message(tx, &mut conv, &lane, out, now, &mut fx)?;
        }
        TimerMove::AwaitCustomer => {
            transition(tx, &mut conv, Action::AwaitCustomer, Actor::System, now)?;
        }
        TimerMove::SolveForInactivity => {
            let solve = Action::Solve(Resolver::Inactivity);
            transition(tx, &mut conv, solve, Actor::System, now)?;
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
        TimerMove::GiveBack { agent, reason } => {
            give_back(tx, &mut conv, Some(agent), reason, life, now, &mut fx)?;
            return Ok(fired(id, fx));
        }
    }
    conv.updated_at = now;
    tx.update_conversation(&conv)?;
    Ok(fired(id, fx))
}

/// Takes a conversation back from its agent into its queue (it keeps its place) and
/// lets the queue drain.
pub(super) fn give_back(
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

pub(super) fn fired(id: ConversationId, fx: Effects) -> Fired {
    Fired {
        conversation: id,
        replies: Vec::new(),
        timers: fx.timers,
        queued: fx.queued,
        http: None,
    }
}
