//! The flow crate at its boundary: SPEC §3 and §14 examples, checks with positions,
//! every action, escalation reasons, timers on the virtual clock, replay determinism
//! and version pinning.

#[path = "flow/actions.rs"]
mod actions;
#[path = "flow/common.rs"]
mod common;
#[path = "flow/escalation.rs"]
mod escalation;
#[path = "flow/runs.rs"]
mod runs;
#[path = "flow/spec.rs"]
mod spec;
#[path = "flow/understanding.rs"]
mod understanding;
