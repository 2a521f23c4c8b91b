//! What a hostile client meets over HTTP: security headers on every answer, the JSON
//! error shape even for the framework's own refusals, permission checks before body
//! validation, 404 instead of 500 for a missing row, message ids unique per sender,
//! `/metrics` behind a token when configured, and connections that cannot be held open
//! with slow headers, slow bodies or idleness.

use crate::helpers::*;
use relais_server::clock::ManualClock;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An agent's session token.
async fn agent_token(app: &TestApp, email: &str) -> String {
    let password = "a long agent passphrase";
    let (s, b) = app
        .post(
            "/api/v1/agents",
            json!({ "email": email, "name": "Ann", "role": "agent", "password": password }),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let r: Value = app
        .login_raw(json!({ "email": email, "password": password }))
        .await
        .json()
        .await
        .unwrap();
    r["token"].as_str().unwrap().to_owned()
}

async fn raw(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let mut r = app.client.request(method, format!("{}{path}", app.url));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn every_answer_carries_security_headers_and_api_answers_are_not_cached() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_app(dir.path(), &clock).await;
    let token = app.admin_token.clone();
    for (path, auth) in [
        ("/health", None),
        ("/api/v1/me", Some(token.as_str())),
        ("/api/v1/me", None),
        ("/no/such/route", None),
    ] {
        let r = raw(&app, reqwest::Method::GET, path, auth).await;
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        if path.starts_with("/api/") {
            assert_eq!(
                h["cache-control"], "no-store",
                "{path}: tokens and personal data"
            );
        }
    }
    // The login answer carries a token: never cached.
    let r = app
        .login_raw(json!({ "email": "nobody@x.io", "password": "whatever it is" }))
        .await;
    assert_eq!(r.headers()["cache-control"], "no-store");
    app.stop().await;
}

#[tokio::test]
async fn framework_refusals_answer_the_json_error_shape() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_app(dir.path(), &clock).await;
    let token = app.admin_token.clone();
    let cases = [
        (reqwest::Method::GET, "/api/v1/messages/abc/attempts", 400),
        (
            reqwest::Method::GET,
            "/api/v1/conversations?limit=lots",
            400,
        ),
        (reqwest::Method::GET, "/api/v1/stream?after=yesterday", 400),
        (reqwest::Method::DELETE, "/health", 405),
        (reqwest::Method::GET, "/api/v1/nothing-here", 404),
    ];
    for (method, path, status) in cases {
        let r = raw(&app, method.clone(), path, Some(&token)).await;
        assert_eq!(r.status().as_u16(), status, "{method} {path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{method} {path}"
        );
        let b: Value = r.json().await.unwrap();
        assert!(
            b["error"]["code"].is_string() && !b["error"]["message"].as_str().unwrap().is_empty(),
            "{method} {path}: {b}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn permission_is_checked_before_the_body_and_missing_rows_are_404() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_app(dir.path(), &clock).await;
    let agent = agent_token(&app, "ann@shop.example").await;
    // An agent may not create agents: told so, whatever the body holds.
    for body in [json!({}), json!({ "email": 3 }), json!({ "unknown": true })] {
        let r = app
            .client
            .post(format!("{}/api/v1/agents", app.url))
            .bearer_auth(&agent)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{body}");
    }
    let r = app
        .client
        .post(format!("{}/api/v1/teams", app.url))
        .bearer_auth(&agent)
        .body("not even json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        403,
        "the content type is not checked before the permission"
    );
    // A missing agent is a 404, not a 500.
    let r = app
        .client
        .put(format!("{}/api/v1/agents/9999/teams", app.url))
        .bearer_auth(&app.admin_token)
        .json(&json!({ "teams": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let b: Value = r.json().await.unwrap();
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("agent 9999"),
        "{b}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_message_id_is_unique_per_sender_and_reusing_it_with_another_text_is_a_409() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_app(dir.path(), &clock).await;
    let (s, bob) = app.converse(msg("bob", "hello", Some("m-1"))).await;
    assert_eq!(s, 200, "{bob}");
    // Mallory reuses Bob's id: her own message, her own conversation, not Bob's replies.
    let (s, mallory) = app.converse(msg("mallory", "hi there", Some("m-1"))).await;
    assert_eq!(s, 200, "{mallory}");
    assert_eq!(mallory["duplicate"], false, "{mallory}");
    assert_ne!(mallory["conversation_id"], bob["conversation_id"]);
    // Bob's redelivery is recognised; the same id with another text is refused.
    let (s, again) = app.converse(msg("bob", "hello", Some("m-1"))).await;
    assert_eq!((s, &again["duplicate"]), (200, &json!(true)), "{again}");
    let (s, b) = app
        .converse(msg("bob", "something else", Some("m-1")))
        .await;
    assert_eq!(s, 409, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("different text"),
        "{b}"
    );
    app.stop().await;
}

#[tokio::test]
async fn metrics_can_require_an_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_app_with(dir.path(), &clock, &[("RELAIS__SERVER__METRICS", "token")]).await;
    let agent = agent_token(&app, "ann@shop.example").await;
    assert_eq!(
        raw(&app, reqwest::Method::GET, "/metrics", None)
            .await
            .status(),
        401
    );
    assert_eq!(
        raw(&app, reqwest::Method::GET, "/metrics", Some(&agent))
            .await
            .status(),
        403
    );
    let r = raw(
        &app,
        reqwest::Method::GET,
        "/metrics",
        Some(&app.admin_token),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("relais_inbound_messages_total")
    );
    app.stop().await;
}

/// Reads until the server closes the connection; the time it took.
async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> (Duration, String) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("still open after {limit:?}"),
        }
    }
    (start.elapsed(), String::from_utf8_lossy(&got).into_owned())
}

#[tokio::test]
async fn slow_headers_slow_bodies_and_idle_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_app_with(
        dir.path(),
        &clock,
        &[
            ("RELAIS__SERVER__HEADER_TIMEOUT", "1s"),
            ("RELAIS__SERVER__BODY_TIMEOUT", "1s"),
            ("RELAIS__SERVER__IDLE_TIMEOUT", "2s"),
        ],
    )
    .await;
    let addr = app.url.trim_start_matches("http://").to_owned();

    // A slowloris: headers started, never finished.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let (took, _) = closed_within(&mut s, Duration::from_secs(20)).await;
    assert!(took < Duration::from_secs(5), "closed after {took:?}");

    // A body announced and never sent: 408, then closed.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":",
    )
    .await
    .unwrap();
    let (took, answer) = closed_within(&mut s, Duration::from_secs(20)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(took < Duration::from_secs(5), "closed after {took:?}");

    // A keep-alive connection that asks nothing more.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (took, answer) = closed_within(&mut s, Duration::from_secs(20)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        took < Duration::from_secs(6),
        "idle connection closed after {took:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_app_with(
        dir.path(),
        &clock,
        &[("RELAIS__SERVER__MAX_CONNECTIONS", "2")],
    )
    .await;
    let addr = app.url.trim_start_matches("http://").to_owned();
    // Two connections that say nothing hold both slots.
    let first = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let _second = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = relais_server::tls::client();
    let url = format!("{}/health", app.url);
    let waited = client
        .get(&url)
        .timeout(Duration::from_millis(700))
        .send()
        .await;
    assert!(
        waited.is_err(),
        "a third connection is not served while two are open"
    );
    drop(first);
    let r = client
        .get(&url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "served once a slot is free");
    app.stop().await;
}
