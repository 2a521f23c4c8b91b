//! Timers and the outbox: timers fire once and replace by name, outgoing messages are
//! sent in order with every attempt journalled, and a failure is terminal.

use super::*;

pub async fn timers_fire_once_and_replace_by_name(store: Arc<dyn Store>) {
    setup(&store).await;
    let a = store
        .ingest(inbound("carol", Some("c1"), "hi", T0), greeting())
        .await
        .unwrap();
    let b = store
        .ingest(
            inbound("carol", Some("c2"), "hi", T0.plus(Duration::minutes(1))),
            greeting(),
        )
        .await
        .unwrap();
    let early = a.timers[0].id;
    let late = b.timers[0].id;
    let due = store
        .due_timers(T0.plus(Duration::minutes(30)), 10)
        .await
        .unwrap();
    assert_eq!(
        due.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![late],
        "the first nudge was replaced"
    );
    assert_eq!(
        due[0].lane,
        Lane {
            channel: channel(),
            address: "carol".into()
        }
    );

    let when = T0.plus(Duration::minutes(11));
    assert!(
        store
            .fire_timer(early, when, greeting())
            .await
            .unwrap()
            .is_none(),
        "cancelled timers never fire"
    );
    assert!(
        store
            .fire_timer(late, T0.plus(Duration::minutes(5)), greeting())
            .await
            .unwrap()
            .is_none(),
        "a timer never fires before it is due"
    );
    let fired = store
        .fire_timer(late, when, greeting())
        .await
        .unwrap()
        .expect("fires");
    assert_eq!(fired.replies.len(), 1);
    assert_eq!(fired.replies[0].status, Some(DeliveryStatus::Queued));
    assert!(fired.queued);
    assert!(
        store
            .fire_timer(late, when, greeting())
            .await
            .unwrap()
            .is_none(),
        "fires once"
    );

    // Racing claims: exactly one wins.
    let c = store
        .ingest(inbound("dave", Some("d1"), "hi", T0), greeting())
        .await
        .unwrap();
    let id = c.timers[0].id;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .fire_timer(id, when, greeting())
                .await
                .unwrap()
                .is_some()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    assert!(
        store
            .fire_timer(TimerId(999_999), when, greeting())
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.due_timers(when, 10).await.unwrap().is_empty());
}

/// A handler that sends two replies through the outbox on every timer.
fn two_queued(input: &HandlerInput<'_>) -> Decision {
    match input.trigger {
        Trigger::Timer { .. } => Decision {
            replies: vec![Reply::text("one"), Reply::text("two")],
            ..Decision::default()
        },
        Trigger::Message { .. } => Decision {
            schedule: vec![TimerRequest {
                name: "t".into(),
                due_at: input.now,
                payload: serde_json::json!({}),
            }],
            ..Decision::default()
        },
        Trigger::Http(_) | Trigger::Event { .. } => Decision::default(),
    }
}

pub async fn outbox_sends_in_order_and_journals_every_attempt(store: Arc<dyn Store>) {
    setup(&store).await;
    let h: Arc<dyn ConversationHandler> = Arc::new(Scripted(two_queued));
    let a = store
        .ingest(inbound("erin", Some("e1"), "hi", T0), h.clone())
        .await
        .unwrap();
    store
        .fire_timer(a.timers[0].id, T0, h.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.next_outbox_due(T0).await.unwrap(), Some(T0));

    // Only the head of the conversation's queue is handed out.
    let items = store.claim_outbox(claim(T0)).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].text, "one");
    assert_eq!(items[0].address, "erin");
    assert!(
        store.claim_outbox(claim(T0)).await.unwrap().is_empty(),
        "leased rows are not handed out twice"
    );
    assert_eq!(
        store.next_outbox_due(T0).await.unwrap(),
        None,
        "the second message waits behind the leased head: nothing is claimable"
    );

    store
        .record_attempt(Attempt {
            message: items[0].message,
            at: T0,
            duration_ms: 3,
            outcome: AttemptOutcome::Retry {
                retry_at: T0.plus(Duration::seconds(2)),
                detail: "503".into(),
                ambiguous: false,
            },
        })
        .await
        .unwrap();
    assert!(
        store
            .claim_outbox(claim(T0.plus(Duration::seconds(1))))
            .await
            .unwrap()
            .is_empty(),
        "backoff is honoured"
    );
    let again = store
        .claim_outbox(claim(T0.plus(Duration::seconds(2))))
        .await
        .unwrap();
    assert_eq!((again[0].message, again[0].attempts), (items[0].message, 1));
    store
        .record_attempt(Attempt {
            message: again[0].message,
            at: T0.plus(Duration::seconds(2)),
            duration_ms: 4,
            outcome: AttemptOutcome::Sent {
                external_id: Some("prov-1".into()),
                detail: None,
            },
        })
        .await
        .unwrap();
    let next = store
        .claim_outbox(claim(T0.plus(Duration::seconds(2))))
        .await
        .unwrap();
    assert_eq!(next[0].text, "two");

    let journal = store.attempts(items[0].message).await.unwrap();
    let outcomes: Vec<_> = journal
        .iter()
        .map(|a| (a.attempt, a.outcome.as_str()))
        .collect();
    assert_eq!(outcomes, vec![(1, "retry"), (2, "sent")]);
    let msgs = store.messages(a.conversation).await.unwrap();
    let one = msgs.iter().find(|m| m.text == "one").unwrap();
    assert_eq!(one.status, Some(DeliveryStatus::Sent));
    assert_eq!(one.external_id.as_deref(), Some("prov-1"));
}

pub async fn outbox_failure_is_terminal_and_recorded(store: Arc<dyn Store>) {
    setup(&store).await;
    let h: Arc<dyn ConversationHandler> = Arc::new(Scripted(two_queued));
    let a = store
        .ingest(inbound("frank", Some("f1"), "hi", T0), h.clone())
        .await
        .unwrap();
    store
        .fire_timer(a.timers[0].id, T0, h)
        .await
        .unwrap()
        .unwrap();
    let items = store.claim_outbox(claim(T0)).await.unwrap();
    store
        .record_attempt(Attempt {
            message: items[0].message,
            at: T0,
            duration_ms: 1,
            outcome: AttemptOutcome::Failed {
                detail: "400 bad recipient".into(),
            },
        })
        .await
        .unwrap();
    let msgs = store.messages(a.conversation).await.unwrap();
    assert_eq!(
        msgs.iter().find(|m| m.text == "one").unwrap().status,
        Some(DeliveryStatus::Failed)
    );
    let events = store.events(Some(a.conversation), 0, 100).await.unwrap();
    let failed = events
        .iter()
        .find(|e| e.event.kind == EventKind::DeliveryFailed)
        .unwrap();
    assert_eq!(failed.event.data["detail"], "400 bad recipient");
    // A late report for a settled message changes nothing.
    store
        .record_attempt(Attempt {
            message: items[0].message,
            at: T0,
            duration_ms: 1,
            outcome: AttemptOutcome::Sent {
                external_id: None,
                detail: None,
            },
        })
        .await
        .unwrap();
    assert_eq!(store.attempts(items[0].message).await.unwrap().len(), 1);
}
