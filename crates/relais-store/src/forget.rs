//! Forgetting (SPEC §11): erasing one contact (GDPR article 17) and the retention
//! policy's passes over closed conversations. One rule for both, [`forget`]: a
//! conversation keeps its row and its events (so the KPIs still count it) but loses
//! everything personal — messages (erased, or anonymised in place), attachments,
//! variables and bot state, its address, timers, the outbox and its attempts, early
//! provider statuses, webhook deliveries made from its events, and every event's data
//! but what the KPIs read (`relais_core::kpi::kept`).
//!
//! The rows are deleted here; that no byte is left in the files is the backend's part
//! after the commit (`Backend::scrub`: SQLite's `secure_delete` zeroes what is deleted,
//! then a `TRUNCATE` checkpoint; PostgreSQL's `VACUUM`).

use crate::model::{Erasure, Forget, RetentionPass};
use crate::sql::{ConnExt, Val};
use crate::tx::{Tx, json_text};
use crate::{Error, Result};
use relais_core::Timestamp;
use relais_core::event::EventKind;
use relais_core::id::{ContactId, ConversationId};

/// The tables erasure and retention write to, for the backend's scrub.
pub(crate) const TOUCHED: &[&str] = &[
    "contacts",
    "contact_identities",
    "contact_consents",
    "conversations",
    "messages",
    "events",
    "timers",
    "outbox",
    "delivery_attempts",
    "early_statuses",
    "media",
    "webhook_deliveries",
];

/// Erases a contact: every conversation of theirs forgotten (live ones closed), their
/// identities, consents, name, language and fields gone; the row stays as a tombstone
/// (`erased_at`) that no channel address leads to. Erasing twice is not an error.
pub(crate) fn erase_contact(
    tx: &mut Tx<'_>,
    contact: ContactId,
    now: Timestamp,
) -> Result<Erasure> {
    let row =
        tx.c.query_opt(
            "SELECT erased_at FROM contacts WHERE id = $1",
            &[contact.0.into()],
        )?
        .ok_or_else(|| Error::NotFound(format!("contact {contact}")))?;
    let already = row.opt_int("erased_at")?.is_some();
    let ids = tx.c.query(
        "SELECT id, status FROM conversations WHERE contact_id = $1 ORDER BY id",
        &[contact.0.into()],
    )?;
    let mut out = Erasure {
        contact,
        already_erased: already,
        conversations: 0,
        messages: 0,
    };
    for r in &ids {
        let id = ConversationId(r.int("id")?);
        if r.text("status")? != "closed" {
            tx.c.execute(
                "UPDATE conversations SET status = 'closed', assignee = NULL, queued_at = NULL, updated_at = $1 \
                 WHERE id = $2",
                &[now.0.into(), id.0.into()],
            )?;
        }
        out.messages += forget(tx, id, Forget::Erase, &[], now)?;
        out.conversations += 1;
    }
    tombstone(tx, contact, now)?;
    Ok(out)
}

/// The contact itself forgotten: their events outside any conversation stripped,
/// identities and consents deleted, name, language and fields cleared.
fn tombstone(tx: &mut Tx<'_>, contact: ContactId, now: Timestamp) -> Result<()> {
    // What the contact did outside any conversation (a web chat visitor giving an
    // e-mail): the events stay, their data goes.
    let loose = tx.c.query(
        "SELECT id, kind, data FROM events WHERE conversation_id IS NULL AND actor_kind = 'contact' AND actor_id = $1",
        &[contact.0.into()],
    )?;
    for r in &loose {
        let id = r.int("id")?;
        tx.c.execute(
            "DELETE FROM webhook_deliveries WHERE event_id = $1",
            &[id.into()],
        )?;
        tx.c.execute("UPDATE events SET data = '{}' WHERE id = $1", &[id.into()])?;
    }
    tx.c.execute(
        "DELETE FROM contact_identities WHERE contact_id = $1",
        &[contact.0.into()],
    )?;
    tx.c.execute(
        "DELETE FROM contact_consents WHERE contact_id = $1",
        &[contact.0.into()],
    )?;
    tx.c.execute(
        "UPDATE contacts SET name = NULL, language = NULL, tier = 'standard', fields = '{}', \
         erased_at = COALESCE(erased_at, $1) WHERE id = $2",
        &[now.0.into(), contact.0.into()],
    )?;
    Ok(())
}

