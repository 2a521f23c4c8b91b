//! A workspace folder as data (SPEC §12): its flows, teams, message templates, intents
//! and channels, read from file texts handed in by the caller (this crate never opens a
//! file). [`Workspace::load`] parses and checks everything and returns every finding.

use crate::check;
use crate::diag::{Diag, Diags, Severity};
use crate::escalation::Escalation;
use crate::hours::Hours;
use crate::model::{Flow, TriggerOn};
use crate::parse::{self, MapReader};
use crate::template::{TeamHours, Templates};
use crate::yaml::{self, Node};
use std::collections::HashMap;
use std::sync::Arc;

/// The texts of a workspace's files, by path relative to the workspace.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub flows: Vec<(String, String)>,
    pub teams: Option<(String, String)>,
    pub templates: Option<(String, String)>,
    pub intents: Option<(String, String)>,
    pub channels: Option<(String, String)>,
    /// canned.yaml (as `relais admin export-workspace` writes it).
    pub canned: Option<(String, String)>,
    /// kb/*.md, by path.
    pub kb: Vec<(String, String)>,
    /// Teams created outside the files (through the API); a team of teams.yaml with
    /// the same id wins.
    pub extra_teams: Vec<Team>,
    /// Templates made on the page or through the API; one of templates.yaml with the
    /// same name and language wins.
    pub extra_templates: Vec<MessageTemplate>,
}

#[derive(Debug, Clone)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub assignment: String,
    pub capacity: u32,
    pub hours: Hours,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentDef {
    pub email: String,
    pub name: String,
    pub role: String,
    pub teams: Vec<String>,
}

/// A pre-approved outbound template (WhatsApp HSM) in one language.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageTemplate {
    pub name: String,
    pub language: String,
    pub category: String,
    pub body: String,
    pub buttons: Vec<String>,
}

