//! Row operations inside one transaction, written once for both dialects over
//! [`Conn`]: contacts and conversations here, messages and events in [`message`],
//! timers and the outbox in [`delivery`], channels, agents and tokens in [`admin`].
//! Use cases ([`crate::usecase`]) compose them. Not all SQL lives here yet: `queue.rs`,
//! `desk/`, `webhooks.rs`, `versions.rs` and `proactive.rs` hold their own statements.

use crate::model::*;
use crate::sql::{Conn, ConnExt, Row, Val};
use crate::{Error, Result};
use relais_core::Timestamp;
use relais_core::agent::{Presence, Role};
use relais_core::contact::Contact;
use relais_core::conversation::{Conversation, Priority};
use relais_core::decision::TimerRequest;
use relais_core::event::{Actor, Event, EventKind, FlowPosition};
use relais_core::id::*;
use relais_core::message::{AuthorKind, DeliveryStatus, Direction, Message};
use relais_core::ticket::{Resolver, Status};

mod admin;
mod delivery;
mod media;
pub(crate) use delivery::QueuedRow;
mod message;

pub(crate) struct Tx<'a> {
    pub c: &'a mut dyn Conn,
}

impl<'a> Tx<'a> {
    pub fn new(c: &'a mut dyn Conn) -> Self {
        Tx { c }
    }
}

const CONVERSATION_COLS: &str = "id, channel_id, contact_id, status, team, assignee, priority, tags, \
     escalation_reason, resolved_by, fields, bot_state, previous_id, last_seq, created_at, updated_at, address";
const MESSAGE_COLS: &str = "id, conversation_id, channel_id, seq, direction, author_kind, agent_id, body, buttons, \
     status, external_id, reply_to, created_at";
const CONTACT_COLS: &str = "id, name, language, tier, fields";
const AGENT_COLS: &str =
    "id, email, name, role, presence, capacity, disabled, created_at, language";
const TOKEN_COLS: &str = "id, agent_id, name, scopes, kind, created_at, expires_at";
const EVENT_COLS: &str =
    "id, conversation_id, at, kind, actor_kind, actor_id, flow, flow_version, step, data";

fn corrupt(what: &str, value: &str) -> Error {
    Error::Corrupt(format!("unknown {what} {value:?}"))
}

fn contact_from(r: &Row, prefix: &str) -> Result<Contact> {
    let c = |name: &str| format!("{prefix}{name}");
    Ok(Contact {
        id: ContactId(r.int(c("id").as_str())?),
        name: r.opt_text(c("name").as_str())?,
        language: r.opt_text(c("language").as_str())?,
        tier: r.text(c("tier").as_str())?,
        fields: r.json(c("fields").as_str())?,
    })
}

fn conversation_from(r: &Row) -> Result<(Conversation, String)> {
    let status = r.text("status")?;
    let priority = r.text("priority")?;
    let resolved = r.opt_text("resolved_by")?;
    Ok((
        Conversation {
            id: ConversationId(r.int("id")?),
            channel: ChannelId(r.text("channel_id")?),
            contact: ContactId(r.int("contact_id")?),
            status: Status::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            team: r.opt_text("team")?,
            assignee: r.opt_int("assignee")?.map(AgentId),
            priority: Priority::parse(&priority).ok_or_else(|| corrupt("priority", &priority))?,
            tags: serde_json::from_value(r.json("tags")?)?,
            escalation_reason: r.opt_text("escalation_reason")?,
            resolved_by: match resolved {
                Some(s) => Some(Resolver::parse(&s).ok_or_else(|| corrupt("resolver", &s))?),
                None => None,
            },
            fields: r.json("fields")?,
            bot_state: r.json("bot_state")?,
            previous: r.opt_int("previous_id")?.map(ConversationId),
            last_seq: r.int("last_seq")?,
            created_at: Timestamp(r.int("created_at")?),
            updated_at: Timestamp(r.int("updated_at")?),
        },
        r.text("address")?,
    ))
}

