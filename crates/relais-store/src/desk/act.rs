//! Agents' actions on a conversation (reply with client id, note, claim, transfer,
//! pending, solve, reopen), with visibility checked on the locked row.

use super::*;
use crate::outgoing::{Outgoing, Route};
use crate::queue;
use crate::tx::Tx;
use crate::{Error, Result};
use relais_core::access::ConversationAction;
use relais_core::event::{Actor, EventKind};
use relais_core::lifecycle::{
    Lifecycle, TIMER_AUTO_CLOSE, TIMER_INACTIVE, TIMER_REMIND, TIMER_RETURN,
};
use relais_core::message::{AuthorKind, Message};
use relais_core::step::{self, AgentAct, AgentPlan, AgentRefusal};
use relais_core::ticket::Action;
use relais_core::{Timestamp, window};
use serde_json::json;

/// One agent action, in one transaction: visibility on the locked row, then the
/// action's own function, then the conversation saved and the queues drained.
pub(crate) fn act(tx: &mut Tx<'_>, a: &DeskAction, life: &Lifecycle) -> Result<DeskOutcome> {
    let (conv, lane) = load_for(tx, a.viewer, a.conversation, needed(&a.act))?;
    if lane.address.is_empty() {
        return Err(Error::Conflict(format!(
            "conversation {} was forgotten (its contact erased, or retention): nothing can be done on it",
            conv.id
        )));
    }
    // The ticket moves are the core's rule; a reply to a closed conversation is
    // refused by `reply`, after a repeated client id has had its answer.
    let plan = match step::agent_plan(conv.status, agent_act(&a.act)) {
        Err(AgentRefusal::WithBot) => {
            return Err(Error::Conflict(format!(
                "conversation {} is with the bot: transfer it to a team or an agent first",
                conv.id
            )));
        }
        other => other,
    };
    let mut c = Acting {
        conv,
        lane,
        me: a.viewer.agent,
        actor: Actor::Agent(a.viewer.agent),
        now: a.now,
        life,
        fx: Effects::default(),
        message: None,
        drain: Vec::new(),
    };
    let done = perform(tx, &mut c, &a.act, plan)?;
    match done {
        Done::Duplicate(out) => return Ok(out),
        Done::Save => {
            c.conv.updated_at = c.now;
            tx.update_conversation(&c.conv)?;
        }
        Done::Saved => {}
    }
    for t in &c.drain {
        let assigned = queue::drain(tx, t.as_deref(), life, c.now)?;
        c.fx.assigned(assigned);
    }
    Ok(DeskOutcome {
        message: c.message,
        duplicate: false,
        timers: c.fx.timers,
        queued: c.fx.queued,
    })
}

/// What the viewer must be allowed to do on the conversation for `act`.
fn needed(act: &Act) -> ConversationAction {
    use ConversationAction as CA;
    match act {
        Act::Reply { .. } => CA::Reply,
        Act::Note { .. } => CA::Note,
        Act::Claim => CA::Claim,
        Act::Transfer { .. } => CA::Transfer,
        Act::SetPending => CA::SetPending,
        Act::Solve => CA::Solve,
        Act::Reopen => CA::Reopen,
    }
}

/// `act` as the core's ticket rule knows it.
fn agent_act(act: &Act) -> AgentAct {
    match act {
        Act::Reply { pending, .. } => AgentAct::Reply { pending: *pending },
        Act::Note { .. } => AgentAct::Note,
        Act::Claim => AgentAct::Claim,
        Act::Transfer { .. } => AgentAct::Transfer,
        Act::SetPending => AgentAct::SetPending,
        Act::Solve => AgentAct::Solve,
        Act::Reopen => AgentAct::Reopen,
    }
}

/// The action's own work, after visibility and the core's plan: one arm per action.
fn perform(
    tx: &mut Tx<'_>,
    c: &mut Acting<'_>,
    act: &Act,
    plan: Result<AgentPlan, AgentRefusal>,
) -> Result<Done> {
    Ok(match act {
        Act::Reply {
            text,
            client_id,
            media,
            template,
            ..
        } => {
            let rich = relais_core::rich::Rich {
                media: media.clone(),
                template: template.clone(),
                ..relais_core::rich::Rich::default()
            };
            reply(tx, c, plan, text, client_id.as_deref(), rich)?
        }
        Act::Note { text } => {
            c.note(tx, text)?;
            Done::Save
        }
        Act::Claim => claim(tx, c)?,
        Act::Transfer { team, agent, note } => {
            let first = plan.ok().and_then(|p| p.first);
            transfer(tx, c, first, team.as_deref(), *agent, note.as_deref())?
        }
        Act::SetPending => {
            c.first(tx, plan)?;
            Done::Save
        }
        Act::Solve => {
            c.first(tx, plan)?;
            let by = step::SolvedBy::Agent(c.me);
            solved(tx, &mut c.conv, &c.lane, by, c.life, c.now, &mut c.fx)?;
            c.drain.push(c.conv.team.clone());
            Done::Save
        }
        Act::Reopen => {
            c.first(tx, plan)?;
            reopen(tx, c)?
        }
    })
}

