//! The outbox dispatcher: leases queued outbound messages (the oldest of each
//! conversation, so order is kept), sends them through their channel's adapter,
//! and journals every attempt. Failures are retried with capped exponential backoff
//! and jitter, honouring `Retry-After`; after `max_attempts` the message fails.

use super::Runtime;
use super::http::RetryAfter;
use crate::channel::{LiveChannel, SendError};
use crate::metrics::Metrics;
use relais_core::{Duration, Timestamp, window};
use relais_store::{Attempt, AttemptOutcome, OutboxClaim, OutboxItem};
use std::sync::Arc;
use tokio::sync::{Semaphore, watch};

const CLAIM_LIMIT: u32 = 64;
/// How often the dispatcher looks for work it was not told about (other nodes).
const POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// The delay before retry number `attempt` (1-based): `base · 2^(attempt-1)`, capped,
/// scaled by `jitter` in [0.5, 1].
pub fn backoff(base: Duration, max: Duration, attempt: u32, jitter: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let raw = base.0.saturating_mul(1_i64 << exp).min(max.0);
    Duration((raw as f64 * jitter.clamp(0.5, 1.0)) as i64)
}

/// Decides what an attempt's result means for the message.
pub fn classify(
    result: Result<(Option<String>, Option<String>), SendError>,
    attempts_before: i64,
    now: Timestamp,
    rt: &super::RuntimeSettings,
    jitter: f64,
) -> AttemptOutcome {
    let attempt = (attempts_before + 1) as u32;
    let retry = |detail: String, retry_after: Option<RetryAfter>, ambiguous: bool| {
        if attempt >= rt.outbox_max_attempts {
            return AttemptOutcome::Failed {
                detail: format!("gave up after {attempt} attempts: {detail}"),
            };
        }
        let wait = backoff(
            rt.outbox_backoff_base,
            rt.outbox_backoff_max,
            attempt,
            jitter,
        );
        let backed_off = now.plus(wait);
        AttemptOutcome::Retry {
            retry_at: retry_after.map_or(backed_off, |r| r.until(now).max(backed_off)),
            detail,
            ambiguous,
        }
    };
    match result {
        Ok((external_id, detail)) => AttemptOutcome::Sent {
            external_id,
            detail,
        },
        Err(SendError::Retryable {
            detail,
            retry_after,
        }) => retry(detail, retry_after, false),
        Err(SendError::Ambiguous { detail }) => retry(detail, None, true),
        Err(SendError::Permanent { detail }) => AttemptOutcome::Failed { detail },
    }
}

/// An attempt to journal, and who waits for it to be durable.
type Journaled = (Attempt, tokio::sync::oneshot::Sender<Result<(), String>>);

/// Journals the attempts of concurrent deliveries together: whatever has arrived is
/// written in one store call (one writer job), so a burst of sends costs the single
/// writer one job instead of one each. Each delivery still waits for its own record
/// to be durable before its conversation's next message can be claimed.
async fn journal(rt: Arc<Runtime>, mut rx: tokio::sync::mpsc::Receiver<Journaled>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < 256 {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let (attempts, waiting): (Vec<Attempt>, Vec<_>) = batch.into_iter().unzip();
        let result = rt
            .store
            .record_attempts(attempts)
            .await
            .map_err(|e| e.to_string());
        for w in waiting {
            let _ = w.send(result.clone());
        }
    }
}

/// Runs until `stop` turns true.
pub async fn run(rt: Arc<Runtime>, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(rt.settings.outbox_concurrency));
    let (journal_tx, journal_rx) = tokio::sync::mpsc::channel::<Journaled>(1024);
    let journal_task = tokio::spawn(journal(rt.clone(), journal_rx));
    let lease = Duration(rt.settings.outbox_send_timeout.0 * 2 + 30_000);
    loop {
        let now = rt.clock.now();
        let claimed = rt
            .store
            .claim_outbox(OutboxClaim {
                now,
                lease_until: now.plus(lease),
                owner: rt.settings.node.clone(),
                limit: CLAIM_LIMIT,
            })
            .await;
        let count = match claimed {
            Ok(items) => {
                let n = items.len();
                for item in items {
                    let Ok(permit) = slots.clone().acquire_owned().await else {
                        return;
                    };
                    let (rt, journal) = (rt.clone(), journal_tx.clone());
                    tokio::spawn(async move {
                        deliver(&rt, item, &journal).await;
                        drop(permit);
                        rt.outbox_wake.notify_one();
                    });
                }
                n
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot claim outbound messages");
                0
            }
        };
        if count as u32 == CLAIM_LIMIT {
            continue;
        }
        let next = rt.store.next_outbox_due(now).await.ok().flatten();
        if super::wait_for_work(&rt, next, &rt.outbox_wake, POLL, &mut stop).await {
            // In-flight deliveries keep their own handle on the journal; it ends with
            // the last of them (a delivery held by a provider's Retry-After must not
            // hold up the shutdown).
            drop(journal_tx);
            drop(journal_task);
            return;
        }
    }
}

