//! What agents see and do across the store boundary: the viewer, actions, views and
//! queries, the conversations they list, collision beats, teams, canned responses,
//! articles and templates.

use super::*;

/// Who is asking, for visibility: the store resolves their teams itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub agent: AgentId,
    pub role: Role,
}

/// What an agent does to a conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum Act {
    /// A message to the customer. `client_id` makes a double submit send once;
    /// `pending` waits for the customer (status `pending`).
    Reply {
        text: String,
        client_id: Option<String>,
        pending: bool,
        /// A file sent with the reply, by URL (an image, a document…).
        media: Option<relais_core::rich::Media>,
        /// Sent as this registered template (the text is its filled body): what may
        /// still go out once the customer-service window is closed.
        template: Option<relais_core::rich::TemplateRef>,
    },
    /// An internal note, never sent to the customer.
    Note {
        text: String,
    },
    /// Take an unassigned conversation.
    Claim,
    /// To another team (back to its queue) and/or a given agent, with a note.
    Transfer {
        team: Option<String>,
        agent: Option<AgentId>,
        note: Option<String>,
    },
    SetPending,
    Solve,
    Reopen,
}

#[derive(Debug, Clone)]
pub struct DeskAction {
    pub viewer: Viewer,
    pub conversation: ConversationId,
    pub act: Act,
    pub now: Timestamp,
}

/// What an agent action did.
#[derive(Debug, Clone)]
pub struct DeskOutcome {
    /// The message written (reply or note); for a repeated client id, the first one.
    pub message: Option<Message>,
    /// The client id had been used: nothing new was written.
    pub duplicate: bool,
    pub timers: Vec<ScheduledTimer>,
    pub queued: bool,
}

/// Agent views of SPEC §5 and the issue: what an agent's lists show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Mine,
    Unassigned,
    MyTeams,
    Pending,
    Solved,
    /// Supervisors and admins only.
    All,
}

impl View {
    pub const ALL: [View; 6] = [
        View::Mine,
        View::Unassigned,
        View::MyTeams,
        View::Pending,
        View::Solved,
        View::All,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            View::Mine => "mine",
            View::Unassigned => "unassigned",
            View::MyTeams => "my_teams",
            View::Pending => "pending",
            View::Solved => "solved",
            View::All => "all",
        }
    }
    pub fn parse(s: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone)]
pub struct DeskQuery {
    pub viewer: Viewer,
    pub view: View,
    pub team: Option<String>,
    pub priority: Option<String>,
    /// Only this channel's conversations.
    pub channel: Option<String>,
    /// Only conversations in this status (within the view).
    pub status: Option<relais_core::ticket::Status>,
    /// Words found in the contact's name, address or email, or in a message's text
    /// (case-insensitive).
    pub search: Option<String>,
    /// Only this contact's conversations (with `View::All`, any agent may ask: the
    /// visibility rules still apply).
    pub contact: Option<relais_core::id::ContactId>,
    pub before: Option<ConversationId>,
    pub limit: u32,
}

impl DeskQuery {
    /// A view's first page with no filter.
    pub fn view(viewer: Viewer, view: View, limit: u32) -> DeskQuery {
        DeskQuery {
            viewer,
            view,
            team: None,
            priority: None,
            channel: None,
            status: None,
            search: None,
            contact: None,
            before: None,
            limit,
        }
    }
}

/// What the inbox's row shows of a conversation: the contact's last message, or (none
/// yet) the last one sent to them; notes aside.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastMessage {
    pub id: MessageId,
    pub text: String,
    pub direction: relais_core::message::Direction,
    pub at: Timestamp,
}

/// "This agent has this conversation's page open" (typing or not), said every few
/// seconds by the page; it holds for `here_ms`, typing for `typing_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct PageBeat {
    pub conversation: ConversationId,
    pub agent: AgentId,
    pub typing: bool,
    pub now: Timestamp,
    pub here_ms: i64,
    pub typing_ms: i64,
}

/// Another agent on the same conversation's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageWatcher {
    pub name: String,
    pub typing: bool,
}

/// A conversation as an agent sees it in a list or opens it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeskConversation {
    #[serde(flatten)]
    pub view: ConversationView,
    pub queued_at: Option<Timestamp>,
    pub assigned_at: Option<Timestamp>,
    /// The contact's last message on this channel (the customer-service window).
    pub last_inbound_at: Option<Timestamp>,
    pub last_message: Option<LastMessage>,
    /// The contact wrote since the viewer last opened the conversation.
    pub unread: bool,
}

/// A team as configured (teams.yaml or the API).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamSpec {
    pub id: String,
    pub name: String,
    pub assignment: String,
    pub capacity: i64,
    /// Business hours as in teams.yaml (`{"tz": "Europe/Paris", "mon-fri": "09:00-18:00"}`),
    /// for teams made through the API; teams.yaml keeps its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
}

/// An agent of teams.yaml: created if missing (without a password), teams set.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberSpec {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub teams: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamInfo {
    #[serde(flatten)]
    pub team: TeamSpec,
    pub members: Vec<AgentId>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Csat {
    pub state: String,
    pub score: Option<i64>,
    pub agent: Option<AgentId>,
    pub sent_at: Timestamp,
    pub answered_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Canned {
    pub id: i64,
    pub shortcut: String,
    pub title: String,
    pub body: String,
    /// `None`: for every language.
    pub language: Option<String>,
}

/// A knowledge-base article (SPEC §8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Article {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub language: String,
    pub tags: Vec<String>,
    pub body: String,
    /// The kb/*.md file it was copied from, if any.
    pub file: Option<String>,
    pub updated_at: Timestamp,
}

/// A message template made on the page or through the API (SPEC §6): WhatsApp's
/// approved templates, sent when the 24-hour window is closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredTemplate {
    pub id: i64,
    pub name: String,
    pub language: String,
    /// utility | marketing | authentication
    pub category: String,
    /// With positional parameters `{{1}}`, `{{2}}`…
    pub body: String,
    pub buttons: Vec<String>,
}

/// An article's content, to create or replace one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewArticle {
    pub slug: String,
    pub title: String,
    pub language: String,
    pub tags: Vec<String>,
    pub body: String,
}

/// An article of a kb/*.md file, with the SHA-256 of the file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleFile {
    pub file: String,
    pub hash: String,
    pub article: NewArticle,
}

/// Conversations given to agents (or back to queues) by a presence change.
#[derive(Debug, Clone, Default)]
pub struct Rerouted {
    pub timers: Vec<ScheduledTimer>,
}
