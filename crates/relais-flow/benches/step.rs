//! The pure engine step, without storage or HTTP: one customer walking the demo's
//! order-status flow (greeting menu → order number → orders API result → goodbye), as
//! the production handler runs it (bot state read from and written back to JSON).
//!
//! `cargo bench -p relais-flow --bench step` prints the median time per step.

use relais_core::Timestamp;
use relais_core::contact::Contact;
use relais_core::conversation::Conversation;
use relais_core::decision::{HandlerInput, HttpResult, Trigger};
use relais_core::id::{ChannelId, ContactId, ConversationId, MessageId};
use relais_core::ticket::Status;
use relais_flow::escalation::Escalation;
use relais_flow::handler::{ChannelMeta, Loaded, decide};
use relais_flow::workspace::{Sources, Workspace};
use serde_json::json;
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

const DEMO: &str = "../relais-server/demo";

fn read(path: &str) -> (String, String) {
    let text = std::fs::read_to_string(format!("{DEMO}/{path}"))
        .unwrap_or_else(|e| panic!("{DEMO}/{path}: {e}"));
    (path.to_owned(), text)
}

enum Input {
    Text(&'static str),
    Http,
}

fn main() {
    let sources = Sources {
        flows: ["order-status", "reschedule", "faq", "region"]
            .iter()
            .map(|f| read(&format!("flows/{f}.yaml")))
            .collect(),
        teams: Some(read("teams.yaml")),
        templates: Some(read("templates.yaml")),
        intents: None,
        channels: None,
        canned: None,
        kb: Vec::new(),
        extra_teams: Vec::new(),
        extra_templates: Vec::new(),
    };
    let esc = Escalation {
        default_team: Some("support".into()),
        ..Escalation::default()
    };
    let (ws, diags) = Workspace::load(&sources, esc);
    let ws = ws.unwrap_or_else(|| panic!("the demo workspace must load: {diags:?}"));
    let mut secrets = serde_json::Map::new();
    secrets.insert("orders_api".into(), json!("https://orders.example"));
    let loaded = Loaded::new(ws, &HashMap::new(), Vec::new(), secrets);
    let channel = ChannelMeta {
        kind: "rest".into(),
        default_flow: None,
    };
    let contact = Contact {
        id: ContactId(1),
        name: Some("Alice".into()),
        language: Some("fr".into()),
        tier: "standard".into(),
        fields: json!({}),
    };
    // Monday 2026-11-23 10:00 Paris.
    let now = Timestamp(1_795_424_400_000);
    let order = HttpResult::Response {
        status: 200,
        body: json!({ "id": "A123", "status": "shipped", "status_fr": "expédiée", "eta": "2026-11-25" }).to_string(),
    };
    let walk = [
        Input::Text("Bonjour"),
        Input::Text("1"),
        Input::Text("A123"),
        Input::Http,
        Input::Text("non merci"),
    ];

    let rounds = 2_000;
    let mut samples = Vec::with_capacity(rounds * walk.len());
    for _ in 0..rounds {
        let mut conv = Conversation::start(ChannelId("api".into()), contact.id, None, now);
        conv.id = ConversationId(1);
        for (i, input) in walk.iter().enumerate() {
            let trigger = match input {
                Input::Text(t) => Trigger::Message {
                    id: MessageId(i as i64),
                    text: t,
                    first: i == 0,
                    button: None,
                },
                Input::Http => Trigger::Http(&order),
            };
            let started = Instant::now();
            let d = decide(
                &loaded,
                &channel,
                &HandlerInput {
                    conversation: &conv,
                    contact: &contact,
                    trigger,
                    now,
                    queue: &relais_core::decision::NoQueue,
                },
            );
            samples.push(started.elapsed().as_nanos() as u64);
            if let Some(state) = d.bot_state {
                conv.bot_state = black_box(state);
            }
        }
        assert_eq!(conv.status, Status::Bot);
    }
    samples.sort_unstable();
    let pct = |p: usize| samples[samples.len() * p / 100];
    println!(
        "engine step (demo order-status walk, {} steps): median {:.1} µs, p90 {:.1} µs, p99 {:.1} µs",
        samples.len(),
        pct(50) as f64 / 1000.0,
        pct(90) as f64 / 1000.0,
        pct(99) as f64 / 1000.0,
    );
}
