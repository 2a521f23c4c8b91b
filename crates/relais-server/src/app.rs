//! Building and running a server: `App::build(options)` opens the store, starts the
//! runtime loops and binds the listener (port 0 picks a free one, for tests);
//! `run_until_stopped` serves until the shutdown future resolves, finishes in-flight
//! requests, then stops the loops.

use crate::clock::{Clock, SystemClock};
use crate::config::{Database, Settings};
use crate::http::{self, AppState};
use crate::runtime::reload::Home;
use crate::runtime::{Runtime, RuntimeSettings, notify, outbox, timers};
use relais_core::greeting::GreetingBot;
use relais_store::Store;
use relais_store::postgres::PostgresOptions;
use relais_store::sqlite::SqliteOptions;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Opens the database the settings name.
pub async fn open_store(database: &Database) -> Result<Arc<dyn Store>, relais_store::Error> {
    Ok(match database {
        Database::Sqlite {
            path,
            synchronous_full,
        } => {
            let mut options = SqliteOptions::new(path);
            options.synchronous_full = *synchronous_full;
            Arc::new(relais_store::sqlite::open(options)?)
        }
        Database::Postgres {
            url,
            max_connections,
            ca_file,
        } => Arc::new(
            relais_store::postgres::open(PostgresOptions {
                url: url.expose().to_owned(),
                schema: None,
                max_connections: *max_connections,
                ca_file: ca_file.clone(),
            })
            .await?,
        ),
    })
}

/// A server's flows: the workspace sources and, for reloads, the folder they came from.
pub struct FlowSetup {
    pub sources: relais_flow::workspace::Sources,
    pub dir: Option<std::path::PathBuf>,
}

