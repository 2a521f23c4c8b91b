//! The append-only event log: one record per thing that happened. Transcripts,
//! audit and KPIs are read from it, so each event says who or what caused it
//! ([`Actor`]), in which flow and step, and when.

use crate::id::{AgentId, ContactId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Who or what caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    Contact(ContactId),
    Bot,
    Agent(AgentId),
    System,
}

impl Actor {
    pub fn kind_str(self) -> &'static str {
        match self {
            Actor::Contact(_) => "contact",
            Actor::Bot => "bot",
            Actor::Agent(_) => "agent",
            Actor::System => "system",
        }
    }

    pub fn id(self) -> Option<i64> {
        match self {
            Actor::Contact(c) => Some(c.0),
            Actor::Agent(a) => Some(a.0),
            Actor::Bot | Actor::System => None,
        }
    }

    pub fn from_parts(kind: &str, id: Option<i64>) -> Option<Actor> {
        match (kind, id) {
            ("contact", Some(i)) => Some(Actor::Contact(ContactId(i))),
            ("agent", Some(i)) => Some(Actor::Agent(AgentId(i))),
            ("bot", _) => Some(Actor::Bot),
            ("system", _) => Some(Actor::System),
            _ => None,
        }
    }
}

/// What happened. The names are stable: KPIs and exports read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ConversationStarted,
    MessageReceived,
    MessageQueued,
    MessageSent,
    DeliveryStatusChanged,
    DeliveryFailed,
    /// A queued message moved to the channel's fallback (window closed, failed for good).
    MessageRerouted,
    StatusChanged,
    StepEntered,
    Escalated,
    Assigned,
    TimerScheduled,
    TimerFired,
    AdminAction,
    HttpCalled,
    FlowWarning,
    ProactiveEvent,
    Unassigned,
    Transferred,
    NoteAdded,
    CsatSent,
    CsatAnswered,
    CsatUndeliverable,
    /// A contact opted out of (or back into) a channel kind by message.
    ConsentChanged,
    PresenceChanged,
    /// A contact's own details changed (a web chat visitor gave an email).
    ContactUpdated,
    /// The bot classified a customer's message (intent and margin) or searched the
    /// knowledge base for it (article and score).
    MessageUnderstood,
}

impl EventKind {
    pub const ALL: [EventKind; 27] = [
        EventKind::ConversationStarted,
        EventKind::MessageReceived,
        EventKind::MessageQueued,
        EventKind::MessageSent,
        EventKind::DeliveryStatusChanged,
        EventKind::DeliveryFailed,
        EventKind::MessageRerouted,
        EventKind::StatusChanged,
        EventKind::StepEntered,
        EventKind::Escalated,
        EventKind::Assigned,
        EventKind::TimerScheduled,
        EventKind::TimerFired,
        EventKind::AdminAction,
        EventKind::HttpCalled,
        EventKind::FlowWarning,
        EventKind::ProactiveEvent,
        EventKind::Unassigned,
        EventKind::Transferred,
        EventKind::NoteAdded,
        EventKind::CsatSent,
        EventKind::CsatAnswered,
        EventKind::CsatUndeliverable,
        EventKind::ConsentChanged,
        EventKind::PresenceChanged,
        EventKind::ContactUpdated,
        EventKind::MessageUnderstood,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ConversationStarted => "conversation_started",
            EventKind::MessageReceived => "message_received",
            EventKind::MessageQueued => "message_queued",
            EventKind::MessageSent => "message_sent",
            EventKind::DeliveryStatusChanged => "delivery_status_changed",
            EventKind::DeliveryFailed => "delivery_failed",
            EventKind::MessageRerouted => "message_rerouted",
            EventKind::StatusChanged => "status_changed",
            EventKind::StepEntered => "step_entered",
            EventKind::Escalated => "escalated",
            EventKind::Assigned => "assigned",
            EventKind::TimerScheduled => "timer_scheduled",
            EventKind::TimerFired => "timer_fired",
            EventKind::AdminAction => "admin_action",
            EventKind::HttpCalled => "http_called",
            EventKind::FlowWarning => "flow_warning",
            EventKind::ProactiveEvent => "proactive_event",
            EventKind::Unassigned => "unassigned",
            EventKind::Transferred => "transferred",
            EventKind::NoteAdded => "note_added",
            EventKind::CsatSent => "csat_sent",
            EventKind::CsatAnswered => "csat_answered",
            EventKind::CsatUndeliverable => "csat_undeliverable",
            EventKind::ConsentChanged => "consent_changed",
            EventKind::ContactUpdated => "contact_updated",
            EventKind::PresenceChanged => "presence_changed",
            EventKind::MessageUnderstood => "message_understood",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where in a bot script an event happened.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FlowPosition {
    pub flow: String,
    pub version: i64,
    pub step: String,
}

/// One record of the log, before it is stored (the store adds id and conversation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    pub actor: Actor,
    pub at: Timestamp,
    pub flow: Option<FlowPosition>,
    /// Kind-specific details, a JSON object. Never secrets.
    pub data: serde_json::Value,
}

impl Event {
    pub fn new(kind: EventKind, actor: Actor, at: Timestamp, data: serde_json::Value) -> Self {
        Event {
            kind,
            actor,
            at,
            flow: None,
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_actors_round_trip_through_their_stored_form() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        for a in [
            Actor::Contact(ContactId(3)),
            Actor::Agent(AgentId(4)),
            Actor::Bot,
            Actor::System,
        ] {
            assert_eq!(Actor::from_parts(a.kind_str(), a.id()), Some(a));
        }
        assert_eq!(Actor::from_parts("agent", None), None);
    }
}
