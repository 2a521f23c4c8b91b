//! The `/api/v1` agent and admin API of the foundation: login and tokens, channels,
//! agents, and reading conversations (transcript and events). Every route but
//! `auth/login` needs a bearer token; each checks its permission.

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, Caller, ClientAddr};
use crate::auth::password::HashError;
use crate::auth::throttle::{Lockout, Throttle, Verdict};
use crate::auth::{self, Permission};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use relais_core::Duration;
use relais_core::agent::Role;
use relais_core::event::{Actor, Event, EventKind};
use relais_core::id::{AgentId, ChannelId, MessageId};
use relais_store::{NewAgent, NewChannel, NewToken};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/me", get(me))
        .route("/api/v1/channels", get(list_channels).post(create_channel))
        .route("/api/v1/channels/{id}", put(update_channel))
        .route("/api/v1/channels/{id}/enable", post(enable_channel))
        .route("/api/v1/channels/{id}/disable", post(disable_channel))
        .route("/api/v1/agents", get(list_agents).post(create_agent))
        .route("/api/v1/agents/{id}/deactivate", post(deactivate_agent))
        .route("/api/v1/agents/{id}/activate", post(activate_agent))
        .route("/api/v1/messages/{id}/attempts", get(message_attempts))
}

const SESSION_HOURS: i64 = 12;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    email: String,
    password: String,
    /// The second factor, once enabled: a current TOTP code or a recovery code.
    #[serde(default)]
    otp: Option<String>,
}

