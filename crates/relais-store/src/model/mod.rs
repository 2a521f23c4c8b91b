//! Data crossing the [`crate::Store`] boundary: inputs of use cases and what they return.

use relais_core::Timestamp;
use relais_core::agent::{Presence, Role};
use relais_core::contact::Contact;
use relais_core::conversation::Conversation;
use relais_core::event::Event;
use relais_core::id::{AgentId, ChannelId, ContactId, ConversationId, MessageId, TimerId};
use relais_core::message::Message;
use serde::Serialize;

mod desk;
pub use desk::*;

/// A customer message as a channel delivered it.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub channel: ChannelId,
    /// The sender's address on the channel (phone, chat id, REST `sender`).
    pub address: String,
    /// The provider's message id: the de-duplication key. `None` disables de-duplication.
    pub external_id: Option<String>,
    pub text: String,
    /// The sender's display name, if the channel tells it (stored for a new contact).
    pub contact_name: Option<String>,
    /// The sender's language as the channel knows it (the web chat: the browser's), a
    /// two-letter code, kept for a new contact.
    pub language: Option<String>,
    pub received_at: Timestamp,
    /// Bot replies travel in the response (REST channel): stored as `sent`, no outbox row.
    pub replies_in_band: bool,
    /// For a button reply, the button's id.
    pub button: Option<String>,
    /// What the message carries besides text (attachments, a location, the provider's
    /// type), stored as the message's `payload`.
    pub payload: Option<serde_json::Value>,
    /// The channel has a customer-service window: this message (re)opens it.
    pub opens_window: bool,
    /// An attachment to fetch from the provider and keep.
    pub media: Option<InboundMedia>,
    /// The provider ids this message answers (an email's `In-Reply-To` and
    /// `References`): when one is a message Relais sent in a live conversation of the
    /// same contact, the message joins that conversation, whatever its channel.
    pub thread: Vec<String>,
    /// Attachments that came inside the message (an email's), kept with it.
    pub attachments: Vec<Attachment>,
}

/// An attachment whose content arrived with its message.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    /// image, document, audio, video…
    pub kind: String,
    pub filename: Option<String>,
    pub mime_type: Option<String>,
    pub content_base64: String,
    pub size: i64,
}

/// An attachment of an inbound message, to fetch from the provider.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMedia {
    /// image, document, audio, video, sticker…
    pub kind: String,
    /// The provider's media id (WhatsApp), file id (Telegram) or URL (Messenger).
    pub provider_ref: String,
    pub mime_type: Option<String>,
    pub filename: Option<String>,
}

/// A fetch the media loop leased.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaJob {
    pub id: i64,
    pub channel: ChannelId,
    pub kind: String,
    pub provider_ref: String,
    /// Attempts before this one.
    pub attempts: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MediaOutcome {
    Stored {
        content_base64: String,
        mime_type: Option<String>,
        size: i64,
    },
    Retry {
        at: Timestamp,
        detail: String,
    },
    Failed {
        detail: String,
    },
}

/// An attachment as agents see it (its content is fetched separately).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MediaInfo {
    pub id: i64,
    pub message: MessageId,
    pub kind: String,
    pub mime_type: Option<String>,
    pub filename: Option<String>,
    /// pending | stored | failed
    pub state: String,
    pub size: Option<i64>,
    /// Why the last fetch failed.
    pub detail: Option<String>,
}

/// A message as a web chat visitor sees it: the message and its payload (the buttons'
/// ids, media, template).
#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptEntry {
    pub message: Message,
    pub payload: Option<serde_json::Value>,
}

/// A provider's delivery status for one of our outbound messages.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    pub channel: ChannelId,
    /// The provider's id of the message (returned when it was sent).
    pub external_id: String,
    pub status: relais_core::message::DeliveryStatus,
    /// The provider's error, for `failed`.
    pub detail: Option<String>,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StatusApplied {
    /// The message moved forward to this status.
    Moved(MessageId, relais_core::message::DeliveryStatus),
    /// Already there or further (statuses arrive out of order).
    Unchanged(MessageId),
    /// No message has that id yet: kept until the send is recorded.
    Kept,
}

