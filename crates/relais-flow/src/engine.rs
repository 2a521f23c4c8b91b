//! The step engine, a pure function: `(run, input, env) → (run, effects)`. It never does
//! I/O; the runtime executes the [`Effect`]s (in one transaction per step, with `http`
//! outside it) and hands results back as new [`Input`]s. The same inputs give the same
//! effects, so a conversation can be replayed.

use crate::escalation::Subject;
use crate::model::*;
use crate::text::Words;
use crate::validate;
use crate::wording::{self, Wording};
use crate::workspace::Workspace;
use minijinja::value::Value as JValue;
use relais_core::contact::Contact;
use relais_core::conversation::{Conversation, Priority};
use relais_core::decision::{Handoff as HandoffInfo, HttpCall, HttpResult, Reply, TimerRequest};
use relais_core::event::FlowPosition;
use relais_core::{Duration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Steps one input may run through before the engine calls it a loop.
pub const MAX_STEPS: usize = 64;
/// Timer names the engine uses; at most one pending timer per name and conversation.
pub const TIMER_TIMEOUT: &str = "flow.timeout";
pub const TIMER_WAIT: &str = "flow.wait";
pub const TIMER_HTTP: &str = "flow.http";
pub const TIMER_REMINDER: &str = "flow.reminder.";
/// How often a lost `http` call (no result after a crash) is re-issued before it fails.
pub const HTTP_REISSUES: u32 = 2;

/// The state of one flow run, kept as the conversation's bot state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub flow: String,
    pub version: i64,
    pub step: String,
    #[serde(default)]
    pub vars: Map<String, Value>,
    #[serde(default)]
    pub failures: u32,
    #[serde(default)]
    pub waiting: Waiting,
    /// Bumped whenever the run starts waiting; timers carry it, stale ones are ignored.
    #[serde(default)]
    pub epoch: u64,
    /// Numbers `http` calls, for their idempotency keys.
    #[serde(default)]
    pub http_seq: u64,
    /// Times the current `http` call was re-issued after its result never came.
    #[serde(default)]
    pub http_reissued: u32,
    /// When the current step started waiting.
    #[serde(default)]
    pub since: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Waiting {
    /// The run ended (or never started).
    #[default]
    Done,
    /// An `ask` waits for the customer.
    Reply,
    /// An `answer` waits for the customer to confirm.
    Confirm,
    /// A `wait` step.
    Timer,
    /// An `http` step waits for its result.
    Http,
}

/// What woke the run.
#[derive(Debug, Clone, PartialEq)]
pub enum Input<'a> {
    Message {
        text: &'a str,
        button: Option<&'a str>,
    },
    Timer {
        name: &'a str,
        payload: &'a Value,
    },
    Http(&'a HttpResult),
    Event {
        name: &'a str,
        data: &'a Value,
    },
}

/// What the engine asks the runtime to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send(Reply),
    Schedule(TimerRequest),
    Cancel(String),
    Http(HttpCall),
    Handoff(HandoffInfo),
    Resolve { csat: bool },
    Entered(FlowPosition),
    Warning(String),
}

/// Every version of every flow the runtime knows, so runs finish on their version.
pub trait Library {
    fn get(&self, flow: &str, version: i64) -> Option<Arc<Flow>>;
    fn latest(&self, flow: &str) -> Option<(i64, Arc<Flow>)>;
}

/// The channel a conversation is on.
#[derive(Debug, Clone, Copy)]
pub struct ChannelInfo<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub default_flow: Option<&'a str>,
}

/// Everything the engine reads besides the run and the input.
pub struct Env<'a> {
    pub ws: &'a Workspace,
    pub library: &'a dyn Library,
    pub contact: &'a Contact,
    pub conversation: &'a Conversation,
    pub channel: ChannelInfo<'a>,
    pub now: Timestamp,
    pub secrets: &'a Map<String, Value>,
    /// Intent recognised for the message, if a classifier ran.
    pub intent: Option<&'a str>,
    /// Where a handoff would land in its queue (position, estimated wait).
    pub queue: &'a dyn relais_core::decision::QueueProbe,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// `None` when there is no run (nothing could start).
    pub run: Option<Run>,
    pub effects: Vec<Effect>,
}

