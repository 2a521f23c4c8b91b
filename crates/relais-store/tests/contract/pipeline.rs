//! The inbound pipeline: ingest and its replies, duplicate and concurrent deliveries of
//! one message, failing handlers, bot-solved and human-owned conversations, and http
//! results that resume the bot.

use super::*;

pub async fn ingest_creates_contact_conversation_and_replies(store: Arc<dyn Store>) {
    setup(&store).await;
    let first = store
        .ingest(inbound("alice", Some("m1"), "hi", T0), greeting())
        .await
        .unwrap();
    assert!(!first.duplicate);
    let texts: Vec<_> = first.replies.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts[0], "Hello Alice! Welcome to Relais.");
    assert!(texts[1].starts_with("Message #1 received"));
    assert!(
        first
            .replies
            .iter()
            .all(|m| m.status == Some(DeliveryStatus::Sent) && m.reply_to == Some(first.message))
    );
    assert_eq!(first.timers.len(), 1);
    assert_eq!(first.timers[0].due_at, T0.plus(Duration::minutes(10)));
    assert!(!first.queued, "in-band replies skip the outbox");

    let second = store
        .ingest(
            inbound("alice", Some("m2"), "again", T0.plus(Duration::seconds(1))),
            greeting(),
        )
        .await
        .unwrap();
    assert_eq!(second.conversation, first.conversation);
    assert!(second.replies[0].text.starts_with("Message #2 received"));

    let messages = store.messages(first.conversation).await.unwrap();
    let seqs: Vec<_> = messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    assert_eq!(messages[0].direction, Direction::Inbound);
    assert_eq!(messages[3].text, "again");

    let view = store
        .conversation(first.conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.conversation.status, Status::Bot);
    assert_eq!(view.contact.name.as_deref(), Some("Alice"));
    assert_eq!(view.address, "alice");
    assert_eq!(view.conversation.bot_state["count"], 2);

    let events = store
        .events(Some(first.conversation), 0, 100)
        .await
        .unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.event.kind).collect();
    assert_eq!(kinds[0], EventKind::ConversationStarted);
    assert_eq!(kinds[1], EventKind::MessageReceived);
    assert!(matches!(events[1].event.actor, Actor::Contact(_)));
    assert!(kinds.contains(&EventKind::TimerScheduled));
    assert!(
        events
            .iter()
            .filter(|e| e.event.kind == EventKind::MessageSent)
            .all(|e| e.event.actor == Actor::Bot)
    );

    // One pending timer: the second message replaced the first nudge.
    let stats = store.stats().await.unwrap();
    assert_eq!(
        (
            stats.contacts,
            stats.conversations,
            stats.inbound,
            stats.pending_timers
        ),
        (1, 1, 2, 1)
    );
    let page = store
        .conversations(Page {
            before: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
}

pub async fn duplicate_inbound_is_stored_once_and_answers_the_original_replies(
    store: Arc<dyn Store>,
) {
    setup(&store).await;
    let first = store
        .ingest(inbound("bob", Some("dup"), "hello", T0), greeting())
        .await
        .unwrap();
    let before = store.stats().await.unwrap();
    let again = store
        .ingest(
            inbound("bob", Some("dup"), "hello", T0.plus(Duration::seconds(5))),
            greeting(),
        )
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.message, first.message);
    assert_eq!(
        again.replies, first.replies,
        "a retry gets the same replies"
    );
    assert_eq!(
        store.stats().await.unwrap(),
        before,
        "a duplicate writes nothing"
    );

    // The same id with another text from the same sender is not a redelivery: refused,
    // nothing written.
    let reused = store
        .ingest(
            inbound("bob", Some("dup"), "something else", T0),
            greeting(),
        )
        .await;
    match reused {
        Err(relais_store::Error::Conflict(why)) => {
            assert!(why.contains("different text"), "{why}")
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.stats().await.unwrap(), before);

    // The same id from ANOTHER sender is another message: ids are unique per sender.
    let other = store
        .ingest(inbound("mallory", Some("dup"), "x", T0), greeting())
        .await
        .unwrap();
    assert!(!other.duplicate);
    assert_ne!(other.conversation, first.conversation);
    assert_ne!(
        other.replies, first.replies,
        "mallory does not get bob's replies"
    );
    let before = store.stats().await.unwrap();
    assert_eq!(before.inbound, 2);

    // Without an id there is no de-duplication.
    store
        .ingest(inbound("bob", None, "a", T0), greeting())
        .await
        .unwrap();
    store
        .ingest(inbound("bob", None, "a", T0), greeting())
        .await
        .unwrap();
    assert_eq!(store.stats().await.unwrap().inbound, before.inbound + 2);
}

pub async fn concurrent_duplicates_store_one_message(store: Arc<dyn Store>) {
    setup(&store).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        // Four copies from each of four senders race: only the unique index on
        // (channel, sender, id) stops the copies, and each sender's first one is kept.
        let sender = format!("racer{}", i % 4);
        tasks.push(tokio::spawn(async move {
            store
                .ingest(inbound(&sender, Some("same-id"), "hi", T0), greeting())
                .await
        }));
    }
    let mut fresh = 0;
    for t in tasks {
        if !t.await.unwrap().unwrap().duplicate {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 4);
    let stats = store.stats().await.unwrap();
    assert_eq!(
        (stats.inbound, stats.conversations, stats.contacts),
        (4, 4, 4)
    );
}

pub async fn a_failing_handler_leaves_no_trace(store: Arc<dyn Store>) {
    setup(&store).await;
    fn boom(_: &HandlerInput<'_>) -> Decision {
        panic!("handler bug")
    }
    let before = store.stats().await.unwrap();
    let err = store
        .ingest(
            inbound("gina", Some("g1"), "hi", T0),
            Arc::new(Scripted(boom)),
        )
        .await;
    if err.is_ok() {
        panic!("a panicking handler must fail the transaction");
    }
    assert_eq!(store.stats().await.unwrap(), before);
    // A bot asking for an impossible transition is refused the same way.
    fn reopen(_: &HandlerInput<'_>) -> Decision {
        Decision {
            ticket: Some(Action::Reopen),
            replies: vec![Reply::text("x")],
            ..Decision::default()
        }
    }
    assert!(
        store
            .ingest(
                inbound("gina", Some("g2"), "hi", T0),
                Arc::new(Scripted(reopen))
            )
            .await
            .is_err()
    );
    assert_eq!(store.stats().await.unwrap(), before);
    // And the store still works.
    assert!(
        !store
            .ingest(inbound("gina", Some("g3"), "hi", T0), greeting())
            .await
            .unwrap()
            .duplicate
    );
}

pub async fn bot_solved_conversation_restarts_the_bot(store: Arc<dyn Store>) {
    setup(&store).await;
    fn solve(input: &HandlerInput<'_>) -> Decision {
        Decision {
            replies: vec![Reply::text("bye")],
            ticket: Some(Action::Solve(Resolver::Bot)),
            bot_state: Some(
                serde_json::json!({"seen": input.conversation.bot_state["seen"].as_i64().unwrap_or(0) + 1}),
            ),
            ..Decision::default()
        }
    }
    let h: Arc<dyn ConversationHandler> = Arc::new(Scripted(solve));
    let a = store
        .ingest(inbound("hank", Some("h1"), "hi", T0), h.clone())
        .await
        .unwrap();
    let v = store
        .conversation(a.conversation)
        .await
        .unwrap()
        .unwrap()
        .conversation;
    assert_eq!(
        (v.status, v.resolved_by),
        (Status::Solved, Some(Resolver::Bot))
    );
    let b = store
        .ingest(inbound("hank", Some("h2"), "again", T0), h)
        .await
        .unwrap();
    assert_eq!(b.conversation, a.conversation);
    let v = store
        .conversation(a.conversation)
        .await
        .unwrap()
        .unwrap()
        .conversation;
    assert_eq!(
        v.bot_state["seen"], 1,
        "the bot started again from a fresh state"
    );
    let events = store.events(Some(a.conversation), 0, 100).await.unwrap();
    let changes: Vec<_> = events
        .iter()
        .filter(|e| e.event.kind == EventKind::StatusChanged)
        .map(|e| {
            (
                e.event.data["from"].as_str().unwrap().to_owned(),
                e.event.data["to"].as_str().unwrap().to_owned(),
                e.event.actor.kind_str(),
            )
        })
        .collect();
    let want = |a: &str, b: &str, c: &'static str| (a.to_owned(), b.to_owned(), c);
    assert_eq!(
        changes,
        vec![
            want("bot", "solved", "bot"),
            want("solved", "bot", "contact"),
            want("bot", "solved", "bot")
        ]
    );
}

pub async fn human_owned_conversation_gets_no_bot_reply(store: Arc<dyn Store>) {
    setup(&store).await;
    fn escalate(_: &HandlerInput<'_>) -> Decision {
        Decision {
            replies: vec![Reply::text("transferring")],
            ticket: Some(Action::Escalate),
            ..Decision::default()
        }
    }
    let a = store
        .ingest(
            inbound("ivy", Some("i1"), "agent", T0),
            Arc::new(Scripted(escalate)),
        )
        .await
        .unwrap();
    assert_eq!(a.replies.len(), 1);
    let b = store
        .ingest(inbound("ivy", Some("i2"), "hello?", T0), greeting())
        .await
        .unwrap();
    assert!(
        b.replies.is_empty(),
        "the bot is silent while a human owns the conversation"
    );
    let v = store
        .conversation(a.conversation)
        .await
        .unwrap()
        .unwrap()
        .conversation;
    assert_eq!(v.status, Status::Open);
    let events = store.events(Some(a.conversation), 0, 100).await.unwrap();
    assert!(events.iter().any(|e| e.event.kind == EventKind::Escalated));
}

/// Asks for an http call on a message; on its result, escalates with collected fields.
fn http_then_handoff(input: &HandlerInput<'_>) -> Decision {
    match input.trigger {
        Trigger::Message { .. } => Decision {
            replies: vec![Reply::text("looking it up")],
            http: Some(relais_core::decision::HttpCall {
                method: "GET".into(),
                url: "http://orders.example/A1".into(),
                headers: vec![],
                body: None,
                timeout_ms: 1000,
                retries: 0,
                idempotency_key: "k1".into(),
            }),
            ..Decision::default()
        },
        Trigger::Http(relais_core::decision::HttpResult::Response { status, .. }) => Decision {
            replies: vec![Reply::text(format!("got {status}"))],
            ticket: Some(Action::Escalate),
            handoff: Some(relais_core::decision::Handoff {
                team: Some("support".into()),
                priority: relais_core::conversation::Priority::High,
                reason: "keyword".into(),
                note: None,
                after_hours: false,
                fields: serde_json::json!({ "order_id": "A1" }),
                language: None,
            }),
            ..Decision::default()
        },
        _ => Decision::default(),
    }
}

pub async fn http_results_resume_the_bot_and_handoffs_keep_what_it_collected(
    store: Arc<dyn Store>,
) {
    setup(&store).await;
    let h: Arc<dyn ConversationHandler> = Arc::new(Scripted(http_then_handoff));
    let a = store
        .ingest(inbound("hal", Some("h1"), "where is A1", T0), h.clone())
        .await
        .unwrap();
    assert_eq!(a.replies.len(), 1);
    let call = a
        .http
        .expect("the decision's http call comes back after the commit");
    assert_eq!(call.idempotency_key, "k1");
    let r = store
        .resume(
            a.conversation,
            relais_core::decision::HttpResult::Response {
                status: 200,
                body: "{}".into(),
            },
            true,
            T0,
            h.clone(),
        )
        .await
        .unwrap();
    assert_eq!(r.replies[0].text, "got 200");
    let view = store.conversation(a.conversation).await.unwrap().unwrap();
    let conv = &view.conversation;
    assert_eq!(conv.status, Status::Open);
    assert_eq!(conv.team.as_deref(), Some("support"));
    assert_eq!(conv.escalation_reason.as_deref(), Some("keyword"));
    assert_eq!(conv.fields["order_id"], "A1");
    let events = store.events(Some(a.conversation), 0, 100).await.unwrap();
    assert!(events.iter().any(|e| e.event.kind == EventKind::HttpCalled));
    // A human owns it now: a late result is recorded but the bot stays silent.
    let late = store
        .resume(
            a.conversation,
            relais_core::decision::HttpResult::Response {
                status: 200,
                body: "{}".into(),
            },
            true,
            T0,
            h,
        )
        .await
        .unwrap();
    assert!(late.replies.is_empty());
}
