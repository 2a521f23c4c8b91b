//! `SqlStore<B>`: the [`Store`] implementation shared by both databases. A backend
//! only knows how to run a closure inside a write transaction or a read snapshot.
//! The three traits' forwarding lives by caller: `pipeline.rs`, `desk.rs`, `admin.rs`.

use crate::model::*;
use crate::sql::Conn;
use crate::tx::Tx;
use crate::{Admin, Desk, Error, Pipeline, Result, snapshot, usecase};
use async_trait::async_trait;
use relais_core::event::Event;
use relais_core::id::{AgentId, ChannelId, ContactId, ConversationId, MessageId, TimerId};
use relais_core::lifecycle::Lifecycle;
use relais_core::message::Message;
use relais_core::{ConversationHandler, Timestamp};
use std::future::Future;
use std::sync::{Arc, RwLock};

/// Runs work in a transaction on a database. `Err` from the work rolls it back.
///
/// Write work is `Fn`: a backend may run it again in a fresh transaction (SQLite's
/// group commit does when another transaction of the same batch failed). It must
/// therefore do nothing but database work, and decide the same way each time.
pub trait Backend: Send + Sync + 'static {
    fn write<R, F>(&self, work: F) -> impl Future<Output = Result<R>> + Send
    where
        R: Send + 'static,
        F: Fn(&mut dyn Conn) -> Result<R> + Send + 'static;

    fn read<R, F>(&self, work: F) -> impl Future<Output = Result<R>> + Send
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R> + Send + 'static;

    /// A short read on the caller's thread (no hop to a blocking thread), for the
    /// snapshot a step is taken on. Defaults to [`Backend::read`].
    fn read_inline<R, F>(&self, work: F) -> impl Future<Output = Result<R>> + Send
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R> + Send + 'static,
    {
        self.read(work)
    }

    /// Whether the bot's step should run on a snapshot before the write batch: true
    /// where one thread does every write (SQLite), so it spends its time writing.
    fn steps_before_batch(&self) -> bool {
        false
    }

    /// Whether several server processes may share this database (PostgreSQL): then
    /// what one node keeps in memory (an agent typing) is also relayed through it.
    fn shared(&self) -> bool {
        false
    }

    /// After rows were deleted from `tables`: nothing of them is left in the files.
    fn scrub(&self, tables: &'static [&'static str]) -> impl Future<Output = Result<()>> + Send;
}

/// A [`Store`] over a [`Backend`].
pub struct SqlStore<B> {
    backend: B,
    life: RwLock<Arc<Lifecycle>>,
}

impl<B: Backend> SqlStore<B> {
    pub(crate) fn new(backend: B) -> Self {
        SqlStore {
            backend,
            life: RwLock::new(Arc::new(Lifecycle::default())),
        }
    }

    fn life(&self) -> Arc<Lifecycle> {
        self.life.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) async fn write<R: Send + 'static>(
        &self,
        f: impl Fn(&mut Tx<'_>) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        self.backend.write(move |c| f(&mut Tx::new(c))).await
    }

    pub(crate) async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        self.backend.read(move |c| f(&mut Tx::new(c))).await
    }
}

mod admin;
mod desk;
mod pipeline;
