//! A conversation in memory: the same [`handler`](crate::handler) as production, with
//! the ticket, timers and HTTP calls kept in plain values and a clock moved by hand. It
//! drives `relais test` and `relais simulate`; it needs no server and no network.

use crate::engine::Run;
use crate::handler::{ChannelMeta, Loaded, decide};
use relais_core::contact::Contact;
use relais_core::conversation::Conversation;
use relais_core::decision::{
    Decision, HandlerInput, Handoff, HttpCall, HttpResult, Reply, Trigger,
};
use relais_core::event::Actor;
use relais_core::id::{ChannelId, ContactId, ConversationId, MessageId};
use relais_core::step;
use relais_core::ticket::Status;
use relais_core::{Duration, Timestamp, window};
use serde_json::Value;
use std::sync::Arc;

/// Answers the `http` calls of a simulated conversation.
pub trait HttpStub {
    /// `Err` when no stub answers this request: the simulation stops with that message.
    fn call(&mut self, call: &HttpCall) -> Result<HttpResult, String>;
}

/// How many `http` results one input may chain before the simulation calls it a loop.
const MAX_HTTP_CHAIN: usize = 32;

pub struct Sim {
    loaded: Arc<Loaded>,
    channel: ChannelMeta,
    pub contact: Contact,
    pub conv: Conversation,
    /// Pending timers: name, due time, payload.
    timers: Vec<(String, Timestamp, Value)>,
    pub now: Timestamp,
    pub last_handoff: Option<Handoff>,
    pub warnings: Vec<String>,
    next_message: i64,
    started: bool,
    /// The contact's last message (the customer-service window's start).
    last_inbound: Option<Timestamp>,
    /// A channel of this kind in channels.yaml has a fallback that can carry what the
    /// window refuses.
    has_fallback: bool,
}

impl Sim {
    pub fn new(loaded: Arc<Loaded>, channel: ChannelMeta, contact: Contact, now: Timestamp) -> Sim {
        let mut conv = Conversation::start(
            ChannelId(format!("test-{}", channel.kind)),
            contact.id,
            None,
            now,
        );
        conv.id = ConversationId(1);
        let has_fallback = loaded
            .ws
            .channels
            .iter()
            .any(|c| c.kind == channel.kind && c.fallback.is_some());
        Sim {
            last_inbound: None,
            has_fallback,
            loaded,
            channel,
            contact,
            conv,
            timers: Vec::new(),
            now,
            last_handoff: None,
            warnings: Vec::new(),
            next_message: 1,
            started: false,
        }
    }

    pub fn run(&self) -> Option<Run> {
        serde_json::from_value(self.conv.bot_state.clone()).ok()
    }

    /// The customer writes (or presses a button).
    pub fn user(
        &mut self,
        text: &str,
        button: Option<&str>,
        http: &mut dyn HttpStub,
    ) -> Result<Vec<Reply>, String> {
        let first = !self.started;
        self.started = true;
        self.last_inbound = Some(self.now);
        if self.conv.status != Status::Bot {
            // The store's rule (reopen; a bot-solved conversation restarts the bot).
            let actor = Actor::Contact(self.conv.contact);
            if step::customer_wrote(&mut self.conv, actor, self.now).is_err() {
                return Ok(Vec::new());
            }
            if self.conv.status != Status::Bot {
                return Ok(Vec::new()); // A human owns the conversation: the bot is silent.
            }
        }
        let id = MessageId(self.next_message);
        self.next_message += 1;
        // As the store does: an `ask` with `mask` sees its reply masked.
        let kinds = crate::handler::masks(&self.loaded, &self.conv);
        let text = relais_core::privacy::mask(text, &kinds);
        self.step(
            Trigger::Message {
                id,
                text: &text,
                first,
                button,
            },
            http,
        )
    }

    /// A proactive event for this contact.
    pub fn event(
        &mut self,
        name: &str,
        data: &Value,
        http: &mut dyn HttpStub,
    ) -> Result<Vec<Reply>, String> {
        self.started = true;
        if self.conv.status != Status::Bot {
            return Err(format!(
                "event {name}: the conversation is {}, owned by a human",
                self.conv.status
            ));
        }
        self.step(Trigger::Event { name, data }, http)
    }