async fn login(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<Value>, ApiError> {
    let done = authenticate(&s, ip, &req.email, req.password, req.otp.as_deref()).await?;
    Ok(Json(json!({
        "token": done.token, "expires_at": done.expires_at, "agent": done.agent,
        "totp_required": done.must_enrol,
    })))
}

/// A session opened by [`authenticate`].
pub(crate) struct LoggedIn {
    pub token: String,
    pub agent: relais_store::Agent,
    pub expires_at: Option<relais_core::Timestamp>,
    /// The session may only enrol a second factor (its role requires one).
    pub must_enrol: bool,
}

/// Checks an email, password and second factor and opens a session: the ONE login of
/// the API and the web pages.
pub(crate) async fn authenticate(
    s: &AppState,
    ip: std::net::IpAddr,
    email: &str,
    password: String,
    otp: Option<&str>,
) -> Result<LoggedIn, ApiError> {
    // The order of the steps is the defence: the throttle before any hashing, the same
    // work for unknown emails, one audit record per lockout, not per try.
    let email = email.trim().to_lowercase();
    let now = s.rt.clock.now();
    if let Verdict::Wait(ms) = lock(&s.throttle).check(&email, ip, now.0) {
        return Err(too_many_tries(ms));
    }
    let found = s.rt.store.agent_by_email(&email).await?;
    let (agent, hash) = match found {
        Some((agent, hash)) if !agent.disabled => (Some(agent), hash),
        _ => (None, None),
    };
    // Unknown, disabled or password-less accounts cost the same as known ones.
    let ok = s
        .passwords
        .verify(password, hash)
        .await
        .map_err(|e| match e {
            HashError::Busy => ApiError::TooManyRequests {
                message: e.to_string(),
                retry_after_s: 1,
            },
            other => ApiError::Internal(other.to_string()),
        })?;
    let Some(agent) = agent.filter(|_| ok) else {
        record_lockout(s, &email, ip, now).await?;
        return Err(ApiError::Unauthorized("wrong email or password".into()));
    };
    // The password is right; the second factor, when there is one, must be too.
    let enrolled = s.rt.store.totp(agent.id).await?.is_some_and(|t| t.enabled);
    if enrolled {
        second_factor(s, agent.id, otp, &email, ip, now).await?;
    }
    lock(&s.throttle).succeeded(&email);
    // A role that must have a second factor and has none gets a session that can only
    // enrol (`totp` scope), for a short while.
    let must_enrol = !enrolled && s.guard.require_totp.contains(&agent.role);
    let (token, expires_at) = open_session(s, agent.id, ip, now, must_enrol).await?;
    Ok(LoggedIn {
        token,
        agent,
        expires_at,
        must_enrol,
    })
}

/// A wrong password (or an unknown or disabled account) counted by the throttle; a
/// lockout it starts is recorded.
async fn record_lockout(
    s: &AppState,
    email: &str,
    ip: std::net::IpAddr,
    now: relais_core::Timestamp,
) -> Result<(), ApiError> {
    let lockout = lock(&s.throttle).failed(email, ip, now.0);
    if let Some(lockout) = lockout {
        // One record per lockout (its wait doubles each time), never one per try.
        let data = match lockout {
            Lockout::Account { wait_ms } => {
                json!({ "action": "login_throttled", "scope": "account", "wait_ms": wait_ms })
            }
            Lockout::Address { wait_ms, accounts } => json!({
                "action": "login_throttled", "scope": "address", "wait_ms": wait_ms,
                "accounts": accounts, "address": ip.to_string(),
            }),
        };
        s.rt.store
            .record_event(Event::new(EventKind::AdminAction, Actor::System, now, data))
            .await?;
    }
    Ok(())
}

/// The enrolled agent's second factor: `otp`, a current code or a recovery code.
async fn second_factor(
    s: &AppState,
    agent: AgentId,
    otp: Option<&str>,
    email: &str,
    ip: std::net::IpAddr,
    now: relais_core::Timestamp,
) -> Result<(), ApiError> {
    let Some(otp) = otp.filter(|o| !o.trim().is_empty()) else {
        return Err(ApiError::Unauthorized(
            "this account has a second factor: send its current code (or a recovery code) as \"otp\"".into(),
        ));
    };
    if !super::totp::second_factor_ok(s, agent, otp).await? {
        if let Some(Lockout::Account { wait_ms }) = lock(&s.throttle).failed(email, ip, now.0) {
            tracing::warn!(agent = %agent, wait_ms, "second factor failures: throttled");
        }
        return Err(ApiError::Unauthorized("wrong one-time code".into()));
    }
    Ok(())
}

/// A new session's token for the agent (only to enrol a second factor, and short, when
/// `must_enrol`), recorded with the client's address; the token and its expiry.
async fn open_session(
    s: &AppState,
    agent: AgentId,
    ip: std::net::IpAddr,
    now: relais_core::Timestamp,
    must_enrol: bool,
) -> Result<(String, Option<relais_core::Timestamp>), ApiError> {
    let (scopes, life) = if must_enrol {
        (vec!["totp".to_owned()], Duration::minutes(15))
    } else {
        (vec!["*".to_owned()], Duration::minutes(60 * SESSION_HOURS))
    };
    let token = auth::new_token("rss");
    let info =
        s.rt.store
            .create_token(NewToken {
                agent,
                name: "session".into(),
                hash: auth::token_hash(&token),
                scopes,
                kind: "session".into(),
                created_at: now,
                expires_at: Some(now.plus(life)),
            })
            .await?;
    // One way to record it, with the session and the client's address.
    record_admin_action(
        s,
        agent,
        Via {
            token: Some(info.id),
            ip: Some(ip),
        },
        json!({ "action": "login" }),
    )
    .await?;
    Ok((token, info.expires_at))
}

fn lock(t: &std::sync::Mutex<Throttle>) -> std::sync::MutexGuard<'_, Throttle> {
    // The throttle holds counters only: a panic elsewhere cannot leave it unusable.
    t.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn too_many_tries(wait_ms: i64) -> ApiError {
    let retry_after_s = (wait_ms.max(0) as u64).div_ceil(1000).max(1);
    ApiError::TooManyRequests {
        message: format!(
            "too many failed logins for this account or from this address; try again in {retry_after_s} s"
        ),
        retry_after_s,
    }
}

async fn me(caller: Caller) -> Json<Value> {
    Json(json!({ "agent": caller.agent, "token": caller.token }))
}

async fn list_channels(State(s): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageChannels)?;
    let channels = s.rt.store.channels().await?;
    let public = s.rt.settings.public_url.as_deref();
    let list: Vec<Value> = channels
        .iter()
        .map(|c| {
            // Where the provider must send its webhooks (SPEC §6).
            let webhook_url = super::providers::KINDS
                .contains(&c.kind.as_str())
                .then(|| public.map(|p| format!("{p}/webhooks/{}/{}", c.kind, c.id)))
                .flatten();
            json!({ "id": c.id, "kind": c.kind, "name": c.name, "callback_url": c.callback_url,
                    "created_at": c.created_at, "enabled": c.enabled, "from_file": c.from_file,
                    "settings": c.settings, "fallback": c.fallback, "webhook_url": webhook_url })
        })
        .collect();
    Ok(Json(json!({ "channels": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChannelRequest {
    pub id: String,
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub callback_url: Option<String>,
    /// A provider channel's settings, as in channels.yaml.
    #[serde(default)]
    pub settings: Option<serde_json::Map<String, Value>>,
    /// A provider channel's secrets: role → the NAME of a `[secrets]` key.
    #[serde(default)]
    pub secrets: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    pub fallback: Option<String>,
    #[serde(default)]
    pub default_flow: Option<String>,
}

/// Replaces a provider channel made through the API (its settings, secrets, fallback,
/// default flow), with the checks of channels.yaml; recorded.
async fn update_channel(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ChannelRequest>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageChannels)?;
    let id = ChannelId::parse(&id).map_err(|e| ApiError::NotFound(format!("channel: {e}")))?;
    if !super::providers::KINDS.contains(&req.kind.as_str()) {
        return Err(ApiError::field(
            "kind",
            "only a provider channel has settings to change (a REST channel's token is rotated instead)",
        ));
    }
    let updated = super::providers::update_channel(&s, &id, req).await?;
    admin_event(
        &s,
        &caller,
        json!({ "action": "channel_updated", "channel": updated["id"] }),
    )
    .await?;
    Ok(Json(updated))
}

/// Turns a channel made through the API on or off (and records it); the API's and
/// the Channels page's one way.
pub async fn switch_channel(
    s: &AppState,
    agent: AgentId,
    via: Via,
    id: &str,
    enabled: bool,
) -> Result<relais_store::Channel, ApiError> {
    let id = ChannelId::parse(id).map_err(|e| ApiError::field("id", e))?;
    let channel = s.rt.store.set_channel_enabled(&id, enabled).await?;
    s.rt.reload_channels().await?;
    s.rt.announce_change(s.rt.clock.now()).await;
    record_admin_action(
        s,
        agent,
        via,
        json!({
            "action": if enabled { "channel_enabled" } else { "channel_disabled" },
            "channel": id,
        }),
    )
    .await?;
    Ok(channel)
}

/// `POST /api/v1/channels/{id}/enable`: a channel made through the API takes messages again.
async fn enable_channel(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    switched(&s, &caller, &id, true).await
}

/// `POST /api/v1/channels/{id}/disable`: a channel made through the API stops taking
/// messages (its history stays); one of channels.yaml is the file's to change (409).
async fn disable_channel(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    switched(&s, &caller, &id, false).await
}

async fn switched(
    s: &AppState,
    caller: &Caller,
    id: &str,
    enabled: bool,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageChannels)?;
    let c = switch_channel(s, caller.agent.id, caller.via(), id, enabled).await?;
    Ok(Json(json!({ "id": c.id, "enabled": c.enabled })))
}

async fn create_channel(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<ChannelRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Permission::ManageChannels)?;
    let id = ChannelId::parse(&req.id).map_err(|e| ApiError::field("id", e))?;
    if super::providers::KINDS.contains(&req.kind.as_str()) {
        let created = super::providers::create_channel(&s, req).await?;
        admin_event(
            &s,
            &caller,
            json!({ "action": "channel_created", "channel": created["id"] }),
        )
        .await?;
        return Ok((StatusCode::CREATED, Json(created)));
    }
    if req.kind != "rest" {
        return Err(ApiError::field(
            "kind",
            format!(
                "kind {:?} is not available yet; use rest, {}",
                req.kind,
                super::providers::KINDS.join(", ")
            ),
        ));
    }
    if req.settings.is_some() || req.secrets.is_some() {
        return Err(ApiError::field(
            "secrets",
            "a REST channel takes no settings or secrets: its token is made for it",
        ));
    }
    if let Some(url) = &req.callback_url
        && (!(url.starts_with("http://") || url.starts_with("https://"))
            || reqwest::Url::parse(url).is_err())
    {
        return Err(ApiError::field(
            "callback_url",
            "callback_url must be an http:// or https:// URL",
        ));
    }
    let token = auth::new_token("rch");
    let secret = req.callback_url.as_ref().map(|_| auth::new_token("rcs"));
    let created =
        s.rt.store
            .create_channel(NewChannel {
                id: id.clone(),
                kind: req.kind,
                name: req.name.unwrap_or_else(|| id.to_string()),
                token_hash: Some(auth::token_hash(&token)),
                callback_url: req.callback_url,
                callback_secret: secret.clone(),
                created_at: s.rt.clock.now(),
            })
            .await?;
    s.rt.reload_channels().await?;
    s.rt.announce_change(s.rt.clock.now()).await;
    admin_event(
        &s,
        &caller,
        json!({ "action": "channel_created", "channel": created.id }),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": created.id, "kind": created.kind, "name": created.name,
            "token": token, "callback_secret": secret,
            "note": "the token and callback secret are shown once",
        })),
    ))
}

