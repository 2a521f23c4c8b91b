//! Configuration in two stages: defaults → `relais.toml` → `RELAIS__SECTION__KEY`
//! environment are merged into a raw TOML table and read into [`RawConfig`] (what the
//! user typed), then validated into [`Settings`] (what the server uses). Every error
//! names its key. Secrets never appear in `Debug` output.

use crate::runtime::http::{Reach, Target};
use relais_core::Duration;
use relais_core::lifecycle::Lifecycle;
use relais_flow::escalation::{Escalation, VipAction};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

mod sections;
use sections::{escalation, nlu, privacy_mask, privacy_region, retention};
pub(crate) use sections::{lifecycle, reports_costs, reports_sla};

/// A configuration error, naming the key (`server.listen`) and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{key}: {message}")]
    Key { key: String, message: String },
}

pub(crate) fn key_err(key: &str, message: impl Into<String>) -> Error {
    Error::Key {
        key: key.to_owned(),
        message: message.into(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub database: RawDatabase,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub outbox: RawOutbox,
    #[serde(default)]
    pub timers: RawTimers,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub bot: RawBot,
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    #[serde(default)]
    pub escalation: RawEscalation,
    #[serde(default)]
    pub inactivity: RawInactivity,
    #[serde(default)]
    pub http: RawHttp,
    #[serde(default)]
    pub handoff: RawHandoff,
    #[serde(default)]
    pub login: crate::guard::RawLogin,
    #[serde(default)]
    pub costs: RawCosts,
    #[serde(default)]
    pub sla: RawSla,
    #[serde(default)]
    pub retention: RawRetention,
    #[serde(default)]
    pub privacy: RawPrivacy,
    #[serde(default)]
    pub nlu: RawNlu,
}

/// `[nlu]`: the thresholds of understanding (docs/understanding.md says how the
/// defaults were measured).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNlu {
    pub intent_threshold: Option<f32>,
    pub intent_min_similarity: Option<f32>,
    pub answer_min_score: Option<f32>,
}

/// `[retention]`: closed conversations older than `transcripts_after` lose their
/// transcript (`transcripts = "erase"`, the default, or `"anonymise"`); checked every
/// `check_every` (default 1h) on a durable schedule.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetention {
    pub transcripts_after: Option<String>,
    pub transcripts: Option<String>,
    pub check_every: Option<String>,
}

/// `[privacy]`: `mask = ["card", "iban"]` masks those in what customers and agents
/// write, before anything is stored; `region` names where the data lives (recorded
/// with it, shown in exports).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrivacy {
    pub mask: Option<Vec<String>>,
    pub region: Option<String>,
}

/// `[costs]`: unit costs for the reports' cost per contact.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCosts {
    pub per_conversation: Option<f64>,
    pub agent_hour: Option<f64>,
}

