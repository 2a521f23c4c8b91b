//! Reading a flow file: YAML [`Node`]s into the typed [`Flow`] of `model`, collecting every
//! problem into [`Diags`] with its position instead of stopping at the first. Unknown keys
//! are errors. Graph checks (unknown or unreachable steps) live in `check`.

use crate::diag::Diags;
use crate::model::*;
use crate::yaml::{self, Node, Pos, Value};
use relais_core::Duration;
use relais_core::conversation::Priority;
use std::collections::HashMap;

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

/// Reads a map's keys one by one; what is left at [`MapReader::finish`] is unknown.
pub(crate) struct MapReader<'a> {
    node: &'a Node,
    what: &'a str,
    entries: Vec<(&'a Node, &'a Node, bool)>,
}

impl<'a> MapReader<'a> {
    pub(crate) fn new(node: &'a Node, what: &'a str, diags: &mut Diags) -> Option<Self> {
        let Some(entries) = node.as_map() else {
            diags.error(
                node.pos,
                format!("{what} must be a map, not {}", node.kind()),
            );
            return None;
        };
        Some(MapReader {
            node,
            what,
            entries: entries.iter().map(|(k, v)| (k, v, false)).collect(),
        })
    }

    pub(crate) fn take(&mut self, key: &str) -> Option<&'a Node> {
        for e in &mut self.entries {
            if !e.2 && e.0.as_str() == Some(key) {
                e.2 = true;
                return Some(e.1);
            }
        }
        None
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|e| e.0.as_str() == Some(key))
    }

    /// The value under `key`; its absence is reported as "<what> needs `key`".
    pub(crate) fn required(&mut self, key: &str, diags: &mut Diags) -> Option<&'a Node> {
        let n = self.take(key);
        if n.is_none() {
            diags.error(self.node.pos, format!("{} needs `{key}`", self.what));
        }
        n
    }

    pub(crate) fn required_str(&mut self, key: &str, diags: &mut Diags) -> Option<String> {
        self.required(key, diags)
            .and_then(|n| scalar(n, key, diags))
    }

    pub(crate) fn optional_str(&mut self, key: &str, diags: &mut Diags) -> Option<String> {
        self.take(key).and_then(|n| scalar(n, key, diags))
    }

    pub(crate) fn finish(self, diags: &mut Diags) {
        for (k, _, used) in self.entries {
            if !used {
                diags.error(
                    k.pos,
                    format!(
                        "unknown key {:?} in {}",
                        k.as_str().unwrap_or("?"),
                        self.what
                    ),
                );
            }
        }
    }
}

pub(crate) fn scalar(n: &Node, what: &str, diags: &mut Diags) -> Option<String> {
    match n.as_str() {
        Some(s) if !n.is_null() => Some(s.to_owned()),
        _ => {
            diags.error(n.pos, format!("`{what}` must be text, not {}", n.kind()));
            None
        }
    }
}

fn strings(n: &Node, what: &str, diags: &mut Diags) -> Vec<String> {
    match &n.value {
        Value::Seq(items) => items
            .iter()
            .filter_map(|i| scalar(i, what, diags))
            .collect(),
        Value::Scalar { .. } => scalar(n, what, diags).into_iter().collect(),
        Value::Map(_) => {
            diags.error(n.pos, format!("`{what}` must be a list, not a map"));
            Vec::new()
        }
    }
}

fn target(n: &Node, what: &str, diags: &mut Diags) -> Option<Target> {
    scalar(n, what, diags).map(|step| Target { step, pos: n.pos })
}

pub(crate) fn duration(n: &Node, what: &str, diags: &mut Diags) -> Option<Duration> {
    let text = scalar(n, what, diags)?;
    match Duration::parse(&text) {
        Ok(d) => Some(d),
        Err(e) => {
            diags.error(n.pos, format!("`{what}`: {e}"));
            None
        }
    }
}

fn uint(n: &Node, what: &str, diags: &mut Diags) -> Option<u32> {
    let text = scalar(n, what, diags)?;
    match text.parse::<u32>() {
        Ok(v) => Some(v),
        Err(_) => {
            diags.error(
                n.pos,
                format!("`{what}` must be a whole number, not {text:?}"),
            );
            None
        }
    }
}