/// The serialization key of a conversation: its channel and the contact's address.
/// Every write for one lane happens one at a time, in arrival order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lane {
    pub channel: ChannelId,
    pub address: String,
}

/// A timer created by a transaction, for the in-memory timer wheel.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledTimer {
    pub id: TimerId,
    pub due_at: Timestamp,
    pub lane: Lane,
}

/// What `ingest` did.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The message had been stored before: nothing was written, `replies` are the
    /// replies recorded for the original.
    pub duplicate: bool,
    pub conversation: ConversationId,
    pub message: MessageId,
    pub replies: Vec<Message>,
    pub timers: Vec<ScheduledTimer>,
    /// Outbound rows were queued for the dispatcher.
    pub queued: bool,
    /// A call the bot asked for, to run now, after the commit.
    pub http: Option<relais_core::decision::HttpCall>,
}

/// What a committed transaction leaves for the runtime to do once it is durable: the
/// `http` call the bot asked for (run outside any transaction), timers to hand to the
/// wheel, queued messages to wake the outbox for. Every commit's outcome implements it,
/// and the runtime follows them all in ONE place (`Runtime::after_commit`).
pub trait Committed {
    /// The conversation the commit was about, if one.
    fn conversation(&self) -> Option<ConversationId>;
    /// The bot's `http` call, taken out to be run.
    fn take_http(&mut self) -> Option<relais_core::decision::HttpCall>;
    /// Adds what the call's result committed (replies, timers, queued messages).
    fn absorb(&mut self, more: Fired);
    fn timers(&self) -> &[ScheduledTimer];
    /// Outbound rows were queued for the dispatcher.
    fn queued(&self) -> bool;
}

macro_rules! committed_with_bot {
    ($t:ty) => {
        impl Committed for $t {
            fn conversation(&self) -> Option<ConversationId> {
                Some(self.conversation)
            }
            fn take_http(&mut self) -> Option<relais_core::decision::HttpCall> {
                self.http.take()
            }
            fn absorb(&mut self, more: Fired) {
                self.replies.extend(more.replies);
                self.timers.extend(more.timers);
                self.queued |= more.queued;
            }
            fn timers(&self) -> &[ScheduledTimer] {
                &self.timers
            }
            fn queued(&self) -> bool {
                self.queued
            }
        }
    };
}
committed_with_bot!(Ingested);
committed_with_bot!(Fired);
committed_with_bot!(Started);

impl Committed for DeskOutcome {
    fn conversation(&self) -> Option<ConversationId> {
        self.message.as_ref().map(|m| m.conversation)
    }
    fn take_http(&mut self) -> Option<relais_core::decision::HttpCall> {
        None
    }
    fn absorb(&mut self, more: Fired) {
        self.timers.extend(more.timers);
        self.queued |= more.queued;
    }
    fn timers(&self) -> &[ScheduledTimer] {
        &self.timers
    }
    fn queued(&self) -> bool {
        self.queued
    }
}

impl Committed for Rerouted {
    fn conversation(&self) -> Option<ConversationId> {
        None
    }
    fn take_http(&mut self) -> Option<relais_core::decision::HttpCall> {
        None
    }
    fn absorb(&mut self, more: Fired) {
        self.timers.extend(more.timers);
    }
    fn timers(&self) -> &[ScheduledTimer] {
        &self.timers
    }
    fn queued(&self) -> bool {
        false
    }
}