/// `[sla]`: first-response targets, `first_response = "30m"` and per team
/// (`[sla.teams] support = "15m"`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSla {
    pub first_response: Option<String>,
    #[serde(default)]
    pub teams: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHandoff {
    pub auto_close: Option<String>,
    /// `"off"` disables the return timer.
    pub return_after: Option<String>,
    pub return_on_offline: Option<bool>,
    /// `"off"` keeps an away agent's conversations with them.
    pub away_limit: Option<String>,
    /// `"off"`: an idle online agent stays online.
    pub idle_after: Option<String>,
    pub csat: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEscalation {
    pub max_failures: Option<u32>,
    pub vip_tiers: Option<Vec<String>>,
    pub vip_action: Option<String>,
    pub default_team: Option<String>,
    pub sensitive_intents: Option<Vec<String>>,
    pub sensitive_keywords: Option<Vec<String>>,
    pub sentiment_threshold: Option<f32>,
    pub frustration_model: Option<bool>,
    pub keywords: Option<BTreeMap<String, Vec<String>>>,
}

/// Read and validated now; the automations that use it come with agent handoff.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInactivity {
    pub remind: Option<String>,
    pub close: Option<String>,
    pub close_status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    /// Let flow `http` steps reach loopback and private addresses (off by default).
    pub allow_private: Option<bool>,
    /// Private targets allowed one by one: `host`, `host:port`, `[v6]:port`.
    pub allow: Option<Vec<String>>,
    /// CA certificates (PEM) outbound HTTPS trusts besides Mozilla's roots.
    pub ca_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<String>,
    pub data_dir: Option<String>,
    pub shutdown_grace: Option<String>,
    pub header_timeout: Option<String>,
    pub body_timeout: Option<String>,
    pub idle_timeout: Option<String>,
    pub max_connections: Option<u32>,
    /// Who may read `/metrics`: auto (open on loopback, else a token), open, token.
    pub metrics: Option<String>,
    pub streams_per_agent: Option<u32>,
    pub streams_per_server: Option<u32>,
    pub stream_heartbeat: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed: ["10.0.0.2"].
    pub trusted_proxies: Option<Vec<String>>,
    /// The address providers reach (`https://support.acme.example`).
    pub public_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    pub url: Option<String>,
    pub synchronous: Option<String>,
    pub max_connections: Option<u32>,
    /// CA certificates (PEM) trusted for PostgreSQL's TLS (like libpq's `sslrootcert`).
    pub ca_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub level: Option<String>,
    pub format: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutbox {
    pub max_attempts: Option<u32>,
    pub backoff_base: Option<String>,
    pub backoff_max: Option<String>,
    pub send_timeout: Option<String>,
    pub concurrency: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimers {
    pub window: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub max_body_bytes: Option<u64>,
    pub max_text_chars: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBot {
    pub nudge_after: Option<String>,
}

/// Where data lives.
#[derive(Clone, PartialEq)]
pub enum Database {
    Sqlite {
        path: PathBuf,
        synchronous_full: bool,
    },
    Postgres {
        url: Secret,
        max_connections: usize,
        ca_file: Option<PathBuf>,
    },
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite {
                path,
                synchronous_full,
            } => f
                .debug_struct("Sqlite")
                .field("path", path)
                .field("synchronous_full", synchronous_full)
                .finish(),
            Database::Postgres {
                max_connections, ..
            } => f
                .debug_struct("Postgres")
                .field("url", &"<redacted>")
                .field("max_connections", max_connections)
                .finish(),
        }
    }
}

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// `[server] public_url`: the address providers reach, without a final `/`.
    pub public_url: Option<String>,
    pub data_dir: PathBuf,
    pub shutdown_grace: Duration,
    pub database: Database,
    pub log_level: String,
    pub log_format: LogFormat,
    pub outbox_max_attempts: u32,
    pub outbox_backoff_base: Duration,
    pub outbox_backoff_max: Duration,
    pub outbox_send_timeout: Duration,
    pub outbox_concurrency: usize,
    pub timer_window: Duration,
    pub max_body_bytes: usize,
    pub max_text_chars: usize,
    pub nudge_after: Duration,
    /// Names are lower-cased: `[secrets]` keys match without regard to case.
    pub secrets: BTreeMap<String, Secret>,
    pub escalation: Escalation,
    /// Which loopback and private addresses flow `http` steps and webhooks may reach.
    pub http_reach: Reach,
    /// The roots outbound HTTPS trusts: Mozilla's, and `[http] ca_file`.
    pub http_tls: crate::tls::ClientTls,
    /// `[http] ca_file`'s certificates (PEM), also trusted by SMTP.
    pub http_ca_pem: Option<Vec<u8>>,
    /// `[login]` and the `[server]` limits: what a stranger can make the server do.
    pub guard: crate::guard::Guard,
    /// `[retention]`, when set.
    pub retention: Option<Retention>,
    /// `[privacy] mask`: kinds of personal data masked at rest.
    pub mask: Vec<relais_core::privacy::Kind>,
    /// `[nlu]`.
    pub nlu: relais_flow::understand::Thresholds,
    /// `[privacy] region`: where the data lives.
    pub region: Option<String>,
    /// The sections the Settings page lays its values over (`crate::tunable`), as
    /// the file and the environment give them.
    pub tunable_base: toml::Table,
}

/// The retention policy (`[retention]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retention {
    pub transcripts_after: Duration,
    pub how: relais_store::Forget,
    pub check_every: Duration,
}

impl Settings {
    /// The lifecycle, SLA and costs relais.toml and the environment give (the Settings
    /// page lays its values over them: `Runtime::tunable`).
    pub fn tunable(&self) -> Result<crate::tunable::Tunable, Error> {
        crate::tunable::resolve(&self.tunable_base, &toml::Table::new())
    }

