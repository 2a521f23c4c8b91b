//! Per-conversation serialization. A lane is (channel, contact address); work on one
//! lane runs one at a time in arrival order (tokio's mutex is fair, first come first
//! served), while different lanes run in parallel. Idle lanes take no memory.

use relais_store::Lane;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

const SHARDS: usize = 64;

type Slot = Arc<AsyncMutex<()>>;

pub struct Lanes {
    shards: [Mutex<HashMap<Lane, Slot>>; SHARDS],
    hasher: std::collections::hash_map::RandomState,
}

/// Held while a lane's work runs; releasing it lets the next in line proceed.
pub struct LaneGuard<'a> {
    lanes: &'a Lanes,
    lane: Lane,
    slot: Option<Slot>,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Default for Lanes {
    fn default() -> Self {
        Lanes {
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
            hasher: Default::default(),
        }
    }
}

impl Lanes {
    fn shard(&self, lane: &Lane) -> &Mutex<HashMap<Lane, Slot>> {
        &self.shards[(self.hasher.hash_one(lane) as usize) % SHARDS]
    }

    /// Waits for the lane, in arrival order.
    pub async fn lock(&self, lane: Lane) -> LaneGuard<'_> {
        let slot = {
            let mut map = self.shard(&lane).lock().unwrap_or_else(|p| p.into_inner());
            map.entry(lane.clone()).or_default().clone()
        };
        let guard = slot.clone().lock_owned().await;
        LaneGuard {
            lanes: self,
            lane,
            slot: Some(slot),
            guard: Some(guard),
        }
    }

    /// Lanes currently held or waited for (for tests and metrics).
    pub fn active(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }
}

impl Drop for LaneGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let Some(slot) = self.slot.take() else { return };
        let mut map = self
            .lanes
            .shard(&self.lane)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // The map's copy and ours: nobody else holds or waits for this lane.
        if Arc::strong_count(&slot) == 2 {
            map.remove(&self.lane);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_core::id::ChannelId;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn lane(a: &str) -> Lane {
        Lane {
            channel: ChannelId("c".into()),
            address: a.into(),
        }
    }

    // Current-thread runtime: each spawned task runs up to its wait as soon as the test
    // yields, so arrival order is the spawn order.
    #[tokio::test]
    async fn one_lane_runs_one_at_a_time_in_arrival_order_and_is_freed() {
        let lanes = Arc::new(Lanes::default());
        let running = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = lanes.lock(lane("a")).await;
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (l, running, order) = (lanes.clone(), running.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _g = l.lock(lane("a")).await;
                assert_eq!(
                    running.fetch_add(1, Ordering::SeqCst),
                    0,
                    "two holders at once"
                );
                order.lock().unwrap().push(i);
                tokio::task::yield_now().await;
                running.fetch_sub(1, Ordering::SeqCst);
            }));
            // Let task i queue before task i+1 arrives.
            tokio::task::yield_now().await;
        }
        // Another lane is not blocked by lane "a".
        drop(lanes.lock(lane("b")).await);
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>());
        assert_eq!(lanes.active(), 0, "idle lanes are forgotten");
    }
}
