//! Telegram Bot API (reference notes §4.2). Inbound: an `Update` per request, with
//! `X-Telegram-Bot-Api-Secret-Token` equal to the channel's `webhook_secret`;
//! de-duplicated by `update_id` (a `message_id` is unique only within its chat).
//! Outbound: `sendMessage` with an inline keyboard, `sendPhoto`/`sendDocument`…;
//! a tapped button is answered with `answerCallbackQuery`.

use super::{
    ChannelAdapter, LiveChannel, PayloadError, ProviderEvent, ProviderMessage, SendError, clip,
    send_json,
};
use async_trait::async_trait;
use relais_core::rich::{MediaKind, Shown, numbered, shown};
use relais_store::OutboxItem;
use serde_json::{Value, json};

pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";
const MAX_TEXT: usize = 4096;
const MAX_CAPTION: usize = 1024;

/// The secret header must equal the channel's `webhook_secret` (constant time).
pub fn verify(webhook_secret: &str, header: Option<&str>) -> bool {
    header.is_some_and(|h| super::same_secret(h.as_bytes(), webhook_secret.as_bytes()))
}

fn id_text(v: Option<&Value>) -> Option<String> {
    let v = v?;
    v.as_i64()
        .map(|n| n.to_string())
        .or_else(|| v.as_str().map(str::to_owned))
        .filter(|s| !s.is_empty())
}

/// One `Update` → at most one message (other update kinds carry none).
pub fn parse(body: &[u8]) -> Result<Vec<ProviderEvent>, PayloadError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| PayloadError(format!("the body is not JSON: {e}")))?;
    let update_id = v
        .get("update_id")
        .and_then(Value::as_i64)
        .ok_or_else(|| PayloadError("`update_id` must be a number".into()))?;
    let external_id = update_id.to_string();
    if let Some(q) = v.get("callback_query") {
        return Ok(vec![tapped(q, external_id)?]);
    }
    let Some(m) = v.get("message").or_else(|| v.get("edited_message")) else {
        return Ok(Vec::new()); // channel posts, polls, member updates…: nothing to answer
    };
    Ok(vec![message(m, external_id)?])
}

/// A tapped inline button (`callback_query`): the button's label as the text, its data
/// as the button, and the query's id to answer.
fn tapped(q: &Value, external_id: String) -> Result<ProviderEvent, PayloadError> {
    let id = q
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| PayloadError("callback_query.id is missing".into()))?;
    let chat = id_text(q.pointer("/message/chat/id"))
        .or_else(|| id_text(q.pointer("/from/id")))
        .ok_or_else(|| PayloadError("callback_query has no chat".into()))?;
    let data = q.get("data").and_then(Value::as_str).unwrap_or_default();
    // The tapped button's label, from the keyboard the message carried.
    let label = q
        .pointer("/message/reply_markup/inline_keyboard")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .find(|b| b.get("callback_data").and_then(Value::as_str) == Some(data))
        .and_then(|b| b.get("text").and_then(Value::as_str))
        .unwrap_or(data);
    Ok(ProviderEvent::Message(Box::new(ProviderMessage {
        address: chat,
        external_id,
        text: label.to_owned(),
        name: q
            .pointer("/from/first_name")
            .and_then(Value::as_str)
            .map(str::to_owned),
        button: Some(data.to_owned()),
        payload: None,
        callback_query: Some(id.to_owned()),
        attachments: Vec::new(),
        media: None,
    })))
}

