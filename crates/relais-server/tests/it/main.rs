//! Black-box tests over real HTTP on loopback: one test binary, topic modules.

mod access;
mod bench;
mod browser;
mod channels;
mod converse;
mod crash;
mod email;
mod events;
mod fallback;
mod flows;
mod handoff;
mod hardening;
mod helpers;
mod input;
mod login;
mod notify;
mod restart;
mod shutdown;
mod sms;
mod ssrf;
mod streams;
mod tls;
mod tokens;
mod totp;
mod web;
mod webchat;