/// What one action works on and what it has produced so far.
struct Acting<'l> {
    conv: Conversation,
    lane: Lane,
    me: AgentId,
    actor: Actor,
    now: Timestamp,
    life: &'l Lifecycle,
    fx: Effects,
    /// The message the action wrote (reply or note).
    message: Option<Message>,
    /// Queues to drain once the conversation is saved.
    drain: Vec<Option<String>>,
}

/// How an action ended.
enum Done {
    /// The conversation is to be saved.
    Save,
    /// The action saved it itself (a transfer, before re-queueing it).
    Saved,
    /// A repeated client id: the first reply, nothing written.
    Duplicate(DeskOutcome),
}

impl Acting<'_> {
    /// The plan's first ticket move, if any.
    fn first(&mut self, tx: &mut Tx<'_>, plan: Result<AgentPlan, AgentRefusal>) -> Result<()> {
        if let Some(m) = plan.ok().and_then(|p| p.first) {
            transition(tx, &mut self.conv, m, self.actor, self.now)?;
        }
        Ok(())
    }

    fn note(&mut self, tx: &mut Tx<'_>, text: &str) -> Result<()> {
        let out = Outgoing::text(
            AuthorKind::Agent,
            Some(self.me),
            text.to_owned(),
            Route::Note,
        );
        self.message = Some(write_message(
            tx,
            &mut self.conv,
            &self.lane,
            out,
            self.now,
            &mut self.fx,
        )?);
        Ok(())
    }

    /// Assigns the conversation to `agent` if nobody has it; `true` when this did.
    fn claim_for(&mut self, tx: &mut Tx<'_>, agent: AgentId) -> Result<bool> {
        if !tx.claim(self.conv.id, agent, self.now)? {
            return Ok(false);
        }
        let a = queue::record_assignment(tx, self.conv.id, agent, self.actor, self.life, self.now)?;
        self.fx.assigned(vec![a]);
        Ok(true)
    }
}

/// An agent's reply outside the channel's window (SPEC §6) goes to the fallback channel
/// when there is one (the outbox moves it); with none, it is refused, saying why.
fn window_allows_agent(tx: &mut Tx<'_>, lane: &Lane, now: Timestamp, template: bool) -> Result<()> {
    let Some(ch) = tx.c.query_opt(
        "SELECT kind, fallback FROM channels WHERE id = $1",
        &[lane.channel.as_str().into()],
    )?
    else {
        return Ok(());
    };
    let kind = ch.text("kind")?;
    if !window::applies(&kind) || ch.opt_text("fallback")?.is_some() {
        return Ok(());
    }
    let last = tx.last_inbound_at(&lane.channel, &lane.address)?;
    let rule = window::Outgoing {
        template,
        by_agent: true,
    };
    match window::carry(&kind, last, now, rule) {
        window::Carry::Closed { reason } => Err(Error::WindowClosed { reason }),
        _ => Ok(()),
    }
}

