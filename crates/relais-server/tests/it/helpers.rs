//! `spawn_app`: a real server on a random loopback port over a SQLite file in a folder
//! the test owns, with a manual clock; and a local HTTP server that records callbacks.

use axum::body::Bytes;
use axum::http::HeaderMap;
use relais_core::Timestamp;
use relais_server::app::App;
use relais_server::clock::ManualClock;
use relais_server::config::Settings;
use relais_server::demo;
use relais_server::runtime::Runtime;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const T0: Timestamp = Timestamp(1_800_000_000_000);

pub struct TestApp {
    pub url: String,
    pub token: String,
    pub admin_token: String,
    pub rt: Arc<Runtime>,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

pub async fn spawn_app(dir: &Path, clock: &ManualClock) -> TestApp {
    spawn_app_with(dir, clock, &[]).await
}

/// With settings given as `RELAIS__SECTION__KEY` variables.
pub async fn spawn_app_with(dir: &Path, clock: &ManualClock, vars: &[(&str, &str)]) -> TestApp {
    let mut env = vec![(
        "RELAIS__SERVER__LISTEN".to_owned(),
        "127.0.0.1:0".to_owned(),
    )];
    env.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let settings = Settings::from_sources(None, "relais.toml", &env, dir).unwrap();
    start(&settings, clock, None).await
}

/// Builds and serves an app, with the demo channel and admin created.
async fn start(
    settings: &Settings,
    clock: &ManualClock,
    flows: Option<relais_server::app::FlowSetup>,
) -> TestApp {
    let app = App::build_full(settings, Arc::new(clock.clone()), None, flows)
        .await
        .unwrap();
    let rt = app.runtime();
    let creds = demo::prepare(rt.store.as_ref(), clock_now(clock))
        .await
        .unwrap();
    rt.reload_channels().await.unwrap();
    let url = format!("http://{}", app.addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        app.run_until_stopped(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    TestApp {
        url,
        token: creds.channel_token,
        admin_token: creds.admin_token,
        rt,
        client: relais_server::tls::client(),
        stop: Some(stop),
        handle: Some(handle),
    }
}

fn clock_now(clock: &ManualClock) -> Timestamp {
    use relais_server::clock::Clock;
    clock.now()
}

impl TestApp {
    /// Graceful shutdown: in-flight requests finish, loops stop, the store closes.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.unwrap();
        }
    }

    pub async fn converse_on(&self, channel: &str, token: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}/api/v1/channels/{channel}/converse", self.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn converse(&self, body: Value) -> (u16, Value) {
        self.converse_on("demo", &self.token, body).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `POST /api/v1/auth/login` with `body`: the raw answer (status, headers, body).
    pub async fn login_raw(&self, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}/api/v1/auth/login", self.url))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.admin_token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Every message of every conversation, via the API.
    pub async fn transcripts(&self) -> Vec<Value> {
        let (_, list) = self.get("/api/v1/conversations?limit=200").await;
        let mut all = Vec::new();
        for c in list["conversations"].as_array().unwrap() {
            let id = c["conversation"]["id"].as_i64().unwrap();
            let (_, t) = self.get(&format!("/api/v1/conversations/{id}")).await;
            all.extend(t["messages"].as_array().unwrap().iter().cloned());
        }
        all
    }
}

/// Polls `check` until it holds (for work that completes in the background), failing
/// after 10 s. The clock the server sees is the manual one: this waits on real work,
/// never on time passing.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..1000 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// A local HTTP server that records every request it gets (a stand-in for the REST
/// channel's integration).
#[derive(Clone, Default)]
pub struct Recorder {
    pub requests: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

impl Recorder {
    pub async fn start() -> (Recorder, String) {
        let rec = Recorder::default();
        let r = rec.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let r = r.clone();
                async move {
                    r.requests.lock().unwrap().push((headers, body));
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (rec, url)
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| serde_json::from_slice(b).unwrap())
            .collect()
    }
}

pub fn msg(sender: &str, text: &str, id: Option<&str>) -> Value {
    match id {
        Some(id) => json!({ "sender": sender, "text": text, "message_id": id }),
        None => json!({ "sender": sender, "text": text }),
    }
}

/// A server running the demo workspace, with the demo orders API on loopback.
/// `allow_private: false` keeps the production SSRF guard on, so the loopback orders
/// API must be refused.
pub async fn spawn_flow_app(dir: &Path, clock: &ManualClock, allow_private: bool) -> TestApp {
    demo::write_workspace(dir).unwrap();
    spawn_workspace_app(dir, clock, allow_private).await
}

/// A server on the workspace in `dir` exactly as its relais.toml says (listening on a
/// random loopback port), with the demo's REST channel and admin created.
pub async fn spawn_dir_app(dir: &Path, clock: &ManualClock) -> TestApp {
    spawn_dir_app_with(dir, clock, &[]).await
}

/// Likewise, with settings given as `RELAIS__SECTION__KEY` variables.
pub async fn spawn_dir_app_with(dir: &Path, clock: &ManualClock, vars: &[(&str, &str)]) -> TestApp {
    let mut env = vec![(
        "RELAIS__SERVER__LISTEN".to_owned(),
        "127.0.0.1:0".to_owned(),
    )];
    env.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let settings = Settings::load(dir, &env).unwrap();
    let sources = relais_server::workspace::read(dir).unwrap();
    let setup = relais_server::app::FlowSetup {
        sources,
        dir: Some(dir.to_owned()),
    };
    start(&settings, clock, Some(setup)).await
}

/// A server on the workspace already in `dir` (for restarts and edited flows).
pub async fn spawn_workspace_app(dir: &Path, clock: &ManualClock, allow_private: bool) -> TestApp {
    let orders = demo::serve_orders_api().await.unwrap();
    let env = vec![
        (
            "RELAIS__SERVER__LISTEN".to_owned(),
            "127.0.0.1:0".to_owned(),
        ),
        ("RELAIS__SECRETS__ORDERS_API".to_owned(), orders),
        (
            "RELAIS__HTTP__ALLOW_PRIVATE".to_owned(),
            allow_private.to_string(),
        ),
    ];
    let settings = Settings::from_sources(
        Some(&std::fs::read_to_string(dir.join("relais.toml")).unwrap()),
        "relais.toml",
        &env,
        dir,
    )
    .unwrap();
    let sources = relais_server::workspace::read(dir).unwrap();
    let setup = relais_server::app::FlowSetup {
        sources,
        dir: Some(dir.to_owned()),
    };
    start(&settings, clock, Some(setup)).await
}

/// A browser's HTTP client for the workspace's pages: redirects are not followed, so
/// that a test sees them.
pub fn page_client() -> reqwest::Client {
    relais_server::tls::client_builder(&relais_server::tls::default_tls())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in with the login form (the tests' agents' password); the session cookie.
pub async fn page_session(app: &TestApp, c: &reqwest::Client, email: &str) -> String {
    let r = c
        .post(format!("{}/login", app.url))
        .form(&[
            ("email", email),
            ("password", "correct horse battery staple"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{email} signs in");
    r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// A fresh PostgreSQL schema for a test, dropped afterwards; `None` (a skip) only
/// outside CI when no server is configured.
pub struct PgSchema {
    base: String,
    name: String,
}

impl PgSchema {
    pub fn create() -> Option<PgSchema> {
        let Ok(base) = std::env::var("RELAIS_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but RELAIS_TEST_POSTGRES_URL is not set"
            );
            eprintln!("skipped: set RELAIS_TEST_POSTGRES_URL");
            return None;
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("relais_it_{}_{nanos}", std::process::id());
        let (b, n) = (base.clone(), name.clone());
        std::thread::spawn(move || {
            let mut c = ::postgres::Client::connect(&b, ::postgres::NoTls).unwrap();
            c.batch_execute(&format!("CREATE SCHEMA {n}")).unwrap();
        })
        .join()
        .unwrap();
        Some(PgSchema { base, name })
    }

    /// The URL a node uses: the schema as its search path.
    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}", self.base, self.name)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (b, n) = (self.base.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(mut c) = ::postgres::Client::connect(&b, ::postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {n} CASCADE"));
            }
        })
        .join();
    }
}
