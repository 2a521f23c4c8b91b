//! The Relais domain, pure: data types of SPEC §1–2 and the decisions taken on them.
//!
//! This crate never does I/O: no async runtime, no database, no HTTP, no clock.
//! Time comes in as a [`time::Timestamp`] value; effects go out as data
//! ([`decision::Decision`]) that the runtime executes.

pub mod access;
pub mod agent;
pub mod consent;
pub mod contact;
pub mod conversation;
pub mod decision;
pub mod event;
pub mod greeting;
pub mod id;
pub mod kpi;
pub mod lifecycle;
pub mod message;
pub mod privacy;
pub mod rich;
pub mod routing;
pub mod step;
pub mod ticket;
pub mod time;
pub mod window;

pub use decision::{ConversationHandler, Decision, HandlerInput, Trigger};
pub use time::{Duration, Timestamp};
