//! Conversation tests (SPEC §14): a test file read into a [`Case`], run on a [`Sim`] with
//! a virtual clock and HTTP stubs, and the [`Outcome`] with, for each failed step, what
//! was expected and what the bot said.

use crate::diag::Diags;
use crate::escalation::{Escalation, VipAction};
use crate::handler::{ChannelMeta, Loaded};
use crate::parse::{MapReader, duration, scalar};
use crate::sim::{CONTACT, HttpStub, Sim};
use crate::yaml::{self, Node, Pos};
use relais_core::contact::Contact;
use relais_core::decision::{HttpCall, HttpResult, Reply};
use relais_core::{Duration, Timestamp};
use serde_json::Value;
use std::sync::Arc;

/// One conversation test.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub flow: String,
    pub channel: String,
    pub contact: Contact,
    pub clock: Timestamp,
    pub secrets: serde_json::Map<String, Value>,
    pub config: Vec<(String, Value, Pos)>,
    pub stubs: Vec<Stub>,
    pub steps: Vec<TestStep>,
}

#[derive(Debug, Clone)]
pub struct Stub {
    pub method: String,
    pub url: String,
    pub status: u16,
    pub body: String,
}

#[derive(Debug, Clone)]
pub enum Do {
    User {
        text: String,
        button: Option<String>,
    },
    Event {
        name: String,
        data: Value,
    },
    Wait(Duration),
}

#[derive(Debug, Clone)]
pub struct TestStep {
    pub pos: Pos,
    pub action: Do,
    pub bot: Option<Vec<String>>,
    pub expect: Option<Node>,
}

/// Why a step failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// 1-based index of the step.
    pub step: usize,
    pub pos: Pos,
    /// What the step did (`user: "A12"`).
    pub action: String,
    pub message: String,
    pub expected: Vec<String>,
    pub actual: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: String,
    pub failure: Option<Failure>,
}

/// Reads a test file; problems go to `diags` with their positions.
pub fn parse(source: &str, diags: &mut Diags) -> Option<Case> {
    let root = match yaml::parse(source) {
        Ok(r) => r,
        Err(e) => {
            diags.error(e.pos, e.message);
            return None;
        }
    };
    let mut r = MapReader::new(&root, "the test file", diags)?;
    let name = r.required_str("name", diags);
    let flow = r.required_str("flow", diags);
    let channel = r
        .optional_str("channel", diags)
        .unwrap_or_else(|| "rest".into());
    if !crate::CHANNEL_KINDS.contains(&channel.as_str()) {
        diags.error(
            root.get("channel").map_or(root.pos, |n| n.pos),
            format!("unknown channel kind {channel:?}"),
        );
    }
    let contact = r
        .take("contact")
        .map(|n| contact(n, diags))
        .unwrap_or(Contact {
            id: CONTACT,
            name: None,
            language: None,
            tier: "standard".into(),
            fields: serde_json::json!({}),
        });
    let clock = match r.take("clock") {
        Some(n) => scalar(n, "clock", diags).and_then(|s| match s.parse::<jiff::Timestamp>() {
            Ok(t) => Some(Timestamp(t.as_millisecond())),
            Err(e) => {
                diags.error(n.pos, format!("`clock: {s}` is not an RFC 3339 time such as 2026-11-23T10:00:00+01:00: {e}"));
                None
            }
        }),
        None => Some(Timestamp(1_795_424_400_000)),
    };
    let secrets = r
        .take("secrets")
        .map(|n| n.to_json().as_object().cloned().unwrap_or_default())
        .unwrap_or_default();
    let mut config = Vec::new();
    if let Some(c) = r.take("config") {
        flatten(c, "", &mut config);
    }
    let stubs = r.take("http").map(|n| stubs(n, diags)).unwrap_or_default();
    let steps = match r.take("steps") {
        Some(n) => steps(n, diags),
        None => {
            diags.error(root.pos, "the test has no `steps`");
            Vec::new()
        }
    };
    r.finish(diags);
    Some(Case {
        name: name?,
        flow: flow?,
        channel,
        contact,
        clock: clock?,
        secrets,
        config,
        stubs,
        steps,
    })
}

