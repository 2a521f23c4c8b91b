//! Durability across restarts: data survives, and a timer that fell due while the
//! server was down fires once after it comes back, through the outbox to the REST
//! channel's callback.

use crate::helpers::*;
use relais_core::Duration;
use relais_server::channel::rest::sign;
use relais_server::clock::ManualClock;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_app(dir.path(), &clock).await;
    app.converse(msg("dana", "one", Some("d1"))).await;
    app.converse(msg("dana", "two", Some("d2"))).await;
    app.stop().await;

    let app = spawn_app(dir.path(), &clock).await;
    let t = app.transcripts().await;
    let inbound: Vec<_> = t
        .iter()
        .filter(|m| m["direction"] == "inbound")
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(inbound, vec![json!("one"), json!("two")]);
    let (_, b) = app.converse(msg("dana", "three", Some("d3"))).await;
    assert!(
        b["replies"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Message #3"),
        "{b}"
    );
    let (_, dup) = app.converse(msg("dana", "one", Some("d1"))).await;
    assert_eq!(dup["duplicate"], true, "de-duplication survives a restart");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_due_during_downtime_fires_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let (recorder, hook) = Recorder::start().await;
    let app = spawn_app(dir.path(), &clock).await;
    let (status, created) = app
        .post(
            "/api/v1/channels",
            json!({"id": "hooked", "kind": "rest", "callback_url": hook}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    let secret = created["callback_secret"].as_str().unwrap().to_owned();
    let (status, _) = app
        .converse_on("hooked", &token, msg("erik", "hello", Some("e1")))
        .await;
    assert_eq!(status, 200);
    app.stop().await;

    // The nudge (10 minutes) falls due while the server is down.
    clock.advance(Duration::minutes(11));
    let app = spawn_app(dir.path(), &clock).await;
    eventually("the nudge reaches the callback", || async {
        recorder.bodies().len() == 1
    })
    .await;
    let body = &recorder.bodies()[0];
    assert_eq!(
        body["text"],
        "Are you still there? Write anything to continue."
    );
    assert_eq!(body["recipient"], "erik");
    let (headers, raw) = recorder.requests.lock().unwrap()[0].clone();
    let ts: i64 = headers["x-relais-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        headers["x-relais-signature"].to_str().unwrap(),
        sign(&secret, ts, &raw),
        "signed with the channel's secret"
    );
    let id = body["message_id"].as_i64().unwrap();
    eventually("the message is marked sent", || async {
        let (_, a) = app.get(&format!("/api/v1/messages/{id}/attempts")).await;
        a["attempts"]
            .as_array()
            .is_some_and(|v| v.len() == 1 && v[0]["outcome"] == "sent")
    })
    .await;
    app.stop().await;

    // A second restart does not fire it again: a new nudge is the only new callback.
    let app = spawn_app(dir.path(), &clock).await;
    let (_, b) = app
        .converse_on("hooked", &token, msg("erik", "still here", Some("e2")))
        .await;
    assert!(
        b["replies"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Message #2")
    );
    clock.advance(Duration::minutes(11));
    eventually("the second nudge", || async {
        recorder.bodies().len() >= 2
    })
    .await;
    app.stop().await;
    let bodies = recorder.bodies();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_ne!(bodies[0]["message_id"], bodies[1]["message_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbound_message_without_a_callback_fails_visibly() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_app(dir.path(), &clock).await;
    app.converse(msg("fay", "hello", None)).await;
    clock.advance(Duration::minutes(10));
    let failed = || async {
        app.transcripts()
            .await
            .iter()
            .any(|m| m["status"] == "failed" && m["text"].as_str().unwrap().starts_with("Are you"))
    };
    eventually("the nudge is recorded as failed", failed).await;
    app.stop().await;
}
