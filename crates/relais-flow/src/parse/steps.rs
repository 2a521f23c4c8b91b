//! One step of a flow: exactly one action (`say`, `ask`, `branch`, `http`, `set`,
//! `template`, `handoff`, `answer`, `wait`, `goto`, `resolve`) and its `next`, with the
//! readers of every action but `ask` (in `ask`) and messages (in `message`).

use super::ask::ask;
use super::reader::{MapReader, boolean, duration, expr, scalar, target, tpl, uint};
use super::{is_identifier, msg};
use crate::diag::Diags;
use crate::model::*;
use crate::yaml::{Node, Pos, Value};
use relais_core::Duration;
use relais_core::conversation::Priority;

const ACTIONS: [&str; 11] = [
    "say", "ask", "branch", "http", "set", "template", "handoff", "answer", "wait", "goto",
    "resolve",
];

pub(super) fn step(name: &str, pos: Pos, n: &Node, diags: &mut Diags) -> Option<Step> {
    let what = format!("the step {name:?}");
    let mut r = MapReader::new(n, &what, diags)?;
    let present: Vec<&str> = ACTIONS.iter().copied().filter(|a| r.has(a)).collect();
    if present.len() != 1 {
        if present.is_empty() {
            diags.error(
                pos,
                format!(
                    "{what} has no action; give it one of {}",
                    ACTIONS.join(", ")
                ),
            );
        } else {
            diags.error(
                pos,
                format!(
                    "{what} has {} actions ({}); a step holds exactly one",
                    present.len(),
                    present.join(", ")
                ),
            );
        }
        // Still report unknown keys.
        for a in ACTIONS {
            r.take(a);
        }
        r.take("next");
        r.finish(diags);
        return None;
    }
    let kind = present[0];
    let body = r.take(kind)?;
    let next = r.take("next").and_then(|t| target(t, "next", diags));
    r.finish(diags);
    let action = match kind {
        "say" => Action::Say(msg(body, "say", diags)?),
        "ask" => Action::Ask(Box::new(ask(body, diags)?)),
        "branch" => Action::Branch(branch(body, diags)?),
        "http" => Action::Http(Box::new(http(body, diags)?)),
        "set" => Action::Set(set(body, diags)?),
        "template" => Action::Template(template(body, diags)?),
        "handoff" => Action::Handoff(handoff(body, diags)?),
        "answer" => Action::Answer(answer(body, diags)?),
        "wait" => Action::Wait(duration(body, "wait", diags)?),
        "goto" => {
            let text = scalar(body, "goto", diags)?;
            let (flow, step) = match text.split_once('#') {
                Some((f, s)) => (f.to_owned(), Some(s.to_owned())),
                None => (text, None),
            };
            Action::Goto {
                flow,
                step,
                pos: body.pos,
            }
        }
        _ => Action::Resolve(resolve(body, diags)?),
    };
    Some(Step {
        name: name.to_owned(),
        pos,
        action,
        next,
    })
}

fn branch(n: &Node, diags: &mut Diags) -> Option<Vec<Case>> {
    let Some(items) = n.as_seq() else {
        diags.error(
            n.pos,
            format!(
                "`branch` must be a list of {{when, next}}, not {}",
                n.kind()
            ),
        );
        return None;
    };
    let mut out = Vec::new();
    for item in items {
        let Some(mut r) = MapReader::new(item, "a branch case", diags) else {
            continue;
        };
        let when = r
            .required("when", diags)
            .and_then(|w| expr(w, "when", diags));
        let next = r
            .required("next", diags)
            .and_then(|t| target(t, "next", diags));
        r.finish(diags);
        if let (Some(when), Some(next)) = (when, next) {
            out.push(Case { when, next });
        }
    }
    Some(out)
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

fn http(n: &Node, diags: &mut Diags) -> Option<Http> {
    let mut r = MapReader::new(n, "`http`", diags)?;
    let method = r
        .optional_str("method", diags)
        .unwrap_or_else(|| "GET".into());
    if !METHODS.contains(&method.as_str()) {
        diags.error(
            n.get("method").map_or(n.pos, |m| m.pos),
            format!(
                "unknown HTTP method {method:?} (use {})",
                METHODS.join(", ")
            ),
        );
    }
    let url = r.required("url", diags).and_then(|u| tpl(u, "url", diags));
    let mut headers = Vec::new();
    if let Some(h) = r.take("headers") {
        match h.as_map() {
            Some(entries) => {
                for (k, v) in entries {
                    if let (Some(k), Some(v)) = (k.as_str(), tpl(v, "headers", diags)) {
                        headers.push((k.to_owned(), v));
                    }
                }
            }
            None => diags.error(h.pos, format!("`headers` must be a map, not {}", h.kind())),
        }
    }
    let body = r.take("body").map(|b| match &b.value {
        Value::Scalar { .. } => Body::Text(Tpl {
            source: b.as_str().unwrap_or_default().to_owned(),
            pos: b.pos,
        }),
        _ => Body::Json(json_tpl(b)),
    });
    let timeout = r
        .take("timeout")
        .and_then(|d| duration(d, "timeout", diags))
        .unwrap_or(Duration::seconds(10));
    if timeout.0 > 60_000 {
        diags.error(
            n.get("timeout").map_or(n.pos, |t| t.pos),
            format!("`timeout: {timeout}` is longer than the 1m limit"),
        );
    }
    let retries = r
        .take("retries")
        .and_then(|x| uint(x, "retries", diags))
        .unwrap_or(0);
    if retries > 5 {
        diags.error(
            n.get("retries").map_or(n.pos, |t| t.pos),
            format!("`retries: {retries}` is more than the limit of 5"),
        );
    }
    let save = r.optional_str("save", diags);
    let on_error = r
        .take("on_error")
        .and_then(|t| target(t, "on_error", diags));
    r.finish(diags);
    Some(Http {
        method,
        url: url?,
        headers,
        body,
        timeout,
        retries,
        save,
        on_error,
    })
}

fn json_tpl(n: &Node) -> JsonTpl {
    match &n.value {
        Value::Scalar { text, .. } => match n.to_json() {
            serde_json::Value::String(_) => JsonTpl::Str(Tpl {
                source: text.clone(),
                pos: n.pos,
            }),
            other => JsonTpl::Lit(other),
        },
        Value::Seq(items) => JsonTpl::Arr(items.iter().map(json_tpl).collect()),
        Value::Map(entries) => JsonTpl::Obj(
            entries
                .iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), json_tpl(v)))
                .collect(),
        ),
    }
}

