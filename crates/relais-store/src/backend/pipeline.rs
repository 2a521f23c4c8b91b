//! [`Pipeline`] for [`SqlStore`]: messages in, bot steps, timers, outbox, statuses.

use super::*;

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
