//! The retention policy (`[retention]`, SPEC §11) on a durable schedule. The next
//! run's instant is kept with the data (`store_settings`), so a restart neither skips
//! a run nor repeats one; several nodes on one PostgreSQL may both run (a pass only
//! takes conversations not yet forgotten). A run forgets closed conversations older
//! than the policy in passes of [`PASS`] (each one short transaction for the writer),
//! then scrubs the database files, and records what it did as a system admin event.

use super::Runtime;
use crate::config::Retention;
use relais_core::Timestamp;
use relais_core::event::{Actor, Event, EventKind};
use std::sync::Arc;
use tokio::sync::watch;

/// Conversations forgotten per transaction.
const PASS: u32 = 200;
/// Where the next run's instant is kept.
const NEXT_RUN: &str = "retention.next_run";

/// When the next run is due: the recorded instant, or now when none is (first start).
pub fn due_at(recorded: Option<&str>, now: Timestamp) -> Timestamp {
    recorded
        .and_then(|v| v.parse::<i64>().ok())
        .map_or(now, Timestamp)
}

/// Runs until `stop` turns true; does nothing without a policy.
pub async fn run(rt: Arc<Runtime>, mut stop: watch::Receiver<bool>) {
    let Some(policy) = rt.settings.retention else {
        return;
    };
    loop {
        let wait_until = match rt.store.store_setting(NEXT_RUN).await {
            Ok(v) => due_at(v.as_deref(), rt.clock.now()),
            Err(e) => {
                tracing::warn!(error = %e, "retention: cannot read its schedule");
                rt.clock.now().plus(relais_core::Duration::minutes(1))
            }
        };
        tokio::select! {
            () = rt.clock.sleep_until(wait_until) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        let now = rt.clock.now();
        let next = match once(&rt, policy, now).await {
            Ok(()) => now.plus(policy.check_every),
            Err(e) => {
                tracing::warn!(error = %e, "retention run failed; trying again in a minute");
                now.plus(relais_core::Duration::minutes(1))
            }
        };
        if let Err(e) = rt
            .store
            .set_store_setting(NEXT_RUN, &next.0.to_string(), now)
            .await
        {
            tracing::warn!(error = %e, "retention: cannot record its schedule");
        }
    }
}

/// One run of the policy at `now`.
pub async fn once(
    rt: &Runtime,
    policy: Retention,
    now: Timestamp,
) -> Result<(), relais_store::Error> {
    let cutoff = Timestamp(now.0 - policy.transcripts_after.0);
    let (mut conversations, mut contacts) = (0, 0);
    loop {
        let pass = rt
            .store
            .retention_pass(cutoff, policy.how, PASS, now)
            .await?;
        conversations += pass.conversations;
        contacts += pass.contacts;
        if !pass.more {
            break;
        }
    }
    if conversations == 0 {
        return Ok(());
    }
    rt.store.scrub().await?;
    rt.poke_feed();
    tracing::info!(conversations, contacts, "retention: transcripts forgotten");
    rt.store
        .record_event(Event::new(
            EventKind::AdminAction,
            Actor::System,
            now,
            serde_json::json!({
                "action": "retention",
                "how": match policy.how {
                    relais_store::Forget::Erase => "erase",
                    relais_store::Forget::Anonymise => "anonymise",
                },
                "before": cutoff,
                "conversations": conversations,
                "contacts": contacts,
            }),
        ))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_run_is_the_recorded_one_or_now() {
        let now = Timestamp(1_000);
        assert_eq!(due_at(None, now), now);
        assert_eq!(due_at(Some("5000"), now), Timestamp(5_000));
        assert_eq!(due_at(Some("garbage"), now), now);
    }
}
