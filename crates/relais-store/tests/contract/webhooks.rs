//! Webhooks: deliveries made once, retried, paced, replayed, and the events they hear.

use super::*;
use relais_core::conversation::Priority;

pub async fn webhook_deliveries_are_made_once_retried_and_replayed(store: Arc<dyn Store>) {
    setup(&store).await;
    store.configure(life());
    team(&store, "support", "manual", 5).await;
    let hook = store
        .create_webhook(NewWebhook {
            kind: "generic".into(),
            url: "http://example.invalid/hook".into(),
            secret: Some("k".into()),
            events: vec!["escalated".into(), "solved".into()],
            created_at: T0,
        })
        .await
        .unwrap();
    let c = escalated(
        &store,
        "w1",
        T0,
        escalate_to(Some("support"), Priority::High),
    )
    .await;
    let read = store.route_webhook_events(100, T0).await.unwrap();
    assert!(read > 1, "the conversation's events were read: {read}");
    assert_eq!(
        store.route_webhook_events(100, T0).await.unwrap(),
        0,
        "each event is routed once"
    );
    assert_eq!(
        store.deliveries(None, 10).await.unwrap().len(),
        1,
        "one escalation, one delivery"
    );
    let jobs = store
        .claim_deliveries(T0, T0.plus(Duration::minutes(1)), 10)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].webhook, hook.id);
    assert_eq!(jobs[0].payload["conversation"]["id"], c.conversation.0);
    assert_eq!(jobs[0].payload["conversation"]["priority"], "high");
    assert!(
        store
            .claim_deliveries(T0, T0.plus(Duration::minutes(1)), 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let later = T0.plus(Duration::seconds(30));
    store
        .record_delivery(
            jobs[0].id,
            DeliveryOutcome::Retry {
                at: later,
                error: "503".into(),
            },
            T0,
        )
        .await
        .unwrap();
    assert!(
        store
            .claim_deliveries(T0, T0.plus(Duration::minutes(1)), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.next_delivery_due().await.unwrap(), Some(later));
    let jobs = store
        .claim_deliveries(later, later.plus(Duration::minutes(1)), 10)
        .await
        .unwrap();
    assert_eq!(jobs[0].attempts, 1);
    // Put off for the receiver's rate: due later, and it is not an attempt.
    let paced = later.plus(Duration::seconds(1));
    store
        .record_delivery(jobs[0].id, DeliveryOutcome::Later { at: paced }, later)
        .await
        .unwrap();
    assert_eq!(store.next_delivery_due().await.unwrap(), Some(paced));
    let jobs = store
        .claim_deliveries(paced, paced.plus(Duration::minutes(1)), 10)
        .await
        .unwrap();
    assert_eq!(jobs[0].attempts, 1);
    let later = paced;
    store
        .record_delivery(
            jobs[0].id,
            DeliveryOutcome::Dead {
                error: "410".into(),
            },
            later,
        )
        .await
        .unwrap();
    let dead = store.deliveries(Some("dead".into()), 10).await.unwrap();
    assert_eq!((dead.len(), dead[0].attempts), (1, 2));
    let replayed = store.replay_delivery(dead[0].id, later).await.unwrap();
    assert_eq!((replayed.state.as_str(), replayed.attempts), ("queued", 0));
    assert!(matches!(
        store.replay_delivery(dead[0].id, later).await,
        Err(Error::Conflict(_))
    ));
    let jobs = store
        .claim_deliveries(later, later.plus(Duration::minutes(1)), 10)
        .await
        .unwrap();
    store
        .record_delivery(jobs[0].id, DeliveryOutcome::Delivered, later)
        .await
        .unwrap();
    assert_eq!(
        store
            .deliveries(Some("delivered".into()), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // A deleted webhook gets nothing more.
    assert!(store.delete_webhook(hook.id, later).await.unwrap());
    escalated(
        &store,
        "w2",
        later,
        escalate_to(Some("support"), Priority::Normal),
    )
    .await;
    store.route_webhook_events(100, later).await.unwrap();
    assert!(
        store
            .deliveries(Some("queued".into()), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn webhooks_hear_escalations_assignments_customer_replies_and_solves(
    store: Arc<dyn Store>,
) {
    setup(&store).await;
    store.configure(life());
    team(&store, "support", "manual", 5).await;
    let ann = agent(&store, "ann@x", Role::Agent, &["support"]).await;
    store
        .create_webhook(NewWebhook {
            kind: "generic".into(),
            url: "http://example.invalid/hook".into(),
            secret: None,
            events: WEBHOOK_EVENTS.iter().map(|e| (*e).to_owned()).collect(),
            created_at: T0,
        })
        .await
        .unwrap();
    // The first message escalates: it is not a reply to a human.
    let c = escalated(
        &store,
        "wh",
        T0,
        escalate_to(Some("support"), Priority::Normal),
    )
    .await;
    act(&store, ann, Role::Agent, c.conversation, Act::Claim, T0)
        .await
        .unwrap();
    store
        .ingest(inbound("wh", None, "toujours là ?", T0), greeting())
        .await
        .unwrap();
    act(&store, ann, Role::Agent, c.conversation, Act::Solve, T0)
        .await
        .unwrap();
    while store.route_webhook_events(3, T0).await.unwrap() == 3 {}
    let mut names: Vec<String> = store
        .deliveries(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.event)
        .collect();
    names.reverse();
    assert_eq!(
        names,
        vec!["escalated", "assigned", "customer_replied", "solved"]
    );
}
