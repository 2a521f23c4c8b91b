//! Every message the business writes into a conversation (bot replies, agents'
//! replies and notes, Relais's own reminders and surveys) is written here: the row,
//! its delivery route and the event that records it.

use crate::Result;
use crate::model::Lane;
use crate::tx::Tx;
use relais_core::Timestamp;
use relais_core::conversation::Conversation;
use relais_core::event::{Actor, Event, EventKind};
use relais_core::id::{AgentId, MessageId};
use relais_core::message::{AuthorKind, DeliveryStatus, Direction, Message};
use serde_json::json;

/// How a written message reaches (or not) the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// In the caller's HTTP response (REST channel): stored as sent.
    InBand,
    /// Through the outbox dispatcher.
    Outbox,
    /// An internal note: never sent.
    Note,
}

pub(crate) struct Outgoing {
    pub author: AuthorKind,
    pub agent: Option<AgentId>,
    pub text: String,
    pub buttons: Vec<String>,
    /// The inbound message this answers.
    pub reply_to: Option<MessageId>,
    /// An agent's idempotency key.
    pub client_id: Option<String>,
    pub route: Route,
    /// Choice ids, media, template parameters: stored as the message's `payload`.
    pub rich: relais_core::rich::Rich,
}

impl Outgoing {
    /// A plain text from `author` on `route`.
    pub fn text(author: AuthorKind, agent: Option<AgentId>, text: String, route: Route) -> Self {
        Outgoing {
            author,
            agent,
            text,
            buttons: Vec::new(),
            reply_to: None,
            client_id: None,
            route,
            rich: relais_core::rich::Rich::default(),
        }
    }
}

/// Writes the message as the conversation's next, routes it and records the event.
pub(crate) fn write(
    tx: &mut Tx<'_>,
    conv: &mut Conversation,
    lane: &Lane,
    out: Outgoing,
    now: Timestamp,
) -> Result<Message> {
    conv.last_seq += 1;
    let mut m = Message {
        id: MessageId(0),
        conversation: conv.id,
        channel: conv.channel.clone(),
        seq: conv.last_seq,
        direction: if out.route == Route::Note {
            Direction::Note
        } else {
            Direction::Outbound
        },
        author: out.author,
        agent: out.agent,
        text: out.text,
        buttons: out.buttons,
        status: match out.route {
            Route::InBand => Some(DeliveryStatus::Sent),
            Route::Outbox => Some(DeliveryStatus::Queued),
            Route::Note => None,
        },
        external_id: None,
        reply_to: out.reply_to,
        created_at: now,
    };
    let payload = if out.rich.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&out.rich)?)
    };
    m.id = tx.insert_message(&m, &conv.channel, None, payload.as_deref())?;
    if let Some(c) = &out.client_id {
        tx.c.execute(
            "UPDATE messages SET client_id = $1 WHERE id = $2",
            &[c.as_str().into(), m.id.0.into()],
        )?;
    }
    let actor = match (out.agent, out.author) {
        (Some(a), _) => Actor::Agent(a),
        (None, AuthorKind::Bot) => Actor::Bot,
        (None, _) => Actor::System,
    };
    let (kind, data) = match out.route {
        Route::InBand => (
            EventKind::MessageSent,
            json!({ "message": m.id, "seq": m.seq, "in_band": true }),
        ),
        Route::Outbox => {
            tx.insert_outbox(&m, lane, now)?;
            (
                EventKind::MessageQueued,
                json!({ "message": m.id, "seq": m.seq, "in_band": false }),
            )
        }
        Route::Note => (
            EventKind::NoteAdded,
            json!({ "message": m.id, "seq": m.seq }),
        ),
    };
    tx.insert_event(Some(conv.id), &Event::new(kind, actor, now, data))?;
    Ok(m)
}