impl MessageTemplate {
    /// The body with `{{1}}`, `{{2}}`… replaced by `params`; never rendered as a flow template.
    pub fn fill(&self, params: &[String]) -> String {
        let mut out = String::with_capacity(self.body.len());
        let mut rest = self.body.as_str();
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            match after.find("}}") {
                Some(end) => {
                    let key = after[..end].trim();
                    match key.parse::<usize>() {
                        Ok(n) if n >= 1 => {
                            out.push_str(params.get(n - 1).map_or("", String::as_str))
                        }
                        _ => out.push_str(&rest[start..start + 2 + end + 2]),
                    }
                    rest = &after[end + 2..];
                }
                None => {
                    out.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// How many positional parameters the body uses.
    pub fn arity(&self) -> usize {
        (1..=20)
            .take_while(|n| self.body.contains(&format!("{{{{{n}}}}}")))
            .count()
    }
}

pub use crate::channels::ChannelDef;

/// A checked workspace, ready to run.
#[derive(Debug)]
pub struct Workspace {
    pub flows: HashMap<String, Arc<Flow>>,
    pub teams: Vec<Team>,
    pub agents: Vec<AgentDef>,
    /// templates.yaml's first, then those made on the page or through the API.
    pub templates: Vec<MessageTemplate>,
    /// How many of `templates` come from templates.yaml.
    pub templates_from_file: usize,
    pub intents: Vec<IntentDef>,
    /// kb/*.md, in path order.
    pub articles: Vec<crate::kb::ArticleDef>,
    pub channels: Vec<ChannelDef>,
    /// canned.yaml's responses: created or updated by shortcut when the workspace
    /// loads (those made on the pages and not in the file stay).
    pub canned: Vec<CannedDef>,
    pub escalation: Escalation,
    pub env: Templates,
}

/// A canned response of canned.yaml.
#[derive(Debug, Clone, PartialEq)]
pub struct CannedDef {
    pub shortcut: String,
    pub title: String,
    pub body: String,
    /// `None`: for every language.
    pub language: Option<String>,
}

impl Workspace {
    /// Parses and checks every file. The workspace is returned only when there is no error.
    pub fn load(sources: &Sources, escalation: Escalation) -> (Option<Workspace>, Vec<Diag>) {
        let mut findings = Vec::new();
        let (mut teams, agents) = read(&sources.teams, &mut findings, teams);
        for t in &sources.extra_teams {
            if !teams.iter().any(|x| x.id == t.id) {
                teams.push(t.clone());
            }
        }
        let mut templates = read(&sources.templates, &mut findings, templates);
        let templates_from_file = templates.len();
        for t in &sources.extra_templates {
            if !templates
                .iter()
                .any(|x| x.name == t.name && x.language == t.language)
            {
                templates.push(t.clone());
            }
        }
        let intents = read(&sources.intents, &mut findings, intents);
        let channels = read(&sources.channels, &mut findings, crate::channels::parse);
        let canned = read(&sources.canned, &mut findings, canned);
        let articles = articles(&sources.kb, &mut findings);
        let hours: TeamHours = teams
            .iter()
            .map(|t| (t.id.clone(), t.hours.clone()))
            .collect();
        let env = Templates::new(Arc::new(hours));
        let flows = flows(&sources.flows, &mut findings);
        let mut ws = Workspace {
            flows,
            teams,
            agents,
            templates,
            templates_from_file,
            intents,
            articles,
            channels,
            canned,
            escalation,
            env,
        };
        findings.extend(check::workspace(&ws));
        if let Some((path, _)) = &sources.channels {
            findings.extend(check::channels(&ws, path));
        }
        crate::diag::sort(&mut findings);
        if findings.iter().any(|d| d.severity == Severity::Error) {
            return (None, findings);
        }
        ws.flows.shrink_to_fit();
        (Some(ws), findings)
    }

    pub fn team(&self, id: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.id == id)
    }

    /// The template `name` in `language`, else in any language.
    pub fn template(&self, name: &str, language: &str) -> Option<&MessageTemplate> {
        self.templates
            .iter()
            .find(|t| t.name == name && t.language == language)
            .or_else(|| self.templates.iter().find(|t| t.name == name))
    }

    /// The flow a new conversation on a channel runs (SPEC §2).
    pub fn flow_for_message(
        &self,
        channel_kind: &str,
        default_flow: Option<&str>,
    ) -> Option<&Arc<Flow>> {
        if let Some(f) = default_flow.and_then(|id| self.flows.get(id)) {
            return Some(f);
        }
        let mut candidates: Vec<&Arc<Flow>> = self
            .flows
            .values()
            .filter(|f| {
                f.trigger.on == TriggerOn::Message && covers(&f.trigger.channels, channel_kind)
            })
            .collect();
        candidates.sort_by(|a, b| a.id.cmp(&b.id));
        candidates.first().copied()
    }

    /// The flow an event starts on a channel kind (SPEC §7).
    pub fn flow_for_event(&self, name: &str, channel_kind: &str) -> Option<&Arc<Flow>> {
        self.flows.values().find(|f| {
            matches!(&f.trigger.on, TriggerOn::Event(n) if n == name)
                && covers(&f.trigger.channels, channel_kind)
        })
    }
}

/// One optional file of the workspace read by `parse`, its findings added to `findings`;
/// nothing (the default) when the file is absent.
fn read<T: Default>(
    file: &Option<(String, String)>,
    findings: &mut Vec<Diag>,
    parse: impl FnOnce(&str, &mut Diags) -> T,
) -> T {
    match file {
        Some((path, text)) => {
            let mut d = Diags::new(path);
            let r = parse(text, &mut d);
            findings.extend(d.items);
            r
        }
        None => T::default(),
    }
}

/// The knowledge base's articles (kb/*.md), in path order.
fn articles(kb: &[(String, String)], findings: &mut Vec<Diag>) -> Vec<crate::kb::ArticleDef> {
    let mut articles: Vec<crate::kb::ArticleDef> = Vec::new();
    for (path, text) in kb {
        let mut d = Diags::new(path);
        if let Some(a) = crate::kb::parse(path, text, &mut d) {
            articles.push(a);
        }
        findings.extend(d.items);
    }
    articles.sort_by(|a, b| a.file.cmp(&b.file));
    articles
}

/// The flows by id; a second flow with an id already taken is an error, not loaded.
fn flows(files: &[(String, String)], findings: &mut Vec<Diag>) -> HashMap<String, Arc<Flow>> {
    let mut flows: HashMap<String, Arc<Flow>> = HashMap::new();
    for (path, text) in files {
        let mut d = Diags::new(path);
        if let Some(f) = parse::flow(text, &mut d) {
            if let Some(other) = flows.get(&f.id) {
                d.error(
                    f.start.pos,
                    format!("the flow id {:?} is also used by {}", f.id, other.file),
                );
            } else {
                flows.insert(f.id.clone(), Arc::new(f));
            }
        }
        findings.extend(d.items);
    }
    flows
}

pub(crate) fn covers(channels: &[String], kind: &str) -> bool {
    channels.is_empty() || channels.iter().any(|c| c == kind)
}

/// canned.yaml: `canned: [{shortcut, title, body, language?}]`, every fault reported
/// at its position (the API's rules: a shortcut of letters, digits, `-`, `_`, up to
/// 40; a title and a body; a two-letter language).
fn canned(text: &str, d: &mut Diags) -> Vec<CannedDef> {
    let root = match yaml::parse(text) {
        Ok(r) => r,
        Err(e) => {
            d.error(e.pos, e.message);
            return Vec::new();
        }
    };
    let Some(mut r) = MapReader::new(&root, "canned.yaml", d) else {
        return Vec::new();
    };
    let items = r.take("canned").and_then(Node::as_seq).unwrap_or_default();
    r.finish(d);
    let mut out: Vec<CannedDef> = Vec::new();
    for item in items {
        let Some(mut c) = MapReader::new(item, "a canned response", d) else {
            continue;
        };
        let shortcut = c.required_str("shortcut", d);
        let title = c.required_str("title", d);
        let body = c.required_str("body", d);
        let language = c.optional_str("language", d);
        c.finish(d);
        let (Some(shortcut), Some(title), Some(body)) = (shortcut, title, body) else {
            continue;
        };
        let at = |key: &str| item.get(key).map_or(item.pos, |n| n.pos);
        if shortcut.is_empty()
            || shortcut.len() > 40
            || !shortcut
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            d.error(
                at("shortcut"),
                format!("the shortcut {shortcut:?} must be 1 to 40 letters, digits, '-' or '_'"),
            );
            continue;
        }
        for (key, v) in [("title", &title), ("body", &body)] {
            if v.trim().is_empty() {
                d.error(at(key), format!("`{key}` of /{shortcut} is empty"));
            }
        }
        if let Some(l) = &language
            && !(l.len() == 2 && l.bytes().all(|b| b.is_ascii_lowercase()))
        {
            d.error(
                at("language"),
                format!("`language: {l}` must be a two-letter code such as fr"),
            );
        }
        if out.iter().any(|x| x.shortcut == shortcut) {
            d.error(
                item.pos,
                format!("the shortcut /{shortcut} is defined twice"),
            );
            continue;
        }
        out.push(CannedDef {
            shortcut,
            title,
            body,
            language,
        });
    }
    out
}

// Long by design: one block per key of a team in teams.yaml, every fault reported.
fn teams(text: &str, d: &mut Diags) -> (Vec<Team>, Vec<AgentDef>) {
    let root = match yaml::parse(text) {
        Ok(r) => r,
        Err(e) => {
            d.error(e.pos, e.message);
            return (Vec::new(), Vec::new());
        }
    };
    let Some(mut r) = MapReader::new(&root, "teams.yaml", d) else {
        return (Vec::new(), Vec::new());
    };
    let mut out = Vec::new();
    for item in r.take("teams").and_then(Node::as_seq).unwrap_or_default() {
        let Some(mut t) = MapReader::new(item, "a team", d) else {
            continue;
        };
        let id = t.required_str("id", d);
        let name = t.optional_str("name", d);
        let assignment = t
            .optional_str("assignment", d)
            .unwrap_or_else(|| "round_robin".into());
        if !["round_robin", "least_busy", "manual"].contains(&assignment.as_str()) {
            d.error(
                item.get("assignment").map_or(item.pos, |n| n.pos),
                format!(
                    "unknown assignment {assignment:?} (use round_robin, least_busy or manual)"
                ),
            );
        }
        let capacity = match t.take("capacity") {
            Some(n) => match n.as_str().and_then(|s| s.parse::<u32>().ok()) {
                Some(c) if c > 0 => c,
                _ => {
                    d.error(n.pos, "`capacity` must be a whole number above 0");
                    5
                }
            },
            None => 5,
        };
        let holidays: Vec<String> = t
            .take("holidays")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(|h| h.as_str().map(str::to_owned))
            .collect();
        let hours = match t.take("hours") {
            Some(h) => {
                let mut tz = String::from("UTC");
                let mut days = Vec::new();
                for (k, v) in h.as_map().unwrap_or_default() {
                    let (Some(k), Some(v)) = (k.as_str(), v.as_str()) else {
                        continue;
                    };
                    if k == "tz" {
                        tz = v.to_owned();
                    } else {
                        days.push((k.to_owned(), v.to_owned()));
                    }
                }
                match Hours::parse(&tz, &days, &holidays) {
                    Ok(hrs) => hrs,
                    Err(e) => {
                        d.error(
                            h.pos,
                            format!("bad hours for team {:?}: {e}", id.as_deref().unwrap_or("?")),
                        );
                        Hours::always()
                    }
                }
            }
            None => Hours::always(),
        };
        t.finish(d);
        if let Some(id) = id {
            if out.iter().any(|x: &Team| x.id == id) {
                d.error(item.pos, format!("the team {id:?} is defined twice"));
                continue;
            }
            out.push(Team {
                name: name.unwrap_or_else(|| id.clone()),
                id,
                assignment,
                capacity,
                hours,
            });
        }
    }
    let mut agents = Vec::new();
    for item in r.take("agents").and_then(Node::as_seq).unwrap_or_default() {
        let Some(mut a) = MapReader::new(item, "an agent", d) else {
            continue;
        };
        let email = a.required_str("email", d);
        let name = a.optional_str("name", d);
        let role = a.optional_str("role", d).unwrap_or_else(|| "agent".into());
        if !["admin", "supervisor", "agent"].contains(&role.as_str()) {
            d.error(
                item.get("role").map_or(item.pos, |n| n.pos),
                format!("unknown role {role:?} (use admin, supervisor or agent)"),
            );
        }
        let mut teams_of = Vec::new();
        if let Some(ts) = a.take("teams") {
            for t in ts.as_seq().unwrap_or_default() {
                if let Some(s) = t.as_str() {
                    if !out.iter().any(|x| x.id == s) {
                        d.error(
                            t.pos,
                            format!(
                                "unknown team {s:?} for agent {:?}",
                                email.as_deref().unwrap_or("?")
                            ),
                        );
                    }
                    teams_of.push(s.to_owned());
                }
            }
        }
        a.finish(d);
        if let Some(email) = email {
            agents.push(AgentDef {
                name: name.unwrap_or_else(|| email.clone()),
                email,
                role,
                teams: teams_of,
            });
        }
    }
    r.finish(d);
    (out, agents)
}

/// templates.yaml's templates (for `relais admin export-workspace`), with its findings.
pub fn parse_templates(path: &str, text: &str) -> (Vec<MessageTemplate>, Vec<Diag>) {
    let mut d = Diags::new(path);
    let t = templates(text, &mut d);
    (t, d.items)
}

fn templates(text: &str, d: &mut Diags) -> Vec<MessageTemplate> {
    let root = match yaml::parse(text) {
        Ok(r) => r,
        Err(e) => {
            d.error(e.pos, e.message);
            return Vec::new();
        }
    };
    let Some(mut r) = MapReader::new(&root, "templates.yaml", d) else {
        return Vec::new();
    };
    let mut out: Vec<MessageTemplate> = Vec::new();
    for item in r
        .take("templates")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let Some(mut t) = MapReader::new(item, "a template", d) else {
            continue;
        };
        let name = t.required_str("name", d);
        let language = t.required_str("language", d);
        let category = t
            .optional_str("category", d)
            .unwrap_or_else(|| "utility".into());
        if !["utility", "marketing", "authentication"].contains(&category.as_str()) {
            d.error(item.get("category").map_or(item.pos, |n| n.pos), format!("unknown template category {category:?} (use utility, marketing or authentication)"));
        }
        let body = t.required_str("body", d);
        let buttons = t
            .take("buttons")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(|b| b.as_str().map(str::to_owned))
            .collect();
        t.finish(d);
        if let (Some(name), Some(language), Some(body)) = (name, language, body) {
            if out.iter().any(|x| x.name == name && x.language == language) {
                d.error(
                    item.pos,
                    format!("the template {name:?} in {language:?} is defined twice"),
                );
                continue;
            }
            out.push(MessageTemplate {
                name,
                language,
                category,
                body,
                buttons,
            });
        }
    }
    r.finish(d);
    out
}

