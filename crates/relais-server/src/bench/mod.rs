//! `relais bench`: a closed-loop load test of the REST channel. Each simulated contact
//! sends a message, waits for the bot's answer, and sends the next; the report gives
//! messages per second, latency percentiles and the server's peak memory. Without
//! `--url` it starts `relais demo` on a temporary SQLite folder as a child process, so
//! the memory figure is the server's alone. With `--workspace DIR` the server runs that
//! workspace and every contact replays one of its conversation tests ([`script`]),
//! replies checked, a new contact taking the place of each that finishes.

pub mod script;
mod whatsapp;

use relais_core::Duration;
use script::Script;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Base URL of a running server (default: start one on a temporary SQLite).
    #[arg(long)]
    pub url: Option<String>,
    /// REST channel id.
    #[arg(long, default_value = "demo")]
    pub channel: String,
    /// The channel's bearer token (needed with --url).
    #[arg(long)]
    pub token: Option<String>,
    /// Concurrent contacts.
    #[arg(long, default_value_t = 64)]
    pub contacts: usize,
    /// How long to run, such as 10s or 1m.
    #[arg(long, default_value = "10s")]
    pub duration: String,
    /// Server process id, to report its memory when using --url.
    #[arg(long)]
    pub pid: Option<u32>,
    /// Measure the pipeline alone: the started server answers with the built-in
    /// greeting bot, and each contact says "Hello" (default: walk the demo flows).
    #[arg(long)]
    pub greeting: bool,
    /// Load-test this workspace: the started server runs it, and each contact replays
    /// one of its conversation tests (`tests/*.yaml`), replies checked against the
    /// tests' `bot` globs.
    #[arg(long, conflicts_with = "greeting")]
    pub workspace: Option<std::path::PathBuf>,
    /// Compare the REST channel with signed WhatsApp webhooks on one started server,
    /// the same flow (one reply per message), one after the other; the replies to
    /// WhatsApp go through the outbox to a local stand-in of the Graph API.
    #[arg(long, conflicts_with_all = ["workspace", "greeting", "url"])]
    pub whatsapp: bool,
}

struct Target {
    url: String,
    token: String,
    pid: Option<u32>,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start_server(greeting: bool, workspace: Option<&std::path::Path>) -> Result<Target, String> {
    let dir = tempfile::Builder::new()
        .prefix("relais-bench-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(["demo", "--json", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .args(greeting.then_some("--greeting"))
        .args(
            workspace
                .map(|w| [std::ffi::OsStr::new("--workspace"), w.as_os_str()])
                .into_iter()
                .flatten(),
        )
        .env(
            "RUST_LOG",
            std::env::var("RELAIS_BENCH_SERVER_LOG").unwrap_or_else(|_| "error".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&line)
        .map_err(|e| format!("unexpected server output {line:?}: {e}"))?;
    let field = |p: &str| v.pointer(p).and_then(|x| x.as_str()).map(str::to_owned);
    Ok(Target {
        url: field("/url").ok_or("no url")?,
        token: field("/credentials/channel_token").ok_or("no token")?,
        pid: v["pid"].as_u64().map(|p| p as u32),
        child: Some(child),
        _dir: Some(dir),
    })
}

/// Peak and current resident memory of a process, in KiB (Linux).
pub(crate) fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// CPU time (user and system) a process has used, in seconds (Linux: `/proc`, in
/// USER_HZ ticks, which Linux fixes at 100 for user space).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields are counted after its parenthesis.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// The server's pipeline latency histogram from `/metrics`: (upper bound in
/// seconds, cumulative count), `+Inf` last.
async fn pipeline_histogram(client: &reqwest::Client, url: &str) -> Vec<(f64, u64)> {
    let Ok(resp) = client.get(format!("{url}/metrics")).send().await else {
        return Vec::new();
    };
    let text = resp.text().await.unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("relais_pipeline_seconds_bucket{le=\""))
        .filter_map(|l| {
            let (le, n) = l.split_once("\"} ")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, n.trim().parse().ok()?))
        })
        .collect()
}

