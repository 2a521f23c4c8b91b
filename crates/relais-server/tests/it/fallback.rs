//! The fallback chain (SPEC §6) on the manual clock: WhatsApp → SMS → email. An agent's
//! reply after the WhatsApp window has closed goes by SMS (the same number); the SMS
//! provider refuses it for good, so it goes by email (the address the contact gave);
//! the transcript says which channel carried it, and each move is in the event log.

use super::handoff::login_agent;
use super::helpers::*;
use super::sms::{Twilio, field};
use relais_server::clock::ManualClock;
use serde_json::{Value, json};

/// WhatsApp's side: answers every send with a message id.
async fn whatsapp() -> (std::sync::Arc<std::sync::Mutex<Vec<Value>>>, String) {
    let calls: std::sync::Arc<std::sync::Mutex<Vec<Value>>> = Default::default();
    let seen = calls.clone();
    let app = axum::Router::new().route(
        "/{*path}",
        axum::routing::post(move |body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let n = {
                    let mut c = seen.lock().unwrap();
                    c.push(v);
                    c.len()
                };
                axum::Json(json!({ "messaging_product": "whatsapp", "messages": [{ "id": format!("wamid.OUT{n}") }] }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (calls, url)
}

const FLOW: &str = r#"flow: shop
name: Shop
language: en
trigger: { on: message }
start: to_agent
steps:
  to_agent:
    handoff: { team: support, say: "An agent will answer." }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_outside_the_window_goes_by_sms_then_by_email_when_sms_fails_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let (wa_calls, wa) = whatsapp().await;
    let (twilio, api) = Twilio::start().await;
    let (smtp, smtp_port) = super::email::smtp_server().await;
    std::fs::create_dir_all(dir.path().join("flows")).unwrap();
    std::fs::write(dir.path().join("flows/shop.yaml"), FLOW).unwrap();
    std::fs::write(
        dir.path().join("teams.yaml"),
        "teams:\n  - { id: support, name: Support, assignment: manual }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("channels.yaml"),
        format!(
            "channels:\n  - {{ id: wa, kind: whatsapp, default_flow: shop, fallback: sms,\n      settings: {{ phone_number_id: \"106540352242922\", api_base: \"{wa}\" }},\n      secrets: {{ token: WA_TOKEN, app_secret: WA_APP_SECRET, verify_token: WA_VERIFY }} }}\n  - {{ id: sms, kind: sms, default_flow: shop, fallback: mail,\n      settings: {{ from: \"+33757000000\", api_base: \"{api}\", rate: 100 }},\n      secrets: {{ account: TWILIO_SID, token: TWILIO_TOKEN }} }}\n  - {{ id: mail, kind: email, default_flow: shop,\n      settings: {{ from: \"support@acme.example\", smtp: \"smtp://127.0.0.1:{smtp_port}\", rate: 100 }},\n      secrets: {{ inbound_token: MAIL_IN }} }}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("relais.toml"),
        "[secrets]\nWA_TOKEN = \"t\"\nWA_APP_SECRET = \"wa-app-secret\"\nWA_VERIFY = \"v\"\nTWILIO_SID = \"AC1\"\nTWILIO_TOKEN = \"twilio-auth-token\"\nMAIL_IN = \"in\"\n[outbox]\nbackoff_base = \"1s\"\n",
    )
    .unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_dir_app(dir.path(), &clock).await;

    // Léa writes on WhatsApp and asks for a human.
    let body = serde_json::to_vec(&json!({ "object": "whatsapp_business_account", "entry": [{ "id": "W", "changes": [{ "field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": { "phone_number_id": "106540352242922" },
        "contacts": [{ "profile": { "name": "Léa" }, "wa_id": "33600000033" }],
        "messages": [{ "from": "33600000033", "id": "wamid.L1", "timestamp": "1800000000", "type": "text", "text": { "body": "I need help" } }] } }] }] }))
    .unwrap();
    let sig = relais_server::channel::meta::sign("wa-app-secret", &body);
    let r = app
        .client
        .post(format!("{}/webhooks/whatsapp/wa", app.url))
        .header("x-hub-signature-256", sig)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    eventually("the handoff message reaches WhatsApp", || async {
        wa_calls
            .lock()
            .unwrap()
            .iter()
            .any(|b| b["text"]["body"] == "An agent will answer.")
    })
    .await;
    let (_, list) = app.get("/api/v1/conversations").await;
    let conv = list["conversations"][0]["conversation"]["id"]
        .as_i64()
        .unwrap();
    let contact = list["conversations"][0]["contact"]["id"].as_i64().unwrap();
    // She once gave her email (the web chat, a form): the last resort.
    assert!(
        app.rt
            .store
            .set_contact_email(
                relais_core::id::ChannelId("wa".into()),
                "33600000033".into(),
                "lea@example.com".into(),
                T0
            )
            .await
            .unwrap()
    );

    // 25 hours later the WhatsApp window is closed: the agent's reply goes by SMS.
    clock.advance(relais_core::Duration::hours(25));
    let agent = login_agent(&app, "ana@example.com", "agent", &["support"]).await;
    let reply = |text: &'static str| {
        let r = app
            .client
            .post(format!("{}/api/v1/conversations/{conv}/reply", app.url))
            .bearer_auth(&agent.token)
            .json(&json!({ "text": text }));
        async move { r.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(reply("Sorry for the wait, your refund is done.").await, 200);
    eventually("the reply is sent by SMS to the same number", || async {
        twilio.sent().iter().any(|(_, _, f)| {
            field(f, "To") == Some("+33600000033")
                && field(f, "Body") == Some("Sorry for the wait, your refund is done.")
        })
    })
    .await;
    assert!(
        !wa_calls
            .lock()
            .unwrap()
            .iter()
            .any(|b| b["text"]["body"] == "Sorry for the wait, your refund is done."),
        "nothing sent on WhatsApp outside its window"
    );
    let by_sms = app
        .transcripts()
        .await
        .into_iter()
        .find(|m| m["text"] == "Sorry for the wait, your refund is done.")
        .unwrap();
    assert_eq!(by_sms["channel"], "sms");

    // The SMS provider now refuses the number for good: the next reply goes by email.
    twilio
        .refuse
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(reply("Here is your receipt number: R-889.").await, 200);
    eventually("the reply is emailed", || async {
        !smtp.lock().unwrap().is_empty()
    })
    .await;
    let mail = smtp.lock().unwrap()[0].clone();
    assert_eq!(mail.to, ["RCPT TO:<lea@example.com>"]);
    let parsed = mail_parser::MessageParser::default()
        .parse(&mail.data)
        .unwrap();
    assert!(
        parsed
            .body_text(0)
            .unwrap()
            .contains("Here is your receipt number: R-889.")
    );
    let by_mail = app
        .transcripts()
        .await
        .into_iter()
        .find(|m| m["text"] == "Here is your receipt number: R-889.")
        .unwrap();
    assert_eq!(
        by_mail["channel"], "mail",
        "the transcript says email carried it"
    );
    assert_eq!(by_mail["status"], "sent");
    // Both moves are in the event log, with their reasons.
    let (_, events) = app
        .get(&format!("/api/v1/conversations/{conv}/events"))
        .await;
    let moves: Vec<(String, String, String)> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "message_rerouted")
        .map(|e| {
            (
                e["data"]["from"].as_str().unwrap().to_owned(),
                e["data"]["to"].as_str().unwrap().to_owned(),
                e["data"]["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(moves.len(), 3, "{moves:?}");
    assert_eq!((moves[0].0.as_str(), moves[0].1.as_str()), ("wa", "sms"));
    assert!(moves[0].2.contains("24-hour"), "{moves:?}");
    assert_eq!((moves[2].0.as_str(), moves[2].1.as_str()), ("sms", "mail"));
    assert!(
        moves[2].2.contains("21211") || moves[2].2.contains("not a valid phone number"),
        "{moves:?}"
    );
    // One contact across the three channels.
    let (_, card) = app.get(&format!("/api/v1/contacts/{contact}")).await;
    let channels: Vec<&str> = card["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels.len(), 3, "{card}");
    app.stop().await;
}
