//! Who sees and acts on which conversation (SPEC §1, §5), pure. Agents see the
//! conversations of their teams, those assigned to them and the shared queue (no
//! team); supervisors and admins see everything; only admins change configuration.
//! The store's queries and every API call ask this policy.

use crate::agent::Role;
use crate::id::AgentId;

/// Where a conversation stands relative to one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    /// Assigned to this agent.
    Mine,
    /// In one of the agent's teams.
    MyTeam,
    /// With no team: the shared queue every agent sees.
    Shared,
    /// In a team the agent is not a member of, and not assigned to them.
    OtherTeam,
}

impl Relation {
    pub const ALL: [Relation; 4] = [
        Relation::Mine,
        Relation::MyTeam,
        Relation::Shared,
        Relation::OtherTeam,
    ];

    /// How `me` (member of `my_teams`) relates to a conversation.
    pub fn of(
        team: Option<&str>,
        assignee: Option<AgentId>,
        me: AgentId,
        my_teams: &[String],
    ) -> Relation {
        if assignee == Some(me) {
            Relation::Mine
        } else {
            match team {
                None => Relation::Shared,
                Some(t) if my_teams.iter().any(|m| m == t) => Relation::MyTeam,
                Some(_) => Relation::OtherTeam,
            }
        }
    }
}

/// What someone does to a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConversationAction {
    View,
    Reply,
    Note,
    Claim,
    Transfer,
    SetPending,
    Solve,
    Reopen,
}

impl ConversationAction {
    pub const ALL: [ConversationAction; 8] = [
        ConversationAction::View,
        ConversationAction::Reply,
        ConversationAction::Note,
        ConversationAction::Claim,
        ConversationAction::Transfer,
        ConversationAction::SetPending,
        ConversationAction::Solve,
        ConversationAction::Reopen,
    ];
}

/// The policy: may someone of `role` do `action` on a conversation in `relation` to them?
pub fn may(role: Role, _action: ConversationAction, relation: Relation) -> bool {
    match role {
        Role::Admin | Role::Supervisor => true,
        Role::Agent => relation != Relation::OtherTeam,
    }
}

/// A conversation still with the bot is not yet anyone's work: only those who see
/// everything (supervisors, admins) may read it or act on it (SPEC §5). Agents meet it
/// once it is handed off.
pub fn may_touch_status(role: Role, status: crate::ticket::Status) -> bool {
    status != crate::ticket::Status::Bot || sees_all(role)
}

/// The whole rule for one conversation, as the store and the live streams ask it:
/// where it stands to `me`, whether the role may see it and do `action` there, and
/// whether it is still with the bot.
pub fn may_on(
    role: Role,
    me: AgentId,
    my_teams: &[String],
    conversation: &crate::conversation::Conversation,
    action: ConversationAction,
) -> bool {
    let c = conversation;
    let relation = Relation::of(c.team.as_deref(), c.assignee, me, my_teams);
    may(role, ConversationAction::View, relation)
        && may(role, action, relation)
        && may_touch_status(role, c.status)
}

/// Only admins change configuration (teams, agents, channels, flows, webhooks).
pub fn may_configure(role: Role) -> bool {
    role == Role::Admin
}

/// Whether `role` sees every conversation (the "all" view).
pub fn sees_all(role: Role) -> bool {
    role != Role::Agent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversations_with_the_bot_are_for_supervisors_and_admins() {
        use crate::ticket::Status;
        assert!(!may_touch_status(Role::Agent, Status::Bot));
        assert!(may_touch_status(Role::Supervisor, Status::Bot));
        assert!(may_touch_status(Role::Admin, Status::Bot));
        for s in [
            Status::Open,
            Status::Pending,
            Status::Solved,
            Status::Closed,
        ] {
            assert!(may_touch_status(Role::Agent, s), "{s:?}");
        }
    }

    #[test]
    fn relation_prefers_assignment_then_team() {
        let me = AgentId(1);
        let teams = vec!["support".to_owned()];
        assert_eq!(
            Relation::of(Some("sales"), Some(me), me, &teams),
            Relation::Mine
        );
        assert_eq!(
            Relation::of(Some("support"), None, me, &teams),
            Relation::MyTeam
        );
        assert_eq!(
            Relation::of(Some("support"), Some(AgentId(2)), me, &teams),
            Relation::MyTeam
        );
        assert_eq!(Relation::of(None, None, me, &teams), Relation::Shared);
        assert_eq!(
            Relation::of(Some("sales"), Some(AgentId(2)), me, &teams),
            Relation::OtherTeam
        );
    }

    #[test]
    fn agents_never_act_across_teams_supervisors_and_admins_everywhere() {
        for a in ConversationAction::ALL {
            for r in Relation::ALL {
                assert_eq!(
                    may(Role::Agent, a, r),
                    r != Relation::OtherTeam,
                    "{a:?} {r:?}"
                );
                assert!(may(Role::Supervisor, a, r));
                assert!(may(Role::Admin, a, r));
            }
        }
        assert!(may_configure(Role::Admin));
        assert!(!may_configure(Role::Supervisor) && !may_configure(Role::Agent));
    }
}
