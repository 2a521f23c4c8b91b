//! Rendering what the customer reads: messages in the contact's language, WhatsApp
//! templates, and the template context (run variables, contact, conversation, channel).

use super::{Effect, Exec, rfc3339};
use crate::model::*;
use minijinja::value::Value as JValue;
use relais_core::decision::Reply;
use relais_core::rich::{Choice, Media, MediaKind, Rich, TemplateRef};
use serde_json::{Map, Value, json};

impl Exec<'_, '_> {
    pub(super) fn language(&self) -> String {
        if let Some(l) = &self.env.contact.language {
            return l.clone();
        }
        self.flow
            .as_ref()
            .map_or_else(|| "en".into(), |f| f.language.clone())
    }

    pub(super) fn send_template(&mut self, t: &TemplateSend) -> bool {
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
            rich: Rich {
                template: Some(TemplateRef {
                    name: tpl.name.clone(),
                    language: tpl.language.clone(),
                    params,
                }),
                ..Rich::default()
            },
        }));
        true
    }

    /// Renders and sends a message; false (and a flow error) if it cannot be rendered.
    pub(super) fn say(&mut self, m: &Msg) -> bool {
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

    pub(super) fn render_msg(&mut self, m: &Msg, ctx: &JValue) -> Result<Reply, String> {
        let lang = self.language();
        let fallback = self
            .flow
            .as_ref()
            .map_or("en", |f| f.language.as_str())
            .to_owned();
        let pick = |t| pick_language(t, &lang, &fallback);
        let text = self.render_text(pick(&m.text), ctx)?;
        let mut buttons = Vec::new();
        let mut rich = Rich {
            list: m.buttons.is_empty() && !m.list.is_empty(),
            ..Rich::default()
        };
        for b in m.buttons.iter().chain(m.list.iter()) {
            let title = self.render_text(pick(&b.title), ctx)?;
            rich.choices.push(Choice {
                id: b.id.clone(),
                title: title.clone(),
            });
            buttons.push(title);
        }
        if let Some(media) = &m.media {
            let url = self.render_text(&media.source, ctx)?;
            rich.media = Some(Media {
                kind: MediaKind::from_url(&url),
                url,
                filename: None,
            });
        }
        Ok(Reply {
            text,
            buttons,
            template: None,
            rich,
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

    pub(super) fn context_json(&self) -> Map<String, Value> {
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

    pub(super) fn context(&self) -> JValue {
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
