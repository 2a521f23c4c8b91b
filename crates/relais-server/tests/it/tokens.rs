//! Tokens and accounts under an admin's control: scopes only narrow, tokens expire,
//! admins list and revoke any token and deactivate agents (sessions and tokens revoked,
//! conversations back to the queue), and `relais demo` reuses its tokens on a folder it
//! has already set up.

use crate::handoff::{call, login_agent};
use crate::helpers::*;
use relais_core::Duration;
use relais_server::clock::ManualClock;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const MONDAY_10H: relais_core::Timestamp = relais_core::Timestamp(1_795_424_400_000);

async fn mint(
    app: &TestApp,
    with: &str,
    scopes: &[&str],
    expires_in: Option<&str>,
) -> (u16, Value) {
    let mut body = json!({ "name": "integration", "scopes": scopes });
    if let Some(e) = expires_in {
        body["expires_in"] = json!(e);
    }
    call(app, with, "POST", "/api/v1/tokens", Some(body)).await
}

#[tokio::test]
async fn a_token_can_only_mint_narrower_tokens_and_tokens_expire() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_app(dir.path(), &clock).await;
    // The case: a token whose only scope is `tokens` minted an `admin` token.
    let (s, b) = mint(&app, &app.admin_token, &["tokens"], None).await;
    assert_eq!(s, 201, "{b}");
    let narrow = b["token"].as_str().unwrap().to_owned();
    let (s, b) = mint(&app, &narrow, &["admin"], None).await;
    assert_eq!(s, 403, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("scopes it holds"),
        "{b}"
    );
    let (s, _) = mint(&app, &narrow, &["conversations:read"], None).await;
    assert_eq!(s, 403);
    let (s, b) = mint(&app, &narrow, &["tokens"], None).await;
    assert_eq!(s, 201, "{b}");
    // An agent's session cannot mint admin or events tokens either.
    let ann = login_agent(&app, "ann@shop.example", "agent", &[]).await;
    for scope in ["admin", "events"] {
        let (s, b) = mint(&app, &ann.token, &[scope], None).await;
        assert_eq!(s, 403, "{scope}: {b}");
    }

    // Expiry.
    let (s, b) = mint(&app, &app.admin_token, &["conversations:read"], Some("1h")).await;
    assert_eq!(s, 201, "{b}");
    let short = b["token"].as_str().unwrap().to_owned();
    assert!(b["info"]["expires_at"].is_number(), "{b}");
    assert_eq!(call(&app, &short, "GET", "/api/v1/me", None).await.0, 200);
    let (s, b) = mint(&app, &app.admin_token, &["tokens"], Some("400d")).await;
    assert_eq!(
        (s, &b["error"]["field"]),
        (400, &json!("expires_in")),
        "{b}"
    );
    clock.advance(Duration::minutes(61));
    assert_eq!(call(&app, &short, "GET", "/api/v1/me", None).await.0, 401);
    app.stop().await;
}