async fn list_agents(State(s): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageAgents)?;
    Ok(Json(json!({ "agents": s.rt.store.agents().await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentRequest {
    email: String,
    name: String,
    role: String,
    password: String,
    #[serde(default)]
    capacity: Option<i64>,
    /// Team ids the agent joins.
    #[serde(default)]
    teams: Vec<String>,
}

/// Checks an agent's fields; shared with the CLI's `admin create-agent`.
pub fn check_agent(email: &str, name: &str, role: &str, password: &str) -> Result<Role, ApiError> {
    let email_ok = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(a, b)| !a.is_empty() && b.contains('.'));
    if !email_ok {
        return Err(ApiError::field(
            "email",
            format!("{email:?} is not an email address"),
        ));
    }
    if name.trim().is_empty() || name.len() > 100 {
        return Err(ApiError::field("name", "name must be 1 to 100 characters"));
    }
    let role = Role::parse(role).ok_or_else(|| {
        ApiError::field(
            "role",
            format!("role {role:?} is not one of admin, supervisor, agent"),
        )
    })?;
    auth::rules::check_new_password(password, email)
        .map_err(|why| ApiError::field("password", why))?;
    Ok(role)
}

async fn create_agent(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<AgentRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Permission::ManageAgents)?;
    let email = req.email.trim().to_lowercase();
    let role = check_agent(&email, &req.name, &req.role, &req.password)?;
    let capacity = req.capacity.unwrap_or(5);
    if !(0..=1000).contains(&capacity) {
        return Err(ApiError::field(
            "capacity",
            "capacity must be between 0 and 1000",
        ));
    }
    let hash = s.passwords.hash(req.password).await.map_err(|e| match e {
        HashError::Busy => ApiError::TooManyRequests {
            message: e.to_string(),
            retry_after_s: 1,
        },
        other => ApiError::Internal(other.to_string()),
    })?;
    let agent =
        s.rt.store
            .create_agent(NewAgent {
                email,
                name: req.name,
                role,
                password_hash: Some(hash),
                capacity,
                created_at: s.rt.clock.now(),
            })
            .await?;
    if !req.teams.is_empty() {
        s.rt.store
            .set_agent_teams(agent.id, req.teams.clone())
            .await
            .map_err(|e| match e {
                relais_store::Error::NotFound(what) => {
                    ApiError::field("teams", format!("{what} does not exist"))
                }
                other => other.into(),
            })?;
    }
    admin_event(
        &s,
        &caller,
        json!({ "action": "agent_created", "agent": agent.id, "role": agent.role, "teams": req.teams }),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "agent": agent }))))
}

