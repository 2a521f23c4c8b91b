//! The REST channel round trip, de-duplication, and per-conversation ordering.

use crate::helpers::*;
use relais_server::clock::ManualClock;
use serde_json::Value;
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converse_round_trip_returns_the_bot_replies() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), &ManualClock::new(T0)).await;
    let (status, body) = app
        .converse(serde_json::json!({"sender": "alice", "text": "Bonjour", "name": "Alice"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let replies: Vec<&str> = body["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap())
        .collect();
    assert_eq!(replies[0], "Hello Alice! Welcome to Relais.");
    assert!(replies[1].starts_with("Message #1 received"));
    assert_eq!(body["duplicate"], false);

    // A customer typing template syntax sees it stored literally.
    let (_, body2) = app.converse(msg("alice", "{{ 7*7 }}", None)).await;
    assert_eq!(body2["conversation_id"], body["conversation_id"]);
    let t = app.transcripts().await;
    assert!(t.iter().any(|m| m["text"] == "{{ 7*7 }}"));
    let (status, metrics) = (
        app.client
            .get(format!("{}/metrics", app.url))
            .send()
            .await
            .unwrap()
            .status(),
        app.client
            .get(format!("{}/metrics", app.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert!(metrics.contains("relais_inbound_messages_total 2"));
    assert!(metrics.contains("relais_pipeline_seconds_count 2"));
    assert!(
        !metrics.contains("alice") && !metrics.contains("7*7"),
        "no personal data in metrics"
    );
    for path in ["/health", "/ready"] {
        let r = app
            .client
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_message_id_twice_and_concurrently_is_processed_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), &ManualClock::new(T0)).await;
    let (_, first) = app.converse(msg("bob", "hi", Some("wamid.1"))).await;
    let (status, again) = app.converse(msg("bob", "hi", Some("wamid.1"))).await;
    assert_eq!(status, 200);
    assert_eq!(again["duplicate"], true);
    assert_eq!(
        again["replies"], first["replies"],
        "a retry gets the original replies"
    );
    assert_eq!(again["message_id"], first["message_id"]);

    // 20 copies of one new message at once.
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (client, url, token) = (app.client.clone(), app.url.clone(), app.token.clone());
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(format!("{url}/api/v1/channels/demo/converse"))
                .bearer_auth(token)
                .json(&msg("bob", "burst", Some("wamid.2")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }));
    }
    let mut fresh = 0;
    let mut ids = BTreeSet::new();
    for t in tasks {
        let b = t.await.unwrap();
        fresh += usize::from(b["duplicate"] == false);
        ids.insert(b["message_id"].as_i64().unwrap());
    }
    assert_eq!(fresh, 1);
    assert_eq!(ids.len(), 1);
    let inbound: Vec<_> = app
        .transcripts()
        .await
        .into_iter()
        .filter(|m| m["direction"] == "inbound")
        .collect();
    assert_eq!(inbound.len(), 2, "hi and burst, once each");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_messages_from_one_contact_are_handled_strictly_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(dir.path(), &ManualClock::new(T0)).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (client, url, token) = (app.client.clone(), app.url.clone(), app.token.clone());
        tasks.push(tokio::spawn(async move {
            let b: Value = client
                .post(format!("{url}/api/v1/channels/demo/converse"))
                .bearer_auth(token)
                .json(&msg("carol", &format!("m{i}"), Some(&format!("c-{i}"))))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            b
        }));
    }
    // Other contacts proceed meanwhile.
    for j in 0..10 {
        let (status, b) = app.converse(msg(&format!("other{j}"), "hello", None)).await;
        assert_eq!(status, 200);
        assert!(
            b["replies"][1]["text"]
                .as_str()
                .unwrap()
                .starts_with("Message #1")
        );
    }
    let mut numbers = Vec::new();
    for t in tasks {
        let b = t.await.unwrap();
        let replies = b["replies"].as_array().unwrap();
        let counted = replies.last().unwrap()["text"].as_str().unwrap();
        let n: usize = counted
            .trim_start_matches("Message #")
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        numbers.push((n, b["message_id"].as_i64().unwrap()));
    }
    let mut ns: Vec<usize> = numbers.iter().map(|(n, _)| *n).collect();
    ns.sort_unstable();
    assert_eq!(
        ns,
        (1..=50).collect::<Vec<_>>(),
        "each message saw the state its predecessor left: no lost update"
    );

    // The stored transcript is in processing order: the k-th inbound message got reply #k.
    let (_, list) = app.get("/api/v1/conversations?limit=200").await;
    let carol = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "carol")
        .unwrap();
    let id = carol["conversation"]["id"].as_i64().unwrap();
    let (_, t) = app.get(&format!("/api/v1/conversations/{id}")).await;
    let messages = t["messages"].as_array().unwrap();
    let mut k = 0;
    for (i, m) in messages.iter().enumerate() {
        assert_eq!(m["seq"], i as i64 + 1, "sequence numbers are gap-free");
        if m["direction"] == "inbound" {
            k += 1;
            let reply = &messages[i + if k == 1 { 2 } else { 1 }];
            assert_eq!(reply["reply_to"], m["id"]);
            assert!(
                reply["text"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("Message #{k} ")),
                "{reply}"
            );
        }
    }
    assert_eq!(k, 50);
    app.stop().await;
}