fn message_from(r: &Row) -> Result<Message> {
    let dir = r.text("direction")?;
    let author = r.text("author_kind")?;
    let status = r.opt_text("status")?;
    Ok(Message {
        id: MessageId(r.int("id")?),
        conversation: ConversationId(r.int("conversation_id")?),
        channel: ChannelId(r.text("channel_id")?),
        seq: r.int("seq")?,
        direction: Direction::parse(&dir).ok_or_else(|| corrupt("direction", &dir))?,
        author: AuthorKind::parse(&author).ok_or_else(|| corrupt("author", &author))?,
        agent: r.opt_int("agent_id")?.map(AgentId),
        text: r.text("body")?,
        buttons: serde_json::from_value(r.json("buttons")?)?,
        status: match status {
            Some(s) => {
                Some(DeliveryStatus::parse(&s).ok_or_else(|| corrupt("delivery status", &s))?)
            }
            None => None,
        },
        external_id: r.opt_text("external_id")?,
        reply_to: r.opt_int("reply_to")?.map(MessageId),
        created_at: Timestamp(r.int("created_at")?),
    })
}

fn agent_from(r: &Row) -> Result<Agent> {
    let role = r.text("role")?;
    let presence = r.text("presence")?;
    Ok(Agent {
        id: AgentId(r.int("id")?),
        email: r.text("email")?,
        name: r.text("name")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        presence: Presence::parse(&presence).ok_or_else(|| corrupt("presence", &presence))?,
        capacity: r.int("capacity")?,
        disabled: r.int("disabled")? != 0,
        created_at: Timestamp(r.int("created_at")?),
        language: r.text("language")?,
    })
}

fn token_from(r: &Row) -> Result<TokenInfo> {
    Ok(TokenInfo {
        id: r.int("id")?,
        agent: AgentId(r.int("agent_id")?),
        name: r.text("name")?,
        scopes: serde_json::from_value(r.json("scopes")?)?,
        kind: r.text("kind")?,
        created_at: Timestamp(r.int("created_at")?),
        expires_at: r.opt_int("expires_at")?.map(Timestamp),
    })
}

fn event_from(r: &Row) -> Result<StoredEvent> {
    let kind = r.text("kind")?;
    let actor_kind = r.text("actor_kind")?;
    let actor_id = r.opt_int("actor_id")?;
    let flow = match (
        r.opt_text("flow")?,
        r.opt_int("flow_version")?,
        r.opt_text("step")?,
    ) {
        (Some(flow), version, Some(step)) => Some(FlowPosition {
            flow,
            version: version.unwrap_or(0),
            step,
        }),
        _ => None,
    };
    Ok(StoredEvent {
        id: r.int("id")?,
        conversation: r.opt_int("conversation_id")?.map(ConversationId),
        event: Event {
            kind: EventKind::parse(&kind).ok_or_else(|| corrupt("event kind", &kind))?,
            actor: Actor::from_parts(&actor_kind, actor_id)
                .ok_or_else(|| corrupt("actor", &actor_kind))?,
            at: Timestamp(r.int("at")?),
            flow,
            data: r.json("data")?,
        },
    })
}

pub(crate) fn json_text(v: &impl serde::Serialize) -> Result<Val> {
    Ok(Val::Text(serde_json::to_string(v)?))
}

/// A claimed timer, ready to fire.
pub(crate) struct ClaimedTimer {
    pub conversation: ConversationId,
    pub name: String,
    pub payload: serde_json::Value,
}