/// What firing a timer did.
#[derive(Debug, Clone)]
pub struct Fired {
    pub conversation: ConversationId,
    pub replies: Vec<Message>,
    pub timers: Vec<ScheduledTimer>,
    pub queued: bool,
    pub http: Option<relais_core::decision::HttpCall>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DueTimer {
    pub id: TimerId,
    pub due_at: Timestamp,
    pub lane: Lane,
}

#[derive(Debug, Clone)]
pub struct OutboxClaim {
    pub now: Timestamp,
    pub lease_until: Timestamp,
    pub owner: String,
    pub limit: u32,
}

/// A queued outbound message leased to one dispatcher.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub message: MessageId,
    pub conversation: ConversationId,
    pub channel: ChannelId,
    pub address: String,
    pub text: String,
    pub buttons: Vec<String>,
    /// Choice ids, media, template parameters.
    pub rich: relais_core::rich::Rich,
    /// Written by a human agent (Messenger's `HUMAN_AGENT` tag may carry it).
    pub by_agent: bool,
    /// The contact's last message on this channel (the customer-service window).
    pub last_inbound_at: Option<Timestamp>,
    /// A message tag the send must carry (decided at dispatch; not stored).
    pub tag: Option<String>,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// How one delivery attempt ended (the four classes of the reliability notes).
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    /// The provider accepted it.
    Sent {
        external_id: Option<String>,
        /// What the send is worth knowing (an SMS's segments), kept in the journal.
        detail: Option<String>,
    },
    /// Try again at `retry_at` (429, 5xx, connection refused). `ambiguous` when the
    /// request may have reached the provider (timeout after sending).
    Retry {
        retry_at: Timestamp,
        detail: String,
        ambiguous: bool,
    },
    /// Never retried (4xx, out of window, attempts exhausted): the message fails.
    Failed { detail: String },
}

#[derive(Debug, Clone)]
pub struct Attempt {
    pub message: MessageId,
    pub at: Timestamp,
    pub duration_ms: i64,
    pub outcome: AttemptOutcome,
}

/// A journaled attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptRecord {
    pub message: MessageId,
    pub attempt: i64,
    pub at: Timestamp,
    /// `sent`, `retry`, `ambiguous` or `failed`.
    pub outcome: String,
    pub detail: Option<String>,
    pub duration_ms: i64,
}

#[derive(Debug, Clone)]
pub struct NewChannel {
    pub id: ChannelId,
    pub kind: String,
    pub name: String,
    /// SHA-256 (hex) of the channel's bearer token.
    pub token_hash: Option<String>,
    /// Where out-of-band messages are pushed (REST channel).
    pub callback_url: Option<String>,
    /// HMAC key for signing pushed messages. A secret: never in `Debug` output of the server.
    pub callback_secret: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Clone, PartialEq)]
pub struct Channel {
    pub id: ChannelId,
    pub kind: String,
    pub name: String,
    pub token_hash: Option<String>,
    pub callback_url: Option<String>,
    pub callback_secret: Option<String>,
    pub created_at: Timestamp,
    /// The kind's settings (`phone_number_id`, `api_base`, `rate`…), a JSON object.
    pub settings: serde_json::Value,
    pub fallback: Option<ChannelId>,
    /// Defined by channels.yaml (else made through the API).
    pub from_file: bool,
    /// A channel removed from channels.yaml is disabled: no traffic, history kept.
    pub enabled: bool,
    /// Secret role → key of `[secrets]` (names, never values).
    pub secret_names: serde_json::Value,
    pub default_flow: Option<String>,
}

impl Channel {
    /// A text setting, if set.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.get(key).and_then(serde_json::Value::as_str)
    }
}

/// How a contact is reached on one channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactIdentity {
    pub channel: ChannelId,
    pub kind: String,
    pub address: String,
    /// The contact's last message there (the customer-service window's start).
    pub last_inbound_at: Option<Timestamp>,
    pub since: Timestamp,
}

/// A contact with every channel it is reached on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactCard {
    pub contact: relais_core::contact::Contact,
    pub identities: Vec<ContactIdentity>,
    /// Opt-in or opt-out per channel kind (SPEC §11), as last recorded.
    pub consents: Vec<Consent>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Consent {
    pub channel_kind: String,
    pub granted: bool,
    pub at: Timestamp,
}

