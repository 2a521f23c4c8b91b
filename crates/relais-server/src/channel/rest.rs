//! The REST channel (SPEC §6). Inbound is `POST /api/v1/channels/{id}/converse` (see
//! `http::converse`); replies to a message travel back in that response. Messages
//! produced later (timers, agents) are pushed to the channel's `callback_url` as JSON,
//! signed with HMAC-SHA256 over `timestamp.body` in `X-Relais-Signature`.

use super::{ChannelAdapter, LiveChannel, SendError};
use crate::runtime::http::RetryAfter;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use relais_core::Duration;
use relais_store::OutboxItem;
use serde_json::json;
use sha2::Sha256;

pub struct RestAdapter {
    client: reqwest::Client,
}

impl RestAdapter {
    pub fn new(timeout: Duration, tls: &crate::tls::ClientTls) -> Self {
        let client = crate::tls::client_builder(tls)
            .timeout(std::time::Duration::from_millis(timeout.0.max(1) as u64))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        RestAdapter { client }
    }
}

/// `sha256=<hex>` of HMAC-SHA256(secret, "{timestamp}.{body}").
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[async_trait]
impl ChannelAdapter for RestAdapter {
    async fn send(
        &self,
        channel: &LiveChannel,
        item: &OutboxItem,
    ) -> Result<Option<String>, SendError> {
        let channel = &channel.row;
        let Some(url) = &channel.callback_url else {
            return Err(SendError::Permanent {
                detail: format!(
                    "channel {} has no callback_url, so messages sent outside a converse call cannot be delivered",
                    channel.id
                ),
            });
        };
        let body = json!({
            "message_id": item.message,
            "conversation_id": item.conversation,
            "recipient": item.address,
            "text": item.text,
            "buttons": item.buttons,
        })
        .to_string();
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mut req = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("x-relais-delivery", item.message.to_string())
            .header("x-relais-timestamp", timestamp.to_string());
        if let Some(secret) = &channel.callback_secret {
            req = req.header(
                "x-relais-signature",
                sign(secret, timestamp, body.as_bytes()),
            );
        }
        let response = match req.body(body).send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return Err(SendError::Ambiguous {
                    detail: "callback timed out".into(),
                });
            }
            Err(e) if e.is_connect() => {
                return Err(SendError::Retryable {
                    detail: "callback connection failed".into(),
                    retry_after: None,
                });
            }
            Err(e) => {
                return Err(SendError::Ambiguous {
                    detail: format!("callback request failed: {e}"),
                });
            }
        };
        let status = response.status();
        if status.is_success() {
            return Ok(None);
        }
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(RetryAfter::parse);
        let detail = format!("callback answered {status}");
        if status.as_u16() == 429 || status.is_server_error() || status.as_u16() == 408 {
            Err(SendError::Retryable {
                detail,
                retry_after,
            })
        } else {
            Err(SendError::Permanent { detail })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_covers_timestamp_and_body() {
        let a = sign("k", 1, b"{}");
        assert!(a.starts_with("sha256=") && a.len() == 7 + 64);
        assert_ne!(a, sign("k", 2, b"{}"));
        assert_ne!(a, sign("k", 1, b"{ }"));
        assert_ne!(a, sign("j", 1, b"{}"));
    }
}
