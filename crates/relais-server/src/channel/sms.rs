//! SMS through Twilio's Messages API (reference notes §4.4). Inbound: a form-encoded
//! webhook signed in `X-Twilio-Signature` = base64(HMAC-SHA1(auth token, the public URL
//! of the webhook followed by every POST parameter's name and value, sorted by name));
//! messages carry `MessageSid`, `From`, `To`, `Body`, `NumMedia`, `MediaUrl{N}`; status
//! callbacks carry `MessageSid` and `MessageStatus`. Outbound: `POST
//! {api_base}/2010-04-01/Accounts/{account}/Messages.json` (form, basic auth) with
//! `StatusCallback` pointing back at the webhook. Buttons become numbered text; a long
//! message is split by the carrier into segments, counted here and kept in the journal.

use super::{
    ChannelAdapter, LiveChannel, PayloadError, ProviderEvent, ProviderMessage, ProviderStatus,
    SendError, send_request,
};
use async_trait::async_trait;
use base64::Engine;
use hmac::{Hmac, Mac};
use relais_core::message::DeliveryStatus;
use relais_core::rich::numbered;
use relais_store::OutboxItem;
use serde_json::json;
use sha1::Sha1;

pub const DEFAULT_API_BASE: &str = "https://api.twilio.com";
/// Twilio refuses a body over 1600 characters.
const MAX_BODY: usize = 1600;
/// Most media a message may carry (Twilio: 10).
const MAX_MEDIA: usize = 10;

/// Twilio's signature of a request: base64 HMAC-SHA1 over the URL and the sorted
/// parameters (each name immediately followed by its value).
pub fn signature(token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac =
        <Hmac<Sha1> as Mac>::new_from_slice(token.as_bytes()).expect("HMAC takes any key length");
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `header` is Twilio's signature of this request (constant time).
pub fn verify(token: &str, header: Option<&str>, url: &str, params: &[(String, String)]) -> bool {
    header.is_some_and(|h| {
        super::same_secret(
            h.trim().as_bytes(),
            signature(token, url, params).as_bytes(),
        )
    })
}

/// The form's parameters, in order.
pub fn form(body: &[u8]) -> Result<Vec<(String, String)>, PayloadError> {
    if std::str::from_utf8(body).is_err() {
        return Err(PayloadError("the form is not UTF-8".into()));
    }
    Ok(url::form_urlencoded::parse(body).into_owned().collect())
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A webhook's form → a message, or a delivery status.
pub fn parse(params: &[(String, String)]) -> Result<Vec<ProviderEvent>, PayloadError> {
    let sid = param(params, "MessageSid")
        .or_else(|| param(params, "SmsSid"))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| PayloadError("`MessageSid` is missing".into()))?;
    let status = param(params, "MessageStatus").or_else(|| param(params, "SmsStatus"));
    if let Some(st) = status.filter(|s| *s != "received" && param(params, "Body").is_none()) {
        let status = match st {
            "sent" => DeliveryStatus::Sent,
            "delivered" => DeliveryStatus::Delivered,
            "read" => DeliveryStatus::Read,
            "undelivered" | "failed" | "canceled" => DeliveryStatus::Failed,
            // queued, accepted, scheduled, sending: nothing new to record.
            _ => return Ok(Vec::new()),
        };
        let detail = (status == DeliveryStatus::Failed).then(|| match param(params, "ErrorCode") {
            Some(code) => format!("Twilio {st}, error {code}"),
            None => format!("Twilio {st}"),
        });
        return Ok(vec![ProviderEvent::Status(ProviderStatus {
            external_id: sid.to_owned(),
            status,
            detail,
            at: None,
        })]);
    }
    let from = param(params, "From")
        .filter(|f| !f.is_empty())
        .ok_or_else(|| PayloadError("`From` is missing".into()))?;
    let text = param(params, "Body").unwrap_or_default().to_owned();
    let media_count: usize = param(params, "NumMedia")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
        .min(MAX_MEDIA);
    let media: Vec<serde_json::Value> = (0..media_count)
        .filter_map(|i| {
            let url = param(params, &format!("MediaUrl{i}"))?;
            Some(json!({ "url": url, "mime_type": param(params, &format!("MediaContentType{i}")) }))
        })
        .collect();
    let first = media.first().and_then(|m| {
        let url = m["url"].as_str()?;
        let mime = m["mime_type"].as_str().map(str::to_owned);
        let kind = match mime.as_deref().and_then(|t| t.split('/').next()) {
            Some("image") => "image",
            Some("audio") => "audio",
            Some("video") => "video",
            _ => "document",
        };
        Some(relais_store::InboundMedia {
            kind: kind.into(),
            provider_ref: url.to_owned(),
            mime_type: mime,
            filename: None,
        })
    });
    let payload = (!media.is_empty()).then(|| {
        json!({ "type": first.as_ref().map_or("document", |m| m.kind.as_str()), "media": media })
    });
    Ok(vec![ProviderEvent::Message(Box::new(ProviderMessage {
        address: from.to_owned(),
        external_id: sid.to_owned(),
        text,
        name: None,
        button: None,
        payload,
        callback_query: None,
        attachments: Vec::new(),
        media: first,
    }))])
}

/// How the carrier splits a message: GSM-7 when every character is in the GSM 03.38
/// alphabet (160 per message, 153 per segment of a longer one; the extension characters
/// count twice), else UCS-2 (70, and 67 per segment, counted in UTF-16 units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    pub gsm7: bool,
    /// Septets (GSM-7) or UTF-16 units (UCS-2).
    pub units: usize,
    pub count: usize,
}

