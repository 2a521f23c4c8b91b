//! The media loop: fetches the attachments customers sent from their providers (the
//! rows written with the messages, leased like the outbox, so a fetch cut by a crash is
//! taken up again) and keeps them. Retried with backoff on network errors, 429 and 5xx;
//! failed for good on other refusals, saying why.

use super::Runtime;
use super::outbox::backoff;
use crate::channel::media::{Fetched, fetch};
use base64::Engine;
use relais_core::Duration;
use relais_store::{MediaJob, MediaOutcome};
use std::sync::Arc;
use tokio::sync::watch;

const CLAIM: u32 = 8;
const MAX_ATTEMPTS: i64 = 10;
const POLL: std::time::Duration = std::time::Duration::from_secs(1);

pub async fn run(rt: Arc<Runtime>, mut stop: watch::Receiver<bool>) {
    loop {
        let now = rt.clock.now();
        let jobs = rt
            .store
            .claim_media(now, now.plus(Duration::minutes(5)), CLAIM)
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot claim media to fetch");
                Vec::new()
            });
        let n = jobs.len();
        futures_util::future::join_all(jobs.into_iter().map(|j| one(&rt, j))).await;
        if n as u32 == CLAIM {
            continue;
        }
        let next = rt.store.next_media_due().await.ok().flatten();
        if super::wait_for_work(&rt, next, &rt.media_wake, POLL, &mut stop).await {
            return;
        }
    }
}

async fn one(rt: &Runtime, job: MediaJob) {
    let fetched = match rt.live_channel(&job.channel) {
        None => Fetched::Failed(format!("channel {} does not exist", job.channel)),
        Some(ch) => fetch(&rt.providers.downloads, &ch, &job.provider_ref).await,
    };
    let now = rt.clock.now();
    let outcome = match fetched {
        Fetched::File { bytes, mime_type } => MediaOutcome::Stored {
            size: bytes.len() as i64,
            content_base64: base64::engine::general_purpose::STANDARD.encode(&bytes),
            mime_type,
        },
        Fetched::Retry(detail) if job.attempts + 1 < MAX_ATTEMPTS => {
            let wait = backoff(
                Duration::seconds(2),
                Duration::minutes(10),
                (job.attempts + 1) as u32,
                0.5 + rand::random::<f64>() / 2.0,
            );
            MediaOutcome::Retry {
                at: now.plus(wait),
                detail,
            }
        }
        Fetched::Retry(detail) | Fetched::Failed(detail) => {
            tracing::warn!(media = job.id, %detail, "an attachment could not be fetched");
            MediaOutcome::Failed { detail }
        }
    };
    if let Err(e) = rt.store.settle_media(job.id, outcome).await {
        tracing::error!(media = job.id, error = %e, "cannot record a media fetch");
    }
    rt.poke_feed();
}
