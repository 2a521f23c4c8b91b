//! Collision detection: which agents have a conversation's page open and who is
//! typing there. Each open page says "I am here" every few seconds (and "typing" while
//! its agent types); what was not said again within `HERE_MS` is gone. Kept in memory
//! on this node: ephemeral by nature, never stored.

use relais_core::id::{AgentId, ConversationId};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;

/// How long a page counts as open after its last "here" (pages say it every 10 s).
pub const HERE_MS: i64 = 25_000;
/// How long "typing" holds after the last keystroke report.
pub const TYPING_MS: i64 = 6_000;

#[derive(Default)]
pub struct Watchers {
    by_conversation: Mutex<HashMap<ConversationId, Vec<Watch>>>,
}

#[derive(Debug, Clone)]
struct Watch {
    agent: AgentId,
    name: String,
    until: i64,
    typing_until: i64,
}

/// Another agent on the same conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Other {
    pub name: String,
    pub typing: bool,
}

impl Watchers {
    /// `agent` is on the conversation's page at `now` (typing or not); answers the
    /// other agents there, by name.
    pub fn here(
        &self,
        conversation: ConversationId,
        agent: AgentId,
        name: &str,
        typing: bool,
        now: i64,
    ) -> Vec<Other> {
        let mut map = self
            .by_conversation
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // Forget pages gone quiet everywhere, so the map does not grow.
        map.retain(|_, list| {
            list.retain(|w| w.until > now);
            !list.is_empty()
        });
        let list = map.entry(conversation).or_default();
        match list.iter_mut().find(|w| w.agent == agent) {
            Some(w) => {
                w.until = now + HERE_MS;
                if typing {
                    w.typing_until = now + TYPING_MS;
                }
            }
            None => list.push(Watch {
                agent,
                name: name.to_owned(),
                until: now + HERE_MS,
                typing_until: if typing { now + TYPING_MS } else { 0 },
            }),
        }
        list.iter()
            .filter(|w| w.agent != agent)
            .map(|w| Other {
                name: w.name.clone(),
                typing: w.typing_until > now,
            })
            .collect()
    }

    /// The page was closed: the agent is no longer there.
    pub fn gone(&self, conversation: ConversationId, agent: AgentId) {
        let mut map = self
            .by_conversation
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(list) = map.get_mut(&conversation) {
            list.retain(|w| w.agent != agent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: ConversationId = ConversationId(7);

    #[test]
    fn agents_on_the_same_conversation_see_each_other_and_who_types() {
        let w = Watchers::default();
        assert!(w.here(C, AgentId(1), "Ann", false, 0).is_empty());
        assert_eq!(
            w.here(C, AgentId(2), "Bob", true, 1_000),
            [Other {
                name: "Ann".into(),
                typing: false
            }]
        );
        assert_eq!(
            w.here(C, AgentId(1), "Ann", false, 2_000),
            [Other {
                name: "Bob".into(),
                typing: true
            }]
        );
        // Typing fades; the page stays while it says so.
        assert_eq!(
            w.here(C, AgentId(1), "Ann", false, 1_000 + TYPING_MS + 1),
            [Other {
                name: "Bob".into(),
                typing: false
            }]
        );
        // Another conversation is another room.
        assert!(
            w.here(ConversationId(8), AgentId(3), "Cy", false, 3_000)
                .is_empty()
        );
    }

    #[test]
    fn a_quiet_or_closed_page_is_gone() {
        let w = Watchers::default();
        w.here(C, AgentId(1), "Ann", false, 0);
        assert!(w.here(C, AgentId(2), "Bob", false, HERE_MS + 1).is_empty());
        w.here(C, AgentId(1), "Ann", false, HERE_MS + 2);
        w.gone(C, AgentId(1));
        assert!(w.here(C, AgentId(2), "Bob", false, HERE_MS + 3).is_empty());
    }
}
