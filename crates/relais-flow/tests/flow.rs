//! The flow crate at its boundary: SPEC §3 and §14 examples, checks with positions,
//! every action, escalation reasons, timers on the virtual clock, replay determinism
//! and version pinning.

use relais_flow::convtest;
use relais_flow::diag::{Diag, Diags, Severity};
use relais_flow::engine::{self, ChannelInfo, Env, Input};
use relais_flow::escalation::Escalation;
use relais_flow::handler::Loaded;
use relais_flow::workspace::{Sources, Workspace};
use std::collections::HashMap;
use std::sync::Arc;

const SPEC_FLOW: &str = include_str!("spec/order-support.yaml");
const SPEC_TEAMS: &str = include_str!("spec/teams.yaml");
const SPEC_INTENTS: &str = include_str!("spec/intents.yaml");
const SPEC_TEMPLATES: &str = include_str!("spec/templates.yaml");

fn sources(flows: &[(&str, &str)]) -> Sources {
    Sources {
        flows: flows
            .iter()
            .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
            .collect(),
        teams: Some(("teams.yaml".into(), SPEC_TEAMS.into())),
        templates: Some(("templates.yaml".into(), SPEC_TEMPLATES.into())),
        intents: Some(("intents.yaml".into(), SPEC_INTENTS.into())),
        channels: None,
        extra_teams: Vec::new(),
    }
}

fn load_with(flows: &[(&str, &str)], esc: Escalation) -> Arc<Loaded> {
    let (ws, diags) = Workspace::load(&sources(flows), esc);
    let errors: Vec<&Diag> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let ws = ws.expect("a workspace");
    let mut secrets = serde_json::Map::new();
    secrets.insert("orders_api".into(), "https://orders.example".into());
    Arc::new(Loaded::new(ws, &HashMap::new(), Vec::new(), secrets))
}

fn load(flows: &[(&str, &str)]) -> Arc<Loaded> {
    load_with(
        flows,
        Escalation {
            default_team: Some("support".into()),
            ..Escalation::default()
        },
    )
}

fn run_test(loaded: Arc<Loaded>, test: &str) -> convtest::Outcome {
    let mut d = Diags::new("test.yaml");
    let case = convtest::parse(test, &mut d);
    assert!(!d.has_errors(), "{:#?}", d.items);
    let case = case.expect("a test case");
    let mut esc = loaded.ws.escalation.clone();
    if !case.config.is_empty() {
        for (k, v, _) in &case.config {
            convtest::apply_config(&mut esc, k, v).unwrap();
        }
    }
    convtest::run(&case, loaded)
}

fn assert_passes(loaded: Arc<Loaded>, test: &str) {
    let out = run_test(loaded, test);
    assert!(out.failure.is_none(), "{}: {:#?}", out.name, out.failure);
}

#[test]
fn spec_examples_parse_run_and_pass() {
    let loaded = load(&[("flows/order-support.yaml", SPEC_FLOW)]);
    assert_passes(loaded.clone(), include_str!("spec/test1.yaml"));
    assert_passes(loaded, include_str!("spec/test2.yaml"));
}

#[test]
fn a_failing_test_names_the_step_and_shows_both_sides() {
    let loaded = load(&[("flows/order-support.yaml", SPEC_FLOW)]);
    let out = run_test(
        loaded,
        r#"
name: wrong expectation
flow: order-support
contact: { language: fr }
clock: "2026-11-23T10:00:00+01:00"
steps:
  - user: "Bonjour"
    bot: "Hello*"
"#,
    );
    let f = out.failure.expect("a failure");
    assert_eq!(f.step, 1);
    assert_eq!(f.expected, vec!["Hello*"]);
    assert!(
        f.actual[0].starts_with("Bonjour ! Bienvenue chez Acme."),
        "{f:?}"
    );
}

