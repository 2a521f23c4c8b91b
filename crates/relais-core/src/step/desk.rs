//! The human side's rules, pure: lifecycle timers, a customer's message to a
//! conversation a human owns, and presence changes. Each returns moves as data; facts
//! the conversation does not hold come through a read port ([`DeskFacts`]) or as an
//! answer the caller computed ([`away_question`]).

use crate::agent::Presence;
use crate::conversation::Conversation;
use crate::event::{Actor, Event, EventKind};
use crate::id::AgentId;
use crate::lifecycle::{
    Lifecycle, TIMER_AUTO_CLOSE, TIMER_AWAY, TIMER_INACTIVE, TIMER_REMIND, TIMER_RETURN,
};
use crate::ticket::{Action, Resolver, Status};
use crate::time::Timestamp;
use serde_json::json;

/// What a lifecycle timer (`ticket.*`) does when it fires (SPEC §2), decided on the
/// conversation as it is now: a timer whose moment has passed (the customer answered,
/// the agent replied, someone reopened) does nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerMove {
    Nothing,
    /// `solved` becomes `closed` after `auto_close`.
    AutoClose,
    /// The silent customer is asked whether they still need help.
    Remind,
    /// The silent customer's conversation waits for them (`close_status = pending`).
    AwaitCustomer,
    /// The silent customer's conversation is solved, marked so (no survey).
    SolveForInactivity,
    /// Back to the team's queue, keeping its place: the agent did not answer in time
    /// (`no_answer`) or stayed away too long (`away`).
    GiveBack {
        agent: AgentId,
        reason: &'static str,
    },
}

/// The one fact a lifecycle timer needs that the conversation does not hold, asked by
/// the away timer: which agent, away since when (from the timer's payload). The caller
/// answers it from its storage and passes the answer to [`on_lifecycle_timer`].
pub fn away_question(payload: &serde_json::Value) -> Option<(AgentId, Option<i64>)> {
    let agent = payload_agent(payload)?;
    Some((
        agent,
        payload.get("since").and_then(serde_json::Value::as_i64),
    ))
}

/// The agent a lifecycle timer was set for (`{"agent": id}`).
fn payload_agent(payload: &serde_json::Value) -> Option<AgentId> {
    payload.get("agent")?.as_i64().map(AgentId)
}

/// Decides what the lifecycle timer `name` does to `conv`. `agent_still_away` answers
/// [`away_question`] (false when there is none).
pub fn on_lifecycle_timer(
    conv: &Conversation,
    name: &str,
    payload: &serde_json::Value,
    life: &Lifecycle,
    agent_still_away: bool,
) -> TimerMove {
    match (name, conv.status) {
        (TIMER_AUTO_CLOSE, Status::Solved) => TimerMove::AutoClose,
        (TIMER_REMIND, Status::Open | Status::Pending) => TimerMove::Remind,
        (TIMER_INACTIVE, Status::Open | Status::Pending) => match life.close_status {
            Status::Pending if conv.status == Status::Open => TimerMove::AwaitCustomer,
            Status::Pending => TimerMove::Nothing,
            _ => TimerMove::SolveForInactivity,
        },
        (TIMER_AWAY, Status::Open) => match payload_agent(payload) {
            Some(a) if agent_still_away && conv.assignee == Some(a) => TimerMove::GiveBack {
                agent: a,
                reason: "away",
            },
            _ => TimerMove::Nothing,
        },
        (TIMER_RETURN, Status::Open) => match payload_agent(payload) {
            Some(a) if conv.assignee == Some(a) => TimerMove::GiveBack {
                agent: a,
                reason: "no_answer",
            },
            _ => TimerMove::Nothing,
        },
        _ => TimerMove::Nothing,
    }
}

/// Facts about agents and timers that a customer's message to a human-owned
/// conversation may need, answered by the caller's storage inside its transaction (a
/// read port: asked only when the rule needs the answer).
pub trait DeskFacts {
    /// The agent who last had the conversation (who solved it).
    fn last_assignee(&self) -> Option<AgentId>;
    /// `agent` can take the conversation now: online, with room in `team` when it has one.
    fn can_take(&self, agent: AgentId, team: Option<&str>) -> bool;
    /// A return timer is already running for the conversation.
    fn return_timer_pending(&self) -> bool;
}

