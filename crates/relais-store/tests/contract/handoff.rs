//! Handoff to humans: queues and assignment, the claim race, agent actions with
//! visibility, double submits, the lifecycle timers and the satisfaction survey.

use super::*;
use relais_core::agent::Presence;
use relais_core::conversation::Priority;
use relais_core::decision::Handoff;
use relais_core::id::ConversationId;
use relais_core::lifecycle::{
    Lifecycle, TIMER_AUTO_CLOSE, TIMER_INACTIVE, TIMER_REMIND, TIMER_RETURN,
};
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

pub async fn the_lifecycle_runs_on_timers(store: Arc<dyn Store>) {
    setup(&store).await;
    store.configure(life());
    team(&store, "support", "round_robin", 5).await;
    let ann = agent(&store, "ann@x", Role::Agent, &["support"]).await;
    let bob = agent(&store, "bob@x", Role::Agent, &["support"]).await;
    store.set_presence(ann, Presence::Online, T0).await.unwrap();
    let c = escalated(
        &store,
        "l1",
        T0,
        escalate_to(Some("support"), Priority::Normal),
    )
    .await;
    let id = c.conversation;
    assert_eq!(conv(&store, id).await.assignee, Some(ann));

    // Ann does not answer within 5 minutes: back to the queue, and Bob (now online) gets it.
    store
        .set_presence(bob, Presence::Online, T0.plus(Duration::minutes(1)))
        .await
        .unwrap();
    let t = T0.plus(Duration::minutes(6));
    assert_eq!(fire_due(&store, t).await, vec![TIMER_RETURN.to_owned()]);
    assert_eq!(conv(&store, id).await.assignee, Some(bob));

    // Bob answers and waits for the customer: pending; the customer's reply reopens it.
    act(
        &store,
        bob,
        Role::Agent,
        id,
        Act::Reply {
            text: "Votre numéro ?".into(),
            client_id: None,
            pending: true,
        },
        t,
    )
    .await
    .unwrap();
    assert_eq!(conv(&store, id).await.status, Status::Pending);
    let t = t.plus(Duration::minutes(1));
    store
        .ingest(inbound("l1", None, "A123", t), greeting())
        .await
        .unwrap();
    assert_eq!(conv(&store, id).await.status, Status::Open);

    // Bob answers; the customer stays silent: a reminder at 10 min, auto-solved at 30.
    act(
        &store,
        bob,
        Role::Agent,
        id,
        Act::Reply {
            text: "C'est réglé ?".into(),
            client_id: None,
            pending: false,
        },
        t,
    )
    .await
    .unwrap();
    assert_eq!(
        fire_due(&store, t.plus(Duration::minutes(10))).await,
        vec![TIMER_REMIND.to_owned()]
    );
    assert!(
        store
            .messages(id)
            .await
            .unwrap()
            .iter()
            .any(|m| m.text.starts_with("Do you still need help"))
    );
    assert_eq!(
        fire_due(&store, t.plus(Duration::minutes(30))).await,
        vec![TIMER_INACTIVE.to_owned()]
    );
    let v = conv(&store, id).await;
    assert_eq!(
        (v.status, v.resolved_by),
        (Status::Solved, Some(Resolver::Inactivity))
    );
    assert!(
        store.csat(id).await.unwrap().is_none(),
        "no survey for an auto-solved conversation"
    );

    // The customer comes back: reopened to Bob, who is online.
    let t = t.plus(Duration::hours(1));
    store
        .ingest(inbound("l1", None, "encore une question", t), greeting())
        .await
        .unwrap();
    let v = conv(&store, id).await;
    assert_eq!((v.status, v.assignee), (Status::Open, Some(bob)));

    // Bob solves: the survey goes out; the answer is stored and thanked.
    act(&store, bob, Role::Agent, id, Act::Solve, t)
        .await
        .unwrap();
    let survey = store.csat(id).await.unwrap().unwrap();
    assert_eq!((survey.state.as_str(), survey.agent), ("sent", Some(bob)));
    let r = store
        .ingest(
            inbound("l1", None, "5", t.plus(Duration::minutes(1))),
            greeting(),
        )
        .await
        .unwrap();
    assert_eq!(r.replies[0].text, "Thank you for your answer!");
    let survey = store.csat(id).await.unwrap().unwrap();
    assert_eq!((survey.state.as_str(), survey.score), ("answered", Some(5)));
    assert_eq!(
        conv(&store, id).await.status,
        Status::Solved,
        "a survey answer does not reopen"
    );

    // Four days later it closes; the next message starts a new conversation in the bot.
    let t = t.plus(Duration::days(4));
    assert_eq!(fire_due(&store, t).await, vec![TIMER_AUTO_CLOSE.to_owned()]);
    assert_eq!(conv(&store, id).await.status, Status::Closed);
    let n = store
        .ingest(inbound("l1", None, "bonjour", t), greeting())
        .await
        .unwrap();
    assert_ne!(n.conversation, id);
    let fresh = conv(&store, n.conversation).await;
    assert_eq!((fresh.status, fresh.previous), (Status::Bot, Some(id)));
}