fn boolean(n: &Node, what: &str, diags: &mut Diags) -> Option<bool> {
    match n.to_json() {
        serde_json::Value::Bool(b) => Some(b),
        _ => {
            diags.error(
                n.pos,
                format!(
                    "`{what}` must be true or false, not {}",
                    n.as_str()
                        .map_or_else(|| n.kind().to_owned(), |s| format!("{s:?}"))
                ),
            );
            None
        }
    }
}

fn tpl(n: &Node, what: &str, diags: &mut Diags) -> Option<Tpl> {
    scalar(n, what, diags).map(|source| Tpl { source, pos: n.pos })
}

fn expr(n: &Node, what: &str, diags: &mut Diags) -> Option<Expr> {
    scalar(n, what, diags).map(|source| Expr { source, pos: n.pos })
}

fn pattern(n: &Node, what: &str, diags: &mut Diags) -> Option<Pattern> {
    let source = scalar(n, what, diags)?;
    match regex::RegexBuilder::new(&source)
        .size_limit(1 << 20)
        .build()
    {
        Ok(regex) => Some(Pattern { source, regex }),
        Err(e) => {
            let why = e.to_string();
            let why = why.lines().last().unwrap_or_default().trim().to_owned();
            diags.error(n.pos, format!("bad regex {source:?} in `{what}`: {why}"));
            None
        }
    }
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

/// A message: a string, a map of language → string, or `{text, buttons, list, media}`.
pub(crate) fn msg(n: &Node, what: &str, diags: &mut Diags) -> Option<Msg> {
    let plain = |text| Msg {
        text,
        buttons: Vec::new(),
        list: Vec::new(),
        media: None,
        pos: n.pos,
    };
    match &n.value {
        Value::Scalar { .. } => tpl(n, what, diags).map(|t| plain(Text::One(t))),
        Value::Seq(_) => {
            diags.error(n.pos, format!("`{what}` must be text, a map of language to text, or {{text, buttons}}; not a list"));
            None
        }
        Value::Map(_) => {
            let is_full = ["text", "buttons", "list", "media"]
                .iter()
                .any(|k| n.get(k).is_some());
            if !is_full {
                return per_language(n, what, diags).map(plain);
            }
            let label = format!("the message `{what}`");
            let mut r = MapReader::new(n, &label, diags)?;
            let text = r.required("text", diags).and_then(|t| text(t, what, diags));
            let list = r
                .take("list")
                .map(|b| buttons(b, diags))
                .unwrap_or_default();
            let buttons = r
                .take("buttons")
                .map(|b| buttons(b, diags))
                .unwrap_or_default();
            let media = r.take("media").and_then(|m| tpl(m, "media", diags));
            r.finish(diags);
            if buttons.len() > 10 {
                diags.error(
                    n.pos,
                    format!(
                        "the message `{what}` has {} buttons; at most 10",
                        buttons.len()
                    ),
                );
            }
            Some(Msg {
                text: text?,
                buttons,
                list,
                media,
                pos: n.pos,
            })
        }
    }
}

fn text(n: &Node, what: &str, diags: &mut Diags) -> Option<Text> {
    match &n.value {
        Value::Map(_) => per_language(n, what, diags),
        _ => tpl(n, what, diags).map(Text::One),
    }
}

fn per_language(n: &Node, what: &str, diags: &mut Diags) -> Option<Text> {
    let mut out = Vec::new();
    for (k, v) in n.as_map().unwrap_or_default() {
        let Some(lang) = k.as_str() else { continue };
        if !(lang.len() == 2 && lang.chars().all(|c| c.is_ascii_lowercase())) {
            diags.error(
                k.pos,
                format!("{lang:?} in `{what}` is not a two-letter language code (fr, en, it…)"),
            );
            continue;
        }
        if let Some(t) = tpl(v, what, diags) {
            out.push((lang.to_owned(), t));
        }
    }
    if out.is_empty() {
        diags.error(n.pos, format!("`{what}` has no text"));
        return None;
    }
    Some(Text::PerLanguage(out))
}

fn buttons(n: &Node, diags: &mut Diags) -> Vec<Button> {
    let Some(items) = n.as_seq() else {
        diags.error(n.pos, format!("`buttons` must be a list, not {}", n.kind()));
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        match &item.value {
            Value::Scalar { .. } => {
                if let Some(t) = tpl(item, "buttons", diags) {
                    out.push(Button {
                        id: t.source.clone(),
                        title: Text::One(t),
                    });
                }
            }
            Value::Map(_) => {
                let Some(mut r) = MapReader::new(item, "a button", diags) else {
                    continue;
                };
                let id = r.required_str("id", diags);
                let title = r.take("title").and_then(|t| text(t, "title", diags));
                r.finish(diags);
                if let Some(id) = id {
                    let title = title.unwrap_or_else(|| {
                        Text::One(Tpl {
                            source: id.clone(),
                            pos: item.pos,
                        })
                    });
                    out.push(Button { id, title });
                }
            }
            Value::Seq(_) => diags.error(item.pos, "a button must be text or {id, title}"),
        }
    }
    out
}

const ACTIONS: [&str; 11] = [
    "say", "ask", "branch", "http", "set", "template", "handoff", "answer", "wait", "goto",
    "resolve",
];

fn step(name: &str, pos: Pos, n: &Node, diags: &mut Diags) -> Option<Step> {
    let what = format!("the step {name:?}");
    let mut r = MapReader::new(n, &what, diags)?;
    let present: Vec<&str> = ACTIONS.iter().copied().filter(|a| r.has(a)).collect();
    if present.len() != 1 {
        if present.is_empty() {
            diags.error(
                pos,
                format!(
                    "{what} has no action; give it one of {}",
                    ACTIONS.join(", ")
                ),
            );
        } else {
            diags.error(
                pos,
                format!(
                    "{what} has {} actions ({}); a step holds exactly one",
                    present.len(),
                    present.join(", ")
                ),
            );
        }
        // Still report unknown keys.
        for a in ACTIONS {
            r.take(a);
        }
        r.take("next");
        r.finish(diags);
        return None;
    }
    let kind = present[0];
    let body = r.take(kind)?;
    let next = r.take("next").and_then(|t| target(t, "next", diags));
    r.finish(diags);
    let action = match kind {
        "say" => Action::Say(msg(body, "say", diags)?),
        "ask" => Action::Ask(Box::new(ask(body, diags)?)),
        "branch" => Action::Branch(branch(body, diags)?),
        "http" => Action::Http(Box::new(http(body, diags)?)),
        "set" => Action::Set(set(body, diags)?),
        "template" => Action::Template(template(body, diags)?),
        "handoff" => Action::Handoff(handoff(body, diags)?),
        "answer" => Action::Answer(answer(body, diags)?),
        "wait" => Action::Wait(duration(body, "wait", diags)?),
        "goto" => {
            let text = scalar(body, "goto", diags)?;
            let (flow, step) = match text.split_once('#') {
                Some((f, s)) => (f.to_owned(), Some(s.to_owned())),
                None => (text, None),
            };
            Action::Goto {
                flow,
                step,
                pos: body.pos,
            }
        }
        _ => Action::Resolve(resolve(body, diags)?),
    };
    Some(Step {
        name: name.to_owned(),
        pos,
        action,
        next,
    })
}

fn ask(n: &Node, diags: &mut Diags) -> Option<Ask> {
    if n.is_null() {
        return Some(Ask {
            prompt: None,
            save: None,
            expect: None,
            routes: Vec::new(),
            invalid: None,
            otherwise: None,
            timeout: None,
            reminders: Vec::new(),
            on_timeout: None,
        });
    }
    let mut r = MapReader::new(n, "`ask`", diags)?;
    let prompt = r.take("prompt").and_then(|p| msg(p, "prompt", diags));
    let save = r.optional_str("save", diags);
    let expect = r.take("expect").and_then(|e| expect(e, diags));
    let routes = r
        .take("routes")
        .map(|x| routes(x, diags))
        .unwrap_or_default();
    let invalid = r.take("invalid").and_then(|m| msg(m, "invalid", diags));
    let otherwise = r.take("else").and_then(|t| target(t, "else", diags));
    let timeout = r
        .take("timeout")
        .and_then(|d| duration(d, "timeout", diags));
    let reminders = r
        .take("reminders")
        .map(|x| reminders(x, diags))
        .unwrap_or_default();
    let on_timeout = r
        .take("on_timeout")
        .and_then(|t| target(t, "on_timeout", diags));
    r.finish(diags);
    if let Some(v) = &save
        && !is_identifier(v)
    {
        diags.error(
            n.get("save").map_or(n.pos, |s| s.pos),
            format!("`save: {v}` must be a variable name (letters, digits, _)"),
        );
    }
    if on_timeout.is_some() && timeout.is_none() {
        diags.error(n.pos, "`on_timeout` needs a `timeout`");
    }
    Some(Ask {
        prompt,
        save,
        expect,
        routes,
        invalid,
        otherwise,
        timeout,
        reminders,
        on_timeout,
    })
}

pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn expect(n: &Node, diags: &mut Diags) -> Option<Expect> {
    let mut r = MapReader::new(n, "`expect`", diags)?;
    let invalid = r.take("invalid").and_then(|m| msg(m, "invalid", diags));
    let kinds = [
        "regex", "text", "number", "email", "phone", "date", "yes_no",
    ];
    let present: Vec<&str> = kinds.iter().copied().filter(|k| r.has(k)).collect();
    let validator = match present.as_slice() {
        [one] => {
            let v = r.take(one)?;
            match *one {
                "regex" => Some(Validator::Regex(pattern(v, "expect.regex", diags)?)),
                k => {
                    if v.as_map().is_none() && !v.is_null() {
                        diags.error(
                            v.pos,
                            format!("`expect.{k}` takes an options map (`{{}}` for none)"),
                        );
                    }
                    Some(match k {
                        "text" => Validator::Text,
                        "number" => Validator::Number,
                        "email" => Validator::Email,
                        "phone" => Validator::Phone,
                        "date" => Validator::Date,
                        _ => Validator::YesNo,
                    })
                }
            }
        }
        [] => {
            diags.error(
                n.pos,
                format!("`expect` needs one validator: {}", kinds.join(", ")),
            );
            None
        }
        many => {
            diags.error(
                n.pos,
                format!(
                    "`expect` has {} validators ({}); give one",
                    many.len(),
                    many.join(", ")
                ),
            );
            None
        }
    };
    for k in kinds {
        r.take(k);
    }
    r.finish(diags);
    Some(Expect {
        validator: validator?,
        invalid,
    })
}

fn routes(n: &Node, diags: &mut Diags) -> Vec<Route> {
    let Some(items) = n.as_seq() else {
        diags.error(n.pos, format!("`routes` must be a list, not {}", n.kind()));
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let Some(mut r) = MapReader::new(item, "a route", diags) else {
            continue;
        };
        let next = r
            .required("next", diags)
            .and_then(|t| target(t, "next", diags));
        let when = r.take("when");
        let m = r.take("match");
        r.finish(diags);
        let matcher = match (m, when) {
            (Some(m), None) => matcher(m, diags),
            (None, Some(w)) => expr(w, "when", diags).map(Matcher::When),
            (Some(_), Some(_)) => {
                diags.error(item.pos, "a route has either `match` or `when`, not both");
                None
            }
            (None, None) => {
                diags.error(
                    item.pos,
                    "a route needs `match` (keywords, regex, intent, button or when)",
                );
                None
            }
        };
        if let (Some(matcher), Some(next)) = (matcher, next) {
            out.push(Route {
                matcher,
                next,
                pos: item.pos,
            });
        }
    }
    out
}

fn matcher(n: &Node, diags: &mut Diags) -> Option<Matcher> {
    let mut r = MapReader::new(n, "`match`", diags)?;
    let kinds = ["keywords", "regex", "intent", "button", "when"];
    let present: Vec<&str> = kinds.iter().copied().filter(|k| r.has(k)).collect();
    let out = match present.as_slice() {
        [one] => {
            let v = r.take(one)?;
            match *one {
                "keywords" => {
                    let words = strings(v, "keywords", diags);
                    if words.is_empty() {
                        diags.error(v.pos, "`keywords` is empty");
                    }
                    Some(Matcher::Keywords(words))
                }
                "regex" => pattern(v, "match.regex", diags).map(Matcher::Regex),
                "intent" => scalar(v, "intent", diags).map(Matcher::Intent),
                "button" => Some(Matcher::Button(strings(v, "button", diags))),
                _ => expr(v, "when", diags).map(Matcher::When),
            }
        }
        [] => {
            diags.error(n.pos, format!("`match` needs one of {}", kinds.join(", ")));
            None
        }
        many => {
            diags.error(
                n.pos,
                format!(
                    "`match` has {} kinds ({}); a route matches one way",
                    many.len(),
                    many.join(", ")
                ),
            );
            None
        }
    };
    for k in kinds {
        r.take(k);
    }
    r.finish(diags);
    out
}

fn reminders(n: &Node, diags: &mut Diags) -> Vec<Reminder> {
    let Some(items) = n.as_seq() else {
        diags.error(
            n.pos,
            format!("`reminders` must be a list, not {}", n.kind()),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let Some(mut r) = MapReader::new(item, "a reminder", diags) else {
            continue;
        };
        let after = r
            .required("after", diags)
            .and_then(|d| duration(d, "after", diags));
        let say = r.required("say", diags).and_then(|m| msg(m, "say", diags));
        r.finish(diags);
        if let (Some(after), Some(say)) = (after, say) {
            out.push(Reminder { after, say });
        }
    }
    out
}

fn branch(n: &Node, diags: &mut Diags) -> Option<Vec<Case>> {
    let Some(items) = n.as_seq() else {
        diags.error(
            n.pos,
            format!(
                "`branch` must be a list of {{when, next}}, not {}",
                n.kind()
            ),
        );
        return None;
    };
    let mut out = Vec::new();
    for item in items {
        let Some(mut r) = MapReader::new(item, "a branch case", diags) else {
            continue;
        };
        let when = r
            .required("when", diags)
            .and_then(|w| expr(w, "when", diags));
        let next = r
            .required("next", diags)
            .and_then(|t| target(t, "next", diags));
        r.finish(diags);
        if let (Some(when), Some(next)) = (when, next) {
            out.push(Case { when, next });
        }
    }
    Some(out)
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

fn http(n: &Node, diags: &mut Diags) -> Option<Http> {
    let mut r = MapReader::new(n, "`http`", diags)?;
    let method = r
        .optional_str("method", diags)
        .unwrap_or_else(|| "GET".into());
    if !METHODS.contains(&method.as_str()) {
        diags.error(
            n.get("method").map_or(n.pos, |m| m.pos),
            format!(
                "unknown HTTP method {method:?} (use {})",
                METHODS.join(", ")
            ),
        );
    }
    let url = r.required("url", diags).and_then(|u| tpl(u, "url", diags));
    let mut headers = Vec::new();
    if let Some(h) = r.take("headers") {
        match h.as_map() {
            Some(entries) => {
                for (k, v) in entries {
                    if let (Some(k), Some(v)) = (k.as_str(), tpl(v, "headers", diags)) {
                        headers.push((k.to_owned(), v));
                    }
                }
            }
            None => diags.error(h.pos, format!("`headers` must be a map, not {}", h.kind())),
        }
    }
    let body = r.take("body").map(|b| match &b.value {
        Value::Scalar { .. } => Body::Text(Tpl {
            source: b.as_str().unwrap_or_default().to_owned(),
            pos: b.pos,
        }),
        _ => Body::Json(json_tpl(b)),
    });
    let timeout = r
        .take("timeout")
        .and_then(|d| duration(d, "timeout", diags))
        .unwrap_or(Duration::seconds(10));
    if timeout.0 > 60_000 {
        diags.error(
            n.get("timeout").map_or(n.pos, |t| t.pos),
            format!("`timeout: {timeout}` is longer than the 1m limit"),
        );
    }
    let retries = r
        .take("retries")
        .and_then(|x| uint(x, "retries", diags))
        .unwrap_or(0);
    if retries > 5 {
        diags.error(
            n.get("retries").map_or(n.pos, |t| t.pos),
            format!("`retries: {retries}` is more than the limit of 5"),
        );
    }
    let save = r.optional_str("save", diags);
    let on_error = r
        .take("on_error")
        .and_then(|t| target(t, "on_error", diags));
    r.finish(diags);
    Some(Http {
        method,
        url: url?,
        headers,
        body,
        timeout,
        retries,
        save,
        on_error,
    })
}

fn json_tpl(n: &Node) -> JsonTpl {
    match &n.value {
        Value::Scalar { text, .. } => match n.to_json() {
            serde_json::Value::String(_) => JsonTpl::Str(Tpl {
                source: text.clone(),
                pos: n.pos,
            }),
            other => JsonTpl::Lit(other),
        },
        Value::Seq(items) => JsonTpl::Arr(items.iter().map(json_tpl).collect()),
        Value::Map(entries) => JsonTpl::Obj(
            entries
                .iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), json_tpl(v)))
                .collect(),
        ),
    }
}

