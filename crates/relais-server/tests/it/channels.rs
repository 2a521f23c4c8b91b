//! Messaging channels end to end: a workspace with WhatsApp, Telegram and Messenger
//! channels in channels.yaml, signed webhooks posted as the providers document them,
//! and the replies reaching a local stand-in that answers as the providers do. The
//! production client code is the same; only `api_base` points at the stand-in.

use super::helpers::*;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use relais_server::app::{App, FlowSetup};
use relais_server::channel::meta;
use relais_server::clock::ManualClock;
use relais_server::config::Settings;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The providers' side: records every call (path, headers, JSON body) and answers as
/// the documentation shows, or 429 with `Retry-After` while `busy` counts down.
#[derive(Clone, Default)]
struct StandIn {
    calls: Arc<Mutex<Vec<(String, HeaderMap, Value)>>>,
    busy: Arc<AtomicUsize>,
    seq: Arc<AtomicUsize>,
    /// An outage: every call answers 503 while it is set.
    down: Arc<std::sync::atomic::AtomicBool>,
    /// Its own address (media URLs point back to it).
    base: Arc<Mutex<String>>,
    /// The `Retry-After` of its 429s, in seconds (1 unless set).
    retry_after: Arc<AtomicUsize>,
}

/// The bytes the stand-in serves as a customer's photo.
const PHOTO: &[u8] = b"\xFF\xD8\xFF\xE0 a customer's photo of a damaged parcel";

impl StandIn {
    async fn start() -> (StandIn, String) {
        let s = StandIn::default();
        let app = axum::Router::new()
            .route("/{*path}", axum::routing::post(answer).get(download))
            .with_state(s.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        *s.base.lock().unwrap() = url.clone();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (s, url)
    }

    fn calls_to(&self, suffix: &str) -> Vec<(HeaderMap, Value)> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _, _)| p.ends_with(suffix))
            .map(|(_, h, b)| (h.clone(), b.clone()))
            .collect()
    }
}

async fn answer(
    State(s): State<StandIn>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    s.calls.lock().unwrap().push((path.clone(), headers, body));
    if s.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "provider outage").into_response();
    }
    if s.busy
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        let wait = s.retry_after.load(Ordering::SeqCst).max(1).to_string();
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", wait)],
            Json(json!({ "error": { "message": "(#130429) Rate limit hit", "code": 130429 } })),
        )
            .into_response();
    }
    let n = s.seq.fetch_add(1, Ordering::SeqCst);
    let answer = if path.starts_with("tg/") {
        json!({ "ok": true, "result": { "message_id": 100 + n } })
    } else if path.contains("106540352242922") {
        json!({ "messaging_product": "whatsapp", "contacts": [{ "input": "x", "wa_id": "x" }],
                "messages": [{ "id": format!("wamid.OUT{n}") }] })
    } else {
        json!({ "recipient_id": "PSID1", "message_id": format!("m_out{n}") })
    };
    Json(answer).into_response()
}

use axum::Json;

/// Media downloads as the providers document them: WhatsApp's `GET /{media-id}` (a
/// short-lived URL, fetched with the same token) and Telegram's `getFile` and
/// `/file/bot<token>/<path>`.
async fn download(
    State(s): State<StandIn>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> axum::response::Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    s.calls
        .lock()
        .unwrap()
        .push((format!("GET {path}"), headers, Value::Null));
    let base = s.base.lock().unwrap().clone();
    match path.as_str() {
        "graph/MEDIA1" if bearer == "Bearer wa-token" => Json(json!({
            "messaging_product": "whatsapp", "url": format!("{base}/cdn/MEDIA1"),
            "mime_type": "image/jpeg", "sha256": "x", "file_size": PHOTO.len(), "id": "MEDIA1"
        }))
        .into_response(),
        "cdn/MEDIA1" if bearer == "Bearer wa-token" => PHOTO.to_vec().into_response(),
        "graph/GONE" => (StatusCode::NOT_FOUND, "no such media").into_response(),
        "tg/bot123:abc/getFile" if query.as_deref() == Some("file_id=TGFILE1") => Json(
            json!({ "ok": true, "result": { "file_id": "TGFILE1", "file_path": "photos/f1.jpg" } }),
        )
        .into_response(),
        "tg/file/bot123:abc/photos/f1.jpg" => PHOTO.to_vec().into_response(),
        _ => (StatusCode::NOT_FOUND, "unknown").into_response(),
    }
}

const FLOW: &str = r#"flow: menu
name: Menu
language: en
trigger: { on: message }
start: ask
steps:
  ask:
    ask:
      prompt:
        text: "What do you need?"
        buttons:
          - { id: track, title: Track }
          - { id: human, title: "Talk to us" }
      routes:
        - match: { button: [track] }
          next: tracked
        - match: { button: [human] }
          next: human
      invalid: "Please pick a button."
      timeout: 30h
      on_timeout: nudge
  human:
    handoff: { team: support, reason: requested }
  nudge:
    say: "Are you still there?"
    next: done
  tracked:
    say: "Your parcel is on its way."
    next: done
  done:
    resolve: {}
"#;

fn workspace(dir: &std::path::Path, stand_in: &str) {
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    std::fs::write(dir.join("flows/menu.yaml"), FLOW).unwrap();
    std::fs::write(
        dir.join("channels.yaml"),
        format!(
            r#"channels:
  - {{ id: wa, kind: whatsapp, default_flow: menu,
      settings: {{ phone_number_id: "106540352242922", api_base: "{stand_in}/graph" }},
      secrets: {{ token: WA_TOKEN, app_secret: WA_APP_SECRET, verify_token: WA_VERIFY }} }}
  - {{ id: tg, kind: telegram, default_flow: menu, settings: {{ api_base: "{stand_in}/tg" }},
      secrets: {{ bot_token: TG_TOKEN, webhook_secret: TG_SECRET }} }}
  - {{ id: fb, kind: messenger, default_flow: menu,
      settings: {{ page_id: "PAGE1", api_base: "{stand_in}/graph" }},
      secrets: {{ token: FB_TOKEN, app_secret: FB_APP_SECRET, verify_token: FB_VERIFY }} }}
"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("teams.yaml"),
        "teams:\n  - { id: support, name: Support, assignment: manual }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("templates.yaml"),
        "templates:\n  - { name: order_update, language: en, category: utility, body: \"Your order {{1}} has news.\" }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("relais.toml"),
        "[secrets]\nWA_TOKEN = \"wa-token\"\nWA_APP_SECRET = \"wa-app-secret\"\nWA_VERIFY = \"wa-verify\"\n\
         TG_TOKEN = \"123:abc\"\nTG_SECRET = \"tg-secret\"\n\
         FB_TOKEN = \"fb-token\"\nFB_APP_SECRET = \"fb-app-secret\"\nFB_VERIFY = \"fb-verify\"\n\
         [outbox]\nbackoff_base = \"1s\"\n[server]\npublic_url = \"https://support.example.com/\"\n",
    )
    .unwrap();
}

async fn start(dir: &std::path::Path, clock: &ManualClock) -> Result<(App, String), String> {
    let env = vec![(
        "RELAIS__SERVER__LISTEN".to_owned(),
        "127.0.0.1:0".to_owned(),
    )];
    let settings = Settings::load(dir, &env).map_err(|e| e.to_string())?;
    let sources = relais_server::workspace::read(dir).map_err(|e| e.to_string())?;
    let app = App::build_full(
        &settings,
        Arc::new(clock.clone()),
        None,
        Some(FlowSetup {
            sources,
            dir: Some(dir.to_owned()),
        }),
    )
    .await
    .map_err(|e| e.to_string())?;
    let url = format!("http://{}", app.addr());
    Ok((app, url))
}

/// WhatsApp's documented text message, from `from`, id `id`.
fn wa_text(from: &str, id: &str, text: &str) -> Value {
    json!({ "from": from, "id": id, "timestamp": "1800000000", "type": "text", "text": { "body": text } })
}

fn wa_webhook(messages: Vec<Value>, contacts: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "WABA1", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550001111", "phone_number_id": "106540352242922" },
            "contacts": contacts, "messages": messages } }] }]
    }))
    .unwrap()
}

