//! `relais admin export-workspace DIR`: what admins changed in the web pages (teams,
//! their members, canned responses, knowledge-base articles) written back as workspace
//! files, so the folder
//! under version control says what the database holds. Rendering is a pure function
//! of the store's rows; the files are YAML in flow style (JSON is YAML), read back by
//! the same loader as hand-written ones.

use relais_flow::workspace::MessageTemplate;
use relais_store::{Agent, Article, Canned, StoredTemplate, TeamInfo};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A team's hours as written (`{"tz": …, "mon": …}`) and its holidays, for teams whose
/// hours live in the workspace's teams.yaml rather than in the database.
pub type FileHours = HashMap<String, (Map<String, Value>, Vec<String>)>;

/// The files' texts: `teams.yaml` and `canned.yaml`.
pub fn render(
    teams: &[TeamInfo],
    agents: &[Agent],
    canned: &[Canned],
    file_hours: &FileHours,
    stamp: &str,
) -> Vec<(&'static str, String)> {
    let mut t = format!(
        "# teams.yaml, exported by `relais admin export-workspace` ({stamp}).\n# Teams, business hours and agents (SPEC §12).\nteams:\n"
    );
    for team in teams {
        let spec = &team.team;
        let mut obj = json!({
            "id": spec.id,
            "name": spec.name,
            "assignment": spec.assignment,
            "capacity": spec.capacity,
        });
        let (hours, holidays) = match (&spec.hours, file_hours.get(&spec.id)) {
            (Some(h), _) => (Some(h.clone()), spec.holidays.clone()),
            (None, Some((h, d))) => (Some(Value::Object(h.clone())), d.clone()),
            (None, None) => (None, Vec::new()),
        };
        if let Some(h) = hours {
            obj["hours"] = h;
        }
        if !holidays.is_empty() {
            obj["holidays"] = json!(holidays);
        }
        t.push_str(&format!("  - {obj}\n"));
    }
    if teams.is_empty() {
        t = t.replace("teams:\n", "teams: []\n");
    }
    let active: Vec<&Agent> = agents.iter().filter(|a| !a.disabled).collect();
    if active.is_empty() {
        t.push_str("agents: []\n");
    } else {
        t.push_str("agents:\n");
        for a in active {
            let of: Vec<&str> = teams
                .iter()
                .filter(|x| x.members.contains(&a.id))
                .map(|x| x.team.id.as_str())
                .collect();
            let obj = json!({
                "email": a.email,
                "name": a.name,
                "role": a.role.as_str(),
                "teams": of,
            });
            t.push_str(&format!("  - {obj}\n"));
        }
    }
    let mut c = format!(
        "# canned.yaml, exported by `relais admin export-workspace` ({stamp}).\n# Canned responses: agents type / and the shortcut in the reply box.\n"
    );
    if canned.is_empty() {
        c.push_str("canned: []\n");
    } else {
        c.push_str("canned:\n");
        for x in canned {
            let mut obj = json!({ "shortcut": x.shortcut, "title": x.title, "body": x.body });
            if let Some(l) = &x.language {
                obj["language"] = json!(l);
            }
            c.push_str(&format!("  - {obj}\n"));
        }
    }
    vec![("teams.yaml", t), ("canned.yaml", c)]
}

/// `templates.yaml`: the file's templates, then the stored ones it does not define.
pub fn render_templates(
    file: &[MessageTemplate],
    stored: &[StoredTemplate],
    stamp: &str,
) -> String {
    let mut out = format!(
        "# templates.yaml, exported by `relais admin export-workspace` ({stamp}).\n# Approved outbound templates (WhatsApp), per language: sent when the 24-hour window is closed.\n"
    );
    let mut all: Vec<Value> = file
        .iter()
        .map(|t| json!({ "name": t.name, "language": t.language, "category": t.category, "body": t.body, "buttons": t.buttons }))
        .collect();
    for t in stored {
        if !file
            .iter()
            .any(|f| f.name == t.name && f.language == t.language)
        {
            all.push(json!({ "name": t.name, "language": t.language, "category": t.category, "body": t.body, "buttons": t.buttons }));
        }
    }
    if all.is_empty() {
        out.push_str("templates: []\n");
    } else {
        out.push_str("templates:\n");
        for mut t in all {
            if t["buttons"].as_array().is_some_and(Vec::is_empty) {
                t.as_object_mut().map(|o| o.remove("buttons"));
            }
            out.push_str(&format!("  - {t}\n"));
        }
    }
    out
}

/// Each article as `kb/<slug>.md`: its front matter (title, language, tags; JSON strings
/// are YAML) and its text.
pub fn render_articles(articles: &[Article]) -> Vec<(String, String)> {
    articles
        .iter()
        .map(|a| {
            let mut front = format!("---\ntitle: {}\nlanguage: {}\n", json!(a.title), a.language);
            if !a.tags.is_empty() {
                front.push_str(&format!("tags: {}\n", json!(a.tags)));
            }
            (
                format!("kb/{}.md", a.slug),
                format!("{front}---\n\n{}\n", a.body.trim()),
            )
        })
        .collect()
}

