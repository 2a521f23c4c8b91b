//! Everything held about one contact, as one JSON document (GDPR article 15): the
//! contact and its identities on every channel, its consents, and each of its
//! conversations with the messages, what the bot collected (variables), attachments'
//! descriptions and the events. `GET /api/v1/contacts/{id}/export` and `relais admin
//! export-contact` answer it.

use relais_core::agent::Role;
use relais_core::id::{AgentId, ContactId};
use relais_store::{DeskQuery, Store, View, Viewer};
use serde_json::{Value, json};

/// Pages of this many conversations, then events, are read at a time.
const PAGE: u32 = 200;

pub async fn export(
    store: &dyn Store,
    id: ContactId,
    now: relais_core::Timestamp,
) -> Result<Value, relais_store::Error> {
    let card = store.contact_card(id).await?;
    // Every conversation of the contact (as an admin sees them), newest first.
    let everyone = Viewer {
        agent: AgentId(0),
        role: Role::Admin,
    };
    let mut conversations = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .desk_list(DeskQuery {
                contact: Some(id),
                before,
                ..DeskQuery::view(everyone, View::All, PAGE)
            })
            .await?;
        let last = page.last().map(|c| c.view.conversation.id);
        let full = page.len() as u32 == PAGE;
        for c in page {
            let conv = c.view.conversation;
            let messages = store.messages(conv.id).await?;
            let attachments = store.conversation_media(conv.id).await?;
            let mut events = Vec::new();
            let mut after = 0;
            loop {
                let batch = store.events(Some(conv.id), after, 1000).await?;
                let n = batch.len();
                after = batch.last().map_or(after, |e| e.id);
                events.extend(batch);
                if n < 1000 {
                    break;
                }
            }
            conversations.push(json!({
                "conversation": {
                    "id": conv.id,
                    "channel": conv.channel,
                    "address": c.view.address,
                    "status": conv.status,
                    "team": conv.team,
                    "priority": conv.priority,
                    "tags": conv.tags,
                    "escalation_reason": conv.escalation_reason,
                    "created_at": conv.created_at,
                    "updated_at": conv.updated_at,
                },
                "variables": conv.fields,
                "messages": messages,
                "attachments": attachments,
                "events": events,
            }));
        }
        if !full {
            break;
        }
        before = last;
    }
    // The region the data lives in (`[privacy] region`), as recorded with it.
    let region = store.store_setting("region").await?;
    Ok(json!({
        "exported_at": now,
        "region": region,
        "contact": card.contact,
        "identities": card.identities,
        "consents": card.consents,
        "conversations": conversations,
    }))
}
