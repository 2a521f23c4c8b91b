//! Erasure of one contact and the retention policy (SPEC §11): every table reached,
//! other contacts untouched, the KPIs' events kept without personal data.

use super::*;
use relais_core::agent::Presence;
use relais_core::conversation::Priority;

/// Words only Alice wrote or was told.
const CANARY: &str = "zanzibar";

async fn all_events_text(store: &Arc<dyn Store>) -> String {
    let events = store.events(None, 0, 100_000).await.unwrap();
    serde_json::to_string(&events).unwrap()
}

pub async fn erasing_a_contact_reaches_every_table_and_keeps_the_kpis(store: Arc<dyn Store>) {
    setup(&store).await;
    store.configure(life());
    team(&store, "support", "round_robin", 5).await;
    let ann = agent(&store, "ann@x", Role::Agent, &["support"]).await;
    store.set_presence(ann, Presence::Online, T0).await.unwrap();
    // Alice talks to the bot, then reaches Ann, who answers (an outbox row, a timer).
    store
        .ingest(
            inbound("alice", Some("a1"), &format!("hello {CANARY}"), T0),
            greeting(),
        )
        .await
        .unwrap();
    let c = escalated(
        &store,
        "alice",
        T0.plus(Duration::minutes(1)),
        escalate_to(Some("support"), Priority::Normal),
    )
    .await;
    let id = c.conversation;
    act(
        &store,
        ann,
        Role::Agent,
        id,
        Act::Reply {
            media: None,
            template: None,
            text: format!("about {CANARY}: on its way"),
            client_id: None,
            pending: false,
        },
        T0.plus(Duration::minutes(2)),
    )
    .await
    .unwrap();
    // Bob is another contact: nothing of his may go.
    let bob = store
        .ingest(inbound("bob", Some("b1"), "bonjour", T0), greeting())
        .await
        .unwrap();
    let alice = conv(&store, id).await.contact;
    let said: Vec<String> = store
        .messages(id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert!(said.iter().any(|t| t.contains(CANARY)), "{said:?}");
    let query = ReportQuery {
        from: Timestamp(T0.0 - 86_400_000),
        to: T0.plus(Duration::days(1)),
        channel: None,
        team: None,
    };
    let sorted = |mut v: Vec<relais_core::kpi::Story>| {
        v.sort_by_key(|s| format!("{s:?}"));
        v
    };
    let reported = sorted(store.report_stories(query.clone()).await.unwrap());
    assert_eq!(reported.len(), 2);
    let bob_before = store.messages(bob.conversation).await.unwrap();

    let done = store
        .erase_contact(alice, T0.plus(Duration::minutes(3)))
        .await
        .unwrap();
    assert_eq!((done.conversations, done.already_erased), (1, false));
    assert!(done.messages >= 4, "{done:?}");

    // Nothing of Alice's left: messages, timers, outbox, variables, address, events' data.
    assert!(store.messages(id).await.unwrap().is_empty());
    let view = store.conversation(id).await.unwrap().unwrap();
    assert_eq!(view.conversation.status, Status::Closed);
    assert_eq!(view.address, "");
    assert_eq!(view.conversation.fields, serde_json::json!({}));
    assert_eq!(view.conversation.bot_state, serde_json::json!({}));
    assert_eq!(view.contact.name, None);
    assert!(!all_events_text(&store).await.contains(CANARY));
    // Each event keeps only what the KPIs read: a message event keeps nothing.
    for e in store.events(Some(id), 0, 1000).await.unwrap() {
        assert_eq!(
            e.event.data,
            relais_core::kpi::kept(e.event.kind, &e.event.data)
        );
        if e.event.kind == EventKind::MessageReceived {
            assert_eq!(e.event.data, serde_json::json!({}));
        }
    }
    assert!(matches!(
        store.contact_card(alice).await,
        Err(Error::NotFound(_))
    ));
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.queued_outbox, 0, "Ann's reply will not be sent");
    assert!(
        store
            .due_timers(T0.plus(Duration::days(30)), 100)
            .await
            .unwrap()
            .iter()
            .all(|t| t.lane.address != "alice"),
        "no timer of Alice's conversation is left"
    );
    // Nothing more can be done on it: no reply, no note, no reopening.
    for what in [Act::Note { text: "x".into() }, Act::Reopen] {
        let r = act(
            &store,
            ann,
            Role::Admin,
            id,
            what,
            T0.plus(Duration::minutes(4)),
        )
        .await;
        assert!(matches!(r, Err(Error::Conflict(_))), "{r:?}");
    }
    // The KPIs read the same events (without their data).
    assert_eq!(sorted(store.report_stories(query).await.unwrap()), reported);
    // Bob is untouched.
    assert_eq!(store.messages(bob.conversation).await.unwrap(), bob_before);
    // Erasing again is not an error; Alice writing again is a new contact.
    let again = store.erase_contact(alice, T0).await.unwrap();
    assert_eq!((again.already_erased, again.messages), (true, 0));
    let back = store
        .ingest(
            inbound("alice", Some("a9"), "me again", T0.plus(Duration::hours(1))),
            greeting(),
        )
        .await
        .unwrap();
    assert_ne!(back.conversation, id);
    assert_ne!(conv(&store, back.conversation).await.contact, alice);
    assert!(matches!(
        store
            .erase_contact(relais_core::id::ContactId(999_999), T0)
            .await,
        Err(Error::NotFound(_))
    ));
}

