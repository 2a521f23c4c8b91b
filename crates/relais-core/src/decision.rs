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
    },
    /// A durable timer fell due.
    Timer {
        name: &'a str,
        payload: &'a serde_json::Value,
    },
}

/// Everything a handler may look at. No clock, no database: `now` is a value.
#[derive(Debug, Clone)]
pub struct HandlerInput<'a> {
    pub conversation: &'a Conversation,
    pub contact: &'a Contact,
    pub trigger: Trigger<'a>,
    pub now: Timestamp,
}

/// A message the bot sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
    pub buttons: Vec<String>,
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Self {
        Reply {
            text: text.into(),
            buttons: Vec::new(),
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
}

/// The conversation's brain while it is in `bot` status.
pub trait ConversationHandler: Send + Sync {
    fn decide(&self, input: &HandlerInput<'_>) -> Decision;
}
