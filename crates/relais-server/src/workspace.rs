//! The workspace folder on disk (SPEC §12): reading its files into [`Sources`], the demo
//! workspace built into the binary, and loading a checked workspace into the flow
//! engine. A workspace with any error is never loaded.

use crate::config::Settings;
use relais_core::Timestamp;
use relais_flow::diag::{Diag, Severity};
use relais_flow::handler::Loaded;
use relais_flow::workspace::{Sources, Workspace};
use relais_store::{Canned, FlowSource, MemberSpec, Store, TeamSpec};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

macro_rules! demo {
    ($($path:literal),* $(,)?) => {
        /// The demo workspace: (path, content) of every file.
        pub const DEMO: &[(&str, &str)] = &[$(($path, include_str!(concat!("../demo/", $path)))),*];
    };
}

demo!(
    "relais.toml",
    "channels.yaml",
    "teams.yaml",
    "templates.yaml",
    "flows/order-status.yaml",
    "flows/reschedule.yaml",
    "flows/faq.yaml",
    "flows/region.yaml",
    "kb/delivery-en.md",
    "kb/delivery-fr.md",
    "kb/delivery-it.md",
    "kb/payment-en.md",
    "kb/payment-fr.md",
    "kb/payment-it.md",
    "kb/returns-en.md",
    "kb/returns-fr.md",
    "kb/returns-it.md",
    "tests/after-hours.yaml",
    "tests/ask-for-human.yaml",
    "tests/failed-attempts.yaml",
    "tests/faq-not-helped-en.yaml",
    "tests/faq-knowledge-base.yaml",
    "tests/faq.yaml",
    "tests/inactivity.yaml",
    "tests/menu-agent.yaml",
    "tests/menu-sms.yaml",
    "tests/order-not-found.yaml",
    "tests/order-number-format.yaml",
    "tests/order-status-en.yaml",
    "tests/order-status-fr.yaml",
    "tests/order-status-it.yaml",
    "tests/region-north-it.yaml",
    "tests/region-south.yaml",
    "tests/reschedule-timeout.yaml",
    "tests/reschedule-typed-en.yaml",
    "tests/reschedule.yaml",
    "tests/template-injection.yaml",
    "tests/vip-priority.yaml",
);

/// The demo workspace's sources.
pub fn demo_sources() -> Sources {
    sources_from(
        DEMO.iter()
            .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
            .collect(),
    )
}

/// Reads a workspace folder's flow, team, template, intent, channel and article files.
pub fn read(dir: &Path) -> std::io::Result<Sources> {
    let mut files = Vec::new();
    for name in [
        "teams.yaml",
        "templates.yaml",
        "intents.yaml",
        "channels.yaml",
        "canned.yaml",
    ] {
        let p = dir.join(name);
        if p.exists() {
            files.push((name.to_owned(), std::fs::read_to_string(&p)?));
        }
    }
    for (folder, ends) in [("flows", &[".yaml", ".yml"][..]), ("kb", &[".md"][..])] {
        let path = dir.join(folder);
        if !path.is_dir() {
            continue;
        }
        let mut entries: Vec<_> = std::fs::read_dir(&path)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            if ends.iter().any(|x| name.ends_with(x)) {
                files.push((
                    format!("{folder}/{name}"),
                    std::fs::read_to_string(e.path())?,
                ));
            }
        }
    }
    Ok(sources_from(files))
}

/// Test files of a workspace folder, sorted.
pub fn read_tests(dir: &Path) -> std::io::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let tests = dir.join("tests");
    if tests.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(&tests)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".yaml") || name.ends_with(".yml") {
                out.push((format!("tests/{name}"), std::fs::read_to_string(e.path())?));
            }
        }
    }
    Ok(out)
}

fn sources_from(files: Vec<(String, String)>) -> Sources {
    let mut s = Sources::default();
    for (path, text) in files {
        match path.as_str() {
            "teams.yaml" => s.teams = Some((path, text)),
            "templates.yaml" => s.templates = Some((path, text)),
            "intents.yaml" => s.intents = Some((path, text)),
            "channels.yaml" => s.channels = Some((path, text)),
            "canned.yaml" => s.canned = Some((path, text)),
            p if p.starts_with("flows/") => s.flows.push((path, text)),
            p if p.starts_with("kb/") => s.kb.push((path, text)),
            _ => {}
        }
    }
    s
}

/// Parses, checks and loads a workspace with the settings' escalation and secrets,
/// every flow at version 1 (tools that keep no history: `relais test`, `simulate`).
pub fn load(sources: &Sources, settings: &Settings) -> Result<(Loaded, Vec<Diag>), Vec<Diag>> {
    let (ws, diags) = Workspace::load(sources, settings.escalation.clone());
    let Some(ws) = ws else { return Err(diags) };
    let loaded = Loaded::new(ws, &HashMap::new(), Vec::new(), secrets(settings));
    match crate::nlu::understand(loaded, None, settings.nlu) {
        Ok(loaded) => Ok((loaded, diags)),
        Err(e) => {
            let mut d = relais_flow::diag::Diags::new("intents.yaml");
            d.error(relais_flow::yaml::Pos { line: 1, col: 1 }, e);
            Err(d.items)
        }
    }
}

