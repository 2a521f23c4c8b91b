//! Nodes of one database follow each other's workspace changes. A change made on a
//! page or through the API (an article, a template, a channel, a team's hours, the
//! Settings page's values) reloads the node that received it, which then writes a new
//! mark in the store setting [`MARK`]; every node reads the mark every [`EVERY`] and
//! reloads when it is not the last one it saw. On SQLite (one node) the mark is always
//! this node's own, and the loop only reads one row.

use super::Runtime;
use relais_core::Timestamp;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// The store setting holding the last change's mark.
pub const MARK: &str = "workspace.changed";
/// How often a node looks (real time: housekeeping, not a timer of the domain).
const EVERY: Duration = Duration::from_secs(2);

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl Runtime {
    /// Says that the workspace changed here (after this node has reloaded): the other
    /// nodes reload within [`EVERY`].
    pub async fn announce_change(&self, now: Timestamp) {
        let mark = format!(
            "{}:{}:{}",
            self.settings.node,
            now.0,
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        );
        // When another node changed something since this node last looked, its own
        // mark is not taken as seen: the next look reloads (and takes both changes).
        let current = self.store.store_setting(MARK).await.ok().flatten();
        let seen = self
            .followed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Err(e) = self.store.set_store_setting(MARK, &mark, now).await {
            tracing::warn!(error = %e, "the workspace change could not be announced to other nodes");
            return;
        }
        if current == seen {
            self.seen_mark(Some(mark));
        }
    }

    fn seen_mark(&self, mark: Option<String>) -> Option<String> {
        let mut seen = self.followed.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::replace(&mut *seen, mark)
    }

    /// One look: reloads when another node announced a change since the last look.
    pub async fn follow_once(&self) {
        let mark = match self.store.store_setting(MARK).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "reading the workspace's change mark failed");
                return;
            }
        };
        let before = self.seen_mark(mark.clone());
        if mark == before {
            return;
        }
        let outcome = if self.home.is_some() {
            self.reload().await.map(|_| ()).map_err(|e| e.to_string())
        } else {
            self.refresh_settings().await.map_err(|e| e.to_string())
        };
        match outcome {
            Ok(()) => tracing::info!("workspace reloaded: changed on another node"),
            Err(e) => tracing::warn!(error = %e, "reload after another node's change refused"),
        }
    }
}

pub async fn run(rt: Arc<Runtime>, mut stop: watch::Receiver<bool>) {
    // What is already there was loaded at start.
    if let Ok(mark) = rt.store.store_setting(MARK).await {
        rt.seen_mark(mark);
    }
    loop {
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        rt.follow_once().await;
    }
}
