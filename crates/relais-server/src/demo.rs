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

/// Credentials created for a demo, printed once.
#[derive(Debug, serde::Serialize)]
pub struct DemoCredentials {
    pub channel: String,
    pub channel_token: String,
    pub admin_email: String,
    /// `None` when the admin already existed (its password is unchanged).
    pub admin_password: Option<String>,
    pub admin_token: String,
}

/// Creates (or refreshes) the demo channel and admin in `store`.
pub async fn prepare(store: &dyn Store, now: Timestamp) -> Result<DemoCredentials, String> {
    let channel = ChannelId(DEMO_CHANNEL.into());
    let channel_token = auth::new_token("rch");
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
    let (admin, admin_password) = match store
        .agent_by_email(DEMO_ADMIN)
        .await
        .map_err(|e| e.to_string())?
    {
        Some((agent, _)) => (agent, None),
        None => {
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
            (agent, Some(password))
        }
    };
    let admin_token = auth::new_token("rat");
    store
        .create_token(relais_store::NewToken {
            agent: admin.id,
            name: "demo".into(),
            hash: auth::token_hash(&admin_token),
            scopes: vec!["admin".into(), "conversations:read".into(), "tokens".into()],
            kind: "api".into(),
            created_at: now,
            expires_at: None,
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(DemoCredentials {
        channel: DEMO_CHANNEL.into(),
        channel_token,
        admin_email: DEMO_ADMIN.into(),
        admin_password,
        admin_token,
    })
}

pub fn banner(url: &str, data: &Path, c: &DemoCredentials) -> String {
    let password = c
        .admin_password
        .as_deref()
        .unwrap_or("(unchanged: this folder already had an admin)");
    format!(
        "Relais demo is running at {url}\n\
         \x20 data folder : {data}\n\
         \x20 REST channel: {channel}\n\
         \x20 admin login : {email} / {password}\n\n\
         Try it (copy these lines):\n\
         \x20 export RELAIS_URL={url} RELAIS_TOKEN={token} RELAIS_ADMIN_TOKEN={admin_token}\n\
         \x20 curl -s $RELAIS_URL/api/v1/channels/{channel}/converse -H \"Authorization: Bearer $RELAIS_TOKEN\" \
         -H 'Content-Type: application/json' -d '{{\"sender\": \"alice\", \"text\": \"Hello\"}}'\n\
         \x20 curl -s $RELAIS_URL/api/v1/conversations -H \"Authorization: Bearer $RELAIS_ADMIN_TOKEN\"\n\n\
         Press Ctrl-C to stop.\n",
        data = data.display(),
        channel = c.channel,
        email = c.admin_email,
        token = c.channel_token,
        admin_token = c.admin_token,
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
max_attempts = 8
backoff_base = "1s"
backoff_max = "10m"
send_timeout = "10s"

[limits]
max_body_bytes = 65536
max_text_chars = 4096

[secrets]
# orders_api = "https://orders.example"   # RELAIS__SECRETS__ORDERS_API overrides it
"#;

/// Writes a new workspace folder. Refuses to overwrite an existing `relais.toml`.
pub fn init(dir: &Path) -> Result<(), String> {
    let toml = dir.join("relais.toml");
    if toml.exists() {
        return Err(format!(
            "{} already exists; not overwriting it",
            toml.display()
        ));
    }
    std::fs::create_dir_all(dir.join("flows")).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::write(&toml, INIT_TOML).map_err(|e| format!("{}: {e}", toml.display()))?;
    std::fs::write(dir.join(".gitignore"), "data/\n")
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::write(
        dir.join("flows").join("README.md"),
        "Flow files (SPEC §3) go here. Until a flow exists, Relais answers with its built-in greeting bot.\n",
    )
    .map_err(|e| format!("{}: {e}", dir.display()))?;
    // The template must stay valid.
    Settings::load(dir, &[]).map_err(|e| e.to_string())?;
    Ok(())
}
