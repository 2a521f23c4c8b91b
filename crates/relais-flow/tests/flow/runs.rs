//! Runs stepped through the engine directly: replay determinism, version pinning, and
//! a lost `http` result re-issued with the same idempotency key.

use crate::common::{SPEC_FLOW, load, sources};
use relais_flow::engine::{self, ChannelInfo, Env, Input};
use relais_flow::escalation::Escalation;
use relais_flow::handler::Loaded;
use relais_flow::workspace::Workspace;
use std::collections::HashMap;
use std::sync::Arc;

#[test]
fn replaying_the_same_inputs_gives_the_same_effects() {
    let loaded = load(&[("flows/order-support.yaml", SPEC_FLOW)]);
    let contact = relais_core::contact::Contact {
        id: relais_core::id::ContactId(7),
        name: Some("Alice".into()),
        language: Some("fr".into()),
        tier: "standard".into(),
        fields: serde_json::json!({}),
    };
    let conv = relais_core::conversation::Conversation {
        id: relais_core::id::ConversationId(3),
        channel: relais_core::id::ChannelId("wa".into()),
        contact: contact.id,
        status: relais_core::ticket::Status::Bot,
        team: None,
        assignee: None,
        priority: relais_core::conversation::Priority::Normal,
        tags: vec![],
        escalation_reason: None,
        resolved_by: None,
        fields: serde_json::json!({}),
        bot_state: serde_json::json!({}),
        previous: None,
        last_seq: 0,
        created_at: relais_core::Timestamp(0),
        updated_at: relais_core::Timestamp(0),
    };
    let ok = relais_core::decision::HttpResult::Response {
        status: 200,
        body: r#"{"status":"expédiée","eta":"demain"}"#.into(),
    };
    let inputs = [
        Input::Message {
            text: "Bonjour",
            button: None,
        },
        Input::Message {
            text: "1",
            button: None,
        },
        Input::Message {
            text: "A123",
            button: None,
        },
        Input::Http(&ok),
        Input::Message {
            text: "non merci",
            button: None,
        },
    ];
    let play = || {
        let mut run = None;
        let mut all = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            let env = Env {
                ws: &loaded.ws,
                library: &*loaded,
                contact: &contact,
                conversation: &conv,
                channel: ChannelInfo {
                    id: "wa",
                    kind: "whatsapp",
                    default_flow: None,
                },
                now: relais_core::Timestamp(1_795_424_400_000 + i as i64 * 1000),
                secrets: &loaded.secrets,
                nlu: &relais_flow::engine::NoNlu,
                queue: &relais_core::decision::NoQueue,
            };
            let out = engine::step(run.clone(), input, &env);
            run = out.run.clone();
            all.push(out);
        }
        all
    };
    let first = play();
    assert_eq!(first, play());
    let sends = first
        .iter()
        .flat_map(|o| &o.effects)
        .filter(|e| matches!(e, engine::Effect::Send(_)))
        .count();
    assert!(sends >= 5, "{first:#?}");
    assert!(
        first[4]
            .effects
            .contains(&engine::Effect::Resolve { csat: false }),
        "{:#?}",
        first[4]
    );
}

