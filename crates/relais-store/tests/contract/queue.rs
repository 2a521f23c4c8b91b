//! Queue positions come from an aggregate the database keeps (`queue_depth`, kept by
//! triggers) and from a range of the queue index: this checks them against what the
//! queue holds after every kind of move in and out of it.

use super::*;
use relais_core::conversation::Priority;

/// The position a newcomer of `priority` to `desk` hears (the handler asks the probe).
async fn newcomer(
    store: &Arc<dyn Store>,
    who: &str,
    at: Timestamp,
    p: Priority,
) -> (String, relais_core::id::ConversationId) {
    let i = escalated(store, who, at, escalate_to(Some("desk"), p)).await;
    (i.replies[0].text.clone(), i.conversation)
}

pub async fn queue_positions_follow_arrivals_priorities_claims_transfers_and_solves(
    store: Arc<dyn Store>,
) {
    setup(&store).await;
    store.configure(life());
    // A manual team: nothing is assigned unless an agent claims it.
    team(&store, "desk", "manual", 5).await;
    team(&store, "other", "manual", 5).await;
    let ann = agent(&store, "ann@x", Role::Supervisor, &["desk", "other"]).await;
    let s = |n: i64| T0.plus(Duration::seconds(n));

    let (a, ca) = newcomer(&store, "a", s(1), Priority::Normal).await;
    let (b, cb) = newcomer(&store, "b", s(2), Priority::Normal).await;
    let (c, cc) = newcomer(&store, "c", s(3), Priority::High).await;
    let (d, _) = newcomer(&store, "d", s(4), Priority::Normal).await;
    let (l, _) = newcomer(&store, "l", s(5), Priority::Low).await;
    assert_eq!(
        [a, b, c, d, l],
        [
            "position 1",
            "position 2",
            "position 1",
            "position 4",
            "position 5"
        ]
        .map(String::from),
        "normal after normal, high before every normal, low last"
    );
    let (u, cu) = newcomer(&store, "u", s(6), Priority::Urgent).await;
    assert_eq!(u, "position 1");

    // A claim takes one out of the queue: the urgent one and a normal one.
    act(&store, ann, Role::Supervisor, cu, Act::Claim, s(7))
        .await
        .unwrap();
    act(&store, ann, Role::Supervisor, ca, Act::Claim, s(7))
        .await
        .unwrap();
    // Queue now: c (high), b, d (normal), l (low).
    let (e, _) = newcomer(&store, "e", s(8), Priority::Normal).await;
    assert_eq!(e, "position 4", "c, b and d are ahead");

    // A transfer moves one to the other team's queue (at its back).
    act(
        &store,
        ann,
        Role::Supervisor,
        cb,
        Act::Transfer {
            team: Some("other".into()),
            agent: None,
            note: None,
        },
        s(9),
    )
    .await
    .unwrap();
    let (f, _) = newcomer(&store, "f", s(10), Priority::High).await;
    assert_eq!(f, "position 2", "only c is ahead of a new high one");
    let i = store
        .ingest(
            inbound("o", None, "agent please", s(11)),
            escalate_to(Some("other"), Priority::Normal),
        )
        .await
        .unwrap();
    assert_eq!(
        i.replies[0].text, "position 2",
        "b waits in the other team's queue"
    );

    // Claimed and solved conversations are out of the queue; a reopened one whose
    // agent is gone comes back into it.
    act(&store, ann, Role::Supervisor, cc, Act::Claim, s(12))
        .await
        .unwrap();
    act(&store, ann, Role::Supervisor, cc, Act::Solve, s(13))
        .await
        .unwrap();
    act(&store, ann, Role::Supervisor, ca, Act::Solve, s(13))
        .await
        .unwrap();
    // Queue now: f (high), d, e (normal), l (low).
    let (g, _) = newcomer(&store, "g", s(14), Priority::Low).await;
    assert_eq!(g, "position 5");
    let reopened = store
        .ingest(inbound("a", None, "it is not fixed", s(15)), greeting())
        .await
        .unwrap();
    assert_eq!(reopened.conversation, ca);
    assert_eq!(
        conv(&store, ca).await.status,
        relais_core::ticket::Status::Open
    );
    assert_eq!(
        conv(&store, ca).await.assignee,
        None,
        "ann is offline: back to the queue"
    );
    let (h, _) = newcomer(&store, "h", s(16), Priority::Normal).await;
    assert_eq!(h, "position 5", "f, d, e and the reopened a are ahead");
}
