//! An agent typing reaches the web chat visitor's page on every node. Typing is said
//! where the agent is (the conversation page's beats, the API's typing call) and
//! broadcast to the pages connected to that node at once; where several nodes share a
//! PostgreSQL database, each node also reads the beats every [`EVERY`] and tells its
//! own pages (`Desk::typing_now`). On SQLite (one node) nothing more is needed.

use super::{Runtime, Typing};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often a node looks for agents typing on other nodes (real time).
const EVERY: Duration = Duration::from_secs(1);

pub async fn run(rt: Arc<Runtime>, mut stop: watch::Receiver<bool>) {
    if !rt.store.shared() {
        return;
    }
    loop {
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        // Nobody listens: nothing to read.
        if rt.typing.receiver_count() == 0 {
            continue;
        }
        match rt.store.typing_now(rt.clock.now()).await {
            Ok(list) => {
                for (channel, address) in list {
                    let _ = rt.typing.send(Typing { channel, address });
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading who is typing failed"),
        }
    }
}
