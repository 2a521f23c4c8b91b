//! Conversations and the ticket they carry (SPEC §1–2).

use crate::id::{AgentId, ChannelId, ContactId, ConversationId};
use crate::ticket::{Resolver, Status, Ticket};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Queue order: `urgent` > `high` > `normal` > `low`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// One thread between a contact and the business on one channel, with its ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub channel: ChannelId,
    pub contact: ContactId,
    pub status: Status,
    pub team: Option<String>,
    pub assignee: Option<AgentId>,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub escalation_reason: Option<String>,
    pub resolved_by: Option<Resolver>,
    /// Custom fields collected by the bot.
    pub fields: serde_json::Value,
    /// The bot's own state (the flow run); opaque to everything but the handler.
    pub bot_state: serde_json::Value,
    /// The closed conversation this one follows, if any.
    pub previous: Option<ConversationId>,
    /// Sequence number of the last message; messages are numbered 1, 2, 3… per conversation.
    pub last_seq: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Conversation {
    /// A new conversation, in `bot`, with no id yet (the store assigns it).
    pub fn start(
        channel: ChannelId,
        contact: ContactId,
        previous: Option<ConversationId>,
        now: Timestamp,
    ) -> Conversation {
        Conversation {
            id: ConversationId(0),
            channel,
            contact,
            status: Status::Bot,
            team: None,
            assignee: None,
            priority: Priority::Normal,
            tags: Vec::new(),
            escalation_reason: None,
            resolved_by: None,
            fields: serde_json::json!({}),
            bot_state: serde_json::json!({}),
            previous,
            last_seq: 0,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn ticket(&self) -> Ticket {
        Ticket {
            status: self.status,
            resolved_by: self.resolved_by,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_order_for_queues() {
        assert!(Priority::Urgent > Priority::High);
        assert!(Priority::High > Priority::Normal);
        assert!(Priority::Normal > Priority::Low);
        for p in Priority::ALL {
            assert_eq!(Priority::parse(p.as_str()), Some(p));
        }
    }
}
