//! `SqlStore<B>`: the [`Store`] implementation shared by both databases. A backend
//! only knows how to run a closure inside a write transaction or a read snapshot.

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

#[async_trait]
impl<B: Backend> Pipeline for SqlStore<B> {
    async fn ingest(
        &self,
        inbound: Inbound,
        handler: Arc<dyn ConversationHandler>,
    ) -> Result<Ingested> {
        let inbound = Arc::new(inbound);
        let again = inbound.clone();
        // The bot's step on a snapshot, so that the single writer only writes.
        let prepared = if self.backend.steps_before_batch() && handler.decides_on_snapshot() {
            let (inbound, handler) = (inbound.clone(), handler.clone());
            // A failed read only means the step runs in the batch.
            self.backend
                .read_inline(move |c| {
                    snapshot::prepare(&mut Tx::new(c), &inbound, handler.as_ref())
                })
                .await
                .unwrap_or(None)
        } else {
            None
        };
        match self
            .write({
                let life = self.life();
                move |tx| usecase::ingest(tx, &inbound, handler.as_ref(), &life, prepared.as_ref())
            })
            .await
        {
            // The unique index refused the message and the transaction rolled back:
            // answer with what the original delivery produced.
            Err(Error::DuplicateInbound) => {
                self.read(move |tx| usecase::duplicate(tx, &again)).await
            }
            other => other,
        }
    }

    async fn fire_timer(
        &self,
        timer: TimerId,
        now: Timestamp,
        handler: Arc<dyn ConversationHandler>,
    ) -> Result<Option<Fired>> {
        let life = self.life();
        self.write(move |tx| usecase::fire_timer(tx, timer, now, handler.as_ref(), &life))
            .await
    }

    async fn resume(
        &self,
        conversation: ConversationId,
        result: relais_core::decision::HttpResult,
        in_band: bool,
        now: Timestamp,
        handler: Arc<dyn ConversationHandler>,
    ) -> Result<Fired> {
        let life = self.life();
        self.write(move |tx| {
            usecase::resume(
                tx,
                conversation,
                &result,
                in_band,
                now,
                handler.as_ref(),
                &life,
            )
        })
        .await
    }

    async fn due_timers(&self, until: Timestamp, limit: u32) -> Result<Vec<DueTimer>> {
        self.read(move |tx| tx.due_timers(until, limit)).await
    }

    async fn claim_outbox(&self, claim: OutboxClaim) -> Result<Vec<OutboxItem>> {
        self.write(move |tx| tx.claim_outbox(&claim)).await
    }

    async fn reroute_outbound(
        &self,
        message: MessageId,
        seen_on: ChannelId,
        to: ChannelId,
        reason: String,
        now: Timestamp,
    ) -> Result<bool> {
        self.write(move |tx| tx.reroute_outbound(message, &seen_on, &to, &reason, now))
            .await
    }

