//! The `relais` command line: `serve`, `demo`, `init`, `admin`, `bench`.

use clap::{Parser, Subcommand};
use relais_server::app::{App, FlowSetup, shutdown_signal};
use relais_server::clock::{Clock, SystemClock};
use relais_server::config::{self, Database, LogFormat, Secret, Settings};
use relais_server::{auth, bench, demo, flowcmd, workspace};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "relais",
    version,
    about = "Customer-support automation in one binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server on a workspace folder.
    Serve {
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
        /// postgres://… to use PostgreSQL instead of the workspace's SQLite file.
        #[arg(long)]
        database: Option<String>,
        /// Address to listen on (overrides server.listen).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Start a demo server on an embedded SQLite database, with a REST channel and an admin.
    Demo {
        /// Keep the data in this folder (default: a temporary folder, deleted on exit).
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Print the credentials as one JSON line (for scripts and `relais bench`).
        #[arg(long)]
        json: bool,
        /// Answer with the built-in greeting bot instead of the demo flows (to measure
        /// the pipeline alone: `relais bench --greeting`).
        #[arg(long)]
        greeting: bool,
        /// Run this workspace (copied into the data folder) instead of the demo's.
        #[arg(long, conflicts_with = "greeting")]
        workspace: Option<PathBuf>,
    },
    /// Write a new workspace folder, ready to edit.
    Init { dir: PathBuf },
    /// Administration: agents and tokens.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Validate a workspace folder: flows, teams, templates, channels, tests, relais.toml.
    Check {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Make the server running on a workspace reload it (after a successful check);
    /// the same as sending it SIGHUP.
    Reload {
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
    },
    /// Run a workspace's conversation tests (no server needed).
    Test { paths: Vec<PathBuf> },
    /// Chat with a flow in the terminal, on a virtual clock.
    Simulate {
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
        flow: String,
    },
    /// Load-test the REST channel of a running server, or of one it starts.
    Bench(bench::BenchArgs),
    /// Language understanding: measure the intent classifier.
    Nlu {
        #[command(subcommand)]
        command: NluCommand,
    },
}

#[derive(Subcommand)]
enum NluCommand {
    /// Train the intent classifier on one labelled CSV file and test it on another
    /// (`text,label` with a header; label `oos` marks out-of-scope rows).
    Eval {
        #[arg(long)]
        train: PathBuf,
        #[arg(long)]
        test: PathBuf,
        /// Keep sentence vectors in this file between runs (default: ~/.cache/relais/nlu-vectors.bin).
        #[arg(long)]
        cache: Option<PathBuf>,
        /// Encode every text again, keep nothing.
        #[arg(long, conflicts_with = "cache")]
        no_cache: bool,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an agent; the password comes from RELAIS_AGENT_PASSWORD or is generated and printed.
    CreateAgent {
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "agent")]
        role: String,
    },
    /// Print everything held about a contact as JSON (GDPR article 15).
    ExportContact {
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
        id: i64,
    },
    /// Erase a contact (GDPR article 17): their messages, attachments, variables,
    /// identities and consents; events keep only what the KPIs read. Prints what was erased.
    EraseContact {
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
        id: i64,
    },
    /// Write what admins changed in the web pages (teams, agents, canned responses,
    /// templates, articles) back as workspace files: DIR/teams.yaml, DIR/canned.yaml,
    /// DIR/templates.yaml, DIR/kb/*.md.
    ExportWorkspace {
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
        dir: PathBuf,
    },
}