/// The bucket bound under which `p` % of the observations between two readings fall.
pub fn histogram_percentile(before: &[(f64, u64)], after: &[(f64, u64)], p: f64) -> Option<f64> {
    let delta: Vec<(f64, u64)> = after
        .iter()
        .map(|(le, n)| {
            let old = before.iter().find(|(b, _)| b == le).map_or(0, |(_, o)| *o);
            (*le, n.saturating_sub(old))
        })
        .collect();
    let total = delta.last()?.1;
    if total == 0 {
        return None;
    }
    let rank = (p / 100.0 * total as f64).ceil() as u64;
    delta.iter().find(|(_, n)| *n >= rank).map(|(le, _)| *le)
}

pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub async fn run(args: BenchArgs) -> Result<(), String> {
    let run_for = Duration::parse(&args.duration).map_err(|e| format!("--duration: {e}"))?;
    if args.whatsapp {
        return whatsapp::compare(&args, run_for).await;
    }
    let target = match &args.url {
        Some(url) => Target {
            url: url.trim_end_matches('/').to_owned(),
            token: args.token.clone().ok_or("--token is needed with --url")?,
            pid: args.pid,
            child: None,
            _dir: None,
        },
        None => start_server(args.greeting, args.workspace.as_deref())?,
    };
    let (scripts, fresh_contacts) = scripts_for(&args)?;
    let mode = Mode::Rest {
        endpoint: format!("{}/api/v1/channels/{}/converse", target.url, args.channel),
        token: target.token.clone(),
    };
    let load = phase(&target, &args, run_for, mode, scripts, fresh_contacts).await?;
    if args.workspace.is_some() {
        println!(
            "scripts      : {} tests replayed to the end, {} scripts in turn",
            load.finished.load(Ordering::Relaxed),
            load.scripts.len()
        );
    }
    println!(
        "durability   : every answer came after its transaction was durable (SQLite: fsync, synchronous=FULL, group commit; PostgreSQL: its commit)"
    );
    let (count, example) = load.unexpected.lock().map_err(|e| e.to_string())?.clone();
    if count > 0 {
        return Err(format!(
            "{count} replies were not what the tests expect; the first: {}",
            example.unwrap_or_default()
        ));
    }
    Ok(())
}

/// Runs made by this process so far.
static PHASES: AtomicU64 = AtomicU64::new(0);

/// How a simulated contact's message reaches the server.
enum Mode {
    /// `POST /api/v1/channels/{id}/converse` with the channel's token.
    Rest { endpoint: String, token: String },
    /// A WhatsApp Cloud API webhook, signed with the app secret.
    WhatsApp {
        endpoint: String,
        app_secret: String,
    },
}

/// One closed-loop run against `target`, reported; returns the shared counters.
async fn phase(
    target: &Target,
    args: &BenchArgs,
    run_for: Duration,
    mode: Mode,
    scripts: Vec<Script>,
    fresh_contacts: bool,
) -> Result<Arc<Load>, String> {
    let contacts = args.contacts.max(1);
    let client = crate::tls::client_builder(&crate::tls::default_tls())
        .pool_max_idle_per_host(contacts)
        .build()
        .map_err(|e| e.to_string())?;
    let endpoint = match &mode {
        Mode::Rest { endpoint, .. } | Mode::WhatsApp { endpoint, .. } => endpoint.clone(),
    };
    eprintln!("relais bench: {contacts} contacts for {run_for} against {endpoint}");
    let server_pid = target.pid.map(|p| p.to_string());
    let cpu_before = (
        server_pid.as_deref().and_then(cpu_seconds),
        cpu_seconds("self"),
    );
    let histogram_before = pipeline_histogram(&client, &target.url).await;
    let started = Instant::now();
    let load = Arc::new(Load {
        client: client.clone(),
        mode,
        deadline: started + std::time::Duration::from_millis(run_for.0 as u64),
        run_id: std::process::id(),
        phase: PHASES.fetch_add(1, Ordering::Relaxed),
        scripts,
        fresh_contacts,
        next_script: AtomicU64::new(0),
        finished: AtomicU64::new(0),
        done: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        unexpected: std::sync::Mutex::new((0, None)),
    });
    let progress = tokio::spawn(show_progress(load.clone(), started, run_for));
    let tasks: Vec<_> = (0..contacts)
        .map(|c| tokio::spawn(contact(load.clone(), c)))
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    progress.abort();
    let cpu_after = (
        server_pid.as_deref().and_then(cpu_seconds),
        cpu_seconds("self"),
    );
    let histogram_after = pipeline_histogram(&client, &target.url).await;
    eprintln!();
    all.sort_unstable();
    report(&Report {
        latencies: &all,
        errors: load.errors.load(Ordering::Relaxed),
        elapsed,
        memory: target.pid.and_then(memory_kib),
        server: (
            histogram_percentile(&histogram_before, &histogram_after, 50.0),
            histogram_percentile(&histogram_before, &histogram_after, 99.0),
        ),
        cpu: [(cpu_before.0, cpu_after.0), (cpu_before.1, cpu_after.1)],
    });
    Ok(load)
}

