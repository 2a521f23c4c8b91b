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
        let result = self.store.ingest(inbound, self.handler.clone()).await;
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
