//! The SQLite writer thread and its group commit.
//!
//! Callers send jobs over a channel. The thread takes every job waiting (up to a
//! batch size), runs them all in one transaction, commits once (one fsync), and only
//! then answers each caller. Under load batches grow by themselves; when idle a batch
//! is one job.
//!
//! A failing job must roll back alone. Savepoints would give that, but each one copies
//! every page its job touches into a sub-journal, for failures that almost never
//! happen. So a batch first runs without savepoints; only if a job fails is the whole
//! transaction rolled back and the batch run again, each job in its own savepoint (jobs
//! are `Fn` for that reason).

use super::SqliteConn;
use super::checkpoint::Checkpoints;
use crate::sql::Conn;
use crate::{Error, Result};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use tokio::sync::oneshot;

/// A caller's transaction, type-erased for the queue.
trait Job: Send {
    /// Runs the work and keeps its outcome (a later run replaces it); says whether it
    /// succeeded.
    fn run(&mut self, conn: &mut SqliteConn) -> bool;
    /// Answers the caller, given whether the batch committed.
    fn finish(self: Box<Self>, committed: &std::result::Result<(), String>);
}

struct Call<R, F> {
    work: F,
    outcome: Option<Result<R>>,
    done: oneshot::Sender<Result<R>>,
}

impl<R, F> Job for Call<R, F>
where
    R: Send,
    F: Fn(&mut dyn Conn) -> Result<R> + Send,
{
    fn run(&mut self, conn: &mut SqliteConn) -> bool {
        let out = match catch_unwind(AssertUnwindSafe(|| (self.work)(conn))) {
            Ok(out) => out,
            Err(_) => Err(Error::Database(
                "a transaction panicked; it was rolled back".into(),
            )),
        };
        let ok = out.is_ok();
        self.outcome = Some(out);
        ok
    }

    fn finish(self: Box<Self>, committed: &std::result::Result<(), String>) {
        let answer = match (self.outcome, committed) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (Some(Ok(_)), Err(e)) => Err(Error::Database(format!("commit failed: {e}"))),
            (None, Err(e)) => Err(Error::Database(format!(
                "the database could not run the transaction: {e}"
            ))),
            (None, Ok(())) => Err(Error::Database("the transaction was not run".into())),
        };
        let _ = self.done.send(answer);
    }
}

pub(super) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    pub fn start(conn: SqliteConn, max_batch: usize, checkpoints: Checkpoints) -> Result<Writer> {
        let (tx, rx) = mpsc::channel::<Box<dyn Job>>();
        std::thread::Builder::new()
            .name("relais-sqlite-writer".into())
            .spawn(move || run(conn, rx, max_batch.max(1), checkpoints))
            .map_err(|e| Error::Open(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer { jobs: tx })
    }

    pub async fn run<R, F>(&self, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: Fn(&mut dyn Conn) -> Result<R> + Send + 'static,
    {
        let (done, answer) = oneshot::channel::<Result<R>>();
        let job = Box::new(Call {
            work,
            outcome: None,
            done,
        });
        self.jobs.send(job).map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)?
    }
}

fn run(
    mut conn: SqliteConn,
    rx: mpsc::Receiver<Box<dyn Job>>,
    max_batch: usize,
    mut checkpoints: Checkpoints,
) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(max_batch);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = run_batch(&mut conn, &mut batch).map_err(|e| e.to_string());
        for job in batch.drain(..) {
            job.finish(&outcome);
        }
        if outcome.is_ok() {
            checkpoints.committed(&conn);
        }
    }
    tracing::debug!("sqlite writer stopped");
}

