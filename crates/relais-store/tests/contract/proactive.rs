//! Flow versions and proactive starts.

use super::*;
use serde_json::json;

fn source(flow: &str, text: &str) -> FlowSource {
    FlowSource {
        flow: flow.into(),
        path: format!("flows/{flow}.yaml"),
        source: text.into(),
        hash: format!(
            "{:x}",
            text.len() * 7919 + text.bytes().map(usize::from).sum::<usize>()
        ),
    }
}

pub async fn flow_versions_change_only_with_the_source(store: Arc<dyn Store>) {
    let v = store
        .publish_flows(vec![source("a", "one"), source("b", "bee")], T0)
        .await
        .unwrap();
    assert_eq!(v, vec![("a".into(), 1), ("b".into(), 1)]);
    // Same sources again: nothing new.
    let v = store
        .publish_flows(vec![source("a", "one"), source("b", "bee")], T0)
        .await
        .unwrap();
    assert_eq!(v, vec![("a".into(), 1), ("b".into(), 1)]);
    let v = store
        .publish_flows(vec![source("a", "two")], T0.plus(Duration::minutes(1)))
        .await
        .unwrap();
    assert_eq!(v, vec![("a".into(), 2)]);
    let all = store.flow_versions(true).await.unwrap();
    let listed: Vec<_> = all
        .iter()
        .map(|f| (f.flow.as_str(), f.version, f.source.as_deref()))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("a", 1, Some("one")),
            ("a", 2, Some("two")),
            ("b", 1, Some("bee"))
        ]
    );
    assert!(
        store.flow_versions(false).await.unwrap()[0]
            .source
            .is_none()
    );
}

fn greet_on_event(input: &HandlerInput<'_>) -> Decision {
    match &input.trigger {
        Trigger::Event { name, data } => Decision {
            replies: vec![Reply::text(format!("{name}: {}", data["order"]))],
            bot_state: Some(json!({ "started": name })),
            ..Decision::default()
        },
        _ => Decision::default(),
    }
}

fn start(address: &str, consent: Vec<(String, bool)>) -> ProactiveStart {
    ProactiveStart {
        channel: channel(),
        channel_kind: "rest".into(),
        address: address.into(),
        event: "order.scheduled".into(),
        data: json!({ "order": "A123" }),
        contact: ContactProfile {
            name: Some("Zoé".into()),
            language: Some("fr".into()),
            tier: None,
            fields: Some(json!({ "city": "Lyon" }).as_object().unwrap().clone()),
        },
        consent,
        now: T0,
    }
}

pub async fn proactive_starts_need_consent_and_a_bot_owned_conversation(store: Arc<dyn Store>) {
    setup(&store).await;
    let h: Arc<dyn ConversationHandler> = Arc::new(Scripted(greet_on_event));
    // No opt-in: refused, nothing sent, but the contact is known.
    let out = store
        .start_proactive(start("zoe", vec![]), h.clone())
        .await
        .unwrap();
    assert!(matches!(out, ProactiveOutcome::NoConsent), "{out:?}");
    assert_eq!(store.stats().await.unwrap().conversations, 0);
    // A withdrawal is recorded and refused too.
    let out = store
        .start_proactive(start("zoe", vec![("rest".into(), false)]), h.clone())
        .await
        .unwrap();
    assert!(matches!(out, ProactiveOutcome::NoConsent));
    // Opt-in: a new conversation, the event's data reach the bot, the reply is queued.
    let out = store
        .start_proactive(start("zoe", vec![("rest".into(), true)]), h.clone())
        .await
        .unwrap();
    let ProactiveOutcome::Started(s) = out else {
        panic!("{out:?}")
    };
    assert!(s.created && s.queued);
    assert_eq!(s.replies[0].text, "order.scheduled: \"A123\"");
    let view = store.conversation(s.conversation).await.unwrap().unwrap();
    assert_eq!(view.contact.language.as_deref(), Some("fr"));
    assert_eq!(view.contact.fields["city"], "Lyon");
    assert_eq!(view.conversation.bot_state["started"], "order.scheduled");
    // Consent is remembered: a second event continues the live bot conversation.
    let out = store
        .start_proactive(start("zoe", vec![]), h.clone())
        .await
        .unwrap();
    let ProactiveOutcome::Started(again) = out else {
        panic!("{out:?}")
    };
    assert_eq!(again.conversation, s.conversation);
    assert!(!again.created);
    // Once a human owns it, events are refused.
    fn escalate(_: &HandlerInput<'_>) -> Decision {
        Decision {
            ticket: Some(Action::Escalate),
            ..Decision::default()
        }
    }
    store
        .ingest(
            inbound("zoe", Some("z1"), "agent", T0),
            Arc::new(Scripted(escalate)),
        )
        .await
        .unwrap();
    let out = store
        .start_proactive(start("zoe", vec![]), h)
        .await
        .unwrap();
    assert!(
        matches!(out, ProactiveOutcome::HumanOwns(c) if c == s.conversation),
        "{out:?}"
    );
}

/// STOP opts the contact out at once (the flow does not run; the confirmation is in
/// their language); an event's `consent` cannot undo it; START does.
pub async fn stop_and_start_by_message_rule_proactive_messages(store: Arc<dyn Store>) {
    setup(&store).await;
    let h: Arc<dyn ConversationHandler> = Arc::new(Scripted(greet_on_event));
    let out = store
        .start_proactive(start("yan", vec![("rest".into(), true)]), h.clone())
        .await
        .unwrap();
    assert!(matches!(out, ProactiveOutcome::Started(_)), "{out:?}");
    let stop = store
        .ingest(inbound("yan", Some("y1"), "ARRÊT", T0), greeting())
        .await
        .unwrap();
    assert_eq!(stop.replies.len(), 1, "only the confirmation, no bot reply");
    assert!(
        stop.replies[0].text.contains("START"),
        "{}",
        stop.replies[0].text
    );
    assert!(
        stop.replies[0].text.starts_with("C'est noté"),
        "in French (the contact's language)"
    );
    let out = store
        .start_proactive(start("yan", vec![("rest".into(), true)]), h.clone())
        .await
        .unwrap();
    assert!(
        matches!(out, ProactiveOutcome::NoConsent),
        "an event's consent does not override the contact's STOP: {out:?}"
    );
    let events = store.events(None, 0, 1000).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event.kind == EventKind::ConsentChanged && e.event.data["granted"] == false)
    );
    // Not a keyword unless it is the whole message.
    let other = store
        .ingest(
            inbound("yan", Some("y2"), "please stop the delivery", T0),
            greeting(),
        )
        .await
        .unwrap();
    assert!(!other.replies.iter().any(|r| r.text.contains("START")));
    store
        .ingest(inbound("yan", Some("y3"), "start", T0), greeting())
        .await
        .unwrap();
    let out = store
        .start_proactive(start("yan", vec![]), h)
        .await
        .unwrap();
    assert!(matches!(out, ProactiveOutcome::Started(_)), "{out:?}");
}
