//! The ticket status machine of SPEC §2: which status follows which action.
//!
//! `bot → open → pending → solved → closed`, with reopen. [`apply`] is the only place
//! that decides a transition; everything else asks it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The bot owns it.
    Bot,
    /// A human owns it (queued or assigned).
    Open,
    /// An agent waits for the customer.
    Pending,
    Solved,
    /// Final: a later message starts a new conversation.
    Closed,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Bot,
        Status::Open,
        Status::Pending,
        Status::Solved,
        Status::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Bot => "bot",
            Status::Open => "open",
            Status::Pending => "pending",
            Status::Solved => "solved",
            Status::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// A conversation is live until it is closed.
    pub fn is_live(self) -> bool {
        self != Status::Closed
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who solved a conversation. Auto-solved (`inactivity`) conversations never get a survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolver {
    Bot,
    Agent,
    Inactivity,
}

impl Resolver {
    pub const ALL: [Resolver; 3] = [Resolver::Bot, Resolver::Agent, Resolver::Inactivity];

    pub fn as_str(self) -> &'static str {
        match self {
            Resolver::Bot => "bot",
            Resolver::Agent => "agent",
            Resolver::Inactivity => "inactivity",
        }
    }

    pub fn parse(s: &str) -> Option<Resolver> {
        Resolver::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What happens to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The bot hands over to humans (SPEC §4).
    Escalate,
    /// An agent asks something of the customer and waits (or inactivity with `close_status = pending`).
    AwaitCustomer,
    /// The customer wrote.
    CustomerMessage,
    Solve(Resolver),
    /// `auto_close` elapsed after solving.
    AutoClose,
    /// An agent reopens a solved or pending conversation.
    Reopen,
    /// An agent gives the conversation back to the bot.
    HandBackToBot,
}

impl Action {
    pub const ALL: [Action; 9] = [
        Action::Escalate,
        Action::AwaitCustomer,
        Action::CustomerMessage,
        Action::Solve(Resolver::Bot),
        Action::Solve(Resolver::Agent),
        Action::Solve(Resolver::Inactivity),
        Action::AutoClose,
        Action::Reopen,
        Action::HandBackToBot,
    ];
}

/// The ticket fields the machine reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    pub status: Status,
    pub resolved_by: Option<Resolver>,
}

/// The result of an allowed action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The ticket moves to (or stays in) this state.
    To(Ticket),
    /// The conversation is closed: the message belongs to a new conversation, in `bot`,
    /// linked to this one.
    NewConversation,
}

/// An action the current status does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a conversation in status {from} cannot take the action {action:?}")]
pub struct TransitionError {
    pub from: Status,
    pub action: Action,
}

