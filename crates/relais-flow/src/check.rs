//! The checks of `relais check` that need more than one node: step references,
//! reachability, missing `next`, template and expression syntax, teams, templates,
//! intents and flows named by steps, competing triggers, and variables no path sets.

use crate::diag::{Diag, Diags};
use crate::model::*;
use crate::workspace::{Workspace, covers};
use crate::yaml::Pos;
use std::collections::{BTreeSet, HashSet};

/// Variables every template can read without a flow setting them.
pub const BUILTIN_VARS: [&str; 16] = [
    "contact",
    "conversation",
    "channel",
    "now",
    "secrets",
    "last_message",
    "queue",
    "team",
    "_now_ms",
    "loop",
    "true",
    "false",
    "business_hours",
    "range",
    "dict",
    "namespace",
];

pub fn workspace(ws: &Workspace) -> Vec<Diag> {
    let mut out = Vec::new();
    let mut toml = Diags::new("relais.toml");
    for i in &ws.escalation.sensitive_intents {
        if !ws.intents.iter().any(|x| &x.name == i) {
            toml.error(
                Pos { line: 1, col: 1 },
                format!(
                    "[escalation] sensitive_intents names {i:?}, which intents.yaml does not define"
                ),
            );
        }
    }
    out.extend(toml.items);
    let mut set_anywhere: HashSet<String> = HashSet::new();
    for f in ws.flows.values() {
        collect_set(f, &mut set_anywhere);
    }
    let mut flows: Vec<_> = ws.flows.values().collect();
    flows.sort_by(|a, b| a.file.cmp(&b.file));
    for f in &flows {
        let mut d = Diags::new(&f.file);
        flow(ws, f, &set_anywhere, &mut d);
        out.extend(d.items);
    }
    // Competing triggers.
    for (i, a) in flows.iter().enumerate() {
        for b in &flows[i + 1..] {
            let clash = match (&a.trigger.on, &b.trigger.on) {
                (TriggerOn::Message, TriggerOn::Message) => Some("message".to_owned()),
                (TriggerOn::Event(x), TriggerOn::Event(y)) if x == y => Some(format!("event:{x}")),
                _ => None,
            };
            let Some(what) = clash else { continue };
            let overlap: Vec<&str> = crate::CHANNEL_KINDS
                .iter()
                .copied()
                .filter(|k| covers(&a.trigger.channels, k) && covers(&b.trigger.channels, k))
                .collect();
            if !overlap.is_empty() {
                let mut d = Diags::new(&b.file);
                d.error(b.start.pos, format!(
                    "the flows {:?} and {:?} both start on `{what}` for the channel kind(s) {}; give them distinct `trigger.channels`",
                    a.id, b.id, overlap.join(", ")
                ));
                out.extend(d.items);
            }
        }
    }
    out
}

pub fn channels(ws: &Workspace, path: &str) -> Vec<Diag> {
    let mut d = Diags::new(path);
    for c in &ws.channels {
        match &c.default_flow {
            Some(f) if !ws.flows.contains_key(f) => d.error(c.pos, format!("the channel {:?} names an unknown default_flow {f:?}", c.id)),
            None if ws.flow_for_message(&c.kind, None).is_none() => d.error(c.pos, format!(
                "the channel {:?} has no flow: give it a default_flow or add a flow with `trigger: {{on: message}}` for kind {:?}",
                c.id, c.kind
            )),
            _ => {}
        }
        if let Some(fb) = &c.fallback
            && !ws.channels.iter().any(|x| &x.id == fb)
        {
            d.error(
                c.pos,
                format!("the channel {:?} names an unknown fallback {fb:?}", c.id),
            );
        }
    }
    d.items
}

fn collect_set(f: &Flow, set: &mut HashSet<String>) {
    set.extend(f.vars.keys().cloned());
    for s in &f.steps {
        match &s.action {
            Action::Ask(a) => set.extend(a.save.clone()),
            Action::Http(h) => set.extend(h.save.clone()),
            Action::Set(items) => set.extend(items.iter().map(|(k, _)| k.clone())),
            _ => {}
        }
    }
}

struct FlowCheck<'a> {
    ws: &'a Workspace,
    f: &'a Flow,
    set: &'a HashSet<String>,
    warn_unset: bool,
    warned: BTreeSet<String>,
}

