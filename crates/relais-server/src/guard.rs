//! Settings that bound what a stranger can make the server do: login throttling and
//! password hashing (`[login]`), connection limits and timeouts (`[server]`), and who
//! may read `/metrics`. Read from the raw config by [`crate::config`], validated here.

use crate::auth::throttle::Limits;
use crate::config::{Error, RawServer, duration, key_err};
use relais_core::Duration;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogin {
    /// Wrong passwords on one account before it must wait.
    pub free_failures: Option<u32>,
    /// Distinct accounts that may fail from one address before it must wait.
    pub accounts_per_address: Option<u32>,
    pub backoff_base: Option<String>,
    pub backoff_max: Option<String>,
    pub forget_after: Option<String>,
    /// Threads hashing passwords (at most the number of cores).
    pub hash_workers: Option<u32>,
    /// Roles that must use a second factor (TOTP): e.g. ["admin", "supervisor"].
    pub require_totp: Option<Vec<String>>,
}

/// Who may read `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAccess {
    /// Anyone when the server listens on loopback; else an admin token (the default).
    Auto,
    Open,
    /// An admin token, always.
    Token,
}

#[derive(Debug, Clone)]
pub struct Guard {
    pub login: Limits,
    pub hash_workers: usize,
    /// A client must send its request's headers within this.
    pub header_timeout: std::time::Duration,
    /// A whole request body must arrive within this.
    pub body_timeout: std::time::Duration,
    /// A keep-alive connection with no request in flight is closed after this.
    pub idle_timeout: std::time::Duration,
    /// Connections beyond this wait in the kernel's backlog.
    pub max_connections: usize,
    pub metrics: MetricsAccess,
    /// Roles that must log in with a second factor.
    pub require_totp: Vec<relais_core::agent::Role>,
    /// Live streams (`/api/v1/stream`) open at once, per agent and in all.
    pub streams_per_agent: usize,
    pub streams_per_server: usize,
    /// A comment line on idle live streams this often (proxies close silent ones).
    pub stream_heartbeat: std::time::Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client (login throttling).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for Guard {
    fn default() -> Self {
        Guard {
            login: Limits::default(),
            hash_workers: 2,
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(30),
            idle_timeout: std::time::Duration::from_secs(60),
            max_connections: 2048,
            metrics: MetricsAccess::Auto,
            require_totp: Vec::new(),
            streams_per_agent: 5,
            streams_per_server: 1000,
            stream_heartbeat: std::time::Duration::from_secs(15),
            trusted_proxies: Vec::new(),
        }
    }
}

/// A duration setting: default, then above 0 and at most `max`.
fn bounded(
    key: &str,
    v: Option<String>,
    default: Duration,
    max: Duration,
) -> Result<Duration, Error> {
    let d = duration(key, v, default)?;
    if d.0 <= 0 || d > max {
        return Err(key_err(key, format!("must be above 0 and at most {max}")));
    }
    Ok(d)
}

/// A count setting: default, then within `range`.
fn count(
    key: &str,
    v: Option<u32>,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, Error> {
    let n = v.unwrap_or(default);
    if !range.contains(&n) {
        return Err(key_err(
            key,
            format!("must be between {} and {}", range.start(), range.end()),
        ));
    }
    Ok(n)
}

fn std_duration(d: Duration) -> std::time::Duration {
    std::time::Duration::from_millis(d.0.max(0) as u64)
}

pub fn validate(login: RawLogin, server: &RawServer) -> Result<Guard, Error> {
    let d = Guard::default();
    let hour = Duration::hours(1);
    let (base, max, forget) = backoff(login.backoff_base, login.backoff_max, login.forget_after)?;
    let timeout = |key: &str, v: &Option<String>, default_s: i64| {
        bounded(key, v.clone(), Duration::seconds(default_s), hour).map(std_duration)
    };
    let metrics = metrics_access(server.metrics.as_deref())?;
    let require_totp = roles_requiring_totp(login.require_totp)?;
    let trusted_proxies = trusted_proxies(server.trusted_proxies.as_deref())?;
    Ok(Guard {
        login: Limits {
            free_failures: count("login.free_failures", login.free_failures, 5, 1..=1000)?,
            accounts_per_address: count(
                "login.accounts_per_address",
                login.accounts_per_address,
                5,
                1..=10_000,
            )?,
            base_ms: base.0,
            max_ms: max.0,
            forget_after_ms: forget.0,
            max_entries: d.login.max_entries,
        },
        hash_workers: login.hash_workers.unwrap_or(2).clamp(1, 64) as usize,
        header_timeout: timeout("server.header_timeout", &server.header_timeout, 10)?,
        body_timeout: timeout("server.body_timeout", &server.body_timeout, 30)?,
        idle_timeout: timeout("server.idle_timeout", &server.idle_timeout, 60)?,
        max_connections: count(
            "server.max_connections",
            server.max_connections,
            2048,
            1..=1_000_000,
        )? as usize,
        metrics,
        require_totp,
        streams_per_agent: count(
            "server.streams_per_agent",
            server.streams_per_agent,
            5,
            1..=1000,
        )? as usize,
        streams_per_server: count(
            "server.streams_per_server",
            server.streams_per_server,
            1000,
            1..=100_000,
        )? as usize,
        stream_heartbeat: timeout("server.stream_heartbeat", &server.stream_heartbeat, 15)?,
        trusted_proxies,
    })
}

/// `login.backoff_base`, `login.backoff_max` (not below the base) and
/// `login.forget_after`.
fn backoff(
    base: Option<String>,
    max: Option<String>,
    forget: Option<String>,
) -> Result<(Duration, Duration, Duration), Error> {
    let day = Duration::days(1);
    let base = bounded("login.backoff_base", base, Duration::seconds(1), day)?;
    let max = bounded("login.backoff_max", max, Duration::minutes(15), day)?;
    if max < base {
        return Err(key_err(
            "login.backoff_max",
            "must be at least login.backoff_base",
        ));
    }
    let forget = bounded("login.forget_after", forget, Duration::minutes(15), day)?;
    Ok((base, max, forget))
}

/// `server.metrics`: auto (the default), open or token.
fn metrics_access(v: Option<&str>) -> Result<MetricsAccess, Error> {
    Ok(match v {
        None | Some("auto") => MetricsAccess::Auto,
        Some("open") => MetricsAccess::Open,
        Some("token") => MetricsAccess::Token,
        Some(other) => {
            return Err(key_err(
                "server.metrics",
                format!("{other:?} is not one of auto, open, token"),
            ));
        }
    })
}

/// `login.require_totp`: role names.
fn roles_requiring_totp(
    names: Option<Vec<String>>,
) -> Result<Vec<relais_core::agent::Role>, Error> {
    let mut require_totp = Vec::new();
    for (i, r) in names.unwrap_or_default().iter().enumerate() {
        require_totp.push(relais_core::agent::Role::parse(r).ok_or_else(|| {
            key_err(
                &format!("login.require_totp[{i}]"),
                format!("{r:?} is not one of admin, supervisor, agent"),
            )
        })?);
    }
    Ok(require_totp)
}

/// `server.trusted_proxies`: IP addresses.
fn trusted_proxies(texts: Option<&[String]>) -> Result<Vec<std::net::IpAddr>, Error> {
    let mut trusted_proxies = Vec::new();
    for (i, text) in texts.iter().copied().flatten().enumerate() {
        trusted_proxies.push(text.trim().parse().map_err(|_| {
            key_err(
                &format!("server.trusted_proxies[{i}]"),
                format!("{text:?} is not an IP address such as 10.0.0.2"),
            )
        })?);
    }
    Ok(trusted_proxies)
}