/// Forgets one conversation (see the module): returns how many messages were erased
/// or anonymised. `known` are the contact's words an anonymised text loses (name,
/// addresses).
pub(crate) fn forget(
    tx: &mut Tx<'_>,
    id: ConversationId,
    how: Forget,
    known: &[String],
    now: Timestamp,
) -> Result<u64> {
    let conv: &[Val] = &[id.0.into()];
    for sql in [
        // Children of messages first: the outbox and attachments point at them.
        "DELETE FROM early_statuses WHERE (channel_id, external_id) IN \
         (SELECT channel_id, external_id FROM messages WHERE conversation_id = $1 AND external_id IS NOT NULL)",
        "DELETE FROM delivery_attempts WHERE message_id IN (SELECT id FROM messages WHERE conversation_id = $1)",
        "DELETE FROM media WHERE conversation_id = $1",
        "DELETE FROM outbox WHERE conversation_id = $1",
        "DELETE FROM timers WHERE conversation_id = $1",
        "DELETE FROM webhook_deliveries WHERE event_id IN (SELECT id FROM events WHERE conversation_id = $1)",
    ] {
        tx.c.execute(sql, conv)?;
    }
    let messages = match how {
        Forget::Erase => {
            tx.c.execute("DELETE FROM messages WHERE conversation_id = $1", conv)?
        }
        Forget::Anonymise => {
            let words: Vec<&str> = known.iter().map(String::as_str).collect();
            let rows = tx.c.query(
                "SELECT id, body FROM messages WHERE conversation_id = $1 ORDER BY seq",
                conv,
            )?;
            for r in &rows {
                let body = r.text("body")?;
                let clean = relais_core::privacy::anonymise(&body, &words);
                tx.c.execute(
                    "UPDATE messages SET body = $1, payload = NULL, sender = NULL WHERE id = $2",
                    &[clean.into(), r.int("id")?.into()],
                )?;
            }
            rows.len() as u64
        }
    };
    let events = tx.c.query(
        "SELECT id, kind, data FROM events WHERE conversation_id = $1 ORDER BY id",
        conv,
    )?;
    for r in &events {
        let data = r.json("data")?;
        // A kind this version does not know keeps nothing.
        let kept = match EventKind::parse(&r.text("kind")?) {
            Some(kind) => relais_core::kpi::kept(kind, &data),
            None => serde_json::json!({}),
        };
        if kept != data {
            tx.c.execute(
                "UPDATE events SET data = $1 WHERE id = $2",
                &[json_text(&kept)?, r.int("id")?.into()],
            )?;
        }
    }
    tx.c.execute(
        "UPDATE conversations SET address = '', fields = '{}', bot_state = '{}', \
         forgotten_at = COALESCE(forgotten_at, $1) WHERE id = $2",
        &[now.0.into(), id.0.into()],
    )?;
    Ok(messages)
}

/// One pass of the retention policy: at most `limit` conversations closed before
/// `cutoff` are forgotten, oldest first; a contact left with nothing but forgotten
/// conversations is erased. `more` says whether another pass has work.
pub(crate) fn retention_pass(
    tx: &mut Tx<'_>,
    cutoff: Timestamp,
    how: Forget,
    limit: u32,
    now: Timestamp,
) -> Result<RetentionPass> {
    let rows = tx.c.query(
        "SELECT id, contact_id FROM conversations WHERE status = 'closed' AND forgotten_at IS NULL \
         AND updated_at < $1 ORDER BY updated_at, id LIMIT $2",
        &[cutoff.0.into(), i64::from(limit).into()],
    )?;
    let mut pass = RetentionPass {
        conversations: 0,
        contacts: 0,
        more: rows.len() as u32 == limit,
    };
    let mut contacts: Vec<ContactId> = Vec::new();
    for r in &rows {
        let contact = ContactId(r.int("contact_id")?);
        let known = contact_words(tx, contact)?;
        forget(tx, ConversationId(r.int("id")?), how, &known, now)?;
        pass.conversations += 1;
        if !contacts.contains(&contact) {
            contacts.push(contact);
        }
    }
    for contact in contacts {
        let left = tx.c.query_opt(
            "SELECT id FROM conversations WHERE contact_id = $1 AND forgotten_at IS NULL LIMIT 1",
            &[contact.0.into()],
        )?;
        let erased =
            tx.c.query_one(
                "SELECT erased_at FROM contacts WHERE id = $1",
                &[contact.0.into()],
            )?
            .opt_int("erased_at")?
            .is_some();
        if left.is_none() && !erased {
            tombstone(tx, contact, now)?;
            pass.contacts += 1;
        }
    }
    Ok(pass)
}

/// What an anonymised text must not keep of the contact: their name's words and
/// their addresses.
fn contact_words(tx: &mut Tx<'_>, contact: ContactId) -> Result<Vec<String>> {
    let mut words = Vec::new();
    if let Some(r) = tx.c.query_opt(
        "SELECT name FROM contacts WHERE id = $1",
        &[contact.0.into()],
    )? && let Some(name) = r.opt_text("name")?
    {
        words.extend(name.split_whitespace().map(str::to_owned));
    }
    for r in tx.c.query(
        "SELECT address FROM contact_identities WHERE contact_id = $1",
        &[contact.0.into()],
    )? {
        words.push(r.text("address")?);
    }
    Ok(words)
}
