//! Handoff to humans: the helpers the desk modules share (escalating handlers, agents,
//! teams, desk actions, firing due timers), then queueing and assignment by strategy,
//! priority and age, and the wait estimate the queue gives.

use super::*;
use relais_core::agent::Presence;
use relais_core::conversation::Priority;
use relais_core::decision::Handoff;
use relais_core::id::ConversationId;
use relais_core::lifecycle::Lifecycle;
use serde_json::json;

pub(crate) fn escalate_to(
    team: Option<&'static str>,
    priority: Priority,
) -> Arc<dyn ConversationHandler> {
    struct H(Option<&'static str>, Priority);
    impl ConversationHandler for H {
        fn decide(&self, input: &HandlerInput<'_>) -> Decision {
            let info = input.queue.probe(self.0, self.1);
            Decision {
                replies: vec![Reply::text(match info.wait {
                    Some(w) => format!("position {} wait {}m", info.position, w.0 / 60_000),
                    None => format!("position {}", info.position),
                })],
                ticket: Some(Action::Escalate),
                // As the flow handler does: the escalation's event names its reason.
                events: vec![relais_core::event::Event::new(
                    EventKind::Escalated,
                    relais_core::event::Actor::Bot,
                    input.now,
                    json!({ "reason": "requested", "team": self.0 }),
                )],
                handoff: Some(Handoff {
                    team: self.0.map(str::to_owned),
                    priority: self.1,
                    reason: "requested".into(),
                    note: None,
                    after_hours: false,
                    fields: json!({ "order_id": "A123" }),
                    language: None,
                }),
                ..Decision::default()
            }
        }
    }
    Arc::new(H(team, priority))
}

pub(crate) async fn agent(
    store: &Arc<dyn Store>,
    email: &str,
    role: Role,
    teams: &[&str],
) -> AgentId {
    let a = store
        .create_agent(NewAgent {
            email: email.into(),
            name: email.into(),
            role,
            password_hash: None,
            capacity: 5,
            created_at: T0,
        })
        .await
        .unwrap();
    store
        .set_agent_teams(a.id, teams.iter().map(|t| (*t).to_owned()).collect())
        .await
        .unwrap();
    a.id
}

pub(crate) async fn team(store: &Arc<dyn Store>, id: &str, assignment: &str, capacity: i64) {
    store
        .upsert_team(
            TeamSpec {
                id: id.into(),
                name: id.into(),
                assignment: assignment.into(),
                capacity,
                hours: None,
                holidays: Vec::new(),
            },
            T0,
        )
        .await
        .unwrap();
}

pub(crate) async fn escalated(
    store: &Arc<dyn Store>,
    who: &str,
    at: Timestamp,
    h: Arc<dyn ConversationHandler>,
) -> Ingested {
    store
        .ingest(inbound(who, None, "agent please", at), h)
        .await
        .unwrap()
}

pub(crate) async fn conv(
    store: &Arc<dyn Store>,
    id: ConversationId,
) -> relais_core::conversation::Conversation {
    store.conversation(id).await.unwrap().unwrap().conversation
}

pub(crate) fn life() -> Lifecycle {
    Lifecycle {
        remind_after: Duration::minutes(10),
        close_after: Duration::minutes(30),
        return_after: Some(Duration::minutes(5)),
        auto_close: Duration::days(4),
        ..Lifecycle::default()
    }
}

pub(crate) fn viewer(agent: AgentId, role: Role) -> Viewer {
    Viewer { agent, role }
}

pub(crate) async fn act(
    store: &Arc<dyn Store>,
    who: AgentId,
    role: Role,
    c: ConversationId,
    act: Act,
    now: Timestamp,
) -> Result<DeskOutcome, Error> {
    store
        .act(DeskAction {
            viewer: viewer(who, role),
            conversation: c,
            act,
            now,
        })
        .await
}

/// Fires every timer due by `now`; returns the names fired.
pub(crate) async fn fire_due(store: &Arc<dyn Store>, now: Timestamp) -> Vec<String> {
    let mut names = Vec::new();
    for t in store.due_timers(now, 100).await.unwrap() {
        let events_before = store.events(None, 0, 100_000).await.unwrap().len();
        if store
            .fire_timer(t.id, now, greeting())
            .await
            .unwrap()
            .is_some()
        {
            let events = store.events(None, 0, 100_000).await.unwrap();
            if let Some(e) = events[events_before..]
                .iter()
                .find(|e| e.event.kind == EventKind::TimerFired)
            {
                names.push(e.event.data["name"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    names
}

pub async fn handoffs_queue_and_assign_by_strategy_priority_and_age(store: Arc<dyn Store>) {
    setup(&store).await;
    store.configure(life());
    team(&store, "support", "round_robin", 1).await;
    let ann = agent(&store, "ann@x", Role::Agent, &["support"]).await;
    let bob = agent(&store, "bob@x", Role::Agent, &["support"]).await;

    // Nobody online: the conversation waits, and the customer hears their position.
    let a = escalated(
        &store,
        "c1",
        T0,
        escalate_to(Some("support"), Priority::Normal),
    )
    .await;
    assert_eq!(a.replies[0].text, "position 1");
    let b = escalated(
        &store,
        "c2",
        T0.plus(Duration::seconds(1)),
        escalate_to(Some("support"), Priority::Normal),
    )
    .await;
    assert_eq!(b.replies[0].text, "position 2");
    let c = escalated(
        &store,
        "c3",
        T0.plus(Duration::seconds(2)),
        escalate_to(Some("support"), Priority::Urgent),
    )
    .await;
    assert_eq!(c.replies[0].text, "position 1", "urgent goes first");
    assert_eq!(conv(&store, a.conversation).await.assignee, None);

    // Ann comes online (capacity 1): she gets the urgent one.
    store
        .set_presence(ann, Presence::Online, T0.plus(Duration::minutes(1)))
        .await
        .unwrap();
    assert_eq!(conv(&store, c.conversation).await.assignee, Some(ann));
    // Bob comes online: the oldest normal one.
    store
        .set_presence(bob, Presence::Online, T0.plus(Duration::minutes(1)))
        .await
        .unwrap();
    assert_eq!(conv(&store, a.conversation).await.assignee, Some(bob));
    assert_eq!(
        conv(&store, b.conversation).await.assignee,
        None,
        "no room left"
    );

    // Ann solves: capacity frees and the queue drains to her.
    act(
        &store,
        ann,
        Role::Agent,
        c.conversation,
        Act::Solve,
        T0.plus(Duration::minutes(2)),
    )
    .await
    .unwrap();
    assert_eq!(conv(&store, b.conversation).await.assignee, Some(ann));

    // Bob goes offline: his open conversation goes back to the queue, keeping its place.
    store
        .set_presence(bob, Presence::Offline, T0.plus(Duration::minutes(3)))
        .await
        .unwrap();
    assert_eq!(conv(&store, a.conversation).await.assignee, None);
    let waiting = store
        .desk_list(DeskQuery {
            viewer: viewer(ann, Role::Agent),
            view: View::Unassigned,
            team: None,
            priority: None,
            channel: None,
            status: None,
            search: None,
            contact: None,
            before: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        waiting[0].queued_at,
        Some(T0),
        "a returned conversation keeps its place"
    );

    // The handoff kept what the bot collected, and the log says who assigned what.
    assert_eq!(
        conv(&store, a.conversation).await.fields["order_id"],
        "A123"
    );
    let events = store.events(Some(a.conversation), 0, 100).await.unwrap();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.event.kind).collect();
    assert!(
        kinds.contains(&EventKind::Assigned) && kinds.contains(&EventKind::Unassigned),
        "{kinds:?}"
    );
}

pub async fn least_busy_and_manual_teams(store: Arc<dyn Store>) {
    setup(&store).await;
    store.configure(life());
    team(&store, "sales", "least_busy", 5).await;
    team(&store, "vip", "manual", 5).await;
    let ann = agent(&store, "ann@x", Role::Agent, &["sales", "vip"]).await;
    let bob = agent(&store, "bob@x", Role::Agent, &["sales", "vip"]).await;
    store.set_presence(ann, Presence::Online, T0).await.unwrap();
    store.set_presence(bob, Presence::Online, T0).await.unwrap();
    let mut owners = Vec::new();
    for i in 0..4 {
        let c = escalated(
            &store,
            &format!("s{i}"),
            T0.plus(Duration::seconds(i)),
            escalate_to(Some("sales"), Priority::Normal),
        )
        .await;
        owners.push(conv(&store, c.conversation).await.assignee.unwrap());
    }
    assert_eq!(
        owners.iter().filter(|o| **o == ann).count(),
        2,
        "{owners:?}"
    );
    let m = escalated(&store, "m1", T0, escalate_to(Some("vip"), Priority::High)).await;
    assert_eq!(
        conv(&store, m.conversation).await.assignee,
        None,
        "manual: agents pick"
    );
    act(&store, bob, Role::Agent, m.conversation, Act::Claim, T0)
        .await
        .unwrap();
    assert_eq!(conv(&store, m.conversation).await.assignee, Some(bob));
}

pub async fn the_wait_estimate_comes_from_recent_handling_times(store: Arc<dyn Store>) {
    setup(&store).await;
    store.configure(life());
    team(&store, "support", "round_robin", 1).await;
    let ann = agent(&store, "ann@x", Role::Agent, &["support"]).await;
    store.set_presence(ann, Presence::Online, T0).await.unwrap();
    // Two conversations handled in 10 and 20 minutes.
    let a = escalated(
        &store,
        "h1",
        T0,
        escalate_to(Some("support"), Priority::Normal),
    )
    .await;
    assert_eq!(
        a.replies[0].text, "position 0",
        "an agent is free: no queue"
    );
    act(
        &store,
        ann,
        Role::Agent,
        a.conversation,
        Act::Solve,
        T0.plus(Duration::minutes(10)),
    )
    .await
    .unwrap();
    let t = T0.plus(Duration::minutes(10));
    let b = escalated(
        &store,
        "h2",
        t,
        escalate_to(Some("support"), Priority::Normal),
    )
    .await;
    act(
        &store,
        ann,
        Role::Agent,
        b.conversation,
        Act::Solve,
        t.plus(Duration::minutes(20)),
    )
    .await
    .unwrap();
    let t = t.plus(Duration::minutes(20));
    let c = escalated(
        &store,
        "h3",
        t,
        escalate_to(Some("support"), Priority::Normal),
    )
    .await;
    assert_eq!(conv(&store, c.conversation).await.assignee, Some(ann));
    // Ann is busy (capacity 1): the next one waits first in line, then second.
    let d = escalated(
        &store,
        "h4",
        t,
        escalate_to(Some("support"), Priority::Normal),
    )
    .await;
    assert_eq!(
        d.replies[0].text, "position 1 wait 20m",
        "median of 10 and 20 minutes, one round"
    );
    let e = escalated(
        &store,
        "h5",
        t,
        escalate_to(Some("support"), Priority::Normal),
    )
    .await;
    assert_eq!(
        e.replies[0].text, "position 2 wait 40m",
        "two rounds ahead with one agent"
    );
}