/// The scripts the contacts play, and whether each finished script hands over to a new
/// contact (replayed tests) or the same contact walks again (the built-in walks).
fn scripts_for(args: &BenchArgs) -> Result<(Vec<Script>, bool), String> {
    Ok(match &args.workspace {
        Some(dir) => {
            let (scripts, skipped) = script::from_workspace(dir)?;
            for s in &skipped {
                eprintln!("relais bench: left out {s}");
            }
            (scripts, true)
        }
        // The demo's order-status path (menu → order number → lookup in the orders
        // API → "no thanks", solved), or a greeting for the built-in bot.
        None if args.greeting => (vec![Script::walk("greeting", &["Hello"])], false),
        None => (
            vec![Script::walk(
                "order status",
                &["Bonjour", "1", "A123", "non merci"],
            )],
            false,
        ),
    })
}

/// What every simulated contact shares.
struct Load {
    client: reqwest::Client,
    mode: Mode,
    deadline: Instant,
    run_id: u32,
    /// Which run of this process: message ids never repeat across runs (a repeated id
    /// is a provider's redelivery, answered from the store without new work).
    phase: u64,
    scripts: Vec<Script>,
    fresh_contacts: bool,
    next_script: AtomicU64,
    /// Scripts played to their end.
    finished: AtomicU64,
    /// Answered messages.
    done: AtomicU64,
    errors: AtomicU64,
    /// Replies that differ from a test's globs: how many, and the first.
    unexpected: std::sync::Mutex<(u64, Option<String>)>,
}

/// One simulated contact slot, closed loop: plays scripts in turn until the deadline;
/// returns its latencies in µs.
async fn contact(load: Arc<Load>, c: usize) -> Vec<u32> {
    let mut latencies = Vec::with_capacity(4096);
    let (mut n, mut contact) = (0u64, 0u64);
    while Instant::now() < load.deadline {
        let i = load.next_script.fetch_add(1, Ordering::Relaxed) as usize % load.scripts.len();
        let script = &load.scripts[i];
        if load.fresh_contacts || contact == 0 {
            contact += 1;
        }
        let sender = format!("bench-{}-{c}-{contact}", load.run_id);
        for turn in &script.turns {
            if Instant::now() >= load.deadline {
                return latencies;
            }
            n += 1;
            let message_id = format!("b-{}-{}-{c}-{n}", load.run_id, load.phase);
            let body = match &load.mode {
                Mode::Rest { .. } => {
                    let mut body = serde_json::json!({
                        "sender": sender,
                        "text": turn.text,
                        "message_id": message_id,
                    });
                    if let Some(b) = &turn.button {
                        body["button"] = b.as_str().into();
                    }
                    body.to_string().into_bytes()
                }
                Mode::WhatsApp { .. } => whatsapp::webhook(
                    &whatsapp::wa_id(load.run_id, c, contact),
                    &message_id,
                    &turn.text,
                ),
            };
            let t = Instant::now();
            let Some(answer) = send(&load, body).await else {
                load.errors.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            latencies.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
            load.done.fetch_add(1, Ordering::Relaxed);
            if turn.expect.is_some() {
                let replies = reply_texts(&answer);
                if !Script::accepts(turn, &replies) {
                    let mut u = load.unexpected.lock().unwrap_or_else(|e| e.into_inner());
                    u.0 += 1;
                    u.1.get_or_insert_with(|| {
                        format!(
                            "{}: to {:?} expected {:?}, got {:?}",
                            script.name, turn.text, turn.expect, replies
                        )
                    });
                }
            }
        }
        load.finished.fetch_add(1, Ordering::Relaxed);
    }
    latencies
}

/// One call; the answer's body when it succeeded.
async fn send(load: &Load, body: Vec<u8>) -> Option<Vec<u8>> {
    let req = match &load.mode {
        Mode::Rest { endpoint, token } => load.client.post(endpoint).bearer_auth(token),
        Mode::WhatsApp {
            endpoint,
            app_secret,
        } => load.client.post(endpoint).header(
            "x-hub-signature-256",
            crate::channel::meta::sign(app_secret, &body),
        ),
    };
    let resp = req
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.bytes().await.ok().map(|b| b.to_vec())
}

/// A progress bar on stderr, twice a second.
async fn show_progress(load: Arc<Load>, started: Instant, run_for: Duration) {
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let n = load.done.load(Ordering::Relaxed);
        let secs = started.elapsed().as_secs_f64();
        let total = run_for.0 as f64 / 1000.0;
        let filled = ((secs / total) * 30.0).min(30.0) as usize;
        eprint!(
            "\r[{}{}] {secs:5.1}s {n} messages, {:.0}/s   ",
            "#".repeat(filled),
            " ".repeat(30 - filled),
            n as f64 / secs
        );
        let _ = std::io::stderr().flush();
    }
}

