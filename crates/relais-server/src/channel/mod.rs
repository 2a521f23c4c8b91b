//! Channel adapters: how an outbound message leaves Relais on one kind of channel.
//! The outbox dispatcher calls [`ChannelAdapter::send`] and classifies the result.

pub mod rest;

use crate::runtime::http::RetryAfter;
use async_trait::async_trait;
use relais_store::{Channel, OutboxItem};

/// How one send ended, in the four classes of the reliability notes.
#[derive(Debug, Clone, PartialEq)]
pub enum SendError {
    /// Not sent; safe to retry (429, 5xx, connection refused). The provider may say when.
    Retryable {
        detail: String,
        retry_after: Option<RetryAfter>,
    },
    /// The request may have reached the provider (timeout after sending): retried, flagged.
    Ambiguous { detail: String },
    /// Never retried (4xx, missing configuration).
    Permanent { detail: String },
}

#[async_trait]
pub trait ChannelAdapter: Send + Sync {
    /// Sends one message; `Ok` carries the provider's message id, if it gives one.
    async fn send(&self, channel: &Channel, item: &OutboxItem)
    -> Result<Option<String>, SendError>;
}