    /// Sets `section.key` as if relais.toml said so (for a setting the page changes).
    pub fn set_base(&mut self, section: &str, key: &str, value: toml::Value) {
        if let Some(t) = self
            .tunable_base
            .entry(section.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
        {
            t.insert(key.to_owned(), value);
        }
    }

    /// Loads `relais.toml` from `workspace` (if present) and the environment.
    pub fn load(workspace: &Path, env: &[(String, String)]) -> Result<Settings, Error> {
        let file = workspace.join("relais.toml");
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(Error::File {
                    path: file.display().to_string(),
                    message: e.to_string(),
                });
            }
        };
        Settings::from_sources(text.as_deref(), &file.display().to_string(), env, workspace)
    }

    /// Merges the file text (if any) with `RELAIS__…` variables and validates.
    pub fn from_sources(
        file_text: Option<&str>,
        file_name: &str,
        env: &[(String, String)],
        workspace: &Path,
    ) -> Result<Settings, Error> {
        let mut table = match file_text {
            Some(t) => t.parse::<toml::Table>().map_err(|e| Error::File {
                path: file_name.to_owned(),
                message: e.to_string().trim().replace('\n', " "),
            })?,
            None => toml::Table::new(),
        };
        overlay_env(&mut table, env)?;
        let tunable_base = crate::tunable::sections(&table);
        let raw: RawConfig =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let key = e.path().to_string();
                key_err(
                    if key == "." { "relais.toml" } else { &key },
                    e.into_inner().to_string().trim(),
                )
            })?;
        let mut settings = validate(raw, workspace)?;
        // `[inactivity]`, `[handoff]`, `[sla]`, `[costs]`: checked here, used as the
        // base the Settings page lays its values over.
        crate::tunable::resolve(&tunable_base, &toml::Table::new())?;
        settings.tunable_base = tunable_base;
        Ok(settings)
    }
}