/// Writes the files into `dir` (each replaced whole: written aside, then renamed).
pub fn write(dir: &Path, files: &[(String, String)]) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        let parent = path.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = parent.join(format!(".{file}.tmp"));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        out.push(path);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_core::Timestamp;
    use relais_core::agent::{Presence, Role};
    use relais_core::id::AgentId;
    use relais_store::TeamSpec;

    fn agent(id: i64, email: &str, disabled: bool) -> Agent {
        Agent {
            id: AgentId(id),
            email: email.into(),
            name: format!("Name \"{id}\": ok"),
            role: Role::Agent,
            presence: Presence::Offline,
            capacity: 5,
            disabled,
            created_at: Timestamp(0),
            language: "en".into(),
        }
    }

    #[test]
    fn an_export_loads_back_as_the_same_teams_and_agents() {
        let teams = vec![
            TeamInfo {
                team: TeamSpec {
                    id: "billing".into(),
                    name: "Billing: invoices".into(),
                    assignment: "least_busy".into(),
                    capacity: 3,
                    hours: Some(json!({ "tz": "Europe/Rome", "mon-fri": "08:00-17:00" })),
                    holidays: vec!["2026-12-26".into()],
                },
                members: vec![AgentId(1)],
            },
            TeamInfo {
                team: TeamSpec {
                    id: "support".into(),
                    name: "Support".into(),
                    assignment: "round_robin".into(),
                    capacity: 5,
                    hours: None,
                    holidays: vec![],
                },
                members: vec![AgentId(1), AgentId(3)],
            },
        ];
        let mut file_hours = FileHours::new();
        let mut h = Map::new();
        h.insert("tz".into(), json!("Europe/Paris"));
        h.insert("mon".into(), json!("09:00-18:00"));
        file_hours.insert("support".into(), (h, vec!["2026-12-25".into()]));
        let agents = vec![
            agent(1, "ann@example.com", false),
            agent(2, "gone@example.com", true),
            agent(3, "bob@example.com", false),
        ];
        let canned = vec![Canned {
            id: 1,
            shortcut: "hello".into(),
            title: "Hello".into(),
            body: "Bonjour, « merci » !\nÀ bientôt".into(),
            language: Some("fr".into()),
        }];
        let files = render(&teams, &agents, &canned, &file_hours, "2026-11-28");
        let teams_yaml = &files[0].1;
        assert!(
            !teams_yaml.contains("gone@example.com"),
            "disabled agents stay out"
        );
        // Read back by the workspace loader, as a hand-written teams.yaml would be.
        let sources = relais_flow::workspace::Sources {
            flows: vec![(
                "flows/hello.yaml".into(),
                "flow: hello\ntrigger: { on: message }\nstart: start\nsteps:\n  start:\n    handoff: { reason: requested }\n"
                    .into(),
            )],
            teams: Some(("teams.yaml".into(), teams_yaml.clone())),
            canned: Some(("canned.yaml".into(), files[1].1.clone())),
            ..Default::default()
        };
        let (ws, diags) = relais_flow::workspace::Workspace::load(&sources, Default::default());
        let ws = ws.unwrap_or_else(|| panic!("{teams_yaml}\n{diags:?}"));
        assert_eq!(ws.teams.len(), 2);
        let billing = ws.team("billing").unwrap();
        assert_eq!(
            (billing.capacity, billing.assignment.as_str()),
            (3, "least_busy")
        );
        assert_eq!(billing.name, "Billing: invoices");
        let support = ws.team("support").unwrap();
        let (written, holidays) = support.hours.written().unwrap();
        assert_eq!(written["mon"], "09:00-18:00");
        assert_eq!(holidays, ["2026-12-25"]);
        assert_eq!(ws.agents.len(), 2);
        let ann = ws
            .agents
            .iter()
            .find(|a| a.email == "ann@example.com")
            .unwrap();
        assert_eq!(ann.teams, ["billing", "support"]);
        assert_eq!(ann.name, "Name \"1\": ok");
        // The canned responses come back whole.
        assert_eq!(
            ws.canned,
            [relais_flow::workspace::CannedDef {
                shortcut: "hello".into(),
                title: "Hello".into(),
                body: "Bonjour, « merci » !\nÀ bientôt".into(),
                language: Some("fr".into()),
            }]
        );
    }

    #[test]
    fn exported_articles_read_back_as_the_same_articles() {
        let a = Article {
            id: 7,
            slug: "gift-cards".into(),
            title: "Gift cards: \"yes\", from 10 €".into(),
            language: "en".into(),
            tags: vec!["gifts".into()],
            body: "We sell them.\n\n# Validity\nTwo years.".into(),
            file: None,
            updated_at: Timestamp(0),
        };
        let files = render_articles(std::slice::from_ref(&a));
        assert_eq!(files[0].0, "kb/gift-cards.md");
        let mut d = relais_flow::diag::Diags::new("kb/gift-cards.md");
        let back = relais_flow::kb::parse(&files[0].0, &files[0].1, &mut d).expect("parses");
        assert!(d.items.is_empty(), "{:?}", d.items);
        assert_eq!(
            (back.id, back.title, back.language, back.tags, back.body),
            (a.slug, a.title, a.language, a.tags, a.body)
        );
    }
}
