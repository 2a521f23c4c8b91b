//! Flows as code, pure (SPEC §3–4, §14): YAML flow files read into typed definitions
//! ([`model`]) with every problem located ([`diag`]), workspace checks ([`check`]),
//! sandboxed templates ([`template`]), the step engine ([`engine`]) and the escalation
//! triggers ([`escalation`]).
//!
//! This crate never does I/O: file texts come in as strings, time as a value, and
//! HTTP calls go out as effects.

pub mod channels;
pub mod check;
pub mod convtest;
pub mod diag;
pub mod engine;
pub mod escalation;
pub mod graph;
pub mod handler;
pub mod hours;
pub mod kb;
pub mod model;
pub mod parse;
pub mod sentiment;
pub mod sim;
pub mod template;
pub mod text;
pub mod understand;
pub mod validate;
pub mod wording;
pub mod workspace;
pub mod yaml;

/// The channel kinds of SPEC §6.
pub const CHANNEL_KINDS: [&str; 8] = [
    "whatsapp",
    "messenger",
    "instagram",
    "telegram",
    "sms",
    "email",
    "webchat",
    "rest",
];
