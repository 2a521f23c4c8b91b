//! The SPEC §3 and §14 examples, a failing conversation test, and `check` listing every
//! fault of a broken flow with its position.

use crate::common::{SPEC_FLOW, assert_passes, load, run_test, sources};
use relais_flow::escalation::Escalation;
use relais_flow::workspace::Workspace;

#[test]
fn spec_examples_parse_run_and_pass() {
    let loaded = load(&[("flows/order-support.yaml", SPEC_FLOW)]);
    assert_passes(loaded.clone(), include_str!("../spec/test1.yaml"));
    assert_passes(loaded, include_str!("../spec/test2.yaml"));
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
fn canned_yaml_is_checked_with_every_fault_at_its_line() {
    use relais_flow::diag::Severity;
    let mut s = crate::common::sources(&[]);
    s.canned = Some((
        "canned.yaml".into(),
        "canned:\n  - { shortcut: hi, title: Hi, body: Hello }\n  - { shortcut: \"bad one\", title: x, body: y }\n  - { shortcut: hi, title: Again, body: z }\n  - { shortcut: nob, title: t }\n  - { shortcut: fr1, title: t, body: b, language: french, colour: red }\n".into(),
    ));
    let (_, diags) =
        relais_flow::workspace::Workspace::load(&s, relais_flow::escalation::Escalation::default());
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string())
        .collect();
    for (line, what) in [
        (3, "\"bad one\" must be 1 to 40 letters"),
        (4, "/hi is defined twice"),
        (5, "body"),
        (6, "`language: french` must be a two-letter code"),
        (6, "colour"),
    ] {
        assert!(
            errors
                .iter()
                .any(|e| e.contains(&format!("canned.yaml:{line}:")) && e.contains(what)),
            "line {line} {what:?}: {errors:#?}"
        );
    }
}
