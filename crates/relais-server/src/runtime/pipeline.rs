//! The hot path: an inbound message waits for its lane, is committed with everything
//! the bot decided in one transaction, and only then is the caller answered.

use super::Runtime;
use crate::metrics::Metrics;
use crate::redact::mask;
use relais_store::{Committed, Inbound, Ingested, Lane};
use std::time::Instant;

impl Runtime {
    /// Processes one inbound message. `received_at` is set here, once the lane is held,
    /// so a conversation's messages carry increasing times.
    pub async fn receive(&self, mut inbound: Inbound) -> Result<Ingested, relais_store::Error> {
        let started = Instant::now();
        let lane = Lane {
            channel: inbound.channel.clone(),
            address: inbound.address.clone(),
        };
        let guard = self.lanes.lock(lane).await;
        inbound.received_at = self.clock.now();
        self.mask_inbound(&mut inbound);
        self.encode_ahead(&inbound);
        let channel = inbound.channel.clone();
        let address = mask(&inbound.address);
        let in_band = inbound.replies_in_band;
        let mut result = self.store.ingest(inbound, self.handler.clone()).await;
        if let Ok(done) = &mut result
            && let Err(e) = self.after_commit(done, in_band).await
        {
            result = Err(e);
        }
        drop(guard);
        match &result {
            Ok(done) => {
                if done.duplicate {
                    Metrics::inc(&self.metrics.inbound_duplicates);
                    tracing::info!(%channel, conversation = %done.conversation, message = %done.message, "duplicate inbound message");
                } else {
                    Metrics::inc(&self.metrics.inbound);
                    tracing::debug!(%channel, %address, conversation = %done.conversation, message = %done.message, replies = done.replies.len(), "inbound message committed");
                }
                self.metrics.observe_pipeline(started.elapsed());
            }
            Err(e) => {
                Metrics::inc(&self.metrics.pipeline_errors);
                tracing::error!(%channel, %address, error = %e, "inbound message failed to commit");
            }
        }
        result
    }
}

impl Runtime {
    /// When the workspace understands messages, the message's sentence vector is
    /// computed here, on this request's task, into the recent-vectors map the bot's step
    /// reads: the encoder never runs inside the single writer's batch.
    fn encode_ahead(&self, inbound: &Inbound) {
        if inbound.button.is_some() || inbound.text.trim().is_empty() {
            return;
        }
        let Some(flows) = self.flows.as_ref() else {
            return;
        };
        let loaded = flows.loaded();
        if let Some(u) = &loaded.understanding
            && u.wants_vector(&loaded.ws, &inbound.text)
        {
            u.recent_vector(&inbound.text);
        }
    }

    /// `[privacy] mask`: card numbers and IBANs leave the message before the bot or the
    /// store see it, so no transcript, event, variable, export or webhook holds them.
    fn mask_inbound(&self, inbound: &mut Inbound) {
        let kinds = &self.settings.mask;
        if kinds.is_empty() {
            return;
        }
        if let std::borrow::Cow::Owned(t) = relais_core::privacy::mask(&inbound.text, kinds) {
            inbound.text = t;
        }
        if let Some(p) = &mut inbound.payload {
            relais_core::privacy::mask_json(p, kinds);
        }
    }

    /// What follows every commit, written once: the `http` call the bot asked for runs
    /// now, outside any transaction, while the caller still holds the conversation's lane
    /// (so its next message waits for the flow to move on); then the new timers go to the
    /// wheel, the outbox wakes if messages were queued, and live streams are told. The
    /// first commit's follow-ups happen even when the call's own commit fails.
    pub async fn after_commit<C: Committed>(
        &self,
        out: &mut C,
        in_band: bool,
    ) -> Result<(), relais_store::Error> {
        let followed = match (out.conversation(), out.take_http()) {
            (Some(conversation), Some(call)) => self
                .follow_http(conversation, call, in_band)
                .await
                .map(|more| out.absorb(more)),
            _ => Ok(()),
        };
        self.timers.add(out.timers());
        if out.queued() {
            self.outbox_wake.notify_one();
        }
        self.poke_feed();
        followed
    }

    /// Runs an `http` call and hands its result back, as long as the bot asks for more.
    pub async fn follow_http(
        &self,
        conversation: relais_core::id::ConversationId,
        call: relais_core::decision::HttpCall,
        in_band: bool,
    ) -> Result<relais_store::Fired, relais_store::Error> {
        let mut total = relais_store::Fired {
            conversation,
            replies: Vec::new(),
            timers: Vec::new(),
            queued: false,
            http: None,
        };
        let mut next = Some(call);
        let mut rounds = 0;
        while let Some(call) = next.take() {
            rounds += 1;
            if rounds > 32 {
                break;
            }
            let result = self.http.run(&call).await;
            let fired = self
                .store
                .resume(
                    conversation,
                    result,
                    in_band,
                    self.clock.now(),
                    self.handler.clone(),
                )
                .await?;
            total.replies.extend(fired.replies);
            total.timers.extend(fired.timers);
            total.queued |= fired.queued;
            next = fired.http;
        }
        Ok(total)
    }
}

impl Runtime {
    /// Starts an `event:NAME` flow for a contact (SPEC §7), in the contact's lane so it
    /// never interleaves with their messages. Replies go through the outbox.
    pub async fn start_proactive(
        &self,
        mut start: relais_store::ProactiveStart,
    ) -> Result<relais_store::ProactiveOutcome, relais_store::Error> {
        let lane = Lane {
            channel: start.channel.clone(),
            address: start.address.clone(),
        };
        let guard = self.lanes.lock(lane).await;
        start.now = self.clock.now();
        let mut out = self
            .store
            .start_proactive(start, self.handler.clone())
            .await?;
        if let relais_store::ProactiveOutcome::Started(s) = &mut out {
            self.after_commit(s, false).await?;
        }
        drop(guard);
        Ok(out)
    }
}