fn secrets(settings: &Settings) -> serde_json::Map<String, serde_json::Value> {
    settings
        .secrets
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.expose().to_owned())))
        .collect()
}

/// Why a server could not load its workspace.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the workspace does not pass `relais check`:\n{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Check(Vec<Diag>),
    #[error("cannot read the workspace: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] relais_store::Error),
    #[error("channels.yaml names secrets that relais.toml's [secrets] does not set (set them there or as RELAIS__SECRETS__NAME):\n{}", .0.join("\n"))]
    MissingSecrets(Vec<String>),
    #[error("language understanding: {0}")]
    Understanding(String),
}

/// kb/*.md → the store (a file's article written again only when the file changed),
/// then every stored article: the knowledge base the workspace runs with.
async fn sync_articles(
    store: &dyn Store,
    sources: &Sources,
    from_files: &[relais_flow::kb::ArticleDef],
    now: Timestamp,
) -> Result<Vec<relais_flow::kb::ArticleDef>, LoadError> {
    let files = from_files
        .iter()
        .map(|a| relais_store::ArticleFile {
            file: a.file.clone(),
            hash: sources
                .kb
                .iter()
                .find(|(p, _)| *p == a.file)
                .map(|(_, t)| hex::encode(Sha256::digest(t.as_bytes())))
                .unwrap_or_default(),
            article: relais_store::NewArticle {
                slug: a.id.clone(),
                title: a.title.clone(),
                language: a.language.clone(),
                tags: a.tags.clone(),
                body: a.body.clone(),
            },
        })
        .collect();
    store.sync_articles(files, now).await?;
    Ok(store
        .articles()
        .await?
        .into_iter()
        .map(|a| relais_flow::kb::ArticleDef {
            file: a.file.unwrap_or_else(|| format!("(article {})", a.id)),
            id: a.slug,
            title: a.title,
            language: a.language,
            tags: a.tags,
            body: a.body,
        })
        .collect())
}

/// canned.yaml → the store: each response created, or updated where its shortcut
/// exists and differs; the ones made on the pages and not in the file stay.
async fn sync_canned(
    store: &dyn Store,
    file: &[relais_flow::workspace::CannedDef],
    now: Timestamp,
) -> Result<(), LoadError> {
    if file.is_empty() {
        return Ok(());
    }
    let stored = store.canned().await?;
    for c in file {
        let want = Canned {
            id: 0,
            shortcut: c.shortcut.clone(),
            title: c.title.clone(),
            body: c.body.clone(),
            language: c.language.clone(),
        };
        match stored.iter().find(|s| s.shortcut == c.shortcut) {
            Some(s) if Canned { id: 0, ..s.clone() } == want => {}
            Some(s) => {
                store.save_canned(Some(s.id), want, now).await?;
            }
            None => {
                store.save_canned(None, want, now).await?;
            }
        }
    }
    Ok(())
}

/// Each channel's secrets that `[secrets]` does not set, as `channel: role → NAME`.
pub fn unset_secrets(
    channels: &[relais_flow::workspace::ChannelDef],
    settings: &Settings,
) -> Vec<String> {
    let mut out = Vec::new();
    for c in channels {
        for (role, name) in &c.secrets {
            if !settings.secrets.contains_key(&name.to_lowercase()) {
                out.push(format!(
                    "channel {}: secret `{role}` names {name}, which is not set",
                    c.id
                ));
            }
        }
    }
    out
}

/// A loaded workspace, its warnings and each flow's current version.
pub struct Versioned {
    pub loaded: Loaded,
    pub warnings: Vec<Diag>,
    pub versions: Vec<(String, i64)>,
}

/// Checks and loads a workspace for a server: each flow's source is published as an
/// immutable version (a changed file gets the next number), and every older version
/// still stored is loaded too, so conversations finish on the version they started on.
pub async fn load_versioned(
    store: &dyn Store,
    sources: &Sources,
    settings: &Settings,
    now: Timestamp,
) -> Result<Versioned, LoadError> {
    let sources = &with_stored(store, sources).await?;
    let (ws, diags) = Workspace::load(sources, settings.escalation.clone());
    let Some(mut ws) = ws else {
        return Err(LoadError::Check(diags));
    };
    ws.articles = sync_articles(store, sources, &ws.articles, now).await?;
    let versions = publish(store, &ws, sources, now).await?;
    sync_people(store, &ws, now).await?;
    sync_canned(store, &ws.canned, now).await?;
    let unset = unset_secrets(&ws.channels, settings);
    if !unset.is_empty() {
        return Err(LoadError::MissingSecrets(unset));
    }
    let synced = store
        .sync_channels(channel_specs(&ws, settings), now)
        .await?;
    for id in &synced.disabled {
        tracing::warn!(channel = %id, "channel no longer in channels.yaml: disabled, history kept");
    }
    let current: HashMap<String, i64> = versions.iter().cloned().collect();
    let older = older_versions(store, &current).await?;
    let loaded = crate::nlu::understand(
        Loaded::new(ws, &current, older, secrets(settings)),
        Some(&settings.data_dir),
        settings.nlu,
    )
    .map_err(LoadError::Understanding)?;
    Ok(Versioned {
        loaded,
        warnings: diags,
        versions,
    })
}

