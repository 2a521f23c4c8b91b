//! Notifications over real HTTP: an escalation reaches Slack and Microsoft Teams in
//! their documented payloads and a generic webhook signed with HMAC-SHA256; a failing
//! receiver is retried with backoff on the manual clock; a refused delivery is dead,
//! listed for the admin, and replayed. Slack gets at most one message a second per
//! webhook, and a 429's `Retry-After` is honoured.

use crate::helpers::*;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use relais_core::Duration;
use relais_server::channel::rest::sign;
use relais_server::clock::ManualClock;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Monday 2026-11-23 10:00 Paris.
const MONDAY_10H: relais_core::Timestamp = relais_core::Timestamp(1_795_424_400_000);

/// A receiver that answers the scripted statuses in turn, then 200, and records.
#[derive(Clone, Default)]
struct Scripted {
    statuses: Arc<Mutex<VecDeque<u16>>>,
    got: Arc<Mutex<Vec<(u16, HeaderMap, Bytes)>>>,
}

impl Scripted {
    async fn start(statuses: &[u16]) -> (Scripted, String) {
        let me = Scripted::default();
        me.statuses.lock().unwrap().extend(statuses);
        let m = me.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let m = m.clone();
                async move {
                    let status = m.statuses.lock().unwrap().pop_front().unwrap_or(200);
                    m.got.lock().unwrap().push((status, headers, body));
                    // As Slack does when rate limited.
                    let wait = if status == 429 { "30" } else { "0" };
                    (
                        StatusCode::from_u16(status).unwrap(),
                        [("retry-after", wait)],
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (me, url)
    }

    fn calls(&self) -> Vec<(u16, HeaderMap, Value)> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(s, h, b)| (*s, h.clone(), serde_json::from_slice(b).unwrap()))
            .collect()
    }
}