/// Steps a conversation's flow run on one input.
pub fn step(run: Option<Run>, input: &Input<'_>, env: &Env<'_>) -> Output {
    let mut x = Exec {
        env,
        flow: None,
        run: None,
        effects: Vec::new(),
    };
    let live = run.filter(|r| r.waiting != Waiting::Done);
    if let Some(r) = &live {
        x.flow = env.library.get(&r.flow, r.version);
    }
    x.run = live;
    match input {
        Input::Message { text, button } => x.message(text, *button),
        Input::Timer { name, payload } => x.timer(name, payload),
        Input::Http(result) => x.http_result(result),
        Input::Event { name, data } => x.event(name, data),
    }
    Output {
        run: x.run,
        effects: x.effects,
    }
}

struct Exec<'e, 'a> {
    env: &'e Env<'a>,
    flow: Option<Arc<Flow>>,
    run: Option<Run>,
    effects: Vec<Effect>,
}

impl Exec<'_, '_> {
    fn language(&self) -> String {
        if let Some(l) = &self.env.contact.language {
            return l.clone();
        }
        self.flow
            .as_ref()
            .map_or_else(|| "en".into(), |f| f.language.clone())
    }

    fn message(&mut self, text: &str, button: Option<&str>) {
        let (Some(run), Some(flow)) = (self.run.as_mut(), self.flow.clone()) else {
            return self.start_for_message(text, button);
        };
        run.vars.insert("last_message".into(), json!(text));
        if self.triggers(text, button, flow.settings.triggers) {
            return;
        }
        let Some(run) = self.run.as_ref() else { return };
        let waiting = run.waiting;
        let Some(step) = flow.step(&run.step) else {
            return self.flow_error(&format!("the run is at an unknown step {:?}", run.step));
        };
        match (waiting, &step.action) {
            (Waiting::Reply, Action::Ask(ask)) => self.reply(step, ask, text, button),
            (Waiting::Confirm, Action::Answer(a)) => {
                if validate::yes_no(text) == Some(true) {
                    self.resolve(&Resolve {
                        say: None,
                        csat: false,
                    });
                } else {
                    match &a.on_no_answer {
                        Some(t) => self.goto(&t.step.clone()),
                        None => self.flow_error("`answer` has no `on_no_answer`"),
                    }
                }
            }
            // During a `wait` or an `http` call the message is kept in the transcript only.
            _ => {}
        }
    }

    fn start_for_message(&mut self, text: &str, button: Option<&str>) {
        let env = self.env;
        let Some(flow) = env
            .ws
            .flow_for_message(env.channel.kind, env.channel.default_flow)
        else {
            return self.escalate_without_flow("flow_error", "no flow runs on this channel");
        };
        let Some((version, flow)) = env.library.latest(&flow.id) else {
            return self.escalate_without_flow("flow_error", "the channel's flow is not loaded");
        };
        let mut run = new_run(&flow, version, env.now);
        run.vars.insert("last_message".into(), json!(text));
        let start = flow.start.step.clone();
        let switches = flow.settings.triggers;
        self.flow = Some(flow);
        self.run = Some(run);
        if self.triggers(text, button, switches) {
            return;
        }
        self.goto(&start);
    }

    fn escalate_without_flow(&mut self, reason: &str, why: &str) {
        self.effects.push(Effect::Warning(why.to_owned()));
        self.handoff(&Handoff {
            team: None,
            priority: Priority::Normal,
            note: None,
            reason: reason.to_owned(),
            say: None,
        });
    }

    /// The escalation triggers; true when one fired (and the run was handed off).
    fn triggers(&mut self, text: &str, button: Option<&str>, on: TriggerSwitches) -> bool {
        let s = Subject {
            tier: &self.env.contact.tier,
            text,
            is_button: button.is_some(),
            intent: self.env.intent,
        };
        let Some(fired) = self.env.ws.escalation.check(&s, on) else {
            return false;
        };
        self.effects.push(Effect::Warning(format!(
            "escalation trigger {}: {}",
            fired.reason, fired.detail
        )));
        let priority = if fired.reason == "vip" {
            Priority::High
        } else {
            Priority::Normal
        };
        self.handoff(&Handoff {
            team: None,
            priority,
            note: None,
            reason: fired.reason.to_owned(),
            say: None,
        });
        true
    }