fn flow(ws: &Workspace, f: &Flow, set: &HashSet<String>, d: &mut Diags) {
    let mut c = FlowCheck {
        ws,
        f,
        set,
        warn_unset: !matches!(f.trigger.on, TriggerOn::Event(_)),
        warned: BTreeSet::new(),
    };
    if f.step(&f.start.step).is_none() {
        d.error(
            f.start.pos,
            format!("`start` names an unknown step {:?}", f.start.step),
        );
    }
    if let Some(t) = &f.settings.team {
        c.team(t, d);
    }
    for s in &f.steps {
        c.step(s, d);
    }
    // Reachability from `start`.
    let mut seen = HashSet::new();
    let mut todo = vec![f.start.step.as_str()];
    while let Some(name) = todo.pop() {
        if !seen.insert(name) {
            continue;
        }
        if let Some(s) = f.step(name) {
            todo.extend(targets(s).into_iter().map(|t| t.step.as_str()));
        }
    }
    for s in &f.steps {
        if !seen.contains(s.name.as_str()) {
            d.error(
                s.pos,
                format!(
                    "the step {:?} is unreachable: no step leads to it from `start`",
                    s.name
                ),
            );
        }
    }
}

/// Every step a step can continue to.
pub fn targets(s: &Step) -> Vec<&Target> {
    let mut out: Vec<&Target> = s.next.iter().collect();
    match &s.action {
        Action::Ask(a) => {
            out.extend(a.routes.iter().map(|r| &r.next));
            out.extend(a.otherwise.iter());
            out.extend(a.on_timeout.iter());
        }
        Action::Branch(cases) => out.extend(cases.iter().map(|c| &c.next)),
        Action::Http(h) => out.extend(h.on_error.iter()),
        Action::Answer(a) => out.extend(a.on_no_answer.iter()),
        _ => {}
    }
    out
}

