//! Row operations inside one transaction, written once for both dialects over
//! [`Conn`]. Use cases ([`crate::usecase`]) compose them; nothing else writes SQL
//! except the migrations.

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

pub(crate) struct Tx<'a> {
    pub c: &'a mut dyn Conn,
}

const CONVERSATION_COLS: &str = "id, channel_id, contact_id, status, team, assignee, priority, tags, \
     escalation_reason, resolved_by, fields, bot_state, previous_id, last_seq, created_at, updated_at, address";
const MESSAGE_COLS: &str = "id, conversation_id, seq, direction, author_kind, agent_id, body, buttons, \
     status, external_id, reply_to, created_at";
const CONTACT_COLS: &str = "id, name, language, tier, fields";
const AGENT_COLS: &str = "id, email, name, role, presence, capacity, disabled, created_at";
const TOKEN_COLS: &str = "id, agent_id, name, scopes, kind, created_at, expires_at";
const EVENT_COLS: &str =
    "id, conversation_id, at, kind, actor_kind, actor_id, flow, flow_version, step, data";

fn corrupt(what: &str, value: &str) -> Error {
    Error::Corrupt(format!("unknown {what} {value:?}"))
}

fn contact_from(r: &Row, o: usize) -> Result<Contact> {
    Ok(Contact {
        id: ContactId(r.int(o)?),
        name: r.opt_text(o + 1)?,
        language: r.opt_text(o + 2)?,
        tier: r.text(o + 3)?,
        fields: r.json(o + 4)?,
    })
}

fn conversation_from(r: &Row) -> Result<(Conversation, String)> {
    let status = r.text(3)?;
    let priority = r.text(6)?;
    let resolved = r.opt_text(9)?;
    Ok((
        Conversation {
            id: ConversationId(r.int(0)?),
            channel: ChannelId(r.text(1)?),
            contact: ContactId(r.int(2)?),
            status: Status::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            team: r.opt_text(4)?,
            assignee: r.opt_int(5)?.map(AgentId),
            priority: Priority::parse(&priority).ok_or_else(|| corrupt("priority", &priority))?,
            tags: serde_json::from_value(r.json(7)?)?,
            escalation_reason: r.opt_text(8)?,
            resolved_by: match resolved {
                Some(s) => Some(Resolver::parse(&s).ok_or_else(|| corrupt("resolver", &s))?),
                None => None,
            },
            fields: r.json(10)?,
            bot_state: r.json(11)?,
            previous: r.opt_int(12)?.map(ConversationId),
            last_seq: r.int(13)?,
            created_at: Timestamp(r.int(14)?),
            updated_at: Timestamp(r.int(15)?),
        },
        r.text(16)?,
    ))
}

fn message_from(r: &Row) -> Result<Message> {
    let dir = r.text(3)?;
    let author = r.text(4)?;
    let status = r.opt_text(8)?;
    Ok(Message {
        id: MessageId(r.int(0)?),
        conversation: ConversationId(r.int(1)?),
        seq: r.int(2)?,
        direction: Direction::parse(&dir).ok_or_else(|| corrupt("direction", &dir))?,
        author: AuthorKind::parse(&author).ok_or_else(|| corrupt("author", &author))?,
        agent: r.opt_int(5)?.map(AgentId),
        text: r.text(6)?,
        buttons: serde_json::from_value(r.json(7)?)?,
        status: match status {
            Some(s) => {
                Some(DeliveryStatus::parse(&s).ok_or_else(|| corrupt("delivery status", &s))?)
            }
            None => None,
        },
        external_id: r.opt_text(9)?,
        reply_to: r.opt_int(10)?.map(MessageId),
        created_at: Timestamp(r.int(11)?),
    })
}

fn agent_from(r: &Row) -> Result<Agent> {
    let role = r.text(3)?;
    let presence = r.text(4)?;
    Ok(Agent {
        id: AgentId(r.int(0)?),
        email: r.text(1)?,
        name: r.text(2)?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        presence: Presence::parse(&presence).ok_or_else(|| corrupt("presence", &presence))?,
        capacity: r.int(5)?,
        disabled: r.int(6)? != 0,
        created_at: Timestamp(r.int(7)?),
    })
}

