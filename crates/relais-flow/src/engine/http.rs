//! The `http` step: rendering the request, its idempotency key and watchdog timer, and
//! reading the result back (or failing to `on_error`).

use super::{Effect, Exec, TIMER_HTTP, Waiting};
use crate::model::*;
use minijinja::value::Value as JValue;
use relais_core::Duration;
use relais_core::decision::{HttpCall, HttpResult};
use serde_json::Value;

impl Exec<'_, '_> {
    pub(super) fn http_result(&mut self, result: &HttpResult) {
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

    pub(super) fn http_failed(&mut self, step: &Step, h: &Http, why: &str) {
        self.effects.push(Effect::Warning(format!(
            "http step {:?} failed: {why}",
            step.name
        )));
        match &h.on_error {
            Some(t) => self.goto(&t.step.clone()),
            None => self.flow_error(&format!("the http step {:?} failed: {why}", step.name)),
        }
    }

    pub(super) fn call(&mut self, step: &Step, h: &Http) {
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