const GSM7: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{c}";

pub fn segments(text: &str) -> Segments {
    let septets: Option<usize> = text
        .chars()
        .map(|c| {
            if GSM7.contains(c) {
                Some(1)
            } else if GSM7_EXTENSION.contains(c) {
                Some(2)
            } else {
                None
            }
        })
        .sum();
    let (gsm7, units, single, multi) = match septets {
        Some(n) => (true, n, 160, 153),
        None => (false, text.encode_utf16().count(), 70, 67),
    };
    let count = if units <= single {
        1
    } else {
        units.div_ceil(multi)
    };
    Segments { gsm7, units, count }
}

/// The text as sent: the choices numbered (SMS has no buttons), cut to Twilio's limit.
pub fn body(item: &OutboxItem) -> String {
    let text = if item.buttons.is_empty() {
        item.text.clone()
    } else {
        numbered(&item.text, &item.buttons)
    };
    super::clip(&text, MAX_BODY)
}

pub struct Sms {
    pub client: reqwest::Client,
    /// `[server] public_url`: status callbacks come back to `{public_url}/webhooks/sms/{id}`.
    pub public_url: Option<String>,
}

#[async_trait]
impl ChannelAdapter for Sms {
    async fn send(
        &self,
        channel: &LiveChannel,
        item: &OutboxItem,
    ) -> Result<Option<String>, SendError> {
        let account = channel.need_secret("account")?;
        let token = channel.need_secret("token")?;
        let from = channel.need_setting("from")?;
        let base = channel.api_base(DEFAULT_API_BASE);
        let mut form: Vec<(&str, String)> = vec![
            ("To", item.address.clone()),
            ("From", from.to_owned()),
            ("Body", body(item)),
        ];
        if let Some(m) = &item.rich.media {
            form.push(("MediaUrl", m.url.clone()));
        }
        if let Some(p) = &self.public_url {
            form.push((
                "StatusCallback",
                format!(
                    "{}/webhooks/sms/{}",
                    p.trim_end_matches('/'),
                    channel.row.id
                ),
            ));
        }
        let req = self
            .client
            .post(format!(
                "{base}/2010-04-01/Accounts/{account}/Messages.json"
            ))
            .basic_auth(account, Some(token))
            .form(&form);
        let answer = send_request(req, "Twilio Messages").await?;
        Ok(answer
            .get("sid")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned))
    }

    fn sent_detail(&self, item: &OutboxItem) -> Option<String> {
        let s = segments(&body(item));
        Some(format!(
            "{} segment{} ({}, {} {})",
            s.count,
            if s.count == 1 { "" } else { "s" },
            if s.gsm7 { "GSM-7" } else { "UCS-2" },
            s.units,
            if s.gsm7 { "septets" } else { "UTF-16 units" },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_signature_is_twilios_documented_example() {
        // Twilio's security guide: this URL, these parameters and token give this
        // signature.
        let params = p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let sig = signature("12345", url, &params);
        assert_eq!(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(verify("12345", Some(&sig), url, &params));
        assert!(!verify(
            "12345",
            Some(&sig),
            "https://mycompany.com/other",
            &params
        ));
        assert!(!verify("54321", Some(&sig), url, &params));
        assert!(!verify("12345", None, url, &params));
        let mut tampered = params.clone();
        tampered[2].1 = "9999".into();
        assert!(!verify("12345", Some(&sig), url, &tampered));
    }

    #[test]
    fn messages_and_statuses_are_told_apart() {
        let msg = parse(&p(&[
            ("MessageSid", "SM1"),
            ("SmsStatus", "received"),
            ("From", "+33600000001"),
            ("To", "+33757000000"),
            ("Body", "Bonjour"),
            ("NumMedia", "1"),
            ("MediaUrl0", "https://api.twilio.com/media/ME1"),
            ("MediaContentType0", "image/jpeg"),
        ]))
        .unwrap();
        let ProviderEvent::Message(m) = &msg[0] else {
            panic!("{msg:?}")
        };
        assert_eq!(
            (m.address.as_str(), m.text.as_str()),
            ("+33600000001", "Bonjour")
        );
        assert_eq!(m.external_id, "SM1");
        assert_eq!(m.media.as_ref().unwrap().kind, "image");
        let st = parse(&p(&[
            ("MessageSid", "SM2"),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
        ]))
        .unwrap();
        assert_eq!(
            st,
            vec![ProviderEvent::Status(ProviderStatus {
                external_id: "SM2".into(),
                status: DeliveryStatus::Failed,
                detail: Some("Twilio undelivered, error 30003".into()),
                at: None,
            })]
        );
        assert!(
            parse(&p(&[("MessageSid", "SM3"), ("MessageStatus", "queued")]))
                .unwrap()
                .is_empty()
        );
        assert!(parse(&p(&[("Body", "x"), ("From", "+1")])).is_err());
        assert!(parse(&p(&[("MessageSid", "SM4"), ("Body", "x")])).is_err());
    }

    #[test]
    fn long_messages_count_their_segments_in_gsm7_or_ucs2() {
        let s = |t: &str| {
            let s = segments(t);
            (s.gsm7, s.units, s.count)
        };
        assert_eq!(s(&"a".repeat(160)), (true, 160, 1));
        assert_eq!(s(&"a".repeat(161)), (true, 161, 2));
        assert_eq!(s(&"a".repeat(306)), (true, 306, 2));
        assert_eq!(s(&"a".repeat(307)), (true, 307, 3));
        // é, à, ù are GSM-7; € and [ count twice.
        assert_eq!(s("Votre colis arrive à 14h, merci !"), (true, 33, 1));
        assert_eq!(s(&"€".repeat(80)), (true, 160, 1));
        assert_eq!(s(&"€".repeat(81)), (true, 162, 2));
        // ê or an emoji is not: the whole message is UCS-2.
        assert_eq!(s(&format!("Fenêtre{}", "a".repeat(63))), (false, 70, 1));
        assert_eq!(s(&format!("Fenêtre{}", "a".repeat(64))), (false, 71, 2));
        assert_eq!(s("👍"), (false, 2, 1));
        assert_eq!(
            s(&"ç".repeat(135)).2,
            3,
            "ç (lower case) is not GSM-7: 135 UCS-2 units"
        );
    }
}
