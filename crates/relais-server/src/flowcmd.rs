//! `relais check`, `relais test` and `relais simulate`: the flow tools that need no
//! server. They read a workspace folder and run the pure engine in memory.

use crate::config::Settings;
use crate::workspace;
use relais_core::Duration;
use relais_flow::convtest;
use relais_flow::diag::{Diag, Diags, Severity};
use relais_flow::handler::{ChannelMeta, Loaded};
use relais_flow::sim::{HttpStub, Sim};
use relais_flow::workspace::Workspace;
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Checks a workspace folder; prints every finding; true when there is no error.
pub fn check(dir: &Path) -> bool {
    let mut findings: Vec<Diag> = Vec::new();
    let settings = match Settings::load(dir, &crate::config::process_env()) {
        Ok(s) => Some(s),
        Err(e) => {
            let mut d = Diags::new("relais.toml");
            d.error(relais_flow::yaml::Pos { line: 1, col: 1 }, e.to_string());
            findings.extend(d.items);
            None
        }
    };
    match workspace::read(dir) {
        Ok(sources) => {
            if sources.flows.is_empty() {
                let mut d = Diags::new("flows/");
                d.error(
                    relais_flow::yaml::Pos { line: 1, col: 1 },
                    "the workspace has no flow files (flows/*.yaml)",
                );
                findings.extend(d.items);
            }
            let esc = settings
                .as_ref()
                .map(|s| s.escalation.clone())
                .unwrap_or_default();
            let (ws, diags) = Workspace::load(&sources, esc);
            findings.extend(diags);
            // A channel's secret that is not set: `serve` refuses it, `check` warns.
            if let (Some(ws), Some(settings), Some((path, _))) = (&ws, &settings, &sources.channels)
            {
                let mut d = Diags::new(path);
                for c in &ws.channels {
                    for (role, name) in &c.secrets {
                        if !settings.secrets.contains_key(&name.to_lowercase()) {
                            d.warn(c.pos, format!(
                                "the channel {:?}'s secret `{role}` names {name}, which [secrets] does not set (nor RELAIS__SECRETS__{}): `relais serve` will refuse to start",
                                c.id, name.to_uppercase()
                            ));
                        }
                    }
                }
                findings.extend(d.items);
            }
            // Test files must parse too.
            if let Ok(tests) = workspace::read_tests(dir) {
                for (path, text) in tests {
                    let mut d = Diags::new(path);
                    convtest::parse(&text, &mut d);
                    findings.extend(d.items);
                }
            }
        }
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", dir.display());
            return false;
        }
    }
    place_in_toml(dir, &mut findings);
    relais_flow::diag::sort(&mut findings);
    for f in &findings {
        println!("{}", display(dir, f));
    }
    let errors = findings
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    println!(
        "{}: {errors} error(s), {warnings} warning(s)",
        dir.display()
    );
    errors == 0
}

/// Findings about relais.toml's keys come without a position (the workspace checks do
/// not read the file): each is put on the line where its key is written.
fn place_in_toml(dir: &Path, findings: &mut [Diag]) {
    let Ok(text) = std::fs::read_to_string(dir.join("relais.toml")) else {
        return;
    };
    for f in findings
        .iter_mut()
        .filter(|f| f.file == "relais.toml" && f.pos.line == 1)
    {
        let Some(key) = ["sensitive_intents"]
            .into_iter()
            .find(|k| f.message.contains(k))
        else {
            continue;
        };
        if let Some((n, line)) = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.trim_start().starts_with(key))
        {
            let col = line.len() - line.trim_start().len() + 1;
            f.pos = relais_flow::yaml::Pos { line: n + 1, col };
        }
    }
}

fn display(dir: &Path, d: &Diag) -> String {
    let mut d = d.clone();
    d.file = dir.join(&d.file).display().to_string();
    d.to_string()
}

/// Runs the conversation tests of workspaces or files; true when all pass.
pub fn test(paths: &[PathBuf]) -> bool {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let mut passed = 0;
    let mut failed = Vec::new();
    for p in &paths {
        let Some((dir, files)) = test_files(p) else {
            return false;
        };
        let (base, thresholds) = match Settings::load(&dir, &[]) {
            Ok(s) => (s.escalation, s.nlu),
            Err(e) => {
                eprintln!("error: {}: {e}", dir.join("relais.toml").display());
                return false;
            }
        };
        let sources = match workspace::read(&dir) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {}: {e}", dir.display());
                return false;
            }
        };
        let files: Vec<(String, String)> = files
            .into_iter()
            .map(|(f, t)| (f.display().to_string(), t))
            .collect();
        for case in run_tests(&dir, &base, thresholds, &sources, &files) {
            print_case(case, &mut passed, &mut failed);
        }
    }
    println!("{passed} passed, {} failed", failed.len());
    failed.is_empty()
}