fn token_from(r: &Row) -> Result<TokenInfo> {
    Ok(TokenInfo {
        id: r.int(0)?,
        agent: AgentId(r.int(1)?),
        name: r.text(2)?,
        scopes: serde_json::from_value(r.json(3)?)?,
        kind: r.text(4)?,
        created_at: Timestamp(r.int(5)?),
        expires_at: r.opt_int(6)?.map(Timestamp),
    })
}

fn event_from(r: &Row) -> Result<StoredEvent> {
    let kind = r.text(3)?;
    let actor_kind = r.text(4)?;
    let actor_id = r.opt_int(5)?;
    let flow = match (r.opt_text(6)?, r.opt_int(7)?, r.opt_text(8)?) {
        (Some(flow), version, Some(step)) => Some(FlowPosition {
            flow,
            version: version.unwrap_or(0),
            step,
        }),
        _ => None,
    };
    Ok(StoredEvent {
        id: r.int(0)?,
        conversation: r.opt_int(1)?.map(ConversationId),
        event: Event {
            kind: EventKind::parse(&kind).ok_or_else(|| corrupt("event kind", &kind))?,
            actor: Actor::from_parts(&actor_kind, actor_id)
                .ok_or_else(|| corrupt("actor", &actor_kind))?,
            at: Timestamp(r.int(2)?),
            flow,
            data: r.json(9)?,
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

    pub fn contact_by_identity(
        &mut self,
        channel: &ChannelId,
        address: &str,
    ) -> Result<Option<Contact>> {
        let sql = "SELECT c.id, c.name, c.language, c.tier, c.fields FROM contact_identities i \
                   JOIN contacts c ON c.id = i.contact_id WHERE i.channel_id = $1 AND i.address = $2";
        self.c
            .query_opt(sql, &[channel.as_str().into(), address.into()])?
            .map(|r| contact_from(&r, 0))
            .transpose()
    }

    pub fn contact(&mut self, id: ContactId) -> Result<Contact> {
        let sql = format!("SELECT {CONTACT_COLS} FROM contacts WHERE id = $1");
        let r = self
            .c
            .query_opt(&sql, &[id.0.into()])?
            .ok_or_else(|| Error::NotFound(format!("contact {id}")))?;
        contact_from(&r, 0)
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

    pub fn set_contact_language(&mut self, id: ContactId, language: &str) -> Result<()> {
        self.c.execute(
            "UPDATE contacts SET language = $1 WHERE id = $2",
            &[language.into(), id.0.into()],
        )?;
        Ok(())
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
        let params = [Val::Int(before), Val::Int(i64::from(page.limit))];
        Ok(self
            .desk_conversations("v.id < $1", "$2", &params)?
            .into_iter()
            .map(|d| d.view)
            .collect())
    }

    /// Conversations matching `clauses` (over alias `v`), newest first, with their
    /// contact and queue times. `params` bind the placeholders the clauses use.
    pub fn desk_conversations(
        &mut self,
        clauses: &str,
        limit: &str,
        params: &[Val],
    ) -> Result<Vec<DeskConversation>> {
        let cols: String = CONVERSATION_COLS
            .split(", ")
            .map(|c| format!("v.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols}, c.id, c.name, c.language, c.tier, c.fields, v.queued_at, v.assigned_at \
             FROM conversations v JOIN contacts c ON c.id = v.contact_id WHERE {clauses} ORDER BY v.id DESC LIMIT {limit}"
        );
        let rows = self.c.query(&sql, params)?;
        rows.iter()
            .map(|r| {
                let (conversation, address) = conversation_from(r)?;
                Ok(DeskConversation {
                    view: ConversationView {
                        conversation,
                        contact: contact_from(r, 17)?,
                        address,
                    },
                    queued_at: r.opt_int(22)?.map(Timestamp),
                    assigned_at: r.opt_int(23)?.map(Timestamp),
                })
            })
            .collect()
    }

    // ---- messages -------------------------------------------------------------------

    /// Inserts a message. For an inbound message whose (channel, external id) is already
    /// stored, the unique index refuses it and this returns [`Error::DuplicateInbound`].
    pub fn insert_message(&mut self, m: &Message, channel: &ChannelId) -> Result<MessageId> {
        let id = self.c.insert(
            "INSERT INTO messages (conversation_id, seq, channel_id, direction, author_kind, agent_id, body, buttons, \
             status, external_id, reply_to, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (channel_id, external_id) WHERE direction = 'inbound' DO NOTHING",
            &[
                m.conversation.0.into(),
                m.seq.into(),
                channel.as_str().into(),
                m.direction.as_str().into(),
                m.author.as_str().into(),
                m.agent.map(|a| a.0).into(),
                m.text.as_str().into(),
                json_text(&m.buttons)?,
                m.status.map(DeliveryStatus::as_str).into(),
                m.external_id.as_ref().into(),
                m.reply_to.map(|r| r.0).into(),
                m.created_at.0.into(),
            ],
        )?;
        id.map(MessageId).ok_or(Error::DuplicateInbound)
    }

    pub fn inbound_by_external_id(
        &mut self,
        channel: &ChannelId,
        external_id: &str,
    ) -> Result<Option<Message>> {
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE channel_id = $1 AND external_id = $2 AND direction = 'inbound'"
        );
        self.c
            .query_opt(&sql, &[channel.as_str().into(), external_id.into()])?
            .map(|r| message_from(&r))
            .transpose()
    }

    pub fn replies_to(&mut self, id: MessageId) -> Result<Vec<Message>> {
        let sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE reply_to = $1 ORDER BY seq");
        self.c
            .query(&sql, &[id.0.into()])?
            .iter()
            .map(message_from)
            .collect()
    }

    pub fn messages(&mut self, conversation: ConversationId) -> Result<Vec<Message>> {
        let sql =
            format!("SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = $1 ORDER BY seq");
        self.c
            .query(&sql, &[conversation.0.into()])?
            .iter()
            .map(message_from)
            .collect()
    }

    pub fn message(&mut self, id: MessageId) -> Result<Option<Message>> {
        let sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE id = $1");
        self.c
            .query_opt(&sql, &[id.0.into()])?
            .map(|r| message_from(&r))
            .transpose()
    }

    pub fn set_delivery(
        &mut self,
        id: MessageId,
        status: DeliveryStatus,
        external_id: Option<&str>,
    ) -> Result<()> {
        self.c.execute(
            "UPDATE messages SET status = $1, external_id = COALESCE($2, external_id) WHERE id = $3",
            &[status.as_str().into(), external_id.into(), id.0.into()],
        )?;
        Ok(())
    }

    // ---- events ---------------------------------------------------------------------

    pub fn insert_event(&mut self, conversation: Option<ConversationId>, e: &Event) -> Result<()> {
        let (flow, version, step) = match &e.flow {
            Some(f) => (
                Some(f.flow.as_str()),
                Some(f.version),
                Some(f.step.as_str()),
            ),
            None => (None, None, None),
        };
        self.c.execute(
            "INSERT INTO events (conversation_id, at, kind, actor_kind, actor_id, flow, flow_version, step, data) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                conversation.map(|c| c.0).into(),
                e.at.0.into(),
                e.kind.as_str().into(),
                e.actor.kind_str().into(),
                e.actor.id().into(),
                flow.into(),
                version.into(),
                step.into(),
                json_text(&e.data)?,
            ],
        )?;
        Ok(())
    }

    pub fn events(
        &mut self,
        conversation: Option<ConversationId>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        let rows = match conversation {
            Some(c) => self.c.query(
                &format!("SELECT {EVENT_COLS} FROM events WHERE conversation_id = $1 AND id > $2 ORDER BY id LIMIT $3"),
                &[c.0.into(), after.into(), i64::from(limit).into()],
            )?,
            None => self.c.query(
                &format!("SELECT {EVENT_COLS} FROM events WHERE id > $1 ORDER BY id LIMIT $2"),
                &[after.into(), i64::from(limit).into()],
            )?,
        };
        rows.iter().map(event_from).collect()
    }

    // ---- timers ---------------------------------------------------------------------

    pub fn cancel_timers(
        &mut self,
        conversation: ConversationId,
        name: &str,
        now: Timestamp,
    ) -> Result<u64> {
        self.c.execute(
            "UPDATE timers SET state = 'cancelled', done_at = $1 \
             WHERE conversation_id = $2 AND name = $3 AND state = 'pending'",
            &[now.0.into(), conversation.0.into(), name.into()],
        )
    }

    pub fn insert_timer(
        &mut self,
        conversation: ConversationId,
        lane: &Lane,
        t: &TimerRequest,
        now: Timestamp,
    ) -> Result<TimerId> {
        let id = self.c.insert(
            "INSERT INTO timers (conversation_id, channel_id, address, name, due_at, payload, state, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)",
            &[
                conversation.0.into(),
                lane.channel.as_str().into(),
                lane.address.as_str().into(),
                t.name.as_str().into(),
                t.due_at.0.into(),
                json_text(&t.payload)?,
                now.0.into(),
            ],
        )?;
        id.map(TimerId)
            .ok_or_else(|| Error::Database("a timer was not inserted".into()))
    }

    /// The atomic claim: only one caller ever moves a timer from pending to fired.
    pub fn claim_timer(&mut self, id: TimerId, now: Timestamp) -> Result<Option<ClaimedTimer>> {
        let r = self.c.query_opt(
            "UPDATE timers SET state = 'fired', done_at = $1 WHERE id = $2 AND state = 'pending' AND due_at <= $1 \
             RETURNING conversation_id, name, payload",
            &[now.0.into(), id.0.into()],
        )?;
        r.map(|r| {
            Ok(ClaimedTimer {
                conversation: ConversationId(r.int(0)?),
                name: r.text(1)?,
                payload: r.json(2)?,
            })
        })
        .transpose()
    }

    pub fn due_timers(&mut self, until: Timestamp, limit: u32) -> Result<Vec<DueTimer>> {
        let rows = self.c.query(
            "SELECT id, due_at, channel_id, address FROM timers WHERE state = 'pending' AND due_at <= $1 \
             ORDER BY due_at, id LIMIT $2",
            &[until.0.into(), i64::from(limit).into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(DueTimer {
                    id: TimerId(r.int(0)?),
                    due_at: Timestamp(r.int(1)?),
                    lane: Lane {
                        channel: ChannelId(r.text(2)?),
                        address: r.text(3)?,
                    },
                })
            })
            .collect()
    }

    // ---- outbox ---------------------------------------------------------------------

    pub fn insert_outbox(&mut self, m: &Message, lane: &Lane, due: Timestamp) -> Result<()> {
        self.c.execute(
            "INSERT INTO outbox (message_id, conversation_id, channel_id, address, next_attempt_at, attempts) \
             VALUES ($1, $2, $3, $4, $5, 0)",
            &[
                m.id.0.into(),
                m.conversation.0.into(),
                lane.channel.as_str().into(),
                lane.address.as_str().into(),
                due.0.into(),
            ],
        )?;
        Ok(())
    }

    /// Leases the head of each conversation's queue that is due and not leased.
    pub fn claim_outbox(&mut self, claim: &OutboxClaim) -> Result<Vec<OutboxItem>> {
        let rows = self.c.query(
            "UPDATE outbox SET lease_until = $1, lease_owner = $2 WHERE message_id IN ( \
               SELECT o.message_id FROM outbox o \
               WHERE o.next_attempt_at <= $3 AND (o.lease_until IS NULL OR o.lease_until < $3) \
                 AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.conversation_id = o.conversation_id \
                                 AND p.message_id < o.message_id) \
               ORDER BY o.next_attempt_at, o.message_id LIMIT $4) \
             AND (lease_until IS NULL OR lease_until < $3) \
             RETURNING message_id, conversation_id, channel_id, address, attempts",
            &[
                claim.lease_until.0.into(),
                claim.owner.as_str().into(),
                claim.now.0.into(),
                i64::from(claim.limit).into(),
            ],
        )?;
        let mut items = Vec::with_capacity(rows.len());
        for r in rows {
            let id = MessageId(r.int(0)?);
            let m = self
                .message(id)?
                .ok_or_else(|| Error::Corrupt(format!("outbox row for missing message {id}")))?;
            items.push(OutboxItem {
                message: id,
                conversation: ConversationId(r.int(1)?),
                channel: ChannelId(r.text(2)?),
                address: r.text(3)?,
                text: m.text,
                buttons: m.buttons,
                attempts: r.int(4)?,
            });
        }
        items.sort_by_key(|i| i.message);
        Ok(items)
    }

    pub fn outbox_row(&mut self, id: MessageId) -> Result<Option<(ConversationId, i64)>> {
        self.c
            .query_opt(
                "SELECT conversation_id, attempts FROM outbox WHERE message_id = $1",
                &[id.0.into()],
            )?
            .map(|r| Ok((ConversationId(r.int(0)?), r.int(1)?)))
            .transpose()
    }

    pub fn reschedule_outbox(&mut self, id: MessageId, at: Timestamp, attempts: i64) -> Result<()> {
        self.c.execute(
            "UPDATE outbox SET next_attempt_at = $1, attempts = $2, lease_until = NULL, lease_owner = NULL \
             WHERE message_id = $3",
            &[at.0.into(), attempts.into(), id.0.into()],
        )?;
        Ok(())
    }

    pub fn delete_outbox(&mut self, id: MessageId) -> Result<()> {
        self.c
            .execute("DELETE FROM outbox WHERE message_id = $1", &[id.0.into()])?;
        Ok(())
    }

    pub fn next_outbox_due(&mut self, now: Timestamp) -> Result<Option<Timestamp>> {
        let r = self.c.query_one(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE lease_until IS NULL OR lease_until < $1",
            &[now.0.into()],
        )?;
        Ok(r.opt_int(0)?.map(Timestamp))
    }

    pub fn insert_attempt(&mut self, a: &AttemptRecord) -> Result<()> {
        self.c.execute(
            "INSERT INTO delivery_attempts (message_id, attempt, at, outcome, detail, duration_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                a.message.0.into(),
                a.attempt.into(),
                a.at.0.into(),
                a.outcome.as_str().into(),
                a.detail.as_ref().into(),
                a.duration_ms.into(),
            ],
        )?;
        Ok(())
    }

    pub fn attempts(&mut self, id: MessageId) -> Result<Vec<AttemptRecord>> {
        let rows = self.c.query(
            "SELECT message_id, attempt, at, outcome, detail, duration_ms FROM delivery_attempts \
             WHERE message_id = $1 ORDER BY attempt",
            &[id.0.into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(AttemptRecord {
                    message: MessageId(r.int(0)?),
                    attempt: r.int(1)?,
                    at: Timestamp(r.int(2)?),
                    outcome: r.text(3)?,
                    detail: r.opt_text(4)?,
                    duration_ms: r.int(5)?,
                })
            })
            .collect()
    }

    // ---- channels, agents, tokens ---------------------------------------------------

    pub fn insert_channel(&mut self, ch: &NewChannel) -> Result<()> {
        let n = self.c.execute(
            "INSERT INTO channels (id, kind, name, token_hash, callback_url, callback_secret, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
            &[
                ch.id.as_str().into(),
                ch.kind.as_str().into(),
                ch.name.as_str().into(),
                ch.token_hash.as_ref().into(),
                ch.callback_url.as_ref().into(),
                ch.callback_secret.as_ref().into(),
                ch.created_at.0.into(),
            ],
        )?;
        if n == 0 {
            return Err(Error::AlreadyExists(format!("channel {}", ch.id)));
        }
        Ok(())
    }

    pub fn set_channel_token(&mut self, id: &ChannelId, token_hash: &str) -> Result<bool> {
        let n = self.c.execute(
            "UPDATE channels SET token_hash = $1 WHERE id = $2",
            &[token_hash.into(), id.as_str().into()],
        )?;
        Ok(n == 1)
    }

    pub fn channels(&mut self) -> Result<Vec<Channel>> {
        let rows = self.c.query(
            "SELECT id, kind, name, token_hash, callback_url, callback_secret, created_at FROM channels ORDER BY id",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(Channel {
                    id: ChannelId(r.text(0)?),
                    kind: r.text(1)?,
                    name: r.text(2)?,
                    token_hash: r.opt_text(3)?,
                    callback_url: r.opt_text(4)?,
                    callback_secret: r.opt_text(5)?,
                    created_at: Timestamp(r.int(6)?),
                })
            })
            .collect()
    }

    pub fn insert_agent(&mut self, a: &NewAgent) -> Result<Agent> {
        let r = self.c.query_opt(
            "INSERT INTO agents (email, name, role, password_hash, presence, capacity, disabled, created_at) \
             VALUES ($1, $2, $3, $4, 'offline', $5, 0, $6) ON CONFLICT (email) DO NOTHING RETURNING id",
            &[
                a.email.as_str().into(),
                a.name.as_str().into(),
                a.role.as_str().into(),
                a.password_hash.as_ref().into(),
                a.capacity.into(),
                a.created_at.0.into(),
            ],
        )?;
        let Some(r) = r else {
            return Err(Error::AlreadyExists(format!("agent {}", a.email)));
        };
        Ok(Agent {
            id: AgentId(r.int(0)?),
            email: a.email.clone(),
            name: a.name.clone(),
            role: a.role,
            presence: Presence::Offline,
            capacity: a.capacity,
            disabled: false,
            created_at: a.created_at,
        })
    }

    pub fn agent(&mut self, id: AgentId) -> Result<Option<Agent>> {
        let sql = format!("SELECT {AGENT_COLS} FROM agents WHERE id = $1");
        self.c
            .query_opt(&sql, &[id.0.into()])?
            .map(|r| agent_from(&r))
            .transpose()
    }

    pub fn agent_by_email(&mut self, email: &str) -> Result<Option<(Agent, Option<String>)>> {
        let sql = format!("SELECT {AGENT_COLS}, password_hash FROM agents WHERE email = $1");
        self.c
            .query_opt(&sql, &[email.into()])?
            .map(|r| Ok((agent_from(&r)?, r.opt_text(8)?)))
            .transpose()
    }

    pub fn agents(&mut self) -> Result<Vec<Agent>> {
        let sql = format!("SELECT {AGENT_COLS} FROM agents ORDER BY id");
        self.c.query(&sql, &[])?.iter().map(agent_from).collect()
    }

    pub fn insert_token(&mut self, t: &NewToken) -> Result<TokenInfo> {
        let r = self.c.query_one(
            "INSERT INTO api_tokens (agent_id, name, hash, scopes, kind, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                t.agent.0.into(),
                t.name.as_str().into(),
                t.hash.as_str().into(),
                json_text(&t.scopes)?,
                t.kind.as_str().into(),
                t.created_at.0.into(),
                t.expires_at.map(|e| e.0).into(),
            ],
        )?;
        Ok(TokenInfo {
            id: r.int(0)?,
            agent: t.agent,
            name: t.name.clone(),
            scopes: t.scopes.clone(),
            kind: t.kind.clone(),
            created_at: t.created_at,
            expires_at: t.expires_at,
        })
    }

    pub fn token_by_hash(&mut self, hash: &str, now: Timestamp) -> Result<Option<TokenInfo>> {
        let sql = format!(
            "SELECT {TOKEN_COLS} FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2)"
        );
        self.c
            .query_opt(&sql, &[hash.into(), now.0.into()])?
            .map(|r| token_from(&r))
            .transpose()
    }

    pub fn revoke_token(&mut self, id: i64, agent: AgentId, now: Timestamp) -> Result<bool> {
        let n = self.c.execute(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND agent_id = $3 AND revoked_at IS NULL",
            &[now.0.into(), id.into(), agent.0.into()],
        )?;
        Ok(n == 1)
    }

    pub fn stats(&mut self) -> Result<Stats> {
        let r = self.c.query_one(
            "SELECT (SELECT COUNT(*) FROM contacts), (SELECT COUNT(*) FROM conversations), \
             (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM messages WHERE direction = 'inbound'), \
             (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM timers WHERE state = 'pending'), \
             (SELECT COUNT(*) FROM outbox)",
            &[],
        )?;
        Ok(Stats {
            contacts: r.int(0)?,
            conversations: r.int(1)?,
            messages: r.int(2)?,
            inbound: r.int(3)?,
            events: r.int(4)?,
            pending_timers: r.int(5)?,
            queued_outbox: r.int(6)?,
        })
    }
}
