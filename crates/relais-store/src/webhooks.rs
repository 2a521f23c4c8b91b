//! Outgoing notifications: the event log is turned into deliveries (a durable cursor
//! advanced in the same transaction, so each event makes its deliveries once), and
//! deliveries are leased, retried with backoff and finally delivered or dead. An admin
//! can list dead ones and replay them.

use crate::model::*;
use crate::sql::ConnExt;
use crate::tx::{Tx, json_text};
use crate::{Error, Result};
use relais_core::Timestamp;
use relais_core::event::EventKind;
use relais_core::id::ConversationId;
use serde_json::{Value, json};

const DELIVERY_COLS: &str = "id, webhook_id, event, state, attempts, last_error, created_at, delivered_at, payload, next_attempt_at";

fn delivery_from(r: &crate::sql::Row) -> Result<Delivery> {
    Ok(Delivery {
        id: r.int(0)?,
        webhook: r.int(1)?,
        event: r.text(2)?,
        state: r.text(3)?,
        attempts: r.int(4)?,
        last_error: r.opt_text(5)?,
        created_at: Timestamp(r.int(6)?),
        delivered_at: r.opt_int(7)?.map(Timestamp),
        payload: r.json(8)?,
        next_attempt_at: Timestamp(r.int(9)?),
    })
}

pub(crate) fn create(tx: &mut Tx<'_>, w: &NewWebhook) -> Result<Webhook> {
    if list(tx)?.is_empty() {
        // Nothing was routed while there were no webhooks: start from now.
        tx.c.execute(
            "UPDATE webhook_cursor SET last_event = (SELECT COALESCE(MAX(id), 0) FROM events) WHERE id = 1",
            &[],
        )?;
    }
    let id = tx
        .c
        .query_one(
            "INSERT INTO webhooks (kind, url, secret, events, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                w.kind.as_str().into(),
                w.url.as_str().into(),
                w.secret.as_ref().into(),
                json_text(&w.events)?,
                w.created_at.0.into(),
            ],
        )?
        .int(0)?;
    Ok(Webhook {
        id,
        kind: w.kind.clone(),
        url: w.url.clone(),
        events: w.events.clone(),
        created_at: w.created_at,
    })
}

pub(crate) fn list(tx: &mut Tx<'_>) -> Result<Vec<Webhook>> {
    tx.c.query(
        "SELECT id, kind, url, events, created_at FROM webhooks WHERE deleted_at IS NULL ORDER BY id",
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(Webhook {
            id: r.int(0)?,
            kind: r.text(1)?,
            url: r.text(2)?,
            events: serde_json::from_value(r.json(3)?)?,
            created_at: Timestamp(r.int(4)?),
        })
    })
    .collect()
}

pub(crate) fn delete(tx: &mut Tx<'_>, id: i64, now: Timestamp) -> Result<bool> {
    let n = tx.c.execute(
        "UPDATE webhooks SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL",
        &[now.0.into(), id.into()],
    )?;
    // Its queued deliveries will never be wanted.
    tx.c.execute(
        "UPDATE webhook_deliveries SET state = 'dead', last_error = 'webhook deleted' WHERE webhook_id = $1 AND state = 'queued'",
        &[id.into()],
    )?;
    Ok(n == 1)
}

