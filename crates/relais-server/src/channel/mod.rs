//! Channel adapters: how a message enters and leaves Relais on one kind of channel.
//! Each provider module has pure functions (verify a signature, parse a webhook into
//! [`ProviderEvent`]s, render an outbound message into the provider's JSON) and a
//! [`ChannelAdapter`] whose `send` the outbox dispatcher calls and classifies.
//! Provider base URLs come from the channel's `api_base`, so tests point them at local
//! servers speaking the documented wire format; the code is the same.

pub mod email;
#[cfg(test)]
mod fuzz;
pub mod media;
pub mod meta;
pub mod rest;
pub mod sms;
pub mod telegram;
pub mod webchat;
pub mod whatsapp;

use crate::runtime::http::RetryAfter;
use async_trait::async_trait;
use relais_core::Timestamp;
use relais_core::message::DeliveryStatus;
use relais_store::{Channel, OutboxItem};
use std::collections::HashMap;

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
    async fn send(
        &self,
        channel: &LiveChannel,
        item: &OutboxItem,
    ) -> Result<Option<String>, SendError>;

    /// What to journal with a successful send (an SMS's segments), if anything.
    fn sent_detail(&self, _item: &OutboxItem) -> Option<String> {
        None
    }
}

/// A channel as the runtime holds it: its row and its secrets (from `[secrets]`,
/// never stored in the database).
pub struct LiveChannel {
    pub row: Channel,
    secrets: HashMap<String, String>,
}

impl LiveChannel {
    pub fn new(row: Channel, secrets: HashMap<String, String>) -> Self {
        LiveChannel { row, secrets }
    }

    pub fn secret(&self, role: &str) -> Option<&str> {
        self.secrets.get(role).map(String::as_str)
    }

    /// A secret the send cannot do without.
    pub fn need_secret(&self, role: &str) -> Result<&str, SendError> {
        self.secret(role).ok_or_else(|| SendError::Permanent {
            detail: format!(
                "channel {} has no `{role}` secret (channels.yaml `secrets`)",
                self.row.id
            ),
        })
    }

    /// A setting the send cannot do without.
    pub fn need_setting(&self, key: &str) -> Result<&str, SendError> {
        self.row.setting(key).ok_or_else(|| SendError::Permanent {
            detail: format!("channel {} has no `{key}` setting", self.row.id),
        })
    }

    /// The provider's base URL: the `api_base` setting, else the documented default.
    pub fn api_base(&self, default: &str) -> String {
        self.row
            .setting("api_base")
            .unwrap_or(default)
            .trim_end_matches('/')
            .to_owned()
    }

    /// Messages per second this channel may send: the `rate` setting, else the
    /// provider's documented default; `None`: unpaced.
    pub fn rate(&self) -> Option<f64> {
        self.row
            .settings
            .get("rate")
            .and_then(serde_json::Value::as_f64)
            .or(match self.row.kind.as_str() {
                // Cloud API: 80 messages/s per business number by default.
                "whatsapp" => Some(80.0),
                "messenger" | "instagram" => Some(40.0),
                // Bot API: about 30 messages/s in bulk.
                "telegram" => Some(30.0),
                // A Twilio long code sends 1 message/s.
                "sms" => Some(1.0),
                "email" => Some(10.0),
                _ => None,
            })
            .filter(|r| *r > 0.0)
    }
}

