//! The step loop: what each kind of [`Input`](super::Input) does to the run (a message, a
//! timer, an event), the escalation triggers checked on every message, and running steps
//! one after another until the run waits or ends.

use super::{
    Effect, Exec, HTTP_REISSUES, MAX_STEPS, Run, TIMER_HTTP, TIMER_REMINDER, TIMER_TIMEOUT,
    TIMER_WAIT, Waiting,
};
use crate::escalation::Subject;
use crate::model::*;
use crate::validate;
use crate::wording::{self, Wording};
use relais_core::Timestamp;
use relais_core::conversation::Priority;
use relais_core::decision::TimerRequest;
use relais_core::event::FlowPosition;
use serde_json::{Value, json};

impl Exec<'_, '_> {
    pub(super) fn message(&mut self, text: &str, button: Option<&str>) {
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
                let yes = match button {
                    Some(b) => b == ANSWER_YES,
                    None => validate::yes_no(text) == Some(true),
                };
                if yes {
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
            intent: if self.env.ws.escalation.sensitive_intents.is_empty() {
                None
            } else {
                self.env.nlu.intent()
            },
            frustration: &|sc| self.env.nlu.frustration(sc),
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

    pub(super) fn event(&mut self, name: &str, data: &Value) {
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

    pub(super) fn timer(&mut self, name: &str, payload: &Value) {
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

    pub(super) fn next(&mut self, step: &Step) {
        match &step.next {
            Some(t) => self.goto(&t.step.clone()),
            None => self.flow_error(&format!("the step {:?} has no `next`", step.name)),
        }
    }

    /// Runs steps from `name` until the run waits or ends.
    pub(super) fn goto(&mut self, name: &str) {
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

    // Long by design: one arm per step action; the longer actions call out to their
    // own module (ask, http, render, handoff).
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
                let language = self.language();
                if let Some(found) = self.env.nlu.answer(Some(&language)) {
                    if let Some(run) = self.run.as_mut() {
                        run.vars.insert(
                            "answer".into(),
                            json!({ "id": found.id, "title": found.title, "score": found.score }),
                        );
                    }
                    let text = article_text(&found, max_chars(self.env.channel.kind));
                    self.effects
                        .push(Effect::Send(relais_core::decision::Reply::text(text)));
                    let Some(confirm) = &a.confirm else {
                        return self.need_next(step);
                    };
                    let ctx = self.context();
                    let mut reply = match self.render_msg(confirm, &ctx) {
                        Ok(r) => r,
                        Err(e) => {
                            self.flow_error(&e);
                            return Flow_::Stop;
                        }
                    };
                    if reply.buttons.is_empty() {
                        for (id, w) in [(ANSWER_YES, Wording::Yes), (ANSWER_NO, Wording::No)] {
                            let title = wording::text(w, &language).to_owned();
                            reply.rich.choices.push(relais_core::rich::Choice {
                                id: id.into(),
                                title: title.clone(),
                            });
                            reply.buttons.push(title);
                        }
                    }
                    self.effects.push(Effect::Send(reply));
                    self.wait(Waiting::Confirm);
                    return Flow_::Stop;
                }
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
    pub(super) fn wait(&mut self, w: Waiting) -> u64 {
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

    pub(super) fn schedule(&mut self, name: String, due_at: Timestamp, epoch: u64) {
        self.effects.push(Effect::Schedule(TimerRequest {
            name,
            due_at,
            payload: json!({ "epoch": epoch }),
        }));
    }

    pub(super) fn end(&mut self) {
        if let Some(r) = self.run.as_mut() {
            r.waiting = Waiting::Done;
        }
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

/// Button ids of an `answer`'s confirmation.
pub(super) const ANSWER_YES: &str = "yes";
pub(super) const ANSWER_NO: &str = "no";

/// The most text one message can carry on a channel kind.
fn max_chars(kind: &str) -> usize {
    match kind {
        "sms" => 1600,
        "messenger" | "instagram" => 2000,
        "whatsapp" | "telegram" => 4096,
        _ => 8000,
    }
}

/// An article as one message: its title, a blank line, its text, cut at a paragraph or
/// sentence end to fit `max` characters (with "…" when cut).
pub(super) fn article_text(a: &super::KbAnswer, max: usize) -> String {
    let full = format!("{}\n\n{}", a.title, a.body.trim());
    if full.chars().count() <= max {
        return full;
    }
    let cut: String = full.chars().take(max.saturating_sub(1)).collect();
    let end = ["\n\n", ". ", "! ", "? ", "\n"]
        .iter()
        .filter_map(|sep| cut.rfind(sep).map(|i| i + sep.trim_end().len()))
        .find(|i| *i > cut.len() / 2)
        .unwrap_or(cut.len());
    format!("{}…", cut[..end].trim_end())
}

#[cfg(test)]
mod answer_tests {
    use super::*;

    fn article(body: &str) -> super::super::KbAnswer {
        super::super::KbAnswer {
            id: "a".into(),
            title: "Title".into(),
            body: body.into(),
            score: 1.0,
        }
    }

    #[test]
    fn an_article_fits_the_channel_cut_at_a_sentence() {
        assert_eq!(article_text(&article("Short."), 1600), "Title\n\nShort.");
        let long = "First sentence is here. ".repeat(100);
        let sms = article_text(&article(&long), max_chars("sms"));
        assert!(sms.chars().count() <= 1600, "{}", sms.len());
        assert!(sms.ends_with("here.…"), "{sms}");
        assert_eq!(max_chars("messenger"), 2000);
        assert_eq!(max_chars("whatsapp"), 4096);
        // No sentence end in the second half: cut where the room ends.
        let word = "x".repeat(3000);
        let cut = article_text(&article(&word), 2000);
        assert_eq!(cut.chars().count(), 2000);
        assert!(cut.ends_with('…'));
    }
}
