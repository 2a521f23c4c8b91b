//! The SQLite writer thread and its group commit.
//!
//! Callers send jobs over a channel. The thread takes every job waiting (up to a
//! batch size), opens one transaction, runs each job in its own savepoint (a failing
//! job rolls back alone), commits once (one fsync), and only then answers each caller.
//! Under load batches grow by themselves; when idle a batch is one job.

use super::SqliteConn;
use super::checkpoint::Checkpoints;
use crate::sql::Conn;
use crate::{Error, Result};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use tokio::sync::oneshot;

/// Called once the batch's fate is known: `Ok` when committed.
type Finish = Box<dyn FnOnce(Result<()>) + Send>;
/// Runs inside a savepoint (or, given `None`, gives up without running); says whether
/// it succeeded, and how to answer its caller.
type Job = Box<dyn FnOnce(Option<&mut SqliteConn>) -> (bool, Finish) + Send>;

pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    pub fn start(conn: SqliteConn, max_batch: usize, checkpoints: Checkpoints) -> Result<Writer> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("relais-sqlite-writer".into())
            .spawn(move || run(conn, rx, max_batch.max(1), checkpoints))
            .map_err(|e| Error::Open(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer { jobs: tx })
    }

    pub async fn run<R, F>(&self, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R> + Send + 'static,
    {
        let (done_tx, done_rx) = oneshot::channel::<Result<R>>();
        let job: Job = Box::new(move |conn| {
            let out = match conn {
                None => Err(Error::Database(
                    "the database could not open a transaction".into(),
                )),
                Some(conn) => match catch_unwind(AssertUnwindSafe(|| work(conn))) {
                    Ok(out) => out,
                    Err(_) => Err(Error::Database(
                        "a transaction panicked; it was rolled back".into(),
                    )),
                },
            };
            let ok = out.is_ok();
            let finish: Finish = Box::new(move |committed| {
                let answer = match (out, committed) {
                    (Ok(v), Ok(())) => Ok(v),
                    (Ok(_), Err(e)) => Err(e),
                    (Err(e), _) => Err(e),
                };
                let _ = done_tx.send(answer);
            });
            (ok, finish)
        });
        self.jobs.send(job).map_err(|_| Error::Closed)?;
        done_rx.await.map_err(|_| Error::Closed)?
    }
}

fn run(
    mut conn: SqliteConn,
    rx: mpsc::Receiver<Job>,
    max_batch: usize,
    mut checkpoints: Checkpoints,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    let mut finishes: Vec<Finish> = Vec::with_capacity(max_batch);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = run_batch(&mut conn, &mut batch, &mut finishes);
        for finish in finishes.drain(..) {
            finish(match &outcome {
                Ok(()) => Ok(()),
                Err(e) => Err(Error::Database(format!("commit failed: {e}"))),
            });
        }
        if outcome.is_ok() {
            checkpoints.committed(&conn);
        }
    }
    tracing::debug!("sqlite writer stopped");
}

fn run_batch(
    conn: &mut SqliteConn,
    batch: &mut Vec<Job>,
    finishes: &mut Vec<Finish>,
) -> Result<()> {
    if let Err(e) = conn.0.execute_batch("BEGIN IMMEDIATE") {
        for job in batch.drain(..) {
            // Answered with the failure, without running.
            let (_, finish) = job(None);
            finishes.push(finish);
        }
        return Err(e.into());
    }
    for job in batch.drain(..) {
        let step = conn.0.execute_batch("SAVEPOINT job");
        let (ok, finish) = job(step.is_ok().then_some(&mut *conn));
        let end = if ok && step.is_ok() {
            conn.0.execute_batch("RELEASE job")
        } else {
            conn.0.execute_batch("ROLLBACK TO job; RELEASE job")
        };
        finishes.push(finish);
        if let Err(e) = end {
            let _ = conn.0.execute_batch("ROLLBACK");
            return Err(e.into());
        }
    }
    match conn.0.execute_batch("COMMIT") {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = conn.0.execute_batch("ROLLBACK");
            Err(e.into())
        }
    }
}