/// What a customer's message does to a conversation a human owns, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HumanMove {
    /// The customer answered: the reminder and inactivity timers stop.
    StopWaitingForCustomer,
    /// A solved conversation reopened: back to its last agent when they can take it,
    /// else to the back of the team's queue.
    Reopen { back_to: Option<AgentId> },
    /// The assignee must answer by `due_at`, or the conversation returns to the queue.
    ExpectAgent { agent: AgentId, due_at: Timestamp },
}

/// Decides what a customer's message does to `conv` (already moved by
/// [`customer_wrote`]; `before` is the status it had) when a human owns it.
pub fn on_customer_to_human(
    conv: &Conversation,
    before: Status,
    life: &Lifecycle,
    now: Timestamp,
    facts: &dyn DeskFacts,
) -> Vec<HumanMove> {
    if !matches!(conv.status, Status::Open | Status::Pending) {
        return Vec::new();
    }
    let mut moves = vec![HumanMove::StopWaitingForCustomer];
    if before == Status::Solved {
        let back_to = facts
            .last_assignee()
            .filter(|a| facts.can_take(*a, conv.team.as_deref()));
        moves.push(HumanMove::Reopen { back_to });
    } else if let (Some(agent), Some(after)) = (conv.assignee, life.return_after)
        && !facts.return_timer_pending()
    {
        moves.push(HumanMove::ExpectAgent {
            agent,
            due_at: now.plus(after),
        });
    }
    moves
}

/// What an agent's presence change does (SPEC §2, §5).
#[derive(Debug, Clone, PartialEq)]
pub struct PresenceMove {
    /// `presence_changed`, when it changed.
    pub event: Option<Event>,
    /// Their open conversations go back to the queue now (offline, when configured).
    pub give_back_open: bool,
    /// Each open conversation gets this `ticket.away` timer: name, due time, payload.
    pub away_timer: Option<(&'static str, Timestamp, serde_json::Value)>,
}

/// Decides what `agent` going from `from` to `to` does. Their teams' queues drain
/// afterwards in every case (someone may have room now).
pub fn on_presence(
    agent: AgentId,
    from: Presence,
    to: Presence,
    life: &Lifecycle,
    now: Timestamp,
) -> PresenceMove {
    PresenceMove {
        event: (from != to).then(|| {
            Event::new(
                EventKind::PresenceChanged,
                Actor::Agent(agent),
                now,
                json!({ "from": from.as_str(), "to": to.as_str() }),
            )
        }),
        give_back_open: to == Presence::Offline && life.return_on_offline,
        away_timer: match life.away_limit {
            Some(limit) if to == Presence::Away && from != Presence::Away => Some((
                TIMER_AWAY,
                now.plus(limit),
                json!({ "agent": agent, "since": now }),
            )),
            _ => None,
        },
    }
}

/// An agent's action, as the ticket rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentAct {
    /// A reply; `pending`: it asks something of the customer.
    Reply {
        pending: bool,
    },
    Note,
    Claim,
    Transfer,
    SetPending,
    Solve,
    Reopen,
}

/// Why an agent's action is refused in the conversation's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentRefusal {
    /// The bot owns it: only a note or a transfer (which hands it over) is allowed.
    WithBot,
    /// Nobody writes to a closed conversation.
    Closed,
}

/// The ticket moves an agent's action makes (SPEC §2, §5): `first` before anything is
/// written, `then` after the reply is (an agent's question sets `pending`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AgentPlan {
    pub first: Option<Action>,
    pub then: Option<Action>,
}

/// Decides the ticket moves of `act` on a conversation in `status`. Whether a move is
/// allowed at all is still the status machine's ([`super::move_ticket`] refuses what it
/// forbids, such as solving a pending conversation twice).
pub fn agent_plan(status: Status, act: AgentAct) -> Result<AgentPlan, AgentRefusal> {
    if status == Status::Bot && !matches!(act, AgentAct::Note | AgentAct::Transfer) {
        return Err(AgentRefusal::WithBot);
    }
    let plan = |first, then| Ok(AgentPlan { first, then });
    match act {
        AgentAct::Reply { .. } if status == Status::Closed => Err(AgentRefusal::Closed),
        AgentAct::Reply { pending } => {
            // Answering a solved conversation reopens it; a question then waits for the
            // customer (an already pending one stays so).
            let first = (status == Status::Solved).then_some(Action::Reopen);
            let open_after = matches!(status, Status::Open | Status::Solved);
            plan(
                first,
                (pending && open_after).then_some(Action::AwaitCustomer),
            )
        }
        AgentAct::Note | AgentAct::Claim => plan(None, None),
        AgentAct::Transfer => plan(
            match status {
                Status::Bot => Some(Action::Escalate),
                Status::Solved | Status::Pending => Some(Action::Reopen),
                _ => None,
            },
            None,
        ),
        AgentAct::SetPending => plan(Some(Action::AwaitCustomer), None),
        AgentAct::Solve => plan(Some(Action::Solve(Resolver::Agent)), None),
        AgentAct::Reopen => plan(Some(Action::Reopen), None),
    }
}