/// A reply to the customer: taking an unassigned conversation, reopening a solved one,
/// then waiting for the customer (reminder and inactivity timers).
fn reply(
    tx: &mut Tx<'_>,
    c: &mut Acting<'_>,
    plan: Result<AgentPlan, AgentRefusal>,
    text: &str,
    client_id: Option<&str>,
    rich: relais_core::rich::Rich,
) -> Result<Done> {
    if let Some(id) = client_id
        && let Some(first) = tx.message_by_client_id(c.conv.id, id)?
    {
        return Ok(Done::Duplicate(DeskOutcome {
            message: tx.message(first)?,
            duplicate: true,
            timers: Vec::new(),
            queued: false,
        }));
    }
    let Ok(plan) = plan else {
        return Err(Error::Conflict(format!(
            "conversation {} is closed",
            c.conv.id
        )));
    };
    window_allows_agent(tx, &c.lane, c.now, rich.template.is_some())?;
    let take = step::take(
        AgentAct::Reply { pending: false },
        c.conv.status,
        c.conv.assignee,
        c.me,
    );
    if take == step::Take::IfFree && tx.claim(c.conv.id, c.me, c.now)? {
        queue::record_assignment(tx, c.conv.id, c.me, c.actor, c.life, c.now)?;
        c.conv.assignee = Some(c.me);
    }
    if let Some(m) = plan.first {
        transition(tx, &mut c.conv, m, c.actor, c.now)?;
    }
    let out = Outgoing {
        client_id: client_id.map(str::to_owned),
        rich,
        ..Outgoing::text(
            AuthorKind::Agent,
            Some(c.me),
            text.to_owned(),
            Route::Outbox,
        )
    };
    c.message = Some(write_message(
        tx,
        &mut c.conv,
        &c.lane,
        out,
        c.now,
        &mut c.fx,
    )?);
    // The agent answered: no return to the queue; now the customer is waited for.
    tx.cancel_timers(c.conv.id, TIMER_RETURN, c.now)?;
    if let Some(m) = plan.then {
        transition(tx, &mut c.conv, m, c.actor, c.now)?;
    }
    for (name, after) in [
        (TIMER_REMIND, c.life.remind_after),
        (TIMER_INACTIVE, c.life.close_after),
    ] {
        let t = timer(name, c.now.plus(after), json!({}));
        schedule(tx, c.conv.id, &c.lane, t, c.now, &mut c.fx)?;
    }
    Ok(Done::Save)
}

fn claim(tx: &mut Tx<'_>, c: &mut Acting<'_>) -> Result<Done> {
    // The rule is the core's; the race between agents is settled here, on the row.
    match step::take(AgentAct::Claim, c.conv.status, c.conv.assignee, c.me) {
        step::Take::Nothing => {}
        step::Take::Required if c.claim_for(tx, c.me)? => c.conv.assignee = Some(c.me),
        _ => {
            return Err(Error::Conflict(format!(
                "conversation {} is already assigned or not waiting",
                c.conv.id
            )));
        }
    }
    Ok(Done::Save)
}

/// To another team (at the back of its queue) and/or a given agent, with a note. A
/// conversation still with the bot is escalated; a solved or pending one reopened.
fn transfer(
    tx: &mut Tx<'_>,
    c: &mut Acting<'_>,
    first: Option<Action>,
    team: Option<&str>,
    agent: Option<AgentId>,
    note: Option<&str>,
) -> Result<Done> {
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
        && tx.agent(ag)?.filter(|x| !x.disabled).is_none()
    {
        return Err(Error::NotFound(format!("agent {ag}")));
    }
    if let Some(m) = first {
        transition(tx, &mut c.conv, m, c.actor, c.now)?;
        if m == Action::Escalate {
            c.conv
                .escalation_reason
                .get_or_insert_with(|| "requested".into());
        }
    }
    let from_team = c.conv.team.clone();
    let from_agent = c.conv.assignee;
    if let Some(t) = team {
        c.conv.team = Some(t.to_owned());
    }
    if let Some(n) = note {
        c.note(tx, n)?;
    }
    c.conv.assignee = None;
    c.conv.updated_at = c.now;
    tx.update_conversation(&c.conv)?;
    tx.enqueue_anew(c.conv.id, c.now)?;
    tx.cancel_timers(c.conv.id, TIMER_RETURN, c.now)?;
    event(
        tx,
        c.conv.id,
        EventKind::Transferred,
        c.actor,
        c.now,
        json!({
            "from_team": from_team, "to_team": c.conv.team, "from_agent": from_agent, "to_agent": agent,
        }),
    )?;
    match agent {
        Some(ag) => {
            c.claim_for(tx, ag)?;
        }
        None => c.drain.push(c.conv.team.clone()),
    }
    c.drain.push(from_team);
    Ok(Done::Saved)
}

/// The agent reopened a solved conversation (the plan's move, made by the caller): it
/// takes it if it is not theirs.
fn reopen(tx: &mut Tx<'_>, c: &mut Acting<'_>) -> Result<Done> {
    tx.cancel_timers(c.conv.id, TIMER_AUTO_CLOSE, c.now)?;
    if c.conv.assignee != Some(c.me) {
        tx.c.execute(
            "UPDATE conversations SET assignee = NULL WHERE id = $1",
            &[c.conv.id.0.into()],
        )?;
        c.conv.assignee = None;
        if c.claim_for(tx, c.me)? {
            c.conv.assignee = Some(c.me);
        }
    }
    Ok(Done::Save)
}