/// Decides the next ticket state. Pure and total: every (status, action) pair has an answer.
pub fn apply(ticket: Ticket, action: Action) -> Result<Transition, TransitionError> {
    use Action as A;
    use Status as S;
    let to = |status, resolved_by| {
        Ok(Transition::To(Ticket {
            status,
            resolved_by,
        }))
    };
    let refuse = Err(TransitionError {
        from: ticket.status,
        action,
    });
    match (ticket.status, action) {
        (S::Bot, A::Escalate) => to(S::Open, None),
        (S::Bot, A::CustomerMessage) => to(S::Bot, None),
        (S::Bot, A::Solve(r @ (Resolver::Bot | Resolver::Agent))) => to(S::Solved, Some(r)),

        (S::Open, A::CustomerMessage) => to(S::Open, None),
        (S::Open | S::Pending, A::AwaitCustomer) => to(S::Pending, None),
        (S::Open | S::Pending, A::Solve(r @ (Resolver::Agent | Resolver::Inactivity))) => {
            to(S::Solved, Some(r))
        }
        (S::Open | S::Pending, A::HandBackToBot) => to(S::Bot, None),
        (S::Pending, A::CustomerMessage | A::Reopen) => to(S::Open, None),

        // A bot-solved conversation restarts the bot; a human-solved one reopens to humans.
        (S::Solved, A::CustomerMessage) => match ticket.resolved_by {
            Some(Resolver::Bot) => to(S::Bot, None),
            _ => to(S::Open, None),
        },
        (S::Solved, A::Reopen) => to(S::Open, None),
        (S::Solved, A::AutoClose) => to(S::Closed, ticket.resolved_by),

        (S::Closed, A::CustomerMessage) => Ok(Transition::NewConversation),
        _ => refuse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;
    use Status as S;

    fn ticket(status: Status, resolved_by: Option<Resolver>) -> Ticket {
        Ticket {
            status,
            resolved_by,
        }
    }

    /// The whole table, written out: (from, resolved_by, action) → expected.
    /// `None` means refused. Every pair of `Status::ALL × Action::ALL` must appear.
    fn expected(
        from: Status,
        by: Option<Resolver>,
        action: Action,
    ) -> Option<(Status, Option<Resolver>)> {
        let r = |st, rb| Some((st, rb));
        match (from, action) {
            (S::Bot, A::Escalate) => r(S::Open, None),
            (S::Bot, A::AwaitCustomer) => None,
            (S::Bot, A::CustomerMessage) => r(S::Bot, None),
            (S::Bot, A::Solve(Resolver::Bot)) => r(S::Solved, Some(Resolver::Bot)),
            (S::Bot, A::Solve(Resolver::Agent)) => r(S::Solved, Some(Resolver::Agent)),
            (S::Bot, A::Solve(Resolver::Inactivity)) => None,
            (S::Bot, A::AutoClose | A::Reopen | A::HandBackToBot) => None,

            (S::Open, A::Escalate) => None,
            (S::Open, A::AwaitCustomer) => r(S::Pending, None),
            (S::Open, A::CustomerMessage) => r(S::Open, None),
            (S::Open, A::Solve(Resolver::Bot)) => None,
            (S::Open, A::Solve(x)) => r(S::Solved, Some(x)),
            (S::Open, A::AutoClose | A::Reopen) => None,
            (S::Open, A::HandBackToBot) => r(S::Bot, None),

            (S::Pending, A::Escalate) => None,
            (S::Pending, A::AwaitCustomer) => r(S::Pending, None),
            (S::Pending, A::CustomerMessage) => r(S::Open, None),
            (S::Pending, A::Solve(Resolver::Bot)) => None,
            (S::Pending, A::Solve(x)) => r(S::Solved, Some(x)),
            (S::Pending, A::AutoClose) => None,
            (S::Pending, A::Reopen) => r(S::Open, None),
            (S::Pending, A::HandBackToBot) => r(S::Bot, None),

            (S::Solved, A::CustomerMessage) if by == Some(Resolver::Bot) => r(S::Bot, None),
            (S::Solved, A::CustomerMessage) => r(S::Open, None),
            (S::Solved, A::Reopen) => r(S::Open, None),
            (S::Solved, A::AutoClose) => r(S::Closed, by),
            (S::Solved, _) => None,

            (S::Closed, _) => None,
        }
    }

    #[test]
    fn every_status_and_action_follows_the_table() {
        let mut checked = 0;
        for from in Status::ALL {
            for by in [
                None,
                Some(Resolver::Bot),
                Some(Resolver::Agent),
                Some(Resolver::Inactivity),
            ] {
                for action in Action::ALL {
                    let got = apply(ticket(from, by), action);
                    if from == S::Closed && action == A::CustomerMessage {
                        assert_eq!(got, Ok(Transition::NewConversation));
                        continue;
                    }
                    match expected(from, by, action) {
                        Some((st, rb)) => assert_eq!(
                            got,
                            Ok(Transition::To(ticket(st, rb))),
                            "{from} {by:?} {action:?}"
                        ),
                        None => assert_eq!(
                            got,
                            Err(TransitionError { from, action }),
                            "{from} {by:?} {action:?} should be refused"
                        ),
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 5 * 4 * 9 - 4);
    }

    #[test]
    fn closed_is_final_and_only_a_message_escapes_it() {
        for action in Action::ALL {
            let got = apply(ticket(S::Closed, Some(Resolver::Agent)), action);
            match action {
                A::CustomerMessage => assert_eq!(got, Ok(Transition::NewConversation)),
                _ => assert!(got.is_err()),
            }
        }
    }

    #[test]
    fn status_names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for r in Resolver::ALL {
            assert_eq!(Resolver::parse(r.as_str()), Some(r));
        }
        assert_eq!(Status::parse("Open"), None);
    }
}
