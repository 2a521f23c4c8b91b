//! Folds the event log into the stories the reports read (`Store::fold_stories`,
//! `relais_store`'s `facts.rs`) every [`EVERY`], in passes of [`PASS`] events, off
//! the messages' own transactions. A report never waits for it: it folds what is left
//! itself, so the loop only keeps that part small. Passes are paced ([`BETWEEN`]):
//! under a burst the loop lags behind (reports fold a longer tail) rather than take the
//! cores from the messages.

use super::Runtime;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Events per pass (one read snapshot, one short write).
const PASS: u32 = 2_000;
/// Pause between two passes of one round: at most 8,000 events a second (a busy
/// tenant writes far fewer; under a benchmark's burst the loop lags and reports fold
/// the tail themselves). At 20,000 a second it cost the seed benchmark about 8 %.
const BETWEEN: Duration = Duration::from_millis(250);
/// Pause between two rounds of passes (real time: this is housekeeping, not a timer
/// of the domain).
const EVERY: Duration = Duration::from_secs(2);

pub async fn run(rt: Arc<Runtime>, mut stop: watch::Receiver<bool>) {
    loop {
        loop {
            if *stop.borrow() {
                return;
            }
            match rt.store.fold_stories(PASS, rt.clock.now()).await {
                Ok(n) if n == u64::from(PASS) => tokio::select! {
                    () = tokio::time::sleep(BETWEEN) => {}
                    _ = stop.changed() => return,
                },
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "reports: folding the event log failed");
                    break;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}
