//! The stories reports read (`conversation_facts`, folded from the log up to a cursor,
//! the rest folded by the report) are exactly the event log folded, whatever happened
//! to the conversations and however far the folding passes got.

use super::*;
use relais_core::agent::Presence;
use relais_core::conversation::Priority;
use std::collections::BTreeMap;

pub async fn kept_stories_are_the_event_log_folded(store: Arc<dyn Store>) {
    setup(&store).await;
    store.configure(life());
    team(&store, "support", "round_robin", 5).await;
    team(&store, "billing", "round_robin", 5).await;
    let ann = agent(&store, "ann@x", Role::Agent, &["support", "billing"]).await;
    store.set_presence(ann, Presence::Online, T0).await.unwrap();
    // One stays with the bot; one escalates, is answered, transferred and solved, the
    // survey answered; one escalates and waits; one is solved and closes on timers.
    store
        .ingest(inbound("bot-only", None, "hello", T0), greeting())
        .await
        .unwrap();
    let a = escalated(
        &store,
        "a",
        T0,
        escalate_to(Some("support"), Priority::Normal),
    )
    .await
    .conversation;
    let t = T0.plus(Duration::minutes(3));
    let reply = |text: &str| Act::Reply {
        media: None,
        template: None,
        text: text.into(),
        client_id: None,
        pending: false,
    };
    act(&store, ann, Role::Agent, a, reply("hi"), t)
        .await
        .unwrap();
    act(
        &store,
        ann,
        Role::Agent,
        a,
        Act::Transfer {
            team: Some("billing".into()),
            agent: Some(ann),
            note: None,
        },
        t,
    )
    .await
    .unwrap();
    act(
        &store,
        ann,
        Role::Agent,
        a,
        Act::Solve,
        t.plus(Duration::minutes(5)),
    )
    .await
    .unwrap();
    store
        .ingest(
            inbound("a", None, "4", t.plus(Duration::minutes(6))),
            greeting(),
        )
        .await
        .unwrap();
    // Passes of a few events at a time, in the middle of the story.
    let now = T0.plus(Duration::days(1));
    assert!(store.fold_stories(7, now).await.unwrap() > 0);
    assert!(store.fold_stories(7, now).await.unwrap() > 0);
    escalated(
        &store,
        "b",
        T0,
        escalate_to(Some("support"), Priority::High),
    )
    .await;
    fire_due(&store, T0.plus(Duration::days(5))).await;

    let query = ReportQuery {
        from: Timestamp(T0.0 - 1),
        to: T0.plus(Duration::days(10)),
        channel: None,
        team: None,
    };
    let mut kept = store.report_stories(query.clone()).await.unwrap();
    let events = store.events(None, 0, 100_000).await.unwrap();
    let refs: Vec<(i64, &relais_core::event::Event)> = events
        .iter()
        .filter_map(|e| Some((e.conversation?.0, &e.event)))
        .collect();
    let folded: BTreeMap<i64, relais_core::kpi::Story> = relais_core::kpi::stories(&refs);
    let mut folded: Vec<relais_core::kpi::Story> = folded.into_values().collect();
    let key = |s: &relais_core::kpi::Story| format!("{s:?}");
    kept.sort_by_key(key);
    folded.sort_by_key(key);
    assert_eq!(kept.len(), 3, "{kept:?}");
    assert_eq!(kept, folded, "half folded");
    // The same through the filtered path (every conversation is on this channel).
    let mut on_channel = store
        .report_stories(ReportQuery {
            channel: Some("api".into()),
            ..query.clone()
        })
        .await
        .unwrap();
    on_channel.sort_by_key(key);
    assert_eq!(on_channel, folded, "half folded, by channel");
    // Every event folded: the same; and nothing left to fold.
    while store.fold_stories(1000, now).await.unwrap() > 0 {}
    let mut all = store.report_stories(query).await.unwrap();
    all.sort_by_key(key);
    assert_eq!(all, folded, "all folded");
    assert_eq!(store.fold_stories(1000, now).await.unwrap(), 0);
    // What happened is there: the transfer's team, the reply, the survey's score.
    let solved = kept
        .iter()
        .find(|s| s.csat.is_some())
        .expect("the survey answered");
    assert_eq!(solved.team.as_deref(), Some("billing"));
    assert_eq!(solved.csat, Some(4));
    assert!(solved.human && solved.agent_reply.is_some() && solved.solved.is_some());
}
