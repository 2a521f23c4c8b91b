//! The conversation lifecycle on timers: return to the queue, reminders, auto-solve and
//! auto-close, satisfaction surveys, away agents and reopened conversations.

use super::*;
use relais_core::agent::Presence;
use relais_core::conversation::Priority;
use relais_core::lifecycle::{
    Lifecycle, TIMER_AUTO_CLOSE, TIMER_INACTIVE, TIMER_REMIND, TIMER_RETURN,
};

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
            media: None,
            template: None,
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
            media: None,
            template: None,
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