fn set(n: &Node, diags: &mut Diags) -> Option<Vec<(String, SetValue)>> {
    let Some(entries) = n.as_map() else {
        diags.error(
            n.pos,
            format!(
                "`set` must be a map of variable names to values, not {}",
                n.kind()
            ),
        );
        return None;
    };
    let mut out = Vec::new();
    for (k, v) in entries {
        let Some(name) = k.as_str() else { continue };
        if !is_identifier(name) {
            diags.error(
                k.pos,
                format!("{name:?} is not a variable name (letters, digits, _)"),
            );
            continue;
        }
        let value = match (&v.value, v.to_json()) {
            (Value::Scalar { text, .. }, serde_json::Value::String(_)) => {
                if text.contains("{{") || text.contains("{%") {
                    SetValue::Template(Tpl {
                        source: text.clone(),
                        pos: v.pos,
                    })
                } else {
                    SetValue::Expr(Expr {
                        source: text.clone(),
                        pos: v.pos,
                    })
                }
            }
            (_, json) => SetValue::Literal(json),
        };
        out.push((name.to_owned(), value));
    }
    Some(out)
}

fn template(n: &Node, diags: &mut Diags) -> Option<TemplateSend> {
    let mut r = MapReader::new(n, "`template`", diags)?;
    let name = r.required_str("name", diags);
    let language = r.take("language").and_then(|l| tpl(l, "language", diags));
    let params = match r.take("params") {
        Some(p) => match p.as_seq() {
            Some(items) => items
                .iter()
                .filter_map(|i| tpl(i, "params", diags))
                .collect(),
            None => {
                diags.error(p.pos, format!("`params` must be a list, not {}", p.kind()));
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    r.finish(diags);
    Some(TemplateSend {
        name: name?,
        language,
        params,
        pos: n.get("name").map_or(n.pos, |x| x.pos),
    })
}

fn handoff(n: &Node, diags: &mut Diags) -> Option<Handoff> {
    let mut h = Handoff {
        team: None,
        priority: Priority::Normal,
        note: None,
        reason: "requested".into(),
        say: None,
    };
    if n.is_null() {
        return Some(h);
    }
    let mut r = MapReader::new(n, "`handoff`", diags)?;
    h.team = r.take("team").and_then(|t| target(t, "team", diags));
    if let Some(p) = r.take("priority")
        && let Some(text) = scalar(p, "priority", diags)
    {
        match Priority::parse(&text) {
            Some(pr) => h.priority = pr,
            None => diags.error(
                p.pos,
                format!("unknown priority {text:?} (use urgent, high, normal or low)"),
            ),
        }
    }
    h.note = r.take("note").and_then(|t| tpl(t, "note", diags));
    if let Some(reason) = r.take("reason")
        && let Some(text) = scalar(reason, "reason", diags)
    {
        if REASONS.contains(&text.as_str()) {
            h.reason = text;
        } else {
            diags.error(
                reason.pos,
                format!(
                    "unknown handoff reason {text:?} (use {})",
                    REASONS.join(", ")
                ),
            );
        }
    }
    h.say = r.take("say").and_then(|m| msg(m, "say", diags));
    r.finish(diags);
    Some(h)
}

fn answer(n: &Node, diags: &mut Diags) -> Option<Answer> {
    if n.is_null() {
        return Some(Answer {
            confirm: None,
            on_no_answer: None,
        });
    }
    let mut r = MapReader::new(n, "`answer`", diags)?;
    let confirm = r.take("confirm").and_then(|m| msg(m, "confirm", diags));
    let on_no_answer = r
        .take("on_no_answer")
        .and_then(|t| target(t, "on_no_answer", diags));
    r.finish(diags);
    Some(Answer {
        confirm,
        on_no_answer,
    })
}

fn resolve(n: &Node, diags: &mut Diags) -> Option<Resolve> {
    let mut out = Resolve {
        say: None,
        csat: false,
    };
    if n.is_null() {
        return Some(out);
    }
    let mut r = MapReader::new(n, "`resolve`", diags)?;
    out.say = r.take("say").and_then(|m| msg(m, "say", diags));
    out.csat = r
        .take("csat")
        .and_then(|b| boolean(b, "csat", diags))
        .unwrap_or(false);
    r.finish(diags);
    Some(out)
}