impl FlowCheck<'_> {
    // Long by design: one arm per step action, each checking only its own fields.
    fn step(&mut self, s: &Step, d: &mut Diags) {
        let name = &s.name;
        for t in targets(s) {
            if self.f.step(&t.step).is_none() {
                d.error(
                    t.pos,
                    format!("the step {name:?} goes to an unknown step {:?}", t.step),
                );
            }
        }
        let needs_next = match &s.action {
            Action::Say(_)
            | Action::Set(_)
            | Action::Template(_)
            | Action::Wait(_)
            | Action::Http(_)
            | Action::Branch(_) => true,
            Action::Ask(a) => a.routes.is_empty() && a.otherwise.is_none(),
            _ => false,
        };
        if needs_next && s.next.is_none() {
            d.error(
                s.pos,
                format!("the step {name:?} ({}) is missing `next`", s.action.name()),
            );
        }
        if s.action.is_terminal()
            && !matches!(s.action, Action::Answer(_))
            && let Some(n) = &s.next
        {
            d.error(
                n.pos,
                format!(
                    "the step {name:?} ({}) ends the flow; it takes no `next`",
                    s.action.name()
                ),
            );
        }
        match &s.action {
            Action::Say(m) => self.msg(m, name, d),
            Action::Ask(a) => {
                for m in a
                    .prompt
                    .iter()
                    .chain(a.invalid.iter())
                    .chain(a.reminders.iter().map(|r| &r.say))
                {
                    self.msg(m, name, d);
                }
                if let Some(e) = &a.expect
                    && let Some(m) = &e.invalid
                {
                    self.msg(m, name, d);
                }
                for r in &a.routes {
                    match &r.matcher {
                        Matcher::When(e) => self.expr(e, name, d),
                        Matcher::Intent(i) if !self.ws.intents.iter().any(|x| &x.name == i) => {
                            d.error(r.pos, format!("the step {name:?} routes on an unknown intent {i:?} (add it to intents.yaml)"));
                        }
                        _ => {}
                    }
                }
                if let Some(t) = a.timeout {
                    for r in &a.reminders {
                        if r.after >= t {
                            d.warn(r.say.pos, format!("in the step {name:?} a reminder after {} never fires before the timeout of {t}", r.after));
                        }
                    }
                }
            }
            Action::Branch(cases) => {
                for c in cases {
                    self.expr(&c.when, name, d);
                }
            }
            Action::Http(h) => {
                self.tpl(&h.url, name, d);
                for (_, v) in &h.headers {
                    self.tpl(v, name, d);
                }
                match &h.body {
                    Some(Body::Text(t)) => self.tpl(t, name, d),
                    Some(Body::Json(j)) => self.json(j, name, d),
                    None => {}
                }
            }
            Action::Set(items) => {
                for (_, v) in items {
                    match v {
                        SetValue::Template(t) => self.tpl(t, name, d),
                        SetValue::Expr(e) => self.expr(e, name, d),
                        SetValue::Literal(_) => {}
                    }
                }
            }
            Action::Template(t) => {
                for p in t.params.iter().chain(t.language.iter()) {
                    self.tpl(p, name, d);
                }
                match self.ws.templates.iter().find(|x| x.name == t.name) {
                    None => d.error(t.pos, format!("the step {name:?} sends an unknown template {:?} (add it to templates.yaml)", t.name)),
                    Some(x) if x.arity() > t.params.len() => d.error(t.pos, format!(
                        "the step {name:?} gives {} params to the template {:?}, whose body uses {}",
                        t.params.len(), t.name, x.arity()
                    )),
                    Some(_) => {}
                }
            }
            Action::Handoff(h) => {
                if let Some(t) = &h.team {
                    self.team(t, d);
                }
                if let Some(n) = &h.note {
                    self.tpl(n, name, d);
                }
                if let Some(m) = &h.say {
                    self.msg(m, name, d);
                }
            }
            Action::Answer(a) => {
                if let Some(m) = &a.confirm {
                    self.msg(m, name, d);
                }
            }
            Action::Goto { flow, step, pos } => match self.ws.flows.get(flow) {
                None => d.error(
                    *pos,
                    format!("the step {name:?} goes to an unknown flow {flow:?}"),
                ),
                Some(other) => {
                    if let Some(st) = step
                        && other.step(st).is_none()
                    {
                        d.error(*pos, format!("the step {name:?} goes to an unknown step {st:?} of the flow {flow:?}"));
                    }
                }
            },
            Action::Resolve(r) => {
                if let Some(m) = &r.say {
                    self.msg(m, name, d);
                }
            }
            Action::Wait(_) => {}
        }
    }

    fn team(&self, t: &Target, d: &mut Diags) {
        if self.ws.team(&t.step).is_none() {
            d.error(
                t.pos,
                format!(
                    "unknown team {:?} (teams.yaml defines: {})",
                    t.step,
                    self.team_list()
                ),
            );
        }
    }

    fn team_list(&self) -> String {
        if self.ws.teams.is_empty() {
            return "none".into();
        }
        self.ws
            .teams
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn msg(&mut self, m: &Msg, step: &str, d: &mut Diags) {
        text(&m.text, |t| self.tpl(t, step, d));
        for b in m.buttons.iter().chain(m.list.iter()) {
            text(&b.title, |t| self.tpl(t, step, d));
        }
        if let Some(media) = &m.media {
            self.tpl(media, step, d);
        }
    }

    fn json(&mut self, j: &JsonTpl, step: &str, d: &mut Diags) {
        match j {
            JsonTpl::Str(t) => self.tpl(t, step, d),
            JsonTpl::Lit(_) => {}
            JsonTpl::Arr(items) => items.iter().for_each(|i| self.json(i, step, d)),
            JsonTpl::Obj(items) => items.iter().for_each(|(_, i)| self.json(i, step, d)),
        }
    }

    fn tpl(&mut self, t: &Tpl, step: &str, d: &mut Diags) {
        match self.ws.env.check_template(&t.source) {
            Ok(()) => {
                let vars = self.ws.env.template_vars(&t.source);
                self.unset(vars, t.pos, step, d);
            }
            Err(e) => d.error(
                t.pos,
                format!("bad template {:?} in the step {step:?}: {e}", t.source),
            ),
        }
    }

    fn expr(&mut self, e: &Expr, step: &str, d: &mut Diags) {
        match self.ws.env.check_expr(&e.source) {
            Ok(()) => {
                let vars = self.ws.env.expr_vars(&e.source);
                self.unset(vars, e.pos, step, d);
            }
            Err(err) => d.error(
                e.pos,
                format!("bad expression {:?} in the step {step:?}: {err}", e.source),
            ),
        }
    }

    fn unset(&mut self, vars: BTreeSet<String>, pos: Pos, step: &str, d: &mut Diags) {
        if !self.warn_unset {
            return;
        }
        for v in vars {
            if BUILTIN_VARS.contains(&v.as_str())
                || self.set.contains(&v)
                || !self.warned.insert(v.clone())
            {
                continue;
            }
            d.warn(pos, format!("the variable {v:?} used in the step {step:?} is not set by any step, `vars` or `save`"));
        }
    }
}

fn text(t: &Text, mut f: impl FnMut(&Tpl)) {
    match t {
        Text::One(t) => f(t),
        Text::PerLanguage(items) => items.iter().for_each(|(_, t)| f(t)),
    }
}
