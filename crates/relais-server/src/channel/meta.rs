//! What Meta's platforms share (WhatsApp, Messenger, Instagram): the GET verification
//! handshake and the `X-Hub-Signature-256` HMAC over the raw body; and the Messenger /
//! Instagram webhook (`entry[].messaging[]`) and Send API (reference notes §4.3).

use super::{
    ChannelAdapter, LiveChannel, PayloadError, ProviderEvent, ProviderMessage, ProviderStatus,
    SendError, clip, send_json,
};
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use relais_core::message::DeliveryStatus;
use relais_core::rich::{Shown, numbered, shown};
use relais_store::OutboxItem;
use serde_json::{Value, json};
use sha2::Sha256;

pub const DEFAULT_API_BASE: &str = "https://graph.facebook.com/v21.0";
const MAX_TEXT: usize = 2000;

/// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, raw body)>`, compared in
/// constant time. Missing, malformed or wrong: false.
pub fn verify(app_secret: &str, header: Option<&str>, body: &[u8]) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig.trim()) else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(app_secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// The header a provider would send for `body` (tests and the bench sign with it).
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(app_secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The GET handshake: the challenge to echo when the mode is `subscribe` and the
/// token matches, else `None` (answered 403).
pub fn challenge<'a>(
    verify_token: &str,
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&'a str>,
) -> Option<&'a str> {
    (mode == Some("subscribe")
        && token.is_some_and(|t| super::same_secret(t.as_bytes(), verify_token.as_bytes())))
    .then_some(challenge)
    .flatten()
}

/// A Messenger or Instagram webhook body → messages and delivery statuses.
pub fn parse(body: &[u8], kind: &str) -> Result<Vec<ProviderEvent>, PayloadError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| PayloadError(format!("the body is not JSON: {e}")))?;
    let object = if kind == "instagram" {
        "instagram"
    } else {
        "page"
    };
    if v.get("object").and_then(Value::as_str) != Some(object) {
        return Err(PayloadError(format!("`object` must be {object:?}")));
    }
    let entries = v
        .get("entry")
        .and_then(Value::as_array)
        .ok_or_else(|| PayloadError("`entry` must be a list".into()))?;
    let mut out = Vec::new();
    for entry in entries {
        for e in entry
            .get("messaging")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            messaging_event(e, &mut out)?;
        }
    }
    Ok(out)
}

/// One `messaging[]` event: a message, a tapped postback button, a read watermark or
/// delivered mids, added to `out` (echoes of our own sends left out).
fn messaging_event(e: &Value, out: &mut Vec<ProviderEvent>) -> Result<(), PayloadError> {
    let sender = e
        .pointer("/sender/id")
        .and_then(|s| {
            s.as_str()
                .map(str::to_owned)
                .or_else(|| s.as_u64().map(|n| n.to_string()))
        })
        .filter(|s| !s.is_empty())
        .ok_or_else(|| PayloadError("a messaging event has no sender.id".into()))?;
    if let Some(m) = e.get("message") {
        if m.get("is_echo").and_then(Value::as_bool) == Some(true) {
            return Ok(()); // our own sends, echoed back
        }
        out.push(ProviderEvent::Message(Box::new(message(&sender, m)?)));
    } else if let Some(p) = e.get("postback") {
        out.push(ProviderEvent::Message(Box::new(postback(sender, e, p)?)));
    } else if let Some(w) = e.pointer("/read/watermark").and_then(Value::as_i64) {
        out.push(ProviderEvent::ReadUpTo {
            address: sender,
            watermark: relais_core::Timestamp(w),
        });
    } else if let Some(d) = e.get("delivery") {
        for mid in d
            .get("mids")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(mid) = mid.as_str() {
                out.push(ProviderEvent::Status(ProviderStatus {
                    external_id: mid.to_owned(),
                    status: DeliveryStatus::Delivered,
                    detail: None,
                    at: None,
                }));
            }
        }
    }
    Ok(())
}

/// A tapped postback button: its title as the text, its payload as the button.
fn postback(sender: String, e: &Value, p: &Value) -> Result<ProviderMessage, PayloadError> {
    let mid = p
        .get("mid")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .or_else(|| e.get("timestamp").map(|t| format!("postback-{sender}-{t}")))
        .ok_or_else(|| PayloadError("a postback has neither mid nor timestamp".into()))?;
    Ok(ProviderMessage {
        address: sender,
        external_id: mid,
        text: p
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        name: None,
        button: p.get("payload").and_then(Value::as_str).map(str::to_owned),
        payload: None,
        callback_query: None,
        attachments: Vec::new(),
        media: None,
    })
}

fn message(sender: &str, m: &Value) -> Result<ProviderMessage, PayloadError> {
    let mid = m
        .get("mid")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| PayloadError("a message has no mid".into()))?;
    let payload = m
        .get("attachments")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .map(|a| {
            let kind = a[0].get("type").and_then(Value::as_str).unwrap_or("file");
            json!({ "type": kind, "attachments": a })
        });
    Ok(ProviderMessage {
        address: sender.to_owned(),
        external_id: mid.to_owned(),
        text: m
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        name: None,
        button: m
            .pointer("/quick_reply/payload")
            .and_then(Value::as_str)
            .map(str::to_owned),
        payload,
        callback_query: None,
        attachments: Vec::new(),
        media: None,
    })
}