/// A message (or its edit): its text or caption, the sender's name, and what it carries
/// besides text.
fn message(m: &Value, external_id: String) -> Result<ProviderEvent, PayloadError> {
    let chat = id_text(m.pointer("/chat/id"))
        .ok_or_else(|| PayloadError("message.chat.id is missing".into()))?;
    let name = [
        m.pointer("/from/first_name").and_then(Value::as_str),
        m.pointer("/from/last_name").and_then(Value::as_str),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let payload = media_payload(m);
    let text = m
        .get("text")
        .or_else(|| m.get("caption"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let payload = match (payload, text.is_empty()) {
        (None, true) => Some(json!({ "type": "unsupported", "unsupported": true, "raw": m })),
        (p, _) => p,
    };
    Ok(ProviderEvent::Message(Box::new(ProviderMessage {
        address: chat,
        external_id,
        text,
        name: (!name.is_empty()).then_some(name),
        button: None,
        payload,
        callback_query: None,
        attachments: Vec::new(),
        media: None,
    })))
}

/// What a message carries besides text (photo, document, location…), when it does.
fn media_payload(m: &Value) -> Option<Value> {
    let media = [
        "photo", "document", "audio", "video", "voice", "sticker", "location", "contact",
    ]
    .into_iter()
    .find(|k| m.get(*k).is_some());
    media.map(|kind| {
        let item = &m[kind];
        // Photos come in several sizes: the largest is last.
        let file = if kind == "photo" {
            item.as_array()
                .and_then(|a| a.last())
                .cloned()
                .unwrap_or(Value::Null)
        } else {
            item.clone()
        };
        match kind {
            "location" => json!({ "type": "location", "location": item }),
            "contact" => json!({ "type": "contact", "contact": item }),
            _ => json!({
                "type": if kind == "photo" { "image" } else { kind },
                "media_id": file.get("file_id"),
                "mime_type": file.get("mime_type"),
                "filename": file.get("file_name"),
                "caption": m.get("caption"),
            }),
        }
    })
}

/// The method and body for one outbound message.
pub fn render(chat: &str, item: &OutboxItem) -> (&'static str, Value) {
    let rich = &item.rich;
    let ids: Vec<&str> = item.buttons.iter().map(|t| rich.choice_id(t)).collect();
    let keyboard_fits = shown("telegram", &item.text, rich, &item.buttons) == Shown::Buttons;
    let text = if keyboard_fits {
        item.text.clone()
    } else {
        numbered(&item.text, &item.buttons)
    };
    let chat_id: Value = chat
        .parse::<i64>()
        .map_or_else(|_| json!(chat), |n| json!(n));
    let mut body = json!({ "chat_id": chat_id });
    let method = match &rich.media {
        Some(media) => {
            let (method, field) = match media.kind {
                MediaKind::Image => ("sendPhoto", "photo"),
                MediaKind::Video => ("sendVideo", "video"),
                MediaKind::Audio => ("sendAudio", "audio"),
                MediaKind::Document => ("sendDocument", "document"),
            };
            body[field] = json!(media.url);
            if !text.is_empty() {
                body["caption"] = json!(clip(&text, MAX_CAPTION));
            }
            method
        }
        None => {
            body["text"] = json!(clip(&text, MAX_TEXT));
            "sendMessage"
        }
    };
    if keyboard_fits && !item.buttons.is_empty() {
        let rows: Vec<Value> = item
            .buttons
            .iter()
            .zip(&ids)
            .map(|(t, id)| json!([{ "text": t, "callback_data": id }]))
            .collect();
        body["reply_markup"] = json!({ "inline_keyboard": rows });
    }
    (method, body)
}

pub struct Telegram {
    pub(super) client: reqwest::Client,
}

impl Telegram {
    /// Stops the spinner on a tapped button (best effort: the tap is already recorded).
    pub async fn answer_callback(&self, channel: &LiveChannel, query_id: &str) {
        let Some(token) = channel.secret("bot_token") else {
            return;
        };
        let url = format!(
            "{}/bot{token}/answerCallbackQuery",
            channel.api_base(DEFAULT_API_BASE)
        );
        let body = json!({ "callback_query_id": query_id });
        if let Err(e) = send_json(self.client.post(url), &body, "answerCallbackQuery").await {
            tracing::warn!(channel = %channel.row.id, error = ?e, "cannot answer a Telegram callback query");
        }
    }
}

#[async_trait]
impl ChannelAdapter for Telegram {
    async fn send(
        &self,
        channel: &LiveChannel,
        item: &OutboxItem,
    ) -> Result<Option<String>, SendError> {
        let token = channel.need_secret("bot_token")?;
        let (method, body) = render(&item.address, item);
        let url = format!("{}/bot{token}/{method}", channel.api_base(DEFAULT_API_BASE));
        let answer = send_json(self.client.post(url), &body, "Telegram").await?;
        Ok(answer
            .pointer("/result/message_id")
            .and_then(Value::as_i64)
            .map(|id| format!("{}:{id}", item.address)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_core::id::{ChannelId, ConversationId, MessageId};
    use relais_core::rich::Rich;

    #[test]
    fn updates_parse_by_update_id() {
        let e = parse(br#"{"update_id":10000,"message":{"message_id":1365,"from":{"id":1111,"first_name":"Ada","language_code":"fr"},"chat":{"id":1111,"type":"private"},"date":1441645532,"text":"/start"}}"#).unwrap();
        let ProviderEvent::Message(m) = &e[0] else {
            panic!()
        };
        assert_eq!(
            (m.address.as_str(), m.external_id.as_str(), m.text.as_str()),
            ("1111", "10000", "/start")
        );
        let e = parse(br#"{"update_id":10001,"callback_query":{"id":"4382","from":{"id":1111,"first_name":"Ada"},"message":{"message_id":7,"chat":{"id":1111},"reply_markup":{"inline_keyboard":[[{"text":"Track my order","callback_data":"track"}]]}},"data":"track"}}"#).unwrap();
        let ProviderEvent::Message(m) = &e[0] else {
            panic!()
        };
        assert_eq!(m.text, "Track my order");
        assert_eq!(m.button.as_deref(), Some("track"));
        assert_eq!(m.callback_query.as_deref(), Some("4382"));
        assert!(parse(br#"{"message":{}}"#).is_err());
        assert!(parse(br#"{"update_id":5,"poll":{}}"#).unwrap().is_empty());
    }

    #[test]
    fn buttons_become_an_inline_keyboard_or_numbered_text() {
        let item = |buttons: Vec<String>| OutboxItem {
            message: MessageId(1),
            conversation: ConversationId(1),
            channel: ChannelId("tg".into()),
            address: "1111".into(),
            text: "Pick".into(),
            buttons,
            rich: Rich::default(),
            by_agent: false,
            last_inbound_at: None,
            tag: None,
            attempts: 0,
        };
        let (method, body) = render("1111", &item(vec!["Yes".into(), "No".into()]));
        assert_eq!(method, "sendMessage");
        assert_eq!(body["chat_id"], 1111);
        assert_eq!(
            body["reply_markup"]["inline_keyboard"][1][0]["callback_data"],
            "No"
        );
        let long = "x".repeat(65);
        let (_, body) = render("1111", &item(vec![long]));
        assert!(body.get("reply_markup").is_none());
        assert!(body["text"].as_str().unwrap().contains("1. xxx"));
    }
}