/// The workspace folder of `p` and the test files it names: a folder's `tests/`, or
/// one file (its workspace two folders up). `None` once the error is printed.
fn test_files(p: &Path) -> Option<(PathBuf, Vec<(PathBuf, String)>)> {
    if p.is_dir() {
        match workspace::read_tests(p) {
            Ok(t) => Some((
                p.to_path_buf(),
                t.into_iter()
                    .map(|(f, t)| (p.join(f), t))
                    .collect::<Vec<_>>(),
            )),
            Err(e) => {
                eprintln!("error: {}: {e}", p.display());
                None
            }
        }
    } else {
        let dir = p
            .parent()
            .and_then(Path::parent)
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        match std::fs::read_to_string(p) {
            Ok(t) => Some((dir, vec![(p.to_path_buf(), t)])),
            Err(e) => {
                eprintln!("error: {}: {e}", p.display());
                None
            }
        }
    }
}

/// Prints how one test went; counts it as passed, or adds it to the failed ones.
fn print_case(case: CaseRun, passed: &mut usize, failed: &mut Vec<String>) {
    match case.result {
        CaseResult::Passed => {
            *passed += 1;
            println!("ok   {} ({})", case.name, case.file);
        }
        CaseResult::Unreadable(findings) => {
            for x in findings {
                println!("{x}");
            }
            failed.push(case.file.clone());
        }
        CaseResult::Broken(message) => {
            println!("{message}");
            failed.push(case.name.clone());
        }
        CaseResult::WorkspaceFails(findings) => {
            println!(
                "FAIL {}: the workspace does not pass `relais check`:",
                case.name
            );
            for x in findings {
                println!("  {x}");
            }
            failed.push(case.name.clone());
        }
        CaseResult::Failed(f) => {
            println!("FAIL {} ({})", case.name, case.file);
            println!("  step {} at {}:{}: {}", f.step, case.file, f.pos, f.action);
            println!("  {}", f.message);
            let n = f.expected.len().max(f.actual.len());
            if n > 0 {
                println!("    {:<40} | actual", "expected");
                for i in 0..n {
                    let e = f.expected.get(i).map_or("", String::as_str);
                    let a = f.actual.get(i).map_or("", String::as_str);
                    println!(
                        "    {:<40} | {}",
                        e.replace('\n', "⏎"),
                        a.replace('\n', "⏎")
                    );
                }
            }
            failed.push(case.name.clone());
        }
    }
}

/// How one conversation test went.
pub struct CaseRun {
    pub file: String,
    pub name: String,
    pub result: CaseResult,
}

pub enum CaseResult {
    Passed,
    /// The test file itself has errors (with their positions).
    Unreadable(Vec<String>),
    /// A `config` key of the test is wrong.
    Broken(String),
    /// The workspace, with the test's settings, does not pass `relais check`.
    WorkspaceFails(Vec<String>),
    Failed(convtest::Failure),
}

/// Runs conversation tests (`(file, text)`) against a workspace's sources, in memory:
/// what `relais test` prints and the workspace's Flows page shows.
pub fn run_tests(
    dir: &Path,
    base: &relais_flow::escalation::Escalation,
    thresholds: relais_flow::understand::Thresholds,
    sources: &relais_flow::workspace::Sources,
    files: &[(String, String)],
) -> Vec<CaseRun> {
    let mut out = Vec::new();
    let mut vectors = relais_nlu::vectors::Cache::default();
    for (file, text) in files {
        let mut d = Diags::new(file.clone());
        let Some(case) = convtest::parse(text, &mut d).filter(|_| !d.has_errors()) else {
            out.push(CaseRun {
                file: file.clone(),
                name: file.clone(),
                result: CaseResult::Unreadable(d.items.iter().map(ToString::to_string).collect()),
            });
            continue;
        };
        let mut esc = base.clone();
        let mut config_error = None;
        for (k, v, pos) in &case.config {
            if let Err(e) = convtest::apply_config(&mut esc, k, v) {
                config_error = Some(format!("{file}:{pos}: error: {e}"));
            }
        }
        if let Some(e) = config_error {
            out.push(CaseRun {
                file: file.clone(),
                name: case.name.clone(),
                result: CaseResult::Broken(e),
            });
            continue;
        }
        let (ws, diags) = Workspace::load(sources, esc);
        let Some(ws) = ws else {
            out.push(CaseRun {
                file: file.clone(),
                name: case.name.clone(),
                result: CaseResult::WorkspaceFails(
                    diags
                        .iter()
                        .filter(|x| x.severity == Severity::Error)
                        .map(|x| display(dir, x))
                        .collect(),
                ),
            });
            continue;
        };
        let loaded = Loaded::new(ws, &HashMap::new(), Vec::new(), case.secrets.clone());
        // One cache for the whole run: each case trains on vectors already computed.
        let loaded = match loaded.understand_with(&mut vectors, thresholds) {
            Ok(l) => Arc::new(l),
            Err(e) => {
                out.push(CaseRun {
                    file: file.clone(),
                    name: case.name.clone(),
                    result: CaseResult::Broken(format!(
                        "FAIL {}: language understanding: {e}",
                        case.name
                    )),
                });
                continue;
            }
        };
        let run = convtest::run(&case, loaded);
        out.push(CaseRun {
            file: file.clone(),
            name: run.name,
            result: match run.failure {
                None => CaseResult::Passed,
                Some(f) => CaseResult::Failed(f),
            },
        });
    }
    out
}

