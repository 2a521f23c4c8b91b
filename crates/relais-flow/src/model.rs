//! The typed definition of a flow file (SPEC §3): a [`Flow`] of named [`Step`]s, each
//! holding one [`Action`]. Text that will be rendered keeps its source and position
//! ([`Tpl`], [`Expr`]) so that checks and runtime warnings can point at it.

use crate::yaml::Pos;
use relais_core::Duration;
use relais_core::conversation::Priority;
use std::collections::HashMap;

/// A template in Jinja syntax, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Tpl {
    pub source: String,
    pub pos: Pos,
}

/// An expression in Jinja syntax (`when`, `set`).
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub source: String,
    pub pos: Pos,
}

/// A reference to a step of the same flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub step: String,
    pub pos: Pos,
}

/// Message text: one template, or one per language.
#[derive(Debug, Clone, PartialEq)]
pub enum Text {
    One(Tpl),
    PerLanguage(Vec<(String, Tpl)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Button {
    pub id: String,
    pub title: Text,
}

/// A message: text, optional buttons or list rows, optional media URL.
#[derive(Debug, Clone, PartialEq)]
pub struct Msg {
    pub text: Text,
    pub buttons: Vec<Button>,
    pub list: Vec<Button>,
    pub media: Option<Tpl>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TriggerOn {
    Message,
    Event(String),
    Api,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FlowTrigger {
    pub on: TriggerOn,
    /// Channel kinds; empty means every kind.
    pub channels: Vec<String>,
}

/// Per-flow switches of the escalation triggers (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriggerSwitches {
    pub keyword: bool,
    pub vip: bool,
    pub sensitive: bool,
    pub sentiment: bool,
}

impl Default for TriggerSwitches {
    fn default() -> Self {
        TriggerSwitches {
            keyword: true,
            vip: true,
            sensitive: true,
            sentiment: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlowSettings {
    pub max_failures: Option<u32>,
    pub team: Option<Target>,
    pub triggers: TriggerSwitches,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub id: String,
    pub name: Option<String>,
    pub language: String,
    pub trigger: FlowTrigger,
    pub vars: serde_json::Map<String, serde_json::Value>,
    pub settings: FlowSettings,
    pub start: Target,
    pub steps: Vec<Step>,
    pub index: HashMap<String, usize>,
    /// The file it came from, for messages.
    pub file: String,
}

impl Flow {
    pub fn step(&self, name: &str) -> Option<&Step> {
        self.index.get(name).and_then(|&i| self.steps.get(i))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: String,
    pub pos: Pos,
    pub action: Action,
    pub next: Option<Target>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Say(Msg),
    Ask(Box<Ask>),
    Branch(Vec<Case>),
    Http(Box<Http>),
    Set(Vec<(String, SetValue)>),
    Template(TemplateSend),
    Handoff(Handoff),
    Answer(Answer),
    Wait(Duration),
    Goto {
        flow: String,
        step: Option<String>,
        pos: Pos,
    },
    Resolve(Resolve),
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Say(_) => "say",
            Action::Ask(_) => "ask",
            Action::Branch(_) => "branch",
            Action::Http(_) => "http",
            Action::Set(_) => "set",
            Action::Template(_) => "template",
            Action::Handoff(_) => "handoff",
            Action::Answer(_) => "answer",
            Action::Wait(_) => "wait",
            Action::Goto { .. } => "goto",
            Action::Resolve(_) => "resolve",
        }
    }

    /// Actions after which the run ends or leaves the flow: they take no `next`.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Action::Handoff(_) | Action::Goto { .. } | Action::Resolve(_) | Action::Answer(_)
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    pub prompt: Option<Msg>,
    pub save: Option<String>,
    /// `mask: [card, iban]`: masked in the reply before it is kept or read.
    pub mask: Vec<relais_core::privacy::Kind>,
    pub expect: Option<Expect>,
    pub routes: Vec<Route>,
    pub invalid: Option<Msg>,
    pub otherwise: Option<Target>,
    pub timeout: Option<Duration>,
    pub reminders: Vec<Reminder>,
    pub on_timeout: Option<Target>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reminder {
    pub after: Duration,
    pub say: Msg,
}

#[derive(Debug, Clone)]
pub enum Matcher {
    Keywords(Vec<String>),
    Regex(Pattern),
    Intent(String),
    Button(Vec<String>),
    When(Expr),
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Matcher::Keywords(a), Matcher::Keywords(b)) => a == b,
            (Matcher::Regex(a), Matcher::Regex(b)) => a == b,
            (Matcher::Intent(a), Matcher::Intent(b)) => a == b,
            (Matcher::Button(a), Matcher::Button(b)) => a == b,
            (Matcher::When(a), Matcher::When(b)) => a == b,
            _ => false,
        }
    }
}

/// A compiled regular expression with its source.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub source: String,
    pub regex: regex::Regex,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub matcher: Matcher,
    pub next: Target,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Validator {
    Regex(Pattern),
    Text,
    Number,
    Email,
    Phone,
    Date,
    YesNo,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    pub validator: Validator,
    pub invalid: Option<Msg>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub when: Expr,
    pub next: Target,
}

/// A JSON body whose string leaves are templates.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonTpl {
    Str(Tpl),
    Lit(serde_json::Value),
    Arr(Vec<JsonTpl>),
    Obj(Vec<(String, JsonTpl)>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Text(Tpl),
    Json(JsonTpl),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Http {
    pub method: String,
    pub url: Tpl,
    pub headers: Vec<(String, Tpl)>,
    pub body: Option<Body>,
    pub timeout: Duration,
    pub retries: u32,
    pub save: Option<String>,
    pub on_error: Option<Target>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    Template(Tpl),
    Expr(Expr),
    Literal(serde_json::Value),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateSend {
    pub name: String,
    pub language: Option<Tpl>,
    pub params: Vec<Tpl>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Handoff {
    pub team: Option<Target>,
    pub priority: Priority,
    pub note: Option<Tpl>,
    pub reason: String,
    pub say: Option<Msg>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub confirm: Option<Msg>,
    pub on_no_answer: Option<Target>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resolve {
    pub say: Option<Msg>,
    pub csat: bool,
}

/// Reasons a handoff may give (SPEC §4).
pub const REASONS: [&str; 8] = [
    "requested",
    "keyword",
    "failed_attempts",
    "sentiment",
    "sensitive",
    "vip",
    "flow_error",
    "after_hours",
];
