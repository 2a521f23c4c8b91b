//! `kill -9` of the real binary during a burst: every acknowledged message is stored
//! exactly once, and after a restart the senders' retries are recognised.

use relais_store::sqlite::SqliteOptions;
use relais_store::{Desk, Page};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub struct Server {
    pub child: Child,
    pub url: String,
    pub token: String,
}

fn start(data: &std::path::Path) -> Server {
    start_with(data, Some("error"))
}

/// `relais demo` on `data`, with its logs on a pipe when `log` is `None` (the
/// default level) and at `log` otherwise.
pub fn start_with(data: &std::path::Path, log: Option<&str>) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relais"));
    command
        .args(["demo", "--json", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped());
    match log {
        Some(level) => command.env("RUST_LOG", level),
        None => command.stderr(Stdio::piped()),
    };
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: Value = serde_json::from_str(&line).unwrap();
    Server {
        child,
        url: v["url"].as_str().unwrap().to_owned(),
        token: v["credentials"]["channel_token"]
            .as_str()
            .unwrap()
            .to_owned(),
    }
}

/// Posts `text` as message `id` of `sender`; the answer when it is a 200.
pub async fn send(
    client: &reqwest::Client,
    s_url: &str,
    token: &str,
    sender: &str,
    id: &str,
    text: &str,
) -> Option<Value> {
    let r = client
        .post(format!("{s_url}/api/v1/channels/demo/converse"))
        .bearer_auth(token)
        .json(&serde_json::json!({"sender": sender, "text": text, "message_id": id}))
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    r.json().await.ok()
}

pub async fn stored_ids(data: &std::path::Path) -> BTreeMap<String, usize> {
    let store = relais_store::sqlite::open(SqliteOptions::new(data.join("data").join("relais.db")))
        .unwrap();
    let mut counts = BTreeMap::new();
    for v in store
        .conversations(Page {
            before: None,
            limit: 1000,
        })
        .await
        .unwrap()
    {
        for m in store.messages(v.conversation.id).await.unwrap() {
            if let Some(id) = m.external_id {
                *counts.entry(id).or_insert(0) += 1;
            }
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_burst_loses_no_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());
    let client = relais_server::tls::client();
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let sent = Arc::new(Mutex::new(BTreeSet::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for c in 0..16 {
        let (client, url, token) = (client.clone(), server.url.clone(), server.token.clone());
        let (acked, sent, count) = (acked.clone(), sent.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let id = format!("k{c}-{n}");
                sent.lock().unwrap().insert((format!("s{c}"), id.clone()));
                match send(&client, &url, &token, &format!("s{c}"), &id, &id).await {
                    Some(_) => {
                        acked.lock().unwrap().insert(id);
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    None => return,
                }
            }
        }));
    }
    while count.load(Ordering::Relaxed) < 400 {
        tokio::task::yield_now().await;
    }
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 400, "the burst made progress");

    let stored = stored_ids(dir.path()).await;
    for id in &acked {
        assert_eq!(
            stored.get(id),
            Some(&1),
            "acknowledged message {id} must be stored exactly once"
        );
    }
    assert!(
        stored.values().all(|n| *n == 1),
        "no message is stored twice"
    );

    // Restart; the senders retry everything they sent (providers redeliver).
    let server = start(dir.path());
    let mut dup = 0;
    let all_sent = sent.lock().unwrap().clone();
    for (sender, id) in all_sent {
        let b = send(&client, &server.url, &server.token, &sender, &id, &id)
            .await
            .expect("accepted after restart");
        if acked.contains(&id) {
            assert_eq!(
                b["duplicate"], true,
                "{id} was acknowledged before the crash"
            );
            dup += 1;
        }
    }
    assert_eq!(dup, acked.len());
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let stored = stored_ids(dir.path()).await;
    let sent_ids: BTreeSet<String> = sent
        .lock()
        .unwrap()
        .iter()
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(
        stored.keys().cloned().collect::<BTreeSet<_>>(),
        sent_ids,
        "every message stored once in the end"
    );
    assert!(stored.values().all(|n| *n == 1));
}