const ACTIONS: &str = r#"
flow: actions
language: en
vars: { brand: Acme }
start: hello
steps:
  hello:
    say: { text: "Hi {{ contact.name }} from {{ brand }}", buttons: ["Yes", "No"] }
    next: q
  q:
    ask:
      prompt: "Your number?"
      save: n
      expect: { number: {} }
    next: compute
  compute:
    set: { double: "n * 2", label: "N={{ n }}", fixed: 7 }
    next: check
  check:
    branch:
      - { when: "double > 10", next: big }
    next: small
  big:
    say: "{{ label }} doubled is {{ double }}, big"
    next: pause
  small:
    say: "{{ label }} doubled is {{ double }}, small"
    next: pause
  pause:
    wait: 1h
    next: call
  call:
    http:
      method: POST
      url: "{{ secrets.orders_api }}/double"
      body: { n: "{{ n }}", fixed: 3 }
      save: answer
      on_error: broken
    next: tmpl
  tmpl:
    template: { name: creneau_livraison, language: fr, params: ["{{ answer.id }}", "demain"] }
    next: hop
  hop:
    goto: second
  broken:
    handoff: { team: support, reason: flow_error, say: "Sorry, {{ contact.name }}." }
"#;

const SECOND: &str = r#"
flow: second
trigger: { on: api }
start: confirm
steps:
  confirm:
    ask:
      prompt: "Still {{ brand }}. Done?"
      routes:
        - { match: { keywords: ["yes", "oui"] }, next: done }
        - { match: { button: ["later"] }, next: later }
      else: human
  done:
    resolve: { say: "Bye" }
  later:
    answer: { on_no_answer: human }
  human:
    handoff: { team: support, priority: urgent, note: "n={{ n }}" }
"#;

#[test]
fn every_action_runs() {
    let loaded = load(&[
        ("flows/actions.yaml", ACTIONS),
        ("flows/second.yaml", SECOND),
    ]);
    assert_passes(
        loaded.clone(),
        r#"
name: every action
flow: actions
contact: { name: Ann, language: en }
http:
  - request: "POST https://orders.example/double"
    response: { status: 200, json: { id: X9 } }
steps:
  - user: "hello"
    bot: ["Hi Ann from Acme", "Your number?"]
  - user: "six"
    bot: ["Please give a number."]
  - user: "6"
    bot: ["N=6 doubled is 12, big"]
    expect: { vars: { n: 6, double: 12, fixed: 7, label: "N=6" } }
  - wait: 59m
    bot: []
  - wait: 1m
    bot: ["Votre colis X9 est prévu le demain. Répondez A pour changer de créneau.", "Still Acme. Done?"]
    expect: { template: creneau_livraison, vars: { answer: { id: X9 } } }
  - user: "Yes!"
    bot: ["Bye"]
    expect: { status: solved, resolved_by: bot }
"#,
    );
    // `else`, a button route, `answer` with no article, handoff with priority and note.
    assert_passes(
        loaded.clone(),
        r#"
name: other branches
flow: actions
contact: { name: Ann, language: en }
http:
  - request: "POST https://orders.example/double"
    response: { status: 200, json: { id: X9 } }
steps:
  - user: "hello"
  - user: "2"
    bot: ["N=2 doubled is 4, small"]
  - wait: 1h
  - user: "later"
    button: later
    bot: ["I'm transferring you to an agent. Please hold on, someone will answer you shortly."]
    expect: { status: open, handoff: { team: support, reason: requested, priority: urgent } }
  - user: "hello?"
    bot: []
"#,
    );
    // A failing http call goes to on_error.
    assert_passes(
        loaded,
        r#"
name: http error
flow: actions
contact: { name: Ann, language: en }
http:
  - request: "POST https://orders.example/*"
    response: { status: 503 }
steps:
  - user: "hello"
  - user: "2"
  - wait: 1h
    bot: ["Sorry, Ann."]
    expect: { handoff: { reason: flow_error } }
"#,
    );
}

