//! Escalation reasons and handoffs: the triggers, failed attempts, VIPs, business
//! hours, and the queue position and wait told to the customer.

use crate::common::{assert_passes, load, load_with};
use relais_flow::engine::{self, ChannelInfo, Env, Input};
use relais_flow::escalation::Escalation;

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
        nlu: &relais_flow::engine::NoNlu,
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
            nlu: &relais_flow::engine::NoNlu,
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