async fn post_signed(
    client: &reqwest::Client,
    url: &str,
    body: &[u8],
    secret: Option<&str>,
) -> u16 {
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(s) = secret {
        req = req.header("x-hub-signature-256", meta::sign(s, body));
    }
    req.send().await.unwrap().status().as_u16()
}

/// The conversations on one channel.
async fn on(
    rt: &relais_server::runtime::Runtime,
    channel: &str,
) -> Vec<relais_core::id::ConversationId> {
    rt.store
        .conversations(relais_store::Page {
            before: None,
            limit: 500,
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|v| v.conversation.channel.as_str() == channel)
        .map(|v| v.conversation.id)
        .collect()
}

async fn count(rt: &relais_server::runtime::Runtime, channel: &str) -> usize {
    on(rt, channel).await.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_webhooks_are_verified_signed_recorded_once_and_answered_in_the_providers_format()
{
    let dir = tempfile::tempdir().unwrap();
    let (stand_in, stand_in_url) = StandIn::start().await;
    workspace(dir.path(), &stand_in_url);
    let clock = ManualClock::new(T0);
    let (app, url) = start(dir.path(), &clock).await.unwrap();
    let rt = app.runtime();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = relais_server::tls::client();
    let hook = format!("{url}/webhooks/whatsapp/wa");

    // Meta's verification handshake: the challenge only for the right token.
    let r = client
        .get(format!(
            "{hook}?hub.mode=subscribe&hub.verify_token=wa-verify&hub.challenge=1158201444"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "1158201444");
    let r = client
        .get(format!(
            "{hook}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Three messages from two contacts in one webhook.
    let body = wa_webhook(
        vec![
            wa_text("33600000001", "wamid.A1", "hello"),
            wa_text("33600000002", "wamid.B1", "bonjour"),
            json!({ "from": "33600000001", "id": "wamid.A2", "timestamp": "1800000001", "type": "interactive",
                    "interactive": { "type": "button_reply", "button_reply": { "id": "track", "title": "Track" } } }),
        ],
        vec![
            json!({ "profile": { "name": "Ada" }, "wa_id": "33600000001" }),
            json!({ "profile": { "name": "Bruno" }, "wa_id": "33600000002" }),
        ],
    );
    // Unsigned or wrongly signed: 401, nothing stored.
    assert_eq!(post_signed(&client, &hook, &body, None).await, 401);
    assert_eq!(
        post_signed(&client, &hook, &body, Some("wrong-secret")).await,
        401
    );
    assert_eq!(
        count(&rt, "wa").await,
        0,
        "a refused webhook stores nothing"
    );
    // Malformed but signed: 400, nothing stored.
    assert_eq!(
        post_signed(&client, &hook, b"{\"object\":", Some("wa-app-secret")).await,
        400
    );
    assert_eq!(count(&rt, "wa").await, 0);

    assert_eq!(
        post_signed(&client, &hook, &body, Some("wa-app-secret")).await,
        200
    );
    assert_eq!(count(&rt, "wa").await, 2, "one conversation per contact");
    // Redelivered, also concurrently: a no-op that still answers 200.
    let again = futures_util::future::join_all(
        (0..4).map(|_| post_signed(&client, &hook, &body, Some("wa-app-secret"))),
    )
    .await;
    assert!(again.iter().all(|s| *s == 200), "{again:?}");
    let mut inbound = 0;
    for c in on(&rt, "wa").await {
        let msgs = rt.store.messages(c).await.unwrap();
        inbound += msgs
            .iter()
            .filter(|m| m.direction == relais_core::message::Direction::Inbound)
            .count();
    }
    assert_eq!(inbound, 3, "each provider message stored exactly once");

    // The replies reach the stand-in as the Graph API documents them.
    eventually("three replies sent to WhatsApp", || async {
        stand_in.calls_to("106540352242922/messages").len() >= 3
    })
    .await;
    let calls = stand_in.calls_to("106540352242922/messages");
    let (headers, first) = &calls[0];
    assert_eq!(headers["authorization"], "Bearer wa-token");
    assert_eq!(first["messaging_product"], "whatsapp");
    assert_eq!(first["recipient_type"], "individual");
    let to_ada: Vec<&Value> = calls
        .iter()
        .map(|(_, b)| b)
        .filter(|b| b["to"] == "33600000001")
        .collect();
    assert_eq!(to_ada[0]["type"], "interactive");
    assert_eq!(to_ada[0]["interactive"]["type"], "button");
    assert_eq!(
        to_ada[0]["interactive"]["body"]["text"],
        "What do you need?"
    );
    assert_eq!(
        to_ada[0]["interactive"]["action"]["buttons"][0]["reply"],
        json!({ "id": "track", "title": "Track" })
    );
    assert_eq!(to_ada[1]["type"], "text");
    assert_eq!(to_ada[1]["text"]["body"], "Your parcel is on its way.");

    // Delivery statuses move a message forward only, whatever order they come in; a
    // status for an id not yet known is kept.
    let status = |id: &str, s: &str| {
        serde_json::to_vec(&json!({ "object": "whatsapp_business_account", "entry": [{ "id": "WABA1", "changes": [{
            "field": "messages", "value": { "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "1", "phone_number_id": "106540352242922" },
            "statuses": [{ "id": id, "status": s, "timestamp": "1800000100", "recipient_id": "33600000001" }] } }] }] }))
        .unwrap()
    };
    eventually("the sends are recorded", || async {
        let mut sent = 0;
        for c in on(&rt, "wa").await {
            sent += rt
                .store
                .messages(c)
                .await
                .unwrap()
                .iter()
                .filter(|m| {
                    m.external_id
                        .as_deref()
                        .is_some_and(|e| e.starts_with("wamid.OUT"))
                })
                .count();
        }
        sent >= 3
    })
    .await;
    let out_id = "wamid.OUT0";
    assert_eq!(
        post_signed(
            &client,
            &hook,
            &status(out_id, "read"),
            Some("wa-app-secret")
        )
        .await,
        200
    );
    assert_eq!(
        post_signed(
            &client,
            &hook,
            &status(out_id, "delivered"),
            Some("wa-app-secret")
        )
        .await,
        200
    );
    assert_eq!(
        post_signed(
            &client,
            &hook,
            &status("wamid.UNKNOWN", "delivered"),
            Some("wa-app-secret")
        )
        .await,
        200
    );
    let mut found = None;
    for c in on(&rt, "wa").await {
        for m in rt.store.messages(c).await.unwrap() {
            if m.external_id.as_deref() == Some(out_id) {
                found = m.status;
            }
        }
    }
    assert_eq!(
        found,
        Some(relais_core::message::DeliveryStatus::Read),
        "read then delivered stays read"
    );

    let _ = stop.send(());
    let _ = server.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_and_messenger_speak_their_own_formats_and_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let (stand_in, stand_in_url) = StandIn::start().await;
    workspace(dir.path(), &stand_in_url);
    let clock = ManualClock::new(T0);
    let (app, url) = start(dir.path(), &clock).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = relais_server::tls::client();

    // Telegram: the secret header, de-duplication by update_id.
    let update = json!({ "update_id": 900001, "message": { "message_id": 1, "from": { "id": 4242, "first_name": "Ada" },
                         "chat": { "id": 4242, "type": "private" }, "date": 1800000000, "text": "hi" } });
    let tg = format!("{url}/webhooks/telegram/tg");
    let post_tg = |secret: Option<&'static str>, body: Value| {
        let mut r = client.post(&tg).json(&body);
        if let Some(s) = secret {
            r = r.header("x-telegram-bot-api-secret-token", s);
        }
        async move { r.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(post_tg(None, update.clone()).await, 401);
    assert_eq!(post_tg(Some("wrong"), update.clone()).await, 401);
    assert_eq!(post_tg(Some("tg-secret"), update.clone()).await, 200);
    assert_eq!(post_tg(Some("tg-secret"), update.clone()).await, 200);
    eventually("Telegram's sendMessage called", || async {
        !stand_in.calls_to("bot123:abc/sendMessage").is_empty()
    })
    .await;
    let (_, sent) = &stand_in.calls_to("bot123:abc/sendMessage")[0];
    assert_eq!(sent["chat_id"], 4242);
    assert_eq!(sent["text"], "What do you need?");
    assert_eq!(
        sent["reply_markup"]["inline_keyboard"],
        json!([[{ "text": "Track", "callback_data": "track" }], [{ "text": "Talk to us", "callback_data": "human" }]])
    );
    // A tapped button: recorded as the button, then answered with answerCallbackQuery.
    let tap = json!({ "update_id": 900002, "callback_query": { "id": "cbq-1", "from": { "id": 4242, "first_name": "Ada" },
        "message": { "message_id": 100, "chat": { "id": 4242 }, "reply_markup": sent["reply_markup"] }, "data": "track" } });
    assert_eq!(post_tg(Some("tg-secret"), tap).await, 200);
    eventually("the callback query is answered", || async {
        stand_in
            .calls_to("answerCallbackQuery")
            .iter()
            .any(|(_, b)| b["callback_query_id"] == "cbq-1")
    })
    .await;
    eventually("the flow followed the button", || async {
        stand_in
            .calls_to("bot123:abc/sendMessage")
            .iter()
            .any(|(_, b)| b["text"] == "Your parcel is on its way.")
    })
    .await;

    // Messenger: the same HMAC, the Send API with quick replies.
    let fb = format!("{url}/webhooks/messenger/fb");
    let event = serde_json::to_vec(&json!({ "object": "page", "entry": [{ "id": "PAGE1", "time": 1, "messaging": [
        { "sender": { "id": "PSID1" }, "recipient": { "id": "PAGE1" }, "timestamp": 1, "message": { "mid": "m_1", "text": "hello" } } ] }] }))
    .unwrap();
    assert_eq!(
        post_signed(&client, &fb, &event, Some("wa-app-secret")).await,
        401,
        "another channel's secret"
    );
    assert_eq!(
        post_signed(&client, &fb, &event, Some("fb-app-secret")).await,
        200
    );
    eventually("the Send API called", || async {
        !stand_in.calls_to("PAGE1/messages").is_empty()
    })
    .await;
    let (headers, sent) = &stand_in.calls_to("PAGE1/messages")[0];
    assert_eq!(headers["authorization"], "Bearer fb-token");
    assert_eq!(sent["recipient"]["id"], "PSID1");
    assert_eq!(sent["messaging_type"], "RESPONSE");
    assert_eq!(
        sent["message"]["quick_replies"][1],
        json!({ "content_type": "text", "title": "Talk to us", "payload": "human" })
    );

    // A kind mismatch or an unknown channel is not found.
    assert_eq!(
        post_signed(
            &client,
            &format!("{url}/webhooks/telegram/fb"),
            &event,
            Some("fb-app-secret")
        )
        .await,
        404
    );
    assert_eq!(
        post_signed(
            &client,
            &format!("{url}/webhooks/whatsapp/nope"),
            &event,
            Some("fb-app-secret")
        )
        .await,
        404
    );

    let _ = stop.send(());
    let _ = server.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_429_is_paced_and_everything_is_delivered_after_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (stand_in, stand_in_url) = StandIn::start().await;
    workspace(dir.path(), &stand_in_url);
    stand_in.busy.store(2, Ordering::SeqCst);
    let clock = ManualClock::new(T0);
    let (app, url) = start(dir.path(), &clock).await.unwrap();
    let rt = app.runtime();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = relais_server::tls::client();
    let hook = format!("{url}/webhooks/whatsapp/wa");
    let body = wa_webhook(vec![wa_text("33600000009", "wamid.Z1", "hello")], vec![]);
    assert_eq!(
        post_signed(&client, &hook, &body, Some("wa-app-secret")).await,
        200
    );
    let body = wa_webhook(
        vec![
            json!({ "from": "33600000009", "id": "wamid.Z2", "timestamp": "1800000001", "type": "interactive",
                     "interactive": { "type": "button_reply", "button_reply": { "id": "track", "title": "Track" } } }),
        ],
        vec![],
    );
    assert_eq!(
        post_signed(&client, &hook, &body, Some("wa-app-secret")).await,
        200
    );
    // The first two sends get 429 + Retry-After: 1; the outbox retries on the clock.
    for _ in 0..40 {
        clock.advance(relais_core::Duration::seconds(2));
        rt.outbox_wake.notify_one();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if stand_in.calls_to("/messages").len() >= 4 {
            break;
        }
    }
    let calls = stand_in.calls_to("/messages");
    assert!(calls.len() >= 4, "{} calls", calls.len());
    let delivered: Vec<&str> = calls[2..]
        .iter()
        .map(|(_, b)| b["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        delivered[..2],
        ["interactive", "text"],
        "after the 429s, in conversation order"
    );
    let _ = stop.send(());
    let _ = server.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_yaml_is_applied_at_start_and_a_removed_channel_is_disabled() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path(), "http://127.0.0.1:9");
    let clock = ManualClock::new(T0);
    {
        let (app, _) = start(dir.path(), &clock).await.unwrap();
        let rt = app.runtime();
        let wa = rt
            .channel(&relais_core::id::ChannelId("wa".into()))
            .unwrap();
        assert_eq!(wa.kind, "whatsapp");
        assert_eq!(wa.setting("phone_number_id"), Some("106540352242922"));
        assert!(wa.enabled && wa.from_file);
    }
    // Drop the Telegram channel from the file: disabled, not deleted.
    let text = std::fs::read_to_string(dir.path().join("channels.yaml")).unwrap();
    let without_tg: String = text
        .lines()
        .filter(|l| !l.contains("id: tg") && !l.contains("TG_TOKEN"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.path().join("channels.yaml"), without_tg).unwrap();
    let (app, url) = start(dir.path(), &clock).await.unwrap();
    let rt = app.runtime();
    let tg = rt
        .channel(&relais_core::id::ChannelId("tg".into()))
        .unwrap();
    assert!(!tg.enabled, "a channel removed from the file is disabled");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let r = relais_server::tls::client()
        .post(format!("{url}/webhooks/telegram/tg"))
        .header("x-telegram-bot-api-secret-token", "tg-secret")
        .json(&json!({ "update_id": 1, "message": { "message_id": 1, "chat": { "id": 1 }, "text": "hi" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "a disabled channel takes no traffic");
    let _ = stop.send(());
    let _ = server.await;

    // An unset secret: the server refuses to start, naming it.
    std::fs::write(
        dir.path().join("relais.toml"),
        "[secrets]\nWA_TOKEN = \"x\"\nWA_APP_SECRET = \"y\"\nFB_TOKEN = \"x\"\nFB_APP_SECRET = \"y\"\nFB_VERIFY = \"z\"\n",
    )
    .unwrap();
    let err = start(dir.path(), &clock)
        .await
        .err()
        .expect("an unset secret must stop the start");
    assert!(
        err.contains("WA_VERIFY") && err.contains("channel wa"),
        "{err}"
    );
}

fn wa_tap(from: &str, id: &str, button: &str, title: &str) -> Value {
    json!({ "from": from, "id": id, "timestamp": "1800000001", "type": "interactive",
            "interactive": { "type": "button_reply", "button_reply": { "id": button, "title": title } } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_reply_outside_the_24_hour_window_is_refused_naming_the_window_and_templates() {
    let dir = tempfile::tempdir().unwrap();
    let (stand_in, stand_in_url) = StandIn::start().await;
    workspace(dir.path(), &stand_in_url);
    let clock = ManualClock::new(T0);
    let app = spawn_dir_app(dir.path(), &clock).await;
    let hook = format!("{}/webhooks/whatsapp/wa", app.url);
    let who = "33600000007";
    let body = wa_webhook(vec![wa_text(who, "wamid.W1", "hi")], vec![]);
    assert_eq!(
        post_signed(&app.client, &hook, &body, Some("wa-app-secret")).await,
        200
    );
    let body = wa_webhook(vec![wa_tap(who, "wamid.W2", "human", "Talk to us")], vec![]);
    assert_eq!(
        post_signed(&app.client, &hook, &body, Some("wa-app-secret")).await,
        200
    );
    let conv = on(&app.rt, "wa").await[0];
    let agent = super::handoff::login_agent(&app, "alice@example.com", "agent", &["support"]).await;
    let reply = |token: &str, text: &str| {
        let r = app
            .client
            .post(format!("{}/api/v1/conversations/{}/reply", app.url, conv.0))
            .bearer_auth(token)
            .json(&json!({ "text": text }));
        async move {
            let r = r.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let show = |token: &str| {
        let r = app
            .client
            .get(format!("{}/api/v1/conversations/{}", app.url, conv.0))
            .bearer_auth(token);
        async move { r.send().await.unwrap().json::<Value>().await.unwrap() }
    };

    clock.advance(relais_core::Duration::hours(1));
    let (s, b) = reply(&agent.token, "Hello, Alice here.").await;
    assert_eq!(s, 200, "{b}");
    eventually("the agent's reply reaches WhatsApp", || async {
        stand_in
            .calls_to("/messages")
            .iter()
            .any(|(_, b)| b["text"]["body"] == "Hello, Alice here.")
    })
    .await;
    // An attachment, by URL: a WhatsApp document with its caption and file name.
    let r = app
        .client
        .post(format!("{}/api/v1/conversations/{}/reply", app.url, conv.0))
        .bearer_auth(&agent.token)
        .json(&json!({ "text": "Your invoice", "attachment": { "url": "https://files.example/inv-42.pdf", "filename": "invoice-42.pdf" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    eventually("the document reaches WhatsApp", || async {
        stand_in.calls_to("/messages").iter().any(|(_, b)| {
            b["type"] == "document"
                && b["document"]["link"] == "https://files.example/inv-42.pdf"
                && b["document"]["caption"] == "Your invoice"
                && b["document"]["filename"] == "invoice-42.pdf"
        })
    })
    .await;
    let r = app
        .client
        .post(format!("{}/api/v1/conversations/{}/reply", app.url, conv.0))
        .bearer_auth(&agent.token)
        .json(&json!({ "text": "x", "attachment": { "url": "file:///etc/passwd" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let w = show(&agent.token).await["window"].clone();
    assert_eq!(w["open"], true, "{w}");
    assert_eq!(
        w["closes_at"],
        json!(T0.0 + 24 * 3_600_000),
        "24 h after the contact's last message"
    );

    clock.advance(relais_core::Duration::hours(25));
    // A day later: a new session.
    let login = app
        .client
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({ "email": "alice@example.com", "password": "correct horse battery staple" }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let v = show(&token).await;
    assert_eq!(v["window"]["open"], false, "{v}");
    let (s, b) = reply(&token, "Are you there?").await;
    assert_eq!(s, 409, "{b}");
    let m = b["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        m.contains("24-hour window") && m.contains("order_update"),
        "{m}"
    );
    assert!(
        !stand_in
            .calls_to("/messages")
            .iter()
            .any(|(_, b)| b["text"]["body"] == "Are you there?"),
        "nothing sent"
    );
    // A registered template still goes: WhatsApp's template message, with its params.
    let r = app
        .client
        .post(format!("{}/api/v1/conversations/{}/reply", app.url, conv.0))
        .bearer_auth(&token)
        .json(&json!({ "template": { "name": "order_update", "language": "en", "params": ["A123"] } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    eventually("the template reaches WhatsApp", || async {
        stand_in.calls_to("/messages").iter().any(|(_, b)| {
            b["type"] == "template"
                && b["template"]["name"] == "order_update"
                && b["template"]["components"][0]["parameters"][0]["text"] == "A123"
        })
    })
    .await;
    let r = app
        .client
        .post(format!("{}/api/v1/conversations/{}/reply", app.url, conv.0))
        .bearer_auth(&token)
        .json(&json!({ "template": { "name": "order_update", "params": [] } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a template's parameters are counted");
    // The contact writes again: the window reopens and the agent may answer.
    let body = wa_webhook(vec![wa_text(who, "wamid.W3", "still there")], vec![]);
    assert_eq!(
        post_signed(&app.client, &hook, &body, Some("wa-app-secret")).await,
        200
    );
    let (s, b) = reply(&token, "Yes, here.").await;
    assert_eq!(s, 200, "{b}");
    app.stop().await;
}

/// The conversation page shows the customer-service window; once it has closed, the
/// registered templates are offered as forms, and one sent from the page reaches
/// WhatsApp as a template message with its parameter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conversation_page_shows_the_window_and_sends_a_template_once_it_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (stand_in, stand_in_url) = StandIn::start().await;
    workspace(dir.path(), &stand_in_url);
    let clock = ManualClock::new(T0);
    let app = spawn_dir_app(dir.path(), &clock).await;
    let hook = format!("{}/webhooks/whatsapp/wa", app.url);
    let who = "33600000017";
    for body in [
        wa_webhook(vec![wa_text(who, "wamid.V1", "hi")], vec![]),
        wa_webhook(vec![wa_tap(who, "wamid.V2", "human", "Talk to us")], vec![]),
    ] {
        assert_eq!(
            post_signed(&app.client, &hook, &body, Some("wa-app-secret")).await,
            200
        );
    }
    let conv = on(&app.rt, "wa").await[0];
    super::handoff::login_agent(&app, "alice@example.com", "agent", &["support"]).await;
    let pages = page_client();
    let alice = page_session(&app, &pages, "alice@example.com").await;
    let path = format!("{}/conversations/{}", app.url, conv.0);
    let show = |alice: &str| {
        let r = pages.get(&path).header("cookie", alice.to_owned());
        async move { r.send().await.unwrap().text().await.unwrap() }
    };
    let html = show(&alice).await;
    assert!(
        html.contains("Reply window") && html.contains("Open until"),
        "{html}"
    );
    assert!(!html.contains("value=\"order_update\""));

    clock.advance(relais_core::Duration::hours(25));
    // A day later: the session has ended; a new one.
    let alice = page_session(&app, &pages, "alice@example.com").await;
    let html = show(&alice).await;
    assert!(
        html.contains("Closed: only a template can reach the customer now."),
        "{html}"
    );
    assert!(
        html.contains("name=\"template\" value=\"order_update\""),
        "{html}"
    );
    let at = html.find("name=\"_csrf\" value=\"").unwrap() + 20;
    let csrf = html[at..at + 32].to_owned();
    let r = pages
        .post(format!("{path}/act"))
        .header("cookie", alice.clone())
        .form(&[
            ("_csrf", csrf.as_str()),
            ("template", "order_update"),
            ("language", "en"),
            ("param", "A123"),
            ("action", "template"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    eventually(
        "the template sent from the page reaches WhatsApp",
        || async {
            stand_in.calls_to("/messages").iter().any(|(_, b)| {
                b["type"] == "template"
                    && b["template"]["name"] == "order_update"
                    && b["template"]["components"][0]["parameters"][0]["text"] == "A123"
            })
        },
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_message_outside_the_window_goes_to_the_fallback_or_is_recorded_undeliverable() {
    let dir = tempfile::tempdir().unwrap();
    let (stand_in, stand_in_url) = StandIn::start().await;
    workspace(dir.path(), &stand_in_url);
    // wa falls back to a second WhatsApp number, wa2.
    let text = std::fs::read_to_string(dir.path().join("channels.yaml")).unwrap();
    let text = text.replace(
        "id: wa, kind: whatsapp, default_flow: menu,",
        "id: wa, kind: whatsapp, default_flow: menu, fallback: wa2,",
    ) + &format!(
        "  - {{ id: wa2, kind: whatsapp, default_flow: menu,\n      settings: {{ phone_number_id: \"200000000000002\", api_base: \"{stand_in_url}/graph\" }},\n      secrets: {{ token: WA_TOKEN, app_secret: WA_APP_SECRET, verify_token: WA_VERIFY }} }}\n"
    );
    std::fs::write(dir.path().join("channels.yaml"), text).unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_dir_app(dir.path(), &clock).await;
    let hook = |ch: &str| format!("{}/webhooks/whatsapp/{ch}", app.url);
    // Ada writes on wa only; Bruno on wa and, later, on wa2.
    for (who, id) in [("33600000011", "wamid.A"), ("33600000022", "wamid.B")] {
        let body = wa_webhook(vec![wa_text(who, id, "hi")], vec![]);
        assert_eq!(
            post_signed(&app.client, &hook("wa"), &body, Some("wa-app-secret")).await,
            200
        );
    }
    eventually("both welcome prompts sent", || async {
        stand_in.calls_to("106540352242922/messages").len() >= 2
    })
    .await;
    clock.advance(relais_core::Duration::hours(29));
    let body = wa_webhook(
        vec![wa_text("33600000022", "wamid.B2", "hello again")],
        vec![],
    );
    assert_eq!(
        post_signed(&app.client, &hook("wa2"), &body, Some("wa-app-secret")).await,
        200
    );
    // At 30 h the menu's timeout sends "Are you still there?" on wa: outside its window.
    clock.advance(relais_core::Duration::hours(2));
    eventually("Bruno's nudge sent on the fallback number", || async {
        stand_in
            .calls_to("200000000000002/messages")
            .iter()
            .any(|(_, b)| b["text"]["body"] == "Are you still there?" && b["to"] == "33600000022")
    })
    .await;
    assert!(
        !stand_in
            .calls_to("106540352242922/messages")
            .iter()
            .any(|(_, b)| b["text"]["body"] == "Are you still there?"),
        "nothing sent outside the window"
    );
    // Ada's number is her address on wa2 too (one contact across phone channels), but
    // she never wrote to that number: its window is closed as well, and wa2 has no
    // fallback, so her nudge is recorded as undeliverable, saying why.
    let ada = on(&app.rt, "wa").await;
    let mut failed = None;
    for _ in 0..500 {
        for c in &ada {
            for m in app.rt.store.messages(*c).await.unwrap() {
                if m.text == "Are you still there?"
                    && m.status == Some(relais_core::message::DeliveryStatus::Failed)
                {
                    failed = Some(m.id);
                }
            }
        }
        if failed.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let failed = failed.expect("Ada's nudge recorded as failed");
    let (s, b) = app
        .get(&format!("/api/v1/messages/{}/attempts", failed.0))
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(
        b.to_string()
            .contains("never written on this WhatsApp channel"),
        "{b}"
    );
    let events = app.rt.store.events(None, 0, 10_000).await.unwrap();
    let moved: Vec<&Value> = events
        .iter()
        .filter(|e| e.event.kind == relais_core::event::EventKind::MessageRerouted)
        .map(|e| &e.event.data)
        .collect();
    assert_eq!(moved.len(), 2, "{moved:?}");
    assert!(
        moved[0]["reason"]
            .as_str()
            .unwrap()
            .contains("24-hour window")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_fallback_a_message_outside_the_window_is_recorded_undeliverable() {
    let dir = tempfile::tempdir().unwrap();
    let (stand_in, stand_in_url) = StandIn::start().await;
    workspace(dir.path(), &stand_in_url);
    let clock = ManualClock::new(T0);
    let app = spawn_dir_app(dir.path(), &clock).await;
    let body = wa_webhook(vec![wa_text("33600000033", "wamid.C", "hi")], vec![]);
    let hook = format!("{}/webhooks/whatsapp/wa", app.url);
    assert_eq!(
        post_signed(&app.client, &hook, &body, Some("wa-app-secret")).await,
        200
    );
    clock.advance(relais_core::Duration::hours(31));
    let conv = on(&app.rt, "wa").await[0];
    eventually("the nudge is recorded as failed", || async {
        app.rt.store.messages(conv).await.unwrap().iter().any(|m| {
            m.text == "Are you still there?"
                && m.status == Some(relais_core::message::DeliveryStatus::Failed)
        })
    })
    .await;
    let nudge = app
        .rt
        .store
        .messages(conv)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.text == "Are you still there?")
        .unwrap();
    let (s, b) = app
        .get(&format!("/api/v1/messages/{}/attempts", nudge.id.0))
        .await;
    assert_eq!(s, 200, "{b}");
    let detail = b.to_string();
    assert!(
        detail.contains("undeliverable") && detail.contains("24-hour window"),
        "{detail}"
    );
    assert!(
        !stand_in
            .calls_to("/messages")
            .iter()
            .any(|(_, b)| b["text"]["body"] == "Are you still there?"),
        "never sent"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_a_contacts_identities_and_merge_two_contacts() {
    let dir = tempfile::tempdir().unwrap();
    let (_stand_in, stand_in_url) = StandIn::start().await;
    workspace(dir.path(), &stand_in_url);
    let clock = ManualClock::new(T0);
    let app = spawn_dir_app(dir.path(), &clock).await;
    let body = wa_webhook(vec![wa_text("33600000044", "wamid.D", "hi")], vec![]);
    let hook = format!("{}/webhooks/whatsapp/wa", app.url);
    assert_eq!(
        post_signed(&app.client, &hook, &body, Some("wa-app-secret")).await,
        200
    );
    let r = app
        .client
        .post(format!("{}/webhooks/telegram/tg", app.url))
        .header("x-telegram-bot-api-secret-token", "tg-secret")
        .json(&json!({ "update_id": 77, "message": { "message_id": 1, "chat": { "id": 4444 }, "text": "hi" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let views = app
        .rt
        .store
        .conversations(relais_store::Page {
            before: None,
            limit: 10,
        })
        .await
        .unwrap();
    let contact = |ch: &str| {
        views
            .iter()
            .find(|v| v.conversation.channel.as_str() == ch)
            .unwrap()
            .contact
            .id
            .0
    };
    let (wa, tg) = (contact("wa"), contact("tg"));
    // The admin API shows where each provider must send its webhooks.
    let (s, b) = app.get("/api/v1/channels").await;
    assert_eq!(s, 200, "{b}");
    let wa_channel = b["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "wa")
        .unwrap()
        .clone();
    assert_eq!(
        wa_channel["webhook_url"],
        "https://support.example.com/webhooks/whatsapp/wa"
    );
    assert_eq!(wa_channel["settings"]["phone_number_id"], "106540352242922");
    assert_eq!(wa_channel["enabled"], true);
    let (s, b) = app.get(&format!("/api/v1/contacts/{wa}")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["identities"][0]["kind"], "whatsapp");
    assert_eq!(b["identities"][0]["address"], "33600000044");
    // The same person on Telegram: merged, the card lists both identities.
    let (s, b) = app
        .post(
            &format!("/api/v1/contacts/{wa}/merge"),
            json!({ "from": tg }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let mut kinds: Vec<&str> = b["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["telegram", "whatsapp"]);
    let (s, _) = app.get(&format!("/api/v1/contacts/{tg}")).await;
    assert_eq!(s, 404, "the merged contact is gone");
    let (s, b) = app
        .post(
            &format!("/api/v1/contacts/{wa}/merge"),
            json!({ "from": wa }),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    let (s, _) = app
        .post("/api/v1/contacts/999999/merge", json!({ "from": wa }))
        .await;
    assert_eq!(s, 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_provider_outage_of_many_minutes_everything_is_delivered_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (stand_in, stand_in_url) = StandIn::start().await;
    workspace(dir.path(), &stand_in_url);
    // The defaults: 20 attempts, 1 s doubling to 10 min.
    let toml = std::fs::read_to_string(dir.path().join("relais.toml")).unwrap();
    std::fs::write(
        dir.path().join("relais.toml"),
        toml.replace("[outbox]\nbackoff_base = \"1s\"\n", ""),
    )
    .unwrap();
    stand_in.down.store(true, Ordering::SeqCst);
    let clock = ManualClock::new(T0);
    let app = spawn_dir_app(dir.path(), &clock).await;
    let hook = format!("{}/webhooks/whatsapp/wa", app.url);
    for (who, id, text) in [
        ("33600000051", "wamid.O1", "hi"),
        ("33600000052", "wamid.O2", "hi"),
        ("33600000051", "wamid.O3", "what?"),
    ] {
        let body = wa_webhook(vec![wa_text(who, id, text)], vec![]);
        assert_eq!(
            post_signed(&app.client, &hook, &body, Some("wa-app-secret")).await,
            200
        );
    }
    // 40 minutes of outage on the manual clock.
    for _ in 0..40 {
        clock.advance(relais_core::Duration::minutes(1));
        app.rt.outbox_wake.notify_one();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        stand_in.calls_to("/messages").len() >= 3,
        "the outbox kept trying"
    );
    stand_in.down.store(false, Ordering::SeqCst);
    // What reached the provider for one contact, in call order (failed calls included).
    let delivered = |who: &str| -> Vec<String> {
        stand_in
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, _, b)| b["to"] == who)
            .map(|(_, _, b)| {
                b["text"]["body"]
                    .as_str()
                    .or(b["interactive"]["body"]["text"].as_str())
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    for _ in 0..30 {
        clock.advance(relais_core::Duration::minutes(1));
        app.rt.outbox_wake.notify_one();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    eventually("every message sent after the outage", || async {
        let mut sent = 0;
        for c in on(&app.rt, "wa").await {
            sent += app
                .rt
                .store
                .messages(c)
                .await
                .unwrap()
                .iter()
                .filter(|m| {
                    m.direction == relais_core::message::Direction::Outbound
                        && m.status == Some(relais_core::message::DeliveryStatus::Sent)
                })
                .count();
        }
        sent == 3
    })
    .await;
    // In order per conversation: the last call of each text is the success; Ada's
    // prompt went before her "Please pick a button.".
    let ada = delivered("33600000051");
    let last_prompt = ada.iter().rposition(|t| t == "What do you need?").unwrap();
    let first_invalid = ada
        .iter()
        .position(|t| t == "Please pick a button.")
        .unwrap();
    assert!(last_prompt < first_invalid, "{ada:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_hostile_webhooks_get_a_4xx_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_stand_in, stand_in_url) = StandIn::start().await;
    workspace(dir.path(), &stand_in_url);
    let clock = ManualClock::new(T0);
    let app = spawn_dir_app(dir.path(), &clock).await;
    let hook = format!("{}/webhooks/whatsapp/wa", app.url);
    // Over the body limit (64 KiB): 413 before any parsing.
    let big = wa_webhook(
        vec![wa_text("33600000061", "wamid.Big", &"x".repeat(70_000))],
        vec![],
    );
    assert_eq!(
        post_signed(&app.client, &hook, &big, Some("wa-app-secret")).await,
        413
    );
    // Signed but hostile: wrong types, deep nesting, a sender that is no address, a
    // NUL in the text, an id too long.
    let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    let bad_bodies: Vec<Vec<u8>> = vec![
        deep.into_bytes(),
        br#"{"object":"whatsapp_business_account","entry":"nope"}"#.to_vec(),
        br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"from":123,"id":"x","type":"text"}]}}]}]}"#.to_vec(),
        wa_webhook(vec![wa_text("", "wamid.E1", "hi")], vec![]),
        wa_webhook(vec![wa_text("33600000061", &"i".repeat(300), "hi")], vec![]),
    ];
    for body in &bad_bodies {
        let s = post_signed(&app.client, &hook, body, Some("wa-app-secret")).await;
        assert!(
            (400..500).contains(&s),
            "{s} for {}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        );
    }
    // A NUL is dropped from the text, not refused (the provider would redeliver forever).
    let nul = wa_webhook(vec![wa_text("33600000062", "wamid.N", "a\u{0}b")], vec![]);
    assert_eq!(
        post_signed(&app.client, &hook, &nul, Some("wa-app-secret")).await,
        200
    );
    let convs = on(&app.rt, "wa").await;
    assert_eq!(
        convs.len(),
        1,
        "only the well-formed webhook stored anything"
    );
    let texts: Vec<String> = app
        .rt
        .store
        .messages(convs[0])
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts[0], "ab");
    // The server is still answering.
    let (s, _) = app.get("/api/v1/channels").await;
    assert_eq!(s, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_redelivered_to_two_nodes_over_postgresql_is_stored_and_answered_once() {
    let Some(schema) = PgSchema::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (stand_in, stand_in_url) = StandIn::start().await;
    workspace(dir.path(), &stand_in_url);
    let clock = ManualClock::new(T0);
    let url = schema.url();
    let vars = [("RELAIS__DATABASE__URL", url.as_str())];
    let one = spawn_dir_app_with(dir.path(), &clock, &vars).await;
    let two = spawn_dir_app_with(dir.path(), &clock, &vars).await;
    let body = wa_webhook(vec![wa_text("33600000071", "wamid.TWO", "hi")], vec![]);
    // The provider redelivers, to whichever node its load balancer picks, at once.
    let hooks = [
        format!("{}/webhooks/whatsapp/wa", one.url),
        format!("{}/webhooks/whatsapp/wa", two.url),
    ];
    let statuses = futures_util::future::join_all(
        (0..6).map(|i| post_signed(&one.client, &hooks[i % 2], &body, Some("wa-app-secret"))),
    )
    .await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let convs = on(&one.rt, "wa").await;
    assert_eq!(convs.len(), 1);
    let inbound = one
        .rt
        .store
        .messages(convs[0])
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == relais_core::message::Direction::Inbound)
        .count();
    assert_eq!(inbound, 1, "stored once across the two nodes");
    eventually("the reply sent", || async {
        !stand_in.calls_to("/messages").is_empty()
    })
    .await;
    // Both nodes' outboxes run: the reply still goes out once.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(stand_in.calls_to("/messages").len(), 1, "sent once");
    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_media_is_fetched_before_its_url_expires_shown_to_agents_and_erasable() {
    let dir = tempfile::tempdir().unwrap();
    let (_stand_in, stand_in_url) = StandIn::start().await;
    workspace(dir.path(), &stand_in_url);
    let clock = ManualClock::new(T0);
    let app = spawn_dir_app(dir.path(), &clock).await;
    // A WhatsApp photo with a caption, and one whose media the provider no longer has.
    let photo = |id: &str, media: &str| {
        json!({ "from": "33600000081", "id": id, "timestamp": "1800000000", "type": "image",
                "image": { "id": media, "mime_type": "image/jpeg", "sha256": "x", "caption": "the box is broken" } })
    };
    let body = wa_webhook(
        vec![photo("wamid.P1", "MEDIA1"), photo("wamid.P2", "GONE")],
        vec![],
    );
    let hook = format!("{}/webhooks/whatsapp/wa", app.url);
    assert_eq!(
        post_signed(&app.client, &hook, &body, Some("wa-app-secret")).await,
        200
    );
    // A Telegram photo.
    let r = app
        .client
        .post(format!("{}/webhooks/telegram/tg", app.url))
        .header("x-telegram-bot-api-secret-token", "tg-secret")
        .json(&json!({ "update_id": 501, "message": { "message_id": 9, "chat": { "id": 8181 }, "date": 1,
                       "caption": "here", "photo": [{ "file_id": "small" }, { "file_id": "TGFILE1" }] } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let wa_conv = on(&app.rt, "wa").await[0];
    let tg_conv = on(&app.rt, "tg").await[0];
    eventually("the attachments fetched (or refused)", || async {
        let a = app.rt.store.conversation_media(wa_conv).await.unwrap();
        let t = app.rt.store.conversation_media(tg_conv).await.unwrap();
        a.len() == 2
            && a.iter().all(|m| m.state != "pending")
            && t.len() == 1
            && t[0].state == "stored"
    })
    .await;
    let (s, conv) = app
        .get(&format!("/api/v1/conversations/{}", wa_conv.0))
        .await;
    assert_eq!(s, 200, "{conv}");
    let attachments = conv["attachments"].as_array().unwrap();
    let stored = attachments.iter().find(|a| a["state"] == "stored").unwrap();
    assert_eq!(stored["kind"], "image");
    assert_eq!(stored["size"], PHOTO.len());
    let failed = attachments.iter().find(|a| a["state"] == "failed").unwrap();
    assert!(
        failed["detail"].as_str().unwrap().contains("404"),
        "{failed}"
    );
    // The caption is the message's text; the file is served to those who may see it.
    let messages = conv["messages"].as_array().unwrap();
    assert_eq!(messages[0]["text"], "the box is broken");
    let file = app
        .client
        .get(format!("{}/api/v1/media/{}", app.url, stored["id"]))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "image/jpeg");
    assert_eq!(&file.bytes().await.unwrap()[..], PHOTO);
    let (s, b) = app.get(&format!("/api/v1/media/{}", failed["id"])).await;
    assert_eq!(s, 409, "{b}");
    let tg_media = app.rt.store.conversation_media(tg_conv).await.unwrap();
    let file = app
        .client
        .get(format!("{}/api/v1/media/{}", app.url, tg_media[0].id))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        &file.bytes().await.unwrap()[..],
        PHOTO,
        "the largest Telegram size"
    );
    // An agent who may not see the conversation gets nothing.
    let agent = super::handoff::login_agent(&app, "bob@example.com", "agent", &["support"]).await;
    let r = app
        .client
        .get(format!("{}/api/v1/media/{}", app.url, stored["id"]))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // On the conversation page: the photo inline, served to a signed-in supervisor, not
    // to an agent who may not see the conversation.
    super::handoff::login_agent(&app, "sue@example.com", "supervisor", &["support"]).await;
    let pages = page_client();
    let sue = page_session(&app, &pages, "sue@example.com").await;
    let bob = page_session(&app, &pages, "bob@example.com").await;
    let page_get = |cookie: &str, path: String| {
        let r = pages
            .get(format!("{}{path}", app.url))
            .header("cookie", cookie.to_owned());
        async move { r.send().await.unwrap() }
    };
    let html = page_get(&sue, format!("/conversations/{}", wa_conv.0))
        .await
        .text()
        .await
        .unwrap();
    let img = format!("<img src=\"/media/{}\"", stored["id"]);
    assert!(html.contains(&img), "the photo is shown inline: {html}");
    let file = page_get(&sue, format!("/media/{}", stored["id"])).await;
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "image/jpeg");
    assert_eq!(&file.bytes().await.unwrap()[..], PHOTO);
    let file = page_get(&bob, format!("/media/{}", stored["id"])).await;
    assert_eq!(file.status(), 404);
    // Erased with the contact.
    let contact = app
        .rt
        .store
        .conversation(wa_conv)
        .await
        .unwrap()
        .unwrap()
        .contact
        .id;
    app.rt
        .store
        .erase_contact(contact, app.rt.clock.now())
        .await
        .unwrap();
    let (s, _) = app.get(&format!("/api/v1/media/{}", stored["id"])).await;
    assert_eq!(s, 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_retry_after_holds_the_whole_channel_without_spending_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let (stand_in, stand_in_url) = StandIn::start().await;
    workspace(dir.path(), &stand_in_url);
    stand_in.busy.store(1, Ordering::SeqCst);
    stand_in.retry_after.store(120, Ordering::SeqCst);
    let clock = ManualClock::new(T0);
    let app = spawn_dir_app(dir.path(), &clock).await;
    let hook = format!("{}/webhooks/whatsapp/wa", app.url);
    let body = wa_webhook(vec![wa_text("33600000091", "wamid.H1", "hi")], vec![]);
    assert_eq!(
        post_signed(&app.client, &hook, &body, Some("wa-app-secret")).await,
        200
    );
    eventually("the first send meets the 429", || async {
        stand_in.calls_to("/messages").len() == 1
    })
    .await;
    // Another contact's reply: the channel is held for two minutes, so it waits in the
    // queue, unsent and with no attempt spent.
    let body = wa_webhook(vec![wa_text("33600000092", "wamid.H2", "hi")], vec![]);
    assert_eq!(
        post_signed(&app.client, &hook, &body, Some("wa-app-secret")).await,
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        stand_in.calls_to("/messages").len(),
        1,
        "held: nothing else sent"
    );
    clock.advance(relais_core::Duration::seconds(121));
    app.rt.outbox_wake.notify_one();
    eventually("both sent after the hold", || async {
        stand_in.calls_to("/messages").len() >= 3
    })
    .await;
    // The attempts are journaled by a task of their own, just after the sends.
    let journals = || async {
        let mut journals = Vec::new();
        for c in on(&app.rt, "wa").await {
            for m in app.rt.store.messages(c).await.unwrap() {
                if m.direction == relais_core::message::Direction::Outbound {
                    let attempts = app.rt.store.attempts(m.id).await.unwrap();
                    journals.push(
                        attempts
                            .iter()
                            .map(|a| a.outcome.clone())
                            .collect::<Vec<_>>(),
                    );
                }
            }
        }
        journals.sort();
        journals
    };
    let want = vec![
        vec!["retry".to_owned(), "sent".to_owned()],
        vec!["sent".to_owned()],
    ];
    eventually("the three attempts journaled", || async {
        journals().await.iter().map(Vec::len).sum::<usize>() >= 3
    })
    .await;
    assert_eq!(journals().await, want, "the held message spent no attempt");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_make_provider_channels_through_the_api_with_the_checks_of_channels_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let (stand_in, stand_in_url) = StandIn::start().await;
    workspace(dir.path(), &stand_in_url);
    let clock = ManualClock::new(T0);
    let app = spawn_dir_app(dir.path(), &clock).await;
    let (s, b) = app
        .post(
            "/api/v1/channels",
            json!({ "id": "tg2", "kind": "telegram", "default_flow": "menu",
                    "settings": { "api_base": format!("{stand_in_url}/tg") },
                    "secrets": { "bot_token": "TG_TOKEN", "webhook_secret": "TG_SECRET" } }),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        b["webhook_url"],
        "https://support.example.com/webhooks/telegram/tg2"
    );
    // It takes webhooks and answers through the provider at once.
    let r = app
        .client
        .post(format!("{}/webhooks/telegram/tg2", app.url))
        .header("x-telegram-bot-api-secret-token", "tg-secret")
        .json(&json!({ "update_id": 1, "message": { "message_id": 1, "chat": { "id": 777 }, "text": "hi" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    eventually("the reply reaches Telegram", || async {
        stand_in
            .calls_to("sendMessage")
            .iter()
            .any(|(_, b)| b["chat_id"] == 777)
    })
    .await;
    // The checks of channels.yaml, every finding listed.
    let (s, b) = app
        .post(
            "/api/v1/channels",
            json!({ "id": "wa9", "kind": "whatsapp", "settings": { "phone_numbr_id": "1" },
                    "secrets": { "token": "WA_TOKEN" } }),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    let findings = b["error"].to_string();
    assert!(
        findings.contains("phone_numbr_id") && findings.contains("verify_token"),
        "{findings}"
    );
    let (s, b) = app
        .post(
            "/api/v1/channels",
            json!({ "id": "tg3", "kind": "telegram",
                    "secrets": { "bot_token": "NOT_SET", "webhook_secret": "TG_SECRET" } }),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert!(b.to_string().contains("NOT_SET"), "{b}");
    let (s, _) = app
        .post("/api/v1/channels", json!({ "id": "tg2", "kind": "telegram", "secrets": { "bot_token": "TG_TOKEN", "webhook_secret": "TG_SECRET" } }))
        .await;
    assert_eq!(s, 409, "the id is taken");
    let (s, b) = app
        .post("/api/v1/channels", json!({ "id": "sms1", "kind": "sms" }))
        .await;
    assert_eq!(s, 422, "{b}");
    assert!(b.to_string().contains("needs the setting `from`"), "{b}");
    app.stop().await;
}