    fn event(&mut self, name: &str, data: &Value) {
        let env = self.env;
        let Some(flow) = env.ws.flow_for_event(name, env.channel.kind) else {
            self.effects
                .push(Effect::Warning(format!("no flow starts on event:{name}")));
            return;
        };
        let Some((version, flow)) = env.library.latest(&flow.id) else {
            return;
        };
        self.leave_waiting();
        let mut run = new_run(&flow, version, env.now);
        if let Value::Object(d) = data {
            for (k, v) in d {
                run.vars.insert(k.clone(), v.clone());
            }
        }
        let start = flow.start.step.clone();
        self.flow = Some(flow);
        self.run = Some(run);
        self.goto(&start);
    }

    fn timer(&mut self, name: &str, payload: &Value) {
        let epoch = payload.get("epoch").and_then(Value::as_u64);
        let (Some(run), Some(flow)) = (self.run.as_ref(), self.flow.clone()) else {
            return;
        };
        if epoch != Some(run.epoch) {
            return; // A timer of an earlier wait.
        }
        let Some(step) = flow.step(&run.step) else {
            return;
        };
        match (run.waiting, &step.action) {
            (Waiting::Reply, Action::Ask(ask)) if name == TIMER_TIMEOUT => {
                self.cancel_ask_timers(ask);
                match &ask.on_timeout {
                    Some(t) => self.goto(&t.step.clone()),
                    None => self.end(),
                }
            }
            (Waiting::Reply, Action::Ask(ask)) if name.starts_with(TIMER_REMINDER) => {
                let i: usize = name[TIMER_REMINDER.len()..].parse().unwrap_or(usize::MAX);
                if let Some(r) = ask.reminders.get(i) {
                    self.say(&r.say);
                }
            }
            (Waiting::Timer, Action::Wait(_)) if name == TIMER_WAIT => self.next(step),
            (Waiting::Http, Action::Http(h)) if name == TIMER_HTTP => {
                // The result never came back (the server stopped mid-call): ask again,
                // with the same idempotency key, a bounded number of times.
                let reissued = run.http_reissued;
                if reissued >= HTTP_REISSUES {
                    return self.http_failed(step, h, "no result after the call was re-issued");
                }
                if let Some(r) = self.run.as_mut() {
                    r.http_reissued += 1;
                }
                self.call(step, h);
            }
            _ => {}
        }
    }

    fn http_result(&mut self, result: &HttpResult) {
        let (Some(run), Some(flow)) = (self.run.as_ref(), self.flow.clone()) else {
            return;
        };
        if run.waiting != Waiting::Http {
            return;
        }
        let Some(step) = flow.step(&run.step) else {
            return;
        };
        let Action::Http(h) = &step.action else {
            return;
        };
        self.effects.push(Effect::Cancel(TIMER_HTTP.into()));
        let parsed = match result {
            HttpResult::Response { status, body } if (200..300).contains(status) => {
                if body.trim().is_empty() {
                    Ok(Value::Null)
                } else {
                    serde_json::from_str::<Value>(body)
                        .map_err(|_| format!("HTTP {status} with a body that is not JSON"))
                }
            }
            HttpResult::Response { status, .. } => Err(format!("HTTP {status}")),
            HttpResult::Failed { error } => Err(error.clone()),
        };
        match parsed {
            Ok(v) => {
                if let (Some(save), Some(run)) = (&h.save, self.run.as_mut()) {
                    run.vars.insert(save.clone(), v);
                }
                self.next(step);
            }
            Err(why) => self.http_failed(step, h, &why),
        }
    }

    fn http_failed(&mut self, step: &Step, h: &Http, why: &str) {
        self.effects.push(Effect::Warning(format!(
            "http step {:?} failed: {why}",
            step.name
        )));
        match &h.on_error {
            Some(t) => self.goto(&t.step.clone()),
            None => self.flow_error(&format!("the http step {:?} failed: {why}", step.name)),
        }
    }