fn set(n: &Node, diags: &mut Diags) -> Option<Vec<(String, SetValue)>> {
    let Some(entries) = n.as_map() else {
        diags.error(
            n.pos,
            format!(
                "`set` must be a map of variable names to values, not {}",
                n.kind()
            ),
        );
        return None;
    };
    let mut out = Vec::new();
    for (k, v) in entries {
        let Some(name) = k.as_str() else { continue };
        if !is_identifier(name) {
            diags.error(
                k.pos,
                format!("{name:?} is not a variable name (letters, digits, _)"),
            );
            continue;
        }
        let value = match (&v.value, v.to_json()) {
            (Value::Scalar { text, .. }, serde_json::Value::String(_)) => {
                if text.contains("{{") || text.contains("{%") {
                    SetValue::Template(Tpl {
                        source: text.clone(),
                        pos: v.pos,
                    })
                } else {
                    SetValue::Expr(Expr {
                        source: text.clone(),
                        pos: v.pos,
                    })
                }
            }
            (_, json) => SetValue::Literal(json),
        };
        out.push((name.to_owned(), value));
    }
    Some(out)
}

fn template(n: &Node, diags: &mut Diags) -> Option<TemplateSend> {
    let mut r = MapReader::new(n, "`template`", diags)?;
    let name = r.required_str("name", diags);
    let language = r.take("language").and_then(|l| tpl(l, "language", diags));
    let params = match r.take("params") {
        Some(p) => match p.as_seq() {
            Some(items) => items
                .iter()
                .filter_map(|i| tpl(i, "params", diags))
                .collect(),
            None => {
                diags.error(p.pos, format!("`params` must be a list, not {}", p.kind()));
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    r.finish(diags);
    Some(TemplateSend {
        name: name?,
        language,
        params,
        pos: n.get("name").map_or(n.pos, |x| x.pos),
    })
}

fn handoff(n: &Node, diags: &mut Diags) -> Option<Handoff> {
    let mut h = Handoff {
        team: None,
        priority: Priority::Normal,
        note: None,
        reason: "requested".into(),
        say: None,
    };
    if n.is_null() {
        return Some(h);
    }
    let mut r = MapReader::new(n, "`handoff`", diags)?;
    h.team = r.take("team").and_then(|t| target(t, "team", diags));
    if let Some(p) = r.take("priority")
        && let Some(text) = scalar(p, "priority", diags)
    {
        match Priority::parse(&text) {
            Some(pr) => h.priority = pr,
            None => diags.error(
                p.pos,
                format!("unknown priority {text:?} (use urgent, high, normal or low)"),
            ),
        }
    }
    h.note = r.take("note").and_then(|t| tpl(t, "note", diags));
    if let Some(reason) = r.take("reason")
        && let Some(text) = scalar(reason, "reason", diags)
    {
        if REASONS.contains(&text.as_str()) {
            h.reason = text;
        } else {
            diags.error(
                reason.pos,
                format!(
                    "unknown handoff reason {text:?} (use {})",
                    REASONS.join(", ")
                ),
            );
        }
    }
    h.say = r.take("say").and_then(|m| msg(m, "say", diags));
    r.finish(diags);
    Some(h)
}

fn answer(n: &Node, diags: &mut Diags) -> Option<Answer> {
    if n.is_null() {
        return Some(Answer {
            confirm: None,
            on_no_answer: None,
        });
    }
    let mut r = MapReader::new(n, "`answer`", diags)?;
    let confirm = r.take("confirm").and_then(|m| msg(m, "confirm", diags));
    let on_no_answer = r
        .take("on_no_answer")
        .and_then(|t| target(t, "on_no_answer", diags));
    r.finish(diags);
    Some(Answer {
        confirm,
        on_no_answer,
    })
}

fn resolve(n: &Node, diags: &mut Diags) -> Option<Resolve> {
    let mut out = Resolve {
        say: None,
        csat: false,
    };
    if n.is_null() {
        return Some(out);
    }
    let mut r = MapReader::new(n, "`resolve`", diags)?;
    out.say = r.take("say").and_then(|m| msg(m, "say", diags));
    out.csat = r
        .take("csat")
        .and_then(|b| boolean(b, "csat", diags))
        .unwrap_or(false);
    r.finish(diags);
    Some(out)
}
