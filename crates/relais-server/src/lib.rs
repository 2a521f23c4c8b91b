//! The Relais server: all I/O. HTTP ([`http`]), channel adapters ([`channel`]), the
//! runtime that moves messages ([`runtime`]: pipeline, timers, outbox), configuration
//! ([`config`]), time ([`clock`]), credentials ([`auth`]), and the `relais` commands.

pub mod app;
pub mod auth;
pub mod bench;
pub mod channel;
pub mod clock;
pub mod config;
pub mod contact_export;
pub mod demo;
pub mod export;
pub mod flowcmd;
pub mod guard;
pub mod html;
pub mod http;
pub mod metrics;
pub mod nlu;
pub mod origin;
pub mod redact;
pub mod runtime;
pub mod tls;
pub mod tunable;
pub mod web;
pub mod workspace;
