//! The web chat over real WebSockets and HTTP on loopback: sessions, the bot's buttons,
//! a message resent after a drop stored once, the transcript after a reconnect, an
//! agent's reply arriving live, delivery statuses, origins, and the HTTP fallback.
//! (The page itself is tested in a real browser: `tests/browser/`.)

use super::handoff::login_agent;
use super::helpers::*;
use futures_util::{SinkExt, StreamExt};
use relais_server::clock::ManualClock;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const FLOW: &str = r#"flow: shop
name: Shop
language: en
trigger: { on: message }
start: menu
steps:
  menu:
    ask:
      prompt:
        text: "Hello! What can I do for you?"
        buttons:
          - { id: track, title: "Track my order" }
          - { id: human, title: "Talk to someone" }
      routes:
        - { match: { button: track }, next: tracked }
        - { match: { button: human }, next: to_agent }
      invalid: "Please pick one."
  tracked:
    say: "Your parcel is on its way."
    next: menu
  to_agent:
    handoff: { team: support, say: "An agent will answer here." }
"#;

fn workspace(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    std::fs::write(dir.join("flows/shop.yaml"), FLOW).unwrap();
    std::fs::write(
        dir.join("channels.yaml"),
        "channels:\n  - { id: site, kind: webchat, default_flow: shop,\n      settings: { title: \"Acme <support>\", color: \"#0b6bcb\", origins: [\"https://shop.example\"] } }\n  - { id: open, kind: webchat, default_flow: shop }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("teams.yaml"),
        "teams:\n  - { id: support, name: Support, assignment: manual }\n",
    )
    .unwrap();
    std::fs::write(dir.join("relais.toml"), "[outbox]\nbackoff_base = \"1s\"\n").unwrap();
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(app: &TestApp, channel: &str, origin: Option<&str>) -> Result<Socket, u16> {
    let url = format!(
        "{}/webchat/{channel}/ws",
        app.url.replace("http://", "ws://")
    );
    let mut req = url.into_client_request().unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

async fn send(ws: &mut Socket, frame: Value) {
    ws.send(Ws::Text(frame.to_string().into())).await.unwrap();
}

/// The next JSON frame (pings skipped), within 5 s.
async fn next(ws: &mut Socket) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within 5 s")
            .expect("the socket is open")
            .unwrap();
        if let Ws::Text(t) = m {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

/// Frames until one matches `want`; returns them all.
async fn until(ws: &mut Socket, want: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let f = next(ws).await;
        let done = want(&f);
        seen.push(f);
        if done {
            return seen;
        }
    }
}

async fn hello(ws: &mut Socket, session: Option<&str>, after: i64) -> Value {
    send(
        ws,
        json!({ "t": "hello", "session": session, "after": after, "languages": ["en-GB"] }),
    )
    .await;
    let w = next(ws).await;
    assert_eq!(w["t"], "welcome", "{w}");
    w
}

fn texts(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .filter(|f| f["t"] == "msg")
        .map(|f| {
            format!(
                "{}: {}",
                f["from"].as_str().unwrap(),
                f["text"].as_str().unwrap()
            )
        })
        .collect()
}

async fn stored_inbound(app: &TestApp, text: &str) -> usize {
    app.transcripts()
        .await
        .iter()
        .filter(|m| m["direction"] == "inbound" && m["text"] == text)
        .count()
}

/// The newest conversation as the API lists it.
async fn newest(app: &TestApp) -> Value {
    let (_, list) = app.get("/api/v1/conversations").await;
    list["conversations"][0].clone()
}

/// An agent typing through one node reaches a visitor whose page is connected to
/// another node of the same PostgreSQL database (the typing is relayed through the
/// store's page beats).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_typing_on_one_node_reaches_a_visitor_on_another() {
    let Some(schema) = PgSchema::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let clock = ManualClock::new(T0);
    let url = schema.url();
    let vars = [("RELAIS__DATABASE__URL", url.as_str())];
    let one = spawn_dir_app_with(dir.path(), &clock, &vars).await;
    let two = spawn_dir_app_with(dir.path(), &clock, &vars).await;
    let mut ws = connect(&two, "open", None).await.unwrap();
    hello(&mut ws, None, 0).await;
    send(&mut ws, json!({ "t": "say", "id": "c1", "text": "hi" })).await;
    until(&mut ws, |f| f["t"] == "msg" && f["from"] == "bot").await;
    send(
        &mut ws,
        json!({ "t": "tap", "id": "c2", "button": "human", "text": "Talk to someone" }),
    )
    .await;
    until(&mut ws, |f| f["text"] == "An agent will answer here.").await;
    // The demo credentials are the last node's (each start mints them again).
    let agent = login_agent(&two, "ana@example.com", "agent", &["support"]).await;
    let conv = newest(&two).await["conversation"]["id"].as_i64().unwrap();
    let r = one
        .client
        .post(format!("{}/api/v1/conversations/{conv}/typing", one.url))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let heard = until(&mut ws, |f| f["t"] == "typing").await;
    assert_eq!(heard.last().unwrap()["from"], "agent");
    drop(ws);
    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_chats_with_the_bot_resumes_after_a_drop_and_gets_an_agents_reply_live() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let clock = ManualClock::new(T0);
    let app = spawn_dir_app(dir.path(), &clock).await;

    let mut ws = connect(&app, "site", Some("https://shop.example"))
        .await
        .unwrap();
    let w = hello(&mut ws, None, 0).await;
    let session = w["session"].as_str().unwrap().to_owned();
    assert_eq!(session.len(), 43);
    assert_eq!(w["messages"], json!([]));

    send(&mut ws, json!({ "t": "say", "id": "c1", "text": "hi" })).await;
    let frames = until(&mut ws, |f| f["t"] == "msg" && f["from"] == "bot").await;
    assert_eq!(frames[0]["t"], "ack", "{frames:?}");
    assert_eq!(frames[0]["id"], "c1");
    assert_eq!(frames[0]["duplicate"], false);
    assert_eq!(
        texts(&frames),
        ["you: hi", "bot: Hello! What can I do for you?"]
    );
    let menu = frames.last().unwrap();
    assert_eq!(
        menu["choices"],
        json!([{ "id": "track", "title": "Track my order" }, { "id": "human", "title": "Talk to someone" }])
    );
    assert_eq!(
        frames[1]["client_id"], "c1",
        "the sender's tab matches its own message"
    );

    // The line drops after the tap was sent: the browser sends it again on the new
    // socket; it is stored and answered once.
    send(
        &mut ws,
        json!({ "t": "tap", "id": "c2", "button": "track", "text": "Track my order" }),
    )
    .await;
    let frames = until(&mut ws, |f| {
        f["t"] == "msg" && f["text"] == "Hello! What can I do for you?"
    })
    .await;
    assert!(
        texts(&frames).contains(&"bot: Your parcel is on its way.".to_owned()),
        "{frames:?}"
    );
    let last_seen = frames
        .iter()
        .filter_map(|f| f["id"].as_i64())
        .max()
        .unwrap();
    drop(ws);

    let mut ws = connect(&app, "site", Some("https://shop.example"))
        .await
        .unwrap();
    let w = hello(&mut ws, Some(&session), 0).await;
    assert_eq!(w["session"], session.as_str(), "the session is resumed");
    assert_eq!(
        texts(w["messages"].as_array().unwrap()),
        [
            "you: hi",
            "bot: Hello! What can I do for you?",
            "you: Track my order",
            "bot: Your parcel is on its way.",
            "bot: Hello! What can I do for you?",
        ],
        "after a reload the whole transcript is shown"
    );
    send(
        &mut ws,
        json!({ "t": "tap", "id": "c2", "button": "track", "text": "Track my order" }),
    )
    .await;
    let ack = next(&mut ws).await;
    assert_eq!(
        (ack["t"].as_str(), ack["duplicate"].as_bool()),
        (Some("ack"), Some(true)),
        "{ack}"
    );
    assert_eq!(stored_inbound(&app, "Track my order").await, 1);

    // A second tab of the same session, resuming after what it has, hears the other
    // tab's message and its answer.
    let mut tab2 = connect(&app, "site", Some("https://shop.example"))
        .await
        .unwrap();
    let w2 = hello(&mut tab2, Some(&session), last_seen).await;
    assert_eq!(w2["messages"], json!([]));
    send(
        &mut ws,
        json!({ "t": "tap", "id": "c3", "button": "human", "text": "Talk to someone" }),
    )
    .await;
    let heard = until(&mut tab2, |f| f["text"] == "An agent will answer here.").await;
    assert_eq!(
        texts(&heard),
        ["you: Talk to someone", "bot: An agent will answer here."]
    );
    until(&mut ws, |f| f["text"] == "An agent will answer here.").await;

    // Another visitor hears nothing of it.
    let mut other = connect(&app, "site", None).await.unwrap();
    let wo = hello(&mut other, None, 0).await;
    assert_ne!(wo["session"], session.as_str());
    assert_eq!(wo["messages"], json!([]));

    // An agent answers through the API: both tabs see her typing, then get the reply
    // live, as an agent's message.
    let agent = login_agent(&app, "ana@example.com", "agent", &["support"]).await;
    let conv = newest(&app).await["conversation"]["id"].as_i64().unwrap();
    let r = app
        .client
        .post(format!("{}/api/v1/conversations/{conv}/typing", app.url))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    for tab in [&mut ws, &mut tab2] {
        assert_eq!(
            until(tab, |f| f["t"] == "typing").await.last().unwrap()["from"],
            "agent"
        );
    }
    let r = app
        .client
        .post(format!("{}/api/v1/conversations/{conv}/reply", app.url))
        .bearer_auth(&agent.token)
        .json(&json!({ "text": "Hi, Ana here. Let me look." }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for tab in [&mut ws, &mut tab2] {
        let got = until(tab, |f| f["t"] == "msg" && f["from"] == "agent").await;
        assert_eq!(got.last().unwrap()["text"], "Hi, Ana here. Let me look.");
    }
    let agent_msg = until(&mut other, |_| true);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), agent_msg)
            .await
            .is_err(),
        "another visitor must not hear it"
    );

    // The visitor saw it: the agent's message becomes `read`.
    let id = app
        .transcripts()
        .await
        .iter()
        .find(|m| m["text"] == "Hi, Ana here. Let me look.")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    send(&mut ws, json!({ "t": "seen", "up_to": id, "read": true })).await;
    eventually("the agent's message is read", || async {
        app.transcripts()
            .await
            .iter()
            .any(|m| m["id"] == id && m["status"] == "read")
    })
    .await;

    // An agent's file reaches the page as a link.
    let r = app
        .client
        .post(format!("{}/api/v1/conversations/{conv}/reply", app.url))
        .bearer_auth(&agent.token)
        .json(&json!({ "text": "Your invoice", "attachment": { "url": "https://files.example/inv-42.pdf", "filename": "invoice-42.pdf" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let got = until(&mut ws, |f| f["text"] == "Your invoice").await;
    assert_eq!(
        got.last().unwrap()["file"],
        json!({ "url": "https://files.example/inv-42.pdf", "name": "invoice-42.pdf" })
    );

    // Bad frames get an error frame, not a closed socket.
    send(&mut ws, json!({ "t": "shout" })).await;
    assert_eq!(next(&mut ws).await["t"], "error");
    send(&mut ws, json!({ "t": "say", "id": "c9", "text": "   " })).await;
    let e = next(&mut ws).await;
    assert_eq!(
        (e["t"].as_str(), e["id"].as_str()),
        (Some("error"), Some("c9")),
        "{e}"
    );
    send(&mut ws, json!({ "t": "ping" })).await;
    assert_eq!(next(&mut ws).await["t"], "pong");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origins_are_enforced_and_the_http_fallback_speaks_the_same_frames() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let clock = ManualClock::new(T0);
    let app = spawn_dir_app(dir.path(), &clock).await;

    // Origins: a page elsewhere may not open the socket or post; Relais's own may.
    assert_eq!(
        connect(&app, "site", Some("https://evil.example"))
            .await
            .err(),
        Some(403)
    );
    let own = app.url.clone();
    assert!(connect(&app, "site", Some(&own)).await.is_ok());
    assert!(
        connect(&app, "open", Some("https://anywhere.example"))
            .await
            .is_ok()
    );
    assert_eq!(connect(&app, "nope", None).await.err(), Some(404));
    let post = |channel: &str, origin: Option<&str>, body: Value| {
        let mut r = app
            .client
            .post(format!("{}/webchat/{channel}/http", app.url))
            .json(&body);
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        async move {
            let r = r.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (s, _) = post("site", Some("https://evil.example"), json!({})).await;
    assert_eq!(s, 403);

    // The fallback: a message and its answer in one exchange.
    let (s, b) = post(
        "site",
        Some("https://shop.example"),
        json!({ "frames": [{ "t": "say", "id": "h1", "text": "hello" }], "languages": ["fr-FR", "en"] }),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let session = b["session"].as_str().unwrap().to_owned();
    let frames = b["frames"].as_array().unwrap();
    assert_eq!(frames[0]["t"], "ack");
    assert_eq!(
        texts(frames),
        ["you: hello", "bot: Hello! What can I do for you?"]
    );
    let cursor = b["cursor"].as_i64().unwrap();
    // The browser's language is the new contact's.
    let conv = newest(&app).await;
    assert_eq!(conv["contact"]["language"], "fr", "{conv}");

    // A long poll is answered when the bot speaks again (the menu's button).
    let poll = post(
        "site",
        Some("https://shop.example"),
        json!({ "session": session, "after": cursor, "wait": true }),
    );
    let tap = post(
        "site",
        Some("https://shop.example"),
        json!({ "session": session, "after": cursor, "frames": [{ "t": "tap", "id": "h2", "button": "track", "text": "Track my order" }] }),
    );
    let ((s1, polled), (s2, _)) = tokio::join!(poll, async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        tap.await
    });
    assert_eq!((s1, s2), (200, 200));
    assert!(
        texts(polled["frames"].as_array().unwrap()).contains(&"you: Track my order".to_owned()),
        "{polled}"
    );
    // Too many frames, or a body that is not frames, are refused with the field named.
    let many: Vec<Value> = (0..51)
        .map(|i| json!({ "t": "say", "id": format!("x{i}"), "text": "x" }))
        .collect();
    let (s, b) = post("site", None, json!({ "frames": many })).await;
    assert_eq!(s, 400, "{b}");
    let (s, _) = post("site", None, json!({ "frames": [{ "t": "say" }] })).await;
    assert_eq!(s, 400);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_widget_carry_the_channels_look_escaped_and_its_framing_policy() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let clock = ManualClock::new(T0);
    let app = spawn_dir_app(dir.path(), &clock).await;
    let get = |path: &str| app.client.get(format!("{}{path}", app.url)).send();

    let page = get("/webchat/site").await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors 'self' https://shop.example"),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(page.headers().get("x-frame-options").is_none());
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<title>Acme &lt;support&gt;</title>"),
        "{html}"
    );
    assert!(html.contains("aria-label=\"Message\"") && html.contains("aria-label=\"Send\""));
    assert!(html.contains("data-color=\"#0b6bcb\""));
    let open = get("/webchat/open").await.unwrap();
    assert!(
        open.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors *")
    );

    let widget = get("/webchat/site/widget.js")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        widget.contains(
            r##"{"channel":"site","color":"#0b6bcb","title":"Acme \u003csupport\u003e"}"##
        ),
        "the widget carries the look as JSON that cannot close its script"
    );
    assert!(!widget.contains("/*CONFIG*/"));
    for path in ["/webchat/site/chat.js", "/webchat/site/chat.css"] {
        assert_eq!(get(path).await.unwrap().status(), 200, "{path}");
    }
    assert_eq!(get("/webchat/nope").await.unwrap().status(), 404);
    // The API's own framing policy is untouched.
    let api = get("/health").await.unwrap();
    assert_eq!(api.headers()["x-frame-options"], "DENY");
    app.stop().await;
}

/// A web chat whose fallback is an email channel (a local SMTP server behind it).
fn workspace_with_email(dir: &std::path::Path, smtp_port: u16) {
    workspace(dir);
    std::fs::write(
        dir.join("channels.yaml"),
        format!(
            "channels:\n  - {{ id: site, kind: webchat, default_flow: shop, fallback: mail }}\n  - {{ id: mail, kind: email, default_flow: shop,\n      settings: {{ from: \"Acme <support@acme.example>\", smtp: \"smtp://127.0.0.1:{smtp_port}\", rate: 100 }},\n      secrets: {{ inbound_token: MAIL_IN }} }}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("relais.toml"),
        "[secrets]\nMAIL_IN = \"inbound-secret\"\n[outbox]\nbackoff_base = \"1s\"\n",
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_who_leaves_while_waiting_is_answered_by_email_in_the_same_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let (smtp, port) = super::email::smtp_server().await;
    workspace_with_email(dir.path(), port);
    let clock = ManualClock::new(T0);
    let app = spawn_dir_app(dir.path(), &clock).await;
    let agent = login_agent(&app, "ana@example.com", "agent", &["support"]).await;

    let mut ws = connect(&app, "site", None).await.unwrap();
    let session = hello(&mut ws, None, 0).await["session"]
        .as_str()
        .unwrap()
        .to_owned();
    send(&mut ws, json!({ "t": "say", "id": "c1", "text": "hi" })).await;
    until(&mut ws, |f| f["from"] == "bot").await;
    // Handed over: the visitor is asked for an email, once.
    send(
        &mut ws,
        json!({ "t": "tap", "id": "c2", "button": "human", "text": "Talk to someone" }),
    )
    .await;
    let frames = until(&mut ws, |f| f["t"] == "ask_email").await;
    assert!(texts(&frames).contains(&"bot: An agent will answer here.".to_owned()));
    send(
        &mut ws,
        json!({ "t": "email", "address": "not an address" }),
    )
    .await;
    assert_eq!(next(&mut ws).await["field"], "email");
    send(
        &mut ws,
        json!({ "t": "email", "address": "Zoe.Visitor@Example.com" }),
    )
    .await;
    let saved = next(&mut ws).await;
    assert_eq!(
        saved,
        json!({ "t": "email_saved", "address": "zoe.visitor@example.com" })
    );

    // While the visitor is on the page, the agent's reply is shown there.
    let conv = newest(&app).await["conversation"]["id"].as_i64().unwrap();
    let reply = |text: &'static str| {
        let r = app
            .client
            .post(format!("{}/api/v1/conversations/{conv}/reply", app.url))
            .bearer_auth(&agent.token)
            .json(&json!({ "text": text }));
        async move { r.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(reply("Hello Zoe, I am looking at it.").await, 200);
    let got = until(&mut ws, |f| f["from"] == "agent").await;
    assert_eq!(got.last().unwrap()["channel"], "site");
    assert!(smtp.lock().unwrap().is_empty());

    // The visitor leaves; two minutes later the agent's answer goes by email.
    drop(ws);
    let site = relais_core::id::ChannelId("site".into());
    let address = relais_server::channel::webchat::address_of(&site, &session).unwrap();
    eventually("the visitor has left the page for two minutes", || async {
        clock.advance(relais_core::Duration::seconds(30));
        !app.rt.visitors.here(&site, &address)
    })
    .await;
    // Another node still has her page open (its heartbeat is in the store): the reply
    // stays on the web chat.
    assert!(
        app.rt
            .store
            .visitor_seen(site.clone(), address.clone(), app.rt.clock.now())
            .await
            .unwrap()
    );
    assert_eq!(reply("One more thing: which colour was it?").await, 200);
    eventually("the reply is sent on the web chat", || async {
        app.transcripts().await.iter().any(|m| {
            m["text"] == "One more thing: which colour was it?"
                && m["channel"] == "site"
                && m["status"] == "sent"
        })
    })
    .await;
    assert!(smtp.lock().unwrap().is_empty());
    // Three minutes without a heartbeat from any node: she has left.
    clock.advance(relais_core::Duration::minutes(3));
    assert_eq!(reply("Your parcel left this morning.").await, 200);
    eventually("the answer is emailed", || async {
        !smtp.lock().unwrap().is_empty()
    })
    .await;
    let sent = smtp.lock().unwrap()[0].clone();
    assert_eq!(sent.to, ["RCPT TO:<zoe.visitor@example.com>"]);
    let mail = mail_parser::MessageParser::default()
        .parse(&sent.data)
        .unwrap();
    assert_eq!(
        mail.subject(),
        Some(format!("Your conversation #{conv}").as_str())
    );
    assert!(
        mail.body_text(0)
            .unwrap()
            .contains("Your parcel left this morning.")
    );
    let ours = mail.message_id().unwrap().to_owned();
    let emailed = app
        .transcripts()
        .await
        .into_iter()
        .find(|m| m["text"] == "Your parcel left this morning.")
        .unwrap();
    assert_eq!(
        emailed["channel"], "mail",
        "the transcript says email carried it"
    );
    assert_eq!(emailed["conversation"], conv);

    // Zoe answers the email: it joins the same conversation, and the next answer is
    // threaded onto hers.
    let raw = format!(
        "From: Zoe <zoe.visitor@example.com>\r\nTo: support@acme.example\r\nSubject: Re: Your conversation #{conv}\r\nMessage-ID: <zoe-1@example.com>\r\nIn-Reply-To: <{ours}>\r\nReferences: <{ours}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGreat, thank you! Can it come on Friday?\r\n\r\nOn Mon, Acme <support@acme.example> wrote:\r\n> Your parcel left this morning.\r\n"
    );
    let r = app
        .client
        .post(format!("{}/webhooks/email/mail", app.url))
        .bearer_auth("inbound-secret")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer = app
        .transcripts()
        .await
        .into_iter()
        .find(|m| m["text"] == "Great, thank you! Can it come on Friday?")
        .unwrap();
    assert_eq!(answer["conversation"], conv, "the same conversation");
    assert_eq!(answer["channel"], "mail");
    let (_, list) = app.get("/api/v1/conversations").await;
    assert_eq!(
        list["conversations"].as_array().unwrap().len(),
        1,
        "no new conversation: {list}"
    );
    assert_eq!(reply("Friday it is.").await, 200);
    eventually("the second answer is emailed", || async {
        smtp.lock().unwrap().len() == 2
    })
    .await;
    // The send's record (its channel) is journaled after the relay took the mail.
    eventually("the second answer is recorded as emailed", || async {
        app.transcripts()
            .await
            .iter()
            .any(|m| m["text"] == "Friday it is." && m["channel"] == "mail")
    })
    .await;
    let second = smtp.lock().unwrap()[1].clone();
    let m = mail_parser::MessageParser::default()
        .parse(&second.data)
        .unwrap();
    assert_eq!(m.in_reply_to().as_text(), Some("zoe-1@example.com"));
    assert_eq!(
        m.subject(),
        Some(format!("Re: Your conversation #{conv}").as_str())
    );

    // Back on the web chat, the whole conversation is there, the email part marked.
    let mut ws = connect(&app, "site", None).await.unwrap();
    let w = hello(&mut ws, Some(&session), 0).await;
    let msgs = w["messages"].as_array().unwrap();
    let by_mail: Vec<&str> = msgs
        .iter()
        .filter(|m| m["via"] == "email")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        by_mail,
        [
            "Your parcel left this morning.",
            "Great, thank you! Can it come on Friday?",
            "Friday it is."
        ],
        "{msgs:?}"
    );
    // Her page beats again: the store knows she is back.
    eventually("the page's heartbeat is in the store", || async {
        app.rt
            .store
            .visitor_seen_at(site.clone(), address.clone())
            .await
            .unwrap()
            == Some(app.rt.clock.now())
    })
    .await;
    app.stop().await;
}
