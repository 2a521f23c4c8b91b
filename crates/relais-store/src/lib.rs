//! Relais persistence. A use-case-shaped [`Store`], split by its callers into
//! [`Pipeline`], [`Desk`] and [`Admin`]; two implementations: SQLite (the default; WAL,
//! group commit) and PostgreSQL (to scale out).
//!
//! How it is layered:
//! - [`Store`] (this file) is what the server sees: `ingest`, `fire_timer`,
//!   `claim_outbox`, `act`… Every method is one transaction.
//! - [`usecase`] holds the logic of those transactions ONCE, written against [`tx::Tx`],
//!   a small set of row operations.
//! - `sqlite` and `postgres` implement [`tx::Tx`] in their dialect and run the use cases
//!   on their own threads (`SqlStore<B: Backend>`).
//!
//! Nothing here exposes a driver type: errors are [`Error`].

mod backend;
pub mod error;
pub mod migrate;
pub mod model;
pub mod postgres;
mod sql;
pub use backend::SqlStore;
mod desk;
mod facts;
mod forget;
mod outgoing;
pub mod proactive;
mod queue;
mod snapshot;
pub mod sqlite;
pub mod tls;
mod tx;
mod usecase;
mod versions;
mod webhooks;
pub use proactive::ProactiveOutcome;

use async_trait::async_trait;
use relais_core::event::Event;
use relais_core::id::{AgentId, ChannelId, ContactId, ConversationId, MessageId, TimerId};
use relais_core::message::Message;
use relais_core::{ConversationHandler, Timestamp};
use std::sync::Arc;

