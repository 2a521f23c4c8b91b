//! Every action of a flow, customer text echoed without template evaluation, and
//! reminders and timeouts on the virtual clock.

use crate::common::{assert_passes, load, run_test};

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

const MENU: &str = r#"
flow: menu
trigger: { on: message }
start: pick
steps:
  pick:
    ask:
      prompt:
        text: "What do you need?"
        buttons: [{ id: track, title: Track }, { id: human, title: "Talk to us" }]
      routes:
        - { match: { button: [track] }, next: tracked }
        - { match: { button: [human] }, next: human }
      invalid: "Pick 1 or 2."
  tracked:
    resolve: { say: "On its way." }
  human:
    resolve: { say: "Someone will call you." }
"#;

#[test]
fn a_numbered_reply_picks_that_button_when_the_ask_routes_by_button() {
    let loaded = load(&[("flows/menu.yaml", MENU)]);
    assert_passes(
        loaded.clone(),
        r#"
name: numbered choice
flow: menu
steps:
  - user: "hi"
    bot: ["What do you need?"]
  - user: "2"
    bot: ["Someone will call you."]
"#,
    );
    assert_passes(
        loaded,
        r#"
name: out of range
flow: menu
steps:
  - user: "hi"
  - user: "3"
    bot: ["Pick 1 or 2."]
  - user: "1."
    bot: ["On its way."]
"#,
    );
}

const NUDGE: &str = r#"
flow: nudge
trigger: { on: message }
start: pick
steps:
  pick:
    ask:
      prompt: "Your order number?"
      save: order
      timeout: 25h
      on_timeout: nudge
    next: done
  nudge:
    say: "Are you still there?"
    next: done
  done:
    resolve: {}
"#;

#[test]
fn a_message_the_24_hour_window_would_refuse_fails_its_test_saying_so() {
    let loaded = load(&[("flows/nudge.yaml", NUDGE)]);
    let case = |channel: &str| {
        format!(
            "name: nudge after a day\nflow: nudge\nchannel: {channel}\nsteps:\n  - user: \"hi\"\n    bot: [\"Your order number?\"]\n  - wait: 25h\n    bot: [\"Are you still there?\"]\n"
        )
    };
    // Telegram has no window: the nudge goes.
    assert_passes(loaded.clone(), &case("telegram"));
    // WhatsApp refuses free text after 24 h: the test fails, naming the window.
    let out = run_test(loaded, &case("whatsapp"));
    let failure = format!("{:?}", out.failure.expect("the window must fail the test"));
    assert!(
        failure.contains("24-hour window") && failure.contains("Are you still there?"),
        "{failure}"
    );
}

#[test]
fn a_test_sees_the_buttons_as_the_channel_shows_them() {
    let loaded = load(&[("flows/menu.yaml", MENU)]);
    // SMS has no buttons: the customer reads them numbered, and a test does too.
    assert_passes(
        loaded.clone(),
        "name: sms\nflow: menu\nchannel: sms\nsteps:\n  - user: \"hi\"\n    bot: [\"What do you need?*1. Track*2. Talk to us\"]\n  - user: \"1\"\n    bot: [\"On its way.\"]\n",
    );
    // WhatsApp shows two short buttons as buttons: the text alone.
    assert_passes(
        loaded,
        "name: whatsapp\nflow: menu\nchannel: whatsapp\nsteps:\n  - user: \"hi\"\n    bot: [\"What do you need?\"]\n",
    );
}

const PAY: &str = r#"
flow: pay
language: en
start: card
steps:
  card:
    ask:
      prompt: "Your card number?"
      save: card
      mask: [card]
    next: said
  said:
    say: "Noted: {{ card }}"
    next: other
  other:
    ask: { prompt: "Anything else?", save: more }
    next: echo
  echo:
    resolve: { say: "You said {{ more }}" }
"#;

#[test]
fn an_ask_with_mask_sees_and_keeps_its_reply_masked_and_only_that_ask() {
    let loaded = load(&[("flows/pay.yaml", PAY)]);
    assert_passes(
        loaded,
        r#"
name: masked reply
flow: pay
steps:
  - user: "hi"
    bot: ["Your card number?"]
  - user: "4242 4242 4242 4242"
    bot: ["Noted: [card ••••4242]", "Anything else?"]
    expect: { vars: { card: "[card ••••4242]" } }
  - user: "4242 4242 4242 4242"
    bot: ["You said 4242 4242 4242 4242"]
"#,
    );
}

#[test]
fn a_mask_names_only_cards_and_ibans() {
    use relais_flow::diag::Severity;
    let bad = PAY.replace("mask: [card]", "mask: [card, ssn]");
    let (_, diags) = relais_flow::workspace::Workspace::load(
        &crate::common::sources(&[("flows/pay.yaml", &bad)]),
        relais_flow::escalation::Escalation::default(),
    );
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string())
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("`mask: ssn` is not one of card, iban") && e.contains("pay.yaml:")),
        "{errors:?}"
    );
}