/// `RELAIS__SECTION__KEY=value` sets `section.key`. The value is read as a TOML value
/// when it is one (`8`, `true`, `"x"`), else as a string.
fn overlay_env(table: &mut toml::Table, env: &[(String, String)]) -> Result<(), Error> {
    for (name, value) in env {
        let Some(rest) = name.strip_prefix("RELAIS__") else {
            continue;
        };
        let parts: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
        if parts.len() != 2 || parts.iter().any(String::is_empty) {
            return Err(key_err(
                name,
                "environment settings are RELAIS__SECTION__KEY",
            ));
        }
        let parsed = format!("v = {value}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.clone()));
        // Secrets are always strings, whatever they look like.
        let parsed = if parts[0] == "secrets" {
            toml::Value::String(value.clone())
        } else {
            parsed
        };
        let section = table
            .entry(parts[0].clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        match section {
            toml::Value::Table(t) => {
                t.insert(parts[1].clone(), parsed);
            }
            _ => return Err(key_err(&parts[0], "must be a table")),
        }
    }
    Ok(())
}

pub(crate) fn duration(key: &str, v: Option<String>, default: Duration) -> Result<Duration, Error> {
    match v {
        None => Ok(default),
        Some(t) => Duration::parse(&t).map_err(|e| key_err(key, e.to_string())),
    }
}

// Long by design: one block per setting, each naming its key in its error.
fn validate(raw: RawConfig, workspace: &Path) -> Result<Settings, Error> {
    let guard = crate::guard::validate(raw.login, &raw.server)?;
    let listen_text = raw.server.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        key_err(
            "server.listen",
            format!("{listen_text:?} is not an address such as 127.0.0.1:8080"),
        )
    })?;
    let public_url = match raw.server.public_url.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(u) => match url::Url::parse(u) {
            Ok(p)
                if matches!(p.scheme(), "https" | "http")
                    && p.host().is_some()
                    && p.query().is_none() =>
            {
                Some(u.trim_end_matches('/').to_owned())
            }
            _ => {
                return Err(key_err(
                    "server.public_url",
                    format!("{u:?} is not an http(s) address such as https://support.example.com"),
                ));
            }
        },
    };
    let data_dir = workspace.join(raw.server.data_dir.unwrap_or_else(|| "data".into()));
    let synchronous_full = match raw.database.synchronous.as_deref() {
        None | Some("full") => true,
        Some("normal") => false,
        Some(other) => {
            return Err(key_err(
                "database.synchronous",
                format!("{other:?} is not one of full, normal"),
            ));
        }
    };
    let database = match raw.database.url {
        None => Database::Sqlite {
            path: data_dir.join("relais.db"),
            synchronous_full,
        },
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Database::Postgres {
                url: Secret(url),
                max_connections: raw.database.max_connections.unwrap_or(16).clamp(1, 1000) as usize,
                ca_file: raw.database.ca_file.as_ref().map(|f| workspace.join(f)),
            }
        }
        Some(url) => match url.strip_prefix("sqlite://") {
            Some(p) if !p.is_empty() => Database::Sqlite {
                path: workspace.join(p),
                synchronous_full,
            },
            _ => {
                return Err(key_err(
                    "database.url",
                    "must be sqlite://PATH or postgres://USER@HOST:PORT/DB (the value is not shown: it may hold a password)",
                ));
            }
        },
    };
    let log_format = match raw.log.format.as_deref() {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            return Err(key_err(
                "log.format",
                format!("{other:?} is not one of text, json"),
            ));
        }
    };
    let log_level = raw.log.level.unwrap_or_else(|| "info".into());
    if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
        return Err(key_err(
            "log.level",
            format!("{log_level:?} is not a level such as info or relais=debug"),
        ));
    }
    // 20 attempts from 1 s doubling to 10 min: about 2 h 20 min of retries, so that a
    // provider outage of many minutes (or an hour) ends with every message sent.
    let max_attempts = raw.outbox.max_attempts.unwrap_or(20);
    if !(1..=100).contains(&max_attempts) {
        return Err(key_err("outbox.max_attempts", "must be between 1 and 100"));
    }
    let max_body = raw.limits.max_body_bytes.unwrap_or(64 * 1024);
    if !(1024..=16 * 1024 * 1024).contains(&max_body) {
        return Err(key_err(
            "limits.max_body_bytes",
            "must be between 1024 and 16777216",
        ));
    }
    let max_text = raw.limits.max_text_chars.unwrap_or(4096);
    if !(1..=1_000_000).contains(&max_text) {
        return Err(key_err(
            "limits.max_text_chars",
            "must be between 1 and 1000000",
        ));
    }
    let escalation = escalation(raw.escalation)?;
    let mut http_reach = Reach {
        private: raw.http.allow_private.unwrap_or(false),
        allow: Vec::new(),
    };
    for (i, text) in raw.http.allow.unwrap_or_default().iter().enumerate() {
        http_reach
            .allow
            .push(Target::parse(text).map_err(|e| key_err(&format!("http.allow[{i}]"), &e))?);
    }
    let mut http_ca_pem = None;
    let http_tls = match &raw.http.ca_file {
        None => crate::tls::default_tls(),
        Some(f) => {
            let path = workspace.join(f);
            let pem = std::fs::read(&path).map_err(|e| {
                key_err(
                    "http.ca_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let tls = crate::tls::with_ca(&pem)
                .map_err(|e| key_err("http.ca_file", format!("{}: {e}", path.display())))?;
            http_ca_pem = Some(pem);
            tls
        }
    };
    let mut secrets = BTreeMap::new();
    for (k, v) in raw.secrets {
        secrets.insert(k.to_lowercase(), Secret(v));
    }
    Ok(Settings {
        listen,
        public_url,
        data_dir,
        shutdown_grace: duration(
            "server.shutdown_grace",
            raw.server.shutdown_grace,
            Duration::seconds(30),
        )?,
        database,
        log_level,
        log_format,
        outbox_max_attempts: max_attempts,
        outbox_backoff_base: duration(
            "outbox.backoff_base",
            raw.outbox.backoff_base,
            Duration::seconds(1),
        )?,
        outbox_backoff_max: duration(
            "outbox.backoff_max",
            raw.outbox.backoff_max,
            Duration::minutes(10),
        )?,
        outbox_send_timeout: duration(
            "outbox.send_timeout",
            raw.outbox.send_timeout,
            Duration::seconds(10),
        )?,
        outbox_concurrency: raw.outbox.concurrency.unwrap_or(16).clamp(1, 1024) as usize,
        timer_window: duration("timers.window", raw.timers.window, Duration::minutes(5))?,
        max_body_bytes: max_body as usize,
        max_text_chars: max_text as usize,
        nudge_after: duration(
            "bot.nudge_after",
            raw.bot.nudge_after,
            Duration::minutes(10),
        )?,
        secrets,
        escalation,
        http_reach,
        http_tls,
        http_ca_pem,
        guard,
        retention: retention(&raw.retention)?,
        mask: privacy_mask(&raw.privacy)?,
        region: privacy_region(&raw.privacy)?,
        nlu: nlu(&raw.nlu)?,
        tunable_base: toml::Table::new(),
    })
}

/// The environment, as pairs (tests pass their own).
pub fn process_env() -> Vec<(String, String)> {
    std::env::vars().collect()
}

#[cfg(test)]
mod tests;