fn flatten(n: &Node, prefix: &str, out: &mut Vec<(String, Value, Pos)>) {
    match n.as_map() {
        Some(entries) => {
            for (k, v) in entries {
                let key = k.as_str().unwrap_or_default();
                let full = if prefix.is_empty() {
                    key.to_owned()
                } else {
                    format!("{prefix}.{key}")
                };
                if v.as_map().is_some() && full != "escalation.keywords" {
                    flatten(v, &full, out);
                } else {
                    out.push((full, v.to_json(), k.pos));
                }
            }
        }
        None => out.push((prefix.to_owned(), n.to_json(), n.pos)),
    }
}

fn contact(n: &Node, diags: &mut Diags) -> Contact {
    let mut c = Contact {
        id: CONTACT,
        name: None,
        language: None,
        tier: "standard".into(),
        fields: serde_json::json!({}),
    };
    let Some(mut r) = MapReader::new(n, "`contact`", diags) else {
        return c;
    };
    c.name = r.optional_str("name", diags);
    c.language = r.optional_str("language", diags);
    if let Some(t) = r.optional_str("tier", diags) {
        c.tier = t;
    }
    let mut fields = r
        .take("fields")
        .map(|f| f.to_json())
        .unwrap_or_else(|| serde_json::json!({}));
    for key in ["phone", "email", "telegram_id"] {
        if let (Some(v), Some(obj)) = (r.optional_str(key, diags), fields.as_object_mut()) {
            obj.insert(key.into(), Value::String(v));
        }
    }
    r.take("consent");
    r.finish(diags);
    c.fields = fields;
    c
}

fn stubs(n: &Node, diags: &mut Diags) -> Vec<Stub> {
    let mut out = Vec::new();
    for item in n.as_seq().unwrap_or_default() {
        let Some(mut r) = MapReader::new(item, "an http stub", diags) else {
            continue;
        };
        let request = r.required_str("request", diags);
        let response = r.take("response");
        r.finish(diags);
        let Some(request) = request else { continue };
        let Some((method, url)) = request.split_once(' ') else {
            diags.error(
                item.pos,
                format!("`request: {request}` must be \"METHOD URL-GLOB\""),
            );
            continue;
        };
        let mut stub = Stub {
            method: method.to_owned(),
            url: url.trim().to_owned(),
            status: 200,
            body: String::new(),
        };
        if let Some(resp) = response
            && let Some(mut rr) = MapReader::new(resp, "`response`", diags)
        {
            if let Some(s) = rr.take("status") {
                match s.as_str().and_then(|x| x.parse::<u16>().ok()) {
                    Some(code) if (100..600).contains(&code) => stub.status = code,
                    _ => diags.error(s.pos, "`status` must be an HTTP status code"),
                }
            }
            if let Some(j) = rr.take("json") {
                stub.body = j.to_json().to_string();
            }
            if let Some(b) = rr.take("body") {
                stub.body = b.as_str().unwrap_or_default().to_owned();
            }
            rr.take("headers");
            rr.finish(diags);
        }
        out.push(stub);
    }
    out
}

