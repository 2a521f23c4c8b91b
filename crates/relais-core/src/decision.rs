//! The contract between the pipeline and the bot: a [`ConversationHandler`] turns
//! (conversation, trigger, now) into a [`Decision`], pure data that the runtime commits
//! in one transaction. The flow engine will be one such handler.

use crate::contact::Contact;
use crate::conversation::Conversation;
use crate::event::Event;
use crate::id::MessageId;
use crate::ticket::Action;
use crate::time::Timestamp;

/// What woke the conversation's bot.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger<'a> {
    /// A customer message, already stored.
    Message {
        id: MessageId,
        text: &'a str,
        /// The message started this conversation.
        first: bool,
        /// The id of the button the customer pressed, for a button reply.
        button: Option<&'a str>,
    },
    /// A durable timer fell due.
    Timer {
        name: &'a str,
        payload: &'a serde_json::Value,
    },
    /// The result of an [`HttpCall`] the last decision asked for.
    Http(&'a HttpResult),
    /// A proactive event (SPEC §7) for this conversation's contact.
    Event {
        name: &'a str,
        data: &'a serde_json::Value,
    },
}

/// Everything a handler may look at. No clock, no database: `now` is a value, and the
/// queues are read through [`QueueProbe`] (the store answers it inside the transaction).
#[derive(Debug, Clone)]
pub struct HandlerInput<'a> {
    pub conversation: &'a Conversation,
    pub contact: &'a Contact,
    pub trigger: Trigger<'a>,
    pub now: Timestamp,
    pub queue: &'a dyn QueueProbe,
}

/// Where a handed-off conversation would stand in its team's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueInfo {
    /// 1-based place in the queue; 0 when an agent can take it at once.
    pub position: u32,
    /// Expected wait, when there is history to estimate it from.
    pub wait: Option<crate::time::Duration>,
}

/// Answers "where would this conversation stand if handed to `team` now?".
pub trait QueueProbe: std::fmt::Debug {
    fn probe(&self, team: Option<&str>, priority: crate::conversation::Priority) -> QueueInfo;
}

/// No queue knowledge (simulations, tests): taken at once, no estimate.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoQueue;

impl QueueProbe for NoQueue {
    fn probe(&self, _: Option<&str>, _: crate::conversation::Priority) -> QueueInfo {
        QueueInfo::default()
    }
}

/// A message the bot sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
    pub buttons: Vec<String>,
    /// The registered template this message was sent as, if any.
    pub template: Option<String>,
    /// Choice ids, list or buttons, media, the template's parameters.
    pub rich: crate::rich::Rich,
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Self {
        Reply {
            text: text.into(),
            buttons: Vec::new(),
            template: None,
            rich: crate::rich::Rich::default(),
        }
    }
}

/// A timer to (re)schedule. A pending timer of the same name in the same conversation
/// is replaced: at most one pending timer per (conversation, name).
#[derive(Debug, Clone, PartialEq)]
pub struct TimerRequest {
    pub name: String,
    pub due_at: Timestamp,
    pub payload: serde_json::Value,
}

/// The effects of one step, committed together or not at all.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    pub replies: Vec<Reply>,
    /// A ticket action to apply after the replies (escalate, solve…).
    pub ticket: Option<Action>,
    pub schedule: Vec<TimerRequest>,
    /// Names of pending timers to cancel.
    pub cancel: Vec<String>,
    /// The bot's new private state; `None` keeps it.
    pub bot_state: Option<serde_json::Value>,
    /// Extra events (step entered, …) beyond those the pipeline records itself.
    pub events: Vec<Event>,
    /// With `ticket: Some(Escalate)`: where and why the conversation goes.
    pub handoff: Option<Handoff>,
    /// A call to run after the commit, outside the transaction; its result comes back
    /// as [`Trigger::Http`].
    pub http: Option<HttpCall>,
    /// With `ticket: Some(Solve(Bot))`: the flow asked for a CSAT survey.
    pub csat: bool,
}

/// Where an escalation sends the conversation, and why (SPEC §4).
#[derive(Debug, Clone, PartialEq)]
pub struct Handoff {
    /// `None`: the shared queue.
    pub team: Option<String>,
    pub priority: crate::conversation::Priority,
    pub reason: String,
    pub note: Option<String>,
    /// The team was closed at the time of the handoff.
    pub after_hours: bool,
    /// What the bot collected, kept on the conversation for the agent.
    pub fields: serde_json::Value,
    /// The language the bot spoke: becomes the contact's when it was unknown, so
    /// agents' tools and surveys speak it too.
    pub language: Option<String>,
}

/// An outbound HTTP request a flow step asked for. Runs outside any transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpCall {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub timeout_ms: i64,
    /// Further attempts after the first fails with a timeout, a network error or a 5xx.
    pub retries: u32,
    /// Sent as `Idempotency-Key`, the same on every retry.
    pub idempotency_key: String,
}

/// What came back from an [`HttpCall`], after its retries.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HttpResult {
    Response { status: u16, body: String },
    Failed { error: String },
}

/// The conversation's brain while it is in `bot` status.
pub trait ConversationHandler: Send + Sync {
    fn decide(&self, input: &HandlerInput<'_>) -> Decision;

    /// Whether `decide` may run on a snapshot read before the write batch, so that the
    /// single writer only writes. True when the decision depends only on the input's
    /// conversation, contact, message text and button, `now` and the queue probe — not
    /// on the message's id, which does not exist yet then (it is 0). The store checks
    /// the snapshot is still current inside the batch and decides again if not.
    fn decides_on_snapshot(&self) -> bool {
        false
    }

    /// What personal data the customer's next message must lose before anything keeps
    /// it (a flow's `ask` with `mask: [card, iban]`): the store masks the message, and
    /// the bot sees it masked. Nothing by default.
    fn masks(
        &self,
        _conversation: &crate::conversation::Conversation,
    ) -> Vec<crate::privacy::Kind> {
        Vec::new()
    }
}
