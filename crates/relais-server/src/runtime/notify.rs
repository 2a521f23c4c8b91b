//! Outgoing notifications (Slack, Microsoft Teams, generic signed webhooks). A loop
//! turns new events of the log into durable deliveries, leases the due ones, sends
//! them through the same SSRF-guarded client as flow `http` steps, and records each
//! outcome: delivered, retried with backoff, or dead after the last attempt (an admin
//! lists dead ones and replays them).

use super::Runtime;
use super::http::CallError;
use super::outbox::backoff;
use crate::channel::rest::sign;
use relais_core::decision::HttpCall;
use relais_core::{Duration, Timestamp};
use relais_store::{DeliveryJob, DeliveryOutcome};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::watch;

/// Attempts before a delivery is dead.
pub const MAX_ATTEMPTS: i64 = 6;
const BATCH: u32 = 50;
const ROUTE_BATCH: u32 = 1000;
/// Rounds are at least this far apart (real time): a burst of messages wakes the loop
/// once, not once per message.
const MIN_GAP: std::time::Duration = std::time::Duration::from_millis(100);
const LEASE: Duration = Duration::seconds(60);
const TIMEOUT_MS: i64 = 10_000;
/// Without news, the log and the queue are looked at again after this (real time).
const IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// One line for humans: what happened to which conversation.
pub fn summary(event: &str, p: &Value) -> String {
    let c = &p["conversation"];
    let id = c["id"].as_i64().unwrap_or_default();
    let team = c["team"].as_str().unwrap_or("shared queue");
    match event {
        "escalated" => format!(
            "Conversation #{id} needs an agent ({team}, priority {}, reason: {})",
            c["priority"].as_str().unwrap_or("normal"),
            p["data"]["reason"]
                .as_str()
                .or(c["escalation_reason"].as_str())
                .unwrap_or("requested"),
        ),
        "assigned" => format!(
            "Conversation #{id} ({team}) was assigned to agent {}",
            p["data"]["agent"]
        ),
        "customer_replied" => format!("The customer replied in conversation #{id} ({team})"),
        "solved" => format!("Conversation #{id} ({team}) was solved"),
        other => format!("Conversation #{id}: {other}"),
    }
}

/// The request body for a webhook of `kind` (Slack's and Teams' documented payloads;
/// a generic webhook gets the event itself).
pub fn body(kind: &str, event: &str, p: &Value) -> Value {
    let text = summary(event, p);
    match kind {
        "slack" => json!({
            "text": text,
            "blocks": [{ "type": "section", "text": { "type": "mrkdwn", "text": format!("*{event}* {text}") } }],
        }),
        "teams" => json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        { "type": "TextBlock", "text": event, "weight": "Bolder" },
                        { "type": "TextBlock", "text": text, "wrap": true },
                    ],
                },
            }],
        }),
        _ => p.clone(),
    }
}

/// Least time between two calls to one webhook of `kind`: Slack takes about one
/// message per second per webhook, Microsoft Teams about four.
pub fn spacing(kind: &str) -> Duration {
    match kind {
        "slack" => Duration::seconds(1),
        "teams" => Duration(250),
        _ => Duration(0),
    }
}

impl Runtime {
    /// `None` when `webhook` may be called now (the call is counted); otherwise when to
    /// come back. `queued` staggers the deliveries of one round that wait for the same
    /// webhook, so they come back one per slot, in order.
    fn slot(
        &self,
        webhook: i64,
        kind: &str,
        now: Timestamp,
        queued: &mut HashMap<i64, Timestamp>,
    ) -> Option<Timestamp> {
        let mut pace = self.webhook_pace.lock().unwrap_or_else(|p| p.into_inner());
        let free = pace
            .get(&webhook)
            .copied()
            .into_iter()
            .chain(queued.get(&webhook).copied())
            .fold(now, Timestamp::max);
        if free > now {
            queued.insert(webhook, free.plus(spacing(kind)));
            return Some(free);
        }
        pace.insert(webhook, now.plus(spacing(kind)));
        None
    }

    /// The receiver asked for quiet until `until`.
    fn hold_off(&self, webhook: i64, until: Timestamp) {
        let mut pace = self.webhook_pace.lock().unwrap_or_else(|p| p.into_inner());
        let next = pace.entry(webhook).or_insert(until);
        *next = (*next).max(until);
    }

