//! The settings admins change on the Settings page (SPEC §9, §12): the lifecycle of
//! `[inactivity]` and `[handoff]`, and the reports' `[sla]` and `[costs]`.
//!
//! `relais.toml` and the `RELAIS__…` environment give the base (read at start). The
//! page's values are kept in the database (store setting [`NAME`], a TOML text shaped
//! like relais.toml, so every node of a PostgreSQL database reads the same), laid over
//! the base and checked by the same rules as the file (`config::lifecycle`, …): a
//! mistake names its key. They win until an admin puts relais.toml's values back;
//! `relais admin export-workspace` writes them into relais.toml.

use crate::config::{self, Error, RawCosts, RawHandoff, RawInactivity, RawSla};
use relais_core::kpi::{Costs, Sla};
use relais_core::lifecycle::Lifecycle;
use serde::Deserialize;

/// The store setting holding the page's values.
pub const NAME: &str = "settings.page";

/// How a field is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `10m`, `1h30m`, `4d`.
    Duration,
    /// A duration, or `off`.
    DurationOrOff,
    /// `true` or `false`.
    Bool,
    /// A number, zero or more.
    Number,
}

/// One setting the page changes: its relais.toml key (`section.key`) and how it is
/// written.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub key: &'static str,
    pub kind: Kind,
}

/// Every setting the page changes, in the page's order.
pub const FIELDS: &[Field] = &[
    Field {
        key: "inactivity.remind",
        kind: Kind::Duration,
    },
    Field {
        key: "inactivity.close",
        kind: Kind::Duration,
    },
    Field {
        key: "handoff.return_after",
        kind: Kind::DurationOrOff,
    },
    Field {
        key: "handoff.auto_close",
        kind: Kind::Duration,
    },
    Field {
        key: "handoff.csat",
        kind: Kind::Bool,
    },
    Field {
        key: "sla.first_response",
        kind: Kind::Duration,
    },
    Field {
        key: "costs.per_conversation",
        kind: Kind::Number,
    },
    Field {
        key: "costs.agent_hour",
        kind: Kind::Number,
    },
];

const SECTIONS: [&str; 4] = ["inactivity", "handoff", "sla", "costs"];

