//! The hot path: an inbound message waits for its lane, is committed with everything
//! the bot decided in one transaction, and only then is the caller answered.

use super::Runtime;
use crate::metrics::Metrics;
use crate::redact::mask;
use relais_store::{Inbound, Ingested, Lane};
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
        let channel = inbound.channel.clone();
        let address = mask(&inbound.address);
        let in_band = inbound.replies_in_band;
        let mut result = self.store.ingest(inbound, self.handler.clone()).await;
        // `http` steps run now, outside the transaction, still holding the lane so the
        // conversation's next message waits for the flow to move on.
        if let Ok(done) = &mut result
            && let Some(call) = done.http.take()
        {
            match self.follow_http(done.conversation, call, in_band).await {
                Ok(more) => {
                    done.replies.extend(more.replies);
                    done.timers.extend(more.timers);
                    done.queued |= more.queued;
                }
                Err(e) => result = Err(e),
            }
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
                self.timers.add(&done.timers);
                if done.queued {
                    self.outbox_wake.notify_one();
                }
                self.poke_feed();
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
            if let Some(call) = s.http.take() {
                let more = self.follow_http(s.conversation, call, false).await?;
                s.replies.extend(more.replies);
                s.timers.extend(more.timers);
                s.queued |= more.queued;
            }
            self.timers.add(&s.timers);
            if s.queued {
                self.outbox_wake.notify_one();
            }
            self.poke_feed();
        }
        drop(guard);
        Ok(out)
    }
}