/// A channel as channels.yaml defines it, for [`crate::Admin::sync_channels`].
#[derive(Clone, PartialEq)]
pub struct ChannelSpec {
    pub id: ChannelId,
    pub kind: String,
    /// SHA-256 (hex) of the REST channel's token, from its secret.
    pub token_hash: Option<String>,
    pub settings: serde_json::Value,
    pub fallback: Option<ChannelId>,
    /// Secret role → key of `[secrets]`, a JSON object.
    pub secret_names: serde_json::Value,
    pub default_flow: Option<String>,
}

/// What a sync changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelSync {
    pub created: Vec<ChannelId>,
    pub updated: Vec<ChannelId>,
    /// In the store from an earlier channels.yaml, no longer in the file.
    pub disabled: Vec<ChannelId>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("callback_url", &self.callback_url.as_ref().map(|_| "<set>"))
            .field("settings", &self.settings)
            .field("enabled", &self.enabled)
            .field("secrets", &"<redacted>")
            .finish()
    }
}

#[derive(Clone)]
pub struct NewAgent {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Argon2id PHC string.
    pub password_hash: Option<String>,
    pub capacity: i64,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agent {
    pub id: AgentId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub presence: Presence,
    pub capacity: i64,
    pub disabled: bool,
    pub created_at: Timestamp,
    /// The language of the web workspace's pages for this agent (en, fr, it, es, de).
    pub language: String,
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub agent: AgentId,
    pub name: String,
    /// SHA-256 (hex) of the token; the token itself is never stored.
    pub hash: String,
    pub scopes: Vec<String>,
    /// `api` (long-lived, created by an admin) or `session` (from a login).
    pub kind: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub agent: AgentId,
    pub name: String,
    pub scopes: Vec<String>,
    pub kind: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

/// A conversation with its contact, for the API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationView {
    pub conversation: Conversation,
    pub contact: Contact,
    pub address: String,
}

/// Newest first; `before` is an exclusive conversation-id cursor.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub before: Option<ConversationId>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    pub id: i64,
    pub conversation: Option<ConversationId>,
    #[serde(flatten)]
    pub event: Event,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub contacts: i64,
    pub conversations: i64,
    pub messages: i64,
    pub inbound: i64,
    pub events: i64,
    pub pending_timers: i64,
    pub queued_outbox: i64,
}

/// A flow's source as loaded from a workspace.
#[derive(Debug, Clone)]
pub struct FlowSource {
    pub flow: String,
    pub path: String,
    pub source: String,
    /// SHA-256 (hex) of `source`: an unchanged file keeps its version.
    pub hash: String,
}

/// One immutable version of a flow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowVersion {
    pub flow: String,
    pub version: i64,
    pub hash: String,
    pub path: String,
    pub created_at: Timestamp,
    /// Only when asked for (loading old versions at start).
    #[serde(skip)]
    pub source: Option<String>,
}

/// What `POST /api/v1/events` asks: start an `event:NAME` flow for a contact.
#[derive(Debug, Clone)]
pub struct ProactiveStart {
    pub channel: ChannelId,
    /// The channel's kind, where consent is recorded.
    pub channel_kind: String,
    pub address: String,
    pub event: String,
    pub data: serde_json::Value,
    pub contact: ContactProfile,
    /// Consent given or withdrawn with this call, per channel kind.
    pub consent: Vec<(String, bool)>,
    pub now: Timestamp,
}

/// Contact attributes a caller may set; `None` leaves what is stored.
#[derive(Debug, Clone, Default)]
pub struct ContactProfile {
    pub name: Option<String>,
    pub language: Option<String>,
    pub tier: Option<String>,
    /// Merged into the stored custom fields.
    pub fields: Option<serde_json::Map<String, serde_json::Value>>,
}

/// What a proactive start did.
#[derive(Debug, Clone)]
pub struct Started {
    pub conversation: ConversationId,
    /// A new conversation was opened (else the live bot one was used).
    pub created: bool,
    pub replies: Vec<Message>,
    pub timers: Vec<ScheduledTimer>,
    pub queued: bool,
    pub http: Option<relais_core::decision::HttpCall>,
}