/// What the page's settings decide, as the server uses them.
#[derive(Debug, Clone)]
pub struct Tunable {
    pub lifecycle: Lifecycle,
    pub costs: Option<Costs>,
    pub sla: Sla,
    /// The page's values (empty: relais.toml's hold).
    pub page: toml::Table,
    /// The base and the page laid over it: what each field shows.
    merged: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTunable {
    #[serde(default)]
    inactivity: RawInactivity,
    #[serde(default)]
    handoff: RawHandoff,
    #[serde(default)]
    sla: RawSla,
    #[serde(default)]
    costs: RawCosts,
}

/// The sections of a relais.toml table the page can change (the base it lays over).
pub fn sections(table: &toml::Table) -> toml::Table {
    table
        .iter()
        .filter(|(k, _)| SECTIONS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The page's `page` values laid over `base`, checked as relais.toml is.
pub fn resolve(base: &toml::Table, page: &toml::Table) -> Result<Tunable, Error> {
    let mut merged = base.clone();
    for (section, values) in page {
        let Some(values) = values.as_table() else {
            return Err(config::key_err(section, "must be a table"));
        };
        let into = merged
            .entry(section.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let Some(into) = into.as_table_mut() else {
            return Err(config::key_err(section, "must be a table"));
        };
        for (k, v) in values {
            into.insert(k.clone(), v.clone());
        }
    }
    let raw: RawTunable = serde_path_to_error::deserialize(toml::Value::Table(merged.clone()))
        .map_err(|e| {
            let key = e.path().to_string();
            config::key_err(&key, e.into_inner().to_string().trim())
        })?;
    Ok(Tunable {
        lifecycle: config::lifecycle(raw.inactivity, raw.handoff)?,
        costs: config::reports_costs(&raw.costs)?,
        sla: config::reports_sla(raw.sla)?,
        page: page.clone(),
        merged,
    })
}

/// The page's values from a form: a field left empty, or as relais.toml (or the
/// default) has it, keeps relais.toml's value.
pub fn from_form<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
    file: &Tunable,
) -> Result<toml::Table, Error> {
    let mut page = toml::Table::new();
    for f in FIELDS {
        let Some(text) = get(f.key).map(str::trim).filter(|t| !t.is_empty()) else {
            continue;
        };
        if text == file.value(f.key) {
            continue;
        }
        let value = match f.kind {
            Kind::Duration | Kind::DurationOrOff => toml::Value::String(text.to_owned()),
            Kind::Bool => match text {
                "true" | "on" | "yes" => toml::Value::Boolean(true),
                "false" | "off" | "no" => toml::Value::Boolean(false),
                _ => return Err(config::key_err(f.key, "must be true or false")),
            },
            Kind::Number => match text.replace(',', ".").parse::<f64>() {
                Ok(n) if n.is_finite() => toml::Value::Float(n),
                _ => return Err(config::key_err(f.key, format!("{text:?} is not a number"))),
            },
        };
        let (section, key) = split(f.key);
        page.entry(section.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .map(|t| t.insert(key.to_owned(), value));
    }
    Ok(page)
}

fn split(key: &str) -> (&str, &str) {
    key.split_once('.').unwrap_or((key, ""))
}

impl Tunable {
    /// The field's value as the page shows it and relais.toml writes it; empty when
    /// neither the file nor the page sets it (the default holds).
    pub fn shown(&self, key: &str) -> String {
        let (section, k) = split(key);
        match self.merged.get(section).and_then(|s| s.get(k)) {
            Some(toml::Value::String(s)) => s.clone(),
            Some(toml::Value::Float(f)) => f.to_string(),
            Some(v) => value_text(v),
            None => String::new(),
        }
    }

    /// The field's value in force, as the page shows it: set, or the default.
    pub fn value(&self, key: &str) -> String {
        let shown = self.shown(key);
        if !shown.is_empty() {
            return shown;
        }
        let life = &self.lifecycle;
        match key {
            "inactivity.remind" => life.remind_after.to_string(),
            "inactivity.close" => life.close_after.to_string(),
            "handoff.return_after" => life
                .return_after
                .map_or_else(|| "off".into(), |d| d.to_string()),
            "handoff.auto_close" => life.auto_close.to_string(),
            "handoff.csat" => life.csat.to_string(),
            _ => String::new(),
        }
    }

    /// Whether the page (not relais.toml) sets this field.
    pub fn from_page(&self, key: &str) -> bool {
        let (section, k) = split(key);
        self.page.get(section).and_then(|s| s.get(k)).is_some()
    }
}

/// The page's values as kept in the database: relais.toml's shape.
pub fn to_text(page: &toml::Table) -> String {
    write_into("", page)
}

/// A value as TOML writes it (the page's values are strings, booleans and numbers).
fn value_text(v: &toml::Value) -> String {
    match v {
        // A JSON string is a TOML basic string.
        toml::Value::String(s) => serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()),
        toml::Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.1}"),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// The page's values read back from the database (an unreadable text is an error
/// naming the setting).
pub fn parse(text: &str) -> Result<toml::Table, Error> {
    text.parse::<toml::Table>()
        .map_err(|e| config::key_err(NAME, e.to_string().trim().replace('\n', " ")))
}

/// `relais.toml`'s text with the page's values written in: each key replaced on its
/// line inside its section, or added under the section's header, or in a new section
/// at the end. Comments and everything else stay as they are.
pub fn write_into(text: &str, page: &toml::Table) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for (section, values) in page {
        let Some(values) = values.as_table() else {
            continue;
        };
        for (key, value) in values {
            let line = format!("{key} = {}", value_text(value));
            set_line(&mut lines, section, key, line);
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Where a line's comment starts (a `#` outside a string), if it has one.
fn comment_at(line: &str) -> Option<usize> {
    let (mut quote, mut escaped) = (None, false);
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some('"'), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(q), c) if c == q && !escaped => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => return Some(i),
            _ => {}
        }
        escaped = false;
    }
    None
}

/// A line without its comment.
fn code(line: &str) -> &str {
    comment_at(line).map_or(line, |i| &line[..i])
}

fn set_line(lines: &mut Vec<String>, section: &str, key: &str, line: String) {
    let header = format!("[{section}]");
    let Some(start) = lines.iter().position(|l| code(l).trim() == header) else {
        if lines.last().is_some_and(|l| !l.trim().is_empty()) {
            lines.push(String::new());
        }
        lines.push(header);
        lines.push(line);
        return;
    };
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with('['))
        .map_or(lines.len(), |i| start + 1 + i);
    let is_key = |l: &str| {
        let t = code(l).trim_start();
        t.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    };
    match (start + 1..end).find(|&i| is_key(&lines[i])) {
        Some(i) => {
            // The line's comment stays, where it was when the new value fits before it.
            lines[i] = match comment_at(&lines[i]) {
                Some(at) => {
                    let comment = lines[i][at..].to_owned();
                    let width = lines[i][..at].chars().count().max(line.chars().count() + 1);
                    format!("{line:<width$}{comment}")
                }
                None => line,
            }
        }
        None => lines.insert(start + 1, line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_core::Duration;

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn the_page_lays_over_the_file_and_is_checked_by_the_files_rules() {
        let base = sections(&table(
            "[server]\nlisten = \"127.0.0.1:1\"\n[inactivity]\nremind = \"5m\"\nclose = \"20m\"\n",
        ));
        assert!(base.get("server").is_none(), "only the page's sections");
        let t = resolve(&base, &toml::Table::new()).unwrap();
        assert_eq!(t.lifecycle.remind_after, Duration::minutes(5));
        assert_eq!(t.shown("inactivity.remind"), "5m");
        assert!(!t.from_page("inactivity.remind"));
        assert_eq!(t.shown("handoff.auto_close"), "", "the default holds");

        let file = resolve(&base, &toml::Table::new()).unwrap();
        let page = from_form(
            |k| match k {
                "inactivity.remind" => Some("15m"),
                "inactivity.close" => Some(" 1h "),
                "handoff.return_after" => Some("off"),
                "handoff.auto_close" => Some("4d"),
                "handoff.csat" => Some("false"),
                "costs.agent_hour" => Some("32,5"),
                _ => Some(""),
            },
            &file,
        )
        .unwrap();
        assert!(
            page["handoff"].get("auto_close").is_none(),
            "a value as the file (here the default) has it stays the file's"
        );
        let t = resolve(&base, &page).unwrap();
        assert_eq!(t.lifecycle.remind_after, Duration::minutes(15));
        assert_eq!(t.lifecycle.close_after, Duration::hours(1));
        assert_eq!(t.lifecycle.return_after, None);
        assert!(!t.lifecycle.csat);
        assert_eq!(t.costs.unwrap().agent_hour, 32.5);
        assert!(t.from_page("inactivity.remind") && !t.from_page("sla.first_response"));
        // Kept as text and read back the same.
        assert_eq!(parse(&to_text(&page)).unwrap(), page);

        // The file's rules: close after remind, durations, numbers.
        let bad = |k: &'static str, v: &'static str| {
            let page = from_form(|key| (key == k).then_some(v), &file);
            match page {
                Err(e) => e.to_string(),
                Ok(p) => resolve(&base, &p).unwrap_err().to_string(),
            }
        };
        assert!(bad("inactivity.remind", "30m").contains("inactivity.close"));
        assert!(bad("handoff.auto_close", "soon").contains("handoff.auto_close"));
        assert!(bad("costs.per_conversation", "-1").contains("costs.per_conversation"));
        assert!(bad("costs.agent_hour", "lots").contains("costs.agent_hour"));
        assert!(bad("handoff.csat", "maybe").contains("handoff.csat"));
    }

    #[test]
    fn the_pages_values_are_written_into_relais_toml_keeping_the_rest() {
        let file = "# Acme\n[server]\nlisten = \"0.0.0.0:8080\"\n\n[inactivity]\n# ask early\nremind = \"5m\"\nclose = \"20m\"\n\n[outbox]\nmax_attempts = 5\n";
        let page = table(
            "[inactivity]\nremind = \"15m\"\n[handoff]\ncsat = false\n[costs]\nagent_hour = 30.0\n",
        );
        let out = write_into(file, &page);
        assert!(out.starts_with("# Acme\n[server]\n"), "{out}");
        assert!(
            out.contains("# ask early\nremind = \"15m\"\nclose = \"20m\""),
            "{out}"
        );
        let read = table(&out);
        assert_eq!(read["inactivity"]["remind"].as_str(), Some("15m"));
        assert_eq!(read["handoff"]["csat"].as_bool(), Some(false));
        assert_eq!(read["costs"]["agent_hour"].as_float(), Some(30.0));
        assert_eq!(read["outbox"]["max_attempts"].as_integer(), Some(5));
        // Written again: nothing moves.
        assert_eq!(write_into(&out, &page), out);
        // Comments after a header or a value stay.
        let commented = "[inactivity]   # silent customers\nremind = \"10m\"   # asked # once\nclose = \"30m\"\n";
        let out = write_into(commented, &page);
        assert!(
            out.starts_with(
                "[inactivity]   # silent customers\nremind = \"15m\"   # asked # once\n"
            ),
            "{out}"
        );
        assert_eq!(table(&out)["inactivity"]["remind"].as_str(), Some("15m"));
        // From nothing.
        let fresh = table(&write_into("", &page));
        assert_eq!(fresh["inactivity"]["remind"].as_str(), Some("15m"));
    }
}