#[test]
fn customer_template_syntax_is_echoed_literally() {
    let flow = r#"
flow: echo
start: q
steps:
  q:
    ask: { prompt: "Say something", save: said }
    next: echo
  echo:
    say: "You said: {{ said }} / {{ last_message }}"
    next: q
"#;
    assert_passes(
        load(&[("flows/echo.yaml", flow)]),
        r#"
name: echo
flow: echo
steps:
  - user: "hi"
    bot: ["Say something"]
  - user: "{{ 7*7 }} {% for x in range(9) %}x{% endfor %}"
    bot: ["You said: {{ 7*7 }} {% for x in range(9) %}x{% endfor %} / {{ 7*7 }} {% for x in range(9) %}x{% endfor %}", "Say something"]
"#,
    );
}

#[test]
fn reminders_and_timeouts_follow_the_virtual_clock() {
    let flow = r#"
flow: timers
start: q
steps:
  q:
    ask:
      prompt: "Order?"
      routes: [ { match: { keywords: ["ok"] }, next: done } ]
      timeout: 10m
      reminders: [ { after: 3m, say: "Still there?" }, { after: 6m, say: "Last call" } ]
      on_timeout: gone
  done:
    resolve: { say: "Thanks" }
  gone:
    resolve: { say: "Closing" }
"#;
    let loaded = load(&[("flows/timers.yaml", flow)]);
    assert_passes(
        loaded.clone(),
        r#"
name: timeout
flow: timers
steps:
  - user: "hi"
    bot: ["Order?"]
  - wait: 2m59s
    bot: []
  - wait: 1s
    bot: ["Still there?"]
  - wait: 7m
    bot: ["Last call", "Closing"]
    expect: { status: solved, resolved_by: bot }
"#,
    );
    // Answering cancels the reminders and the timeout.
    assert_passes(
        loaded,
        r#"
name: answered
flow: timers
steps:
  - user: "hi"
  - wait: 4m
    bot: ["Still there?"]
  - user: "ok"
    bot: ["Thanks"]
  - wait: 1h
    bot: []
"#,
    );
}

fn escalation_flow() -> &'static str {
    r#"
flow: esc
settings: { team: support, max_failures: 2 }
start: menu
steps:
  menu:
    ask:
      prompt: "1 or 2?"
      routes: [ { match: { keywords: ["1"] }, next: one } ]
      invalid: "1 or 2 please"
  one:
    resolve: { say: "One" }
"#
}

#[test]
fn each_escalation_reason() {
    let esc = Escalation {
        default_team: Some("support".into()),
        sensitive_keywords: vec!["avocat".into()],
        ..Escalation::default()
    };
    let loaded = load_with(&[("flows/esc.yaml", escalation_flow())], esc.clone());
    let case = |first: &str, reason: &str| {
        format!(
            r#"
name: {reason}
flow: esc
contact: {{ language: fr }}
clock: "2026-11-23T10:00:00+01:00"
steps:
  - user: "hello"
  - user: "{first}"
    bot: ["Je vous transfère*"]
    expect: {{ status: open, handoff: {{ team: support, reason: {reason} }} }}
"#
        )
    };
    assert_passes(loaded.clone(), &case("je veux un Conseiller", "keyword"));
    assert_passes(loaded.clone(), &case("mon avocat va appeler", "sensitive"));
    assert_passes(
        loaded.clone(),
        &case("C'EST INADMISSIBLE, VOUS ÊTES NULS !!!", "sentiment"),
    );
    // The message that starts the conversation is checked too.
    assert_passes(
        loaded.clone(),
        r#"
name: first message
flow: esc
steps:
  - user: "human please"
    bot: ["I'm transferring you*"]
    expect: { handoff: { reason: keyword } }
"#,
    );
    // Failures in a row, reset by a recognised reply.
    assert_passes(
        loaded.clone(),
        r#"
name: failures
flow: esc
steps:
  - user: "hello"
  - user: "what"
    bot: ["1 or 2 please"]
  - user: "what?"
    bot: ["I'm transferring you*"]
    expect: { handoff: { reason: failed_attempts } }
"#,
    );
    // VIP: `escalate` hands over at once with priority high; `priority` raises handoffs.
    let vip = load_with(
        &[("flows/esc.yaml", escalation_flow())],
        Escalation {
            vip_action: relais_flow::escalation::VipAction::Escalate,
            ..esc
        },
    );
    assert_passes(
        vip,
        r#"
name: vip
flow: esc
contact: { tier: vip }
steps:
  - user: "hello"
    expect: { status: open, handoff: { reason: vip, priority: high } }
"#,
    );
    assert_passes(
        loaded,
        r#"
name: vip priority
flow: esc
contact: { tier: vip }
steps:
  - user: "hello"
    bot: ["1 or 2?"]
  - user: "agent"
    expect: { handoff: { reason: keyword, priority: high } }
"#,
    );
}

