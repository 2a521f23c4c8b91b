//! The human half over real HTTP: a customer on the REST channel asks for an agent, an
//! agent logged in through the API gets the live event, answers (once, despite a double
//! submit), the customer receives it, the agent solves, the customer answers the survey,
//! and the conversation closes after `auto_close`; a webhook hears the four ticket
//! events.

use crate::helpers::*;
use relais_core::Duration;
use relais_server::clock::ManualClock;
use serde_json::{Value, json};

/// Monday 2026-11-23 10:00 Paris: the support team is open.
const MONDAY_10H: relais_core::Timestamp = relais_core::Timestamp(1_795_424_400_000);

pub struct Agent {
    pub token: String,
    pub id: i64,
}

/// Creates an agent (as the admin), logs them in, returns their session.
pub async fn login_agent(app: &TestApp, email: &str, role: &str, teams: &[&str]) -> Agent {
    let password = "correct horse battery staple";
    let (s, b) = app
        .post(
            "/api/v1/agents",
            json!({ "email": email, "name": email, "role": role, "password": password, "teams": teams }),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let r = app
        .client
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    Agent {
        token: b["token"].as_str().unwrap().to_owned(),
        id: b["agent"]["id"].as_i64().unwrap(),
    }
}

pub async fn call(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}{path}", app.url);
    let req = match method {
        "GET" => app.client.get(url),
        "PUT" => app.client.put(url),
        "DELETE" => app.client.delete(url),
        _ => app.client.post(url),
    }
    .bearer_auth(token);
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Reads the SSE stream until an event of `kind` for `conversation` arrives.
async fn next_event(
    stream: &mut reqwest::Response,
    buf: &mut String,
    kind: &str,
    conversation: i64,
) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let event = frame
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or("");
            let data = frame
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap_or("null");
            let v: Value = serde_json::from_str(data).unwrap_or(Value::Null);
            if event == kind && v["conversation"] == conversation {
                return v;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {kind} event for {conversation}"
        );
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), stream.chunk())
            .await
            .expect("the stream stalled")
            .unwrap()
            .expect("the stream ended");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn a_customer_reaches_an_agent_who_answers_solves_and_gets_rated() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MONDAY_10H);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    let (rec, hook) = Recorder::start().await;
    let (s, ch) = app
        .post(
            "/api/v1/channels",
            json!({ "id": "shop-api", "kind": "rest", "callback_url": hook }),
        )
        .await;
    assert_eq!(s, 201, "{ch}");
    app.rt.reload_channels().await.unwrap();
    let web = ch["token"].as_str().unwrap().to_owned();
    // The support team's own system hears the four ticket events.
    let (hooked, hook_url) = Recorder::start().await;
    let (s, b) = app
        .post(
            "/api/v1/webhooks",
            json!({ "kind": "generic", "url": hook_url,
                    "events": ["escalated", "assigned", "customer_replied", "solved"] }),
        )
        .await;
    assert_eq!(s, 201, "{b}");

    let ana = login_agent(&app, "ana@example.com", "agent", &["support"]).await;
    let (s, _) = call(
        &app,
        &ana.token,
        "PUT",
        "/api/v1/me/presence",
        Some(json!({ "presence": "online" })),
    )
    .await;
    assert_eq!(s, 200);
    let mut stream = app
        .client
        .get(format!("{}/api/v1/stream", app.url))
        .bearer_auth(&ana.token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut buf = String::new();

    // The customer asks for a human: transferred, and Ana (online, with room) gets it.
    let (s, b) = app
        .converse_on(
            "shop-api",
            &web,
            json!({ "sender": "zoe", "text": "Bonjour, je veux parler à un conseiller" }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let conv = b["conversation_id"].as_i64().unwrap();
    assert!(
        b["replies"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Je vous transfère"),
        "{b}"
    );
    let live = next_event(&mut stream, &mut buf, "assigned", conv).await;
    assert_eq!(live["assignee"], ana.id);

    let (_, mine) = call(
        &app,
        &ana.token,
        "GET",
        "/api/v1/conversations?view=mine",
        None,
    )
    .await;
    assert_eq!(
        mine["conversations"][0]["conversation"]["id"], conv,
        "{mine}"
    );
    let (_, detail) = call(
        &app,
        &ana.token,
        "GET",
        &format!("/api/v1/conversations/{conv}"),
        None,
    )
    .await;
    assert_eq!(detail["escalation_reason"], "keyword", "{detail}");
    assert!(
        detail["messages"].as_array().unwrap().len() >= 2,
        "the bot part is in the transcript"
    );

    // A double submit sends once; the customer's integration receives it.
    let reply =
        json!({ "text": "Bonjour, je suis Ana. Que puis-je faire ?", "client_id": "ana-1" });
    let (s1, r1) = call(
        &app,
        &ana.token,
        "POST",
        &format!("/api/v1/conversations/{conv}/reply"),
        Some(reply.clone()),
    )
    .await;
    let (s2, r2) = call(
        &app,
        &ana.token,
        "POST",
        &format!("/api/v1/conversations/{conv}/reply"),
        Some(reply),
    )
    .await;
    assert_eq!((s1, s2), (200, 200), "{r1} {r2}");
    assert_eq!(r2["duplicate"], true);
    assert_eq!(r1["message"]["id"], r2["message"]["id"]);
    eventually("the agent's reply reaches the customer", || async {
        rec.bodies()
            .iter()
            .any(|b| b["text"] == "Bonjour, je suis Ana. Que puis-je faire ?")
    })
    .await;

    // While the human owns it, the bot never answers.
    let (_, b) = app
        .converse_on(
            "shop-api",
            &web,
            json!({ "sender": "zoe", "text": "Ma commande A123 n'est pas arrivée" }),
        )
        .await;
    assert_eq!(b["replies"], json!([]), "{b}");
    next_event(&mut stream, &mut buf, "message_received", conv).await;

    // Ana solves: the survey goes out in French; the answer is stored.
    let (s, b) = call(
        &app,
        &ana.token,
        "POST",
        &format!("/api/v1/conversations/{conv}/solve"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    eventually("the survey reaches the customer", || async {
        rec.bodies().iter().any(|b| {
            b["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("Comment évaluez-vous"))
        })
    })
    .await;
    let (_, b) = app
        .converse_on("shop-api", &web, json!({ "sender": "zoe", "text": "5" }))
        .await;
    assert_eq!(b["replies"][0]["text"], "Merci pour votre réponse !", "{b}");
    let (_, detail) = call(
        &app,
        &ana.token,
        "GET",
        &format!("/api/v1/conversations/{conv}"),
        None,
    )
    .await;
    assert_eq!(detail["csat"]["score"], 5, "{detail}");
    assert_eq!(detail["conversation"]["conversation"]["status"], "solved");
    let sent = rec
        .bodies()
        .iter()
        .filter(|b| b["text"] == "Bonjour, je suis Ana. Que puis-je faire ?")
        .count();
    assert_eq!(sent, 1, "the double submit was sent once");
    eventually("the webhook heard the four ticket events", || async {
        let events: Vec<String> = hooked
            .bodies()
            .iter()
            .map(|b| b["event"].as_str().unwrap_or_default().to_owned())
            .collect();
        ["escalated", "assigned", "customer_replied", "solved"]
            .iter()
            .all(|e| events.iter().any(|got| got == e))
    })
    .await;
    let heard = hooked.bodies();
    assert!(
        heard.iter().all(|b| b["conversation"]["id"] == conv),
        "{heard:?}"
    );
    assert_eq!(heard[0]["event"], "escalated", "in the order they happened");
    let replied = heard
        .iter()
        .find(|b| b["event"] == "customer_replied")
        .unwrap();
    assert_eq!(replied["conversation"]["assignee"], ana.id, "{replied}");

    // A reconnecting client resumes with Last-Event-ID: the assignment is replayed.
    drop(stream);
    let mut again = app
        .client
        .get(format!("{}/api/v1/stream", app.url))
        .bearer_auth(&ana.token)
        .header("Last-Event-ID", "0")
        .send()
        .await
        .unwrap();
    let mut buf2 = String::new();
    let replayed = next_event(&mut again, &mut buf2, "assigned", conv).await;
    assert_eq!(replayed["assignee"], ana.id);
    drop(again);

    // After auto_close (4 days) the conversation is closed (Ana's 12-hour session has
    // expired by then: the admin looks).
    clock.advance(Duration(Duration::days(4).0 + Duration::minutes(1).0));
    eventually("the conversation closes after auto_close", || async {
        let (_, d) = app.get(&format!("/api/v1/conversations/{conv}")).await;
        d["conversation"]["conversation"]["status"] == "closed"
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn presence_follows_activity_and_idleness() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MONDAY_10H);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    let bea = login_agent(&app, "bea@example.com", "agent", &["support"]).await;
    let presence = || async {
        app.rt
            .store
            .agents()
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.id.0 == bea.id)
            .unwrap()
            .presence
    };
    assert_eq!(presence().await, relais_core::agent::Presence::Offline);
    // Opening the live stream is activity: online.
    let stream = app
        .client
        .get(format!("{}/api/v1/stream", app.url))
        .bearer_auth(&bea.token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(presence().await, relais_core::agent::Presence::Online);
    drop(stream);
    // 31 idle minutes: away.
    clock.advance(Duration::minutes(31));
    eventually("an idle agent becomes away", || async {
        presence().await == relais_core::agent::Presence::Away
    })
    .await;
    // Working again: online.
    let (_, b) = app
        .converse(json!({ "sender": "+33677777777", "text": "je veux parler à un conseiller" }))
        .await;
    let conv = b["conversation_id"].as_i64().unwrap();
    let (s, b) = call(
        &app,
        &bea.token,
        "POST",
        &format!("/api/v1/conversations/{conv}/notes"),
        Some(json!({ "text": "je prends" })),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(presence().await, relais_core::agent::Presence::Online);
    app.stop().await;
}

#[tokio::test]
async fn canned_responses_are_created_listed_edited_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MONDAY_10H);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    let (s, b) = app
        .post("/api/v1/canned", json!({ "shortcut": "delai", "title": "Délai", "body": "Comptez 48 h.", "language": "fr" }))
        .await;
    assert_eq!(s, 201, "{b}");
    let id = b["canned"]["id"].as_i64().unwrap();
    let (s, b) = app
        .post(
            "/api/v1/canned",
            json!({ "shortcut": "delai", "title": "x", "body": "y" }),
        )
        .await;
    assert_eq!(s, 409, "{b}");
    let (s, b) = app
        .post(
            "/api/v1/canned",
            json!({ "shortcut": "bad shortcut", "title": "x", "body": "y" }),
        )
        .await;
    assert_eq!((s, b["error"]["field"].as_str()), (400, Some("shortcut")));
    let r = app
        .client
        .put(format!("{}/api/v1/canned/{id}", app.url))
        .bearer_auth(&app.admin_token)
        .json(&json!({ "shortcut": "delai", "title": "Délai", "body": "Comptez 24 h.", "language": "fr" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ana = login_agent(&app, "cara@example.com", "agent", &["support"]).await;
    let (_, list) = call(&app, &ana.token, "GET", "/api/v1/canned", None).await;
    assert_eq!(list["canned"][0]["body"], "Comptez 24 h.", "{list}");
    assert_eq!(list["canned"][0]["language"], "fr");
    let del = |who: String| {
        let app = &app;
        async move {
            app.client
                .delete(format!("{}/api/v1/canned/{id}", app.url))
                .bearer_auth(who)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        del(ana.token.clone()).await,
        403,
        "agents do not change configuration"
    );
    assert_eq!(del(app.admin_token.clone()).await, 204);
    assert_eq!(del(app.admin_token.clone()).await, 404);
    app.stop().await;
}

#[tokio::test]
async fn a_team_made_through_the_api_has_business_hours_that_flows_see() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MONDAY_10H);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    let (s, b) = app
        .post(
            "/api/v1/teams",
            json!({ "id": "night", "name": "Night desk", "assignment": "manual",
                    "hours": { "tz": "Europe/Paris", "mon-sun": "22:00-23:59" }, "holidays": ["2026-12-25"] }),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = app
        .post(
            "/api/v1/teams",
            json!({ "id": "bad", "name": "Bad", "assignment": "manual", "hours": { "tz": "Mars/Olympus" } }),
        )
        .await;
    assert_eq!(
        (s, b["error"]["field"].as_str()),
        (400, Some("hours")),
        "{b}"
    );
    let (_, teams) = app.get("/api/v1/teams").await;
    let night = teams["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "night")
        .unwrap()
        .clone();
    assert_eq!(night["hours"]["tz"], "Europe/Paris", "{night}");

    // A flow may now hand off to it; at 10:00 the night desk is closed.
    std::fs::write(
        dir.path().join("flows/night.yaml"),
        "flow: night\nlanguage: fr\ntrigger: { on: \"event:night.test\" }\nstart: go\nsteps:\n  go:\n    handoff: { team: night }\n",
    )
    .unwrap();
    let (s, b) = app.post("/api/v1/reload", json!({})).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app
        .post(
            "/api/v1/events",
            json!({ "name": "night.test", "channel": "demo",
                    "contact": { "address": "owl", "language": "fr", "consent": { "rest": true } } }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let text = b["messages"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("absents") && text.contains("2026-11-23 22:00"),
        "{text}"
    );
    app.stop().await;
}