async fn deliver(
    rt: &Runtime,
    mut item: OutboxItem,
    journal: &tokio::sync::mpsc::Sender<Journaled>,
) {
    let started = std::time::Instant::now();
    let live = rt.live_channel(&item.channel);
    let fallback = live
        .as_ref()
        .and_then(|c| c.row.fallback.clone())
        .filter(|f| rt.channel(f).is_some_and(|c| c.enabled));
    // The channel's window (SPEC §6): outside it, a message goes to the fallback or is
    // recorded as undeliverable, saying why; a human agent's reply may carry a tag.
    if let Some(channel) = &live
        && let Some(detail) = outside_window(rt, channel, &mut item)
    {
        return give_up_or_reroute(rt, &item, fallback, detail, started, false).await;
    }
    let Some(result) = send(rt, live, &item).await else {
        return;
    };
    let now = rt.clock.now();
    if let Err(SendError::Retryable {
        retry_after: Some(r),
        ..
    }) = &result
    {
        rt.hold_channel(&item.channel, r.until(now));
    }
    let outcome = classify(
        result,
        item.attempts,
        now,
        &rt.settings,
        0.5 + rand::random::<f64>() / 2.0,
    );
    if let (AttemptOutcome::Failed { detail }, Some(_)) = (&outcome, &fallback) {
        // Failed for good here: the fallback channel takes it.
        let detail = detail.clone();
        return give_up_or_reroute(rt, &item, fallback, detail, started, true).await;
    }
    count(rt, &item, &outcome);
    let attempt = Attempt {
        message: item.message,
        at: now,
        duration_ms: started.elapsed().as_millis() as i64,
        outcome,
    };
    record(journal, attempt).await;
}

/// `Some(why)` when the channel's window does not let the message out now; a human
/// agent's reply it lets out with a tag gets the tag.
fn outside_window(rt: &Runtime, channel: &LiveChannel, item: &mut OutboxItem) -> Option<String> {
    let rule = window::Outgoing {
        template: item.rich.template.is_some(),
        by_agent: item.by_agent,
    };
    match window::carry(
        &channel.row.kind,
        item.last_inbound_at,
        rt.clock.now(),
        rule,
    ) {
        window::Carry::Send => None,
        window::Carry::Tagged(tag) => {
            item.tag = Some(tag.to_owned());
            None
        }
        window::Carry::Closed { reason } => {
            Some(format!("undeliverable on {}: {reason}", channel.row.id))
        }
    }
}

/// One try on the message's channel: the provider's id and the sent detail, or why it
/// failed; `None` when the channel holds the message (deferred, no attempt spent).
async fn send(
    rt: &Runtime,
    live: Option<Arc<LiveChannel>>,
    item: &OutboxItem,
) -> Option<Result<(Option<String>, Option<String>), SendError>> {
    Some(match live {
        None => Err(SendError::Permanent {
            detail: format!("channel {} does not exist", item.channel),
        }),
        Some(channel) if !channel.row.enabled => Err(SendError::Permanent {
            detail: format!(
                "channel {} is disabled (no longer in channels.yaml)",
                item.channel
            ),
        }),
        Some(channel) => match rt.adapter(&channel.row.kind) {
            None => Err(SendError::Permanent {
                detail: format!("no adapter for channel kind {:?}", channel.row.kind),
            }),
            Some(adapter) => {
                if let Some(until) = rt.pace(&channel).await {
                    // Held (a provider's Retry-After, or the channel's rate): back to
                    // the queue until then, without spending an attempt.
                    if let Err(e) = rt.store.defer_outbound(item.message, until).await {
                        tracing::error!(message = %item.message, error = %e, "cannot defer a message");
                    }
                    return None;
                }
                adapter
                    .send(&channel, item)
                    .await
                    .map(|id| (id, adapter.sent_detail(item)))
            }
        },
    })
}

/// The attempt's outcome in the metrics and, unless sent, in the log.
fn count(rt: &Runtime, item: &OutboxItem, outcome: &AttemptOutcome) {
    match outcome {
        AttemptOutcome::Sent { .. } => Metrics::inc(&rt.metrics.outbound_sent),
        AttemptOutcome::Retry { detail, .. } => {
            Metrics::inc(&rt.metrics.outbound_retries);
            tracing::warn!(message = %item.message, attempt = item.attempts + 1, %detail, "send failed; will retry");
        }
        AttemptOutcome::Failed { detail } => {
            Metrics::inc(&rt.metrics.outbound_failed);
            tracing::warn!(message = %item.message, attempt = item.attempts + 1, %detail, "send failed for good");
        }
    }
}

/// The attempt journaled (the journal task writes attempts in batches), waiting for it.
async fn record(journal: &tokio::sync::mpsc::Sender<Journaled>, attempt: Attempt) {
    let message = attempt.message;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let recorded = match journal.send((attempt, done_tx)).await {
        Ok(()) => done_rx
            .await
            .unwrap_or_else(|_| Err("the journal stopped".into())),
        Err(_) => Err("the journal stopped".into()),
    };
    if let Err(e) = recorded {
        // The lease expires and the message is tried again: at-least-once, journaled.
        tracing::error!(message = %message, error = %e, "cannot record a delivery attempt");
    }
}