pub struct App {
    listener: TcpListener,
    state: AppState,
    addr: SocketAddr,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database: {0}")]
    Store(#[from] relais_store::Error),
    #[error(transparent)]
    Workspace(#[from] crate::workspace::LoadError),
    #[error(
        "the data was recorded in region {recorded:?} but relais.toml says [privacy] region = \
         {configured:?}: data must not change region silently; point the server at the right \
         database or change the setting back"
    )]
    Region {
        recorded: String,
        configured: String,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

impl App {
    /// Builds with the system clock.
    pub async fn build(settings: &Settings) -> Result<App, StartError> {
        App::build_with(settings, Arc::new(SystemClock), None).await
    }

    /// Builds with a given clock and, optionally, an already open store.
    pub async fn build_with(
        settings: &Settings,
        clock: Arc<dyn Clock>,
        store: Option<Arc<dyn Store>>,
    ) -> Result<App, StartError> {
        App::build_full(settings, clock, store, None).await
    }

    /// With a workspace, the flow engine answers; without, the built-in greeting bot.
    pub async fn build_full(
        settings: &Settings,
        clock: Arc<dyn Clock>,
        store: Option<Arc<dyn Store>>,
        workspace: Option<FlowSetup>,
    ) -> Result<App, StartError> {
        let store = match store {
            Some(s) => s,
            None => open_store(&settings.database).await?,
        };
        record_region(store.as_ref(), settings.region.as_deref(), clock.now()).await?;
        let (flows, home) = load_flows(store.as_ref(), settings, clock.as_ref(), workspace).await?;
        let handler: Arc<dyn relais_core::ConversationHandler> = match &flows {
            Some(f) => f.clone(),
            None => Arc::new(GreetingBot {
                nudge_after: settings.nudge_after,
            }),
        };
        let rt = Runtime::new(
            store,
            clock,
            handler,
            flows,
            home,
            runtime_settings(settings),
        )
        .await?;
        let (listener, addr) = listen(settings).await?;
        Ok(App {
            listener,
            addr,
            state: app_state(rt, settings, addr),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn runtime(&self) -> Arc<Runtime> {
        self.state.rt.clone()
    }

    /// Serves until `shutdown` resolves; in-flight requests finish first.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let rt = self.state.rt.clone();
        let timer_loop = tokio::spawn(timers::run(rt.clone(), stop_rx.clone()));
        let outbox_loop = tokio::spawn(outbox::run(rt.clone(), stop_rx.clone()));
        let media_loop = tokio::spawn(crate::runtime::media::run(rt.clone(), stop_rx.clone()));
        let live_loop = tokio::spawn(crate::runtime::live::run(
            self.state.live.clone(),
            rt.store.clone(),
            rt.feed.subscribe(),
            stop_rx.clone(),
        ));
        let retention_loop =
            tokio::spawn(crate::runtime::retention::run(rt.clone(), stop_rx.clone()));
        let rollup_loop = tokio::spawn(crate::runtime::rollup::run(rt.clone(), stop_rx.clone()));
        let follow_loop = tokio::spawn(crate::runtime::follow::run(rt.clone(), stop_rx.clone()));
        let typing_loop = tokio::spawn(crate::runtime::typing::run(rt.clone(), stop_rx.clone()));
        let notify_loop = tokio::spawn(notify::run(rt.clone(), stop_rx));
        let ready = self.state.ready.clone();
        ready.store(true, Ordering::Relaxed);
        let stopping = rt.stopping.clone();
        let guard = self.state.guard.clone();
        let router = http::router(self.state);
        let served = http::serve::serve(self.listener, router, &guard, async move {
            shutdown.await;
            ready.store(false, Ordering::Relaxed);
            stopping.send_replace(true);
            tracing::info!("shutting down: finishing in-flight requests");
        })
        .await;
        let _ = stop_tx.send(true);
        let _ = timer_loop.await;
        let _ = outbox_loop.await;
        let _ = media_loop.await;
        let _ = notify_loop.await;
        let _ = retention_loop.await;
        let _ = rollup_loop.await;
        let _ = live_loop.await;
        let _ = follow_loop.await;
        let _ = typing_loop.await;
        tracing::info!("stopped");
        served
    }
}

/// The workspace's flows, loaded and published (each flow's version), and the folder
/// they came from for reloads; nothing without a workspace.
async fn load_flows(
    store: &dyn Store,
    settings: &Settings,
    clock: &dyn Clock,
    workspace: Option<FlowSetup>,
) -> Result<(Option<Arc<relais_flow::handler::FlowHandler>>, Option<Home>), StartError> {
    Ok(match workspace {
        Some(w) => {
            let v =
                crate::workspace::load_versioned(store, &w.sources, settings, clock.now()).await?;
            let home = w.dir.map(|dir| Home {
                dir,
                settings: settings.clone(),
            });
            (
                Some(Arc::new(relais_flow::handler::FlowHandler::new(v.loaded))),
                home,
            )
        }
        None => (None, None),
    })
}

/// The runtime's part of the settings.
fn runtime_settings(settings: &Settings) -> RuntimeSettings {
    RuntimeSettings {
        timer_window: settings.timer_window,
        outbox_max_attempts: settings.outbox_max_attempts,
        outbox_backoff_base: settings.outbox_backoff_base,
        outbox_backoff_max: settings.outbox_backoff_max,
        outbox_send_timeout: settings.outbox_send_timeout,
        outbox_concurrency: settings.outbox_concurrency,
        node: format!("node-{}", std::process::id()),
        http_reach: settings.http_reach.clone(),
        tunable_base: settings.tunable_base.clone(),
        http_tls: settings.http_tls.clone(),
        http_ca_pem: settings.http_ca_pem.clone(),
        public_url: settings.public_url.clone(),
        mask: settings.mask.clone(),
        retention: settings.retention,
    }
}

/// The listener on `[server] listen`, and the address it got (port 0 picks one).
async fn listen(settings: &Settings) -> Result<(TcpListener, SocketAddr), StartError> {
    let listener =
        TcpListener::bind(settings.listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: settings.listen,
                source,
            })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: settings.listen,
        source,
    })?;
    Ok((listener, addr))
}

/// What every request handler shares.
fn app_state(rt: Arc<Runtime>, settings: &Settings, addr: SocketAddr) -> AppState {
    AppState {
        rt,
        max_body_bytes: settings.max_body_bytes,
        max_text_chars: settings.max_text_chars,
        ready: Arc::new(AtomicBool::new(false)),
        passwords: crate::auth::password::Passwords::start(settings.guard.hash_workers),
        throttle: Arc::new(std::sync::Mutex::new(crate::auth::throttle::Throttle::new(
            settings.guard.login.clone(),
        ))),
        guard: settings.guard.clone(),
        live: crate::runtime::live::Live::new(
            settings.guard.streams_per_agent,
            settings.guard.streams_per_server,
        ),
        loopback: addr.ip().is_loopback(),
        kpi_gauges: Default::default(),
    }
}

/// `[privacy] region` is recorded with the data the first time it is set; a server
/// configured for another region than the data's refuses to start.
pub async fn record_region(
    store: &dyn Store,
    region: Option<&str>,
    now: relais_core::Timestamp,
) -> Result<(), StartError> {
    let Some(region) = region else {
        return Ok(());
    };
    match store.store_setting("region").await? {
        Some(recorded) if recorded != region => Err(StartError::Region {
            recorded,
            configured: region.to_owned(),
        }),
        Some(_) => Ok(()),
        None => Ok(store.set_store_setting("region", region, now).await?),
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