/// What an event means for subscribers, if anything.
fn notification(tx: &mut Tx<'_>, e: &StoredEvent) -> Result<Option<&'static str>> {
    Ok(match e.event.kind {
        EventKind::Escalated => Some("escalated"),
        EventKind::Assigned => Some("assigned"),
        EventKind::StatusChanged if e.event.data["to"] == "solved" => Some("solved"),
        EventKind::MessageReceived => {
            // A reply counts once a human owns the conversation (after its escalation).
            let Some(c) = e.conversation else {
                return Ok(None);
            };
            let owned = tx
                .c
                .query_opt(
                    "SELECT 1 FROM events WHERE conversation_id = $1 AND kind = 'escalated' AND id < $2",
                    &[c.0.into(), e.id.into()],
                )?
                .is_some();
            owned.then_some("customer_replied")
        }
        _ => None,
    })
}

fn payload(tx: &mut Tx<'_>, name: &str, e: &StoredEvent) -> Result<Value> {
    let conversation = match e.conversation {
        Some(id) => conversation_json(tx, id)?,
        None => Value::Null,
    };
    Ok(json!({
        "event": name,
        "event_id": e.id,
        "at": e.event.at,
        "actor": e.event.actor,
        "data": e.event.data,
        "conversation": conversation,
    }))
}

fn conversation_json(tx: &mut Tx<'_>, id: ConversationId) -> Result<Value> {
    Ok(match tx.conversation(id, false)? {
        Some((c, _)) => json!({
            "id": c.id,
            "channel": c.channel,
            "status": c.status.as_str(),
            "team": c.team,
            "assignee": c.assignee,
            "priority": c.priority.as_str(),
            "escalation_reason": c.escalation_reason,
        }),
        None => Value::Null,
    })
}

/// Turns up to `limit` new events of the log into deliveries. Returns how many
/// events were read (`limit` means there may be more).
pub(crate) fn route(tx: &mut Tx<'_>, limit: u32, now: Timestamp) -> Result<usize> {
    let cursor =
        tx.c.query_one(
            &format!(
                "SELECT last_event FROM webhook_cursor WHERE id = 1{}",
                tx.c.dialect().for_update()
            ),
            &[],
        )?
        .int(0)?;
    let hooks = list(tx)?;
    let events = tx.events(None, cursor, limit)?;
    let Some(last) = events.last().map(|e| e.id) else {
        return Ok(0);
    };
    if !hooks.is_empty() {
        for e in &events {
            let Some(name) = notification(tx, e)? else {
                continue;
            };
            let wanted: Vec<&Webhook> = hooks
                .iter()
                .filter(|h| h.created_at <= e.event.at && h.events.iter().any(|x| x == name))
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let body = json_text(&payload(tx, name, e)?)?;
            for h in wanted {
                tx.c.execute(
                    "INSERT INTO webhook_deliveries (webhook_id, event_id, event, payload, state, attempts, next_attempt_at, created_at) \
                     VALUES ($1, $2, $3, $4, 'queued', 0, $5, $5) ON CONFLICT (webhook_id, event_id) DO NOTHING",
                    &[h.id.into(), e.id.into(), name.into(), body.clone(), now.0.into()],
                )?;
            }
        }
    }
    tx.c.execute(
        "UPDATE webhook_cursor SET last_event = $1 WHERE id = 1",
        &[last.into()],
    )?;
    Ok(events.len())
}

/// Leases due deliveries (queued, next attempt due, lease free or expired).
pub(crate) fn claim(
    tx: &mut Tx<'_>,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> Result<Vec<DeliveryJob>> {
    let rows = tx.c.query(
        &format!(
            "SELECT d.id, w.kind, w.url, w.secret, d.event, d.payload, d.attempts, d.webhook_id FROM webhook_deliveries d \
             JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.state = 'queued' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until <= $1) \
             ORDER BY d.next_attempt_at, d.id LIMIT $2{}",
            tx.c.dialect().for_update_of("d")
        ),
        &[now.0.into(), i64::from(limit).into()],
    )?;
    let mut jobs = Vec::with_capacity(rows.len());
    for r in rows {
        let id = r.int(0)?;
        tx.c.execute(
            "UPDATE webhook_deliveries SET lease_until = $1 WHERE id = $2",
            &[lease_until.0.into(), id.into()],
        )?;
        jobs.push(DeliveryJob {
            id,
            kind: r.text(1)?,
            url: r.text(2)?,
            secret: r.opt_text(3)?,
            event: r.text(4)?,
            payload: r.json(5)?,
            attempts: r.int(6)?,
            webhook: r.int(7)?,
        });
    }
    Ok(jobs)
}

pub(crate) fn record(
    tx: &mut Tx<'_>,
    id: i64,
    outcome: &DeliveryOutcome,
    now: Timestamp,
) -> Result<()> {
    match outcome {
        DeliveryOutcome::Delivered => tx.c.execute(
            "UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = $1, \
             lease_until = NULL, last_error = NULL WHERE id = $2 AND state = 'queued'",
            &[now.0.into(), id.into()],
        )?,
        DeliveryOutcome::Retry { at, error } => tx.c.execute(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $1, lease_until = NULL, \
             last_error = $2 WHERE id = $3 AND state = 'queued'",
            &[at.0.into(), error.as_str().into(), id.into()],
        )?,
        DeliveryOutcome::Later { at } => tx.c.execute(
            "UPDATE webhook_deliveries SET next_attempt_at = $1, lease_until = NULL WHERE id = $2 AND state = 'queued'",
            &[at.0.into(), id.into()],
        )?,
        DeliveryOutcome::Dead { error } => tx.c.execute(
            "UPDATE webhook_deliveries SET state = 'dead', attempts = attempts + 1, lease_until = NULL, \
             last_error = $1 WHERE id = $2 AND state = 'queued'",
            &[error.as_str().into(), id.into()],
        )?,
    };
    Ok(())
}

pub(crate) fn deliveries(
    tx: &mut Tx<'_>,
    state: Option<&str>,
    limit: u32,
) -> Result<Vec<Delivery>> {
    let rows = match state {
        Some(s) => tx.c.query(
            &format!("SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE state = $1 ORDER BY id DESC LIMIT $2"),
            &[s.into(), i64::from(limit).into()],
        )?,
        None => tx.c.query(
            &format!("SELECT {DELIVERY_COLS} FROM webhook_deliveries ORDER BY id DESC LIMIT $1"),
            &[i64::from(limit).into()],
        )?,
    };
    rows.iter().map(delivery_from).collect()
}

/// Puts a dead delivery back in the queue, due now, with its attempts reset.
pub(crate) fn replay(tx: &mut Tx<'_>, id: i64, now: Timestamp) -> Result<Delivery> {
    let r = tx.c.query_opt(
        &format!(
            "UPDATE webhook_deliveries SET state = 'queued', attempts = 0, next_attempt_at = $1, lease_until = NULL \
             WHERE id = $2 AND state = 'dead' RETURNING {DELIVERY_COLS}"
        ),
        &[now.0.into(), id.into()],
    )?;
    match r {
        Some(r) => delivery_from(&r),
        None => match tx.c.query_opt(
            "SELECT state FROM webhook_deliveries WHERE id = $1",
            &[id.into()],
        )? {
            Some(s) => Err(Error::Conflict(format!(
                "delivery {id} is {}: only dead deliveries are replayed",
                s.text(0)?
            ))),
            None => Err(Error::NotFound(format!("delivery {id}"))),
        },
    }
}

pub(crate) fn next_due(tx: &mut Tx<'_>) -> Result<Option<Timestamp>> {
    let r = tx.c.query_opt(
        "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE state = 'queued'",
        &[],
    )?;
    Ok(r.and_then(|r| r.opt_int(0).ok().flatten()).map(Timestamp))
}