    async fn deliver(
        &self,
        job: &DeliveryJob,
        queued: &mut HashMap<i64, Timestamp>,
    ) -> DeliveryOutcome {
        let now = self.clock.now();
        if let Some(at) = self.slot(job.webhook, &job.kind, now, queued) {
            return DeliveryOutcome::Later { at };
        }
        let payload = body(&job.kind, &job.event, &job.payload).to_string();
        let mut headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("x-relais-event".to_owned(), job.event.clone()),
            ("x-relais-delivery".to_owned(), job.id.to_string()),
        ];
        if let Some(secret) = &job.secret {
            let ts = now.0 / 1000;
            headers.push(("x-relais-timestamp".into(), ts.to_string()));
            headers.push((
                "x-relais-signature".into(),
                format!("sha256={}", sign(secret, ts, payload.as_bytes())),
            ));
        }
        let sent = self
            .http
            .send_once(&HttpCall {
                method: "POST".into(),
                url: job.url.clone(),
                headers,
                body: Some(payload),
                timeout_ms: TIMEOUT_MS,
                retries: 0,
                idempotency_key: format!("relais-delivery-{}", job.id),
            })
            .await;
        let attempt = job.attempts + 1;
        let (retryable, error, asked) = match sent {
            Ok(a) if (200..300).contains(&a.status) => return DeliveryOutcome::Delivered,
            Ok(a) => (
                a.status == 429 || a.status >= 500 || a.status == 408,
                format!("the webhook answered {}", a.status),
                a.retry_after,
            ),
            // A refused address or a bad URL will not get better by waiting.
            Err(CallError::Refused(why)) => return DeliveryOutcome::Dead { error: why },
            Err(CallError::Unreachable(why)) => (true, why, None),
        };
        if !retryable || attempt >= MAX_ATTEMPTS {
            return DeliveryOutcome::Dead { error };
        }
        let mut at = now.plus(backoff(
            self.settings.outbox_backoff_base,
            self.settings.outbox_backoff_max,
            u32::try_from(attempt).unwrap_or(u32::MAX),
            1.0,
        ));
        if let Some(asked) = asked {
            // Honoured for every delivery to this webhook, not only this one.
            let until = asked.until(now);
            self.hold_off(job.webhook, until);
            at = at.max(until);
        }
        DeliveryOutcome::Retry { at, error }
    }

    /// One round: route new events, send what is due. Returns the next due time.
    pub async fn notify_round(&self) -> Result<Option<Timestamp>, relais_store::Error> {
        self.sweep_idle().await?;
        let now = self.clock.now();
        // Reads first: the single SQLite writer is the pipeline's, so a server without
        // webhooks, or with nothing due, writes nothing here.
        if !self.store.webhooks().await?.is_empty() {
            while self.store.route_webhook_events(ROUTE_BATCH, now).await? == ROUTE_BATCH as usize {
            }
        }
        if self
            .store
            .next_delivery_due()
            .await?
            .is_none_or(|due| due > now)
        {
            return self.store.next_delivery_due().await;
        }
        let jobs = self
            .store
            .claim_deliveries(now, now.plus(LEASE), BATCH)
            .await?;
        let mut queued = HashMap::new();
        for job in &jobs {
            let outcome = self.deliver(job, &mut queued).await;
            if let DeliveryOutcome::Dead { error } = &outcome {
                tracing::warn!(delivery = job.id, %error, "webhook delivery is dead");
            }
            self.store
                .record_delivery(job.id, outcome, self.clock.now())
                .await?;
        }
        self.store.next_delivery_due().await
    }
}

/// Runs until `stop` turns true.
pub async fn run(rt: Arc<Runtime>, mut stop: watch::Receiver<bool>) {
    let mut feed = rt.feed.subscribe();
    loop {
        let next = match rt.notify_round().await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "webhook round failed; retrying");
                None
            }
        };
        let due = next.filter(|d| *d > rt.clock.now());
        let ready_now = next.is_some_and(|d| d <= rt.clock.now());
        if ready_now {
            continue;
        }
        let sleep: crate::clock::Sleep = match due {
            Some(d) => rt.clock.sleep_until(d),
            None => Box::pin(std::future::pending()),
        };
        tokio::select! {
            () = sleep => {}
            _ = feed.changed() => {}
            () = tokio::time::sleep(IDLE) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(MIN_GAP) => {}
            _ = stop.changed() => return,
        }
    }
}
