//! Bad input gets a clear 4xx naming what is wrong, and leaves no trace.

use crate::helpers::*;
use relais_server::clock::ManualClock;
use serde_json::Value;

async fn raw(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut req = app.client.post(format!("{}{path}", app.url)).body(body);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_clearly_and_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), &ManualClock::new(T0)).await;
    let path = "/api/v1/channels/demo/converse";
    let token = app.token.clone();
    let json = Some("application/json");
    let long = "x".repeat(5000);
    type Case<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Vec<u8>,
        u16,
        Option<&'a str>,
    );
    let cases: Vec<Case> = vec![
        (
            "malformed JSON",
            path,
            Some(&token),
            json,
            b"{\"sender\": \"a\", ".to_vec(),
            400,
            None,
        ),
        (
            "not an object",
            path,
            Some(&token),
            json,
            b"[1,2]".to_vec(),
            400,
            None,
        ),
        (
            "wrong type",
            path,
            Some(&token),
            json,
            br#"{"sender": 5, "text": "x"}"#.to_vec(),
            400,
            Some("sender"),
        ),
        (
            "missing text",
            path,
            Some(&token),
            json,
            br#"{"sender": "a"}"#.to_vec(),
            400,
            None,
        ),
        (
            "unknown field",
            path,
            Some(&token),
            json,
            br#"{"sender": "a", "text": "x", "admin": true}"#.to_vec(),
            400,
            None,
        ),
        (
            "empty text",
            path,
            Some(&token),
            json,
            br#"{"sender": "a", "text": "  "}"#.to_vec(),
            400,
            Some("text"),
        ),
        (
            "empty sender",
            path,
            Some(&token),
            json,
            br#"{"sender": "", "text": "x"}"#.to_vec(),
            400,
            Some("sender"),
        ),
        (
            "control chars in sender",
            path,
            Some(&token),
            json,
            b"{\"sender\": \"a\\u0000b\", \"text\": \"x\"}".to_vec(),
            400,
            Some("sender"),
        ),
        (
            "text too long",
            path,
            Some(&token),
            json,
            format!(r#"{{"sender": "a", "text": "{long}"}}"#).into_bytes(),
            400,
            Some("text"),
        ),
        (
            "bad message_id",
            path,
            Some(&token),
            json,
            br#"{"sender": "a", "text": "x", "message_id": ""}"#.to_vec(),
            400,
            Some("message_id"),
        ),
        (
            "bad UTF-8",
            path,
            Some(&token),
            json,
            b"{\"sender\": \"\xff\xfe\", \"text\": \"x\"}".to_vec(),
            400,
            None,
        ),
        (
            "oversized body",
            path,
            Some(&token),
            json,
            vec![b' '; 200_000],
            413,
            None,
        ),
        (
            "no content type",
            path,
            Some(&token),
            None,
            br#"{"sender": "a", "text": "x"}"#.to_vec(),
            415,
            None,
        ),
        (
            "wrong content type",
            path,
            Some(&token),
            Some("text/plain"),
            br#"{"sender": "a", "text": "x"}"#.to_vec(),
            415,
            None,
        ),
        (
            "no token",
            path,
            None,
            json,
            br#"{"sender": "a", "text": "x"}"#.to_vec(),
            401,
            None,
        ),
        (
            "bad token",
            path,
            Some("rch_wrong"),
            json,
            br#"{"sender": "a", "text": "x"}"#.to_vec(),
            401,
            None,
        ),
        (
            "unknown channel",
            "/api/v1/channels/nope/converse",
            Some(&token),
            json,
            br#"{"sender": "a", "text": "x"}"#.to_vec(),
            404,
            None,
        ),
        (
            "bad channel id",
            "/api/v1/channels/..%2F/converse",
            Some(&token),
            json,
            br#"{"sender": "a", "text": "x"}"#.to_vec(),
            404,
            None,
        ),
        (
            "admin API without token",
            "/api/v1/channels",
            None,
            json,
            br#"{"id": "x", "kind": "rest"}"#.to_vec(),
            401,
            None,
        ),
        (
            "admin API with channel token",
            "/api/v1/channels",
            Some(&token),
            json,
            br#"{"id": "x", "kind": "rest"}"#.to_vec(),
            401,
            None,
        ),
    ];
    for (name, path, token, ct, body, want, field) in cases {
        let (status, answer) = raw(&app, path, token, ct, body).await;
        assert_eq!(status, want, "{name}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{name}: no message in {answer}"
        );
        if let Some(f) = field {
            assert_eq!(answer["error"]["field"], f, "{name}: {answer}");
        }
    }
    let stats = app.rt.store.stats().await.unwrap();
    assert_eq!(
        (stats.contacts, stats.conversations, stats.messages),
        (0, 0, 0),
        "nothing half-written"
    );
    // And the server still works.
    let (status, _) = app.converse(msg("a", "ok", None)).await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_routes_need_a_token_with_the_right_permission() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), &ManualClock::new(T0)).await;
    for path in [
        "/api/v1/conversations",
        "/api/v1/channels",
        "/api/v1/agents",
        "/api/v1/me",
    ] {
        let r = app
            .client
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    // An agent logs in and can read conversations but not manage channels.
    let (status, _) = app
        .post(
            "/api/v1/agents",
            serde_json::json!({"email": "Zoe@Example.com", "name": "Zoe", "role": "agent", "password": "a long password"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, weak) = app
        .post("/api/v1/agents", serde_json::json!({"email": "y@example.com", "name": "Y", "role": "agent", "password": "short"}))
        .await;
    assert_eq!(
        (status, weak["error"]["field"].as_str()),
        (400, Some("password"))
    );
    let login = |password: &'static str| {
        let (client, url) = (app.client.clone(), app.url.clone());
        async move {
            client
                .post(format!("{url}/api/v1/auth/login"))
                .json(&serde_json::json!({"email": "zoe@example.com", "password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(login("wrong password!").await.status(), 401);
    let session: Value = login("a long password").await.json().await.unwrap();
    let zoe = session["token"].as_str().unwrap().to_owned();
    let get = |path: &'static str, token: String| {
        let (client, url) = (app.client.clone(), app.url.clone());
        async move {
            client
                .get(format!("{url}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(get("/api/v1/conversations", zoe.clone()).await, 200);
    assert_eq!(get("/api/v1/channels", zoe.clone()).await, 403);
    assert_eq!(get("/api/v1/agents", zoe.clone()).await, 403);
    assert_eq!(get("/api/v1/channels", app.admin_token.clone()).await, 200);
    // Secrets never come back from the API.
    let (_, channels) = app.get("/api/v1/channels").await;
    let text = channels.to_string();
    assert!(
        !text.contains(&app.token) && !text.contains("token_hash"),
        "{text}"
    );
    app.stop().await;
}
