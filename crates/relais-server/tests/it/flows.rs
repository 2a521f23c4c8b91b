//! Flows over real HTTP: the demo's order-status path against the demo orders API on
//! loopback, the SSRF guard refusing that same API when private addresses are not
//! allowed, and the `relais check` / `relais test` commands on real folders.

use crate::helpers::*;
use relais_server::clock::ManualClock;
use serde_json::{Value, json};
use std::process::Command;

fn texts(body: &Value) -> Vec<String> {
    body["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_demo_order_status_path_calls_the_orders_api_over_http() {
    let dir = tempfile::tempdir().unwrap();
    // Monday 2026-11-23 10:00 Paris: the support team is open.
    let clock = ManualClock::new(relais_core::Timestamp(1_795_424_400_000));
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    let (s, b) = app
        .converse(json!({ "sender": "+33600000001", "text": "Bonjour" }))
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(
        b["replies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["buttons"][0] == "Suivre ma commande"),
        "the menu's choices are buttons: {b}"
    );
    let (_, b) = app
        .converse(json!({ "sender": "+33600000001", "text": "1" }))
        .await;
    assert_eq!(texts(&b).len(), 1, "{b}");
    let (_, b) = app
        .converse(json!({ "sender": "+33600000001", "text": "A123" }))
        .await;
    let t = texts(&b);
    assert!(
        t.iter()
            .any(|x| x.contains("A123") && x.contains("expédiée") && x.contains("2026-11-25")),
        "{t:?}"
    );
    // The step trail and the http call are in the event log.
    let conv = relais_core::id::ConversationId(b["conversation_id"].as_i64().unwrap());
    let events = app.rt.store.events(Some(conv), 0, 500).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event.kind == relais_core::event::EventKind::HttpCalled)
    );
    assert!(
        events
            .iter()
            .any(|e| e.event.kind == relais_core::event::EventKind::StepEntered)
    );
    app.stop().await;
}

#[tokio::test]
async fn flows_may_not_call_loopback_addresses_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(relais_core::Timestamp(1_795_424_400_000));
    let app = spawn_flow_app(dir.path(), &clock, false).await;
    app.converse(json!({ "sender": "s1", "text": "Bonjour" }))
        .await;
    app.converse(json!({ "sender": "s1", "text": "1" })).await;
    let (_, b) = app
        .converse(json!({ "sender": "s1", "text": "A123" }))
        .await;
    let t = texts(&b);
    assert!(
        !t.iter().any(|x| x.contains("expédiée")),
        "the loopback API was reached: {t:?}"
    );
    let conv = relais_core::id::ConversationId(b["conversation_id"].as_i64().unwrap());
    let events = app.rt.store.events(Some(conv), 0, 500).await.unwrap();
    let warned = events.iter().any(|e| {
        e.event
            .data
            .to_string()
            .contains("which flows may not call")
    });
    assert!(warned, "{events:#?}");
    app.stop().await;
}

#[test]
fn relais_check_lists_every_fault_and_relais_test_runs_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("flows");
    std::fs::create_dir_all(&flows).unwrap();
    std::fs::write(
        flows.join("bad.yaml"),
        "flow: bad\nstart: a\nsteps:\n  a:\n    say: \"{{ x\"\n    next: b\n  c:\n    say: hi\n    next: a\n  d:\n    wait: 5 min\n    next: a\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_relais"))
        .arg("check")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for needle in [
        "bad.yaml:5:10: error: bad template",
        "bad.yaml:6:11: error: the step \"a\" goes to an unknown step \"b\"",
        "bad.yaml:7:3: error: the step \"c\" is unreachable",
        "bad.yaml:11:11: error: `wait`: bad duration \"5 min\"",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/demo");
    let out = Command::new(env!("CARGO_BIN_EXE_relais"))
        .arg("check")
        .arg(demo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_relais"))
        .arg("test")
        .arg(demo)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("21 passed, 0 failed"), "{stdout}");
}

#[test]
fn relais_init_writes_a_workspace_that_simulate_runs_and_serve_refuses_a_broken_one() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("acme");
    let bin = env!("CARGO_BIN_EXE_relais");
    let out = Command::new(bin).arg("init").arg(&ws).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ws.join("flows/reschedule.yaml").exists() && ws.join("tests").is_dir());
    let again = Command::new(bin).arg("init").arg(&ws).output().unwrap();
    assert!(!again.status.success(), "init never overwrites a workspace");

    // A terminal chat: the event starts the flow, /vars shows its variables, /wait moves
    // the virtual clock past the 4-hour reminder.
    let mut child = Command::new(bin)
        .args(["simulate", "--workspace"])
        .arg(&ws)
        .arg("reschedule")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"/event delivery.scheduled {\"order_id\": \"A123\", \"date\": \"2026-11-26\"}\n/vars\n/wait 5h\n/quit\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("Votre colis A123 est prévu le 2026-11-26"),
        "{text}"
    );
    assert!(text.contains("\"order_id\""), "{text}");
    assert!(text.contains("Petit rappel"), "{text}");

    // A broken flow: `relais serve` refuses to start and says where.
    std::fs::write(
        ws.join("flows/faq.yaml"),
        "flow: faq\nstart: nowhere\nsteps: {}\n",
    )
    .unwrap();
    let out = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--workspace"])
        .arg(&ws)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("does not pass `relais check`") && err.contains("flows/faq.yaml:"),
        "{err}"
    );
}

#[test]
fn relais_check_names_channel_faults_and_warns_of_unset_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("flows")).unwrap();
    std::fs::write(
        dir.path().join("flows/hi.yaml"),
        "flow: hi\ntrigger: { on: message }\nstart: a\nsteps:\n  a:\n    resolve: { say: hi }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("channels.yaml"),
        "channels:\n  - id: wa\n    kind: whatsapp\n    settings: { phone_number_id: \"1\" }\n    secrets: { token: WA_TOKEN, app_secret: WA_SECRET, verify_token: WA_VERIFY }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("relais.toml"),
        "[secrets]\nWA_TOKEN = \"t\"\n",
    )
    .unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_relais"))
            .arg("check")
            .arg(dir.path())
            .env("RELAIS__SECRETS__WA_VERIFY", "v")
            .output()
            .unwrap()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "unset secrets are warnings: {stdout}");
    assert!(
        stdout.contains("channels.yaml:2:5: warning:") && stdout.contains("WA_SECRET"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("WA_TOKEN,") && !stdout.contains("names WA_VERIFY"),
        "set ones are fine: {stdout}"
    );
    // A misspelt setting is an error with its line and column.
    std::fs::write(
        dir.path().join("channels.yaml"),
        "channels:\n  - id: wa\n    kind: whatsapp\n    settings: { phone_numbr_id: \"1\" }\n    secrets: { token: WA_TOKEN, app_secret: WA_SECRET, verify_token: WA_VERIFY }\n",
    )
    .unwrap();
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("channels.yaml:4:17: error: unknown setting \"phone_numbr_id\""),
        "{stdout}"
    );
    // `[server] public_url` must be an address.
    std::fs::write(
        dir.path().join("relais.toml"),
        "[server]\npublic_url = \"support\"\n",
    )
    .unwrap();
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("server.public_url"), "{stdout}");
}
