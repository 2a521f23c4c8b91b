//! Black-box tests over real HTTP on loopback: one test binary, topic modules.

mod converse;
mod crash;
mod events;
mod flows;
mod helpers;
mod input;
mod restart;