#[test]
fn outside_business_hours_the_customer_is_told_when_the_team_is_back() {
    let loaded = load(&[("flows/esc.yaml", escalation_flow())]);
    assert_passes(
        loaded,
        r#"
name: sunday
flow: esc
contact: { language: en }
clock: "2026-11-22T20:00:00+01:00"
steps:
  - user: "human"
    bot: ["Our agents are away right now; they will be back on 2026-11-23 09:00 (Europe/Paris).*"]
    expect: { handoff: { reason: keyword, team: support } }
"#,
    );
}

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
                intent: None,
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
fn check_lists_every_fault_with_its_position() {
    let broken = r#"flow: broken
start: first
steps:
  first:
    say: "Hi {{ name"
    next: nowhere
  second:
    ask:
      prompt: "x"
      expect: { regex: "([a-z" }
      timeout: 10 minutes
    next: first
  third:
    say: "no next"
  fourth:
    handoff: { team: nobody }
  fifth:
    template: { name: missing }
    next: first
    colour: blue
  sixth:
    branch:
      - { when: "a ==", next: first }
    next: first
"#;
    let (ws, diags) = Workspace::load(
        &sources(&[("flows/broken.yaml", broken)]),
        Escalation::default(),
    );
    assert!(ws.is_none());
    let text: Vec<String> = diags.iter().map(ToString::to_string).collect();
    let expect = [
        "flows/broken.yaml:5:10: error: bad template \"Hi {{ name\" in the step \"first\": syntax error",
        "flows/broken.yaml:6:11: error: the step \"first\" goes to an unknown step \"nowhere\"",
        "flows/broken.yaml:7:3: error: the step \"second\" is unreachable",
        "flows/broken.yaml:10:24: error: bad regex \"([a-z\"",
        "flows/broken.yaml:11:16: error: `timeout`: bad duration \"10 minutes\"",
        "flows/broken.yaml:13:3: error: the step \"third\" (say) is missing `next`",
        "flows/broken.yaml:16:22: error: unknown team \"nobody\"",
        "flows/broken.yaml:18:23: error: the step \"fifth\" sends an unknown template \"missing\"",
        "flows/broken.yaml:20:5: error: unknown key \"colour\" in the step \"fifth\"",
        "flows/broken.yaml:23:17: error: bad expression \"a ==\" in the step \"sixth\"",
    ];
    for e in expect {
        assert!(
            text.iter().any(|t| t.starts_with(e)),
            "missing {e:?} in\n{}",
            text.join("\n")
        );
    }
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
        intent: None,
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

/// A queue with people waiting, for the handoff wording.
#[derive(Debug)]
struct Busy;

impl relais_core::decision::QueueProbe for Busy {
    fn probe(
        &self,
        _: Option<&str>,
        _: relais_core::conversation::Priority,
    ) -> relais_core::decision::QueueInfo {
        relais_core::decision::QueueInfo {
            position: 3,
            wait: Some(relais_core::Duration::minutes(12)),
        }
    }
}

#[test]
fn a_handoff_tells_the_queue_position_and_the_estimated_wait() {
    let flow = r#"
flow: talk
language: fr
trigger: { on: message }
start: menu
steps:
  menu:
    ask:
      prompt: "1 ou 2 ?"
      routes:
        - { match: { keywords: ["1"] }, next: plain }
        - { match: { keywords: ["2"] }, next: custom }
    next: plain
  plain:
    handoff: { team: support }
  custom:
    handoff:
      team: support
      say: "Place {{ queue.position }}, environ {{ queue.wait }}."
"#;
    let loaded = load(&[("flows/talk.yaml", flow)]);
    let contact = relais_core::contact::Contact {
        id: relais_core::id::ContactId(1),
        name: None,
        language: Some("fr".into()),
        tier: "standard".into(),
        fields: serde_json::json!({}),
    };
    let conv = relais_core::conversation::Conversation::start(
        relais_core::id::ChannelId("c".into()),
        contact.id,
        None,
        relais_core::Timestamp(0),
    );
    // Monday 2026-11-23 10:00 Paris: the support team is open.
    let env = |queue: &'static dyn relais_core::decision::QueueProbe| Env {
        ws: &loaded.ws,
        library: &*loaded,
        contact: &contact,
        conversation: &conv,
        channel: ChannelInfo {
            id: "c",
            kind: "rest",
            default_flow: None,
        },
        now: relais_core::Timestamp(1_795_424_400_000),
        secrets: &loaded.secrets,
        intent: None,
        queue,
    };
    let said = |queue: &'static dyn relais_core::decision::QueueProbe, choice: &str| -> String {
        let e = env(queue);
        let first = engine::step(
            None,
            &Input::Message {
                text: "bonjour",
                button: None,
            },
            &e,
        );
        let out = engine::step(
            first.run,
            &Input::Message {
                text: choice,
                button: None,
            },
            &e,
        );
        out.effects
            .iter()
            .find_map(|x| match x {
                engine::Effect::Send(r) => Some(r.text.clone()),
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(
        said(&Busy, "1"),
        "Je vous transfère à un conseiller. Merci de patienter, quelqu'un va vous répondre. \
         Vous êtes en position 3 dans la file d'attente. Attente estimée : 12 min."
    );
    assert_eq!(said(&Busy, "2"), "Place 3, environ 12 min.");
    // An agent free at once: no queue sentence.
    assert_eq!(
        said(&relais_core::decision::NoQueue, "1"),
        "Je vous transfère à un conseiller. Merci de patienter, quelqu'un va vous répondre."
    );
}

#[test]
fn a_handoff_outside_the_team_hours_is_flagged_and_says_when_it_opens() {
    let flow = r#"
flow: talk
language: fr
trigger: { on: message }
start: go
steps:
  go:
    handoff: { team: support }
"#;
    let loaded = load(&[("flows/talk.yaml", flow)]);
    let contact = relais_core::contact::Contact {
        id: relais_core::id::ContactId(1),
        name: None,
        language: Some("fr".into()),
        tier: "standard".into(),
        fields: serde_json::json!({}),
    };
    let conv = relais_core::conversation::Conversation::start(
        relais_core::id::ChannelId("c".into()),
        contact.id,
        None,
        relais_core::Timestamp(0),
    );
    let at = |now: i64| {
        let env = Env {
            ws: &loaded.ws,
            library: &*loaded,
            contact: &contact,
            conversation: &conv,
            channel: ChannelInfo {
                id: "c",
                kind: "rest",
                default_flow: None,
            },
            now: relais_core::Timestamp(now),
            secrets: &loaded.secrets,
            intent: None,
            queue: &Busy,
        };
        engine::step(
            None,
            &Input::Message {
                text: "bonjour",
                button: None,
            },
            &env,
        )
        .effects
    };
    let handoff = |effects: &[engine::Effect]| {
        effects
            .iter()
            .find_map(|e| match e {
                engine::Effect::Handoff(h) => Some(h.after_hours),
                _ => None,
            })
            .unwrap()
    };
    // Sunday 2026-11-22 10:00 Paris: closed; Monday 10:00: open.
    let sunday = at(1_795_338_000_000);
    assert!(handoff(&sunday), "{sunday:#?}");
    assert!(sunday.iter().any(|e| matches!(e,
        engine::Effect::Send(r) if r.text.starts_with("Nos conseillers sont absents") && r.text.contains("2026-11-23 09:00"))));
    assert!(!handoff(&at(1_795_424_400_000)));
}