    /// A customer's reply to an `ask`.
    fn reply(&mut self, step: &Step, ask: &Ask, text: &str, button: Option<&str>) {
        let mut value = json!(text);
        if let Some(e) = &ask.expect {
            match validate::check(&e.validator, text) {
                Ok(v) => value = v,
                Err(w) => {
                    let msg = e.invalid.as_ref().or(ask.invalid.as_ref());
                    return self.failure(msg, w);
                }
            }
        }
        let words = Words::new(text);
        let mut chosen = None;
        for r in &ask.routes {
            let hit = match &r.matcher {
                Matcher::Keywords(k) => k.iter().any(|k| words.contains_phrase(k)),
                Matcher::Regex(p) => p.regex.is_match(text),
                Matcher::Intent(i) => self.env.intent == Some(i.as_str()),
                Matcher::Button(ids) => button.is_some_and(|b| ids.iter().any(|i| i == b)),
                Matcher::When(e) => match self.env.ws.env.test(&e.source, &self.context()) {
                    Ok(b) => b,
                    Err(err) => {
                        return self
                            .flow_error(&format!("`when` of the step {:?}: {err}", step.name));
                    }
                },
            };
            if hit {
                chosen = Some(r.next.step.clone());
                break;
            }
        }
        let target = chosen
            .or_else(|| ask.otherwise.as_ref().map(|t| t.step.clone()))
            .or_else(|| {
                ask.routes
                    .is_empty()
                    .then(|| step.next.as_ref().map(|t| t.step.clone()))
                    .flatten()
            });
        match target {
            Some(t) => {
                if let Some(run) = self.run.as_mut() {
                    run.failures = 0;
                    if let Some(save) = &ask.save {
                        run.vars.insert(save.clone(), value);
                    }
                }
                self.cancel_ask_timers(ask);
                self.goto(&t);
            }
            None => self.failure(ask.invalid.as_ref(), Wording::Invalid),
        }
    }

    /// An unrecognised or invalid reply: the `invalid` message, or escalation at `max_failures`.
    fn failure(&mut self, msg: Option<&Msg>, default: Wording) {
        let max = self
            .flow
            .as_ref()
            .and_then(|f| f.settings.max_failures)
            .unwrap_or(self.env.ws.escalation.max_failures);
        let Some(run) = self.run.as_mut() else { return };
        run.failures += 1;
        if run.failures >= max.max(1) {
            return self.handoff(&Handoff {
                team: None,
                priority: Priority::Normal,
                note: None,
                reason: "failed_attempts".into(),
                say: None,
            });
        }
        match msg {
            Some(m) => {
                self.say(m);
            }
            None => {
                let text = wording::text(default, &self.language()).to_owned();
                self.effects.push(Effect::Send(Reply::text(text)));
            }
        }
    }

    fn cancel_ask_timers(&mut self, ask: &Ask) {
        if ask.timeout.is_some() {
            self.effects.push(Effect::Cancel(TIMER_TIMEOUT.into()));
        }
        for i in 0..ask.reminders.len() {
            self.effects
                .push(Effect::Cancel(format!("{TIMER_REMINDER}{i}")));
        }
    }

    /// Cancels whatever the run was waiting on, before a new run replaces it.
    fn leave_waiting(&mut self) {
        let (Some(run), Some(flow)) = (self.run.as_ref(), self.flow.clone()) else {
            return;
        };
        let Some(step) = flow.step(&run.step) else {
            return;
        };
        match (&run.waiting, &step.action) {
            (Waiting::Reply, Action::Ask(a)) => self.cancel_ask_timers(a),
            (Waiting::Timer, _) => self.effects.push(Effect::Cancel(TIMER_WAIT.into())),
            (Waiting::Http, _) => self.effects.push(Effect::Cancel(TIMER_HTTP.into())),
            _ => {}
        }
    }

    fn next(&mut self, step: &Step) {
        match &step.next {
            Some(t) => self.goto(&t.step.clone()),
            None => self.flow_error(&format!("the step {:?} has no `next`", step.name)),
        }
    }

