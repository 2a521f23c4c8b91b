//! The SQLite backend: one file in WAL mode, one writer thread doing group commit
//! ([`writer`]), a checkpointer thread ([`checkpoint`]), and a small pool of read
//! connections. The writer runs with `secure_delete`: what a transaction deletes is
//! zeroed in the file, so an erased contact leaves no byte behind (`Backend::scrub`).
//!
//! Durability: the writer commits with `synchronous=FULL`, so a transaction's WAL frames
//! are fsynced before any of its callers is answered. Many concurrent transactions share
//! one fsync (group commit); one failing transaction still rolls back alone (the batch
//! runs again with a savepoint per transaction).

mod checkpoint;
mod writer;

use crate::backend::{Backend, SqlStore};
use crate::sql::{Conn, Dialect, Row, Val};
use crate::{Error, Result, migrate};
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How to open a SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub path: PathBuf,
    /// `FULL` (fsync before every acknowledgement) unless a benchmark turns it off.
    pub synchronous_full: bool,
    /// Most transactions committed by one fsync.
    pub max_batch: usize,
    /// Least time between two background WAL checkpoints.
    pub checkpoint_gap: std::time::Duration,
    /// WAL frames (pages: 64 MiB at 2 KiB) past which the writer helps the
    /// checkpointer so that the WAL file starts over.
    pub wal_limit: u64,
    /// Every SQL text run by the store's connections is added here (the query-plan
    /// test reads it); `None` in production.
    pub statements: Option<StatementLog>,
    /// Take the bot's step on a read snapshot before the write batch
    /// ([`crate::snapshot`]). Off by default: on a 2-core machine the reads it adds
    /// cost more than the writer saves (docs/performance.md).
    pub step_before_batch: bool,
}

/// The distinct SQL texts a store ran, when [`SqliteOptions::statements`] asks for them.
pub type StatementLog = Arc<Mutex<std::collections::BTreeSet<String>>>;

impl SqliteOptions {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteOptions {
            path: path.into(),
            synchronous_full: true,
            max_batch: 512,
            checkpoint_gap: std::time::Duration::from_millis(20),
            wal_limit: 32_768,
            statements: None,
            step_before_batch: false,
        }
    }
}

pub type SqliteStore = SqlStore<Sqlite>;

/// Opens (creating if needed) and migrates the database, and starts its writer.
pub fn open(options: SqliteOptions) -> Result<SqliteStore> {
    if let Some(dir) = options.path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Open(format!("cannot create the folder {}: {e}", dir.display())))?;
    }
    let mut conn = connect(&options.path, false, options.statements.clone())?;
    let sync = if options.synchronous_full {
        "FULL"
    } else {
        "NORMAL"
    };
    conn.0
        .execute_batch(&format!(
            "PRAGMA synchronous = {sync}; PRAGMA wal_autocheckpoint = 0; \
             PRAGMA journal_size_limit = {}; PRAGMA secure_delete = ON;",
            options.wal_limit * PAGE_SIZE
        ))
        .map_err(|e| Error::Open(e.to_string()))?;
    conn.0
        .execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| Error::Open(e.to_string()))?;
    match migrate::run(&mut conn) {
        Ok(_) => conn
            .0
            .execute_batch("COMMIT")
            .map_err(|e| Error::Open(e.to_string()))?,
        Err(e) => {
            let _ = conn.0.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    let checkpointer = connect(&options.path, false, None)?;
    checkpointer
        .0
        .execute_batch(&format!("PRAGMA synchronous = {sync};"))
        .map_err(|e| Error::Open(e.to_string()))?;
    let checkpoints =
        checkpoint::Checkpoints::start(checkpointer, options.checkpoint_gap, options.wal_limit)
            .map_err(|e| Error::Open(format!("cannot start the checkpointer thread: {e}")))?;
    let writer = writer::Writer::start(conn, options.max_batch, checkpoints)?;
    Ok(SqlStore::new(Sqlite {
        writer,
        readers: Arc::new(Mutex::new(Vec::new())),
        path: options.path,
        statements: options.statements,
        step_before_batch: options.step_before_batch,
    }))
}

/// Page size of a new database. Smaller than SQLite's 4 KiB default: a message dirties
/// a page in each index keyed by conversation (events, messages, de-duplication), and
/// every dirty page is written twice (WAL, then checkpoint). Existing files keep theirs.
const PAGE_SIZE: u64 = 2048;

fn connect(path: &Path, read_only: bool, log: Option<StatementLog>) -> Result<SqliteConn> {
    let conn = rusqlite::Connection::open(path)
        .map_err(|e| Error::Open(format!("{}: {e}", path.display())))?;
    let mut pragmas = format!(
        "PRAGMA page_size = {PAGE_SIZE}; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
         PRAGMA busy_timeout = 5000; PRAGMA temp_store = MEMORY;"
    );
    if read_only {
        pragmas.push_str(" PRAGMA query_only = 1;");
    }
    conn.execute_batch(&pragmas)
        .map_err(|e| Error::Open(format!("{}: {e}", path.display())))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(SqliteConn(conn, log, Default::default()))
}

/// The SQLite backend. Cheap to share behind the store's `Arc`.
pub struct Sqlite {
    writer: writer::Writer,
    readers: Arc<Mutex<Vec<SqliteConn>>>,
    path: PathBuf,
    statements: Option<StatementLog>,
    step_before_batch: bool,
}

const MAX_IDLE_READERS: usize = 8;

impl Backend for Sqlite {
    fn steps_before_batch(&self) -> bool {
        self.step_before_batch
    }

    async fn write<R, F>(&self, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: Fn(&mut dyn Conn) -> Result<R> + Send + 'static,
    {
        self.writer.run(work).await
    }

    async fn read<R, F>(&self, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R> + Send + 'static,
    {
        let readers = self.readers.clone();
        let path = self.path.clone();
        let log = self.statements.clone();
        tokio::task::spawn_blocking(move || with_reader(&readers, &path, log, work))
            .await
            .map_err(|e| Error::Database(format!("read task failed: {e}")))?
    }

    /// Deleted content is already zeroed in the pages (the writer runs with
    /// `secure_delete`); what is left are older page images in the WAL, which a
    /// `TRUNCATE` checkpoint copies over and cuts off. It waits for readers on older
    /// snapshots (they are short), and tries again a few times before giving up.
    async fn scrub(&self, _tables: &'static [&'static str]) -> Result<()> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = connect(&path, false, None)?;
            for _ in 0..50 {
                let (busy, _, _): (i64, i64, i64) =
                    conn.0
                        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                        })?;
                if busy == 0 {
                    return Ok(());
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(Error::Database(
                "the WAL could not be truncated after erasure: a reader kept it busy; \
                 run the erasure again"
                    .into(),
            ))
        })
        .await
        .map_err(|e| Error::Database(format!("scrub task failed: {e}")))?
    }

    /// Keyed reads of a few pages, cached: cheaper on the caller's thread than the
    /// hop to a blocking thread.
    async fn read_inline<R, F>(&self, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R> + Send + 'static,
    {
        with_reader(&self.readers, &self.path, self.statements.clone(), work)
    }
}