/// The figures of a run.
struct Report<'a> {
    /// Sorted, in µs.
    latencies: &'a [u32],
    errors: u64,
    elapsed: f64,
    /// The server's peak and current resident memory, in KiB.
    memory: Option<(u64, u64)>,
    /// The server's own p50 and p99 (bucket bounds, seconds).
    server: (Option<f64>, Option<f64>),
    /// CPU seconds before and after: the server's, then this process's.
    cpu: [(Option<f64>, Option<f64>); 2],
}

fn report(r: &Report<'_>) {
    let all = r.latencies;
    let elapsed = r.elapsed;
    let ms = |us: u32| us as f64 / 1000.0;
    println!(
        "messages     : {} ok, {} errors in {elapsed:.1} s",
        all.len(),
        r.errors
    );
    println!(
        "throughput   : {:.0} messages/s",
        all.len() as f64 / elapsed
    );
    println!(
        "latency (ms) : p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        ms(percentile(all, 50.0)),
        ms(percentile(all, 90.0)),
        ms(percentile(all, 99.0)),
        ms(all.last().copied().unwrap_or(0))
    );
    match r.memory {
        Some((peak, now)) => println!(
            "server memory: peak {:.1} MiB, now {:.1} MiB",
            peak as f64 / 1024.0,
            now as f64 / 1024.0
        ),
        None => println!("server memory: unknown (give --pid for a server started elsewhere)"),
    }
    match r.server {
        (Some(p50), Some(p99)) => {
            let ms = |s: f64| {
                if s.is_finite() {
                    format!("<= {:.1}", s * 1000.0)
                } else {
                    "> 1000".to_owned()
                }
            };
            println!(
                "server (ms)  : p50 {}  p99 {}  (its pipeline histogram: lane, transaction, fsync)",
                ms(p50),
                ms(p99)
            )
        }
        _ => println!("server (ms)  : unknown (no /metrics)"),
    }
    let cores = |(before, after): (Option<f64>, Option<f64>)| {
        before.zip(after).map_or("unknown".to_owned(), |(b, a)| {
            format!("{:.2}", (a - b) / elapsed)
        })
    };
    println!(
        "cpu (cores)  : server {}, bench client {}, of {} on this machine",
        cores(r.cpu[0]),
        cores(r.cpu[1]),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
}

/// The texts of a converse answer's replies.
fn reply_texts(answer: &[u8]) -> Vec<String> {
    serde_json::from_slice::<serde_json::Value>(answer)
        .ok()
        .and_then(|v| {
            v.get("replies")?.as_array().map(|r| {
                r.iter()
                    .filter_map(|x| x.get("text")?.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{histogram_percentile, percentile};

    #[test]
    fn percentiles_pick_ranks() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 51);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn histogram_percentiles_count_only_the_run() {
        let before = [(0.001, 5), (0.005, 10), (f64::INFINITY, 10)];
        let after = [(0.001, 5), (0.005, 108), (f64::INFINITY, 110)];
        // 100 new observations: 98 under 5 ms, 2 above every bound.
        assert_eq!(histogram_percentile(&before, &after, 50.0), Some(0.005));
        assert_eq!(histogram_percentile(&before, &after, 98.0), Some(0.005));
        assert_eq!(
            histogram_percentile(&before, &after, 99.0),
            Some(f64::INFINITY)
        );
        assert_eq!(histogram_percentile(&after, &after, 50.0), None);
    }
}
