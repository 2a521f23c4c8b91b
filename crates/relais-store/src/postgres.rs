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
    /// CA certificates (PEM) trusted besides Mozilla's roots (`[database] ca_file`);
    /// the URL's `sslrootcert` names one too.
    pub ca_file: Option<std::path::PathBuf>,
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
    let (url, ssl) = ssl_settings(&options.url)?;
    let mut config = postgres::Config::from_str(&url)
        .map_err(|e| Error::Open(format!("bad PostgreSQL URL: {e}")))?;
    let tls = connector(&mut config, &ssl, options.ca_file.as_deref())?;
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
        tls,
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

/// An error and its causes: the driver's "error performing TLS handshake" alone does
/// not say that the certificate was refused, nor why.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// The URL's TLS keys, as libpq reads them; `postgres::Config` knows only
/// `disable | prefer | require`, so they are taken out of the URL here.
#[derive(Debug, Clone, PartialEq)]
struct SslSettings {
    mode: String,
    root_cert: Option<std::path::PathBuf>,
}

/// Splits `sslmode` and `sslrootcert` off the URL's query.
fn ssl_settings(url: &str) -> Result<(String, SslSettings)> {
    let mut ssl = SslSettings {
        mode: "prefer".into(),
        root_cert: None,
    };
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), ssl));
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match key {
            "sslmode" => ssl.mode = value,
            "sslrootcert" => ssl.root_cert = Some(value.into()),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, ssl))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The TLS connector for `ssl` (libpq's meanings: `prefer` and `require` encrypt
/// without checking the certificate unless a CA file is given, then check the chain;
/// `verify-ca` checks the chain, `verify-full` the chain and the host name).
fn connector(
    config: &mut postgres::Config,
    ssl: &SslSettings,
    ca_file: Option<&std::path::Path>,
) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>> {
    use crate::tls::Verify;
    use postgres::config::SslMode;
    let ca_path = ssl.root_cert.as_deref().or(ca_file);
    let (mode, verify) = match (ssl.mode.as_str(), ca_path.is_some()) {
        ("disable", _) => {
            config.ssl_mode(SslMode::Disable);
            return Ok(None);
        }
        ("allow" | "prefer", false) => (SslMode::Prefer, Verify::EncryptOnly),
        ("allow" | "prefer", true) => (SslMode::Prefer, Verify::ChainOnly),
        ("require", false) => (SslMode::Require, Verify::EncryptOnly),
        ("require" | "verify-ca", _) => (SslMode::Require, Verify::ChainOnly),
        ("verify-full", _) => (SslMode::Require, Verify::Full),
        (other, _) => {
            return Err(Error::Open(format!(
                "bad PostgreSQL URL: sslmode {other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
            )));
        }
    };
    let pem = match ca_path {
        Some(p) => Some(std::fs::read(p).map_err(|e| {
            Error::Open(format!(
                "cannot read the PostgreSQL CA file {}: {e}",
                p.display()
            ))
        })?),
        None => None,
    };
    let tls = crate::tls::client_config(pem.as_deref(), verify)
        .map_err(|e| Error::Open(format!("PostgreSQL TLS: {e}")))?;
    config.ssl_mode(mode);
    Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(tls)))
}

struct Pooled {
    client: postgres::Client,
    statements: HashMap<String, Prepared>,
}

struct Pool {
    config: postgres::Config,
    /// `None`: `sslmode=disable`.
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    idle: Mutex<Vec<Pooled>>,
    permits: Semaphore,
}

impl Pool {
    fn connect(&self) -> Result<Pooled> {
        let idle = self.idle.lock().map_err(|_| Error::Closed)?.pop();
        if let Some(c) = idle.filter(|c| !c.client.is_closed()) {
            return Ok(c);
        }
        let client = match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(postgres::NoTls),
        }
        .map_err(|e| {
            Error::Database(format!("cannot connect to PostgreSQL: {}", with_causes(&e)))
        })?;
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
    /// Runs `work` on a pooled connection on a blocking thread, within the pool's cap.
    async fn with_conn<R, F>(&self, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Pooled) -> Result<R> + Send + 'static,
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
            let out = work(&mut conn);
            pool.give_back(conn);
            out
        })
        .await
        .map_err(|e| Error::Database(format!("database task failed: {e}")))?
    }

    async fn transaction<R, F>(&self, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R> + Send + 'static,
    {
        self.with_conn(move |conn| {
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
        })
        .await
    }
}

impl Backend for Postgres {
    fn shared(&self) -> bool {
        true
    }

    /// `VACUUM` of the tables: dead row versions are removed from their pages (it
    /// cannot run in a transaction, so on a connection of its own).
    async fn scrub(&self, tables: &'static [&'static str]) -> Result<()> {
        self.with_conn(move |conn| {
            conn.client
                .batch_execute(&format!("VACUUM {}", tables.join(", ")))
                .map_err(Error::from)
        })
        .await
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_keys_are_taken_out_of_the_url() {
        let (url, ssl) = ssl_settings(
            "postgres://u@db:5432/x?sslmode=verify-full&application_name=r&sslrootcert=%2Fetc%2Fca.pem",
        )
        .unwrap();
        assert_eq!(url, "postgres://u@db:5432/x?application_name=r");
        assert_eq!(ssl.mode, "verify-full");
        assert_eq!(ssl.root_cert, Some("/etc/ca.pem".into()));
        let (url, ssl) = ssl_settings("postgres://u@db/x").unwrap();
        assert_eq!(
            (url.as_str(), ssl.mode.as_str()),
            ("postgres://u@db/x", "prefer")
        );
    }

    #[test]
    fn an_unknown_sslmode_is_named() {
        let (url, ssl) = ssl_settings("postgres://u@db/x?sslmode=maybe").unwrap();
        let mut config = postgres::Config::from_str(&url).unwrap();
        let err = connector(&mut config, &ssl, None)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("\"maybe\"") && err.contains("verify-full"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let (url, ssl) =
            ssl_settings("postgres://u@db/x?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem")
                .unwrap();
        let mut config = postgres::Config::from_str(&url).unwrap();
        let err = connector(&mut config, &ssl, None)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    }
}
