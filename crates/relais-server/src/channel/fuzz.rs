//! Property tests for every provider payload parser (a proptest corpus, run in CI):
//! arbitrary bytes, arbitrary JSON, and the documented examples with any part replaced
//! by arbitrary JSON never panic; what parses keeps its invariants (every message has
//! a sender and an id).

use super::{ProviderEvent, email, meta, sms, telegram, whatsapp};
use proptest::prelude::*;
use serde_json::{Value, json};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn examples() -> Vec<(&'static str, Value)> {
    vec![
        (
            "whatsapp",
            json!({"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages","value":{
            "messaging_product":"whatsapp","metadata":{"phone_number_id":"1"},
            "contacts":[{"profile":{"name":"K"},"wa_id":"16315551181"}],
            "messages":[{"from":"16315551181","id":"wamid.A","timestamp":"1","type":"text","text":{"body":"Hello"}},
                        {"from":"16315551181","id":"wamid.B","timestamp":"1","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"r","title":"R"}}},
                        {"from":"16315551181","id":"wamid.C","timestamp":"1","type":"location","location":{"latitude":1.0,"longitude":2.0}}],
            "statuses":[{"id":"wamid.X","status":"read","timestamp":"2","recipient_id":"1"}]}}]}]}),
        ),
        (
            "messenger",
            json!({"object":"page","entry":[{"id":"P","time":1,"messaging":[
            {"sender":{"id":"S"},"recipient":{"id":"P"},"timestamp":1,"message":{"mid":"m1","text":"hi","attachments":[{"type":"image","payload":{"url":"https://x/y.jpg"}}]}},
            {"sender":{"id":"S"},"recipient":{"id":"P"},"timestamp":2,"postback":{"title":"Go","payload":"GO"}},
            {"sender":{"id":"S"},"recipient":{"id":"P"},"timestamp":3,"delivery":{"mids":["o1"],"watermark":3}}]}]}),
        ),
        (
            "telegram",
            json!({"update_id":1,"message":{"message_id":2,"from":{"id":3,"first_name":"A"},"chat":{"id":3},"date":1,"text":"hi","photo":[{"file_id":"f"}]}}),
        ),
        (
            "telegram",
            json!({"update_id":2,"callback_query":{"id":"q","from":{"id":3},"message":{"chat":{"id":3},"reply_markup":{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}},"data":"a"}}),
        ),
    ]
}

fn parse(kind: &str, body: &[u8]) -> Result<Vec<ProviderEvent>, super::PayloadError> {
    match kind {
        "whatsapp" => whatsapp::parse(body),
        "telegram" => telegram::parse(body),
        k => meta::parse(body, k),
    }
}

fn invariants(events: &[ProviderEvent]) {
    for e in events {
        if let ProviderEvent::Message(m) = e {
            assert!(!m.address.is_empty(), "a message without a sender: {m:?}");
            assert!(!m.external_id.is_empty(), "a message without an id: {m:?}");
        }
    }
}

/// Replaces the value at a path chosen by `pick` (the documented example's shape,
/// with one part anything at all).
fn replace_somewhere(v: &mut Value, pick: &[usize], with: Value) {
    let Some((p, rest)) = pick.split_first() else {
        *v = with;
        return;
    };
    match v {
        Value::Object(m) if !m.is_empty() => {
            let k = m.keys().nth(p % m.len()).cloned().unwrap_or_default();
            if let Some(n) = m.get_mut(&k) {
                return replace_somewhere(n, rest, with);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let n = a.len();
            return replace_somewhere(&mut a[p % n], rest, with);
        }
        _ => {}
    }
    *v = with;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        for kind in ["whatsapp", "messenger", "instagram", "telegram"] {
            if let Ok(events) = parse(kind, &bytes) { invariants(&events); }
        }
        let _ = meta::verify("secret", std::str::from_utf8(&bytes).ok(), &bytes);
        let _ = telegram::verify("secret", std::str::from_utf8(&bytes).ok());
        if let Ok(params) = sms::form(&bytes)
            && let Ok(events) = sms::parse(&params)
        {
            invariants(&events);
        }
        if let Ok(m) = email::parse_mail(&bytes) {
            assert!(m.from.contains('@'));
            invariants(&[email::to_event(m, &bytes)]);
        }
    }

    /// Mail-shaped text: headers, a MIME part, any body (HTML or not, quoted or not).
    #[test]
    fn arbitrary_mails_never_panic(
        subject in ".{0,40}",
        ctype in prop_oneof![Just("text/plain; charset=utf-8"), Just("text/html; charset=iso-8859-1"), Just("multipart/alternative; boundary=b")],
        body in ".{0,400}",
        html in "(<[a-z/]{1,10}>|&[a-z#0-9]{0,8};?|[^<&]{0,20}){0,40}",
    ) {
        let raw = format!("From: A <a@b.example>\r\nSubject: {subject}\r\nMessage-ID: <x@y>\r\nContent-Type: {ctype}\r\n\r\n{body}\r\n--b\r\nContent-Type: text/html\r\n\r\n{html}\r\n--b--\r\n");
        if let Ok(m) = email::parse_mail(raw.as_bytes()) {
            invariants(&[email::to_event(m, raw.as_bytes())]);
        }
        let _ = email::html_to_text(&html);
        let _ = email::trim_reply(&body);
    }

    #[test]
    fn arbitrary_json_never_panics(v in any_json()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        for kind in ["whatsapp", "messenger", "instagram", "telegram"] {
            if let Ok(events) = parse(kind, &bytes) { invariants(&events); }
        }
    }

    #[test]
    fn documented_examples_with_any_part_replaced_never_panic(
        which in 0usize..4,
        pick in prop::collection::vec(any::<usize>(), 0..8),
        with in any_json(),
    ) {
        let (kind, mut v) = examples().swap_remove(which);
        replace_somewhere(&mut v, &pick, with);
        let bytes = serde_json::to_vec(&v).unwrap();
        if let Ok(events) = parse(kind, &bytes) { invariants(&events); }
    }
}

#[test]
fn the_examples_parse_unchanged() {
    for (kind, v) in examples() {
        let events = parse(kind, &serde_json::to_vec(&v).unwrap()).unwrap();
        assert!(!events.is_empty(), "{kind}");
        invariants(&events);
    }
}