async fn revoke(app: &TestApp, with: &str, token_id: i64) -> u16 {
    app.client
        .delete(format!("{}/api/v1/tokens/{token_id}", app.url))
        .bearer_auth(with)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn ana_login() -> Value {
    json!({ "email": "ana@example.com", "password": "correct horse battery staple" })
}

#[tokio::test]
async fn admins_list_and_revoke_any_token_agents_only_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_app(dir.path(), &clock).await;
    let ann = login_agent(&app, "ann@shop.example", "agent", &[]).await;
    let bob = login_agent(&app, "bob@shop.example", "agent", &[]).await;
    let (s, mine) = call(&app, &ann.token, "GET", "/api/v1/tokens", None).await;
    assert_eq!(s, 200);
    let mine = mine["tokens"].as_array().unwrap().clone();
    assert_eq!(mine.len(), 1, "only Ann's session: {mine:?}");
    assert_eq!(mine[0]["agent"], ann.id);
    assert!(mine[0].get("hash").is_none(), "never the hash");
    let (s, _) = call(&app, &ann.token, "GET", "/api/v1/tokens?all=true", None).await;
    assert_eq!(s, 403);
    // Ann cannot revoke Bob's session…
    let (_, all) = app.get("/api/v1/tokens?all=true").await;
    let bobs = all["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["agent"] == bob.id)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(revoke(&app, &ann.token, bobs).await, 404);
    assert_eq!(
        call(&app, &bob.token, "GET", "/api/v1/me", None).await.0,
        200
    );
    // …an admin can.
    assert_eq!(revoke(&app, &app.admin_token, bobs).await, 204);
    assert_eq!(
        call(&app, &bob.token, "GET", "/api/v1/me", None).await.0,
        401
    );
    app.stop().await;
}

#[tokio::test]
async fn a_deactivated_agent_loses_access_and_their_conversations_return_to_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MONDAY_10H);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
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
    let (s, b) = app
        .converse(json!({ "sender": "zoe", "text": "Bonjour, je veux parler à un conseiller" }))
        .await;
    assert_eq!(s, 200, "{b}");
    let conv = b["conversation_id"].as_i64().unwrap();
    let path = format!("/api/v1/conversations/{conv}");
    let (_, c) = app.get(&path).await;
    assert_eq!(c["conversation"]["conversation"]["assignee"], ana.id, "{c}");

    let (s, b) = app
        .post(&format!("/api/v1/agents/{}/deactivate", ana.id), json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        call(&app, &ana.token, "GET", "/api/v1/me", None).await.0,
        401
    );
    let r = app.login_raw(ana_login()).await;
    assert_eq!(r.status(), 401, "a disabled agent cannot log in");
    let (_, c) = app.get(&path).await;
    assert_ne!(c["conversation"]["conversation"]["assignee"], ana.id, "{c}");
    assert_eq!(c["conversation"]["conversation"]["status"], "open");
    // Another agent coming online gets it from the queue.
    let bea = login_agent(&app, "bea@example.com", "agent", &["support"]).await;
    call(
        &app,
        &bea.token,
        "PUT",
        "/api/v1/me/presence",
        Some(json!({ "presence": "online" })),
    )
    .await;
    let (_, c) = app.get(&path).await;
    assert_eq!(c["conversation"]["conversation"]["assignee"], bea.id, "{c}");

    // The last active admin cannot lock everyone out.
    let (_, me) = app.get("/api/v1/me").await;
    let admin = me["agent"]["id"].as_i64().unwrap();
    let (s, b) = app
        .post(&format!("/api/v1/agents/{admin}/deactivate"), json!({}))
        .await;
    assert_eq!(s, 409, "{b}");
    // Reactivated, Ana logs in again.
    let (s, _) = app
        .post(&format!("/api/v1/agents/{}/activate", ana.id), json!({}))
        .await;
    assert_eq!(s, 200);
    let r = app.login_raw(ana_login()).await;
    assert_eq!(r.status(), 200);
    app.stop().await;
}

fn demo(data: &std::path::Path) -> (std::process::Child, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(["demo", "--json", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, serde_json::from_str(&line).unwrap())
}

#[tokio::test]
async fn relais_demo_reuses_its_tokens_on_a_folder_it_set_up() {
    let data = tempfile::tempdir().unwrap();
    let (mut first, a) = demo(data.path());
    let _ = first.kill();
    let _ = first.wait();
    let (mut second, b) = demo(data.path());
    let creds = |v: &Value, k: &str| v["credentials"][k].as_str().unwrap().to_owned();
    assert_eq!(creds(&a, "admin_token"), creds(&b, "admin_token"));
    assert_eq!(creds(&a, "channel_token"), creds(&b, "channel_token"));
    let client = relais_server::tls::client();
    let url = b["url"].as_str().unwrap();
    // The demo agent's password is made once and printed once; it opens the workspace.
    assert!(a["credentials"]["agent_password"].is_string(), "{a}");
    assert!(b["credentials"]["agent_password"].is_null(), "{b}");
    assert_eq!(
        b["webchat_url"].as_str().unwrap(),
        format!("{url}/webchat/web")
    );
    let r = client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&serde_json::json!({ "email": creds(&a, "agent_email"), "password": creds(&a, "agent_password") }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the printed agent password logs in");
    let r = client
        .get(format!("{url}/api/v1/tokens"))
        .bearer_auth(creds(&b, "admin_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(
        tokens["tokens"].as_array().unwrap().len(),
        1,
        "one admin token, however many restarts: {tokens}"
    );
    let _ = second.kill();
    let _ = second.wait();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.path().join("data").join("demo-tokens.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the kept tokens are readable by their owner only"
        );
    }
}
