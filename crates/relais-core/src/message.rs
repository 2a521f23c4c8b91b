//! Messages and their delivery status, which only moves forward.

use crate::id::{AgentId, ChannelId, ConversationId, MessageId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
    /// An internal note, never sent to the customer.
    Note,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Note => "note",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Direction::Inbound, Direction::Outbound, Direction::Note]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// Who wrote a message, or caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorKind {
    Contact,
    Bot,
    Agent,
    System,
}

impl AuthorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorKind::Contact => "contact",
            AuthorKind::Bot => "bot",
            AuthorKind::Agent => "agent",
            AuthorKind::System => "system",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            AuthorKind::Contact,
            AuthorKind::Bot,
            AuthorKind::Agent,
            AuthorKind::System,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// Delivery status of an outbound message: `queued < sent < delivered < read`;
/// `failed` is terminal. Providers report out of order, so the furthest state wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Queued,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 5] = [
        DeliveryStatus::Queued,
        DeliveryStatus::Sent,
        DeliveryStatus::Delivered,
        DeliveryStatus::Read,
        DeliveryStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        DeliveryStatus::ALL.into_iter().find(|d| d.as_str() == s)
    }

    fn rank(self) -> u8 {
        match self {
            DeliveryStatus::Queued => 0,
            DeliveryStatus::Sent => 1,
            DeliveryStatus::Delivered => 2,
            DeliveryStatus::Read => 3,
            DeliveryStatus::Failed => 4,
        }
    }

    /// The status after a report of `reported`, or `None` when the report changes nothing
    /// (it is older, equal, or the message already failed). A message that reached the
    /// customer (`delivered`, `read`) cannot fail afterwards.
    pub fn advance(self, reported: DeliveryStatus) -> Option<DeliveryStatus> {
        use DeliveryStatus as D;
        match (self, reported) {
            (D::Failed, _) => None,
            (D::Delivered | D::Read, D::Failed) => None,
            (_, D::Failed) => Some(D::Failed),
            (cur, new) if new.rank() > cur.rank() => Some(new),
            _ => None,
        }
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub conversation: ConversationId,
    /// The channel that carried it: the conversation's, or another after a fallback or
    /// when the customer answered by email.
    pub channel: ChannelId,
    /// Position in the conversation, 1-based, gap-free.
    pub seq: i64,
    pub direction: Direction,
    pub author: AuthorKind,
    pub agent: Option<AgentId>,
    pub text: String,
    pub buttons: Vec<String>,
    /// Outbound only.
    pub status: Option<DeliveryStatus>,
    /// The provider's id (inbound: the de-duplication key; outbound: set when sent).
    pub external_id: Option<String>,
    /// For bot replies: the inbound message that caused them.
    pub reply_to: Option<MessageId>,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryStatus as D;

    #[test]
    fn status_only_moves_forward_and_failed_is_terminal() {
        // Every ordered pair, checked against the rule written out.
        for cur in D::ALL {
            for new in D::ALL {
                let got = cur.advance(new);
                let want = match (cur, new) {
                    (D::Failed, _) => None,
                    (D::Delivered | D::Read, D::Failed) => None,
                    (_, D::Failed) => Some(D::Failed),
                    _ if new.rank() > cur.rank() => Some(new),
                    _ => None,
                };
                assert_eq!(got, want, "{cur:?} then {new:?}");
            }
        }
        assert_eq!(
            D::Sent.advance(D::Read),
            Some(D::Read),
            "delivered may be skipped"
        );
        assert_eq!(
            D::Read.advance(D::Delivered),
            None,
            "late delivered never regresses"
        );
        assert_eq!(D::Queued.advance(D::Failed), Some(D::Failed));
    }

    #[test]
    fn any_shuffle_of_reports_ends_at_the_furthest_state() {
        let reports = [D::Sent, D::Delivered, D::Read];
        // All 6 orders of three reports.
        let orders = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        for order in orders {
            let mut s = D::Queued;
            for i in order {
                if let Some(n) = s.advance(reports[i]) {
                    s = n;
                }
            }
            assert_eq!(s, D::Read, "{order:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for d in D::ALL {
            assert_eq!(D::parse(d.as_str()), Some(d));
        }
        for a in ["contact", "bot", "agent", "system"] {
            assert_eq!(AuthorKind::parse(a).unwrap().as_str(), a);
        }
        for a in ["inbound", "outbound", "note"] {
            assert_eq!(Direction::parse(a).unwrap().as_str(), a);
        }
    }
}