/// What a provider's webhook says.
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderEvent {
    Message(Box<ProviderMessage>),
    Status(ProviderStatus),
    /// Messenger/Instagram `read`: every message to `address` sent up to `watermark`
    /// (the provider's clock, Unix ms) has been read.
    ReadUpTo {
        address: String,
        watermark: Timestamp,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProviderMessage {
    /// The sender's address on the channel (wa_id, PSID, Telegram chat id).
    pub address: String,
    /// The de-duplication key (wamid, mid, Telegram `update_id`).
    pub external_id: String,
    pub text: String,
    pub name: Option<String>,
    /// The id of a tapped button or list row.
    pub button: Option<String>,
    /// The provider's type and what the message carries besides text (media ids,
    /// caption, location…); unsupported types are recorded here, not lost.
    pub payload: Option<serde_json::Value>,
    /// Telegram: the callback query to answer once the tap is recorded.
    pub callback_query: Option<String>,
    /// An attachment to fetch from the provider before its URL expires.
    pub media: Option<relais_store::InboundMedia>,
    /// Attachments that came inside the message (an email's), kept with it.
    pub attachments: Vec<relais_store::Attachment>,
}

/// The attachment a parsed payload names (`type` and `media_id` or `url`).
pub(crate) fn media_of(payload: Option<&serde_json::Value>) -> Option<relais_store::InboundMedia> {
    let p = payload?;
    let kind = p.get("type")?.as_str()?;
    if !matches!(
        kind,
        "image" | "document" | "audio" | "video" | "sticker" | "voice" | "file"
    ) {
        return None;
    }
    let text = |k: &str| {
        p.get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let provider_ref = text("media_id").or_else(|| {
        p.pointer("/attachments/0/payload/url")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    })?;
    (!provider_ref.is_empty() && provider_ref.len() <= 2048).then(|| relais_store::InboundMedia {
        kind: kind.to_owned(),
        provider_ref,
        mime_type: text("mime_type"),
        filename: text("filename"),
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProviderStatus {
    pub external_id: String,
    pub status: DeliveryStatus,
    pub detail: Option<String>,
    pub at: Option<Timestamp>,
}

/// Why a webhook body was refused (answered 400, nothing stored).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct PayloadError(pub String);

/// The outbound adapters of the providers, sharing one client.
pub struct Providers {
    /// For fetching media: no redirects refused (download URLs may redirect).
    pub downloads: reqwest::Client,
    whatsapp: whatsapp::WhatsApp,
    meta: meta::Meta,
    telegram: telegram::Telegram,
    sms: sms::Sms,
    email: email::Email,
    webchat: webchat::WebchatAdapter,
}

impl Providers {
    /// `public_url`: where providers reach this server (Twilio's status callbacks).
    /// `store`: the email adapter reads the thread a reply continues.
    pub fn new(
        tls: &crate::tls::ClientTls,
        public_url: Option<String>,
        store: std::sync::Arc<dyn relais_store::Store>,
        visitors: std::sync::Arc<webchat::Presence>,
        extra_ca_pem: Option<Vec<u8>>,
    ) -> Providers {
        let client = crate::tls::client_builder(tls)
            .timeout(std::time::Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|_| crate::tls::client());
        let downloads = crate::tls::client_builder(tls)
            .timeout(std::time::Duration::from_secs(120))
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .unwrap_or_else(|_| crate::tls::client());
        Providers {
            downloads,
            whatsapp: whatsapp::WhatsApp {
                client: client.clone(),
            },
            meta: meta::Meta {
                client: client.clone(),
            },
            sms: sms::Sms {
                client: client.clone(),
                public_url,
            },
            telegram: telegram::Telegram { client },
            email: email::Email::new(store.clone(), extra_ca_pem),
            webchat: webchat::WebchatAdapter {
                store,
                presence: visitors,
            },
        }
    }

    pub fn adapter(&self, kind: &str) -> Option<&dyn ChannelAdapter> {
        match kind {
            "whatsapp" => Some(&self.whatsapp),
            "messenger" | "instagram" => Some(&self.meta),
            "telegram" => Some(&self.telegram),
            "sms" => Some(&self.sms),
            "email" => Some(&self.email),
            "webchat" => Some(&self.webchat),
            _ => None,
        }
    }

    pub fn telegram(&self) -> &telegram::Telegram {
        &self.telegram
    }
}

/// Sends a JSON request and sorts the answer into the outbox's classes: 2xx → the
/// body; 429, 408 and 5xx → retry (with `Retry-After`); other 4xx → permanent, with
/// the provider's error text; a timeout → ambiguous; a refused connection → retry.
pub(crate) async fn send_json(
    req: reqwest::RequestBuilder,
    body: &serde_json::Value,
    what: &str,
) -> Result<serde_json::Value, SendError> {
    send_request(req.json(body), what).await
}

/// [`send_json`] for a request whose body is already set (a form).
pub(crate) async fn send_request(
    req: reqwest::RequestBuilder,
    what: &str,
) -> Result<serde_json::Value, SendError> {
    let response = match req.send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return Err(SendError::Ambiguous {
                detail: format!("{what} timed out"),
            });
        }
        Err(e) if e.is_connect() => {
            return Err(SendError::Retryable {
                detail: format!("{what}: connection failed"),
                retry_after: None,
            });
        }
        Err(e) => {
            return Err(SendError::Ambiguous {
                detail: format!("{what} failed: {e}"),
            });
        }
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(RetryAfter::parse);
    let text = response.text().await.unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    if status.is_success() {
        return Ok(json);
    }
    let mut detail = format!("{what} answered {status}");
    let provider_error = json
        .pointer("/error/message")
        .or_else(|| json.get("description"))
        .or_else(|| json.get("message"))
        .and_then(serde_json::Value::as_str);
    if let Some(m) = provider_error {
        detail.push_str(": ");
        detail.extend(m.chars().take(300));
    }
    // Telegram says how long to wait in the body.
    let retry_after = retry_after.or_else(|| {
        json.pointer("/parameters/retry_after")
            .and_then(serde_json::Value::as_i64)
            .map(|s| RetryAfter::Wait(relais_core::Duration::seconds(s.clamp(0, 86_400))))
    });
    let code = status.as_u16();
    if code == 429 || code == 408 || status.is_server_error() {
        Err(SendError::Retryable {
            detail,
            retry_after,
        })
    } else {
        Err(SendError::Permanent { detail })
    }
}

/// Titles cut to `max` characters (providers refuse longer ones).
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Constant-time comparison of two secrets.
pub(crate) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