    async fn claim_media(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<MediaJob>> {
        self.write(move |tx| tx.claim_media(now, lease_until, limit))
            .await
    }

    async fn next_media_due(&self) -> Result<Option<Timestamp>> {
        self.read(|tx| tx.next_media_due()).await
    }

    async fn settle_media(&self, id: i64, outcome: MediaOutcome) -> Result<()> {
        self.write(move |tx| tx.settle_media(id, &outcome)).await
    }

    async fn transcript_after(
        &self,
        channel: ChannelId,
        address: String,
        after: MessageId,
        limit: u32,
    ) -> Result<Vec<TranscriptEntry>> {
        self.read(move |tx| tx.transcript_after(&channel, &address, after, limit))
            .await
    }

    async fn set_contact_email(
        &self,
        channel: ChannelId,
        address: String,
        email: String,
        at: Timestamp,
    ) -> Result<bool> {
        self.write(move |tx| tx.set_contact_email(&channel, &address, &email, at))
            .await
    }

    async fn visitor_seen(
        &self,
        channel: ChannelId,
        address: String,
        at: Timestamp,
    ) -> Result<bool> {
        self.write(move |tx| tx.visitor_seen(&channel, &address, at))
            .await
    }

    async fn visitor_seen_at(
        &self,
        channel: ChannelId,
        address: String,
    ) -> Result<Option<Timestamp>> {
        self.read(move |tx| tx.visitor_seen_at(&channel, &address))
            .await
    }

    async fn last_inbound(&self, conversation: ConversationId) -> Result<Option<TranscriptEntry>> {
        self.read(move |tx| tx.last_inbound(conversation)).await
    }

    async fn visitor_saw(
        &self,
        channel: ChannelId,
        address: String,
        up_to: MessageId,
        status: relais_core::message::DeliveryStatus,
        at: Timestamp,
    ) -> Result<u64> {
        self.write(move |tx| tx.visitor_saw(&channel, &address, up_to, status, at))
            .await
    }

    async fn record_read_up_to(
        &self,
        channel: ChannelId,
        address: String,
        watermark: Timestamp,
    ) -> Result<u64> {
        self.write(move |tx| tx.read_up_to(&channel, &address, watermark))
            .await
    }

    async fn record_statuses(&self, reports: Vec<StatusReport>) -> Result<Vec<StatusApplied>> {
        self.write(move |tx| reports.iter().map(|r| tx.apply_status(r)).collect())
            .await
    }
    async fn record_attempt(&self, attempt: Attempt) -> Result<()> {
        self.write(move |tx| usecase::record_attempt(tx, &attempt))
            .await
    }

    async fn defer_outbound(&self, message: MessageId, until: Timestamp) -> Result<()> {
        self.write(move |tx| tx.defer_outbox(message, until)).await
    }

    async fn record_attempts(&self, attempts: Vec<Attempt>) -> Result<()> {
        self.write(move |tx| {
            attempts
                .iter()
                .try_for_each(|a| usecase::record_attempt(tx, a))
        })
        .await
    }

    async fn next_outbox_due(&self, now: Timestamp) -> Result<Option<Timestamp>> {
        self.read(move |tx| tx.next_outbox_due(now)).await
    }

    async fn start_proactive(
        &self,
        start: ProactiveStart,
        handler: Arc<dyn ConversationHandler>,
    ) -> Result<crate::ProactiveOutcome> {
        let life = self.life();
        self.write(move |tx| crate::proactive::start(tx, &start, handler.as_ref(), &life))
            .await
    }

    fn configure(&self, life: Lifecycle) {
        *self.life.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(life);
    }

    async fn route_webhook_events(&self, limit: u32, now: Timestamp) -> Result<usize> {
        self.write(move |tx| crate::webhooks::route(tx, limit, now))
            .await
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<DeliveryJob>> {
        self.write(move |tx| crate::webhooks::claim(tx, now, lease_until, limit))
            .await
    }

    async fn record_delivery(
        &self,
        id: i64,
        outcome: DeliveryOutcome,
        now: Timestamp,
    ) -> Result<()> {
        self.write(move |tx| crate::webhooks::record(tx, id, &outcome, now))
            .await
    }

    async fn next_delivery_due(&self) -> Result<Option<Timestamp>> {
        self.read(crate::webhooks::next_due).await
    }

    async fn last_event_id(&self) -> Result<i64> {
        self.read(|tx| {
            use crate::sql::ConnExt;
            tx.c.query_one("SELECT COALESCE(MAX(id), 0) FROM events", &[])?
                .int(0)
        })
        .await
    }
}

#[async_trait]
impl<B: Backend> Desk for SqlStore<B> {
    async fn conversation(&self, id: ConversationId) -> Result<Option<ConversationView>> {
        self.read(move |tx| {
            let Some((conversation, address)) = tx.conversation(id, false)? else {
                return Ok(None);
            };
            let contact = tx.contact(conversation.contact)?;
            Ok(Some(ConversationView {
                conversation,
                contact,
                address,
            }))
        })
        .await
    }

    async fn conversations(&self, page: Page) -> Result<Vec<ConversationView>> {
        self.read(move |tx| tx.conversations(page)).await
    }

    async fn messages(&self, conversation: ConversationId) -> Result<Vec<Message>> {
        self.read(move |tx| tx.messages(conversation)).await
    }

    async fn events(
        &self,
        conversation: Option<ConversationId>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        self.read(move |tx| tx.events(conversation, after, limit))
            .await
    }

    async fn conversation_media(&self, conversation: ConversationId) -> Result<Vec<MediaInfo>> {
        self.read(move |tx| tx.conversation_media(conversation))
            .await
    }

    async fn media_for(
        &self,
        viewer: Viewer,
        id: i64,
    ) -> Result<Option<(MediaInfo, Option<String>)>> {
        self.read(move |tx| {
            let Some((conv, info, content)) = tx.media_file(id)? else {
                return Ok(None);
            };
            if !crate::desk::visible_to(tx, viewer, conv)? {
                return Ok(None);
            }
            Ok(Some((info, content)))
        })
        .await
    }

    async fn attempts_for(
        &self,
        viewer: Viewer,
        message: MessageId,
    ) -> Result<Option<Vec<AttemptRecord>>> {
        self.read(move |tx| {
            let Some(conv) = tx.conversation_of_message(message)? else {
                return Ok(None);
            };
            if !crate::desk::visible_to(tx, viewer, conv)? {
                return Ok(None);
            }
            tx.attempts(message).map(Some)
        })
        .await
    }

    async fn attempts(&self, message: MessageId) -> Result<Vec<AttemptRecord>> {
        self.read(move |tx| tx.attempts(message)).await
    }

    async fn act(&self, action: DeskAction) -> Result<DeskOutcome> {
        let life = self.life();
        self.write(move |tx| crate::desk::act(tx, &action, &life))
            .await
    }

    async fn set_presence(
        &self,
        agent: AgentId,
        presence: relais_core::agent::Presence,
        now: Timestamp,
    ) -> Result<Rerouted> {
        let life = self.life();
        self.write(move |tx| crate::desk::set_presence(tx, agent, presence, &life, now))
            .await
    }

    async fn desk_list(&self, query: DeskQuery) -> Result<Vec<DeskConversation>> {
        self.read(move |tx| crate::desk::list(tx, &query)).await
    }

    async fn desk_open(
        &self,
        viewer: Viewer,
        id: ConversationId,
    ) -> Result<Option<DeskConversation>> {
        // A write transaction: visibility is checked on the locked row.
        self.write(move |tx| crate::desk::open(tx, viewer, id))
            .await
    }

    async fn record_access(&self, e: AccessEntry) -> Result<()> {
        self.write(move |tx| {
            tx.c.execute(
                "INSERT INTO audit_log (at, agent_id, token_id, action, target, ip, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    e.at.0.into(),
                    e.agent.0.into(),
                    e.token.into(),
                    e.action.as_str().into(),
                    e.target.as_str().into(),
                    e.ip.as_ref().into(),
                    e.detail.as_ref().into(),
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn access_log(&self, after: i64, limit: u32) -> Result<Vec<AccessEntry>> {
        self.read(move |tx| {
            tx.c.query(
                "SELECT id, at, agent_id, token_id, action, target, ip, detail FROM audit_log \
                 WHERE id > $1 ORDER BY id LIMIT $2",
                &[after.into(), i64::from(limit).into()],
            )?
            .iter()
            .map(|r| {
                Ok(AccessEntry {
                    id: r.int("id")?,
                    at: Timestamp(r.int("at")?),
                    agent: AgentId(r.int("agent_id")?),
                    token: r.opt_int("token_id")?,
                    action: r.text("action")?,
                    target: r.text("target")?,
                    ip: r.opt_text("ip")?,
                    detail: r.opt_text("detail")?,
                })
            })
            .collect()
        })
        .await
    }

    async fn report_stories(&self, query: ReportQuery) -> Result<Vec<relais_core::kpi::Story>> {
        self.read(move |tx| crate::facts::report(tx, &query)).await
    }

    async fn fold_stories(&self, limit: u32, now: Timestamp) -> Result<u64> {
        // Read and folded on a snapshot; the writer only saves the rows.
        let Some(fold) = self
            .read(move |tx| crate::facts::prepare(tx, limit, now))
            .await?
        else {
            return Ok(0);
        };
        let fold = Arc::new(fold);
        let theirs = fold.clone();
        let saved = self
            .write(move |tx| crate::facts::commit(tx, &theirs, now))
            .await?;
        Ok(if saved { fold.events } else { 0 })
    }

    async fn desk_peek(
        &self,
        viewer: Viewer,
        id: ConversationId,
    ) -> Result<Option<DeskConversation>> {
        self.read(move |tx| crate::desk::peek(tx, viewer, id)).await
    }

    async fn watch_page(&self, beat: PageBeat) -> Result<Vec<PageWatcher>> {
        self.write(move |tx| crate::desk::watch_page(tx, &beat))
            .await
    }

    async fn leave_page(&self, conversation: ConversationId, agent: AgentId) -> Result<()> {
        self.write(move |tx| crate::desk::leave_page(tx, conversation, agent))
            .await
    }

    async fn desk_counts(&self, viewer: Viewer) -> Result<Vec<(View, i64)>> {
        self.read(move |tx| crate::desk::counts(tx, viewer)).await
    }

    async fn mark_read(
        &self,
        agent: AgentId,
        conversation: ConversationId,
        upto: MessageId,
    ) -> Result<()> {
        self.write(move |tx| crate::desk::mark_read(tx, agent, conversation, upto))
            .await
    }

    async fn set_agent_language(&self, agent: AgentId, language: String) -> Result<bool> {
        self.write(move |tx| {
            Ok(tx.c.execute(
                "UPDATE agents SET language = $1 WHERE id = $2",
                &[language.as_str().into(), agent.0.into()],
            )? > 0)
        })
        .await
    }

    async fn set_agent_role(&self, agent: AgentId, role: relais_core::agent::Role) -> Result<()> {
        use crate::sql::ConnExt;
        self.write(move |tx| {
            let n = tx.c.execute(
                "UPDATE agents SET role = $1 WHERE id = $2",
                &[role.as_str().into(), agent.0.into()],
            )?;
            if n == 0 {
                return Err(Error::NotFound(format!("agent {agent}")));
            }
            // Never without an admin: the change is undone (the transaction fails).
            let admins =
                tx.c.query_one(
                    "SELECT COUNT(*) FROM agents WHERE role = 'admin' AND disabled = 0",
                    &[],
                )?
                .int(0)?;
            if admins == 0 {
                return Err(Error::Conflict(
                    "this is the last active admin: make another admin first".into(),
                ));
            }
            Ok(())
        })
        .await
    }

    async fn csat(&self, id: ConversationId) -> Result<Option<Csat>> {
        self.read(move |tx| tx.csat(id)).await
    }

    async fn agent_teams(&self, agent: AgentId) -> Result<Vec<String>> {
        self.read(move |tx| tx.agent_teams(agent)).await
    }

    async fn touch_agent(
        &self,
        agent: AgentId,
        now: Timestamp,
    ) -> Result<relais_core::agent::Presence> {
        self.write(move |tx| crate::desk::touch(tx, agent, now))
            .await
    }

    async fn idle_agents(&self, before: Timestamp) -> Result<Vec<AgentId>> {
        self.read(move |tx| crate::desk::idle(tx, before)).await
    }

    async fn canned(&self) -> Result<Vec<Canned>> {
        self.read(crate::desk::canned).await
    }

    async fn save_canned(&self, id: Option<i64>, canned: Canned, now: Timestamp) -> Result<Canned> {
        self.write(move |tx| crate::desk::save_canned(tx, id, &canned, now))
            .await
    }

    async fn delete_canned(&self, id: i64) -> Result<bool> {
        self.write(move |tx| crate::desk::delete_canned(tx, id))
            .await
    }

    async fn templates(&self) -> Result<Vec<StoredTemplate>> {
        self.read(crate::desk::templates).await
    }

    async fn save_template(
        &self,
        id: Option<i64>,
        template: StoredTemplate,
        now: Timestamp,
    ) -> Result<StoredTemplate> {
        self.write(move |tx| crate::desk::save_template(tx, id, &template, now))
            .await
    }

    async fn delete_template(&self, id: i64) -> Result<bool> {
        self.write(move |tx| crate::desk::delete_template(tx, id))
            .await
    }

    async fn articles(&self) -> Result<Vec<Article>> {
        self.read(crate::desk::articles).await
    }

    async fn save_article(
        &self,
        id: Option<i64>,
        article: NewArticle,
        now: Timestamp,
    ) -> Result<Article> {
        self.write(move |tx| crate::desk::save_article(tx, id, &article, now))
            .await
    }

    async fn delete_article(&self, id: i64) -> Result<bool> {
        self.write(move |tx| crate::desk::delete_article(tx, id))
            .await
    }

    async fn sync_articles(
        &self,
        files: Vec<ArticleFile>,
        now: Timestamp,
    ) -> Result<(usize, usize)> {
        self.write(move |tx| crate::desk::sync_articles(tx, &files, now))
            .await
    }
}

#[async_trait]
impl<B: Backend> Admin for SqlStore<B> {
    async fn create_channel(&self, channel: NewChannel) -> Result<Channel> {
        self.write(move |tx| {
            tx.insert_channel(&channel)?;
            tx.channels()?
                .into_iter()
                .find(|c| c.id == channel.id)
                .ok_or_else(|| Error::NotFound(format!("channel {}", channel.id)))
        })
        .await
    }

    async fn channels(&self) -> Result<Vec<Channel>> {
        self.read(|tx| tx.channels()).await
    }

    async fn erase_contact(&self, contact: ContactId, now: Timestamp) -> Result<Erasure> {
        let out = self
            .write(move |tx| crate::forget::erase_contact(tx, contact, now))
            .await?;
        self.backend.scrub(crate::forget::TOUCHED).await?;
        Ok(out)
    }

    async fn retention_pass(
        &self,
        cutoff: Timestamp,
        how: Forget,
        limit: u32,
        now: Timestamp,
    ) -> Result<RetentionPass> {
        self.write(move |tx| crate::forget::retention_pass(tx, cutoff, how, limit, now))
            .await
    }

    async fn scrub(&self) -> Result<()> {
        self.backend.scrub(crate::forget::TOUCHED).await
    }

    async fn store_setting(&self, name: &str) -> Result<Option<String>> {
        let name = name.to_owned();
        self.read(move |tx| {
            crate::sql::ConnExt::query_opt(
                tx.c,
                "SELECT value FROM store_settings WHERE name = $1",
                &[name.into()],
            )?
            .map(|r| r.text("value"))
            .transpose()
        })
        .await
    }

    async fn set_store_setting(&self, name: &str, value: &str, now: Timestamp) -> Result<()> {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.write(move |tx| {
            tx.c.execute(
                "INSERT INTO store_settings (name, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET value = $2, updated_at = $3",
                &[name.as_str().into(), value.as_str().into(), now.0.into()],
            )?;
            Ok(())
        })
        .await
    }

    async fn contact_card(&self, id: ContactId) -> Result<ContactCard> {
        self.read(move |tx| tx.contact_card(id)).await
    }

    async fn merge_contacts(
        &self,
        into: ContactId,
        from: ContactId,
        by: AgentId,
        now: Timestamp,
    ) -> Result<ContactCard> {
        self.write(move |tx| {
            tx.merge_contacts(into, from)?;
            tx.admin_event(
                by,
                now,
                serde_json::json!({ "action": "merge_contacts", "into": into, "from": from }),
            )?;
            tx.contact_card(into)
        })
        .await
    }

    async fn add_channel(&self, spec: ChannelSpec, now: Timestamp) -> Result<Channel> {
        self.write(move |tx| {
            tx.insert_configured_channel(&spec, false, now)?;
            tx.channels()?
                .into_iter()
                .find(|c| c.id == spec.id)
                .ok_or_else(|| Error::NotFound(format!("channel {}", spec.id)))
        })
        .await
    }

    async fn sync_channels(&self, specs: Vec<ChannelSpec>, now: Timestamp) -> Result<ChannelSync> {
        self.write(move |tx| tx.sync_channels(&specs, now)).await
    }

    async fn update_channel(&self, spec: ChannelSpec) -> Result<Channel> {
        self.write(move |tx| tx.update_configured_channel(&spec))
            .await
    }

    async fn set_channel_enabled(&self, id: &ChannelId, enabled: bool) -> Result<Channel> {
        let id = id.clone();
        self.write(move |tx| tx.set_channel_enabled(&id, enabled))
            .await
    }

    async fn set_channel_token(&self, id: &ChannelId, token_hash: &str) -> Result<bool> {
        let (id, hash) = (id.clone(), token_hash.to_owned());
        self.write(move |tx| tx.set_channel_token(&id, &hash)).await
    }

    async fn create_agent(&self, agent: NewAgent) -> Result<Agent> {
        self.write(move |tx| tx.insert_agent(&agent)).await
    }

    async fn set_password(&self, agent: AgentId, password_hash: String) -> Result<bool> {
        self.write(move |tx| tx.set_password(agent, &password_hash))
            .await
    }

    async fn agent_by_email(&self, email: &str) -> Result<Option<(Agent, Option<String>)>> {
        let email = email.to_owned();
        self.read(move |tx| tx.agent_by_email(&email)).await
    }

    async fn agents(&self) -> Result<Vec<Agent>> {
        self.read(|tx| tx.agents()).await
    }

    async fn create_token(&self, token: NewToken) -> Result<TokenInfo> {
        self.write(move |tx| {
            if tx.agent(token.agent)?.is_none() {
                return Err(Error::NotFound(format!("agent {}", token.agent)));
            }
            tx.insert_token(&token)
        })
        .await
    }

    async fn token_by_hash(
        &self,
        hash: &str,
        now: Timestamp,
    ) -> Result<Option<(TokenInfo, Agent)>> {
        let hash = hash.to_owned();
        self.read(move |tx| {
            let Some(token) = tx.token_by_hash(&hash, now)? else {
                return Ok(None);
            };
            Ok(tx
                .agent(token.agent)?
                .filter(|a| !a.disabled)
                .map(|a| (token, a)))
        })
        .await
    }

    async fn revoke_token(&self, id: i64, agent: AgentId, now: Timestamp) -> Result<bool> {
        self.write(move |tx| tx.revoke_token(id, agent, now)).await
    }

    async fn tokens(&self, agent: Option<AgentId>, now: Timestamp) -> Result<Vec<TokenInfo>> {
        self.read(move |tx| tx.live_tokens(agent, now)).await
    }

    async fn revoke_any_token(&self, id: i64, now: Timestamp) -> Result<bool> {
        self.write(move |tx| tx.revoke_any_token(id, now)).await
    }

    async fn deactivate_agent(
        &self,
        agent: AgentId,
        by: AgentId,
        now: Timestamp,
    ) -> Result<Rerouted> {
        let life = self.life();
        self.write(move |tx| crate::desk::deactivate(tx, agent, by, &life, now))
            .await
    }

    async fn totp(&self, agent: AgentId) -> Result<Option<Totp>> {
        self.read(move |tx| tx.totp(agent)).await
    }

    async fn change_totp(&self, agent: AgentId, change: TotpChange) -> Result<()> {
        self.write(move |tx| tx.change_totp(agent, &change)).await
    }

    async fn use_second_factor(
        &self,
        agent: AgentId,
        factor: SecondFactor,
        now: Timestamp,
    ) -> Result<bool> {
        self.write(move |tx| tx.use_second_factor(agent, &factor, now))
            .await
    }

    async fn activate_agent(&self, agent: AgentId, by: AgentId, now: Timestamp) -> Result<()> {
        self.write(move |tx| crate::desk::activate(tx, agent, by, now))
            .await
    }

    async fn record_event(&self, event: Event) -> Result<()> {
        self.write(move |tx| tx.insert_event(None, &event)).await
    }

    async fn publish_flows(
        &self,
        sources: Vec<FlowSource>,
        now: Timestamp,
    ) -> Result<Vec<(String, i64)>> {
        self.write(move |tx| crate::versions::publish(tx, &sources, now))
            .await
    }

    async fn flow_versions(&self, with_source: bool) -> Result<Vec<FlowVersion>> {
        self.read(move |tx| tx.flow_versions(with_source)).await
    }

    async fn sync_teams(
        &self,
        teams: Vec<TeamSpec>,
        members: Vec<MemberSpec>,
        now: Timestamp,
    ) -> Result<()> {
        self.write(move |tx| crate::desk::sync_teams(tx, &teams, &members, now))
            .await
    }

    async fn teams(&self) -> Result<Vec<TeamInfo>> {
        self.read(crate::desk::teams).await
    }

    async fn upsert_team(&self, team: TeamSpec, now: Timestamp) -> Result<()> {
        self.write(move |tx| crate::desk::upsert_team(tx, &team, now))
            .await
    }

    async fn set_agent_teams(&self, agent: AgentId, teams: Vec<String>) -> Result<()> {
        self.write(move |tx| crate::desk::set_members_of_agent(tx, agent, &teams))
            .await
    }

    async fn create_webhook(&self, webhook: NewWebhook) -> Result<Webhook> {
        self.write(move |tx| crate::webhooks::create(tx, &webhook))
            .await
    }

    async fn webhooks(&self) -> Result<Vec<Webhook>> {
        self.read(crate::webhooks::list).await
    }

    async fn delete_webhook(&self, id: i64, now: Timestamp) -> Result<bool> {
        self.write(move |tx| crate::webhooks::delete(tx, id, now))
            .await
    }

    async fn deliveries(&self, state: Option<String>, limit: u32) -> Result<Vec<Delivery>> {
        self.read(move |tx| crate::webhooks::deliveries(tx, state.as_deref(), limit))
            .await
    }

    async fn replay_delivery(&self, id: i64, now: Timestamp) -> Result<Delivery> {
        self.write(move |tx| crate::webhooks::replay(tx, id, now))
            .await
    }

    async fn stats(&self) -> Result<Stats> {
        self.read(|tx| tx.stats()).await
    }
}
