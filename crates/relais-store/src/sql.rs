//! The one SQL layer both databases share: values ([`Val`]), rows, and the [`Conn`]
//! trait each backend implements with its driver. Queries are written once, with
//! `$1…$n` placeholders numbered in order of first use (SQLite binds them by position),
//! using the portable subset: `ON CONFLICT`, `RETURNING`, integers for instants and
//! booleans, JSON as text.

use crate::{Error, Result};
use std::sync::Arc;

/// A value bound to or read from SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Text(String),
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Val::Int(i64::from(v))
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_owned())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Val::Text(v.clone())
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Self {
        v.map_or(Val::Null, Into::into)
    }
}

/// A result row. Columns are read by name (`r.int("id")`), which is how row mappers
/// read them, or by position where a query is its own single use.
#[derive(Debug)]
pub struct Row {
    vals: Vec<Val>,
    /// The query's column names, shared by its rows.
    names: Arc<[String]>,
}

/// A column of a [`Row`]: its name, or its position.
pub trait Col: Copy + std::fmt::Debug {
    fn index(self, row: &Row) -> Result<usize>;
}

impl Col for usize {
    fn index(self, _: &Row) -> Result<usize> {
        Ok(self)
    }
}

impl Col for &str {
    fn index(self, row: &Row) -> Result<usize> {
        row.names
            .iter()
            .position(|n| n == self)
            .ok_or_else(|| Error::Corrupt(format!("the row has no column {self:?}")))
    }
}

impl Row {
    pub fn new(vals: Vec<Val>, names: Arc<[String]>) -> Row {
        Row { vals, names }
    }

    fn at(&self, c: impl Col) -> Result<&Val> {
        self.vals
            .get(c.index(self)?)
            .ok_or_else(|| Error::Corrupt(format!("row has no column {c:?}")))
    }

    pub fn int(&self, c: impl Col) -> Result<i64> {
        match self.at(c)? {
            Val::Int(v) => Ok(*v),
            other => Err(Error::Corrupt(format!(
                "column {c:?}: expected an integer, found {other:?}"
            ))),
        }
    }

    pub fn opt_int(&self, c: impl Col) -> Result<Option<i64>> {
        match self.at(c)? {
            Val::Null => Ok(None),
            _ => self.int(c).map(Some),
        }
    }

    pub fn text(&self, c: impl Col) -> Result<String> {
        match self.at(c)? {
            Val::Text(v) => Ok(v.clone()),
            other => Err(Error::Corrupt(format!(
                "column {c:?}: expected text, found {other:?}"
            ))),
        }
    }

    pub fn opt_text(&self, c: impl Col) -> Result<Option<String>> {
        match self.at(c)? {
            Val::Null => Ok(None),
            _ => self.text(c).map(Some),
        }
    }

    /// Text without a copy (`None` for NULL).
    pub fn opt_str(&self, c: impl Col) -> Result<Option<&str>> {
        match self.at(c)? {
            Val::Null => Ok(None),
            Val::Text(v) => Ok(Some(v)),
            other => Err(Error::Corrupt(format!(
                "column {c:?}: expected text, found {other:?}"
            ))),
        }
    }

    pub fn json(&self, c: impl Col) -> Result<serde_json::Value> {
        Ok(serde_json::from_str(&self.text(c)?)?)
    }
}

/// Which database a query runs on, for the few places where SQL differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Row lock suffix: PostgreSQL locks the row; SQLite's single writer needs none.
    pub fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// Locks only the rows of `table` (an alias) in a join.
    pub fn for_update_of(self, table: &str) -> String {
        match self {
            Dialect::Sqlite => String::new(),
            Dialect::Postgres => format!(" FOR UPDATE OF {table}"),
        }
    }
}

/// A connection inside an open transaction.
pub trait Conn {
    fn dialect(&self) -> Dialect;
    /// Runs a statement; returns the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64>;
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>>;
    /// Runs an `INSERT` into a table with an `id` key, written WITHOUT `RETURNING`:
    /// the new row's id, or `None` when `ON CONFLICT … DO NOTHING` skipped the row.
    /// (SQLite implements `RETURNING` with a temporary table; its last rowid is free.)
    fn insert(&mut self, sql: &str, params: &[Val]) -> Result<Option<i64>>;
    /// Runs several statements without parameters (migrations).
    fn batch(&mut self, sql: &str) -> Result<()>;
}

/// Query helpers every [`Conn`] gets.
pub trait ConnExt: Conn {
    fn query_opt(&mut self, sql: &str, params: &[Val]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
    fn query_one(&mut self, sql: &str, params: &[Val]) -> Result<Row> {
        self.query_opt(sql, params)?
            .ok_or_else(|| Error::Database("a query that returns one row returned none".into()))
    }
}

impl<C: Conn + ?Sized> ConnExt for C {}