pub async fn retention_forgets_closed_conversations_and_then_their_contacts(store: Arc<dyn Store>) {
    setup(&store).await;
    store.configure(life());
    team(&store, "support", "round_robin", 5).await;
    let ann = agent(&store, "ann@x", Role::Agent, &["support"]).await;
    store.set_presence(ann, Presence::Online, T0).await.unwrap();
    // Carol's conversation is solved by Ann and closes four days later; Dave's stays open.
    let carol = escalated(
        &store,
        "carol",
        T0,
        escalate_to(Some("support"), Priority::Normal),
    )
    .await
    .conversation;
    act(
        &store,
        ann,
        Role::Agent,
        carol,
        Act::Reply {
            media: None,
            template: None,
            text:
                "Carol, write to me at carol@example.org or IBAN FR76 3000 6000 0112 3456 7890 189"
                    .into(),
            client_id: None,
            pending: false,
        },
        T0,
    )
    .await
    .unwrap();
    act(&store, ann, Role::Agent, carol, Act::Solve, T0)
        .await
        .unwrap();
    let dave = store
        .ingest(inbound("dave", None, "still here", T0), greeting())
        .await
        .unwrap()
        .conversation;
    fire_due(&store, T0.plus(Duration::days(5))).await;
    assert_eq!(conv(&store, carol).await.status, Status::Closed);

    // Anonymise: the text stays, without Carol's name, address, e-mail or IBAN.
    let cutoff = T0.plus(Duration::days(6));
    let pass = store
        .retention_pass(cutoff, Forget::Anonymise, 1, T0.plus(Duration::days(400)))
        .await
        .unwrap();
    assert_eq!((pass.conversations, pass.contacts, pass.more), (1, 1, true));
    let texts: Vec<String> = store
        .messages(carol)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    let agent_reply = texts
        .iter()
        .find(|t| t.contains("write to me"))
        .unwrap_or_else(|| panic!("{texts:?}"));
    assert_eq!(
        agent_reply,
        "[redacted], write to me at [email] or IBAN [iban FR76…0189]"
    );
    assert!(texts.iter().any(|t| t == "agent please"));
    // Carol had nothing else: she is erased. Dave's conversation is not closed: kept.
    let carol_contact = conv(&store, carol).await.contact;
    assert!(matches!(
        store.contact_card(carol_contact).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(store.messages(dave).await.unwrap()[0].text, "still here");
    let pass = store
        .retention_pass(cutoff, Forget::Erase, 10, T0.plus(Duration::days(400)))
        .await
        .unwrap();
    assert_eq!(
        pass,
        RetentionPass::default(),
        "a forgotten conversation is not forgotten twice"
    );
    store.scrub().await.unwrap();

    // Erase: the transcript goes.
    store.erase_contact(carol_contact, T0).await.unwrap();
    assert!(store.messages(carol).await.unwrap().is_empty());
}

/// A bot that asks for a card number (its `ask` masks cards) and echoes what it read.
struct AsksForACard;
impl ConversationHandler for AsksForACard {
    fn decide(&self, input: &HandlerInput<'_>) -> Decision {
        let said = match &input.trigger {
            Trigger::Message { text, .. } => text.to_string(),
            _ => String::new(),
        };
        Decision {
            replies: vec![Reply::text(format!("read: {said}"))],
            ..Decision::default()
        }
    }
    fn masks(
        &self,
        _: &relais_core::conversation::Conversation,
    ) -> Vec<relais_core::privacy::Kind> {
        vec![relais_core::privacy::Kind::Card]
    }
}

pub async fn a_message_an_ask_masks_is_kept_and_read_masked_and_its_redelivery_is_a_duplicate(
    store: Arc<dyn Store>,
) {
    setup(&store).await;
    let h: Arc<dyn ConversationHandler> = Arc::new(AsksForACard);
    let text = "ma carte 4242 4242 4242 4242";
    let first = store
        .ingest(inbound("payer", Some("p1"), text, T0), h.clone())
        .await
        .unwrap();
    assert_eq!(first.replies[0].text, "read: ma carte [card ••••4242]");
    let kept = store.messages(first.conversation).await.unwrap();
    assert_eq!(kept[0].text, "ma carte [card ••••4242]");
    // The provider delivers it again, as it came: the same message, not a conflict.
    let again = store
        .ingest(inbound("payer", Some("p1"), text, T0), h.clone())
        .await
        .unwrap();
    assert!(again.duplicate);
    // Another text under the same id is still refused.
    let other = store
        .ingest(inbound("payer", Some("p1"), "something else", T0), h)
        .await;
    assert!(matches!(other, Err(Error::Conflict(_))), "{other:?}");
}
