//! Durable timers. Rows in the store are the truth; this module keeps the ones due
//! within a window in memory (reloaded as time passes, so timers that fell due while
//! the server was down fire right after start), sleeps on the [`Clock`] until the
//! next one, and fires it in its conversation's lane through the store's atomic claim.
//!
//! [`Clock`]: crate::clock::Clock

use super::Runtime;
use crate::metrics::Metrics;
use relais_core::id::TimerId;
use relais_core::{Duration, Timestamp};
use relais_store::{Lane, ScheduledTimer};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, watch};

const LOAD_LIMIT: u32 = 10_000;
const RETRY_AFTER_ERROR: Duration = Duration::seconds(5);

#[derive(Default)]
pub struct TimerWheel {
    state: Mutex<Wheel>,
    wake: Notify,
}

#[derive(Default)]
struct Wheel {
    due: BTreeMap<(Timestamp, TimerId), Lane>,
    /// Every pending timer due before this instant is in `due`.
    loaded_until: Option<Timestamp>,
}

impl TimerWheel {
    /// Registers timers just committed, if they fall in the loaded window.
    pub fn add(&self, timers: &[ScheduledTimer]) {
        if timers.is_empty() {
            return;
        }
        let mut w = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(until) = w.loaded_until else { return };
        let mut earlier = false;
        for t in timers.iter().filter(|t| t.due_at <= until) {
            earlier |= w
                .due
                .first_key_value()
                .is_none_or(|((d, _), _)| t.due_at < *d);
            w.due.insert((t.due_at, t.id), t.lane.clone());
        }
        drop(w);
        if earlier {
            self.wake.notify_one();
        }
    }

    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .due
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Runs until `stop` turns true.
pub async fn run(rt: Arc<Runtime>, mut stop: watch::Receiver<bool>) {
    let window = rt.settings.timer_window;
    loop {
        let now = rt.clock.now();
        let needs_load = {
            let w = rt.timers.state.lock().unwrap_or_else(|p| p.into_inner());
            w.loaded_until
                .is_none_or(|u| now.plus(Duration(window.0 / 2)) >= u)
        };
        let mut next_load = now.plus(Duration(window.0 / 2));
        if needs_load {
            match rt.store.due_timers(now.plus(window), LOAD_LIMIT).await {
                Ok(list) => {
                    let full = list.len() as u32 == LOAD_LIMIT;
                    let mut w = rt.timers.state.lock().unwrap_or_else(|p| p.into_inner());
                    let until = match (full, list.last()) {
                        (true, Some(last)) => last.due_at,
                        _ => now.plus(window),
                    };
                    for t in list {
                        w.due.insert((t.due_at, t.id), t.lane);
                    }
                    w.loaded_until = Some(until);
                    next_load = now.plus(Duration((until.0 - now.0) / 2));
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot load timers; retrying");
                    next_load = now.plus(RETRY_AFTER_ERROR);
                }
            }
        }
        let due: Vec<((Timestamp, TimerId), Lane)> = {
            let mut w = rt.timers.state.lock().unwrap_or_else(|p| p.into_inner());
            let later = w
                .due
                .split_off(&(Timestamp(now.0.saturating_add(1)), TimerId(i64::MIN)));
            std::mem::replace(&mut w.due, later).into_iter().collect()
        };
        for ((_, id), lane) in due {
            tokio::spawn(fire(rt.clone(), id, lane));
        }
        let next_due = {
            let w = rt.timers.state.lock().unwrap_or_else(|p| p.into_inner());
            w.due.first_key_value().map(|((d, _), _)| *d)
        };
        let wake_at = next_due.map_or(next_load, |d| d.min(next_load));
        tokio::select! {
            () = rt.clock.sleep_until(wake_at) => {}
            () = rt.timers.wake.notified() => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}

async fn fire(rt: Arc<Runtime>, id: TimerId, lane: Lane) {
    let guard = rt.lanes.lock(lane.clone()).await;
    let result = rt
        .store
        .fire_timer(id, rt.clock.now(), rt.handler.clone())
        .await;
    match result {
        Ok(Some(mut fired)) => {
            // Still in the lane: an `http` step the timer led to runs before the
            // conversation's next message.
            if let Err(e) = rt.after_commit(&mut fired, false).await {
                tracing::error!(error = %e, "http step after a timer failed to commit")
            }
            drop(guard);
            Metrics::inc(&rt.metrics.timers_fired);
            tracing::debug!(timer = %id, conversation = %fired.conversation, "timer fired");
        }
        Ok(None) => tracing::debug!(timer = %id, "timer already fired or cancelled"),
        Err(e) => {
            tracing::error!(timer = %id, error = %e, "timer failed; it will be retried");
            let retry = ScheduledTimer {
                id,
                due_at: rt.clock.now().plus(RETRY_AFTER_ERROR),
                lane,
            };
            rt.timers.add(&[retry]);
        }
    }
}