fn run_batch(conn: &mut SqliteConn, batch: &mut [Box<dyn Job>]) -> rusqlite::Result<()> {
    conn.0.execute_batch("BEGIN IMMEDIATE")?;
    // Stops at the first failure; the jobs after it are not run.
    if batch.iter_mut().all(|job| job.run(conn)) {
        return commit(conn);
    }
    if !conn.0.is_autocommit() {
        conn.0.execute_batch("ROLLBACK")?;
    }
    if batch.len() == 1 {
        // Its failure is its answer; nothing else was waiting.
        return Ok(());
    }
    conn.0.execute_batch("BEGIN IMMEDIATE")?;
    for job in batch.iter_mut() {
        let end = match conn.0.execute_batch("SAVEPOINT job") {
            Ok(()) if job.run(conn) => conn.0.execute_batch("RELEASE job"),
            Ok(()) => conn.0.execute_batch("ROLLBACK TO job; RELEASE job"),
            Err(e) => Err(e),
        };
        if let Err(e) = end {
            let _ = conn.0.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    commit(conn)
}

fn commit(conn: &mut SqliteConn) -> rusqlite::Result<()> {
    conn.0.execute_batch("COMMIT").inspect_err(|_| {
        let _ = conn.0.execute_batch("ROLLBACK");
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::Val;

    fn job<R: Send + 'static>(
        work: impl Fn(&mut dyn Conn) -> Result<R> + Send + 'static,
    ) -> (Box<dyn Job>, oneshot::Receiver<Result<R>>) {
        let (done, answer) = oneshot::channel();
        let call = Call {
            work,
            outcome: None,
            done,
        };
        (Box::new(call), answer)
    }

    fn insert(name: &'static str) -> impl Fn(&mut dyn Conn) -> Result<u64> + Send {
        move |c| {
            c.execute(
                "INSERT INTO t (name) VALUES ($1)",
                &[Val::Text(name.into())],
            )
        }
    }

    fn names(conn: &mut SqliteConn) -> Vec<String> {
        let rows = conn.query("SELECT name FROM t ORDER BY id", &[]).unwrap();
        rows.into_iter().map(|r| r.text("name").unwrap()).collect()
    }

    /// A batch whose jobs all succeed commits in one transaction, without savepoints;
    /// when one fails (an error after writing, or a panic) the batch runs again with
    /// savepoints and only the failing jobs leave nothing behind.
    #[test]
    fn a_failing_job_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::connect(&dir.path().join("w.db"), false, None).unwrap();
        conn.batch("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)")
            .unwrap();

        let (a, a_answer) = job(insert("a"));
        let (b, b_answer) = job(insert("b"));
        let mut batch = vec![a, b];
        let outcome = run_batch(&mut conn, &mut batch).map_err(|e| e.to_string());
        assert!(outcome.is_ok());
        batch.into_iter().for_each(|j| j.finish(&outcome));
        assert!(a_answer.blocking_recv().unwrap().is_ok());
        assert!(b_answer.blocking_recv().unwrap().is_ok());
        assert_eq!(names(&mut conn), ["a", "b"]);

        let runs = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counted = runs.clone();
        let (c, c_answer) = job(move |conn| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            insert("c")(conn)
        });
        // Writes, then fails: its row must not survive.
        let (bad, bad_answer) = job(|c| {
            insert("ghost")(c)?;
            Err::<u64, _>(Error::Conflict("refused after writing".into()))
        });
        let (dup, dup_answer) = job(insert("a"));
        let (boom, boom_answer) = job(|c| -> Result<u64> {
            insert("ghost2")(c)?;
            panic!("a bug in a transaction")
        });
        let (d, d_answer) = job(insert("d"));
        let mut batch = vec![c, bad, dup, boom, d];
        let outcome = run_batch(&mut conn, &mut batch).map_err(|e| e.to_string());
        assert!(outcome.is_ok());
        batch.into_iter().for_each(|j| j.finish(&outcome));
        assert!(c_answer.blocking_recv().unwrap().is_ok());
        assert!(d_answer.blocking_recv().unwrap().is_ok());
        assert!(matches!(
            bad_answer.blocking_recv().unwrap(),
            Err(Error::Conflict(_))
        ));
        assert!(dup_answer.blocking_recv().unwrap().is_err());
        assert!(boom_answer.blocking_recv().unwrap().is_err());
        assert_eq!(names(&mut conn), ["a", "b", "c", "d"]);
        // Once without savepoints, once again with them.
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert!(conn.0.is_autocommit(), "no transaction left open");
    }
}
