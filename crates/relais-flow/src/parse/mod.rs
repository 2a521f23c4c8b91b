//! Reading a flow file: YAML [`Node`]s into the typed [`Flow`] of `model`, collecting every
//! problem into [`Diags`] with its position instead of stopping at the first. Unknown keys
//! are errors. Graph checks (unknown or unreachable steps) live in `check`.
//!
//! This file reads the top level (the flow, its trigger and settings); steps are read in
//! `steps`, `ask` in `ask`, messages in `message`, and the shared readers are in `reader`.

mod ask;
mod message;
mod reader;
mod steps;

pub(crate) use message::msg;
pub(crate) use reader::{MapReader, duration, is_identifier, scalar};

use crate::diag::Diags;
use crate::model::*;
use crate::yaml::{self, Node};
use reader::{boolean, strings, target, uint};
use std::collections::HashMap;
use steps::step;

/// Parses one flow file. `None` when it is too broken to be a flow at all; the reasons
/// are in `diags` either way.
pub fn flow(source: &str, diags: &mut Diags) -> Option<Flow> {
    let root = match yaml::parse(source) {
        Ok(root) => root,
        Err(e) => {
            diags.error(e.pos, e.message);
            return None;
        }
    };
    flow_from_node(&root, diags)
}

// Long by design: one block per top-level key of a flow file, every fault reported.
pub fn flow_from_node(root: &Node, diags: &mut Diags) -> Option<Flow> {
    let file = diags.file.clone();
    let mut r = MapReader::new(root, "the flow file", diags)?;
    let id = r.required_str("flow", diags);
    let name = r.optional_str("name", diags);
    let language = r
        .optional_str("language", diags)
        .unwrap_or_else(|| "en".into());
    let trigger = match r.take("trigger") {
        Some(n) => trigger(n, diags),
        None => FlowTrigger {
            on: TriggerOn::Message,
            channels: Vec::new(),
        },
    };
    let vars = match r.take("vars") {
        Some(n) if n.as_map().is_some() => n.to_json().as_object().cloned().unwrap_or_default(),
        Some(n) => {
            diags.error(
                n.pos,
                format!("`vars` must be a map of names to values, not {}", n.kind()),
            );
            Default::default()
        }
        None => Default::default(),
    };
    let settings = r
        .take("settings")
        .map(|n| settings(n, diags))
        .unwrap_or_default();
    let start = r.take("start").and_then(|n| target(n, "start", diags));
    let steps_node = r.take("steps");
    r.finish(diags);
    let id = id?;
    if !is_slug(&id) {
        diags.error(
            root.get("flow").map_or(root.pos, |n| n.pos),
            format!("the flow id {id:?} must be lowercase letters, digits, `-`, `_` or `.`"),
        );
    }
    let mut steps = Vec::new();
    let mut index = HashMap::new();
    match steps_node.map(|n| (n, n.as_map())) {
        Some((_, Some(entries))) => {
            for (k, v) in entries {
                let Some(name) = k.as_str() else {
                    diags.error(k.pos, "a step name must be text");
                    continue;
                };
                if index.contains_key(name) {
                    diags.error(k.pos, format!("the step {name:?} is defined twice"));
                    continue;
                }
                if let Some(s) = step(name, k.pos, v, diags) {
                    index.insert(name.to_owned(), steps.len());
                    steps.push(s);
                }
            }
        }
        Some((n, None)) => diags.error(
            n.pos,
            format!(
                "`steps` must be a map of step names to steps, not {}",
                n.kind()
            ),
        ),
        None => diags.error(root.pos, "the flow has no `steps`"),
    }
    let start = match start {
        Some(s) => s,
        None => {
            if root.get("start").is_none() {
                diags.error(root.pos, "the flow has no `start` step");
            }
            return None;
        }
    };
    Some(Flow {
        id,
        name,
        language,
        trigger,
        vars,
        settings,
        start,
        steps,
        index,
        file,
    })
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

fn trigger(n: &Node, diags: &mut Diags) -> FlowTrigger {
    let mut t = FlowTrigger {
        on: TriggerOn::Message,
        channels: Vec::new(),
    };
    let Some(mut r) = MapReader::new(n, "`trigger`", diags) else {
        return t;
    };
    if let Some(on) = r.take("on") {
        match scalar(on, "on", diags).as_deref() {
            Some("message") => t.on = TriggerOn::Message,
            Some("api") => t.on = TriggerOn::Api,
            Some(s) if s.starts_with("event:") && s.len() > 6 => {
                t.on = TriggerOn::Event(s[6..].to_owned())
            }
            Some(s) => diags.error(
                on.pos,
                format!("unknown trigger {s:?}: write `message`, `api` or `event:<name>`"),
            ),
            None => {}
        }
    }
    if let Some(c) = r.take("channels") {
        t.channels = strings(c, "channels", diags);
        for (i, kind) in t.channels.iter().enumerate() {
            if !crate::CHANNEL_KINDS.contains(&kind.as_str()) {
                let pos = c.as_seq().and_then(|s| s.get(i)).map_or(c.pos, |n| n.pos);
                diags.error(
                    pos,
                    format!(
                        "unknown channel kind {kind:?} (known: {})",
                        crate::CHANNEL_KINDS.join(", ")
                    ),
                );
            }
        }
    }
    r.finish(diags);
    t
}

fn settings(n: &Node, diags: &mut Diags) -> FlowSettings {
    let mut s = FlowSettings::default();
    let Some(mut r) = MapReader::new(n, "`settings`", diags) else {
        return s;
    };
    s.max_failures = r
        .take("max_failures")
        .and_then(|n| uint(n, "max_failures", diags));
    s.team = r.take("team").and_then(|n| target(n, "team", diags));
    if let Some(t) = r.take("triggers")
        && let Some(mut tr) = MapReader::new(t, "`settings.triggers`", diags)
    {
        let sw = &mut s.triggers;
        for (key, slot) in [
            ("keyword", &mut sw.keyword),
            ("vip", &mut sw.vip),
            ("sensitive", &mut sw.sensitive),
            ("sentiment", &mut sw.sentiment),
        ] {
            if let Some(b) = tr.take(key).and_then(|n| boolean(n, key, diags)) {
                *slot = b;
            }
        }
        tr.finish(diags);
    }
    r.finish(diags);
    s
}