fn steps(n: &Node, diags: &mut Diags) -> Vec<TestStep> {
    let mut out = Vec::new();
    let Some(items) = n.as_seq() else {
        diags.error(n.pos, "`steps` must be a list");
        return out;
    };
    for item in items {
        let Some(mut r) = MapReader::new(item, "a test step", diags) else {
            continue;
        };
        let user = r.take("user");
        let button = r.optional_str("button", diags);
        let event = r.take("event");
        let data = r.take("data").map(Node::to_json).unwrap_or(Value::Null);
        let wait = r.take("wait");
        let bot = r.take("bot").map(|b| match &b.value {
            yaml::Value::Seq(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            _ => b.as_str().map(|s| vec![s.to_owned()]).unwrap_or_default(),
        });
        let expect = r.take("expect").cloned();
        r.finish(diags);
        let action = match (user, event, wait) {
            (Some(u), None, None) => Do::User {
                text: u.as_str().unwrap_or_default().to_owned(),
                button,
            },
            (None, Some(e), None) => Do::Event {
                name: e.as_str().unwrap_or_default().to_owned(),
                data,
            },
            (None, None, Some(w)) => match duration(w, "wait", diags) {
                Some(d) => Do::Wait(d),
                None => continue,
            },
            _ => {
                diags.error(
                    item.pos,
                    "a test step is exactly one of `user`, `event` or `wait`",
                );
                continue;
            }
        };
        out.push(TestStep {
            pos: item.pos,
            action,
            bot,
            expect,
        });
    }
    out
}

/// `escalation.*` overrides of a test's `config`.
pub fn apply_config(esc: &mut Escalation, key: &str, v: &Value) -> Result<(), String> {
    let strs = |v: &Value| -> Result<Vec<String>, String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .ok_or_else(|| format!("`{key}` must be a list of text"))
    };
    match key {
        "escalation.max_failures" => {
            esc.max_failures =
                v.as_u64()
                    .ok_or("`escalation.max_failures` must be a number")? as u32
        }
        "escalation.vip_tiers" => esc.vip_tiers = strs(v)?,
        "escalation.vip_action" => {
            esc.vip_action = match v.as_str() {
                Some("escalate") => VipAction::Escalate,
                Some("priority") => VipAction::Priority,
                _ => return Err("`escalation.vip_action` is `escalate` or `priority`".into()),
            }
        }
        "escalation.default_team" => esc.default_team = v.as_str().map(str::to_owned),
        "escalation.sensitive_keywords" => esc.sensitive_keywords = strs(v)?,
        "escalation.sensitive_intents" => esc.sensitive_intents = strs(v)?,
        "escalation.sentiment_threshold" => {
            esc.sentiment_threshold = v
                .as_f64()
                .ok_or("`escalation.sentiment_threshold` must be a number")?
                as f32
        }
        "escalation.frustration_model" => {
            esc.frustration_model = v
                .as_bool()
                .ok_or("`escalation.frustration_model` must be true or false")?
        }
        "escalation.keywords" => {
            let obj = v
                .as_object()
                .ok_or("`escalation.keywords` must map languages to lists")?;
            esc.keywords = obj
                .iter()
                .map(|(l, w)| Ok((l.clone(), strs(w)?)))
                .collect::<Result<_, String>>()?;
        }
        _ => {
            return Err(format!(
                "unknown config key {key:?} (tests may override escalation.*)"
            ));
        }
    }
    Ok(())
}

/// True when `glob` matches the whole of `text`: `*` is any run of characters.
pub fn glob(glob: &str, text: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    if parts.len() == 1 {
        return glob == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

struct Stubs<'a>(&'a [Stub]);

impl HttpStub for Stubs<'_> {
    fn call(&mut self, call: &HttpCall) -> Result<HttpResult, String> {
        let stub = self
            .0
            .iter()
            .find(|s| s.method.eq_ignore_ascii_case(&call.method) && glob(&s.url, &call.url))
            .ok_or_else(|| format!("no http stub answers {} {}", call.method, call.url))?;
        Ok(HttpResult::Response {
            status: stub.status,
            body: stub.body.clone(),
        })
    }
}

/// Runs one test on a loaded workspace.
pub fn run(case: &Case, loaded: Arc<Loaded>) -> Outcome {
    let fail =
        |i: usize, s: &TestStep, message: String, expected: Vec<String>, actual: Vec<String>| {
            Outcome {
                name: case.name.clone(),
                failure: Some(Failure {
                    step: i + 1,
                    pos: s.pos,
                    action: describe(&s.action),
                    message,
                    expected,
                    actual,
                }),
            }
        };
    if !loaded.ws.flows.contains_key(&case.flow) {
        return Outcome {
            name: case.name.clone(),
            failure: Some(Failure {
                step: 0,
                pos: Pos { line: 1, col: 1 },
                action: String::new(),
                message: format!("the workspace has no flow {:?}", case.flow),
                expected: Vec::new(),
                actual: Vec::new(),
            }),
        };
    }
    let meta = ChannelMeta {
        kind: case.channel.clone(),
        default_flow: Some(case.flow.clone()),
    };
    let mut sim = Sim::new(loaded, meta, case.contact.clone(), case.clock);
    let mut stubs = Stubs(&case.stubs);
    for (i, s) in case.steps.iter().enumerate() {
        let replies = match &s.action {
            Do::User { text, button } => sim.user(text, button.as_deref(), &mut stubs),
            Do::Event { name, data } => sim.event(name, data, &mut stubs),
            Do::Wait(d) => sim.wait(*d, &mut stubs),
        };
        let replies: Vec<Reply> = match replies {
            Ok(r) => r,
            Err(e) => return fail(i, s, e, Vec::new(), Vec::new()),
        };
        let actual: Vec<String> = replies.iter().map(|r| r.text.clone()).collect();
        if let Some(expected) = &s.bot {
            let ok = expected.len() == actual.len()
                && expected.iter().zip(&actual).all(|(g, t)| glob(g, t));
            if !ok {
                let msg = if expected.len() == actual.len() {
                    "the replies do not match".to_owned()
                } else {
                    format!(
                        "expected {} replies, the bot sent {}",
                        expected.len(),
                        actual.len()
                    )
                };
                return fail(i, s, msg, expected.clone(), actual);
            }
        }
        if let Some(expect) = &s.expect
            && let Err(msg) = check_expect(expect, &sim, &replies)
        {
            return fail(i, s, msg, Vec::new(), actual);
        }
    }
    Outcome {
        name: case.name.clone(),
        failure: None,
    }
}