async fn message_attempts(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    let viewer = relais_store::Viewer {
        agent: caller.agent.id,
        role: caller.agent.role,
    };
    // Ids are sequential: a message of a conversation one may not see is "not found".
    let attempts =
        s.rt.store
            .attempts_for(viewer, MessageId(id))
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("message {id} not found")))?;
    Ok(Json(json!({ "attempts": attempts })))
}

crate::api_body!(LoginRequest);
crate::api_body!(ChannelRequest => ManageChannels);
crate::api_body!(AgentRequest => ManageAgents);

/// Disables an agent: sessions and tokens revoked, their open conversations back to the
/// queue (SPEC §5's handoff rules then assign them).
async fn deactivate_agent(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageAgents)?;
    // The store records the admin action in the same transaction.
    s.rt.deactivate_agent(AgentId(id), caller.agent.id).await?;
    Ok(Json(json!({ "agent": id, "disabled": true })))
}

async fn activate_agent(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageAgents)?;
    s.rt.store
        .activate_agent(AgentId(id), caller.agent.id, s.rt.clock.now())
        .await?;
    Ok(Json(json!({ "agent": id, "disabled": false })))
}

/// Records what an admin did, with who did it and from where.
pub async fn admin_event(s: &AppState, caller: &Caller, data: Value) -> Result<(), ApiError> {
    record_admin_action(s, caller.agent.id, caller.via(), data).await
}

/// Where an admin change came from: the token (a session's too) and the client's
/// address, for the audit log.
#[derive(Debug, Clone, Copy, Default)]
pub struct Via {
    pub token: Option<i64>,
    pub ip: Option<std::net::IpAddr>,
}

/// Records what an admin did (the API's and the workspace pages' one way). The store
/// writes its audit log row (`change:…`) with it; `via` goes in as `via_token` and
/// `from_ip`.
pub async fn record_admin_action(
    s: &AppState,
    agent: relais_core::id::AgentId,
    via: Via,
    mut data: Value,
) -> Result<(), ApiError> {
    if let Some(map) = data.as_object_mut() {
        if let Some(t) = via.token {
            map.insert("via_token".into(), t.into());
        }
        if let Some(ip) = via.ip {
            map.insert("from_ip".into(), ip.to_string().into());
        }
    }
    s.rt.store
        .record_event(Event::new(
            EventKind::AdminAction,
            Actor::Agent(agent),
            s.rt.clock.now(),
            data,
        ))
        .await?;
    Ok(())
}
