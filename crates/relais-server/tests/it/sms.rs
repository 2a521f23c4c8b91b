//! SMS through Twilio's documented wire format: signed form webhooks (the signature
//! computed over `[server] public_url` as Twilio does), replies sent to a local stand-in
//! of the Messages API (form, basic auth, `StatusCallback`), buttons as numbered text,
//! segments counted and journaled, status callbacks moving statuses forward only.

use super::helpers::*;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use relais_server::channel::sms;
use relais_server::clock::ManualClock;
use serde_json::json;
use std::sync::{Arc, Mutex};

const PUBLIC: &str = "https://support.example.com";
const TOKEN: &str = "twilio-auth-token";

/// One call to the stand-in: its path, headers and form.
type Call = (String, HeaderMap, Vec<(String, String)>);

/// Twilio's side: records each Messages call (path, headers, form) and answers 201
/// with the message resource, as documented.
#[derive(Clone, Default)]
pub(super) struct Twilio {
    calls: Arc<Mutex<Vec<Call>>>,
    /// Refuse every message as Twilio does an unreachable number (400, code 21211).
    pub refuse: Arc<std::sync::atomic::AtomicBool>,
}

impl Twilio {
    pub(super) async fn start() -> (Twilio, String) {
        let t = Twilio::default();
        let app = axum::Router::new()
            .route("/{*path}", axum::routing::post(messages))
            .with_state(t.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (t, url)
    }

    pub(super) fn sent(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

async fn messages(
    State(t): State<Twilio>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let n = {
        let mut calls = t.calls.lock().unwrap();
        calls.push((path, headers, form));
        calls.len()
    };
    if t.refuse.load(std::sync::atomic::Ordering::SeqCst) {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400 })),
        )
            .into_response();
    }
    (
        StatusCode::CREATED,
        axum::Json(json!({ "sid": format!("SMout{n}"), "status": "queued" })),
    )
        .into_response()
}

pub(super) fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

const FLOW: &str = r#"flow: menu
name: Menu
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
          - { id: long, title: "Tell me everything" }
      routes:
        - { match: { button: track }, next: tracked }
        - { match: { button: long }, next: long }
      invalid: "Please reply 1 or 2."
  tracked:
    say: "Your parcel is on its way."
    next: menu
  long:
    say: "Our delivery promise: every parcel leaves our warehouse within one working day, travels with a tracked carrier, and reaches you within two to four working days in mainland France, Italy and the rest of the European Union. You get a message at each step."
    next: menu
"#;