#[tokio::test]
async fn escalations_notify_slack_teams_and_signed_webhooks_with_retries_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MONDAY_10H);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    let (slack, slack_url) = Scripted::start(&[]).await;
    let (teams, teams_url) = Scripted::start(&[]).await;
    let (flaky, flaky_url) = Scripted::start(&[500, 503]).await;
    let (gone, gone_url) = Scripted::start(&[410]).await;

    let mut secrets = Vec::new();
    for (kind, url) in [
        ("slack", &slack_url),
        ("teams", &teams_url),
        ("generic", &flaky_url),
        ("generic", &gone_url),
    ] {
        let (s, b) = app
            .post(
                "/api/v1/webhooks",
                json!({ "kind": kind, "url": url, "events": ["escalated"] }),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        secrets.push(b["secret"].as_str().map(str::to_owned));
    }
    let (s, b) = app
        .post(
            "/api/v1/webhooks",
            json!({ "kind": "pager", "url": slack_url, "events": ["escalated"] }),
        )
        .await;
    assert_eq!((s, b["error"]["field"].as_str()), (400, Some("kind")));
    let (s, b) = app
        .post(
            "/api/v1/webhooks",
            json!({ "kind": "slack", "url": slack_url, "events": ["everything"] }),
        )
        .await;
    assert_eq!((s, b["error"]["field"].as_str()), (400, Some("events")));

    let (_, b) = app
        .converse(json!({ "sender": "+33655555555", "text": "je veux parler à un conseiller" }))
        .await;
    let conv = b["conversation_id"].as_i64().unwrap();

    eventually("Slack and Teams are told", || async {
        !slack.calls().is_empty() && !teams.calls().is_empty()
    })
    .await;
    let (_, _, s) = &slack.calls()[0];
    let text = s["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("#{conv}")) && text.contains("support"),
        "{s}"
    );
    assert_eq!(s["blocks"][0]["text"]["type"], "mrkdwn");
    let (_, _, t) = &teams.calls()[0];
    assert_eq!(t["type"], "message");
    assert_eq!(
        t["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(t["attachments"][0]["content"]["type"], "AdaptiveCard");

    // The flaky receiver failed once; the retry waits for the clock.
    eventually("the first attempt", || async { flaky.calls().len() == 1 }).await;
    clock.advance(Duration::minutes(1));
    eventually("the second attempt", || async { flaky.calls().len() == 2 }).await;
    clock.advance(Duration::minutes(1));
    eventually("the third attempt succeeds", || async {
        flaky.calls().len() == 3
    })
    .await;
    let calls = flaky.calls();
    assert_eq!(
        calls.iter().map(|c| c.0).collect::<Vec<_>>(),
        vec![500, 503, 200]
    );
    let (_, h, body) = &calls[2];
    assert_eq!(body["event"], "escalated");
    assert_eq!(body["conversation"]["id"], conv);
    assert_eq!(body["data"]["reason"], "keyword");
    // The signature covers the timestamp and the exact body; every retry has the same delivery id.
    let ts: i64 = h["x-relais-timestamp"].to_str().unwrap().parse().unwrap();
    let raw = serde_json::to_vec(body).unwrap();
    let want = format!("sha256={}", sign(secrets[2].as_ref().unwrap(), ts, &raw));
    assert_eq!(h["x-relais-signature"].to_str().unwrap(), want);
    let ids: Vec<String> = calls
        .iter()
        .map(|c| c.1["x-relais-delivery"].to_str().unwrap().to_owned())
        .collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");

    // 410 is final: dead at once, listed for the admin, replayed on demand.
    eventually("the refused delivery is dead", || async {
        let (_, d) = app.get("/api/v1/webhooks/deliveries?state=dead").await;
        d["deliveries"].as_array().is_some_and(|l| l.len() == 1)
    })
    .await;
    let (_, d) = app.get("/api/v1/webhooks/deliveries?state=dead").await;
    let dead = &d["deliveries"][0];
    assert_eq!(dead["last_error"], "the webhook answered 410");
    let (s, r) = app
        .post(
            &format!("/api/v1/webhooks/deliveries/{}/replay", dead["id"]),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    eventually("the replay is delivered", || async {
        gone.calls().len() == 2 && gone.calls()[1].0 == 200
    })
    .await;
    eventually("no dead delivery is left", || async {
        let (_, d) = app.get("/api/v1/webhooks/deliveries?state=dead").await;
        d["deliveries"].as_array().is_some_and(Vec::is_empty)
    })
    .await;
    let (s, _) = app
        .post(
            &format!("/api/v1/webhooks/deliveries/{}/replay", dead["id"]),
            json!({}),
        )
        .await;
    assert_eq!(s, 409, "only dead deliveries are replayed");
    app.stop().await;
}

#[tokio::test]
async fn slack_gets_one_message_a_second_and_its_retry_after_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MONDAY_10H);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    let (slack, slack_url) = Scripted::start(&[200, 200, 200, 429]).await;
    let (s, b) = app
        .post(
            "/api/v1/webhooks",
            json!({ "kind": "slack", "url": slack_url, "events": ["escalated"] }),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    for n in 0..3 {
        app.converse(json!({ "sender": format!("+3365555000{n}"), "text": "je veux parler à un conseiller" }))
            .await;
    }
    let queued = || async {
        let (_, d) = app.get("/api/v1/webhooks/deliveries?state=queued").await;
        let mut l: Vec<(i64, i64)> = d["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                let at = d["next_attempt_at"].as_i64().unwrap();
                (at - MONDAY_10H.0, d["attempts"].as_i64().unwrap())
            })
            .collect();
        l.sort();
        l
    };
    eventually("one sent now, two put off a second apart", || async {
        slack.calls().len() == 1 && queued().await == vec![(1000, 0), (2000, 0)]
    })
    .await;
    clock.advance(Duration::seconds(1));
    eventually("the second a second later", || async {
        slack.calls().len() == 2 && queued().await == vec![(2000, 0)]
    })
    .await;
    clock.advance(Duration::seconds(1));
    eventually("the third", || async { slack.calls().len() == 3 }).await;

    // Slack answers 429 with Retry-After: 30; the retry waits that long, though the
    // backoff alone would be a couple of seconds.
    clock.advance(Duration::seconds(10));
    app.converse(json!({ "sender": "+33655550009", "text": "je veux parler à un conseiller" }))
        .await;
    eventually("the fourth is refused for now", || async {
        slack.calls().len() == 4 && queued().await == vec![(12_000 + 30_000, 1)]
    })
    .await;
    clock.advance(Duration::seconds(20));
    assert_eq!(slack.calls().len(), 4, "not before Retry-After");
    clock.advance(Duration::seconds(10));
    eventually("delivered after Retry-After", || async {
        slack.calls().len() == 5 && queued().await.is_empty()
    })
    .await;
    assert_eq!(
        slack.calls().iter().map(|c| c.0).collect::<Vec<_>>(),
        vec![200, 200, 200, 429, 200]
    );
    app.stop().await;
}