/// What an agent's action does about who has the conversation (SPEC §5). Two agents
/// claiming at once is the store's to settle, on the locked row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// Nothing: the action does not take it, or it is already the agent's.
    Nothing,
    /// Take it if nobody has it: answering an unassigned conversation takes it.
    IfFree,
    /// Take it, or refuse the action when another agent got it first.
    Required,
    /// Refused: it is another agent's, or not waiting for one (only an open
    /// conversation is claimed).
    Refused,
}

pub fn take(act: AgentAct, status: Status, assignee: Option<AgentId>, me: AgentId) -> Take {
    match act {
        // Claiming twice is harmless.
        AgentAct::Claim if assignee == Some(me) => Take::Nothing,
        AgentAct::Claim if status == Status::Open && assignee.is_none() => Take::Required,
        AgentAct::Claim => Take::Refused,
        AgentAct::Reply { .. } if assignee.is_none() => Take::IfFree,
        _ => Take::Nothing,
    }
}

/// Who solved a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolvedBy {
    Agent(AgentId),
    /// The silent customer's conversation solved itself.
    Inactivity,
    /// The bot; `csat` when its flow's `resolve` asked for the survey.
    Bot {
        csat: bool,
    },
}

/// What follows a solve (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SolvePlan {
    /// Nobody waits for anybody any more: the customer and return timers stop (the
    /// bot has no such timers).
    pub stop_waiting: bool,
    /// When `solved` becomes `closed`.
    pub auto_close_at: Timestamp,
    /// The satisfaction survey, and the agent it rates (`Some(None)`: the bot). Never
    /// after an auto-solve.
    pub survey: Option<Option<AgentId>>,
}

pub fn on_solved(by: SolvedBy, life: &Lifecycle, now: Timestamp) -> SolvePlan {
    SolvePlan {
        stop_waiting: !matches!(by, SolvedBy::Bot { .. }),
        auto_close_at: now.plus(life.auto_close),
        survey: match by {
            SolvedBy::Agent(agent) => life.csat.then_some(Some(agent)),
            SolvedBy::Bot { csat } => (csat && life.csat).then_some(None),
            SolvedBy::Inactivity => None,
        },
    }
}

