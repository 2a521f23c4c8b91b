//! The agent desk: the claim race, and agent actions limited by visibility, with
//! transfers, notes and replies sent once on a double submit.

use super::*;
use relais_core::conversation::Priority;

pub async fn many_simultaneous_claims_assign_once(store: Arc<dyn Store>) {
    setup(&store).await;
    store.configure(life());
    team(&store, "support", "manual", 50).await;
    let mut agents = Vec::new();
    for i in 0..12 {
        agents.push(agent(&store, &format!("a{i}@x"), Role::Agent, &["support"]).await);
    }
    for round in 0..3 {
        let c = escalated(
            &store,
            &format!("race{round}"),
            T0,
            escalate_to(Some("support"), Priority::Normal),
        )
        .await;
        let mut tasks = Vec::new();
        for a in &agents {
            let (store, a, id) = (store.clone(), *a, c.conversation);
            tasks.push(tokio::spawn(async move {
                act(&store, a, Role::Agent, id, Act::Claim, T0)
                    .await
                    .is_ok()
            }));
        }
        let mut won = 0;
        for t in tasks {
            won += usize::from(t.await.unwrap());
        }
        assert_eq!(won, 1, "exactly one claim wins");
        let assigned = store
            .events(Some(c.conversation), 0, 1000)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.event.kind == EventKind::Assigned)
            .count();
        assert_eq!(assigned, 1);
    }
}

pub async fn agents_act_only_where_they_may_and_replies_are_sent_once(store: Arc<dyn Store>) {
    setup(&store).await;
    store.configure(life());
    team(&store, "support", "manual", 5).await;
    team(&store, "sales", "manual", 5).await;
    let ann = agent(&store, "ann@x", Role::Agent, &["support"]).await;
    let sam = agent(&store, "sam@x", Role::Supervisor, &[]).await;
    let c = escalated(
        &store,
        "v1",
        T0,
        escalate_to(Some("sales"), Priority::Normal),
    )
    .await;
    let other = act(
        &store,
        ann,
        Role::Agent,
        c.conversation,
        Act::Note { text: "hi".into() },
        T0,
    )
    .await;
    assert!(
        matches!(other, Err(Error::NotFound(_))),
        "another team's conversation does not exist for her"
    );
    assert!(
        store
            .desk_open(viewer(ann, Role::Agent), c.conversation)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .desk_open(viewer(sam, Role::Supervisor), c.conversation)
            .await
            .unwrap()
            .is_some()
    );
    // The supervisor transfers it to support with a note: now Ann sees it.
    act(
        &store,
        sam,
        Role::Supervisor,
        c.conversation,
        Act::Transfer {
            team: Some("support".into()),
            agent: None,
            note: Some("billing question".into()),
        },
        T0,
    )
    .await
    .unwrap();
    assert!(
        store
            .desk_open(viewer(ann, Role::Agent), c.conversation)
            .await
            .unwrap()
            .is_some()
    );

    // A double submit sends once.
    let reply = || Act::Reply {
        media: None,
        template: None,
        text: "Bonjour, je regarde.".into(),
        client_id: Some("k-1".into()),
        pending: false,
    };
    let first = act(&store, ann, Role::Agent, c.conversation, reply(), T0)
        .await
        .unwrap();
    let again = act(&store, ann, Role::Agent, c.conversation, reply(), T0)
        .await
        .unwrap();
    assert!(!first.duplicate && again.duplicate);
    assert_eq!(
        first.message.as_ref().unwrap().id,
        again.message.as_ref().unwrap().id
    );
    let msgs = store.messages(c.conversation).await.unwrap();
    assert_eq!(
        msgs.iter()
            .filter(|m| m.text == "Bonjour, je regarde.")
            .count(),
        1
    );
    assert!(
        msgs.iter()
            .any(|m| m.direction == Direction::Note && m.text == "billing question")
    );
    assert_eq!(
        conv(&store, c.conversation).await.assignee,
        Some(ann),
        "answering takes it"
    );
    // The bot stays silent while a human owns the conversation.
    let r = store
        .ingest(inbound("v1", None, "merci", T0), greeting())
        .await
        .unwrap();
    assert!(r.replies.is_empty());
}

/// Collision detection in the database, so that agents on different nodes see each
/// other: a page beats, a quiet page is gone, a closed one at once, typing fades.
pub async fn agents_on_one_conversation_page_see_each_other_and_who_types(store: Arc<dyn Store>) {
    setup(&store).await;
    let ann = agent(&store, "ann@x", Role::Agent, &[]).await;
    let bob = agent(&store, "bob@x", Role::Agent, &[]).await;
    let cy = agent(&store, "cy@x", Role::Agent, &[]).await;
    let (here, typing) = (25_000, 6_000);
    let beat = |c: i64, a: AgentId, t: bool, at: i64| PageBeat {
        conversation: relais_core::id::ConversationId(c),
        agent: a,
        typing: t,
        now: Timestamp(T0.0 + at),
        here_ms: here,
        typing_ms: typing,
    };
    let seen = |name: &str, typing: bool| PageWatcher {
        name: name.into(),
        typing,
    };
    assert!(
        store
            .watch_page(beat(7, ann, false, 0))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.watch_page(beat(7, bob, true, 1_000)).await.unwrap(),
        [seen("ann@x", false)]
    );
    assert_eq!(
        store.watch_page(beat(7, ann, false, 2_000)).await.unwrap(),
        [seen("bob@x", true)]
    );
    // A beat without typing does not end the typing it follows; time does.
    store.watch_page(beat(7, bob, false, 3_000)).await.unwrap();
    assert_eq!(
        store.watch_page(beat(7, ann, false, 4_000)).await.unwrap(),
        [seen("bob@x", true)]
    );
    assert_eq!(
        store
            .watch_page(beat(7, ann, false, 1_000 + typing + 1))
            .await
            .unwrap(),
        [seen("bob@x", false)]
    );
    // Another conversation is another room.
    assert!(
        store
            .watch_page(beat(8, cy, false, 5_000))
            .await
            .unwrap()
            .is_empty()
    );
    // Bob closes his page: gone at once.
    store
        .leave_page(relais_core::id::ConversationId(7), bob)
        .await
        .unwrap();
    assert!(
        store
            .watch_page(beat(7, ann, false, 8_000))
            .await
            .unwrap()
            .is_empty()
    );
    // Cy goes quiet: gone once his last beat has run out.
    assert_eq!(
        store
            .watch_page(beat(8, bob, false, 5_000 + here - 1))
            .await
            .unwrap(),
        [seen("cy@x", false)]
    );
    assert!(
        store
            .watch_page(beat(8, bob, false, 5_000 + here))
            .await
            .unwrap()
            .is_empty()
    );
    // Where agents type, for web chat pages connected to other nodes: the typed-in
    // conversation's channel and address, while the typing holds.
    let h: Arc<dyn ConversationHandler> = Arc::new(GreetingBot::default());
    let zoe = store
        .ingest(inbound("zoe", None, "hi", T0), h)
        .await
        .unwrap();
    let at = 40_000;
    store
        .watch_page(beat(zoe.conversation.0, ann, true, at))
        .await
        .unwrap();
    assert_eq!(
        store
            .typing_now(Timestamp(T0.0 + at + 1_000))
            .await
            .unwrap(),
        [(channel(), "zoe".to_owned())]
    );
    assert!(
        store
            .typing_now(Timestamp(T0.0 + at + typing))
            .await
            .unwrap()
            .is_empty()
    );
}