impl Tx<'_> {
    // ---- contacts -------------------------------------------------------------------

    /// The contact reached at (channel, address), and its last message there (the
    /// customer-service window's start), in one read.
    pub fn contact_and_window(
        &mut self,
        channel: &ChannelId,
        address: &str,
    ) -> Result<Option<(Contact, Option<Timestamp>)>> {
        let sql = "SELECT c.id, c.name, c.language, c.tier, c.fields, i.last_inbound_at FROM contact_identities i \
                   JOIN contacts c ON c.id = i.contact_id WHERE i.channel_id = $1 AND i.address = $2";
        self.c
            .query_opt(sql, &[channel.as_str().into(), address.into()])?
            .map(|r| {
                Ok((
                    contact_from(&r, "")?,
                    r.opt_int("last_inbound_at")?.map(Timestamp),
                ))
            })
            .transpose()
    }

    pub fn contact_by_identity(
        &mut self,
        channel: &ChannelId,
        address: &str,
    ) -> Result<Option<Contact>> {
        let sql = "SELECT c.id, c.name, c.language, c.tier, c.fields FROM contact_identities i \
                   JOIN contacts c ON c.id = i.contact_id WHERE i.channel_id = $1 AND i.address = $2";
        self.c
            .query_opt(sql, &[channel.as_str().into(), address.into()])?
            .map(|r| contact_from(&r, ""))
            .transpose()
    }

    pub fn contact(&mut self, id: ContactId) -> Result<Contact> {
        let sql = format!("SELECT {CONTACT_COLS} FROM contacts WHERE id = $1");
        let r = self
            .c
            .query_opt(&sql, &[id.0.into()])?
            .ok_or_else(|| Error::NotFound(format!("contact {id}")))?;
        contact_from(&r, "")
    }

    /// Creates a contact reached at (channel, address). Two racing creations (two nodes)
    /// end with one identity: the loser's insert conflicts and it reads the winner's.
    pub fn create_contact(
        &mut self,
        channel: &ChannelId,
        address: &str,
        name: Option<&str>,
        now: Timestamp,
    ) -> Result<Contact> {
        if let Some(known) = self.same_phone_contact(channel, address)? {
            // The same number on another phone channel (WhatsApp, SMS): one contact.
            self.c.execute(
                "INSERT INTO contact_identities (channel_id, address, contact_id, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (channel_id, address) DO NOTHING",
                &[channel.as_str().into(), address.into(), known.0.into(), now.0.into()],
            )?;
            return self
                .contact_by_identity(channel, address)?
                .ok_or_else(|| Error::Database("identity conflict without a row".into()));
        }
        let id = self
            .c
            .insert(
                "INSERT INTO contacts (name, tier, fields, created_at) VALUES ($1, 'standard', '{}', $2)",
                &[name.into(), now.0.into()],
            )?
            .ok_or_else(|| Error::Database("a contact was not inserted".into()))?;
        let inserted = self.c.execute(
            "INSERT INTO contact_identities (channel_id, address, contact_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (channel_id, address) DO NOTHING",
            &[channel.as_str().into(), address.into(), id.into(), now.0.into()],
        )?;
        if inserted == 0 {
            self.c
                .execute("DELETE FROM contacts WHERE id = $1", &[id.into()])?;
            return self
                .contact_by_identity(channel, address)?
                .ok_or_else(|| Error::Database("identity conflict without a row".into()));
        }
        self.contact(ContactId(id))
    }

    /// A contact already reached at the same phone number on a phone channel.
    fn same_phone_contact(
        &mut self,
        channel: &ChannelId,
        address: &str,
    ) -> Result<Option<ContactId>> {
        let Some(kind) = self.channel_kind(channel)? else {
            return Ok(None);
        };
        for other in ["whatsapp", "sms"] {
            let Some(candidate) = relais_core::contact::same_phone(&kind, address, other) else {
                continue;
            };
            let found = self.c.query_opt(
                "SELECT i.contact_id FROM contact_identities i JOIN channels ch ON ch.id = i.channel_id \
                 WHERE i.address = $1 AND ch.kind = $2 LIMIT 1",
                &[candidate.as_str().into(), other.into()],
            )?;
            if let Some(r) = found {
                return Ok(Some(ContactId(r.int("contact_id")?)));
            }
        }
        Ok(None)
    }

    /// A contact with every identity it has (SPEC §6: one contact across channels).
    pub fn contact_card(&mut self, id: ContactId) -> Result<ContactCard> {
        let erased = self
            .c
            .query_opt(
                "SELECT erased_at FROM contacts WHERE id = $1",
                &[id.0.into()],
            )?
            .map(|r| r.opt_int("erased_at"))
            .transpose()?
            .flatten();
        if erased.is_some() {
            return Err(Error::NotFound(format!("contact {id} (erased)")));
        }
        let contact = self.contact(id)?;
        let rows = self.c.query(
            "SELECT i.channel_id, ch.kind, i.address, i.last_inbound_at, i.created_at FROM contact_identities i \
             JOIN channels ch ON ch.id = i.channel_id WHERE i.contact_id = $1 ORDER BY i.created_at, i.channel_id",
            &[id.0.into()],
        )?;
        let identities = rows
            .iter()
            .map(|r| {
                Ok(ContactIdentity {
                    channel: ChannelId(r.text("channel_id")?),
                    kind: r.text("kind")?,
                    address: r.text("address")?,
                    last_inbound_at: r.opt_int("last_inbound_at")?.map(Timestamp),
                    since: Timestamp(r.int("created_at")?),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let consents = self
            .c
            .query(
                "SELECT channel_kind, granted, at FROM contact_consents WHERE contact_id = $1 \
                 ORDER BY channel_kind",
                &[id.0.into()],
            )?
            .iter()
            .map(|r| {
                Ok(Consent {
                    channel_kind: r.text("channel_kind")?,
                    granted: r.int("granted")? != 0,
                    at: Timestamp(r.int("at")?),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ContactCard {
            contact,
            identities,
            consents,
        })
    }

    /// Folds `from` into `into`: identities, conversations and consents move; `from`
    /// is deleted. Refused when both have an open conversation on one channel.
    pub fn merge_contacts(&mut self, into: ContactId, from: ContactId) -> Result<()> {
        if into == from {
            return Err(Error::Conflict(
                "a contact cannot be merged into itself".into(),
            ));
        }
        self.contact(into)?;
        self.contact(from)?;
        let clash = self.c.query_opt(
            "SELECT a.channel_id FROM conversations a JOIN conversations b ON a.channel_id = b.channel_id \
             WHERE a.contact_id = $1 AND b.contact_id = $2 AND a.status <> 'closed' AND b.status <> 'closed' LIMIT 1",
            &[into.0.into(), from.0.into()],
        )?;
        if let Some(r) = clash {
            return Err(Error::Conflict(format!(
                "both contacts have an open conversation on the channel {}: close one before merging",
                r.text("channel_id")?
            )));
        }
        for sql in [
            "UPDATE contact_identities SET contact_id = $1 WHERE contact_id = $2",
            "UPDATE conversations SET contact_id = $1 WHERE contact_id = $2",
            "UPDATE media SET contact_id = $1 WHERE contact_id = $2",
            "INSERT INTO contact_consents (contact_id, channel_kind, granted, at) \
             SELECT $1, channel_kind, granted, at FROM contact_consents WHERE contact_id = $2 \
             ON CONFLICT (contact_id, channel_kind) DO NOTHING",
        ] {
            self.c.execute(sql, &[into.0.into(), from.0.into()])?;
        }
        for sql in [
            "DELETE FROM contact_consents WHERE contact_id = $1",
            "DELETE FROM contacts WHERE id = $1",
        ] {
            self.c.execute(sql, &[from.0.into()])?;
        }
        Ok(())
    }

    /// The contact wrote on (channel, address) at `now`: the customer-service window
    /// starts again.
    pub fn window_opened(
        &mut self,
        channel: &ChannelId,
        address: &str,
        now: Timestamp,
    ) -> Result<()> {
        self.c.execute(
            "UPDATE contact_identities SET last_inbound_at = $1 WHERE channel_id = $2 AND address = $3",
            &[now.0.into(), channel.as_str().into(), address.into()],
        )?;
        Ok(())
    }

    pub fn channel_kind(&mut self, channel: &ChannelId) -> Result<Option<String>> {
        self.c
            .query_opt(
                "SELECT kind FROM channels WHERE id = $1",
                &[channel.as_str().into()],
            )?
            .map(|r| r.text("kind"))
            .transpose()
    }

    /// The contact's own STOP or START: only another of theirs changes it back.
    pub fn set_consent_by_contact(
        &mut self,
        contact: ContactId,
        kind: &str,
        granted: bool,
        at: Timestamp,
    ) -> Result<()> {
        self.c.execute(
            "INSERT INTO contact_consents (contact_id, channel_kind, granted, at, by_contact) VALUES ($1, $2, $3, $4, 1) \
             ON CONFLICT (contact_id, channel_kind) DO UPDATE SET granted = $3, at = $4, by_contact = 1",
            &[contact.0.into(), kind.into(), granted.into(), at.0.into()],
        )?;
        Ok(())
    }

    pub fn set_contact_language(&mut self, id: ContactId, language: &str) -> Result<()> {
        self.c.execute(
            "UPDATE contacts SET language = $1 WHERE id = $2",
            &[language.into(), id.0.into()],
        )?;
        Ok(())
    }

    /// Sets the `email` field of the contact at `address` on `channel` (a web chat
    /// visitor who gives one to be answered by email). `false`: no such contact.
    pub fn set_contact_email(
        &mut self,
        channel: &ChannelId,
        address: &str,
        email: &str,
        at: Timestamp,
    ) -> Result<bool> {
        let Some(mut contact) = self.contact_by_identity(channel, address)? else {
            return Ok(false);
        };
        if !contact.fields.is_object() {
            contact.fields = serde_json::json!({});
        }
        contact.fields["email"] = serde_json::Value::String(email.to_owned());
        self.c.execute(
            "UPDATE contacts SET fields = $1 WHERE id = $2",
            &[json_text(&contact.fields)?, contact.id.0.into()],
        )?;
        self.insert_event(
            None,
            &Event::new(
                EventKind::ContactUpdated,
                Actor::Contact(contact.id),
                at,
                serde_json::json!({ "contact": contact.id, "fields": ["email"] }),
            ),
        )?;
        Ok(true)
    }

    // ---- conversations --------------------------------------------------------------

    /// The live conversation of a contact on a channel, locked for this transaction.
    pub fn live_conversation(
        &mut self,
        channel: &ChannelId,
        contact: ContactId,
    ) -> Result<Option<Conversation>> {
        let sql = format!(
            "SELECT {CONVERSATION_COLS} FROM conversations WHERE channel_id = $1 AND contact_id = $2 \
             AND status <> 'closed'{}",
            self.c.dialect().for_update()
        );
        self.c
            .query_opt(&sql, &[channel.as_str().into(), contact.0.into()])?
            .map(|r| conversation_from(&r).map(|c| c.0))
            .transpose()
    }

    /// The live conversation of `contact` in which Relais sent, on `channel`, one of the
    /// messages `thread` names (an email answering a reply that went out by email from
    /// a web chat or WhatsApp conversation), locked.
    pub fn threaded_conversation(
        &mut self,
        channel: &ChannelId,
        thread: &[String],
        contact: ContactId,
    ) -> Result<Option<Conversation>> {
        for id in thread.iter().take(20) {
            let Some(r) = self.c.query_opt(
                "SELECT conversation_id FROM messages WHERE channel_id = $1 AND external_id = $2 \
                 AND direction = 'outbound'",
                &[channel.as_str().into(), id.trim_matches(['<', '>']).into()],
            )?
            else {
                continue;
            };
            let found = self.conversation(ConversationId(r.int("conversation_id")?), true)?;
            if let Some((c, _)) = found
                && c.contact == contact
                && c.status != relais_core::ticket::Status::Closed
            {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    pub fn conversation(
        &mut self,
        id: ConversationId,
        lock: bool,
    ) -> Result<Option<(Conversation, String)>> {
        let lock = if lock {
            self.c.dialect().for_update()
        } else {
            ""
        };
        let sql = format!("SELECT {CONVERSATION_COLS} FROM conversations WHERE id = $1{lock}");
        self.c
            .query_opt(&sql, &[id.0.into()])?
            .map(|r| conversation_from(&r))
            .transpose()
    }

    pub fn last_conversation(
        &mut self,
        channel: &ChannelId,
        contact: ContactId,
    ) -> Result<Option<ConversationId>> {
        let r = self.c.query_opt(
            "SELECT id FROM conversations WHERE channel_id = $1 AND contact_id = $2 ORDER BY id DESC LIMIT 1",
            &[channel.as_str().into(), contact.0.into()],
        )?;
        r.map(|r| r.int(0).map(ConversationId)).transpose()
    }

    /// Inserts a new conversation (its `id` is ignored) and returns it with its id.
    pub fn insert_conversation(&mut self, c: &Conversation, address: &str) -> Result<Conversation> {
        let id = self
            .c
            .insert(
                "INSERT INTO conversations (channel_id, contact_id, address, status, team, assignee, priority, tags, \
                 escalation_reason, resolved_by, fields, bot_state, previous_id, last_seq, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                &[
                    c.channel.as_str().into(),
                    c.contact.0.into(),
                    address.into(),
                    c.status.as_str().into(),
                    c.team.as_ref().into(),
                    c.assignee.map(|a| a.0).into(),
                    c.priority.as_str().into(),
                    json_text(&c.tags)?,
                    c.escalation_reason.as_ref().into(),
                    c.resolved_by.map(Resolver::as_str).into(),
                    json_text(&c.fields)?,
                    json_text(&c.bot_state)?,
                    c.previous.map(|p| p.0).into(),
                    c.last_seq.into(),
                    c.created_at.0.into(),
                    c.updated_at.0.into(),
                ],
            )?
            .ok_or_else(|| Error::Database("a conversation was not inserted".into()))?;
        Ok(Conversation {
            id: ConversationId(id),
            ..c.clone()
        })
    }

    pub fn update_conversation(&mut self, c: &Conversation) -> Result<()> {
        let n = self.c.execute(
            "UPDATE conversations SET status = $1, team = $2, assignee = $3, priority = $4, tags = $5, \
             escalation_reason = $6, resolved_by = $7, fields = $8, bot_state = $9, last_seq = $10, updated_at = $11 \
             WHERE id = $12",
            &[
                c.status.as_str().into(),
                c.team.as_ref().into(),
                c.assignee.map(|a| a.0).into(),
                c.priority.as_str().into(),
                json_text(&c.tags)?,
                c.escalation_reason.as_ref().into(),
                c.resolved_by.map(Resolver::as_str).into(),
                json_text(&c.fields)?,
                json_text(&c.bot_state)?,
                c.last_seq.into(),
                c.updated_at.0.into(),
                c.id.0.into(),
            ],
        )?;
        if n == 1 {
            Ok(())
        } else {
            Err(Error::NotFound(format!("conversation {}", c.id)))
        }
    }

    pub fn conversations(&mut self, page: Page) -> Result<Vec<ConversationView>> {
        let before = page.before.map_or(i64::MAX, |b| b.0);
        // No viewer: nothing is unread for agent 0.
        let params = [
            Val::Int(0),
            Val::Int(before),
            Val::Int(i64::from(page.limit)),
        ];
        Ok(self
            .desk_conversations("v.id < $2", "$3", "$1", &params)?
            .into_iter()
            .map(|d| d.view)
            .collect())
    }

    /// Conversations matching `clauses` (over alias `v`), newest first, with their
    /// contact and queue times, their last message, and whether `viewer` (a
    /// placeholder: what is unread is the viewer's) has read them. `params` bind the
    /// placeholders; SQLite numbers them in the order they appear, so `viewer`'s must
    /// be the first, the clauses' next, the limit's last.
    pub fn desk_conversations(
        &mut self,
        clauses: &str,
        limit: &str,
        viewer: &str,
        params: &[Val],
    ) -> Result<Vec<DeskConversation>> {
        let cols: String = CONVERSATION_COLS
            .split(", ")
            .map(|c| format!("v.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols}, c.id AS c_id, c.name AS c_name, c.language AS c_language, c.tier AS c_tier, \
             c.fields AS c_fields, v.queued_at, v.assigned_at, i.last_inbound_at, \
             lm.id AS lm_id, lm.body AS lm_body, lm.direction AS lm_direction, lm.created_at AS lm_at, \
             (SELECT MAX(mi.id) FROM messages mi WHERE mi.conversation_id = v.id \
               AND mi.direction = 'inbound') > COALESCE(r.message_id, 0) AS unread \
             FROM conversations v JOIN contacts c ON c.id = v.contact_id \
             LEFT JOIN contact_identities i ON i.channel_id = v.channel_id AND i.address = v.address \
             LEFT JOIN messages lm ON lm.id = COALESCE((SELECT ml.id FROM messages ml \
               WHERE ml.conversation_id = v.id AND ml.direction = 'inbound' ORDER BY ml.seq DESC LIMIT 1), \
               (SELECT ml.id FROM messages ml \
               WHERE ml.conversation_id = v.id AND ml.direction <> 'note' ORDER BY ml.seq DESC LIMIT 1)) \
             LEFT JOIN agent_reads r ON r.agent_id = {viewer} AND r.conversation_id = v.id \
             WHERE {clauses} ORDER BY v.id DESC LIMIT {limit}"
        );
        let rows = self.c.query(&sql, params)?;
        rows.iter()
            .map(|r| {
                let (conversation, address) = conversation_from(r)?;
                Ok(DeskConversation {
                    view: ConversationView {
                        conversation,
                        contact: contact_from(r, "c_")?,
                        address,
                    },
                    queued_at: r.opt_int("queued_at")?.map(Timestamp),
                    assigned_at: r.opt_int("assigned_at")?.map(Timestamp),
                    last_inbound_at: r.opt_int("last_inbound_at")?.map(Timestamp),
                    last_message: match r.opt_int("lm_id")? {
                        Some(id) => {
                            let d = r.text("lm_direction")?;
                            Some(LastMessage {
                                id: MessageId(id),
                                text: r.text("lm_body")?,
                                direction: relais_core::message::Direction::parse(&d)
                                    .ok_or_else(|| corrupt("direction", &d))?,
                                at: Timestamp(r.int("lm_at")?),
                            })
                        }
                        None => None,
                    },
                    unread: r.opt_int("unread")?.is_some_and(|u| u != 0),
                })
            })
            .collect()
    }
}
