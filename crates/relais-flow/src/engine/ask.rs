//! A customer's reply to an `ask`: validating it, matching it against the routes, and
//! counting failed attempts up to the escalation at `max_failures`.

use super::{Effect, Exec, TIMER_REMINDER, TIMER_TIMEOUT};
use crate::model::*;
use crate::text::Words;
use crate::validate;
use crate::wording::{self, Wording};
use relais_core::conversation::Priority;
use relais_core::decision::Reply;
use serde_json::json;

/// A reply "2" to a prompt whose buttons a channel showed as numbered text (SMS, or
/// beyond a provider's limits) is the second button, when the ask routes by button.
fn numbered_choice<'a>(ask: &'a Ask, text: &str) -> Option<&'a str> {
    if !ask
        .routes
        .iter()
        .any(|r| matches!(r.matcher, Matcher::Button(_)))
    {
        return None;
    }
    let prompt = ask.prompt.as_ref()?;
    let n: usize = text.trim().trim_end_matches(['.', ')']).parse().ok()?;
    prompt
        .buttons
        .iter()
        .chain(prompt.list.iter())
        .nth(n.checked_sub(1)?)
        .map(|b| b.id.as_str())
}

impl Exec<'_, '_> {
    /// A customer's reply to an `ask`.
    pub(super) fn reply(&mut self, step: &Step, ask: &Ask, text: &str, button: Option<&str>) {
        let numbered = button
            .is_none()
            .then(|| numbered_choice(ask, text))
            .flatten();
        let button = button.or(numbered);
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
                Matcher::Intent(i) => self.env.nlu.intent() == Some(i.as_str()),
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

    pub(super) fn cancel_ask_timers(&mut self, ask: &Ask) {
        if ask.timeout.is_some() {
            self.effects.push(Effect::Cancel(TIMER_TIMEOUT.into()));
        }
        for i in 0..ask.reminders.len() {
            self.effects
                .push(Effect::Cancel(format!("{TIMER_REMINDER}{i}")));
        }
    }
}
