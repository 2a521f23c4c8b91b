//! The conversation step's rules that every caller shares, pure: what moving a ticket,
//! a customer message and a bot's decision do to a conversation, returned as data (the
//! events to record, the moves to make). The human side's rules (lifecycle timers, a
//! customer's message to a human, presence) are in [`desk`]. The store writes what these return; the
//! simulator behind `relais test` applies the same functions, so a rule has one copy.

use crate::contact::Contact;
use crate::conversation::Conversation;
use crate::decision::Decision;
use crate::event::{Actor, Event, EventKind};
use crate::ticket::{self, Action, Resolver, Status, Transition, TransitionError};
use crate::time::Timestamp;
use serde_json::json;

pub mod desk;
pub use desk::*;

/// Moves the conversation's ticket by `action` (status and resolver), and returns the
/// `status_changed` event when the status changed. A closed conversation never moves:
/// a message after `closed` belongs to a new conversation, decided before this.
pub fn move_ticket(
    conv: &mut Conversation,
    action: Action,
    actor: Actor,
    now: Timestamp,
) -> Result<Option<Event>, TransitionError> {
    let before = conv.ticket();
    let refused = TransitionError {
        from: before.status,
        action,
    };
    let Transition::To(after) = ticket::apply(before, action)? else {
        return Err(refused);
    };
    conv.status = after.status;
    conv.resolved_by = after.resolved_by;
    Ok((after.status != before.status).then(|| {
        Event::new(
            EventKind::StatusChanged,
            actor,
            now,
            json!({ "from": before.status.as_str(), "to": after.status.as_str() }),
        )
    }))
}

/// A customer's message to a live conversation (SPEC §2): pending and solved reopen, and
/// a conversation the bot had solved starts the bot again from its flow's start (its bot
/// state is cleared).
pub fn customer_wrote(
    conv: &mut Conversation,
    actor: Actor,
    now: Timestamp,
) -> Result<Option<Event>, TransitionError> {
    let before = conv.status;
    let changed = move_ticket(conv, Action::CustomerMessage, actor, now)?;
    if before == Status::Solved && conv.status == Status::Bot {
        conv.bot_state = json!({});
    }
    Ok(changed)
}

/// What a bot's decision did to the conversation, for the caller to record and follow.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BotApplied {
    /// In order: the status change, and `escalated` for an escalation that named no
    /// handoff (a handoff's own event is among the decision's events).
    pub events: Vec<Event>,
    /// The bot handed over: the conversation joins its team's queue once saved.
    pub escalated: bool,
    /// The bot solved it; `true` when its `resolve` asked for the survey.
    pub bot_solved: Option<bool>,
    /// The language the bot spoke, to become the contact's (it had none).
    pub contact_language: Option<String>,
}