/// A terminal chat with a flow, on a virtual clock.
pub fn simulate(
    dir: &Path,
    flow: &str,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<(), String> {
    let mut sim = start_sim(dir, flow)?;
    let mut http = OfflineHttp;
    say(
        out,
        &format!("Chatting with {flow}. Commands: /wait 10m, /event NAME {{json}}, /vars, /quit"),
    );
    let mut line = String::new();
    loop {
        let _ = write!(out, "> ");
        let _ = out.flush();
        line.clear();
        if input.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Ok(());
        }
        let text = line.trim_end_matches(['\n', '\r']);
        let replies = if text == "/quit" {
            return Ok(());
        } else if text == "/vars" {
            let vars = sim
                .run()
                .map(|r| serde_json::Value::Object(r.vars))
                .unwrap_or_default();
            say(
                out,
                &serde_json::to_string_pretty(&vars).unwrap_or_default(),
            );
            say(out, &format!("status: {}", sim.conv.status));
            continue;
        } else if let Some(d) = text.strip_prefix("/wait ") {
            match Duration::parse(d.trim()) {
                Ok(d) => sim.wait(d, &mut http),
                Err(e) => {
                    say(out, &e.to_string());
                    continue;
                }
            }
        } else if let Some(rest) = text.strip_prefix("/event ") {
            let (name, data) = rest.split_once(' ').unwrap_or((rest, "{}"));
            match serde_json::from_str(data) {
                Ok(data) => sim.event(name, &data, &mut http),
                Err(e) => {
                    say(out, &format!("bad JSON: {e}"));
                    continue;
                }
            }
        } else {
            sim.user(text, None, &mut http)
        };
        match replies {
            Ok(rs) => {
                for r in rs {
                    say(out, &format!("bot: {}", r.text));
                    if !r.buttons.is_empty() {
                        say(out, &format!("     [{}]", r.buttons.join("] [")));
                    }
                }
            }
            Err(e) => say(out, &format!("error: {e}")),
        }
        for warning in sim.warnings.drain(..) {
            say(out, &format!("(warning: {warning})"));
        }
    }
}

/// One line of the simulator's output.
fn say(out: &mut dyn Write, s: &str) {
    let _ = writeln!(out, "{s}");
}

/// The simulator on the workspace's `flow`, started now on a REST channel.
fn start_sim(dir: &Path, flow: &str) -> Result<Sim, String> {
    let settings = Settings::load(dir, &[]).map_err(|e| e.to_string())?;
    let sources = workspace::read(dir).map_err(|e| e.to_string())?;
    let (loaded, _) = workspace::load(&sources, &settings).map_err(|diags| {
        diags
            .iter()
            .map(|d| display(dir, d))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    if !loaded.ws.flows.contains_key(flow) {
        return Err(format!("the workspace has no flow {flow:?}"));
    }
    let now = relais_core::Timestamp(jiff::Timestamp::now().as_millisecond());
    Ok(sim_on(Arc::new(loaded), flow, now))
}

/// A simulated contact ("You", standard tier) talking to `flow` on a REST channel from
/// `now`: `relais simulate` and the Flows page's simulator pane.
pub fn sim_on(
    loaded: Arc<relais_flow::handler::Loaded>,
    flow: &str,
    now: relais_core::Timestamp,
) -> Sim {
    let meta = ChannelMeta {
        kind: "rest".into(),
        default_flow: Some(flow.to_owned()),
    };
    let contact = relais_core::contact::Contact {
        id: relais_flow::sim::CONTACT,
        name: Some("You".into()),
        language: None,
        tier: "standard".into(),
        fields: serde_json::json!({}),
    };
    Sim::new(loaded, meta, contact, now)
}

/// In the simulator, `http` steps are refused: it runs offline.
pub struct OfflineHttp;

impl HttpStub for OfflineHttp {
    fn call(
        &mut self,
        call: &relais_core::decision::HttpCall,
    ) -> Result<relais_core::decision::HttpResult, String> {
        Ok(relais_core::decision::HttpResult::Failed {
            error: format!(
                "the simulator does not call {} {} (offline)",
                call.method, call.url
            ),
        })
    }
}

/// Sends SIGHUP to the server whose pid is in `pid_file`.
pub fn signal_reload(pid_file: &Path) -> Result<(), String> {
    let pid = std::fs::read_to_string(pid_file)
        .map_err(|e| format!("no running server found ({}: {e})", pid_file.display()))?;
    let pid = pid.trim();
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{} does not hold a process id", pid_file.display()));
    }
    let status = std::process::Command::new("kill")
        .args(["-HUP", pid])
        .status()
        .map_err(|e| format!("cannot run kill: {e}"))?;
    if status.success() {
        println!("asked the server (pid {pid}) to reload its workspace");
        Ok(())
    } else {
        Err(format!("no server with pid {pid} is running"))
    }
}
