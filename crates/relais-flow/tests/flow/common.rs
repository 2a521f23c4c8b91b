//! Shared helpers: the SPEC example files, loading a workspace from flow texts, and
//! running a conversation test against it.

use relais_flow::convtest;
use relais_flow::diag::{Diag, Diags, Severity};
use relais_flow::escalation::Escalation;
use relais_flow::handler::Loaded;
use relais_flow::workspace::{Sources, Workspace};
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) const SPEC_FLOW: &str = include_str!("../spec/order-support.yaml");
const SPEC_TEAMS: &str = include_str!("../spec/teams.yaml");
const SPEC_INTENTS: &str = include_str!("../spec/intents.yaml");
const SPEC_TEMPLATES: &str = include_str!("../spec/templates.yaml");

pub(crate) fn sources(flows: &[(&str, &str)]) -> Sources {
    Sources {
        flows: flows
            .iter()
            .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
            .collect(),
        teams: Some(("teams.yaml".into(), SPEC_TEAMS.into())),
        templates: Some(("templates.yaml".into(), SPEC_TEMPLATES.into())),
        intents: Some(("intents.yaml".into(), SPEC_INTENTS.into())),
        channels: None,
        canned: None,
        kb: Vec::new(),
        extra_teams: Vec::new(),
        extra_templates: Vec::new(),
    }
}

pub(crate) fn load_with(flows: &[(&str, &str)], esc: Escalation) -> Arc<Loaded> {
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

pub(crate) fn load(flows: &[(&str, &str)]) -> Arc<Loaded> {
    load_with(
        flows,
        Escalation {
            default_team: Some("support".into()),
            ..Escalation::default()
        },
    )
}

pub(crate) fn run_test(loaded: Arc<Loaded>, test: &str) -> convtest::Outcome {
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

pub(crate) fn assert_passes(loaded: Arc<Loaded>, test: &str) {
    let out = run_test(loaded, test);
    assert!(out.failure.is_none(), "{}: {:#?}", out.name, out.failure);
}