    /// Moves the clock on, firing due timers in order.
    pub fn wait(&mut self, d: Duration, http: &mut dyn HttpStub) -> Result<Vec<Reply>, String> {
        let until = self.now.plus(d);
        let mut replies = Vec::new();
        loop {
            let next = self
                .timers
                .iter()
                .enumerate()
                .filter(|(_, t)| t.1 <= until)
                .min_by_key(|(i, t)| (t.1, *i))
                .map(|(i, _)| i);
            let Some(i) = next else { break };
            let (name, due, payload) = self.timers.remove(i);
            self.now = self.now.max(due);
            if self.conv.status == Status::Bot {
                replies.extend(self.step(
                    Trigger::Timer {
                        name: &name,
                        payload: &payload,
                    },
                    http,
                )?);
            }
        }
        self.now = until;
        Ok(replies)
    }

    fn step(
        &mut self,
        trigger: Trigger<'_>,
        http: &mut dyn HttpStub,
    ) -> Result<Vec<Reply>, String> {
        let mut decision = self.decide(trigger);
        let mut replies = Vec::new();
        for _ in 0..MAX_HTTP_CHAIN {
            let call = decision.http.take();
            replies.extend(self.apply(decision)?);
            let Some(call) = call else {
                return Ok(replies);
            };
            let result = http.call(&call)?;
            // The watchdog timer never fires here: the result comes back at once.
            decision = self.decide(Trigger::Http(&result));
        }
        Err("more than 32 http calls in a row".into())
    }

    fn decide(&self, trigger: Trigger<'_>) -> Decision {
        decide(
            &self.loaded,
            &self.channel,
            &HandlerInput {
                conversation: &self.conv,
                contact: &self.contact,
                trigger,
                now: self.now,
                queue: &relais_core::decision::NoQueue,
            },
        )
    }

    fn apply(&mut self, mut d: Decision) -> Result<Vec<Reply>, String> {
        for name in &d.cancel {
            self.timers.retain(|t| &t.0 != name);
        }
        for t in &d.schedule {
            self.timers.retain(|x| x.0 != t.name);
            self.timers
                .push((t.name.clone(), t.due_at, t.payload.clone()));
        }
        for e in &d.events {
            if let Some(w) = e.data.get("warning").and_then(Value::as_str) {
                self.warnings.push(w.to_owned());
            }
        }
        // What the decision does to the conversation: the store's rule, not a copy.
        if let Some(h) = &d.handoff {
            self.last_handoff = Some(h.clone());
        }
        // The channel's window, as the outbox applies it (SPEC §6, §14).
        for r in &d.replies {
            let rule = window::Outgoing {
                template: r.rich.template.is_some(),
                by_agent: false,
            };
            if let window::Carry::Closed { reason } =
                window::carry(&self.channel.kind, self.last_inbound, self.now, rule)
                && !self.has_fallback
            {
                return Err(format!(
                    "the bot's message {:?} could not be sent: {reason}, and no channel of kind {} has a fallback",
                    r.text, self.channel.kind
                ));
            }
        }
        let applied = step::apply_bot_decision(&mut self.conv, &self.contact, &mut d, self.now)
            .map_err(|e| format!("the bot asked for {:?}: {e}", d.ticket))?;
        // What the customer sees: beyond the channel's button limits, numbered text.
        for r in &mut d.replies {
            if relais_core::rich::shown(&self.channel.kind, &r.text, &r.rich, &r.buttons)
                == relais_core::rich::Shown::Numbered
            {
                r.text = relais_core::rich::numbered(&r.text, &r.buttons);
            }
        }
        if let Some(language) = applied.contact_language {
            self.contact.language = Some(language);
        }
        Ok(d.replies)
    }
}

/// The contact's id in a simulation.
pub const CONTACT: ContactId = ContactId(1);