/// Applies the conversation-level part of a bot's decision: the ticket action, what a
/// handoff records on the conversation (team, priority, reason, collected fields) and
/// the bot's new state (the fields and the state are moved out of the decision, not
/// copied). Replies, timers and the decision's own events are the caller's
/// to write.
pub fn apply_bot_decision(
    conv: &mut Conversation,
    contact: &Contact,
    decision: &mut Decision,
    now: Timestamp,
) -> Result<BotApplied, TransitionError> {
    let mut out = BotApplied::default();
    if let Some(action) = decision.ticket {
        out.events
            .extend(move_ticket(conv, action, Actor::Bot, now)?);
        if action == Action::Escalate && decision.handoff.is_none() {
            out.events.push(Event::new(
                EventKind::Escalated,
                Actor::Bot,
                now,
                json!({ "contact": contact.id }),
            ));
        }
        out.escalated = action == Action::Escalate;
        if action == Action::Solve(Resolver::Bot) {
            out.bot_solved = Some(decision.csat);
        }
    }
    if let Some(h) = &mut decision.handoff {
        if contact.language.is_none() {
            out.contact_language.clone_from(&h.language);
        }
        conv.team.clone_from(&h.team);
        conv.priority = h.priority;
        conv.escalation_reason = Some(h.reason.clone());
        conv.fields = std::mem::take(&mut h.fields);
    }
    if let Some(state) = decision.bot_state.take() {
        conv.bot_state = state;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Priority;
    use crate::decision::Handoff;
    use crate::id::{ChannelId, ContactId};

    const NOW: Timestamp = Timestamp(1_000);

    fn conv(status: Status, resolved_by: Option<Resolver>) -> Conversation {
        let mut c = Conversation::start(ChannelId("web".into()), ContactId(7), None, Timestamp(0));
        c.status = status;
        c.resolved_by = resolved_by;
        c.bot_state = json!({ "step": "menu" });
        c
    }

    fn contact(language: Option<&str>) -> Contact {
        Contact {
            id: ContactId(7),
            name: None,
            language: language.map(str::to_owned),
            tier: "standard".into(),
            fields: json!({}),
        }
    }

    fn changed(e: &Option<Event>) -> Option<(String, String)> {
        e.as_ref().map(|e| {
            assert_eq!(e.kind, EventKind::StatusChanged);
            (
                e.data["from"].as_str().unwrap().to_owned(),
                e.data["to"].as_str().unwrap().to_owned(),
            )
        })
    }

    /// (status, resolver) before a customer message → status after, event, bot state kept.
    #[test]
    fn a_customer_message_reopens_and_restarts_a_bot_solved_conversation() {
        let cases: [(Status, Option<Resolver>, Status, bool, bool); 5] = [
            (Status::Bot, None, Status::Bot, false, true),
            (Status::Open, None, Status::Open, false, true),
            (Status::Pending, None, Status::Open, true, true),
            (
                Status::Solved,
                Some(Resolver::Agent),
                Status::Open,
                true,
                true,
            ),
            (
                Status::Solved,
                Some(Resolver::Bot),
                Status::Bot,
                true,
                false,
            ),
        ];
        for (before, by, after, event, keeps_state) in cases {
            let mut c = conv(before, by);
            let e = customer_wrote(&mut c, Actor::Contact(ContactId(7)), NOW).unwrap();
            assert_eq!(c.status, after, "{before} by {by:?}");
            assert_eq!(e.is_some(), event, "{before} by {by:?}");
            assert_eq!(
                c.bot_state == json!({ "step": "menu" }),
                keeps_state,
                "{before}"
            );
            if event {
                assert_eq!(
                    changed(&e),
                    Some((before.as_str().into(), after.as_str().into()))
                );
                assert_eq!(e.unwrap().actor, Actor::Contact(ContactId(7)));
            }
        }
        let mut closed = conv(Status::Closed, Some(Resolver::Agent));
        assert!(customer_wrote(&mut closed, Actor::System, NOW).is_err());
        assert_eq!(closed.status, Status::Closed, "a refusal changes nothing");
    }

    #[test]
    fn a_handoff_decision_escalates_and_records_what_the_bot_collected() {
        let mut c = conv(Status::Bot, None);
        let d = Decision {
            ticket: Some(Action::Escalate),
            handoff: Some(Handoff {
                team: Some("billing".into()),
                priority: Priority::High,
                reason: "requested".into(),
                note: None,
                after_hours: false,
                fields: json!({ "order_id": "A123" }),
                language: Some("it".into()),
            }),
            bot_state: Some(json!({})),
            ..Decision::default()
        };
        let out = apply_bot_decision(&mut c, &contact(None), &mut d.clone(), NOW).unwrap();
        assert_eq!(c.status, Status::Open);
        assert_eq!(
            (
                c.team.as_deref(),
                c.priority,
                c.escalation_reason.as_deref()
            ),
            (Some("billing"), Priority::High, Some("requested"))
        );
        assert_eq!(c.fields, json!({ "order_id": "A123" }));
        assert_eq!(c.bot_state, json!({}));
        assert!(out.escalated);
        assert_eq!(out.bot_solved, None);
        assert_eq!(out.contact_language.as_deref(), Some("it"));
        assert_eq!(
            out.events.len(),
            1,
            "the handoff's own event is the decision's"
        );
        assert_eq!(
            changed(&out.events.first().cloned()),
            Some(("bot".into(), "open".into()))
        );
        // A contact whose language is known keeps it.
        let mut c = conv(Status::Bot, None);
        let out = apply_bot_decision(&mut c, &contact(Some("fr")), &mut d.clone(), NOW).unwrap();
        assert_eq!(out.contact_language, None);
    }

    #[test]
    fn an_escalation_without_handoff_records_its_own_event_and_a_resolve_asks_the_survey() {
        let mut c = conv(Status::Bot, None);
        let d = Decision {
            ticket: Some(Action::Escalate),
            ..Decision::default()
        };
        let out = apply_bot_decision(&mut c, &contact(None), &mut d.clone(), NOW).unwrap();
        let kinds: Vec<EventKind> = out.events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::StatusChanged, EventKind::Escalated]);
        assert_eq!(c.bot_state, json!({ "step": "menu" }), "no new state: kept");

        let mut c = conv(Status::Bot, None);
        let d = Decision {
            ticket: Some(Action::Solve(Resolver::Bot)),
            csat: true,
            ..Decision::default()
        };
        let out = apply_bot_decision(&mut c, &contact(None), &mut d.clone(), NOW).unwrap();
        assert_eq!(
            (c.status, c.resolved_by),
            (Status::Solved, Some(Resolver::Bot))
        );
        assert_eq!(out.bot_solved, Some(true));
        assert!(!out.escalated);
    }

    #[test]
    fn a_decision_the_status_refuses_changes_nothing() {
        let mut c = conv(Status::Open, None);
        let before = c.clone();
        let d = Decision {
            ticket: Some(Action::Escalate),
            bot_state: Some(json!({})),
            ..Decision::default()
        };
        assert!(apply_bot_decision(&mut c, &contact(None), &mut d.clone(), NOW).is_err());
        assert_eq!(c, before);
    }
}