/// The files' sources with the teams (and their hours) and templates made through the
/// API or the pages, which the store keeps.
async fn with_stored(store: &dyn Store, sources: &Sources) -> Result<Sources, LoadError> {
    let mut sources = sources.clone();
    for t in store.teams().await? {
        let t = t.team;
        match relais_flow::workspace::team_from_json(
            &t.id,
            &t.name,
            &t.assignment,
            u32::try_from(t.capacity).unwrap_or(0),
            t.hours.as_ref(),
            &t.holidays,
        ) {
            Ok(team) => sources.extra_teams.push(team),
            Err(e) => {
                tracing::warn!(team = %t.id, error = %e, "a stored team's hours no longer parse")
            }
        }
    }
    for t in store.templates().await? {
        sources
            .extra_templates
            .push(relais_flow::workspace::MessageTemplate {
                name: t.name,
                language: t.language,
                category: t.category,
                body: t.body,
                buttons: t.buttons,
            });
    }
    Ok(sources)
}

/// Each flow's source published (by flow id); each flow's current version.
async fn publish(
    store: &dyn Store,
    ws: &Workspace,
    sources: &Sources,
    now: Timestamp,
) -> Result<Vec<(String, i64)>, LoadError> {
    let mut published = Vec::new();
    for flow in ws.flows.values() {
        if let Some((path, text)) = sources.flows.iter().find(|(p, _)| *p == flow.file) {
            published.push(FlowSource {
                flow: flow.id.clone(),
                path: path.clone(),
                source: text.clone(),
                hash: hex::encode(Sha256::digest(text.as_bytes())),
            });
        }
    }
    published.sort_by(|a, b| a.flow.cmp(&b.flow));
    Ok(store.publish_flows(published, now).await?)
}

/// teams.yaml's teams and agents → the store.
async fn sync_people(store: &dyn Store, ws: &Workspace, now: Timestamp) -> Result<(), LoadError> {
    let teams = ws
        .teams
        .iter()
        .map(|t| TeamSpec {
            id: t.id.clone(),
            name: t.name.clone(),
            assignment: t.assignment.clone(),
            capacity: i64::from(t.capacity),
            hours: None,
            holidays: Vec::new(),
        })
        .collect();
    let members = ws
        .agents
        .iter()
        .map(|a| MemberSpec {
            email: a.email.clone(),
            name: a.name.clone(),
            role: relais_core::agent::Role::parse(&a.role)
                .unwrap_or(relais_core::agent::Role::Agent),
            teams: a.teams.clone(),
        })
        .collect();
    store.sync_teams(teams, members, now).await?;
    Ok(())
}

/// channels.yaml's channels as the store keeps them (a REST channel with its token's
/// hash, from `[secrets]`).
fn channel_specs(ws: &Workspace, settings: &Settings) -> Vec<relais_store::ChannelSpec> {
    ws.channels
        .iter()
        .map(|c| relais_store::ChannelSpec {
            id: relais_core::id::ChannelId(c.id.clone()),
            kind: c.kind.clone(),
            token_hash: (c.kind == "rest")
                .then(|| c.secrets.iter().find(|(r, _)| r == "token"))
                .flatten()
                .and_then(|(_, name)| settings.secrets.get(&name.to_lowercase()))
                .map(|t| crate::auth::token_hash(t.expose())),
            settings: serde_json::Value::Object(c.settings.clone()),
            fallback: c.fallback.clone().map(relais_core::id::ChannelId),
            secret_names: c
                .secrets
                .iter()
                .map(|(role, name)| (role.clone(), serde_json::Value::String(name.clone())))
                .collect::<serde_json::Map<_, _>>()
                .into(),
            default_flow: c.default_flow.clone(),
        })
        .collect()
}

/// Every stored flow version but the current ones, parsed again, for the runs that
/// started on them.
async fn older_versions(
    store: &dyn Store,
    current: &HashMap<String, i64>,
) -> Result<Vec<(String, i64, Arc<relais_flow::model::Flow>)>, LoadError> {
    let mut older = Vec::new();
    for v in store.flow_versions(true).await? {
        if current.get(&v.flow) == Some(&v.version) {
            continue;
        }
        let mut d = relais_flow::diag::Diags::new(&v.path);
        // Sources were checked when published; one that no longer parses (a newer
        // binary's stricter rules) is skipped and its runs end as a flow error.
        if let Some(flow) = v
            .source
            .as_deref()
            .and_then(|s| relais_flow::parse::flow(s, &mut d))
        {
            older.push((v.flow, v.version, Arc::new(flow)));
        } else {
            tracing::warn!(flow = %v.flow, version = v.version, "a stored flow version no longer parses");
        }
    }
    Ok(older)
}

/// True when a list of findings holds an error.
pub fn has_errors(diags: &[Diag]) -> bool {
    diags.iter().any(|d| d.severity == Severity::Error)
}
