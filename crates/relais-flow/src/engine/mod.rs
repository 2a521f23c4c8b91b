//! The step engine, a pure function: `(run, input, env) → (run, effects)`. It never does
//! I/O; the runtime executes the [`Effect`]s (in one transaction per step, with `http`
//! outside it) and hands results back as new [`Input`]s. The same inputs give the same
//! effects, so a conversation can be replayed.
//!
//! This file holds the public types and the entry point [`step`]; the step loop is in
//! `run`, replies to an `ask` in `ask`, `http` calls in `http`, rendering in `render`,
//! and handoffs, resolves and flow errors in `handoff`.

mod ask;
mod handoff;
mod http;
mod render;
mod run;

use crate::model::*;
use crate::workspace::Workspace;
use relais_core::Timestamp;
use relais_core::contact::Contact;
use relais_core::conversation::Conversation;
use relais_core::decision::{Handoff as HandoffInfo, HttpCall, HttpResult, Reply, TimerRequest};
use relais_core::event::FlowPosition;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
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

/// What the engine may ask of language understanding about the message it handles. The
/// answers are plain functions of the workspace and the text (computed on first ask).
pub trait Nlu {
    /// The message's intent, `None` when out of scope or when there is no classifier.
    fn intent(&self) -> Option<&str>;
    /// The knowledge base's best article for the message, in `language` when it has
    /// articles in it; `None` when no article scores enough.
    fn answer(&self, language: Option<&str>) -> Option<KbAnswer>;
    /// The frustration model's score of the message (SPEC §4 scale), given the
    /// lexicon's view of it; `None` without a model.
    fn frustration(&self, lexicon: &crate::sentiment::Sentiment) -> Option<f32>;
}

/// An article found for a question.
#[derive(Debug, Clone, PartialEq)]
pub struct KbAnswer {
    pub id: String,
    pub title: String,
    pub body: String,
    pub score: f32,
}

/// No understanding: no intent, no article.
pub struct NoNlu;

impl Nlu for NoNlu {
    fn intent(&self) -> Option<&str> {
        None
    }
    fn answer(&self, _language: Option<&str>) -> Option<KbAnswer> {
        None
    }
    fn frustration(&self, _lexicon: &crate::sentiment::Sentiment) -> Option<f32> {
        None
    }
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
    /// Language understanding of the message being handled (intent, knowledge base).
    pub nlu: &'a dyn Nlu,
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

/// An instant as RFC 3339 text in UTC.
pub fn rfc3339(t: Timestamp) -> String {
    jiff::Timestamp::from_millisecond(t.0).map_or_else(|_| t.0.to_string(), |ts| ts.to_string())
}
