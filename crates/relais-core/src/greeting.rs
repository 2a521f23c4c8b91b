//! The built-in greeting bot: a minimal [`ConversationHandler`] used until a workspace
//! has flows. It greets a new contact, acknowledges each message with its number in
//! the conversation, and asks whether the customer is still there after a silence.

use crate::decision::{ConversationHandler, Decision, HandlerInput, Reply, TimerRequest, Trigger};
use crate::time::Duration;
use serde_json::json;

/// Name of the silence timer the greeting bot schedules.
pub const NUDGE_TIMER: &str = "greeting.nudge";

#[derive(Debug, Clone)]
pub struct GreetingBot {
    /// Silence after which the bot asks whether the customer is still there.
    pub nudge_after: Duration,
}

impl Default for GreetingBot {
    fn default() -> Self {
        GreetingBot {
            nudge_after: Duration::minutes(10),
        }
    }
}

impl ConversationHandler for GreetingBot {
    fn decide(&self, input: &HandlerInput<'_>) -> Decision {
        let count = input.conversation.bot_state["count"].as_i64().unwrap_or(0);
        match input.trigger {
            Trigger::Message { first, .. } => {
                let count = count + 1;
                let mut replies = Vec::new();
                if first {
                    let hello = match &input.contact.name {
                        Some(name) => format!("Hello {name}! Welcome to Relais."),
                        None => "Hello! Welcome to Relais.".to_owned(),
                    };
                    replies.push(Reply::text(hello));
                }
                replies.push(Reply::text(format!(
                    "Message #{count} received. No flow is configured yet, so a person will read it."
                )));
                Decision {
                    replies,
                    schedule: vec![TimerRequest {
                        name: NUDGE_TIMER.into(),
                        due_at: input.now.plus(self.nudge_after),
                        payload: json!({ "after_message": count }),
                    }],
                    bot_state: Some(json!({ "count": count })),
                    ..Decision::default()
                }
            }
            Trigger::Timer { name, .. } if name == NUDGE_TIMER => Decision {
                replies: vec![Reply::text(
                    "Are you still there? Write anything to continue.",
                )],
                ..Decision::default()
            },
            Trigger::Timer { .. } | Trigger::Http(_) | Trigger::Event { .. } => Decision::default(),
        }
    }

    fn decides_on_snapshot(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::Contact;
    use crate::conversation::{Conversation, Priority};
    use crate::id::{ChannelId, ContactId, ConversationId, MessageId};
    use crate::ticket::Status;
    use crate::time::Timestamp;

    fn conversation(state: serde_json::Value) -> Conversation {
        Conversation {
            id: ConversationId(1),
            channel: ChannelId("api".into()),
            contact: ContactId(1),
            status: Status::Bot,
            team: None,
            assignee: None,
            priority: Priority::Normal,
            tags: vec![],
            escalation_reason: None,
            resolved_by: None,
            fields: json!({}),
            bot_state: state,
            previous: None,
            last_seq: 0,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    fn contact(name: Option<&str>) -> Contact {
        Contact {
            id: ContactId(1),
            name: name.map(str::to_owned),
            language: None,
            tier: "standard".into(),
            fields: json!({}),
        }
    }

    #[test]
    fn greets_first_then_counts_and_schedules_a_nudge() {
        let bot = GreetingBot::default();
        let conv = conversation(json!({}));
        let alice = contact(Some("Alice"));
        let first = bot.decide(&HandlerInput {
            conversation: &conv,
            contact: &alice,
            trigger: Trigger::Message {
                id: MessageId(1),
                text: "hi",
                first: true,
                button: None,
            },
            now: Timestamp(1_000),
            queue: &crate::decision::NoQueue,
        });
        let texts: Vec<_> = first.replies.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts[0], "Hello Alice! Welcome to Relais.");
        assert!(texts[1].starts_with("Message #1 received"));
        assert_eq!(first.schedule[0].due_at, Timestamp(1_000 + 600_000));
        assert_eq!(first.bot_state, Some(json!({"count": 1})));

        let conv = conversation(json!({"count": 41}));
        let later = bot.decide(&HandlerInput {
            conversation: &conv,
            contact: &alice,
            trigger: Trigger::Message {
                id: MessageId(2),
                text: "{{ 7*7 }}",
                first: false,
                button: None,
            },
            now: Timestamp(5),
            queue: &crate::decision::NoQueue,
        });
        assert_eq!(later.replies.len(), 1);
        assert!(later.replies[0].text.starts_with("Message #42 received"));
    }

    #[test]
    fn the_nudge_timer_asks_and_other_timers_do_nothing() {
        let bot = GreetingBot::default();
        let conv = conversation(json!({"count": 1}));
        let c = contact(None);
        let payload = json!({});
        let nudge = bot.decide(&HandlerInput {
            conversation: &conv,
            contact: &c,
            trigger: Trigger::Timer {
                name: NUDGE_TIMER,
                payload: &payload,
            },
            now: Timestamp(0),
            queue: &crate::decision::NoQueue,
        });
        assert_eq!(
            nudge.replies,
            vec![Reply::text(
                "Are you still there? Write anything to continue."
            )]
        );
        let other = bot.decide(&HandlerInput {
            conversation: &conv,
            contact: &c,
            trigger: Trigger::Timer {
                name: "unknown",
                payload: &payload,
            },
            now: Timestamp(0),
            queue: &crate::decision::NoQueue,
        });
        assert_eq!(other, Decision::default());
    }
}