    /// Runs steps from `name` until the run waits or ends.
    fn goto(&mut self, name: &str) {
        let mut name = name.to_owned();
        for _ in 0..MAX_STEPS {
            let Some(flow) = self.flow.clone() else {
                return;
            };
            let Some(step) = flow.step(&name) else {
                return self.flow_error(&format!("the flow {:?} has no step {name:?}", flow.id));
            };
            let Some(run) = self.run.as_mut() else { return };
            run.step = name.clone();
            run.waiting = Waiting::Done;
            self.effects.push(Effect::Entered(FlowPosition {
                flow: flow.id.clone(),
                version: run.version,
                step: name.clone(),
            }));
            match self.execute(step) {
                Flow_::Continue(next) => name = next,
                Flow_::Stop => return,
            }
        }
        self.flow_error(&format!(
            "more than {MAX_STEPS} steps ran without waiting for the customer (a loop?)"
        ));
    }

    fn execute(&mut self, step: &Step) -> Flow_ {
        match &step.action {
            Action::Say(m) => {
                if !self.say(m) {
                    return Flow_::Stop;
                }
                self.need_next(step)
            }
            Action::Ask(ask) => {
                if let Some(p) = &ask.prompt
                    && !self.say(p)
                {
                    return Flow_::Stop;
                }
                let now = self.env.now;
                let epoch = self.wait(Waiting::Reply);
                if let Some(t) = ask.timeout {
                    self.schedule(TIMER_TIMEOUT.into(), now.plus(t), epoch);
                }
                for (i, r) in ask.reminders.iter().enumerate() {
                    self.schedule(format!("{TIMER_REMINDER}{i}"), now.plus(r.after), epoch);
                }
                Flow_::Stop
            }
            Action::Branch(cases) => {
                let ctx = self.context();
                for c in cases {
                    match self.env.ws.env.test(&c.when.source, &ctx) {
                        Ok(true) => return Flow_::Continue(c.next.step.clone()),
                        Ok(false) => {}
                        Err(e) => {
                            self.flow_error(&format!(
                                "`when: {}` of the step {:?}: {e}",
                                c.when.source, step.name
                            ));
                            return Flow_::Stop;
                        }
                    }
                }
                self.need_next(step)
            }
            Action::Http(h) => {
                if let Some(r) = self.run.as_mut() {
                    r.http_seq += 1;
                    r.http_reissued = 0;
                }
                self.call(step, h);
                Flow_::Stop
            }
            Action::Set(items) => {
                for (k, v) in items {
                    let ctx = self.context();
                    let value = match v {
                        SetValue::Literal(l) => Ok(l.clone()),
                        SetValue::Template(t) => {
                            self.env.ws.env.render(&t.source, &ctx).map(Value::String)
                        }
                        SetValue::Expr(e) => self.env.ws.env.eval(&e.source, &ctx),
                    };
                    match value {
                        Ok(v) => {
                            if let Some(r) = self.run.as_mut() {
                                r.vars.insert(k.clone(), v);
                            }
                        }
                        Err(e) => {
                            self.flow_error(&format!(
                                "`set: {k}` of the step {:?}: {e}",
                                step.name
                            ));
                            return Flow_::Stop;
                        }
                    }
                }
                self.need_next(step)
            }
            Action::Template(t) => {
                if !self.send_template(t) {
                    return Flow_::Stop;
                }
                self.need_next(step)
            }
            Action::Handoff(h) => {
                self.handoff(h);
                Flow_::Stop
            }
            Action::Answer(a) => {
                // No knowledge base is loaded yet: every question is one it cannot answer.
                match &a.on_no_answer {
                    Some(t) => Flow_::Continue(t.step.clone()),
                    None => {
                        self.flow_error("`answer` found no article and has no `on_no_answer`");
                        Flow_::Stop
                    }
                }
            }
            Action::Wait(d) => {
                let at = self.env.now.plus(*d);
                let epoch = self.wait(Waiting::Timer);
                self.schedule(TIMER_WAIT.into(), at, epoch);
                Flow_::Stop
            }
            Action::Goto {
                flow, step: target, ..
            } => {
                let Some((version, other)) = self.env.library.latest(flow) else {
                    self.flow_error(&format!("`goto` names an unknown flow {flow:?}"));
                    return Flow_::Stop;
                };
                let start = target.clone().unwrap_or_else(|| other.start.step.clone());
                if let Some(r) = self.run.as_mut() {
                    r.flow = other.id.clone();
                    r.version = version;
                    for (k, v) in &other.vars {
                        r.vars.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
                self.flow = Some(other);
                Flow_::Continue(start)
            }
            Action::Resolve(r) => {
                self.resolve(r);
                Flow_::Stop
            }
        }
    }

    fn need_next(&mut self, step: &Step) -> Flow_ {
        match &step.next {
            Some(t) => Flow_::Continue(t.step.clone()),
            None => {
                self.flow_error(&format!("the step {:?} has no `next`", step.name));
                Flow_::Stop
            }
        }
    }

    /// Marks the run as waiting and returns the new epoch.
    fn wait(&mut self, w: Waiting) -> u64 {
        let now = self.env.now.0;
        match self.run.as_mut() {
            Some(r) => {
                r.waiting = w;
                r.epoch += 1;
                r.since = now;
                r.epoch
            }
            None => 0,
        }
    }

    fn schedule(&mut self, name: String, due_at: Timestamp, epoch: u64) {
        self.effects.push(Effect::Schedule(TimerRequest {
            name,
            due_at,
            payload: json!({ "epoch": epoch }),
        }));
    }

    fn call(&mut self, step: &Step, h: &Http) {
        let ctx = self.context();
        let t = &self.env.ws.env;
        let rendered = (|| -> Result<HttpCall, String> {
            let url = t.render(&h.url.source, &ctx)?;
            let mut headers = Vec::new();
            for (k, v) in &h.headers {
                headers.push((k.clone(), t.render(&v.source, &ctx)?));
            }
            let body = match &h.body {
                None => None,
                Some(Body::Text(b)) => Some(t.render(&b.source, &ctx)?),
                Some(Body::Json(j)) => {
                    if !headers
                        .iter()
                        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                    {
                        headers.push(("Content-Type".into(), "application/json".into()));
                    }
                    Some(render_json(t, j, &ctx)?.to_string())
                }
            };
            Ok(HttpCall {
                method: h.method.clone(),
                url,
                headers,
                body,
                timeout_ms: h.timeout.0,
                retries: h.retries,
                idempotency_key: String::new(),
            })
        })();
        let mut call = match rendered {
            Ok(c) => c,
            Err(e) => {
                return self.http_failed(
                    step,
                    h,
                    &format!("its request could not be rendered: {e}"),
                );
            }
        };
        let (conv, seq) = (
            self.env.conversation.id,
            self.run.as_ref().map_or(0, |r| r.http_seq),
        );
        call.idempotency_key = format!("relais-{conv}-{seq}");
        // A watchdog: if the result never comes back (a crash mid-call), the timer
        // re-issues the call.
        let budget = Duration(h.timeout.0 * i64::from(h.retries + 1) + 30_000);
        let at = self.env.now.plus(budget);
        let epoch = self.wait(Waiting::Http);
        self.schedule(TIMER_HTTP.into(), at, epoch);
        self.effects.push(Effect::Http(call));
    }

    fn send_template(&mut self, t: &TemplateSend) -> bool {
        let ctx = self.context();
        let env = &self.env.ws.env;
        let language = match &t.language {
            Some(l) => match env.render(&l.source, &ctx) {
                Ok(l) => l,
                Err(e) => {
                    self.flow_error(&format!("template language: {e}"));
                    return false;
                }
            },
            None => self.language(),
        };
        let Some(tpl) = self.env.ws.template(&t.name, &language) else {
            self.flow_error(&format!("unknown template {:?}", t.name));
            return false;
        };
        let mut params = Vec::new();
        for p in &t.params {
            match self.render_text(&p.source, &ctx) {
                Ok(v) => params.push(v),
                Err(e) => {
                    self.flow_error(&format!("template param {:?}: {e}", p.source));
                    return false;
                }
            }
        }
        self.effects.push(Effect::Send(Reply {
            text: tpl.fill(&params),
            buttons: tpl.buttons.clone(),
            template: Some(tpl.name.clone()),
        }));
        true
    }

    /// Renders and sends a message; false (and a flow error) if it cannot be rendered.
    fn say(&mut self, m: &Msg) -> bool {
        match self.render_msg(m, &self.context()) {
            Ok(r) => {
                self.effects.push(Effect::Send(r));
                true
            }
            Err(e) => {
                self.flow_error(&e);
                false
            }
        }
    }

    fn render_msg(&mut self, m: &Msg, ctx: &JValue) -> Result<Reply, String> {
        let lang = self.language();
        let fallback = self
            .flow
            .as_ref()
            .map_or("en", |f| f.language.as_str())
            .to_owned();
        let pick = |t| pick_language(t, &lang, &fallback);
        let text = self.render_text(pick(&m.text), ctx)?;
        let mut buttons = Vec::new();
        for b in m.buttons.iter().chain(m.list.iter()) {
            buttons.push(self.render_text(pick(&b.title), ctx)?);
        }
        Ok(Reply {
            text,
            buttons,
            template: None,
        })
    }

    /// Renders customer-facing text, recording a warning for each variable it read
    /// that the run has not set.
    fn render_text(&mut self, source: &str, ctx: &JValue) -> Result<String, String> {
        let (out, unset) = self.env.ws.env.render_checked(source, ctx)?;
        for v in unset {
            self.effects.push(Effect::Warning(format!(
                "the variable {v:?} is not set; it rendered as empty text"
            )));
        }
        Ok(out)
    }

    fn handoff(&mut self, h: &Handoff) {
        let env = self.env;
        let ws = env.ws;
        let team = h
            .team
            .as_ref()
            .map(|t| t.step.clone())
            .or_else(|| {
                self.flow
                    .as_ref()
                    .and_then(|f| f.settings.team.as_ref().map(|t| t.step.clone()))
            })
            .or_else(|| ws.escalation.default_team.clone());
        let mut priority = h.priority;
        if (h.reason == "vip" || ws.escalation.is_vip(&env.contact.tier))
            && priority < Priority::High
        {
            priority = Priority::High;
        }
        let hours = team.as_deref().and_then(|t| ws.team(t)).map(|t| &t.hours);
        let after_hours = hours.is_some_and(|hrs| !hrs.is_open(env.now.0));
        let opens_at = hours
            .filter(|_| after_hours)
            .and_then(|hrs| hrs.next_open(env.now.0).map(|at| hrs.local_text(at)));
        let mut ctx_json = self.context_json();
        ctx_json.insert(
            "team".into(),
            json!({ "id": team, "opens_at": opens_at.clone().unwrap_or_default() }),
        );
        let queue = if after_hours {
            relais_core::decision::QueueInfo::default()
        } else {
            env.queue.probe(team.as_deref(), priority)
        };
        let wait = queue.wait.map(relais_core::routing::wait_text);
        ctx_json.insert(
            "queue".into(),
            json!({ "position": queue.position, "wait": wait.clone().unwrap_or_default() }),
        );
        let ctx = crate::template::value(&ctx_json);
        let note = h
            .note
            .as_ref()
            .and_then(|n| ws.env.render(&n.source, &ctx).ok());
        let text = match &h.say {
            Some(m) => match self.render_msg(m, &ctx) {
                Ok(r) => Some(r),
                Err(e) => {
                    self.effects.push(Effect::Warning(format!(
                        "the handoff message could not be rendered: {e}"
                    )));
                    None
                }
            },
            None => None,
        };
        let reply = text.unwrap_or_else(|| {
            let lang = self.language();
            let t = match (after_hours, &opens_at) {
                (false, _) => {
                    let mut t = wording::text(Wording::Transfer, &lang).to_owned();
                    if queue.position > 0 {
                        t.push(' ');
                        t.push_str(
                            &wording::text(Wording::QueuePosition, &lang)
                                .replace("{position}", &queue.position.to_string()),
                        );
                        if let Some(w) = &wait {
                            t.push(' ');
                            t.push_str(
                                &wording::text(Wording::QueueWait, &lang).replace("{wait}", w),
                            );
                        }
                    }
                    t
                }
                (true, Some(at)) => {
                    wording::text(Wording::TransferClosed, &lang).replace("{opens_at}", at)
                }
                (true, None) => wording::text(Wording::TransferClosedUnknown, &lang).to_owned(),
            };
            Reply::text(t)
        });
        self.effects.push(Effect::Send(reply));
        let fields = self
            .run
            .as_ref()
            .map(|r| {
                let mut v = r.vars.clone();
                v.remove("last_message");
                Value::Object(v)
            })
            .unwrap_or_else(|| json!({}));
        self.effects.push(Effect::Handoff(HandoffInfo {
            team,
            priority,
            reason: h.reason.clone(),
            note,
            after_hours,
            fields,
            language: Some(self.language()),
        }));
        self.end();
    }

    fn resolve(&mut self, r: &Resolve) {
        if let Some(m) = &r.say
            && !self.say(m)
        {
            return;
        }
        self.effects.push(Effect::Resolve { csat: r.csat });
        self.end();
    }

    fn end(&mut self) {
        if let Some(r) = self.run.as_mut() {
            r.waiting = Waiting::Done;
        }
    }

    /// A flow bug or a failed call with no `on_error`: hand off with reason `flow_error`.
    fn flow_error(&mut self, why: &str) {
        self.effects
            .push(Effect::Warning(format!("flow error: {why}")));
        self.handoff(&Handoff {
            team: None,
            priority: Priority::Normal,
            note: None,
            reason: "flow_error".into(),
            say: None,
        });
    }

    fn context_json(&self) -> Map<String, Value> {
        let env = self.env;
        let mut m = self
            .run
            .as_ref()
            .map(|r| r.vars.clone())
            .unwrap_or_default();
        let c = env.contact;
        let mut contact = json!({
            "id": c.id.0,
            "name": c.name,
            "language": c.language,
            "tier": c.tier,
            "fields": c.fields,
        });
        if let (Value::Object(fields), Some(obj)) = (&c.fields, contact.as_object_mut()) {
            for (k, v) in fields {
                obj.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        m.insert("contact".into(), contact);
        let conv = env.conversation;
        m.insert(
            "conversation".into(),
            json!({ "id": conv.id.0, "status": conv.status.as_str(), "team": conv.team, "priority": conv.priority.as_str() }),
        );
        m.insert(
            "channel".into(),
            json!({ "id": env.channel.id, "kind": env.channel.kind }),
        );
        m.insert("now".into(), json!(rfc3339(env.now)));
        m.insert(crate::template::NOW_MS.into(), json!(env.now.0));
        m.insert("secrets".into(), Value::Object(env.secrets.clone()));
        m
    }

    fn context(&self) -> JValue {
        crate::template::value(&self.context_json())
    }
}

/// A message's text in `lang`, else in the flow's language, else the first given.
fn pick_language<'t>(t: &'t Text, lang: &str, fallback: &str) -> &'t str {
    match t {
        Text::One(t) => &t.source,
        Text::PerLanguage(v) => v
            .iter()
            .find(|(l, _)| l == lang)
            .or_else(|| v.iter().find(|(l, _)| l == fallback))
            .or(v.first())
            .map_or("", |(_, t)| t.source.as_str()),
    }
}

enum Flow_ {
    Continue(String),
    Stop,
}

fn new_run(flow: &Flow, version: i64, now: Timestamp) -> Run {
    Run {
        flow: flow.id.clone(),
        version,
        step: flow.start.step.clone(),
        vars: flow.vars.clone(),
        failures: 0,
        waiting: Waiting::Done,
        epoch: 0,
        http_seq: 0,
        http_reissued: 0,
        since: now.0,
    }
}

fn render_json(t: &crate::template::Templates, j: &JsonTpl, ctx: &JValue) -> Result<Value, String> {
    Ok(match j {
        JsonTpl::Str(s) => Value::String(t.render(&s.source, ctx)?),
        JsonTpl::Lit(v) => v.clone(),
        JsonTpl::Arr(items) => Value::Array(
            items
                .iter()
                .map(|i| render_json(t, i, ctx))
                .collect::<Result<_, _>>()?,
        ),
        JsonTpl::Obj(items) => Value::Object(
            items
                .iter()
                .map(|(k, v)| Ok((k.clone(), render_json(t, v, ctx)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// An instant as RFC 3339 text in UTC.
pub fn rfc3339(t: Timestamp) -> String {
    jiff::Timestamp::from_millisecond(t.0).map_or_else(|_| t.0.to_string(), |ts| ts.to_string())
}