/// Whether a customer's message answers the satisfaction survey, and with what score:
/// the conversation is solved, its text reads as 1–5, and a survey waits for an answer
/// (`waiting`, the store's fact, asked only then). Such a message keeps the
/// conversation solved; any other reopens it (`customer_wrote`).
pub fn survey_answer<E>(
    status: Status,
    text: &str,
    waiting: impl FnOnce() -> Result<bool, E>,
) -> Result<Option<u8>, E> {
    if status != Status::Solved {
        return Ok(None);
    }
    let Some(score) = crate::lifecycle::parse_csat(text) else {
        return Ok(None);
    };
    Ok(waiting()?.then_some(score))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{ChannelId, ContactId};

    #[test]
    fn claims_take_open_conversations_nobody_has_and_replies_take_unassigned_ones() {
        let (me, other) = (AgentId(1), AgentId(2));
        let reply = AgentAct::Reply { pending: false };
        let cases: &[(AgentAct, Status, Option<AgentId>, Take)] = &[
            (AgentAct::Claim, Status::Open, None, Take::Required),
            (AgentAct::Claim, Status::Open, Some(me), Take::Nothing),
            (AgentAct::Claim, Status::Pending, Some(me), Take::Nothing),
            (AgentAct::Claim, Status::Open, Some(other), Take::Refused),
            (AgentAct::Claim, Status::Pending, None, Take::Refused),
            (AgentAct::Claim, Status::Solved, None, Take::Refused),
            (AgentAct::Claim, Status::Bot, None, Take::Refused),
            (reply, Status::Open, None, Take::IfFree),
            (reply, Status::Solved, None, Take::IfFree),
            (reply, Status::Open, Some(other), Take::Nothing),
            (reply, Status::Open, Some(me), Take::Nothing),
            (AgentAct::Note, Status::Open, None, Take::Nothing),
            (AgentAct::Solve, Status::Open, None, Take::Nothing),
        ];
        for (act, status, assignee, want) in cases {
            assert_eq!(
                take(*act, *status, *assignee, me),
                *want,
                "{act:?} {status:?} {assignee:?}"
            );
        }
    }

    #[test]
    fn a_survey_answer_is_a_score_to_a_solved_conversation_whose_survey_waits() {
        let cases: &[(Status, &str, bool, Option<u8>)] = &[
            (Status::Solved, "4", true, Some(4)),
            (Status::Solved, " 5 ", true, Some(5)),
            (Status::Solved, "4", false, None),
            (Status::Solved, "merci", true, None),
            (Status::Solved, "9", true, None),
            (Status::Open, "4", true, None),
            (Status::Pending, "4", true, None),
            (Status::Bot, "2", true, None),
        ];
        for (status, text, waiting, want) in cases {
            let mut asked = false;
            let got = survey_answer(*status, text, || {
                asked = true;
                Ok::<_, ()>(*waiting)
            })
            .unwrap();
            assert_eq!(got, *want, "{status:?} {text:?} waiting={waiting}");
            // The store is asked only when the rest already says yes.
            assert_eq!(
                asked,
                *status == Status::Solved && crate::lifecycle::parse_csat(text).is_some()
            );
        }
    }

    const NOW: Timestamp = Timestamp(1_000);

    fn conv(status: Status) -> Conversation {
        let mut c = Conversation::start(ChannelId("web".into()), ContactId(7), None, Timestamp(0));
        c.status = status;
        c
    }

    /// (timer, status, assignee, payload agent, away, close_status) → move.
    #[test]
    fn lifecycle_timers_act_only_while_their_moment_lasts() {
        use crate::id::AgentId;
        use crate::lifecycle::*;
        let ann = AgentId(1);
        let bob = AgentId(2);
        let solve = Lifecycle::default();
        let pend = Lifecycle {
            close_status: Status::Pending,
            ..Lifecycle::default()
        };
        let give = |agent, reason| TimerMove::GiveBack { agent, reason };
        type Case<'l> = (
            &'static str,
            Status,
            Option<AgentId>,
            Option<AgentId>,
            bool,
            &'l Lifecycle,
            TimerMove,
        );
        #[rustfmt::skip]
        let cases: Vec<Case<'_>> = vec![
            (TIMER_AUTO_CLOSE, Status::Solved, None, None, false, &solve, TimerMove::AutoClose),
            (TIMER_AUTO_CLOSE, Status::Open, None, None, false, &solve, TimerMove::Nothing),
            (TIMER_REMIND, Status::Open, Some(ann), None, false, &solve, TimerMove::Remind),
            (TIMER_REMIND, Status::Pending, Some(ann), None, false, &solve, TimerMove::Remind),
            (TIMER_REMIND, Status::Solved, Some(ann), None, false, &solve, TimerMove::Nothing),
            (TIMER_INACTIVE, Status::Open, Some(ann), None, false, &solve, TimerMove::SolveForInactivity),
            (TIMER_INACTIVE, Status::Pending, Some(ann), None, false, &solve, TimerMove::SolveForInactivity),
            (TIMER_INACTIVE, Status::Open, Some(ann), None, false, &pend, TimerMove::AwaitCustomer),
            (TIMER_INACTIVE, Status::Pending, Some(ann), None, false, &pend, TimerMove::Nothing),
            (TIMER_INACTIVE, Status::Bot, None, None, false, &solve, TimerMove::Nothing),
            (TIMER_RETURN, Status::Open, Some(ann), Some(ann), false, &solve, give(ann, "no_answer")),
            (TIMER_RETURN, Status::Open, Some(bob), Some(ann), false, &solve, TimerMove::Nothing),
            (TIMER_RETURN, Status::Open, None, Some(ann), false, &solve, TimerMove::Nothing),
            (TIMER_RETURN, Status::Pending, Some(ann), Some(ann), false, &solve, TimerMove::Nothing),
            (TIMER_AWAY, Status::Open, Some(ann), Some(ann), true, &solve, give(ann, "away")),
            (TIMER_AWAY, Status::Open, Some(ann), Some(ann), false, &solve, TimerMove::Nothing),
            (TIMER_AWAY, Status::Open, Some(bob), Some(ann), true, &solve, TimerMove::Nothing),
            ("flow.reminder", Status::Open, Some(ann), None, true, &solve, TimerMove::Nothing),
        ];
        for (name, status, assignee, agent, away, life, want) in cases {
            let mut c = conv(status);
            c.assignee = assignee;
            let payload = match agent {
                Some(a) => json!({ "agent": a.0, "since": 5 }),
                None => json!({}),
            };
            let got = on_lifecycle_timer(&c, name, &payload, life, away);
            assert_eq!(got, want, "{name} in {status} assigned to {assignee:?}");
        }
        assert_eq!(
            away_question(&json!({ "agent": 2, "since": 5 })),
            Some((bob, Some(5)))
        );
        assert_eq!(away_question(&json!({})), None);
    }

    struct Facts {
        last: Option<AgentId>,
        online: &'static [i64],
        pending: bool,
    }

    impl DeskFacts for Facts {
        fn last_assignee(&self) -> Option<AgentId> {
            self.last
        }
        fn can_take(&self, agent: AgentId, _team: Option<&str>) -> bool {
            self.online.contains(&agent.0)
        }
        fn return_timer_pending(&self) -> bool {
            self.pending
        }
    }

    #[test]
    fn a_customer_message_to_a_human_stops_the_wait_and_reopens_to_the_last_agent_if_they_can() {
        use crate::lifecycle::Lifecycle;
        let life = Lifecycle {
            return_after: Some(crate::time::Duration::minutes(5)),
            ..Lifecycle::default()
        };
        let ann = AgentId(1);
        let facts = |last, online, pending| Facts {
            last,
            online,
            pending,
        };
        let mut open = conv(Status::Open);
        open.assignee = Some(ann);
        let due = NOW.plus(crate::time::Duration::minutes(5));
        #[rustfmt::skip]
        let cases: Vec<(Status, Status, Facts, Vec<HumanMove>)> = vec![
            // Reopened: to Ann if she can take it, else the queue.
            (Status::Solved, Status::Open, facts(Some(ann), &[1], false),
             vec![HumanMove::StopWaitingForCustomer, HumanMove::Reopen { back_to: Some(ann) }]),
            (Status::Solved, Status::Open, facts(Some(ann), &[], false),
             vec![HumanMove::StopWaitingForCustomer, HumanMove::Reopen { back_to: None }]),
            (Status::Solved, Status::Open, facts(None, &[1], false),
             vec![HumanMove::StopWaitingForCustomer, HumanMove::Reopen { back_to: None }]),
            // Answered while open or pending: the agent is expected, once.
            (Status::Pending, Status::Open, facts(None, &[], false),
             vec![HumanMove::StopWaitingForCustomer, HumanMove::ExpectAgent { agent: ann, due_at: due }]),
            (Status::Open, Status::Open, facts(None, &[], true),
             vec![HumanMove::StopWaitingForCustomer]),
            // The bot's conversations are not the desk's.
            (Status::Bot, Status::Bot, facts(None, &[], false), vec![]),
        ];
        for (before, now_status, f, want) in cases {
            let mut c = open.clone();
            c.status = now_status;
            assert_eq!(
                on_customer_to_human(&c, before, &life, NOW, &f),
                want,
                "{before} -> {now_status}"
            );
        }
        let mut unassigned = open.clone();
        unassigned.assignee = None;
        assert_eq!(
            on_customer_to_human(
                &unassigned,
                Status::Open,
                &life,
                NOW,
                &facts(None, &[], false)
            ),
            vec![HumanMove::StopWaitingForCustomer],
            "nobody to expect"
        );
    }

    #[test]
    fn presence_changes_give_back_or_time_the_away_agents_conversations() {
        use crate::lifecycle::Lifecycle;
        let ann = AgentId(1);
        let life = Lifecycle {
            return_on_offline: true,
            away_limit: Some(crate::time::Duration::minutes(15)),
            ..Lifecycle::default()
        };
        let off = on_presence(ann, Presence::Online, Presence::Offline, &life, NOW);
        assert!(off.give_back_open);
        assert_eq!(off.away_timer, None);
        assert_eq!(
            off.event.unwrap().data,
            json!({ "from": "online", "to": "offline" })
        );

        let away = on_presence(ann, Presence::Online, Presence::Away, &life, NOW);
        assert!(!away.give_back_open);
        let (name, due, payload) = away.away_timer.unwrap();
        assert_eq!(name, crate::lifecycle::TIMER_AWAY);
        assert_eq!(due, NOW.plus(crate::time::Duration::minutes(15)));
        assert_eq!(payload, json!({ "agent": ann, "since": NOW }));

        let again = on_presence(ann, Presence::Away, Presence::Away, &life, NOW);
        assert_eq!(
            (again.event, again.away_timer),
            (None, None),
            "already away"
        );

        let keep = Lifecycle {
            return_on_offline: false,
            away_limit: None,
            ..Lifecycle::default()
        };
        let off = on_presence(ann, Presence::Online, Presence::Offline, &keep, NOW);
        assert!(!off.give_back_open);
        let away = on_presence(ann, Presence::Online, Presence::Away, &keep, NOW);
        assert_eq!(away.away_timer, None);
    }

    #[test]
    fn agent_actions_move_the_ticket_by_status() {
        use AgentAct as A;
        let reopen = Some(Action::Reopen);
        let wait = Some(Action::AwaitCustomer);
        let p = |first, then| Ok(AgentPlan { first, then });
        #[rustfmt::skip]
        let cases: Vec<(Status, AgentAct, Result<AgentPlan, AgentRefusal>)> = vec![
            (Status::Bot, A::Reply { pending: false }, Err(AgentRefusal::WithBot)),
            (Status::Bot, A::Claim, Err(AgentRefusal::WithBot)),
            (Status::Bot, A::Solve, Err(AgentRefusal::WithBot)),
            (Status::Bot, A::Note, p(None, None)),
            (Status::Bot, A::Transfer, p(Some(Action::Escalate), None)),
            (Status::Open, A::Reply { pending: false }, p(None, None)),
            (Status::Open, A::Reply { pending: true }, p(None, wait)),
            (Status::Pending, A::Reply { pending: true }, p(None, None)),
            (Status::Solved, A::Reply { pending: false }, p(reopen, None)),
            (Status::Solved, A::Reply { pending: true }, p(reopen, wait)),
            (Status::Closed, A::Reply { pending: false }, Err(AgentRefusal::Closed)),
            (Status::Pending, A::Transfer, p(reopen, None)),
            (Status::Solved, A::Transfer, p(reopen, None)),
            (Status::Open, A::Transfer, p(None, None)),
            (Status::Open, A::SetPending, p(wait, None)),
            (Status::Open, A::Solve, p(Some(Action::Solve(Resolver::Agent)), None)),
            (Status::Solved, A::Reopen, p(reopen, None)),
            (Status::Open, A::Claim, p(None, None)),
        ];
        for (status, act, want) in cases {
            assert_eq!(agent_plan(status, act), want, "{act:?} in {status}");
        }
    }

    #[test]
    fn a_solve_closes_later_and_surveys_agents_and_asking_bots_never_auto_solves() {
        use crate::lifecycle::Lifecycle;
        let ann = AgentId(1);
        let on = Lifecycle {
            csat: true,
            ..Lifecycle::default()
        };
        let off = Lifecycle {
            csat: false,
            ..Lifecycle::default()
        };
        let close = NOW.plus(on.auto_close);
        #[rustfmt::skip]
        let cases = [
            (SolvedBy::Agent(ann), &on, true, Some(Some(ann))),
            (SolvedBy::Agent(ann), &off, true, None),
            (SolvedBy::Bot { csat: true }, &on, false, Some(None)),
            (SolvedBy::Bot { csat: true }, &off, false, None),
            (SolvedBy::Bot { csat: false }, &on, false, None),
            (SolvedBy::Inactivity, &on, true, None),
        ];
        for (by, life, stop, survey) in cases {
            let plan = on_solved(by, life, NOW);
            assert_eq!((plan.stop_waiting, plan.survey), (stop, survey), "{by:?}");
            assert_eq!(plan.auto_close_at, close);
        }
    }
}