pub async fn an_undeliverable_survey_is_recorded(store: Arc<dyn Store>) {
    setup(&store).await;
    store.configure(life());
    team(&store, "support", "manual", 5).await;
    let ann = agent(&store, "ann@x", Role::Agent, &["support"]).await;
    let c = escalated(
        &store,
        "u1",
        T0,
        escalate_to(Some("support"), Priority::Normal),
    )
    .await;
    act(&store, ann, Role::Agent, c.conversation, Act::Claim, T0)
        .await
        .unwrap();
    act(&store, ann, Role::Agent, c.conversation, Act::Solve, T0)
        .await
        .unwrap();
    let leased = store.claim_outbox(claim(T0)).await.unwrap();
    let survey = leased
        .iter()
        .find(|i| i.conversation == c.conversation)
        .unwrap();
    store
        .record_attempt(Attempt {
            message: survey.message,
            at: T0,
            duration_ms: 1,
            outcome: AttemptOutcome::Failed {
                detail: "outside the 24-hour window".into(),
            },
        })
        .await
        .unwrap();
    assert_eq!(
        store.csat(c.conversation).await.unwrap().unwrap().state,
        "undeliverable"
    );
}

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

pub async fn away_agents_give_their_conversations_back_after_the_limit(store: Arc<dyn Store>) {
    setup(&store).await;
    store.configure(Lifecycle {
        away_limit: Some(Duration::minutes(15)),
        return_after: None,
        ..life()
    });
    team(&store, "support", "round_robin", 5).await;
    let ann = agent(&store, "ann@x", Role::Agent, &["support"]).await;
    let bob = agent(&store, "bob@x", Role::Agent, &["support"]).await;
    store.set_presence(ann, Presence::Online, T0).await.unwrap();
    let a = escalated(
        &store,
        "aw1",
        T0,
        escalate_to(Some("support"), Priority::Normal),
    )
    .await;
    let b = escalated(
        &store,
        "aw2",
        T0,
        escalate_to(Some("support"), Priority::Normal),
    )
    .await;
    assert_eq!(conv(&store, a.conversation).await.assignee, Some(ann));
    assert_eq!(conv(&store, b.conversation).await.assignee, Some(ann));

    // Away, then back within the limit: she keeps them.
    store
        .set_presence(ann, Presence::Away, T0.plus(Duration::minutes(1)))
        .await
        .unwrap();
    store
        .set_presence(ann, Presence::Online, T0.plus(Duration::minutes(5)))
        .await
        .unwrap();
    assert_eq!(
        fire_due(&store, T0.plus(Duration::minutes(20))).await.len(),
        2
    );
    assert_eq!(conv(&store, a.conversation).await.assignee, Some(ann));

    // Away past the limit: both go back to the queue, and Bob (online) gets them.
    store
        .set_presence(bob, Presence::Online, T0.plus(Duration::minutes(21)))
        .await
        .unwrap();
    store
        .set_presence(ann, Presence::Away, T0.plus(Duration::minutes(22)))
        .await
        .unwrap();
    fire_due(&store, T0.plus(Duration::minutes(36))).await;
    assert_eq!(
        conv(&store, a.conversation).await.assignee,
        Some(ann),
        "not yet: 14 minutes"
    );
    fire_due(&store, T0.plus(Duration::minutes(37))).await;
    assert_eq!(conv(&store, a.conversation).await.assignee, Some(bob));
    assert_eq!(conv(&store, b.conversation).await.assignee, Some(bob));
}