/// An intent of intents.yaml: its name and example phrases by language.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentDef {
    pub name: String,
    /// (language, phrase), in file order.
    pub examples: Vec<(String, String)>,
    pub pos: crate::yaml::Pos,
}

/// Fewer examples than this and `relais check` warns.
pub const FEW_EXAMPLES: usize = 5;

fn intents(text: &str, d: &mut Diags) -> Vec<IntentDef> {
    let root = match yaml::parse(text) {
        Ok(r) => r,
        Err(e) => {
            d.error(e.pos, e.message);
            return Vec::new();
        }
    };
    let Some(mut r) = MapReader::new(&root, "intents.yaml", d) else {
        return Vec::new();
    };
    let mut out: Vec<IntentDef> = Vec::new();
    let items = r.take("intents");
    r.finish(d);
    let Some(items) = items else {
        d.error(root.pos, "intents.yaml needs an `intents` list");
        return out;
    };
    let Some(items) = items.as_seq() else {
        d.error(
            items.pos,
            format!("`intents` must be a list, not {}", items.kind()),
        );
        return out;
    };
    for item in items {
        let Some(mut i) = MapReader::new(item, "an intent", d) else {
            continue;
        };
        let name = i.required_str("name", d);
        let examples = i.required("examples", d);
        i.finish(d);
        let Some(name) = name else { continue };
        if name == relais_nlu::intent::OOS {
            d.error(item.pos, format!("{name:?} is reserved: it is what the classifier says of a message that matches no intent"));
            continue;
        }
        if out.iter().any(|x| x.name == name) {
            d.error(item.pos, format!("the intent {name:?} is defined twice"));
            continue;
        }
        let mut def = IntentDef {
            name,
            examples: Vec::new(),
            pos: item.pos,
        };
        match examples.map(|e| (e, e.as_map())) {
            Some((_, Some(langs))) => {
                for (lang, phrases) in langs {
                    let Some(lang) = lang.as_str() else { continue };
                    if !is_language(lang) {
                        d.error(phrases.pos, format!("{lang:?} is not a language code (fr, en, it, es, de…)"));
                        continue;
                    }
                    let Some(list) = phrases.as_seq() else {
                        d.error(phrases.pos, format!("the {lang} examples of {:?} must be a list of phrases", def.name));
                        continue;
                    };
                    for p in list {
                        match p.as_str().map(str::trim) {
                            Some(t) if !t.is_empty() => def.examples.push((lang.to_owned(), t.to_owned())),
                            _ => d.error(p.pos, "an example must be a non-empty phrase"),
                        }
                    }
                }
            }
            Some((e, None)) => d.error(e.pos, format!("the examples of {:?} must be a map of language to phrases, such as `en: [\"cancel my order\"]`", def.name)),
            None => {}
        }
        if def.examples.len() < FEW_EXAMPLES {
            d.warn(def.pos, format!("the intent {:?} has {} example(s): give it at least {FEW_EXAMPLES}, in other words each time, for the classifier to recognise it", def.name, def.examples.len()));
        }
        out.push(def);
    }
    out
}

