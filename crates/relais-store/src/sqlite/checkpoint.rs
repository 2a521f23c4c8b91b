//! WAL checkpoints off the writer thread.
//!
//! SQLite's automatic checkpoint runs inside the committing connection: the writer
//! would copy WAL pages into the database file and fsync it while every caller of the
//! batch waits. Here the writer turns that off (`wal_autocheckpoint = 0`) and pokes a
//! checkpointer thread after each commit; the checkpointer, on its own connection,
//! runs `PASSIVE` checkpoints (they never block the writer) at most once per `gap`.
//!
//! A WAL file only starts over when a write transaction begins while every frame is
//! already copied, which a checkpointer racing a busy writer may never see. So when
//! the WAL passes `wal_limit` frames, the checkpointer runs passes back to back (each
//! one short), and the writer runs one checkpoint itself between two batches, right
//! after a pass: it only copies the frames written during that pass, and its next
//! transaction starts the file over.

use super::SqliteConn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// The pause after a pass past the limit: about one batch of the writer, which then
/// finds the checkpoint lock free.
const HANDOVER: Duration = Duration::from_millis(3);

/// What the two threads share.
#[derive(Default)]
struct Shared {
    /// Short passes past the limit so far: each one invites the writer to catch up.
    handovers: AtomicU64,
}

/// The writer's side: pokes the checkpointer and, rarely, catches up itself.
pub(super) struct Checkpoints {
    poke: mpsc::SyncSender<()>,
    shared: Arc<Shared>,
    /// The handover at which the writer last caught up.
    caught_up_at: u64,
}

/// `(busy, frames in the WAL, frames copied)` as `PRAGMA wal_checkpoint` reports them.
fn checkpoint(conn: &SqliteConn) -> rusqlite::Result<(i64, i64, i64)> {
    conn.0.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
}

impl Checkpoints {
    /// Starts the checkpointer thread on `conn`, which must be a connection of its own.
    pub fn start(conn: SqliteConn, gap: Duration, wal_limit: u64) -> std::io::Result<Self> {
        let (poke, pokes) = mpsc::sync_channel::<()>(1);
        let shared = Arc::new(Shared::default());
        let theirs = shared.clone();
        std::thread::Builder::new()
            .name("relais-sqlite-checkpoint".into())
            .spawn(move || background(conn, pokes, theirs, gap, wal_limit))?;
        Ok(Checkpoints {
            poke,
            shared,
            caught_up_at: 0,
        })
    }

    /// Called by the writer after each commit, outside any transaction.
    pub fn committed(&mut self, writer: &SqliteConn) {
        // A full channel already holds a poke: nothing is lost.
        let _ = self.poke.try_send(());
        let handovers = self.shared.handovers.load(Ordering::Acquire);
        if handovers == self.caught_up_at {
            return;
        }
        self.caught_up_at = handovers;
        // Everything copied: the next transaction starts the WAL over. Otherwise (a
        // reader still on old frames) the next handover tries again.
        if let Err(e) = checkpoint(writer) {
            tracing::warn!(error = %e, "WAL checkpoint by the writer failed");
        }
    }
}

fn background(
    conn: SqliteConn,
    pokes: mpsc::Receiver<()>,
    shared: Arc<Shared>,
    gap: Duration,
    wal_limit: u64,
) {
    // Ends when the writer is gone (its sender dropped), after a last pass.
    let mut was_over = false;
    while pokes.recv().is_ok() {
        let over = match checkpoint(&conn) {
            Ok((_, log, _)) => u64::try_from(log).unwrap_or(0) > wal_limit,
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint failed");
                false
            }
        };
        // Past the limit, passes follow each other closely. The first may be long (it
        // copies what a whole gap wrote); the next ones are short, and after each the
        // writer may catch up, copying only what was written during it.
        if over && was_over {
            shared.handovers.fetch_add(1, Ordering::AcqRel);
        }
        was_over = over;
        std::thread::sleep(if over { HANDOVER } else { gap });
    }
    if let Err(e) = checkpoint(&conn) {
        tracing::warn!(error = %e, "last WAL checkpoint failed");
    }
    tracing::debug!("sqlite checkpointer stopped");
}