/// The Send API body: quick replies for up to 13 short choices, else numbered text;
/// media as an attachment when there is no text to go with it, else a link.
pub fn render(to: &str, item: &OutboxItem, tag: Option<&str>) -> Value {
    let rich = &item.rich;
    let fits = shown("messenger", &item.text, rich, &item.buttons) == Shown::Buttons;
    let message = match &rich.media {
        Some(media) if item.text.is_empty() && item.buttons.is_empty() => json!({
            "attachment": { "type": media.kind.as_str().replace("document", "file"),
                            "payload": { "url": media.url, "is_reusable": true } }
        }),
        _ => {
            let mut text = if fits {
                item.text.clone()
            } else {
                numbered(&item.text, &item.buttons)
            };
            if let Some(media) = &rich.media {
                text = format!("{text}\n{}", media.url);
            }
            let mut m = json!({ "text": clip(&text, MAX_TEXT) });
            if fits && !item.buttons.is_empty() {
                m["quick_replies"] = item
                    .buttons
                    .iter()
                    .map(|t| json!({ "content_type": "text", "title": t, "payload": clip(rich.choice_id(t), 1000) }))
                    .collect();
            }
            m
        }
    };
    let mut body = json!({ "recipient": { "id": to }, "message": message });
    match tag {
        Some(tag) => {
            body["messaging_type"] = json!("MESSAGE_TAG");
            body["tag"] = json!(tag);
        }
        None => body["messaging_type"] = json!("RESPONSE"),
    }
    body
}

pub struct Meta {
    pub(super) client: reqwest::Client,
}

#[async_trait]
impl ChannelAdapter for Meta {
    async fn send(
        &self,
        channel: &LiveChannel,
        item: &OutboxItem,
    ) -> Result<Option<String>, SendError> {
        let token = channel.need_secret("token")?;
        let page = channel.need_setting("page_id")?;
        let url = format!("{}/{page}/messages", channel.api_base(DEFAULT_API_BASE));
        let answer = send_json(
            self.client.post(url).bearer_auth(token),
            &render(&item.address, item, item.tag.as_deref()),
            "the Send API",
        )
        .await?;
        Ok(answer
            .get("message_id")
            .and_then(Value::as_str)
            .map(str::to_owned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_checked_on_the_raw_bytes() {
        let body = br#"{"object":"page"}"#;
        let good = sign("s3cret", body);
        assert!(verify("s3cret", Some(&good), body));
        assert!(!verify("s3cret", Some(&good), br#"{"object": "page"}"#));
        assert!(!verify("other", Some(&good), body));
        assert!(!verify("s3cret", None, body));
        assert!(!verify("s3cret", Some("sha256=zz"), body));
        assert!(!verify(
            "s3cret",
            Some(good.trim_start_matches("sha256=")),
            body
        ));
    }

    #[test]
    fn the_handshake_echoes_only_for_the_right_token() {
        assert_eq!(
            challenge("tok", Some("subscribe"), Some("tok"), Some("123")),
            Some("123")
        );
        assert_eq!(
            challenge("tok", Some("subscribe"), Some("bad"), Some("123")),
            None
        );
        assert_eq!(
            challenge("tok", Some("unsubscribe"), Some("tok"), Some("123")),
            None
        );
        assert_eq!(challenge("tok", None, None, Some("123")), None);
    }

    #[test]
    fn messenger_events_parse_and_echoes_are_skipped() {
        let body = br#"{"object":"page","entry":[{"id":"PAGE","time":1,"messaging":[
          {"sender":{"id":"PSID1"},"recipient":{"id":"PAGE"},"timestamp":1,"message":{"mid":"m1","text":"hi"}},
          {"sender":{"id":"PAGE"},"recipient":{"id":"PSID1"},"timestamp":2,"message":{"mid":"m2","text":"echo","is_echo":true}},
          {"sender":{"id":"PSID1"},"recipient":{"id":"PAGE"},"timestamp":3,"message":{"mid":"m3","text":"Track","quick_reply":{"payload":"track"}}},
          {"sender":{"id":"PSID1"},"recipient":{"id":"PAGE"},"timestamp":4,"postback":{"mid":"m4","title":"Start","payload":"GET_STARTED"}},
          {"sender":{"id":"PSID1"},"recipient":{"id":"PAGE"},"timestamp":5,"delivery":{"mids":["out1"],"watermark":5}},
          {"sender":{"id":"PSID1"},"recipient":{"id":"PAGE"},"timestamp":6,"read":{"watermark":1700000000000}}
        ]}]}"#;
        let e = parse(body, "messenger").unwrap();
        assert_eq!(e.len(), 5);
        assert!(
            matches!(&e[4], ProviderEvent::ReadUpTo { address, watermark } if address == "PSID1" && watermark.0 == 1_700_000_000_000)
        );
        let ProviderEvent::Message(m) = &e[1] else {
            panic!()
        };
        assert_eq!(m.button.as_deref(), Some("track"));
        let ProviderEvent::Message(m) = &e[2] else {
            panic!()
        };
        assert_eq!(
            (m.external_id.as_str(), m.button.as_deref()),
            ("m4", Some("GET_STARTED"))
        );
        assert!(matches!(&e[3], ProviderEvent::Status(s) if s.status == DeliveryStatus::Delivered));
        assert!(
            parse(body, "instagram").is_err(),
            "an Instagram channel takes object=instagram"
        );
    }
}