/// A team made outside the files (the API): its hours are the JSON form of a
/// teams.yaml `hours` map (`{"tz": "Europe/Paris", "mon-fri": "09:00-18:00"}`).
/// No hours: always open.
pub fn team_from_json(
    id: &str,
    name: &str,
    assignment: &str,
    capacity: u32,
    hours: Option<&serde_json::Value>,
    holidays: &[String],
) -> Result<Team, String> {
    let hours = match hours {
        None => Hours::always(),
        Some(serde_json::Value::Object(map)) => {
            let mut tz = "UTC".to_owned();
            let mut days = Vec::new();
            for (k, v) in map {
                let v = v
                    .as_str()
                    .ok_or_else(|| format!("hours.{k} must be text such as \"09:00-18:00\""))?;
                if k == "tz" {
                    v.clone_into(&mut tz);
                } else {
                    days.push((k.clone(), v.to_owned()));
                }
            }
            Hours::parse(&tz, &days, holidays).map_err(|e| e.to_string())?
        }
        Some(_) => return Err("hours must be an object such as {\"tz\": \"Europe/Paris\", \"mon-fri\": \"09:00-18:00\"}".into()),
    };
    Ok(Team {
        id: id.to_owned(),
        name: name.to_owned(),
        assignment: assignment.to_owned(),
        capacity,
        hours,
    })
}

/// A language code as the workspace files use them: `fr`, `en`, `pt-BR`.
pub fn is_language(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let base = parts.next().unwrap_or("");
    (2..=3).contains(&base.len())
        && base.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_placeholders_are_positional_and_never_rendered() {
        let t = MessageTemplate {
            name: "x".into(),
            language: "fr".into(),
            category: "utility".into(),
            body: "Votre colis {{1}} est prévu le {{ 2 }}. {{name}} {{3}}".into(),
            buttons: vec![],
        };
        assert_eq!(
            t.fill(&["A1".into(), "{{ 7*7 }}".into()]),
            "Votre colis A1 est prévu le {{ 7*7 }}. {{name}} "
        );
        assert_eq!(t.arity(), 1);
    }
}
