//! Live streams against a starving agent: caps per agent and per server (429 with
//! Retry-After, a closed stream frees its slot), one shared tail so that 300 open
//! streams leave the server responsive, and resuming with `Last-Event-ID` delivers each
//! missed event once, in order.

use crate::handoff::{call, login_agent};
use crate::helpers::*;
use relais_server::clock::ManualClock;
use serde_json::Value;
use std::time::{Duration, Instant};

async fn open(app: &TestApp, token: &str, last: Option<i64>) -> reqwest::Response {
    let mut r = app
        .client
        .get(format!("{}/api/v1/stream", app.url))
        .bearer_auth(token);
    if let Some(id) = last {
        r = r.header("Last-Event-ID", id.to_string());
    }
    r.send().await.unwrap()
}

/// The next `n` events of a stream (their JSON data).
async fn next_events(r: &mut reqwest::Response, n: usize) -> Vec<Value> {
    let mut buf = String::new();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while out.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, r.chunk())
            .await
            .expect("events in time")
            .unwrap()
            .expect("the stream is open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            if let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data:")) {
                out.push(serde_json::from_str(data.trim()).unwrap());
            }
        }
    }
    out
}

#[tokio::test]
async fn streams_are_capped_per_agent_and_per_server_and_slots_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_app_with(
        dir.path(),
        &clock,
        &[
            ("RELAIS__SERVER__STREAMS_PER_AGENT", "2"),
            ("RELAIS__SERVER__STREAMS_PER_SERVER", "3"),
        ],
    )
    .await;
    let ann = login_agent(&app, "ann@shop.example", "agent", &[]).await;
    let bob = login_agent(&app, "bob@shop.example", "agent", &[]).await;
    let a1 = open(&app, &ann.token, None).await;
    let a2 = open(&app, &ann.token, None).await;
    assert_eq!((a1.status().as_u16(), a2.status().as_u16()), (200, 200));
    let a3 = open(&app, &ann.token, None).await;
    assert_eq!(a3.status(), 429);
    assert!(a3.headers().contains_key("retry-after"));
    let b: Value = a3.json().await.unwrap();
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("streams_per_agent"),
        "{b}"
    );
    let b1 = open(&app, &bob.token, None).await;
    assert_eq!(b1.status(), 200);
    let b2 = open(&app, &bob.token, None).await;
    assert_eq!(b2.status(), 429, "the server's cap");
    let b: Value = b2.json().await.unwrap();
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("streams_per_server"),
        "{b}"
    );
    // A closed stream gives its slot back.
    drop(a1);
    let mut again = None;
    for _ in 0..50 {
        let r = open(&app, &ann.token, None).await;
        if r.status() == 200 {
            again = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(again.is_some(), "the slot of a closed stream comes back");
    app.stop().await;
}

#[tokio::test]
async fn resuming_delivers_each_missed_event_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_app(dir.path(), &clock).await;
    let sup = login_agent(&app, "sue@shop.example", "supervisor", &[]).await;
    let mut live = open(&app, &sup.token, None).await;
    app.converse(msg("zoe", "first", None)).await;
    let seen = next_events(&mut live, 1).await;
    let resume_from = seen[0]["id"].as_i64().unwrap();
    drop(live);
    // While away: two more messages.
    app.converse(msg("zoe", "second", None)).await;
    app.converse(msg("zoe", "third", None)).await;
    let all = app.rt.store.events(None, resume_from, 1000).await.unwrap();
    let kinds = [
        "message_received",
        "message_queued",
        "message_sent",
        "status_changed",
        "escalated",
    ];
    let expected: Vec<i64> = all
        .iter()
        .filter(|e| kinds.contains(&e.event.kind.as_str()) && e.conversation.is_some())
        .map(|e| e.id)
        .collect();
    assert!(expected.len() >= 2, "{all:?}");
    let mut back = open(&app, &sup.token, Some(resume_from)).await;
    let got: Vec<i64> = next_events(&mut back, expected.len())
        .await
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, expected, "each missed event once, in order");
    app.stop().await;
}

/// The starvation case: agents holding 300 open streams (the bot's
/// conversations are not theirs to hear: the shared tail never wakes those streams),
/// and a supervisor's few streams that hear every message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_open_streams_leave_the_server_responsive() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_app_with(
        dir.path(),
        &clock,
        &[
            ("RELAIS__SERVER__STREAMS_PER_AGENT", "100"),
            ("RELAIS__SERVER__STREAMS_PER_SERVER", "1000"),
        ],
    )
    .await;
    let rate = |tag: &'static str| {
        let app = &app;
        async move {
            let start = Instant::now();
            let n = 100;
            for i in 0..n {
                let (s, b) = app
                    .converse(msg(&format!("{tag}-{}", i % 10), "bonjour", None))
                    .await;
                assert_eq!(s, 200, "{b}");
            }
            f64::from(n) / start.elapsed().as_secs_f64()
        }
    };
    let alone = rate("alone").await;
    let mut streams = Vec::new();
    for (a, (role, n)) in [
        ("agent", 100),
        ("agent", 100),
        ("agent", 100),
        ("supervisor", 5),
    ]
    .iter()
    .enumerate()
    {
        let who = login_agent(&app, &format!("who{a}@shop.example"), role, &[]).await;
        for _ in 0..*n {
            let r = open(&app, &who.token, None).await;
            assert_eq!(r.status(), 200);
            streams.push(r);
        }
    }
    let with_streams = rate("crowd").await;
    let mut ready = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let r = app
            .client
            .get(format!("{}/ready", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        ready.push(t.elapsed());
    }
    ready.sort();
    let median = ready[ready.len() / 2];
    eprintln!(
        "streams: {alone:.0} msgs/s alone, {with_streams:.0} msgs/s with 305 streams, /ready median {median:?}"
    );
    assert!(
        median < Duration::from_millis(50),
        "/ready median {median:?}"
    );
    assert!(
        with_streams >= 200.0 || with_streams >= alone * 0.5,
        "{with_streams:.0} msgs/s with 300 streams against {alone:.0} alone"
    );
    // And the streams are live: one of them hears the next message.
    let (_, b) = call(&app, &app.admin_token, "GET", "/api/v1/me", None).await;
    assert!(b["agent"].is_object());
    app.converse(msg("late", "hello", None)).await;
    let heard = next_events(&mut streams[304], 1).await;
    assert!(heard[0]["kind"].is_string());
    drop(streams);
    app.stop().await;
}

#[tokio::test]
async fn an_idle_stream_gets_heartbeats() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_app_with(
        dir.path(),
        &clock,
        &[("RELAIS__SERVER__STREAM_HEARTBEAT", "1s")],
    )
    .await;
    let ann = login_agent(&app, "ann@shop.example", "agent", &[]).await;
    let mut r = open(&app, &ann.token, None).await;
    let start = Instant::now();
    let mut beats = 0;
    while beats < 2 {
        let chunk = tokio::time::timeout(Duration::from_secs(5), r.chunk())
            .await
            .expect("a heartbeat within 5 s")
            .unwrap()
            .expect("the stream stays open");
        beats += String::from_utf8_lossy(&chunk).matches(':').count().min(1);
    }
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "two beats a second apart"
    );
    app.stop().await;
}
