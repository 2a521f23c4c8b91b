//! The flow engine as the pipeline's [`ConversationHandler`]: it reads the run from the
//! conversation's bot state, steps the [`engine`](crate::engine), and turns the effects
//! into one [`Decision`]. [`Loaded`] holds every flow version, so a conversation finishes
//! on the version it started with; [`FlowHandler`] swaps it atomically on reload.

use crate::engine::{self, ChannelInfo, Effect, Env, Input, Library, Run};
use crate::model::Flow;
use crate::understand::{MessageNlu, Understanding};
use crate::workspace::Workspace;
use relais_core::decision::{ConversationHandler, Decision, HandlerInput, TimerRequest, Trigger};
use relais_core::event::{Actor, Event, EventKind};
use relais_core::ticket::{Action, Resolver};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// What the handler needs to know of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelMeta {
    pub kind: String,
    pub default_flow: Option<String>,
}

/// A loaded workspace with every known flow version.
#[derive(Debug)]
pub struct Loaded {
    pub ws: Arc<Workspace>,
    versions: HashMap<(String, i64), Arc<Flow>>,
    latest: HashMap<String, i64>,
    pub secrets: Map<String, Value>,
    /// Some `ask` of some version masks its reply: only then is a conversation's state
    /// read for it (every message asks).
    masking: bool,
    /// The intent classifier, knowledge base and frustration model, when the workspace
    /// needs them ([`Loaded::understand`]).
    pub understanding: Option<Arc<Understanding>>,
}

impl Loaded {
    /// `versions` maps each published (flow, version) to its definition; the workspace's
    /// own flows are the latest versions given in `current`.
    pub fn new(
        ws: Workspace,
        current: &HashMap<String, i64>,
        older: Vec<(String, i64, Arc<Flow>)>,
        secrets: Map<String, Value>,
    ) -> Loaded {
        let mut versions = HashMap::new();
        let mut latest = HashMap::new();
        for (id, flow) in &ws.flows {
            let v = current.get(id).copied().unwrap_or(1);
            versions.insert((id.clone(), v), flow.clone());
            latest.insert(id.clone(), v);
        }
        for (id, v, flow) in older {
            versions.entry((id, v)).or_insert(flow);
        }
        let masking = versions.values().any(|f| {
            f.steps
                .iter()
                .any(|s| matches!(&s.action, crate::model::Action::Ask(a) if !a.mask.is_empty()))
        });
        Loaded {
            ws: Arc::new(ws),
            versions,
            latest,
            secrets,
            masking,
            understanding: None,
        }
    }

    /// Trains the workspace's understanding when it has intents, articles, or a flow
    /// with the sentiment trigger and `frustration_model` on, with sentence vectors from
    /// `cache`. Otherwise nothing is loaded (no model).
    pub fn understand(self, cache: &mut relais_nlu::vectors::Cache) -> Result<Loaded, String> {
        self.understand_with(cache, crate::understand::Thresholds::default())
    }

    /// Likewise, with `[nlu]`'s thresholds.
    pub fn understand_with(
        mut self,
        cache: &mut relais_nlu::vectors::Cache,
        thresholds: crate::understand::Thresholds,
    ) -> Result<Loaded, String> {
        if crate::understand::needed(&self.ws) {
            self.understanding = Some(Arc::new(Understanding::build(&self.ws, cache, thresholds)?));
        }
        Ok(self)
    }
}

impl Library for Loaded {
    fn get(&self, flow: &str, version: i64) -> Option<Arc<Flow>> {
        self.versions.get(&(flow.to_owned(), version)).cloned()
    }

    fn latest(&self, flow: &str) -> Option<(i64, Arc<Flow>)> {
        let v = *self.latest.get(flow)?;
        Some((v, self.get(flow, v)?))
    }
}

/// The production handler.
pub struct FlowHandler {
    loaded: RwLock<Arc<Loaded>>,
    channels: RwLock<HashMap<String, ChannelMeta>>,
}

impl FlowHandler {
    pub fn new(loaded: Loaded) -> FlowHandler {
        FlowHandler {
            loaded: RwLock::new(Arc::new(loaded)),
            channels: RwLock::new(HashMap::new()),
        }
    }

    pub fn loaded(&self) -> Arc<Loaded> {
        self.loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Swaps in a newly loaded workspace; runs in progress keep their versions.
    pub fn replace(&self, loaded: Loaded) {
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(loaded);
    }

    pub fn set_channels(&self, channels: HashMap<String, ChannelMeta>) {
        *self.channels.write().unwrap_or_else(|p| p.into_inner()) = channels;
    }

    pub fn channel(&self, id: &str) -> Option<ChannelMeta> {
        self.channels
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }
}

impl ConversationHandler for FlowHandler {
    fn decide(&self, input: &HandlerInput<'_>) -> Decision {
        let loaded = self.loaded();
        let meta = self
            .channel(input.conversation.channel.as_str())
            .unwrap_or(ChannelMeta {
                kind: "rest".into(),
                default_flow: None,
            });
        decide(&loaded, &meta, input)
    }