/// An admin command's settings and database (the workspace's `relais.toml`).
async fn admin_store(
    workspace: &std::path::Path,
) -> Result<(Settings, std::sync::Arc<dyn relais_store::Store>), String> {
    let settings = Settings::load(workspace, &config::process_env()).map_err(|e| e.to_string())?;
    let store = relais_server::app::open_store(&settings.database)
        .await
        .map_err(|e| e.to_string())?;
    Ok((settings, store))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Threads for encoding and training (default: one per core).
    if let Some(n) = std::env::var("RELAIS_NLU_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        relais_nlu::set_threads(n);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logs(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&settings.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// `relais reload` finds the server through this file in the data folder.
fn write_pid(settings: &Settings) {
    let _ = std::fs::create_dir_all(&settings.data_dir);
    if let Err(e) = std::fs::write(
        settings.data_dir.join("relais.pid"),
        std::process::id().to_string(),
    ) {
        tracing::warn!(error = %e, "cannot write relais.pid: `relais reload` will not find this server");
    }
}

/// SIGHUP reloads the workspace (after a successful check), like `relais reload`.
fn reload_on_sighup(rt: std::sync::Arc<relais_server::runtime::Runtime>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            match rt.reload().await {
                Ok(r) => eprintln!("workspace reloaded: {} flows", r.versions.len()),
                Err(e) => eprintln!("reload refused: {e}"),
            }
        }
    });
    #[cfg(not(unix))]
    let _ = rt;
}

