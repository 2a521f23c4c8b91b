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
//! the WAL passes `wal_limit` frames, the writer runs one checkpoint itself between
//! two batches, right after a background pass: it only copies the frames written
//! during that pass, and its next transaction starts the file over.

use super::SqliteConn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// What the two threads share.
#[derive(Default)]
struct Shared {
    /// Background passes completed so far.
    passes: AtomicU64,
    /// Frames in the WAL as the last pass saw them.
    wal_frames: AtomicU64,
}

/// The writer's side: pokes the checkpointer and, rarely, catches up itself.
pub(super) struct Checkpoints {
    poke: mpsc::SyncSender<()>,
    shared: Arc<Shared>,
    wal_limit: u64,
    /// The background pass after which the writer last caught up.
    caught_up_after: u64,
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
            .spawn(move || background(conn, pokes, theirs, gap))?;
        Ok(Checkpoints {
            poke,
            shared,
            wal_limit,
            caught_up_after: 0,
        })
    }

    /// Called by the writer after each commit, outside any transaction.
    pub fn committed(&mut self, writer: &SqliteConn) {
        // A full channel already holds a poke: nothing is lost.
        let _ = self.poke.try_send(());
        let passes = self.shared.passes.load(Ordering::Acquire);
        if self.shared.wal_frames.load(Ordering::Acquire) <= self.wal_limit
            || passes == self.caught_up_after
        {
            return;
        }
        self.caught_up_after = passes;
        match checkpoint(writer) {
            // Everything copied: the next transaction starts the WAL over.
            Ok((0, log, done)) if log == done => self.shared.wal_frames.store(0, Ordering::Release),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint by the writer failed"),
        }
    }
}

fn background(conn: SqliteConn, pokes: mpsc::Receiver<()>, shared: Arc<Shared>, gap: Duration) {
    // Ends when the writer is gone (its sender dropped), after a last pass.
    while pokes.recv().is_ok() {
        match checkpoint(&conn) {
            Ok((_, log, _)) => shared
                .wal_frames
                .store(u64::try_from(log).unwrap_or(0), Ordering::Release),
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
        shared.passes.fetch_add(1, Ordering::AcqRel);
        std::thread::sleep(gap);
    }
    if let Err(e) = checkpoint(&conn) {
        tracing::warn!(error = %e, "last WAL checkpoint failed");
    }
    tracing::debug!("sqlite checkpointer stopped");
}