pub async fn bot_solved_conversations_are_surveyed_only_when_the_flow_asks(store: Arc<dyn Store>) {
    setup(&store).await;
    store.configure(life());
    fn solve_with_survey(_: &HandlerInput<'_>) -> Decision {
        Decision {
            replies: vec![Reply::text("done")],
            ticket: Some(Action::Solve(Resolver::Bot)),
            csat: true,
            ..Decision::default()
        }
    }
    fn solve_quietly(_: &HandlerInput<'_>) -> Decision {
        Decision {
            ticket: Some(Action::Solve(Resolver::Bot)),
            ..Decision::default()
        }
    }
    let asked = store
        .ingest(
            inbound("b1", None, "merci", T0),
            Arc::new(Scripted(solve_with_survey)),
        )
        .await
        .unwrap();
    let quiet = store
        .ingest(
            inbound("b2", None, "merci", T0),
            Arc::new(Scripted(solve_quietly)),
        )
        .await
        .unwrap();
    let survey = store.csat(asked.conversation).await.unwrap().unwrap();
    assert_eq!((survey.state.as_str(), survey.agent), ("sent", None));
    assert!(store.csat(quiet.conversation).await.unwrap().is_none());
    // Both close after auto_close.
    let later = T0.plus(Duration::days(4));
    fire_due(&store, later).await;
    assert_eq!(
        conv(&store, asked.conversation).await.status,
        Status::Closed
    );
    assert_eq!(
        conv(&store, quiet.conversation).await.status,
        Status::Closed
    );
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

pub async fn a_reopened_conversation_goes_to_the_queue_when_its_agent_is_gone(
    store: Arc<dyn Store>,
) {
    setup(&store).await;
    store.configure(life());
    team(&store, "support", "round_robin", 5).await;
    let ann = agent(&store, "ann@x", Role::Agent, &["support"]).await;
    let bob = agent(&store, "bob@x", Role::Agent, &["support"]).await;
    store.set_presence(ann, Presence::Online, T0).await.unwrap();
    let c = escalated(
        &store,
        "r1",
        T0,
        escalate_to(Some("support"), Priority::Normal),
    )
    .await;
    assert_eq!(conv(&store, c.conversation).await.assignee, Some(ann));
    act(&store, ann, Role::Agent, c.conversation, Act::Solve, T0)
        .await
        .unwrap();
    // Ann leaves, Bob arrives; the customer writes again (not a survey answer).
    store
        .set_presence(ann, Presence::Offline, T0.plus(Duration::minutes(1)))
        .await
        .unwrap();
    store
        .set_presence(bob, Presence::Online, T0.plus(Duration::minutes(1)))
        .await
        .unwrap();
    store
        .ingest(
            inbound("r1", None, "encore moi", T0.plus(Duration::minutes(2))),
            greeting(),
        )
        .await
        .unwrap();
    let v = conv(&store, c.conversation).await;
    assert_eq!(
        (v.status, v.assignee),
        (Status::Open, Some(bob)),
        "the queue gave it to Bob"
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
