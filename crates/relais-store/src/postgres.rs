//! The PostgreSQL backend, for several `relais serve` nodes sharing one database.
//!
//! Transactions run on a blocking thread with a pooled synchronous client (the same
//! use-case code as SQLite runs unchanged); conversations are locked with
//! `SELECT … FOR UPDATE`, and PostgreSQL's own commit batching plays the role of the
//! SQLite writer's group commit.

use crate::backend::{Backend, SqlStore};
use crate::sql::{Conn, Dialect, Row, Val};
use crate::{Error, Result, migrate};
use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

pub type PostgresStore = SqlStore<Postgres>;

/// How to reach the database.
#[derive(Clone)]
pub struct PostgresOptions {
    pub url: String,
    /// Use this schema (created if missing) instead of `public`: tests get a fresh one.
    pub schema: Option<String>,
    pub max_connections: usize,
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password.
        f.debug_struct("PostgresOptions")
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

/// Connects, migrates, and returns the store.
pub async fn open(options: PostgresOptions) -> Result<PostgresStore> {
    let mut config = postgres::Config::from_str(&options.url)
        .map_err(|e| Error::Open(format!("bad PostgreSQL URL: {e}")))?;
    if let Some(schema) = &options.schema {
        if !schema
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(Error::Open(format!("bad schema name {schema:?}")));
        }
        config.options(&format!("-c search_path={schema}"));
    }
    let pool = Arc::new(Pool {
        config,
        idle: Mutex::new(Vec::new()),
        permits: Semaphore::new(options.max_connections.max(1)),
    });
    let schema = options.schema.clone();
    let p = pool.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let mut conn = p.connect()?;
        if let Some(schema) = schema {
            conn.client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .map_err(|e| Error::Open(e.to_string()))?;
        }
        let mut t = conn
            .client
            .transaction()
            .map_err(|e| Error::Open(e.to_string()))?;
        migrate::run(&mut PgConn {
            t: &mut t,
            statements: &mut conn.statements,
        })?;
        t.commit().map_err(|e| Error::Open(e.to_string()))?;
        p.give_back(conn);
        Ok(())
    })
    .await
    .map_err(|e| Error::Open(e.to_string()))??;
    Ok(SqlStore::new(Postgres { pool }))
}

struct Pooled {
    client: postgres::Client,
    statements: HashMap<String, Prepared>,
}

struct Pool {
    config: postgres::Config,
    idle: Mutex<Vec<Pooled>>,
    permits: Semaphore,
}

impl Pool {
    fn connect(&self) -> Result<Pooled> {
        let idle = self.idle.lock().map_err(|_| Error::Closed)?.pop();
        if let Some(c) = idle.filter(|c| !c.client.is_closed()) {
            return Ok(c);
        }
        let client = self
            .config
            .connect(postgres::NoTls)
            .map_err(|e| Error::Database(format!("cannot connect to PostgreSQL: {e}")))?;
        Ok(Pooled {
            client,
            statements: HashMap::new(),
        })
    }

    fn give_back(&self, c: Pooled) {
        if !c.client.is_closed()
            && let Ok(mut idle) = self.idle.lock()
        {
            idle.push(c);
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing a synchronous client blocks; it must not happen on an async worker.
        let idle = match self.idle.get_mut() {
            Ok(v) => std::mem::take(v),
            Err(poisoned) => std::mem::take(poisoned.into_inner()),
        };
        if !idle.is_empty() {
            let _ = std::thread::Builder::new()
                .name("relais-pg-close".into())
                .spawn(move || drop(idle));
        }
    }
}

/// The PostgreSQL backend.
pub struct Postgres {
    pool: Arc<Pool>,
}

impl Postgres {
    async fn transaction<R, F>(&self, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R> + Send + 'static,
    {
        let _permit = self
            .pool
            .permits
            .acquire()
            .await
            .map_err(|_| Error::Closed)?;
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.connect()?;
            let out = {
                let mut t = conn.client.transaction()?;
                let out = work(&mut PgConn {
                    t: &mut t,
                    statements: &mut conn.statements,
                });
                match out {
                    Ok(v) => t.commit().map(|()| v).map_err(Error::from),
                    Err(e) => {
                        let _ = t.rollback();
                        Err(e)
                    }
                }
            };
            pool.give_back(conn);
            out
        })
        .await
        .map_err(|e| Error::Database(format!("database task failed: {e}")))?
    }
}

impl Backend for Postgres {
    async fn write<R, F>(&self, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: Fn(&mut dyn Conn) -> Result<R> + Send + 'static,
    {
        self.transaction(work).await
    }

    async fn read<R, F>(&self, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R> + Send + 'static,
    {
        self.transaction(work).await
    }
}

struct PgConn<'a, 'b> {
    t: &'a mut postgres::Transaction<'b>,
    statements: &'a mut HashMap<String, Prepared>,
}

/// A prepared statement and its column names, which every row of it shares.
#[derive(Clone)]
struct Prepared {
    statement: postgres::Statement,
    names: Arc<[String]>,
}

impl PgConn<'_, '_> {
    fn statement(&mut self, sql: &str) -> Result<Prepared> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let statement = self.t.prepare(sql)?;
        let names = statement
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        let p = Prepared { statement, names };
        self.statements.insert(sql.to_owned(), p.clone());
        Ok(p)
    }
}

impl ToSql for Val {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => Err(format!("an integer cannot be bound to a {ty} parameter").into()),
            },
            Val::Text(s) => s.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn read_row(row: &postgres::Row, names: &Arc<[String]>) -> Result<Row> {
    let mut vals = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let v = match *col.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Val::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)?
                .map(|v| Val::Int(v.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)?
                .map(|v| Val::Int(v.into())),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)?
                .map(|v| Val::Int(v.into())),
            Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR => {
                row.try_get::<_, Option<String>>(i)?.map(Val::Text)
            }
            Type::VOID => None,
            ref other => return Err(Error::Corrupt(format!("unexpected column type {other}"))),
        };
        vals.push(v.unwrap_or(Val::Null));
    }
    Ok(Row::new(vals, names.clone()))
}

impl Conn for PgConn<'_, '_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        let stmt = self.statement(sql)?;
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        Ok(self.t.execute(&stmt.statement, &refs)?)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        let stmt = self.statement(sql)?;
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.t
            .query(&stmt.statement, &refs)?
            .iter()
            .map(|r| read_row(r, &stmt.names))
            .collect()
    }

    fn insert(&mut self, sql: &str, params: &[Val]) -> Result<Option<i64>> {
        match self.query(&format!("{sql} RETURNING id"), params)?.first() {
            Some(row) => Ok(Some(row.int(0)?)),
            None => Ok(None),
        }
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.t.batch_execute(sql)?)
    }
}
