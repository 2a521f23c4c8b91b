//! WhatsApp Business Cloud API (SPEC §6; wire format in the reference notes §4.1).
//! Inbound: `entry[].changes[].value` with `contacts[]`, `messages[]` and
//! `statuses[]`, signed with `X-Hub-Signature-256` (see [`super::meta::verify`]).
//! Outbound: `POST {api_base}/{phone_number_id}/messages` with the bearer token.

use super::{
    ChannelAdapter, LiveChannel, PayloadError, ProviderEvent, ProviderMessage, ProviderStatus,
    SendError, clip, send_json,
};
use async_trait::async_trait;
use relais_core::Timestamp;
use relais_core::message::DeliveryStatus;
use relais_core::rich::{MediaKind, Shown, numbered, shown};
use relais_store::OutboxItem;
use serde_json::{Value, json};

/// Meta's Graph API, as for Messenger and Instagram.
pub const DEFAULT_API_BASE: &str = super::meta::DEFAULT_API_BASE;
const MAX_BODY: usize = 4096;
const MAX_INTERACTIVE_BODY: usize = 1024;

/// A webhook body → its messages and statuses, in order.
pub fn parse(body: &[u8]) -> Result<Vec<ProviderEvent>, PayloadError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| PayloadError(format!("the body is not JSON: {e}")))?;
    if v.get("object").and_then(Value::as_str) != Some("whatsapp_business_account") {
        return Err(PayloadError(
            "`object` must be \"whatsapp_business_account\"".into(),
        ));
    }
    let entries = v
        .get("entry")
        .and_then(Value::as_array)
        .ok_or_else(|| PayloadError("`entry` must be a list".into()))?;
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let changes = entry
            .get("changes")
            .and_then(Value::as_array)
            .ok_or_else(|| PayloadError(format!("entry[{i}].changes must be a list")))?;
        for change in changes {
            if change.get("field").and_then(Value::as_str) != Some("messages") {
                continue; // account updates and other fields carry no conversation
            }
            let Some(value) = change.get("value") else {
                continue;
            };
            let names: Vec<(&str, &str)> = value
                .get("contacts")
                .and_then(Value::as_array)
                .map(|cs| {
                    cs.iter()
                        .filter_map(|c| {
                            Some((
                                c.get("wa_id")?.as_str()?,
                                c.pointer("/profile/name")?.as_str()?,
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            for m in value
                .get("messages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.push(ProviderEvent::Message(Box::new(message(m, &names)?)));
            }
            for s in value
                .get("statuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(s) = status(s)? {
                    out.push(ProviderEvent::Status(s));
                }
            }
        }
    }
    Ok(out)
}

fn text_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn message(m: &Value, names: &[(&str, &str)]) -> Result<ProviderMessage, PayloadError> {
    let from = text_at(m, "/from")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| PayloadError("a message has no `from`".into()))?;
    let id = text_at(m, "/id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| PayloadError("a message has no `id`".into()))?;
    let kind = text_at(m, "/type").unwrap_or("unknown");
    let mut button = None;
    let mut payload = None;
    let text = match kind {
        "text" => text_at(m, "/text/body").unwrap_or_default().to_owned(),
        "interactive" => {
            let reply = m
                .pointer("/interactive/button_reply")
                .or_else(|| m.pointer("/interactive/list_reply"));
            button = reply.and_then(|r| text_at(r, "/id")).map(str::to_owned);
            reply
                .and_then(|r| text_at(r, "/title"))
                .unwrap_or_default()
                .to_owned()
        }
        // A template's quick reply.
        "button" => {
            button = text_at(m, "/button/payload").map(str::to_owned);
            text_at(m, "/button/text").unwrap_or_default().to_owned()
        }
        "location" => {
            let loc = m.get("location").cloned().unwrap_or(Value::Null);
            let text = [text_at(&loc, "/name"), text_at(&loc, "/address")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            payload = Some(json!({ "type": "location", "location": loc }));
            text
        }
        "image" | "document" | "audio" | "video" | "sticker" => {
            let media = m.get(kind).cloned().unwrap_or(Value::Null);
            payload = Some(json!({
                "type": kind,
                "media_id": media.get("id"),
                "mime_type": media.get("mime_type"),
                "sha256": media.get("sha256"),
                "caption": media.get("caption"),
                "filename": media.get("filename"),
            }));
            text_at(&media, "/caption").unwrap_or_default().to_owned()
        }
        // Reactions, contacts, orders, unsupported…: recorded whole, not lost.
        other => {
            payload = Some(json!({ "type": other, "unsupported": true, "raw": m }));
            String::new()
        }
    };
    Ok(ProviderMessage {
        address: from.to_owned(),
        external_id: id.to_owned(),
        text,
        name: names
            .iter()
            .find(|(wa_id, _)| *wa_id == from)
            .map(|(_, n)| (*n).to_owned()),
        button,
        payload,
        callback_query: None,
        attachments: Vec::new(),
        media: None,
    })
}

fn status(s: &Value) -> Result<Option<ProviderStatus>, PayloadError> {
    let id = text_at(s, "/id").ok_or_else(|| PayloadError("a status has no `id`".into()))?;
    let status = match text_at(s, "/status") {
        Some("sent") => DeliveryStatus::Sent,
        Some("delivered") => DeliveryStatus::Delivered,
        Some("read") => DeliveryStatus::Read,
        Some("failed") => DeliveryStatus::Failed,
        // `deleted`, `warning`…: nothing to move.
        _ => return Ok(None),
    };
    let detail = s.pointer("/errors/0").map(|e| {
        let code = e.get("code").map(ToString::to_string).unwrap_or_default();
        let what = text_at(e, "/message")
            .or_else(|| text_at(e, "/title"))
            .unwrap_or("error");
        format!("WhatsApp error {code}: {what}")
    });
    let at = text_at(s, "/timestamp")
        .and_then(|t| t.parse::<i64>().ok())
        .map(|secs| Timestamp(secs.saturating_mul(1000)));
    Ok(Some(ProviderStatus {
        external_id: id.to_owned(),
        status,
        detail,
        at,
    }))
}

/// The Graph API body for one outbound message. Buttons beyond WhatsApp's limits
/// become a list, and beyond a list's limits numbered text: a message never fails for
/// its shape.
pub fn render(to: &str, item: &OutboxItem) -> Value {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
    });
    let rich = &item.rich;
    let content = if let Some(t) = &rich.template {
        let mut template = json!({ "name": t.name, "language": { "code": t.language } });
        if !t.params.is_empty() {
            let params: Vec<Value> = t
                .params
                .iter()
                .map(|p| json!({ "type": "text", "text": p }))
                .collect();
            template["components"] = json!([{ "type": "body", "parameters": params }]);
        }
        ("template", template)
    } else if let Some(media) = &rich.media {
        let kind = media.kind.as_str();
        let caption = numbered(&item.text, &item.buttons);
        let mut m = json!({ "link": media.url });
        if !caption.is_empty() && media.kind != MediaKind::Audio {
            m["caption"] = json!(clip(&caption, MAX_INTERACTIVE_BODY));
        }
        if let Some(f) = &media.filename
            && media.kind == MediaKind::Document
        {
            m["filename"] = json!(f);
        }
        (kind, m)
    } else if !item.buttons.is_empty() {
        let titles = &item.buttons;
        let id_of = |t: &String| clip(rich.choice_id(t), 200);
        let shape = shown("whatsapp", &item.text, rich, titles);
        if shape == Shown::Buttons {
            let buttons: Vec<Value> = titles
                .iter()
                .map(|t| json!({ "type": "reply", "reply": { "id": id_of(t), "title": t } }))
                .collect();
            (
                "interactive",
                json!({ "type": "button", "body": { "text": item.text }, "action": { "buttons": buttons } }),
            )
        } else if shape == Shown::List {
            let rows: Vec<Value> = titles
                .iter()
                .map(|t| json!({ "id": id_of(t), "title": t }))
                .collect();
            (
                "interactive",
                json!({ "type": "list", "body": { "text": item.text },
                        "action": { "button": "Options", "sections": [{ "title": "Options", "rows": rows }] } }),
            )
        } else {
            text_part(&numbered(&item.text, titles))
        }
    } else {
        text_part(&numbered(&item.text, &item.buttons))
    };
    body["type"] = json!(content.0);
    body[content.0] = content.1;
    body
}

fn text_part(text: &str) -> (&'static str, Value) {
    (
        "text",
        json!({ "body": clip(text, MAX_BODY), "preview_url": false }),
    )
}

pub struct WhatsApp {
    pub(super) client: reqwest::Client,
}

#[async_trait]
impl ChannelAdapter for WhatsApp {
    async fn send(
        &self,
        channel: &LiveChannel,
        item: &OutboxItem,
    ) -> Result<Option<String>, SendError> {
        let token = channel.need_secret("token")?;
        let number = channel.need_setting("phone_number_id")?;
        let url = format!("{}/{number}/messages", channel.api_base(DEFAULT_API_BASE));
        let answer = send_json(
            self.client.post(url).bearer_auth(token),
            &render(&item.address, item),
            "WhatsApp",
        )
        .await?;
        Ok(answer
            .pointer("/messages/0/id")
            .and_then(Value::as_str)
            .map(str::to_owned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_core::id::{ChannelId, ConversationId, MessageId};
    use relais_core::rich::{Choice, Rich};

    fn item(text: &str, buttons: &[&str], rich: Rich) -> OutboxItem {
        OutboxItem {
            message: MessageId(1),
            conversation: ConversationId(1),
            channel: ChannelId("wa".into()),
            address: "33612345678".into(),
            text: text.into(),
            buttons: buttons.iter().map(|b| (*b).to_owned()).collect(),
            rich,
            by_agent: false,
            last_inbound_at: None,
            tag: None,
            attempts: 0,
        }
    }

    #[test]
    fn three_short_buttons_are_reply_buttons_with_their_ids() {
        let rich = Rich {
            choices: vec![
                Choice {
                    id: "track".into(),
                    title: "Track".into(),
                },
                Choice {
                    id: "move".into(),
                    title: "Move".into(),
                },
            ],
            ..Rich::default()
        };
        let b = render("33612345678", &item("Pick", &["Track", "Move"], rich));
        assert_eq!(b["type"], "interactive");
        assert_eq!(b["interactive"]["type"], "button");
        assert_eq!(
            b["interactive"]["action"]["buttons"][1]["reply"]["id"],
            "move"
        );
        assert_eq!(
            b["interactive"]["action"]["buttons"][1]["reply"]["title"],
            "Move"
        );
    }

    #[test]
    fn beyond_the_limits_a_message_degrades_never_fails() {
        let four = render("1", &item("Pick", &["a", "b", "c", "d"], Rich::default()));
        assert_eq!(four["interactive"]["type"], "list");
        assert_eq!(
            four["interactive"]["action"]["sections"][0]["rows"]
                .as_array()
                .unwrap()
                .len(),
            4
        );
        let titles: Vec<String> = (1..=11).map(|i| format!("choice {i}")).collect();
        let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
        let eleven = render("1", &item("Pick", &refs, Rich::default()));
        assert_eq!(eleven["type"], "text");
        assert!(
            eleven["text"]["body"]
                .as_str()
                .unwrap()
                .ends_with("11. choice 11")
        );
        let long = render(
            "1",
            &item(
                "Pick",
                &["a title far longer than twenty-four characters"],
                Rich::default(),
            ),
        );
        assert_eq!(long["type"], "text");
    }

    #[test]
    fn documented_inbound_examples_parse() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages","value":{
          "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"106540352242922"},
          "contacts":[{"profile":{"name":"Kerry Fisher"},"wa_id":"16315551181"}],
          "messages":[
            {"from":"16315551181","id":"wamid.A","timestamp":"1669233778","type":"text","text":{"body":"Hello"}},
            {"from":"16315551181","id":"wamid.B","timestamp":"1669233779","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"track","title":"Track"}}},
            {"from":"16315551181","id":"wamid.C","timestamp":"1669233780","type":"image","image":{"id":"MEDIA1","mime_type":"image/jpeg","sha256":"x","caption":"my parcel"}},
            {"from":"16315551181","id":"wamid.D","timestamp":"1669233781","type":"reaction","reaction":{"message_id":"wamid.Z","emoji":"+1"}}
          ],
          "statuses":[{"id":"wamid.OUT","status":"failed","timestamp":"1669233790","recipient_id":"16315551181","errors":[{"code":131047,"title":"Re-engagement message"}]}]
        }}]}]}"#;
        let events = parse(body).unwrap();
        assert_eq!(events.len(), 5);
        let ProviderEvent::Message(m) = &events[1] else {
            panic!()
        };
        assert_eq!(
            (m.text.as_str(), m.button.as_deref()),
            ("Track", Some("track"))
        );
        assert_eq!(m.name.as_deref(), Some("Kerry Fisher"));
        let ProviderEvent::Message(m) = &events[2] else {
            panic!()
        };
        assert_eq!(m.text, "my parcel");
        assert_eq!(m.payload.as_ref().unwrap()["media_id"], "MEDIA1");
        let ProviderEvent::Message(m) = &events[3] else {
            panic!()
        };
        assert_eq!(m.payload.as_ref().unwrap()["type"], "reaction");
        let ProviderEvent::Status(s) = &events[4] else {
            panic!()
        };
        assert_eq!(s.status, DeliveryStatus::Failed);
        assert!(s.detail.as_deref().unwrap().contains("131047"));
        assert_eq!(s.at, Some(Timestamp(1_669_233_790_000)));
    }

    #[test]
    fn malformed_bodies_are_refused_with_a_reason() {
        for body in [&b"not json"[..], br#"{"object":"page","entry":[]}"#, br#"{"object":"whatsapp_business_account"}"#,
                     br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"x"}]}}]}]}"#] {
            assert!(parse(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }
}
