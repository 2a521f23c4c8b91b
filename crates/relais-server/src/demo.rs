//! `relais demo` and `relais init`: a ready-to-try server on an embedded SQLite
//! database, with a REST channel and an admin whose credentials are printed once.

use crate::auth;
use crate::config::Settings;
use relais_core::Timestamp;
use relais_core::agent::Role;
use relais_core::id::ChannelId;
use relais_store::{NewAgent, NewChannel, Store};
use std::path::Path;

pub const DEMO_CHANNEL: &str = "demo";
pub const DEMO_ADMIN: &str = "admin@relais.local";
/// An agent of the demo's support team (teams.yaml).
pub const DEMO_AGENT: &str = "alice@example.com";

/// Credentials created for a demo, printed once.
#[derive(Debug, serde::Serialize)]
pub struct DemoCredentials {
    pub channel: String,
    pub channel_token: String,
    pub admin_email: String,
    /// `None` when the admin already existed (its password is unchanged).
    pub admin_password: Option<String>,
    pub admin_token: String,
    /// A demo agent of the support team (from teams.yaml), with an API token.
    pub agent_email: Option<String>,
    /// Her password for the agent workspace; `None` when she already had one.
    pub agent_password: Option<String>,
    pub agent_token: Option<String>,
}

/// Creates (or refreshes) the demo channel and admin in `store`, with new tokens.
pub async fn prepare(store: &dyn Store, now: Timestamp) -> Result<DemoCredentials, String> {
    prepare_kept(store, now, None).await
}

/// The demo's tokens, kept in its data folder (mode 0600) so that a restart on the same
/// folder reuses them instead of minting one more admin token each time.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Kept {
    channel_token: Option<String>,
    admin_token: Option<String>,
    agent_token: Option<String>,
}