/// A message this channel cannot carry: to the fallback channel when there is one and
/// the contact has an address there (the transcript says so), else failed with
/// `detail`. `attempted`: a send was tried (journaled as such before the move).
async fn give_up_or_reroute(
    rt: &Runtime,
    item: &OutboxItem,
    fallback: Option<relais_core::id::ChannelId>,
    detail: String,
    started: std::time::Instant,
    attempted: bool,
) {
    let now = rt.clock.now();
    let journal = |outcome| Attempt {
        message: item.message,
        at: now,
        duration_ms: started.elapsed().as_millis() as i64,
        outcome,
    };
    if let Some(fb) = fallback {
        if attempted {
            let _ = rt
                .store
                .record_attempt(journal(AttemptOutcome::Retry {
                    retry_at: now,
                    detail: detail.clone(),
                    ambiguous: false,
                }))
                .await;
        }
        match rt
            .store
            .reroute_outbound(
                item.message,
                item.channel.clone(),
                fb.clone(),
                detail.clone(),
                now,
            )
            .await
        {
            Ok(true) => {
                tracing::info!(message = %item.message, to = %fb, "message moved to the fallback channel");
                rt.poke_feed();
                rt.outbox_wake.notify_one();
                return;
            }
            Ok(false) => {
                let detail =
                    format!("{detail}; the contact has no address on the fallback channel {fb}");
                return fail(rt, journal(AttemptOutcome::Failed { detail })).await;
            }
            Err(e) => {
                tracing::error!(message = %item.message, error = %e, "cannot move a message to its fallback");
                return;
            }
        }
    }
    fail(rt, journal(AttemptOutcome::Failed { detail })).await;
}

async fn fail(rt: &Runtime, attempt: Attempt) {
    Metrics::inc(&rt.metrics.outbound_failed);
    if let Err(e) = rt.store.record_attempt(attempt).await {
        tracing::error!(error = %e, "cannot record a delivery attempt");
    }
    rt.poke_feed();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::RuntimeSettings;

    fn settings(max: u32) -> RuntimeSettings {
        RuntimeSettings {
            timer_window: Duration::minutes(5),
            outbox_max_attempts: max,
            outbox_backoff_base: Duration::seconds(1),
            outbox_backoff_max: Duration::minutes(10),
            outbox_send_timeout: Duration::seconds(10),
            outbox_concurrency: 4,
            node: "t".into(),
            http_reach: Default::default(),
            tunable_base: toml::Table::new(),
            http_tls: crate::tls::default_tls(),
            http_ca_pem: None,
            public_url: None,
            mask: Vec::new(),
            retention: None,
        }
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let (b, m) = (Duration::seconds(1), Duration::seconds(30));
        let got: Vec<i64> = (1..=7).map(|n| backoff(b, m, n, 1.0).0).collect();
        assert_eq!(
            got,
            vec![1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]
        );
        assert_eq!(backoff(b, m, 3, 0.5).0, 2_000);
        assert_eq!(
            backoff(b, m, 3, 0.0).0,
            2_000,
            "jitter never goes below half"
        );
        assert_eq!(backoff(b, m, 200, 1.0).0, 30_000);
    }

    #[test]
    fn outcomes_follow_the_four_classes() {
        let s = settings(3);
        let now = Timestamp(0);
        assert_eq!(
            classify(Ok((Some("x".into()), None)), 0, now, &s, 1.0),
            AttemptOutcome::Sent {
                external_id: Some("x".into()),
                detail: None,
            }
        );
        assert_eq!(
            classify(
                Err(SendError::Retryable {
                    detail: "503".into(),
                    retry_after: None
                }),
                0,
                now,
                &s,
                1.0
            ),
            AttemptOutcome::Retry {
                retry_at: Timestamp(1_000),
                detail: "503".into(),
                ambiguous: false
            }
        );
        assert_eq!(
            classify(
                Err(SendError::Retryable {
                    detail: "429".into(),
                    retry_after: Some(RetryAfter::Wait(Duration::seconds(60)))
                }),
                0,
                now,
                &s,
                1.0
            ),
            AttemptOutcome::Retry {
                retry_at: Timestamp(60_000),
                detail: "429".into(),
                ambiguous: false
            },
            "Retry-After is honoured"
        );
        assert!(matches!(
            classify(
                Err(SendError::Ambiguous {
                    detail: "timeout".into()
                }),
                1,
                now,
                &s,
                1.0
            ),
            AttemptOutcome::Retry {
                ambiguous: true,
                retry_at: Timestamp(2_000),
                ..
            }
        ));
        assert!(matches!(
            classify(Err(SendError::Retryable { detail: "503".into(), retry_after: None }), 2, now, &s, 1.0),
            AttemptOutcome::Failed { detail } if detail.starts_with("gave up after 3 attempts")
        ));
        assert_eq!(
            classify(
                Err(SendError::Permanent {
                    detail: "400".into()
                }),
                0,
                now,
                &s,
                1.0
            ),
            AttemptOutcome::Failed {
                detail: "400".into()
            }
        );
    }
}