// Long by design: one arm per command of the command line.
async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Nlu {
            command:
                NluCommand::Eval {
                    train,
                    test,
                    cache,
                    no_cache,
                },
        } => {
            let cache = if no_cache {
                None
            } else {
                cache.or_else(relais_server::nlu::default_cache)
            };
            let out = tokio::task::spawn_blocking(move || {
                relais_server::nlu::eval_command(&train, &test, cache.as_deref())
            })
            .await
            .map_err(|e| e.to_string())??;
            print!("{out}");
            Ok(())
        }
        Command::Serve {
            workspace,
            database,
            listen,
        } => {
            let mut settings =
                Settings::load(&workspace, &config::process_env()).map_err(|e| e.to_string())?;
            if let Some(url) = database {
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    return Err("--database must be a postgres:// URL".into());
                }
                let ca_file = match &settings.database {
                    Database::Postgres { ca_file, .. } => ca_file.clone(),
                    Database::Sqlite { .. } => None,
                };
                settings.database = Database::Postgres {
                    url: Secret::new(url),
                    max_connections: 16,
                    ca_file,
                };
            }
            if let Some(l) = listen {
                settings.listen = l
                    .parse()
                    .map_err(|_| format!("--listen: {l:?} is not an address"))?;
            }
            init_logs(&settings);
            let sources = workspace::read(&workspace).map_err(|e| e.to_string())?;
            let flows = (!sources.flows.is_empty()).then(|| FlowSetup {
                sources,
                dir: Some(workspace.clone()),
            });
            let app = App::build_full(&settings, std::sync::Arc::new(SystemClock), None, flows)
                .await
                .map_err(|e| e.to_string())?;
            write_pid(&settings);
            reload_on_sighup(app.runtime());
            tracing::info!(addr = %app.addr(), "relais is serving");
            eprintln!("relais is serving on http://{}", app.addr());
            app.run_until_stopped(shutdown_signal())
                .await
                .map_err(|e| e.to_string())
        }
        Command::Demo {
            data,
            listen,
            json,
            greeting,
            workspace: own,
        } => {
            let (dir, _temp) = match data {
                Some(d) => (d, None),
                None => {
                    let t = tempfile::Builder::new()
                        .prefix("relais-demo-")
                        .tempdir()
                        .map_err(|e| e.to_string())?;
                    (t.path().to_owned(), Some(t))
                }
            };
            match &own {
                Some(from) => demo::copy_workspace(from, &dir)?,
                None => demo::write_workspace(&dir)?,
            }
            let mut settings =
                Settings::load(&dir, &config::process_env()).map_err(|e| e.to_string())?;
            let orders = demo::serve_orders_api().await?;
            // Flows may call exactly the demo's orders API, not every private address.
            settings.http_reach.allow.push(
                relais_server::runtime::http::Target::parse(orders.trim_start_matches("http://"))
                    .map_err(|e| format!("the demo orders API: {e}"))?,
            );
            settings
                .secrets
                .insert("orders_api".into(), Secret::new(orders));
            // The demo agent stays online while you try things, however long you read.
            settings.set_base("handoff", "idle_after", "off".into());
            settings.listen = listen
                .parse()
                .map_err(|_| format!("--listen: {listen:?} is not an address"))?;
            if !json {
                settings.log_level = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into());
            }
            init_logs(&settings);
            let sources = workspace::read(&dir).map_err(|e| e.to_string())?;
            let app = App::build_full(
                &settings,
                std::sync::Arc::new(SystemClock),
                None,
                (!greeting).then(|| FlowSetup {
                    sources,
                    dir: Some(dir.clone()),
                }),
            )
            .await
            .map_err(|e| e.to_string())?;
            write_pid(&settings);
            reload_on_sighup(app.runtime());
            let store = app.runtime().store.clone();
            let keep = settings.data_dir.join("demo-tokens.json");
            let creds = demo::prepare_kept(store.as_ref(), SystemClock.now(), Some(&keep)).await?;
            // The demo agent is online: handed-off conversations go to her at once.
            if let Some((agent, _)) = store
                .agent_by_email(demo::DEMO_AGENT)
                .await
                .map_err(|e| e.to_string())?
            {
                app.runtime()
                    .set_presence(agent.id, relais_core::agent::Presence::Online)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            app.runtime()
                .reload_channels()
                .await
                .map_err(|e| e.to_string())?;
            let url = format!("http://{}", app.addr());
            let webchat_url = demo::webchat_url(store.as_ref(), &url).await?;
            if json {
                let line = serde_json::json!({
                    "url": url, "webchat_url": webchat_url, "pid": std::process::id(), "credentials": creds,
                });
                println!("{line}");
            } else {
                println!(
                    "{}",
                    demo::banner(&url, webchat_url.as_deref(), &dir, &creds)
                );
            }
            app.run_until_stopped(shutdown_signal())
                .await
                .map_err(|e| e.to_string())
        }
        Command::Init { dir } => {
            demo::init(&dir)?;
            println!(
                "Wrote a new workspace in {}. Start it with: relais serve --workspace {}",
                dir.display(),
                dir.display()
            );
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::CreateAgent {
                    workspace,
                    email,
                    name,
                    role,
                },
        } => {
            let settings =
                Settings::load(&workspace, &config::process_env()).map_err(|e| e.to_string())?;
            let (password, generated) = match std::env::var("RELAIS_AGENT_PASSWORD") {
                Ok(p) => (p, false),
                Err(_) => (auth::new_token("pw")[3..27].to_owned(), true),
            };
            let email = email.trim().to_lowercase();
            let role = relais_server::http::api::check_agent(&email, &name, &role, &password)
                .map_err(|e| e.to_string())?;
            let store = relais_server::app::open_store(&settings.database)
                .await
                .map_err(|e| e.to_string())?;
            let hash = auth::hash_password(&password)?;
            let agent = store
                .create_agent(relais_store::NewAgent {
                    email,
                    name,
                    role,
                    password_hash: Some(hash),
                    capacity: 5,
                    created_at: SystemClock.now(),
                })
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "created agent {} ({}), role {}",
                agent.id,
                agent.email,
                agent.role.as_str()
            );
            if generated {
                println!("password (shown once): {password}");
            }
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::ExportContact { workspace, id },
        } => {
            let (_, store) = admin_store(&workspace).await?;
            let doc = relais_server::contact_export::export(
                store.as_ref(),
                relais_core::id::ContactId(id),
                SystemClock.now(),
            )
            .await
            .map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::EraseContact { workspace, id },
        } => {
            let (_, store) = admin_store(&workspace).await?;
            let now = SystemClock.now();
            let done = store
                .erase_contact(relais_core::id::ContactId(id), now)
                .await
                .map_err(|e| e.to_string())?;
            store
                .record_event(relais_core::event::Event::new(
                    relais_core::event::EventKind::AdminAction,
                    relais_core::event::Actor::System,
                    now,
                    serde_json::json!({
                        "action": "contact_erased",
                        "contact": id,
                        "via": "relais admin erase-contact",
                    }),
                ))
                .await
                .map_err(|e| e.to_string())?;
            if done.already_erased {
                println!("contact {id} had already been erased; erased again what came since");
            }
            println!(
                "erased contact {id}: {} conversations, {} messages",
                done.conversations, done.messages
            );
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::ExportWorkspace { workspace, dir },
        } => {
            let (settings, store) = admin_store(&workspace).await?;
            // Teams of teams.yaml keep their hours there: read them from the folder.
            let mut file_hours = relais_server::export::FileHours::new();
            if let Ok(sources) = relais_server::workspace::read(&workspace)
                && let (Some(ws), _) =
                    relais_flow::workspace::Workspace::load(&sources, settings.escalation.clone())
            {
                for t in &ws.teams {
                    if let Some(w) = t.hours.written() {
                        file_hours.insert(t.id.clone(), w);
                    }
                }
            }
            let e = |e: relais_store::Error| e.to_string();
            let mut files: Vec<(String, String)> = relais_server::export::render(
                &store.teams().await.map_err(e)?,
                &store.agents().await.map_err(e)?,
                &store.canned().await.map_err(e)?,
                &file_hours,
                &jiff::Timestamp::now()
                    .strftime("%Y-%m-%d %H:%M UTC")
                    .to_string(),
            )
            .into_iter()
            .map(|(n, t)| (n.to_owned(), t))
            .collect();
            files.extend(relais_server::export::render_articles(
                &store.articles().await.map_err(e)?,
            ));
            let file_templates = match std::fs::read_to_string(workspace.join("templates.yaml")) {
                Ok(text) => relais_flow::workspace::parse_templates("templates.yaml", &text).0,
                Err(_) => Vec::new(),
            };
            files.push((
                "templates.yaml".into(),
                relais_server::export::render_templates(
                    &file_templates,
                    &store.templates().await.map_err(e)?,
                    &jiff::Timestamp::now()
                        .strftime("%Y-%m-%d %H:%M UTC")
                        .to_string(),
                ),
            ));
            // The Settings page's values, written into relais.toml (the folder's own
            // if it has one, else the workspace's), keeping everything else.
            let page = relais_server::tunable::parse(
                &store
                    .store_setting(relais_server::tunable::NAME)
                    .await
                    .map_err(e)?
                    .unwrap_or_default(),
            )
            .map_err(|e| e.to_string())?;
            if !page.is_empty() {
                let base = std::fs::read_to_string(dir.join("relais.toml"))
                    .or_else(|_| std::fs::read_to_string(workspace.join("relais.toml")))
                    .unwrap_or_default();
                files.push((
                    "relais.toml".into(),
                    relais_server::tunable::write_into(&base, &page),
                ));
            }
            for path in relais_server::export::write(&dir, &files)? {
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Bench(args) => bench::run(args).await,
        Command::Check { dir } => {
            if flowcmd::check(&dir) {
                Ok(())
            } else {
                Err("the workspace has errors".into())
            }
        }
        Command::Reload { workspace } => {
            if !flowcmd::check(&workspace) {
                return Err("the workspace has errors: the server keeps what it runs".into());
            }
            let settings =
                Settings::load(&workspace, &config::process_env()).map_err(|e| e.to_string())?;
            flowcmd::signal_reload(&settings.data_dir.join("relais.pid"))
        }
        Command::Test { paths } => {
            if flowcmd::test(&paths) {
                Ok(())
            } else {
                Err("some conversation tests failed".into())
            }
        }
        Command::Simulate { workspace, flow } => {
            let stdin = std::io::stdin();
            flowcmd::simulate(&workspace, &flow, &mut stdin.lock(), &mut std::io::stdout())
        }
    }
}