fn read_kept(path: Option<&Path>) -> Kept {
    path.and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_kept(path: &Path, kept: &Kept) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let text = serde_json::to_vec_pretty(kept).map_err(|e| e.to_string())?;
    options
        .open(path)
        .and_then(|mut f| f.write_all(&text))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `kept` as a token if it is still live for `agent`; else a new token (named `demo`),
/// after revoking the agent's older `demo` tokens.
async fn demo_token(
    store: &dyn Store,
    agent: relais_core::id::AgentId,
    kept: Option<String>,
    scopes: Vec<String>,
    now: Timestamp,
) -> Result<String, String> {
    if let Some(token) = kept
        && let Some((info, owner)) = store
            .token_by_hash(&auth::token_hash(&token), now)
            .await
            .map_err(|e| e.to_string())?
        && owner.id == agent
        && info.scopes == scopes
    {
        return Ok(token);
    }
    for old in store
        .tokens(Some(agent), now)
        .await
        .map_err(|e| e.to_string())?
    {
        if old.name == "demo" {
            store
                .revoke_token(old.id, agent, now)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    let token = auth::new_token("rat");
    store
        .create_token(relais_store::NewToken {
            agent,
            name: "demo".into(),
            hash: auth::token_hash(&token),
            scopes,
            kind: "api".into(),
            created_at: now,
            expires_at: None,
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(token)
}

/// [`prepare`], keeping the tokens in `keep` (a file) across restarts.
pub async fn prepare_kept(
    store: &dyn Store,
    now: Timestamp,
    keep: Option<&Path>,
) -> Result<DemoCredentials, String> {
    let kept = read_kept(keep);
    let channel_token = demo_channel(store, kept.channel_token, now).await?;
    let (admin, admin_password) = demo_admin(store, now).await?;
    let admin_token = demo_token(
        store,
        admin.id,
        kept.admin_token,
        vec!["admin".into(), "conversations:read".into(), "tokens".into()],
        now,
    )
    .await?;
    let (agent_email, agent_password, agent_token) =
        demo_agent(store, kept.agent_token, now).await?;
    if let Some(path) = keep {
        write_kept(
            path,
            &Kept {
                channel_token: Some(channel_token.clone()),
                admin_token: Some(admin_token.clone()),
                agent_token: agent_token.clone(),
            },
        )?;
    }
    Ok(DemoCredentials {
        channel: DEMO_CHANNEL.into(),
        channel_token,
        admin_email: DEMO_ADMIN.into(),
        admin_password,
        admin_token,
        agent_email,
        agent_password,
        agent_token,
    })
}

/// The demo REST channel, created if missing, with `kept` as its token when it is one
/// (else a new token); the token.
async fn demo_channel(
    store: &dyn Store,
    kept: Option<String>,
    now: Timestamp,
) -> Result<String, String> {
    let channel = ChannelId(DEMO_CHANNEL.into());
    let channel_token = kept
        .filter(|t| t.starts_with("rch_"))
        .unwrap_or_else(|| auth::new_token("rch"));
    let hash = auth::token_hash(&channel_token);
    if !store
        .set_channel_token(&channel, &hash)
        .await
        .map_err(|e| e.to_string())?
    {
        store
            .create_channel(NewChannel {
                id: channel,
                kind: "rest".into(),
                name: "Demo REST channel".into(),
                token_hash: Some(hash),
                callback_url: None,
                callback_secret: None,
                created_at: now,
            })
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(channel_token)
}

/// The demo admin, created if missing with a new password (returned only then).
async fn demo_admin(
    store: &dyn Store,
    now: Timestamp,
) -> Result<(relais_store::Agent, Option<String>), String> {
    let found = store
        .agent_by_email(DEMO_ADMIN)
        .await
        .map_err(|e| e.to_string())?;
    if let Some((agent, _)) = found {
        return Ok((agent, None));
    }
    let password = auth::new_token("pw")[3..27].to_owned();
    let hash = auth::hash_password(&password)?;
    let agent = store
        .create_agent(NewAgent {
            email: DEMO_ADMIN.into(),
            name: "Demo Admin".into(),
            role: Role::Admin,
            password_hash: Some(hash),
            capacity: 5,
            created_at: now,
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok((agent, Some(password)))
}

/// The demo workspace's first agent, who takes handed-off conversations at once: her
/// email, her new password (when she had none) and her API token; nothing when the
/// workspace has no such agent.
async fn demo_agent(
    store: &dyn Store,
    kept: Option<String>,
    now: Timestamp,
) -> Result<(Option<String>, Option<String>, Option<String>), String> {
    let found = store
        .agent_by_email(DEMO_AGENT)
        .await
        .map_err(|e| e.to_string())?;
    let Some((agent, hash)) = found else {
        return Ok((None, None, None));
    };
    let token = demo_token(
        store,
        agent.id,
        kept,
        vec!["conversations:read".into(), "conversations:write".into()],
        now,
    )
    .await?;
    // Agents from teams.yaml have no password: the demo gives her one, printed
    // once, to log in to the workspace.
    let password = match hash {
        Some(_) => None,
        None => {
            let password = auth::new_token("pw")[3..27].to_owned();
            store
                .set_password(agent.id, auth::hash_password(&password)?)
                .await
                .map_err(|e| e.to_string())?;
            Some(password)
        }
    };
    Ok((Some(DEMO_AGENT.to_owned()), password, Some(token)))
}

/// The page of the workspace's web chat (`web` if there is one, else the first), to
/// open in a browser.
pub async fn webchat_url(store: &dyn Store, url: &str) -> Result<Option<String>, String> {
    let channels = store.channels().await.map_err(|e| e.to_string())?;
    let mut chats: Vec<_> = channels
        .iter()
        .filter(|c| c.kind == "webchat" && c.enabled)
        .collect();
    chats.sort_by_key(|c| (c.id.as_str() != "web", c.id.as_str().to_owned()));
    Ok(chats.first().map(|c| format!("{url}/webchat/{}", c.id)))
}

pub fn banner(url: &str, webchat: Option<&str>, data: &Path, c: &DemoCredentials) -> String {
    let password = c
        .admin_password
        .as_deref()
        .unwrap_or("(unchanged: this folder already had an admin)");
    format!(
        "Relais demo is running at {url}\n\
         {chat}\
         \x20 agent workspace: {url}/ (log in as {email} / {password}{agent_login})\n\
         \x20 data folder : {data}\n\
         \x20 REST channel: {channel}\n\
         \x20 admin login : {email} / {password}\n\n\
         Try it (copy these lines):\n\
         \x20 export RELAIS_URL={url} RELAIS_TOKEN={token} RELAIS_ADMIN_TOKEN={admin_token}\n\
         \x20 curl -s $RELAIS_URL/api/v1/channels/{channel}/converse -H \"Authorization: Bearer $RELAIS_TOKEN\" \
         -H 'Content-Type: application/json' -d '{{\"sender\": \"alice\", \"text\": \"Hello\"}}'\n\
         \x20 curl -s $RELAIS_URL/api/v1/conversations -H \"Authorization: Bearer $RELAIS_ADMIN_TOKEN\"\n\
         {agent}\n\
         Press Ctrl-C to stop.\n",
        agent_login = match (&c.agent_email, &c.agent_password) {
            (Some(e), Some(p)) => format!(", or as the agent {e} / {p}"),
            _ => String::new(),
        },
        chat = match webchat {
            Some(w) => format!("\n  Chat with the demo bot in your browser: {w}\n\n"),
            None => String::new(),
        },
        data = data.display(),
        channel = c.channel,
        email = c.admin_email,
        token = c.channel_token,
        admin_token = c.admin_token,
        agent = match (&c.agent_email, &c.agent_token) {
            (Some(email), Some(token)) => format!(
                "\n  agent {email} (support, online): export RELAIS_AGENT_TOKEN={token}\n\
                 \x20 curl -s \"$RELAIS_URL/api/v1/conversations?view=mine\" -H \"Authorization: Bearer $RELAIS_AGENT_TOKEN\"\n"
            ),
            _ => String::new(),
        },
    )
}

pub const INIT_TOML: &str = r#"# relais.toml: server settings. Every key can also be set from the environment as
# RELAIS__SECTION__KEY (for example RELAIS__SERVER__LISTEN=0.0.0.0:8080).

[server]
listen = "127.0.0.1:8080"
data_dir = "data"            # the SQLite database lives here
shutdown_grace = "30s"

[database]
# url = "postgres://relais@127.0.0.1:5432/relais"   # to scale out; default: SQLite in data_dir
synchronous = "full"         # fsync before every acknowledgement

[log]
level = "info"
format = "text"              # text | json

[outbox]
max_attempts = 20           # 1 s doubling to 10 min: about 2 h 20 min of retries before a message fails
backoff_base = "1s"
backoff_max = "10m"
send_timeout = "10s"

[limits]
max_body_bytes = 65536
max_text_chars = 4096

[inactivity]                 # a customer silent while an agent waits
remind = "10m"               # asked whether they still need help
close = "30m"                # then the conversation is auto-solved (no survey)
close_status = "solved"      # solved | pending

[handoff]
auto_close = "4d"            # solved → closed
return_after = "15m"         # the assignee has not answered: back to the queue ("off")
away_limit = "15m"           # an agent away longer gives their conversations back ("off")
idle_after = "30m"           # an online agent with no activity becomes away ("off")
return_on_offline = true     # an agent going offline gives their open conversations back
csat = true                  # the 1–5 survey when an agent solves

[http]                       # flow `http` steps and webhooks
allow = []                   # private targets they may reach: "orders.internal", "10.0.0.5:8080"
allow_private = false        # every loopback, private and link-local address (not advised)

# [costs]                    # the reports' cost per contact (docs/kpis.md)
# per_conversation = 0.10    # what one conversation costs (platform, messages)
# agent_hour = 30.0          # what an hour of an agent costs
#
# [sla]                      # first-response targets: breaches in the reports
# first_response = "30m"
# [sla.teams]
# support = "15m"
#
# [retention]                # docs/privacy.md
# transcripts_after = "365d" # closed conversations older than this lose their transcript
# transcripts = "erase"      # or "anonymise": text kept, personal data replaced
# check_every = "1h"
#
# [privacy]
# mask = ["card", "iban"]    # masked in what customers and agents write, before it is kept
# region = "eu-west-1"       # recorded with the data; another region refuses it

# [nlu]                        # understanding (docs/understanding.md)
# intent_threshold = -0.4      # best margin under which a message is out of scope
# intent_min_similarity = 0.5  # least similarity to an intent's closest example (few examples)
# answer_min_score = 0.28      # least knowledge-base score for `answer` to send an article
# [escalation]
# frustration_model = true     # the sentence-encoder frustration model joins the lexicon

"#;

/// Writes a new workspace folder from the demo. Refuses to overwrite an existing `relais.toml`.
pub fn init(dir: &Path) -> Result<(), String> {
    let toml = dir.join("relais.toml");
    if toml.exists() {
        return Err(format!(
            "{} already exists; not overwriting it",
            toml.display()
        ));
    }
    write_workspace(dir)?;
    std::fs::write(dir.join(".gitignore"), "data/\n")
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    // The template must stay valid.
    Settings::load(dir, &[]).map_err(|e| e.to_string())?;
    Ok(())
}

/// Writes the demo workspace's files into `dir`, leaving files that exist alone.
pub fn write_workspace(dir: &Path) -> Result<(), String> {
    for (path, text) in crate::workspace::DEMO {
        let p = dir.join(path);
        if p.exists() {
            continue;
        }
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let text = if *path == "relais.toml" {
            format!("{text}\n{INIT_TOML}")
        } else {
            (*text).to_owned()
        };
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}

/// Copies a workspace's files (not its data folder or hidden files) into `to`, for
/// `relais demo --workspace` (and so `relais bench --workspace`): the demo then runs
/// on that copy and never writes into the user's folder.
pub fn copy_workspace(from: &Path, to: &Path) -> Result<(), String> {
    if !from.join("flows").is_dir() {
        return Err(format!(
            "{}: not a workspace (it has no flows/ folder)",
            from.display()
        ));
    }
    copy_tree(from, to, true)
}

fn copy_tree(from: &Path, to: &Path, top: bool) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for e in entries {
        let e = e.map_err(|e| format!("{}: {e}", from.display()))?;
        let name = e.file_name();
        let name_str = name.to_string_lossy();
        if name_str.starts_with('.') || (top && name_str == "data") {
            continue;
        }
        let kind = e.file_type().map_err(|e| format!("{}: {e}", e))?;
        let (src, dst) = (e.path(), to.join(&name));
        if kind.is_dir() {
            copy_tree(&src, &dst, false)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst).map_err(|e| format!("{}: {e}", src.display()))?;
        }
    }
    Ok(())
}

/// The demo's orders API on loopback: `GET /orders/{id}`, `GET /orders/{id}/slots`,
/// `POST /orders/{id}/reschedule`. Returns its base URL.
pub async fn serve_orders_api() -> Result<String, String> {
    use axum::extract::Path as P;
    use axum::routing::{get, post};
    use axum::{Json, Router};
    use serde_json::{Value, json};
    fn order(id: &str) -> Option<Value> {
        let (status, fr, it, eta) = match id {
            "A123" => ("shipped", "expédiée", "spedito", "2026-11-25"),
            "A124" => (
                "preparing",
                "en préparation",
                "in preparazione",
                "2026-11-28",
            ),
            "A125" => ("delivered", "livrée", "consegnato", "2026-11-20"),
            _ => return None,
        };
        Some(json!({ "id": id, "status": status, "status_fr": fr, "status_it": it, "eta": eta }))
    }
    const SLOTS: [(&str, &str); 3] = [
        ("s1", "2026-11-26 09:00-12:00"),
        ("s2", "2026-11-26 14:00-18:00"),
        ("s3", "2026-11-27 09:00-12:00"),
    ];
    let not_found = || {
        (
            axum::http::StatusCode::NOT_FOUND,
            Json(json!({ "error": "not found" })),
        )
    };
    let app = Router::new()
        .route(
            "/orders/{id}",
            get(move |P(id): P<String>| async move { order(&id).map(Json).ok_or_else(not_found) }),
        )
        .route(
            "/orders/{id}/slots",
            get(move |P(id): P<String>| async move {
                order(&id).ok_or_else(not_found)?;
                let slots: Vec<Value> = SLOTS
                    .iter()
                    .map(|(i, l)| json!({ "id": i, "label": l }))
                    .collect();
                Ok::<_, (axum::http::StatusCode, Json<Value>)>(Json(json!({ "slots": slots })))
            }),
        )
        .route(
            "/orders/{id}/reschedule",
            post(
                move |P(id): P<String>, Json(body): Json<Value>| async move {
                    order(&id).ok_or_else(not_found)?;
                    let slot = body.get("slot").and_then(Value::as_str).unwrap_or_default();
                    match SLOTS.iter().find(|(i, _)| *i == slot) {
                        Some((_, label)) => Ok(Json(json!({ "ok": true, "label": label }))),
                        None => Err((
                            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                            Json(json!({ "error": "unknown slot" })),
                        )),
                    }
                },
            ),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot start the demo orders API: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

#[cfg(test)]
mod tests {
    use super::copy_workspace;

    #[test]
    fn a_workspace_is_copied_without_its_data_or_hidden_files_and_a_folder_without_flows_refused() {
        let from = tempfile::tempdir().unwrap();
        let p = from.path();
        for (path, text) in [
            ("flows/a.yaml", "flow: a"),
            ("tests/t.yaml", "name: t"),
            ("teams.yaml", "teams: []"),
            ("data/relais.db", "not to copy"),
            (".git/HEAD", "not to copy"),
        ] {
            std::fs::create_dir_all(p.join(path).parent().unwrap()).unwrap();
            std::fs::write(p.join(path), text).unwrap();
        }
        let to = tempfile::tempdir().unwrap();
        copy_workspace(p, to.path()).unwrap();
        let t = to.path();
        assert_eq!(
            std::fs::read_to_string(t.join("flows/a.yaml")).unwrap(),
            "flow: a"
        );
        assert!(t.join("tests/t.yaml").is_file() && t.join("teams.yaml").is_file());
        assert!(!t.join("data").exists() && !t.join(".git").exists());
        let empty = tempfile::tempdir().unwrap();
        let err = copy_workspace(empty.path(), to.path()).unwrap_err();
        assert!(
            err.contains("not a workspace (it has no flows/ folder)"),
            "{err}"
        );
    }
}