    /// Flows read the conversation, contact, text and button, never the message id.
    fn decides_on_snapshot(&self) -> bool {
        true
    }

    fn masks(
        &self,
        conversation: &relais_core::conversation::Conversation,
    ) -> Vec<relais_core::privacy::Kind> {
        masks(&self.loaded(), conversation)
    }
}

/// The `mask` of the `ask` the conversation waits on, if any (the server's store and
/// `relais test` both ask here).
pub fn masks(
    loaded: &Loaded,
    conversation: &relais_core::conversation::Conversation,
) -> Vec<relais_core::privacy::Kind> {
    if !loaded.masking {
        return Vec::new();
    }
    let Ok(run) = serde_json::from_value::<Run>(conversation.bot_state.clone()) else {
        return Vec::new();
    };
    if run.waiting != crate::engine::Waiting::Reply {
        return Vec::new();
    }
    let Some(flow) = loaded.get(&run.flow, run.version) else {
        return Vec::new();
    };
    match flow.index.get(&run.step).map(|i| &flow.steps[*i].action) {
        Some(crate::model::Action::Ask(ask)) => ask.mask.clone(),
        _ => Vec::new(),
    }
}

/// One step of a conversation on a loaded workspace.
pub fn decide(loaded: &Loaded, channel: &ChannelMeta, input: &HandlerInput<'_>) -> Decision {
    let run: Option<Run> = serde_json::from_value(input.conversation.bot_state.clone()).ok();
    let said = match &input.trigger {
        Trigger::Message { text, .. } => *text,
        _ => "",
    };
    let nlu = MessageNlu::new(loaded.understanding.as_deref(), said);
    let env = Env {
        ws: &loaded.ws,
        library: loaded,
        contact: input.contact,
        conversation: input.conversation,
        channel: ChannelInfo {
            id: input.conversation.channel.as_str(),
            kind: &channel.kind,
            default_flow: channel.default_flow.as_deref(),
        },
        now: input.now,
        secrets: &loaded.secrets,
        nlu: &nlu,
        queue: input.queue,
    };
    let engine_input = match &input.trigger {
        Trigger::Message { text, button, .. } => Input::Message {
            text,
            button: *button,
        },
        Trigger::Timer { name, payload } => Input::Timer { name, payload },
        Trigger::Http(r) => Input::Http(r),
        Trigger::Event { name, data } => Input::Event { name, data },
    };
    let out = engine::step(run, &engine_input, &env);
    let mut d = to_decision(out, input);
    if let Some(data) = nlu.event_data() {
        d.events.insert(
            0,
            Event::new(EventKind::MessageUnderstood, Actor::Bot, input.now, data),
        );
    }
    d
}

/// Turns effects into a decision. A timer cancelled and scheduled again in one step is
/// simply scheduled (the store replaces it); one scheduled then cancelled is dropped.
pub fn to_decision(out: engine::Output, input: &HandlerInput<'_>) -> Decision {
    let mut d = Decision::default();
    let mut timers: Vec<(String, Option<TimerRequest>)> = Vec::new();
    let mut position = None;
    for e in out.effects {
        match e {
            Effect::Send(r) => d.replies.push(r),
            Effect::Schedule(t) => {
                timers.retain(|(n, _)| *n != t.name);
                timers.push((t.name.clone(), Some(t)));
            }
            Effect::Cancel(name) => {
                timers.retain(|(n, _)| *n != name);
                timers.push((name, None));
            }
            Effect::Http(call) => d.http = Some(call),
            Effect::Handoff(h) => {
                d.ticket = Some(Action::Escalate);
                let mut ev = Event::new(
                    EventKind::Escalated,
                    Actor::Bot,
                    input.now,
                    json!({ "reason": h.reason, "team": h.team, "priority": h.priority.as_str(), "after_hours": h.after_hours }),
                );
                ev.flow.clone_from(&position);
                d.events.push(ev);
                d.handoff = Some(h);
            }
            Effect::Resolve { csat } => {
                d.ticket = Some(Action::Solve(Resolver::Bot));
                d.csat = csat;
            }
            Effect::Entered(p) => {
                let mut ev = Event::new(EventKind::StepEntered, Actor::Bot, input.now, json!({}));
                ev.flow = Some(p.clone());
                d.events.push(ev);
                position = Some(p);
            }
            Effect::Warning(w) => {
                let mut ev = Event::new(
                    EventKind::FlowWarning,
                    Actor::Bot,
                    input.now,
                    json!({ "warning": w }),
                );
                ev.flow.clone_from(&position);
                d.events.push(ev);
            }
        }
    }
    for (name, t) in timers {
        match t {
            Some(t) => d.schedule.push(t),
            None => d.cancel.push(name),
        }
    }
    d.bot_state = Some(match out.run {
        Some(run) => serde_json::to_value(run).unwrap_or_else(|_| json!({})),
        None => json!({}),
    });
    d
}