#[test]
fn a_conversation_finishes_on_the_version_it_started_with() {
    let v1 = r#"
flow: pin
start: q
steps:
  q:
    ask: { prompt: "v1 question" }
    next: end
  end:
    resolve: { say: "v1 end" }
"#;
    let v2 = v1.replace("v1", "v2");
    let (ws1, _) = Workspace::load(&sources(&[("flows/pin.yaml", v1)]), Escalation::default());
    let ws1 = ws1.unwrap();
    let old = ws1.flows["pin"].clone();
    let (ws2, _) = Workspace::load(&sources(&[("flows/pin.yaml", &v2)]), Escalation::default());
    let loaded1 = Arc::new(Loaded::new(
        ws1,
        &HashMap::from([("pin".into(), 1)]),
        vec![],
        Default::default(),
    ));
    let loaded2 = Arc::new(Loaded::new(
        ws2.unwrap(),
        &HashMap::from([("pin".into(), 2)]),
        vec![("pin".into(), 1, old)],
        Default::default(),
    ));
    let meta = relais_flow::handler::ChannelMeta {
        kind: "rest".into(),
        default_flow: None,
    };
    let contact = relais_core::contact::Contact {
        id: relais_flow::sim::CONTACT,
        name: None,
        language: None,
        tier: "standard".into(),
        fields: serde_json::json!({}),
    };
    struct NoHttp;
    impl relais_flow::sim::HttpStub for NoHttp {
        fn call(
            &mut self,
            _: &relais_core::decision::HttpCall,
        ) -> Result<relais_core::decision::HttpResult, String> {
            Err("no http".into())
        }
    }
    let mut sim = relais_flow::sim::Sim::new(
        loaded1,
        meta.clone(),
        contact.clone(),
        relais_core::Timestamp(0),
    );
    let r = sim.user("hi", None, &mut NoHttp).unwrap();
    assert_eq!(r[0].text, "v1 question");
    // Publish v2: the running conversation keeps v1, a new one gets v2.
    let mut pinned = relais_flow::sim::Sim::new(
        loaded2.clone(),
        meta.clone(),
        contact.clone(),
        relais_core::Timestamp(0),
    );
    pinned.conv = sim.conv.clone();
    let r = pinned.user("answer", None, &mut NoHttp).unwrap();
    assert_eq!(r[0].text, "v1 end");
    let mut fresh = relais_flow::sim::Sim::new(loaded2, meta, contact, relais_core::Timestamp(0));
    assert_eq!(
        fresh.user("hi", None, &mut NoHttp).unwrap()[0].text,
        "v2 question"
    );
}

#[test]
fn a_lost_http_result_is_re_issued_with_the_same_key_then_fails() {
    let flow = r#"
flow: lost
start: call
steps:
  call:
    http: { url: "https://api.example/x", timeout: 1s, save: r, on_error: sorry }
    next: done
  done:
    resolve: { say: "ok" }
  sorry:
    resolve: { say: "failed" }
"#;
    let loaded = load(&[("flows/lost.yaml", flow)]);
    let contact = relais_core::contact::Contact {
        id: relais_core::id::ContactId(1),
        name: None,
        language: None,
        tier: "standard".into(),
        fields: serde_json::json!({}),
    };
    let conv = relais_core::conversation::Conversation::start(
        relais_core::id::ChannelId("c".into()),
        contact.id,
        None,
        relais_core::Timestamp(0),
    );
    let env = Env {
        ws: &loaded.ws,
        library: &*loaded,
        contact: &contact,
        conversation: &conv,
        channel: ChannelInfo {
            id: "c",
            kind: "rest",
            default_flow: Some("lost"),
        },
        now: relais_core::Timestamp(0),
        secrets: &loaded.secrets,
        nlu: &relais_flow::engine::NoNlu,
        queue: &relais_core::decision::NoQueue,
    };
    let calls = |o: &engine::Output| -> Vec<String> {
        o.effects
            .iter()
            .filter_map(|e| match e {
                engine::Effect::Http(c) => Some(c.idempotency_key.clone()),
                _ => None,
            })
            .collect()
    };
    let first = engine::step(
        None,
        &Input::Message {
            text: "hi",
            button: None,
        },
        &env,
    );
    assert_eq!(calls(&first).len(), 1);
    let key = calls(&first)[0].clone();
    let mut run = first.run;
    // The watchdog fires twice: each time the same call, with the same key.
    for _ in 0..engine::HTTP_REISSUES {
        let epoch = serde_json::json!({ "epoch": run.as_ref().unwrap().epoch });
        let out = engine::step(
            run,
            &Input::Timer {
                name: engine::TIMER_HTTP,
                payload: &epoch,
            },
            &env,
        );
        assert_eq!(calls(&out), vec![key.clone()]);
        run = out.run;
    }
    // Then the step fails and goes to on_error.
    let epoch = serde_json::json!({ "epoch": run.as_ref().unwrap().epoch });
    let out = engine::step(
        run,
        &Input::Timer {
            name: engine::TIMER_HTTP,
            payload: &epoch,
        },
        &env,
    );
    assert!(calls(&out).is_empty());
    assert!(
        out.effects
            .contains(&engine::Effect::Send(relais_core::decision::Reply::text(
                "failed"
            ))),
        "{out:#?}"
    );
}