fn workspace(dir: &std::path::Path, api: &str) {
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    std::fs::write(dir.join("flows/menu.yaml"), FLOW).unwrap();
    std::fs::write(
        dir.join("channels.yaml"),
        format!(
            "channels:\n  - {{ id: sms-main, kind: sms, default_flow: menu,\n      settings: {{ from: \"+33757000000\", api_base: \"{api}\", rate: 100 }},\n      secrets: {{ account: TWILIO_SID, token: TWILIO_TOKEN }} }}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("relais.toml"),
        format!(
            "[secrets]\nTWILIO_SID = \"AC0123456789\"\nTWILIO_TOKEN = \"{TOKEN}\"\n[server]\npublic_url = \"{PUBLIC}/\"\n[outbox]\nbackoff_base = \"1s\"\n"
        ),
    )
    .unwrap();
}

/// Posts a form to the SMS webhook, signed with `token` as Twilio would (or not).
pub(super) async fn post_form(
    app: &TestApp,
    params: &[(&str, &str)],
    token: Option<&str>,
) -> (u16, String) {
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let path = "/webhooks/sms/sms-main";
    let mut req = app.client.post(format!("{}{path}", app.url)).form(&params);
    if let Some(t) = token {
        req = req.header(
            "x-twilio-signature",
            sms::signature(t, &format!("{PUBLIC}{path}"), &params),
        );
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn inbound<'a>(sid: &'a str, body: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("MessageSid", sid),
        ("SmsSid", sid),
        ("AccountSid", "AC0123456789"),
        ("From", "+33600000009"),
        ("To", "+33757000000"),
        ("Body", body),
        ("NumMedia", "0"),
        ("SmsStatus", "received"),
        ("ApiVersion", "2010-04-01"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_is_signed_numbered_segmented_and_its_statuses_move_forward() {
    let dir = tempfile::tempdir().unwrap();
    let (twilio, api) = Twilio::start().await;
    workspace(dir.path(), &api);
    let clock = ManualClock::new(T0);
    let app = spawn_dir_app(dir.path(), &clock).await;

    // Missing or wrong signatures store nothing.
    let (s, _) = post_form(&app, &inbound("SM1", "Hello"), None).await;
    assert_eq!(s, 401);
    let (s, _) = post_form(&app, &inbound("SM1", "Hello"), Some("not-the-token")).await;
    assert_eq!(s, 401);
    assert!(app.transcripts().await.is_empty());

    // Signed: answered with empty TwiML once stored; the bot's menu goes out numbered.
    let (s, body) = post_form(&app, &inbound("SM1", "Hello"), Some(TOKEN)).await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("<Response></Response>"), "{body}");
    // Redelivered: stored once.
    let (s, _) = post_form(&app, &inbound("SM1", "Hello"), Some(TOKEN)).await;
    assert_eq!(s, 200);
    eventually("the menu is sent", || async { !twilio.sent().is_empty() }).await;
    let (path, headers, form) = twilio.sent()[0].clone();
    assert_eq!(path, "2010-04-01/Accounts/AC0123456789/Messages.json");
    let auth = headers["authorization"].to_str().unwrap();
    use base64::Engine;
    assert_eq!(
        auth,
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("AC0123456789:{TOKEN}"))
        )
    );
    assert_eq!(field(&form, "To"), Some("+33600000009"));
    assert_eq!(field(&form, "From"), Some("+33757000000"));
    assert_eq!(
        field(&form, "Body"),
        Some("Hello! What can I do for you?\n\n1. Track my order\n2. Tell me everything")
    );
    assert_eq!(
        field(&form, "StatusCallback"),
        Some("https://support.example.com/webhooks/sms/sms-main")
    );
    assert_eq!(
        app.transcripts()
            .await
            .iter()
            .filter(|m| m["direction"] == "inbound")
            .count(),
        1
    );

    // "2" picks the second choice; its long answer is 2 GSM-7 segments, journaled.
    let (s, _) = post_form(&app, &inbound("SM2", "2"), Some(TOKEN)).await;
    assert_eq!(s, 200);
    eventually("the long answer is sent", || async {
        twilio.sent().iter().any(|(_, _, f)| {
            field(f, "Body").is_some_and(|b| b.starts_with("Our delivery promise"))
        })
    })
    .await;
    let long = app
        .transcripts()
        .await
        .into_iter()
        .find(|m| {
            m["text"]
                .as_str()
                .unwrap()
                .starts_with("Our delivery promise")
        })
        .unwrap();
    let id = long["id"].as_i64().unwrap();
    eventually("the send is journaled", || async {
        app.get(&format!("/api/v1/messages/{id}/attempts")).await.1["attempts"][0]["outcome"]
            == "sent"
    })
    .await;
    let attempts = app.get(&format!("/api/v1/messages/{id}/attempts")).await.1;
    let detail = attempts["attempts"][0]["detail"].as_str().unwrap();
    assert!(detail.starts_with("2 segments (GSM-7"), "{detail}");

    // Status callbacks: delivered, then a late `sent` does not move it back; an
    // unsigned callback is refused.
    let sid = long["external_id"].as_str().unwrap().to_owned();
    let status = |st: &'static str| {
        vec![
            ("MessageSid", sid.as_str()),
            ("MessageStatus", st),
            ("AccountSid", "AC0123456789"),
        ]
    };
    assert_eq!(post_form(&app, &status("delivered"), None).await.0, 401);
    assert_eq!(
        post_form(&app, &status("delivered"), Some(TOKEN)).await.0,
        200
    );
    assert_eq!(post_form(&app, &status("sent"), Some(TOKEN)).await.0, 200);
    let now = app
        .transcripts()
        .await
        .into_iter()
        .find(|m| m["id"] == id)
        .unwrap();
    assert_eq!(now["status"], "delivered", "{now}");
    // The first menu never reached the phone: `undelivered` with Twilio's error code.
    let failed = vec![
        ("MessageSid", "SMout1"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30003"),
    ];
    assert_eq!(post_form(&app, &failed, Some(TOKEN)).await.0, 200);
    let menu = app
        .transcripts()
        .await
        .into_iter()
        .find(|m| m["external_id"] == "SMout1")
        .unwrap();
    assert_eq!(menu["status"], "failed", "{menu}");
    let (_, events) = app
        .get(&format!(
            "/api/v1/conversations/{}/events",
            menu["conversation"]
        ))
        .await;
    assert!(
        events
            .to_string()
            .contains("Twilio undelivered, error 30003"),
        "the carrier's error is kept"
    );

    // A form that is not Twilio's (no MessageSid) is refused whole, even well signed.
    let (s, body) = post_form(
        &app,
        &[("Body", "x"), ("From", "+33600000009")],
        Some(TOKEN),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    // The channel list shows where Twilio must post.
    let (_, list) = app.get("/api/v1/channels").await;
    let ch = list["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "sms-main")
        .unwrap()
        .clone();
    assert_eq!(
        ch["webhook_url"],
        "https://support.example.com/webhooks/sms/sms-main"
    );
    app.stop().await;
}