/// Runs `work` in a read transaction on an idle reader (or a new one).
fn with_reader<R>(
    readers: &Mutex<Vec<SqliteConn>>,
    path: &Path,
    log: Option<StatementLog>,
    work: impl FnOnce(&mut dyn Conn) -> Result<R>,
) -> Result<R> {
    let idle = readers.lock().map_err(|_| Error::Closed)?.pop();
    let mut conn = match idle {
        Some(c) => c,
        None => connect(path, true, log)?,
    };
    conn.0.execute_batch("BEGIN")?;
    let out = work(&mut conn);
    let _ = conn.0.execute_batch("COMMIT");
    let mut idle = readers.lock().map_err(|_| Error::Closed)?;
    if idle.len() < MAX_IDLE_READERS {
        idle.push(conn);
    }
    out
}

/// A rusqlite connection speaking the shared SQL layer, and where it notes what it runs.
pub(crate) struct SqliteConn(
    pub(crate) rusqlite::Connection,
    Option<StatementLog>,
    /// Column names per query text, so that rows share them without a lookup per query
    /// (a fast hash: SQL texts are long and this is on every query).
    std::collections::HashMap<String, Arc<[String]>, foldhash::fast::RandomState>,
);

impl SqliteConn {
    fn prepare(&self, sql: &str) -> Result<rusqlite::CachedStatement<'_>> {
        if let Some(log) = &self.1
            && let Ok(mut seen) = log.lock()
            && !seen.contains(sql)
        {
            seen.insert(sql.to_owned());
        }
        Ok(self.0.prepare_cached(sql)?)
    }
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Val::Null => ValueRef::Null,
            Val::Int(i) => ValueRef::Integer(*i),
            Val::Text(s) => ValueRef::Text(s.as_bytes()),
        }))
    }
}

fn read_row(row: &rusqlite::Row<'_>, names: &Arc<[String]>) -> rusqlite::Result<Row> {
    let n = names.len();
    let mut vals = Vec::with_capacity(n);
    for i in 0..n {
        vals.push(match row.get_ref(i)? {
            ValueRef::Null => Val::Null,
            ValueRef::Integer(v) => Val::Int(v),
            ValueRef::Real(v) => Val::Int(v as i64),
            ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Val::Text(String::from_utf8_lossy(b).into_owned()),
        });
    }
    Ok(Row::new(vals, names.clone()))
}

impl Conn for SqliteConn {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        let mut stmt = self.prepare(sql)?;
        Ok(stmt.execute(rusqlite::params_from_iter(params.iter()))? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        let names = match self.2.get(sql) {
            Some(n) => n.clone(),
            None => {
                let stmt = self.prepare(sql)?;
                let n: Arc<[String]> = stmt.column_names().into_iter().map(str::to_owned).collect();
                drop(stmt);
                self.2.insert(sql.to_owned(), n.clone());
                n
            }
        };
        let mut stmt = self.prepare(sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), |r| {
            read_row(r, &names)
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn insert(&mut self, sql: &str, params: &[Val]) -> Result<Option<i64>> {
        let mut stmt = self.prepare(sql)?;
        let changed = stmt.execute(rusqlite::params_from_iter(params.iter()))?;
        Ok((changed == 1).then(|| self.0.last_insert_rowid()))
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.0.execute_batch(sql)?)
    }
}
