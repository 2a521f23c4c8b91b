//! Proactive events (SPEC §7) and flow versions over HTTP: consent, the template that
//! starts the flow, a conversation finishing on its version across a reload and a
//! restart, a broken workspace refused by a reload, and `relais reload` (SIGHUP) on the
//! real binary.

use crate::helpers::*;
use relais_server::clock::ManualClock;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Monday 2026-11-23 10:00 Paris.
const MONDAY_10H: relais_core::Timestamp = relais_core::Timestamp(1_795_424_400_000);

fn event(address: &str, consent: Option<bool>) -> Value {
    let mut contact = json!({ "address": address, "name": "Alice", "language": "fr" });
    if let Some(c) = consent {
        contact["consent"] = json!({ "rest": c });
    }
    json!({
        "name": "delivery.scheduled",
        "channel": "demo",
        "contact": contact,
        "data": { "order_id": "A123", "date": "2026-11-26" },
    })
}

fn texts(body: &Value) -> Vec<String> {
    body["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap().to_owned())
        .collect()
}

fn versions(flows: &Value, id: &str) -> (i64, usize) {
    let f = flows["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no flow {id} in {flows}"));
    (
        f["current_version"].as_i64().unwrap(),
        f["versions"].as_array().unwrap().len(),
    )
}

#[tokio::test]
async fn a_proactive_event_needs_consent_and_starts_the_event_flow() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MONDAY_10H);
    let app = spawn_flow_app(dir.path(), &clock, true).await;

    let (s, b) = app
        .post("/api/v1/events", event("+33611111111", None))
        .await;
    assert_eq!(s, 409, "no opt-in, nothing sent: {b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("opted in"));
    let (s, b) = app
        .post("/api/v1/events", event("+33611111111", Some(false)))
        .await;
    assert_eq!(s, 409, "{b}");
    assert!(
        app.transcripts().await.is_empty(),
        "a refusal sends nothing"
    );

    let (s, b) = app
        .post("/api/v1/events", event("+33611111111", Some(true)))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["created"], true);
    assert_eq!(
        b["messages"][0]["text"],
        "Votre colis A123 est prévu le 2026-11-26. Répondez A pour changer de créneau."
    );
    // The customer answers on the channel: the two-way flow goes on with real HTTP.
    let (_, r) = app
        .converse(json!({ "sender": "+33611111111", "text": "A" }))
        .await;
    assert!(texts(&r).iter().any(|t| t.contains("créneaux")), "{r}");

    // Bad requests say which field is wrong.
    let mut bad = event("+33622222222", Some(true));
    bad["name"] = json!("no.such.event");
    let (s, b) = app.post("/api/v1/events", bad).await;
    assert_eq!(
        (s, b["error"]["field"].as_str()),
        (400, Some("name")),
        "{b}"
    );
    let mut bad = event("+33622222222", Some(true));
    bad["channel"] = json!("nope");
    let (s, b) = app.post("/api/v1/events", bad).await;
    assert_eq!(
        (s, b["error"]["field"].as_str()),
        (400, Some("channel")),
        "{b}"
    );
    let mut bad = event("+33622222222", Some(true));
    bad["contact"]["phone"] = json!("x");
    let (s, _) = app.post("/api/v1/events", bad).await;
    assert_eq!(s, 400, "unknown fields are refused");

    // A conversation a human owns answers 409.
    app.converse(json!({ "sender": "+33633333333", "text": "je veux parler à un conseiller" }))
        .await;
    let (s, b) = app
        .post("/api/v1/events", event("+33633333333", Some(true)))
        .await;
    assert_eq!(s, 409, "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("human"));
    app.stop().await;
}

#[tokio::test]
async fn conversations_finish_on_their_flow_version_across_reloads_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MONDAY_10H);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    let (_, flows) = app.get("/api/v1/flows").await;
    assert_eq!(versions(&flows, "reschedule"), (1, 1), "{flows}");

    // Started on version 1, waiting at the `offer` question.
    let (s, _) = app.post("/api/v1/events", event("old", Some(true))).await;
    assert_eq!(s, 200);

    // Version 2 changes the wording of an invalid answer.
    let path = dir.path().join("flows/reschedule.yaml");
    let v1 = std::fs::read_to_string(&path).unwrap();
    let old_line = "Pour changer de créneau de livraison, répondez simplement A.";
    assert!(v1.contains(old_line));
    std::fs::write(&path, v1.replace(old_line, "Version 2 : répondez A.")).unwrap();
    let (s, b) = app.post("/api/v1/reload", json!({})).await;
    assert_eq!(s, 200, "{b}");
    let (_, flows) = app.get("/api/v1/flows").await;
    assert_eq!(versions(&flows, "reschedule"), (2, 2), "{flows}");
    assert_eq!(
        versions(&flows, "faq"),
        (1, 1),
        "an unchanged file keeps its version"
    );

    let (_, r) = app
        .converse(json!({ "sender": "old", "text": "bof" }))
        .await;
    assert_eq!(
        texts(&r),
        vec![old_line.to_owned()],
        "the run stays on version 1"
    );
    app.post("/api/v1/events", event("new", Some(true))).await;
    let (_, r) = app
        .converse(json!({ "sender": "new", "text": "bof" }))
        .await;
    assert_eq!(texts(&r), vec!["Version 2 : répondez A.".to_owned()]);

    // A broken workspace is refused with its findings; the server keeps version 2.
    std::fs::write(
        dir.path().join("flows/broken.yaml"),
        "flow: broken\nstart: nowhere\nsteps: {}\n",
    )
    .unwrap();
    let (s, b) = app.post("/api/v1/reload", json!({})).await;
    assert_eq!(s, 422, "{b}");
    let findings = b["error"]["findings"].to_string();
    assert!(findings.contains("flows/broken.yaml:"), "{findings}");
    std::fs::remove_file(dir.path().join("flows/broken.yaml")).unwrap();

    // After a restart, version 1 is read back from the database.
    app.stop().await;
    let app = spawn_workspace_app(dir.path(), &clock, true).await;
    let (_, r) = app
        .converse(json!({ "sender": "old", "text": "bof" }))
        .await;
    assert_eq!(texts(&r), vec![old_line.to_owned()], "{r}");
    let (_, flows) = app.get("/api/v1/flows").await;
    assert_eq!(versions(&flows, "reschedule"), (2, 2), "{flows}");
    app.stop().await;
}

#[tokio::test]
async fn relais_reload_signals_the_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(["demo", "--json", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: Value = serde_json::from_str(&line).unwrap();
    let url = v["url"].as_str().unwrap().to_owned();
    let admin = v["credentials"]["admin_token"].as_str().unwrap().to_owned();
    let client = relais_server::tls::client();
    let flows = || async {
        client
            .get(format!("{url}/api/v1/flows"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    assert_eq!(versions(&flows().await, "faq").0, 1);

    // A broken edit: `relais reload` refuses it (exit 1) and signals nothing.
    let faq = dir.path().join("flows/faq.yaml");
    let text = std::fs::read_to_string(&faq).unwrap();
    std::fs::write(&faq, format!("{text}\nbogus_key: 1\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(["reload", "--workspace"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("flows/faq.yaml:"));

    std::fs::write(&faq, format!("{text}\n# edited\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(["reload", "--workspace"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eventually("the server reloads on SIGHUP", || async {
        versions(&flows().await, "faq").0 == 2
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
}