pub use error::Error;
pub use model::*;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the server asks of storage, split by who asks: [`Pipeline`] (messages,
/// timers, the outbox, webhooks: the runtime's loops), [`Desk`] (agents at work) and
/// [`Admin`] (configuration and the admin API). Each method is one atomic transaction.
/// Any type with all three is a `Store`; callers that need one part can ask for it.
pub trait Store: Pipeline + Desk + Admin {}

impl<T: Pipeline + Desk + Admin> Store for T {}

/// The runtime's side: inbound messages, timers, `http` results, proactive starts, the
/// outbox and webhook deliveries.
#[async_trait]
pub trait Pipeline: Send + Sync {
    /// The hot path: stores an inbound message (de-duplicated on (channel, external id)),
    /// runs the bot `handler` if the bot owns the conversation, and commits the message,
    /// the new state, events, replies, outbox rows and timers together.
    async fn ingest(
        &self,
        inbound: Inbound,
        handler: Arc<dyn ConversationHandler>,
    ) -> Result<Ingested>;

    /// Fires a due timer if it is still pending (atomic claim: a timer fires once),
    /// running the handler and committing its effects. `None` when it was already fired
    /// or cancelled.
    async fn fire_timer(
        &self,
        timer: TimerId,
        now: Timestamp,
        handler: Arc<dyn ConversationHandler>,
    ) -> Result<Option<Fired>>;

    /// Hands an `http` result back to the conversation's bot and commits what it decided.
    async fn resume(
        &self,
        conversation: ConversationId,
        result: relais_core::decision::HttpResult,
        in_band: bool,
        now: Timestamp,
        handler: Arc<dyn ConversationHandler>,
    ) -> Result<Fired>;

    /// Pending timers due at or before `until`, soonest first.
    async fn due_timers(&self, until: Timestamp, limit: u32) -> Result<Vec<DueTimer>>;

    /// Leases up to `limit` queued outbound messages whose next attempt is due, at most
    /// one per conversation (the oldest), so a conversation's messages go out in order.
    async fn claim_outbox(&self, claim: OutboxClaim) -> Result<Vec<OutboxItem>>;

    /// Journals one delivery attempt and moves the message accordingly.
    async fn record_attempt(&self, attempt: Attempt) -> Result<()>;

    /// Puts a leased message back in the queue until `until`, without an attempt (its
    /// channel is held by the provider or its rate).
    async fn defer_outbound(&self, message: MessageId, until: Timestamp) -> Result<()>;

    /// Journals several attempts in one transaction (the outbox's batch).
    async fn record_attempts(&self, attempts: Vec<Attempt>) -> Result<()>;

    /// Moves a queued message to the `to` channel (a fallback), with an event saying
    /// why; `false` when the contact has no address there (nothing changes).
    async fn reroute_outbound(
        &self,
        message: MessageId,
        seen_on: ChannelId,
        to: ChannelId,
        reason: String,
        now: Timestamp,
    ) -> Result<bool>;

    /// Leases attachments to fetch that are due.
    async fn claim_media(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<MediaJob>>;

    /// When the next pending fetch is due.
    async fn next_media_due(&self) -> Result<Option<Timestamp>>;

    /// Records what a fetch gave.
    async fn settle_media(&self, id: i64, outcome: MediaOutcome) -> Result<()>;

    /// Messenger's `read` watermark: the contact's live conversation on `channel`, every
    /// outbound message sent up to `watermark` moves forward to `read`.
    async fn record_read_up_to(
        &self,
        channel: ChannelId,
        address: String,
        watermark: Timestamp,
    ) -> Result<u64>;

    /// The web chat's transcript for the visitor at `address`: messages (not notes) of
    /// their last conversations on `channel` after `after`, oldest first.
    async fn transcript_after(
        &self,
        channel: ChannelId,
        address: String,
        after: MessageId,
        limit: u32,
    ) -> Result<Vec<TranscriptEntry>>;

    /// Sets the `email` field of the contact at `address` on `channel` (a web chat visitor
    /// who wants answers by email once gone). `false` when there is no such contact.
    async fn set_contact_email(
        &self,
        channel: ChannelId,
        address: String,
        email: String,
        at: Timestamp,
    ) -> Result<bool>;

    /// A web chat visitor has a page open, at `at` (a heartbeat, every 30 s at most).
    async fn visitor_seen(
        &self,
        channel: ChannelId,
        address: String,
        at: Timestamp,
    ) -> Result<bool>;

    /// When the web chat visitor at `address` last had a page open, on any node.
    async fn visitor_seen_at(
        &self,
        channel: ChannelId,
        address: String,
    ) -> Result<Option<Timestamp>>;

    /// The conversation's latest inbound message and its payload (an email's thread).
    async fn last_inbound(&self, conversation: ConversationId) -> Result<Option<TranscriptEntry>>;

    /// A web chat visitor received (`Delivered`) or saw (`Read`) every message up to
    /// `up_to`: their live conversation's outbound messages move forward.
    async fn visitor_saw(
        &self,
        channel: ChannelId,
        address: String,
        up_to: MessageId,
        status: relais_core::message::DeliveryStatus,
        at: Timestamp,
    ) -> Result<u64>;

    /// Providers' delivery statuses, applied in one transaction (a webhook's batch).
    async fn record_statuses(&self, reports: Vec<StatusReport>) -> Result<Vec<StatusApplied>>;

    /// When the next queued, unleased outbound message becomes due, if any.
    async fn next_outbox_due(&self, now: Timestamp) -> Result<Option<Timestamp>>;

    /// Starts the `event:NAME` flow for a contact (SPEC §7), recording consent first.
    async fn start_proactive(
        &self,
        start: ProactiveStart,
        handler: Arc<dyn ConversationHandler>,
    ) -> Result<ProactiveOutcome>;

    /// Sets the lifecycle settings (inactivity, auto-close, return timer, survey).
    fn configure(&self, life: relais_core::lifecycle::Lifecycle);

    /// Turns up to `limit` new events of the log into webhook deliveries; returns how
    /// many events were read (`limit`: there may be more).
    async fn route_webhook_events(&self, limit: u32, now: Timestamp) -> Result<usize>;

    /// Leases due deliveries to one sender.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<DeliveryJob>>;

    async fn record_delivery(
        &self,
        id: i64,
        outcome: DeliveryOutcome,
        now: Timestamp,
    ) -> Result<()>;

    async fn next_delivery_due(&self) -> Result<Option<Timestamp>>;

    /// The id of the newest event (0 when the log is empty).
    async fn last_event_id(&self) -> Result<i64>;
}

/// The agents' side: actions, presence, views, conversations and their history, canned
/// responses.
#[async_trait]
pub trait Desk: Send + Sync {
    async fn conversation(&self, id: ConversationId) -> Result<Option<ConversationView>>;

    async fn conversations(&self, page: Page) -> Result<Vec<ConversationView>>;

    async fn messages(&self, conversation: ConversationId) -> Result<Vec<Message>>;

    async fn events(
        &self,
        conversation: Option<ConversationId>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>>;

    /// A conversation's attachments (without content).
    async fn conversation_media(&self, conversation: ConversationId) -> Result<Vec<MediaInfo>>;

    /// An attachment and its content (base64), if `viewer` may see its conversation.
    async fn media_for(
        &self,
        viewer: Viewer,
        id: i64,
    ) -> Result<Option<(MediaInfo, Option<String>)>>;

    /// A message's delivery journal, if `viewer` may see its conversation (`None`
    /// otherwise, or when there is no such message).
    async fn attempts_for(
        &self,
        viewer: Viewer,
        message: MessageId,
    ) -> Result<Option<Vec<AttemptRecord>>>;

    async fn attempts(&self, message: MessageId) -> Result<Vec<AttemptRecord>>;

    /// An agent acts on a conversation they may see (reply, note, claim, transfer,
    /// pending, solve, reopen). `NotFound` when they may not; `Conflict` when the state
    /// does not allow it (a lost claim).
    async fn act(&self, action: DeskAction) -> Result<DeskOutcome>;

    /// Sets an agent's presence; going offline returns their open conversations to the
    /// queue, coming online drains their teams' queues.
    async fn set_presence(
        &self,
        agent: AgentId,
        presence: relais_core::agent::Presence,
        now: Timestamp,
    ) -> Result<Rerouted>;

    /// A view's conversations that the viewer may see, newest first.
    async fn desk_list(&self, query: DeskQuery) -> Result<Vec<DeskConversation>>;

    /// One conversation, `None` when the viewer may not see it.
    async fn desk_open(
        &self,
        viewer: Viewer,
        id: ConversationId,
    ) -> Result<Option<DeskConversation>>;

    /// Appends a read to the audit log (`id` is ignored).
    async fn record_access(&self, entry: AccessEntry) -> Result<()>;

    /// The audit log after `after` (an id), oldest first.
    async fn access_log(&self, after: i64, limit: u32) -> Result<Vec<AccessEntry>>;

    /// The stories of the conversations a report covers: the kept ones, with the
    /// events not folded yet folded in (exact and current; see `facts.rs`).
    async fn report_stories(&self, query: ReportQuery) -> Result<Vec<relais_core::kpi::Story>>;

    /// One pass folding up to `limit` events of the log into the kept stories;
    /// returns how many were folded (0: nothing to do, or another pass won).
    async fn fold_stories(&self, limit: u32, now: Timestamp) -> Result<u64>;

    /// Like `desk_open`, in a read transaction (no lock): for frequent looks.
    async fn desk_peek(
        &self,
        viewer: Viewer,
        id: ConversationId,
    ) -> Result<Option<DeskConversation>>;

    /// An agent's page on a conversation beats (collision detection, shared by every
    /// node): answers the other agents on that page.
    async fn watch_page(&self, beat: PageBeat) -> Result<Vec<PageWatcher>>;

    /// The agent closed the conversation's page.
    async fn leave_page(&self, conversation: ConversationId, agent: AgentId) -> Result<()>;

    /// The (channel, address) of every conversation an agent is typing in at `now`, on
    /// any node (from the page beats).
    async fn typing_now(&self, now: Timestamp) -> Result<Vec<(ChannelId, String)>>;

    /// Whether several server processes may share this store (PostgreSQL).
    fn shared(&self) -> bool;

    /// How many conversations each view the viewer may open holds.
    async fn desk_counts(&self, viewer: Viewer) -> Result<Vec<(View, i64)>>;

    /// The agent has read the conversation up to this message (the unread markers).
    async fn mark_read(
        &self,
        agent: AgentId,
        conversation: ConversationId,
        upto: MessageId,
    ) -> Result<()>;

    /// Changes an agent's role; refused (and undone) if no active admin would remain.
    async fn set_agent_role(&self, agent: AgentId, role: relais_core::agent::Role) -> Result<()>;

    /// The language of the agent's pages (en, fr, it, es, de).
    async fn set_agent_language(&self, agent: AgentId, language: String) -> Result<bool>;

    async fn csat(&self, id: ConversationId) -> Result<Option<Csat>>;

    async fn agent_teams(&self, agent: AgentId) -> Result<Vec<String>>;

    /// Records an agent's activity; returns their presence.
    async fn touch_agent(
        &self,
        agent: AgentId,
        now: Timestamp,
    ) -> Result<relais_core::agent::Presence>;

    /// Online agents with no activity (nor presence change) since `before`.
    async fn idle_agents(&self, before: Timestamp) -> Result<Vec<AgentId>>;

    async fn canned(&self) -> Result<Vec<Canned>>;

    /// Templates made on the page or through the API, by name and language.
    async fn templates(&self) -> Result<Vec<StoredTemplate>>;

    /// Creates (`id` None) or replaces a template (its `id` is ignored); a name and
    /// language in use is AlreadyExists.
    async fn save_template(
        &self,
        id: Option<i64>,
        template: StoredTemplate,
        now: Timestamp,
    ) -> Result<StoredTemplate>;

    async fn delete_template(&self, id: i64) -> Result<bool>;

    /// The knowledge base's articles, by slug.
    async fn articles(&self) -> Result<Vec<Article>>;

    /// Creates (`id` None) or replaces an article; a slug in use is AlreadyExists.
    async fn save_article(
        &self,
        id: Option<i64>,
        article: NewArticle,
        now: Timestamp,
    ) -> Result<Article>;

    async fn delete_article(&self, id: i64) -> Result<bool>;

    /// kb/*.md → the articles: a file's article is written again only when the file
    /// changed since it was last copied; the article of a removed file is deleted.
    /// Returns (written, deleted).
    async fn sync_articles(
        &self,
        files: Vec<ArticleFile>,
        now: Timestamp,
    ) -> Result<(usize, usize)>;

    /// Creates (`id` None) or replaces a canned response.
    async fn save_canned(&self, id: Option<i64>, canned: Canned, now: Timestamp) -> Result<Canned>;

    async fn delete_canned(&self, id: i64) -> Result<bool>;
}

/// Configuration and the admin API: channels, agents, tokens, teams, flow versions,
/// webhooks, the event log's non-conversation records.
#[async_trait]
pub trait Admin: Send + Sync {
    async fn create_channel(&self, channel: NewChannel) -> Result<Channel>;

    async fn channels(&self) -> Result<Vec<Channel>>;

    /// Erases a contact (SPEC §11, GDPR article 17; see `forget.rs`), then scrubs the
    /// database files so that no byte of what was deleted is left in them.
    async fn erase_contact(&self, contact: ContactId, now: Timestamp) -> Result<Erasure>;

    /// One pass of the retention policy: at most `limit` conversations closed before
    /// `cutoff` forgotten (`how`), contacts left with nothing erased. Call
    /// [`Admin::scrub`] after the last pass.
    async fn retention_pass(
        &self,
        cutoff: Timestamp,
        how: Forget,
        limit: u32,
        now: Timestamp,
    ) -> Result<RetentionPass>;

    /// No byte of the rows deleted so far is left in the database files: SQLite's
    /// deleted content is zeroed as it goes (`secure_delete`) and its WAL truncated
    /// here; PostgreSQL vacuums the tables erasure writes to.
    async fn scrub(&self) -> Result<()>;

    /// A fact recorded with the data (`region`, the retention's next run).
    async fn store_setting(&self, name: &str) -> Result<Option<String>>;

    async fn set_store_setting(&self, name: &str, value: &str, now: Timestamp) -> Result<()>;

    /// A contact and every identity it has on the channels.
    async fn contact_card(&self, id: ContactId) -> Result<ContactCard>;

    /// Folds `from` into `into` (identities, conversations, consents), recorded as
    /// `by`'s admin action; `from` no longer exists afterwards.
    async fn merge_contacts(
        &self,
        into: ContactId,
        from: ContactId,
        by: AgentId,
        now: Timestamp,
    ) -> Result<ContactCard>;

    /// channels.yaml → the channels table: created or updated; channels an earlier
    /// file defined and this one does not are disabled (their history stays).
    async fn sync_channels(&self, specs: Vec<ChannelSpec>, now: Timestamp) -> Result<ChannelSync>;

    /// A provider channel made through the admin API (not from channels.yaml).
    async fn add_channel(&self, spec: ChannelSpec, now: Timestamp) -> Result<Channel>;

    /// Replaces a channel made through the API (settings, secret names, fallback,
    /// default flow); a channel of channels.yaml or another kind is refused (Conflict).
    async fn update_channel(&self, spec: ChannelSpec) -> Result<Channel>;

    /// Turns a channel made through the API on or off; a channel of channels.yaml is
    /// refused (Conflict: the file decides).
    async fn set_channel_enabled(&self, id: &ChannelId, enabled: bool) -> Result<Channel>;

    /// Replaces a channel's bearer token hash (token rotation). `false` if no such channel.
    async fn set_channel_token(&self, id: &ChannelId, token_hash: &str) -> Result<bool>;

    async fn create_agent(&self, agent: NewAgent) -> Result<Agent>;

    async fn agent_by_email(&self, email: &str) -> Result<Option<(Agent, Option<String>)>>;

    /// Sets an agent's password (an argon2id PHC string); `false`: no such agent.
    async fn set_password(&self, agent: AgentId, password_hash: String) -> Result<bool>;

    async fn agents(&self) -> Result<Vec<Agent>>;

    async fn create_token(&self, token: NewToken) -> Result<TokenInfo>;

    /// The live (not revoked, not expired) token with this hash, and its agent.
    async fn token_by_hash(&self, hash: &str, now: Timestamp)
    -> Result<Option<(TokenInfo, Agent)>>;

    async fn revoke_token(&self, id: i64, agent: AgentId, now: Timestamp) -> Result<bool>;

    /// Live tokens (not revoked, not expired), of one agent or of everyone, oldest first.
    async fn tokens(&self, agent: Option<AgentId>, now: Timestamp) -> Result<Vec<TokenInfo>>;

    /// Revokes any agent's token (admins). `false` if no such live token.
    async fn revoke_any_token(&self, id: i64, now: Timestamp) -> Result<bool>;

    /// Disables an agent: every token and session revoked, presence offline, their open
    /// conversations back to the queue. The last active admin cannot be disabled.
    /// `by`: the admin, recorded on the event.
    async fn deactivate_agent(
        &self,
        agent: AgentId,
        by: AgentId,
        now: Timestamp,
    ) -> Result<Rerouted>;

    /// An agent's second factor, if enrolment started.
    async fn totp(&self, agent: AgentId) -> Result<Option<Totp>>;

    async fn change_totp(&self, agent: AgentId, change: TotpChange) -> Result<()>;

    /// Uses a second factor once: `false` if it was already used or is unknown.
    async fn use_second_factor(
        &self,
        agent: AgentId,
        factor: SecondFactor,
        now: Timestamp,
    ) -> Result<bool>;

    /// Enables a disabled agent again (they log in anew: nothing was kept).
    async fn activate_agent(&self, agent: AgentId, by: AgentId, now: Timestamp) -> Result<()>;

    /// Appends an event that belongs to no conversation (admin actions, logins).
    async fn record_event(&self, event: Event) -> Result<()>;

    /// Records the loaded flow sources; a changed source becomes a new immutable
    /// version. Returns each flow's current version.
    async fn publish_flows(
        &self,
        sources: Vec<FlowSource>,
        now: Timestamp,
    ) -> Result<Vec<(String, i64)>>;

    /// Every stored flow version, oldest first; with their sources when asked.
    async fn flow_versions(&self, with_source: bool) -> Result<Vec<FlowVersion>>;

    /// Teams and agents of teams.yaml.
    async fn sync_teams(
        &self,
        teams: Vec<TeamSpec>,
        members: Vec<MemberSpec>,
        now: Timestamp,
    ) -> Result<()>;

    async fn teams(&self) -> Result<Vec<TeamInfo>>;

    async fn upsert_team(&self, team: TeamSpec, now: Timestamp) -> Result<()>;

    async fn set_agent_teams(&self, agent: AgentId, teams: Vec<String>) -> Result<()>;

    async fn create_webhook(&self, webhook: NewWebhook) -> Result<Webhook>;

    async fn webhooks(&self) -> Result<Vec<Webhook>>;

    async fn delete_webhook(&self, id: i64, now: Timestamp) -> Result<bool>;

    /// Newest first; `state` filters (`dead` is the dead-letter list).
    async fn deliveries(&self, state: Option<String>, limit: u32) -> Result<Vec<Delivery>>;

    /// A dead delivery back in the queue, due now.
    async fn replay_delivery(&self, id: i64, now: Timestamp) -> Result<Delivery>;

    /// Counts for `/ready` and tests: rows per table that matter.
    async fn stats(&self) -> Result<Stats>;
}
