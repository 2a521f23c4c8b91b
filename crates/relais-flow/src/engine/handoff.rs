//! How a run ends besides waiting: a handoff to a team (with its queue and business-hours
//! wording), a resolve, or a flow error that hands off with reason `flow_error`.

use super::{Effect, Exec};
use crate::model::*;
use crate::wording::{self, Wording};
use minijinja::value::Value as JValue;
use relais_core::conversation::Priority;
use relais_core::decision::{Handoff as HandoffInfo, Reply};
use serde_json::{Value, json};

impl Exec<'_, '_> {
    pub(super) fn handoff(&mut self, h: &Handoff) {
        let env = self.env;
        let ws = env.ws;
        let team = self.handoff_team(h);
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
        let closed = after_hours.then_some(opens_at.as_deref());
        let reply = self.handoff_reply(h, &ctx, closed, queue.position, wait.as_deref());
        self.effects.push(Effect::Send(reply));
        let fields = self.handoff_fields();
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

    /// The team handed to: the step's, else the flow's, else the escalation's default.
    fn handoff_team(&self, h: &Handoff) -> Option<String> {
        h.team
            .as_ref()
            .map(|t| t.step.clone())
            .or_else(|| {
                self.flow
                    .as_ref()
                    .and_then(|f| f.settings.team.as_ref().map(|t| t.step.clone()))
            })
            .or_else(|| self.env.ws.escalation.default_team.clone())
    }

    /// The handoff's message: the step's `say` rendered, else (or when it cannot be
    /// rendered, with a warning) the built-in wording.
    fn handoff_reply(
        &mut self,
        h: &Handoff,
        ctx: &JValue,
        closed: Option<Option<&str>>,
        position: u32,
        wait: Option<&str>,
    ) -> Reply {
        let text = match &h.say {
            Some(m) => match self.render_msg(m, ctx) {
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
        text.unwrap_or_else(|| {
            Reply::text(default_wording(&self.language(), closed, position, wait))
        })
    }

    /// The run's variables for the agent, without `last_message`.
    fn handoff_fields(&self) -> Value {
        self.run
            .as_ref()
            .map(|r| {
                let mut v = r.vars.clone();
                v.remove("last_message");
                Value::Object(v)
            })
            .unwrap_or_else(|| json!({}))
    }

    pub(super) fn resolve(&mut self, r: &Resolve) {
        if let Some(m) = &r.say
            && !self.say(m)
        {
            return;
        }
        self.effects.push(Effect::Resolve { csat: r.csat });
        self.end();
    }

    /// A flow bug or a failed call with no `on_error`: hand off with reason `flow_error`.
    pub(super) fn flow_error(&mut self, why: &str) {
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
}

/// The built-in handoff message: the transfer with the queue position and wait, or
/// when the team is closed (`closed`: `Some(opens_at)`), when it is back.
fn default_wording(
    lang: &str,
    closed: Option<Option<&str>>,
    position: u32,
    wait: Option<&str>,
) -> String {
    match closed {
        None => {
            let mut t = wording::text(Wording::Transfer, lang).to_owned();
            if position > 0 {
                t.push(' ');
                t.push_str(
                    &wording::text(Wording::QueuePosition, lang)
                        .replace("{position}", &position.to_string()),
                );
                if let Some(w) = wait {
                    t.push(' ');
                    t.push_str(&wording::text(Wording::QueueWait, lang).replace("{wait}", w));
                }
            }
            t
        }
        Some(Some(at)) => wording::text(Wording::TransferClosed, lang).replace("{opens_at}", at),
        Some(None) => wording::text(Wording::TransferClosedUnknown, lang).to_owned(),
    }
}
