//! The building blocks of reading YAML nodes: [`MapReader`] for maps with known keys,
//! and readers for scalars, lists, durations, numbers, booleans, templates, expressions,
//! regexes and variable names, each reporting its problem into [`Diags`].

use crate::diag::Diags;
use crate::model::*;
use crate::yaml::{Node, Value};
use relais_core::Duration;

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

pub(super) fn strings(n: &Node, what: &str, diags: &mut Diags) -> Vec<String> {
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

pub(super) fn target(n: &Node, what: &str, diags: &mut Diags) -> Option<Target> {
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

pub(super) fn uint(n: &Node, what: &str, diags: &mut Diags) -> Option<u32> {
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

pub(super) fn boolean(n: &Node, what: &str, diags: &mut Diags) -> Option<bool> {
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

pub(super) fn tpl(n: &Node, what: &str, diags: &mut Diags) -> Option<Tpl> {
    scalar(n, what, diags).map(|source| Tpl { source, pos: n.pos })
}

pub(super) fn expr(n: &Node, what: &str, diags: &mut Diags) -> Option<Expr> {
    scalar(n, what, diags).map(|source| Expr { source, pos: n.pos })
}

pub(super) fn pattern(n: &Node, what: &str, diags: &mut Diags) -> Option<Pattern> {
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

pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