/// Events a webhook can subscribe to.
pub const WEBHOOK_EVENTS: [&str; 4] = ["escalated", "assigned", "customer_replied", "solved"];

#[derive(Clone)]
pub struct NewWebhook {
    /// `slack`, `teams` or `generic`.
    pub kind: String,
    pub url: String,
    /// The HMAC key of a generic webhook.
    pub secret: Option<String>,
    pub events: Vec<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Webhook {
    pub id: i64,
    pub kind: String,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: Timestamp,
}

/// A notification to deliver, or delivered, or dead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub webhook: i64,
    pub event: String,
    /// `queued`, `delivered` or `dead`.
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// When a queued delivery is tried next (a retry's backoff, the receiver's rate).
    pub next_attempt_at: Timestamp,
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    pub payload: serde_json::Value,
}

/// A delivery leased to the sender, with what it needs to send it.
#[derive(Clone)]
pub struct DeliveryJob {
    pub id: i64,
    /// The webhook it goes to (deliveries to one webhook are paced together).
    pub webhook: i64,
    pub kind: String,
    pub url: String,
    pub secret: Option<String>,
    pub event: String,
    pub payload: serde_json::Value,
    /// Attempts made before this one.
    pub attempts: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    Delivered,
    Retry {
        at: Timestamp,
        error: String,
    },
    /// Not attempted (the receiver's rate): due again at `at`, attempts unchanged.
    Later {
        at: Timestamp,
    },
    Dead {
        error: String,
    },
}

/// An agent's second factor, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totp {
    /// The shared secret, hex.
    pub secret: String,
    /// False while enrolment waits for its first code.
    pub enabled: bool,
    pub last_step: Option<i64>,
}

/// A change to an agent's second factor.
#[derive(Debug, Clone)]
pub enum TotpChange {
    /// Enrolment starts: a new secret, not yet enabled; old recovery codes dropped.
    Begin {
        secret: String,
    },
    /// The first code matched (at `step`): enabled, with these recovery code hashes.
    Enable {
        step: i64,
        recovery_hashes: Vec<String>,
    },
    Disable,
}

/// What proves the second factor at login.
#[derive(Debug, Clone)]
pub enum SecondFactor {
    /// A TOTP code that matched this step (refused if the step was already used).
    Step(i64),
    /// A recovery code's hash (refused if unknown or used).
    Recovery(String),
}

/// Which conversations a report reads: started in `[from, to)`, optionally on one
/// channel or (now) with one team.
#[derive(Debug, Clone)]
pub struct ReportQuery {
    pub from: Timestamp,
    pub to: Timestamp,
    pub channel: Option<String>,
    pub team: Option<String>,
}

/// One entry of the audit log (SPEC §11): a read of a conversation or a contact, or
/// an admin change (action `change:…`, written with every `admin_action` event; agent
/// 0 is the system: the CLI, retention).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessEntry {
    pub id: i64,
    pub at: Timestamp,
    pub agent: AgentId,
    /// The API token used (a session's too), if any.
    pub token: Option<i64>,
    /// `read_conversation`, `read_contact`, `export_contact`…
    pub action: String,
    /// `conversation:12`, `contact:7`.
    pub target: String,
    /// The client's address.
    pub ip: Option<String>,
    /// What an admin change changed (the admin event's data, JSON).
    pub detail: Option<String>,
}

/// How a conversation is forgotten (SPEC §11): its messages deleted, or kept with
/// personal data replaced (`[redacted]`, `[email]`, `[phone]`, masked cards and IBANs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forget {
    Erase,
    Anonymise,
}

/// What erasing a contact did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Erasure {
    pub contact: ContactId,
    /// The contact had been erased before (the call erased what came since, if anything).
    pub already_erased: bool,
    pub conversations: u64,
    pub messages: u64,
}

/// One pass of the retention policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct RetentionPass {
    /// Conversations forgotten.
    pub conversations: u64,
    /// Contacts erased because nothing of theirs was left.
    pub contacts: u64,
    /// Another pass has work.
    pub more: bool,
}