fn describe(d: &Do) -> String {
    match d {
        Do::User { text, button: None } => format!("user: {text:?}"),
        Do::User {
            text,
            button: Some(b),
        } => format!("user: {text:?} (button {b:?})"),
        Do::Event { name, .. } => format!("event: {name}"),
        Do::Wait(d) => format!("wait: {d}"),
    }
}

fn check_expect(expect: &Node, sim: &Sim, replies: &[Reply]) -> Result<(), String> {
    let Some(entries) = expect.as_map() else {
        return Err("`expect` must be a map".into());
    };
    for (k, v) in entries {
        let key = k.as_str().unwrap_or_default();
        let want = v.to_json();
        match key {
            "status" => {
                let got = sim.conv.status.as_str();
                if want.as_str() != Some(got) {
                    return Err(format!("expected status {want}, got {got:?}"));
                }
            }
            "resolved_by" => {
                let got = sim.conv.resolved_by.map(|r| r.as_str());
                if want.as_str() != got {
                    return Err(format!("expected resolved_by {want}, got {got:?}"));
                }
            }
            "handoff" => {
                let Some(h) = &sim.last_handoff else {
                    return Err("expected a handoff, there was none".into());
                };
                let got = serde_json::json!({ "team": h.team, "reason": h.reason, "priority": h.priority.as_str() });
                for (field, value) in want.as_object().into_iter().flatten() {
                    if got.get(field) != Some(value) {
                        return Err(format!(
                            "expected handoff {field} {value}, got {}",
                            got.get(field).unwrap_or(&Value::Null)
                        ));
                    }
                }
            }
            "vars" => {
                let run = sim.run();
                let vars = run.as_ref().map(|r| &r.vars);
                for (name, value) in want.as_object().into_iter().flatten() {
                    let got = vars.and_then(|v| v.get(name));
                    if got != Some(value) {
                        return Err(format!(
                            "expected variable {name} = {value}, got {}",
                            got.map_or("unset".into(), Value::to_string)
                        ));
                    }
                }
            }
            "template" => {
                let name = want.as_str().unwrap_or_default();
                if !replies.iter().any(|r| r.template.as_deref() == Some(name)) {
                    return Err(format!(
                        "expected the template {name:?} to be sent in this step"
                    ));
                }
            }
            "assigned_to" => {
                return Err(
                    "`assigned_to` needs agent assignment, which this version does not have yet"
                        .into(),
                );
            }
            other => {
                return Err(format!(
                    "unknown expectation {other:?} (status, handoff, vars, resolved_by, assigned_to, template)"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs_match_the_whole_text() {
        assert!(glob(
            "Bonjour ! Bienvenue*",
            "Bonjour ! Bienvenue chez Acme."
        ));
        assert!(glob(
            "*expédiée*demain*",
            "Votre commande A123 est expédiée, livraison prévue demain."
        ));
        assert!(!glob("*expédiée*", "Votre commande est Expédiée"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
        assert!(glob("*", ""));
        assert!(!glob("a*a", "a"));
        assert!(glob("a*b*c", "abc"));
        assert!(glob("?", "?"));
    }
}
