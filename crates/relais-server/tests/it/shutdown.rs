//! SIGTERM to the real binary during a burst: requests already accepted are finished
//! and answered before it exits, and its logs at the default level never show the
//! customers' phone numbers, emails or words.

use super::crash::{send, start_with, stored_ids};
use std::collections::BTreeSet;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_answers_accepted_messages_and_logs_hold_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    // No RUST_LOG: the default level.
    let mut server = start_with(dir.path(), None);
    let mut logs = server.child.stderr.take().unwrap();
    let log_reader = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = logs.read_to_string(&mut all);
        all
    });
    let client = relais_server::tls::client();
    const WORDS: &str = "my secret word is pomegranate";
    let phone = |c: usize| format!("+3361234{c:04}");
    let email = |c: usize| format!("jeanne.{c}@example.org");

    // A duplicate delivery is logged at the default level; it must be masked too.
    for _ in 0..2 {
        let answer = send(
            &client,
            &server.url,
            &server.token,
            &phone(99),
            "dup",
            WORDS,
        )
        .await;
        assert!(answer.is_some(), "answered 200");
    }

    let acked = Arc::new(Mutex::new(BTreeSet::from(["dup".to_owned()])));
    let count = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for c in 0..16 {
        let (client, url, token) = (client.clone(), server.url.clone(), server.token.clone());
        let (acked, count) = (acked.clone(), count.clone());
        let sender = if c % 2 == 0 { phone(c) } else { email(c) };
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let id = format!("t{c}-{n}");
                match send(&client, &url, &token, &sender, &id, WORDS).await {
                    Some(_) => {
                        acked.lock().unwrap().insert(id);
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    // Refused or cut once the server stops taking new work.
                    None => return,
                }
            }
        }));
    }
    while count.load(Ordering::Relaxed) < 300 {
        tokio::task::yield_now().await;
    }
    let pid = server.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut exited = None;
    for _ in 0..300 {
        if let Some(status) = server.child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let exited = exited.expect("the server stops within 15 s of SIGTERM");
    assert!(exited.success(), "a clean exit after SIGTERM: {exited}");
    for t in tasks {
        t.await.unwrap();
    }

    // What was committed is exactly what was answered: no accepted message was cut
    // between its commit and its answer.
    let acked = acked.lock().unwrap().clone();
    let stored = stored_ids(dir.path()).await;
    assert_eq!(
        stored.keys().cloned().collect::<BTreeSet<_>>(),
        acked,
        "stored messages are the answered ones"
    );
    assert!(stored.values().all(|n| *n == 1));

    let logs = log_reader.join().unwrap();
    assert!(logs.contains("shutting down"), "logs were captured: {logs}");
    assert!(logs.contains("duplicate inbound message"));
    for c in 0..16 {
        for secret in [phone(c), email(c)] {
            assert!(!logs.contains(&secret), "{secret} appears in the logs");
        }
    }
    assert!(!logs.contains(&phone(99)) && !logs.contains("pomegranate"));
}
