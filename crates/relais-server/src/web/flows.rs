//! The flows' pages (SPEC §9): every flow with its versions; a flow's graph drawn
//! from its model (`relais_flow::graph`); a simulator pane that chats with the flow on
//! a virtual clock, as `relais simulate` (stateless: the page sends back what was
//! said so far and the server replays it, so two tabs never share a run); a flow file
//! checked with `relais check`'s findings shown at their lines, then published to the
//! workspace folder; the workspace's conversation tests run with their diffs.

use super::i18n::Lang;
use super::layout::{Form, frame, lang, not_found, page, reads_config, when};
use super::session::Signed;
use crate::html::escape;
use crate::http::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use relais_core::access;
use relais_flow::diag::{Diag, Severity};
use serde_json::json;

/// What a simulator run may replay: lines and characters per line.
const MAX_SCRIPT_LINES: usize = 100;
const MAX_LINE_CHARS: usize = 1000;
/// A flow file sent to be checked.
const MAX_FLOW_BYTES: usize = 256 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/flows", get(index))
        .route("/flows/check", post(check))
        .route("/flows/tests", post(tests))
        .route("/flows/{id}", get(show))
        .route("/flows/{id}/simulate", post(simulate))
}

async fn index(State(s): State<AppState>, who: Signed) -> Response {
    if !reads_config(&who) {
        return not_found(&who, "Inbox");
    }
    let l = lang(&who);
    let versions = match s.rt.store.flow_versions(false).await {
        Ok(v) => v,
        Err(e) => return super::failed(e),
    };
    let flows: Vec<String> =
        s.rt.flows
            .as_ref()
            .map_or_else(Vec::new, |f| f.loaded().ws.flows.keys().cloned().collect());
    let rows: String = flows
        .iter()
        .map(|id| {
            let mine: Vec<_> = versions.iter().filter(|v| &v.flow == id).collect();
            let last = mine.iter().max_by_key(|v| v.version);
            format!(
                "<tr><th scope=\"row\"><a href=\"/flows/{id_enc}\">{id}</a></th><td>{version}</td><td>{count}</td><td>{at}</td></tr>",
                id_enc = super::layout::enc(id),
                id = escape(id),
                version = last.map_or_else(|| "—".into(), |v| format!("v{}", v.version)),
                count = mine.len(),
                at = last.map(|v| when(v.created_at)).unwrap_or_default(),
            )
        })
        .collect();
    let csrf = who.csrf();
    let tools = if s.rt.home.is_some() {
        format!(
            "<section class=\"panel\"><h2>{check_title}</h2>\
             <form method=\"post\" action=\"/flows/check\" class=\"upload\">\
             <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
             <label>{file_l} <input name=\"path\" required maxlength=\"80\" placeholder=\"flows/my-flow.yaml\" pattern=\"flows/[a-z0-9_\\-]+\\.yaml\"></label>\
             <label>{pick_l} <input type=\"file\" id=\"flow-file\" accept=\".yaml,.yml\"></label>\
             <label class=\"grow\">{source_l} <textarea name=\"source\" rows=\"10\" required spellcheck=\"false\"></textarea></label>\
             <button type=\"submit\">{check}</button></form></section>\
             <section class=\"panel\"><h2>{tests_title}</h2>\
             <form method=\"post\" action=\"/flows/tests\"><input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
             <button type=\"submit\" class=\"second\">{run}</button></form></section>",
            check_title = l.t("Check a flow file"),
            file_l = l.t("File"),
            pick_l = l.t("From your computer"),
            source_l = l.t("Flow (YAML)"),
            check = l.t("Check"),
            tests_title = l.t("Conversation tests"),
            run = l.t("Run the workspace's tests"),
        )
    } else {
        format!(
            "<p class=\"hint\">{}</p>",
            l.t("This server runs without a workspace folder: flows cannot be checked or published here.")
        )
    };
    let main = format!(
        "<h1>{title}</h1><div class=\"scroll\"><table><thead><tr><th scope=\"col\">{flow}</th>\
         <th scope=\"col\">{current}</th><th scope=\"col\">{versions}</th><th scope=\"col\">{since}</th></tr></thead>\
         <tbody>{rows}</tbody></table></div>{tools}",
        title = l.t("Flows"),
        flow = l.t("Flow"),
        current = l.t("Current version"),
        versions = l.t("Versions"),
        since = l.t("Published"),
    );
    page(StatusCode::OK, frame(&who, "Flows", l.t("Flows"), &main))
}

async fn show(State(s): State<AppState>, who: Signed, Path(id): Path<String>) -> Response {
    flow_page(&s, &who, &id, None).await
}

/// A flow's page; `sim` is the simulator's run to show (script, transcript).
async fn flow_page(
    s: &AppState,
    who: &Signed,
    id: &str,
    sim: Option<(String, String)>,
) -> Response {
    if !reads_config(who) {
        return not_found(who, "Inbox");
    }
    let l = lang(who);
    let Some(flow) =
        s.rt.flows
            .as_ref()
            .and_then(|f| f.loaded().ws.flows.get(id).cloned())
    else {
        return not_found(who, "Flows");
    };
    let versions = match s.rt.store.flow_versions(false).await {
        Ok(v) => v,
        Err(e) => return super::failed(e),
    };
    let rows = version_rows(&versions, id);
    let graph = relais_flow::graph::of(&flow);
    let warn = unreachable_warning(l, &graph);
    let (script, transcript) = sim.unwrap_or_default();
    let main = format!(
        "<h1>{id}</h1>{warn}<figure class=\"graph\"><div class=\"scroll\">{svg}</div>\
         <figcaption class=\"hint\">{caption}</figcaption></figure>\
         <section class=\"panel sim\" aria-labelledby=\"sim-title\"><h2 id=\"sim-title\">{sim_title}</h2>\
         <ol class=\"transcript\" aria-live=\"polite\">{transcript}</ol>\
         <form method=\"post\" action=\"/flows/{id_enc}/simulate\" class=\"inline\">\
         <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"script\" value=\"{script}\">\
         <label class=\"grow\">{say_l} <input name=\"say\" id=\"say\" autocomplete=\"off\" maxlength=\"{max}\" \
         placeholder=\"{say_hint}\"></label>\
         <button type=\"submit\" name=\"action\" value=\"say\">{send}</button>\
         <button type=\"submit\" name=\"action\" value=\"reset\" class=\"second\">{reset}</button></form></section>\
         <h2>{versions_l}</h2><div class=\"scroll\"><table><thead><tr><th scope=\"col\">{version_l}</th>\
         <th scope=\"col\">{hash_l}</th><th scope=\"col\">{file_l}</th><th scope=\"col\">{published_l}</th></tr></thead>\
         <tbody>{rows}</tbody></table></div>",
        id = escape(id),
        id_enc = super::layout::enc(id),
        svg = relais_flow::graph::svg(&graph),
        caption = l
            .t("Steps as boxes, the start in bold, what leads from one to the next on the arrows."),
        sim_title = l.t("Simulator"),
        csrf = who.csrf(),
        script = escape(&script),
        say_l = l.t("You say"),
        say_hint = l.t("A message, /wait 2h, or /event name {json}"),
        max = MAX_LINE_CHARS,
        send = l.t("Send"),
        reset = l.t("Start over"),
        versions_l = l.t("Versions"),
        version_l = l.t("Version"),
        hash_l = l.t("Hash"),
        file_l = l.t("File"),
        published_l = l.t("Published"),
    );
    page(StatusCode::OK, frame(who, "Flows", id, &main))
}

/// The flow's published versions, the newest first, as table rows.
fn version_rows(versions: &[relais_store::FlowVersion], id: &str) -> String {
    versions
        .iter()
        .filter(|v| v.flow == id)
        .rev()
        .map(|v| {
            format!(
                "<tr><td>v{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                v.version,
                escape(&v.hash[..v.hash.len().min(12)]),
                escape(&v.path),
                when(v.created_at)
            )
        })
        .collect()
}

/// The steps of the graph no path reaches, said above it (nothing when there are none).
fn unreachable_warning(l: Lang, graph: &relais_flow::graph::Graph) -> String {
    let unreachable: Vec<&str> = graph
        .nodes
        .iter()
        .filter(|n| n.unreachable)
        .map(|n| n.id.as_str())
        .collect();
    if unreachable.is_empty() {
        String::new()
    } else {
        format!(
            "<p class=\"error\" role=\"status\">{} {}</p>",
            l.t("Steps no path reaches:"),
            escape(&unreachable.join(", "))
        )
    }
}

/// The simulator: replays what was said so far on a fresh run of the flow (a virtual
/// clock from now; `http` steps refused, offline, as in `relais simulate`), then the
/// new line.
async fn simulate(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let f = match Form::checked(&who, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    if !reads_config(&who) {
        return not_found(&who, "Inbox");
    }
    let l = lang(&who);
    let Some(loaded) = s.rt.flows.as_ref().map(|f| f.loaded()) else {
        return not_found(&who, "Flows");
    };
    if !loaded.ws.flows.contains_key(&id) {
        return not_found(&who, "Flows");
    }
    if f.get("action") == Some("reset") {
        return Redirect::to(&format!("/flows/{}#sim-title", super::layout::enc(&id)))
            .into_response();
    }
    let mut lines: Vec<String> = f
        .get("script")
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    let say = f.get("say").unwrap_or_default().trim();
    if !say.is_empty() {
        lines.push(say.chars().take(MAX_LINE_CHARS).collect());
    }
    lines.retain(|x| !x.trim().is_empty());
    if lines.len() > MAX_SCRIPT_LINES {
        lines.drain(..lines.len() - MAX_SCRIPT_LINES);
    }
    let transcript = run_script(l, loaded, &id, &lines, s.rt.clock.now());
    flow_page(&s, &who, &id, Some((lines.join("\n"), transcript))).await
}

/// One simulator run over `lines`, as the transcript's HTML.
fn run_script(
    l: Lang,
    loaded: std::sync::Arc<relais_flow::handler::Loaded>,
    flow: &str,
    lines: &[String],
    now: relais_core::Timestamp,
) -> String {
    let mut sim = crate::flowcmd::sim_on(loaded, flow, now);
    let mut http = crate::flowcmd::OfflineHttp;
    let mut out = String::new();
    let item = |class: &str, by: &str, text: &str| {
        format!(
            "<li class=\"{class}\"><span class=\"by\">{}</span><p>{}</p></li>",
            escape(by),
            escape(text)
        )
    };
    for line in lines {
        let replies = if let Some(d) = line.strip_prefix("/wait ") {
            out.push_str(&item("note", l.t("Clock"), &format!("+{}", d.trim())));
            match relais_core::Duration::parse(d.trim()) {
                Ok(d) => sim.wait(d, &mut http),
                Err(e) => Err(e.to_string()),
            }
        } else if let Some(rest) = line.strip_prefix("/event ") {
            let (name, data) = rest.split_once(' ').unwrap_or((rest, "{}"));
            out.push_str(&item("note", l.t("Event"), rest));
            match serde_json::from_str(data) {
                Ok(data) => sim.event(name, &data, &mut http),
                Err(e) => Err(format!("bad JSON: {e}")),
            }
        } else {
            out.push_str(&item("them", l.t("You"), line));
            sim.user(line, None, &mut http)
        };
        match replies {
            Ok(rs) => {
                for r in rs {
                    let mut text = r.text;
                    if !r.buttons.is_empty() {
                        text.push_str(&format!("\n[{}]", r.buttons.join("] [")));
                    }
                    out.push_str(&item("bot", l.t("Bot"), &text));
                }
            }
            Err(e) => out.push_str(&item("note error-line", l.t("Error"), &e)),
        }
        for w in sim.warnings.drain(..) {
            out.push_str(&item("note", l.t("Warning"), &w));
        }
    }
    if !lines.is_empty() {
        let vars = sim
            .run()
            .map(|r| serde_json::Value::Object(r.vars))
            .unwrap_or_default();
        out.push_str(&format!(
            "<li class=\"note\"><span class=\"by\">{}</span><p>{} · {}</p></li>",
            l.t("State"),
            escape(&sim.conv.status.to_string()),
            escape(&vars.to_string())
        ));
    }
    out
}

/// A flow file checked against the workspace (as `relais check` would, with this file
/// in place), its findings shown at their lines; published when clean and asked.
async fn check(State(s): State<AppState>, who: Signed, body: Bytes) -> Response {
    let f = match Form::checked(&who, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    if !reads_config(&who) {
        return not_found(&who, "Inbox");
    }
    let l = lang(&who);
    let Some(home) = s.rt.home.as_ref() else {
        return not_found(&who, "Flows");
    };
    let path = f.get("path").unwrap_or_default().trim().to_owned();
    let source = f.get("source").unwrap_or_default().replace("\r\n", "\n");
    let findings = match findings_of(home, &path, &source) {
        Ok(findings) => findings,
        Err(e) => return super::internal(e),
    };
    let errors = findings.iter().any(|d| d.severity == Severity::Error);
    let publish = f.get("action") == Some("publish");
    if publish && !errors {
        return publish_flow(&s, &who, home, &path, &source).await;
    }
    check_page(l, &who, &path, &source, &findings, errors)
}

/// The findings on a flow file sent to be checked: its name and size first; when they
/// are right, the workspace's own, loaded with the file in place. `Err`: the workspace
/// folder could not be read.
fn findings_of(
    home: &crate::runtime::reload::Home,
    path: &str,
    source: &str,
) -> Result<Vec<Diag>, String> {
    let name_ok = path
        .strip_prefix("flows/")
        .and_then(|p| p.strip_suffix(".yaml"))
        .is_some_and(|n| {
            !n.is_empty()
                && n.len() <= 64
                && n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        });
    let mut findings: Vec<Diag> = Vec::new();
    if !name_ok {
        findings.push(Diag {
            file: path.to_owned(),
            pos: relais_flow::yaml::Pos { line: 1, col: 1 },
            severity: Severity::Error,
            message: "the file is flows/NAME.yaml, NAME in lower-case letters, digits, - and _"
                .into(),
        });
    }
    if source.len() > MAX_FLOW_BYTES {
        findings.push(Diag {
            file: path.to_owned(),
            pos: relais_flow::yaml::Pos { line: 1, col: 1 },
            severity: Severity::Error,
            message: format!("the file is larger than {MAX_FLOW_BYTES} bytes"),
        });
    }
    if findings.is_empty() {
        match crate::workspace::read(&home.dir) {
            Ok(mut sources) => {
                sources.flows.retain(|(p, _)| *p != path);
                sources.flows.push((path.to_owned(), source.to_owned()));
                // Checked only: nothing is trained for a check.
                let (_, diags) = relais_flow::workspace::Workspace::load(
                    &sources,
                    home.settings.escalation.clone(),
                );
                findings.extend(diags);
            }
            Err(e) => {
                return Err(format!("{}: {e}", home.dir.display()));
            }
        }
    }
    Ok(findings)
}

/// A checked flow file written to the workspace folder (admins only), the workspace
/// reloaded and the publication recorded; then the flow's page.
async fn publish_flow(
    s: &AppState,
    who: &Signed,
    home: &crate::runtime::reload::Home,
    path: &str,
    source: &str,
) -> Response {
    if !access::may_configure(who.agent.role) {
        return super::layout::Refused("only admins publish flows").into_response();
    }
    let target = home.dir.join(path);
    let tmp = home.dir.join(format!("{path}.tmp"));
    let written = std::fs::write(&tmp, source).and_then(|()| std::fs::rename(&tmp, &target));
    if let Err(e) = written {
        return super::internal(format!("{}: {e}", target.display()));
    }
    if let Err(e) = s.rt.reload().await {
        return super::internal(e.to_string());
    }
    if let Err(e) = crate::http::api::record_admin_action(
        s,
        who.agent.id,
        who.via(),
        json!({ "action": "flow_published", "path": path }),
    )
    .await
    {
        return e.into_response();
    }
    let id = path
        .trim_start_matches("flows/")
        .trim_end_matches(".yaml")
        .to_owned();
    Redirect::to(&format!("/flows/{}", super::layout::enc(&id))).into_response()
}

/// The check's page: the verdict, the publish button when clean, the source with its
/// findings, then those about other files of the workspace.
fn check_page(
    l: Lang,
    who: &Signed,
    path: &str,
    source: &str,
    findings: &[Diag],
    errors: bool,
) -> Response {
    let mine: Vec<&Diag> = findings.iter().filter(|d| d.file == path).collect();
    let elsewhere: String = findings
        .iter()
        .filter(|d| d.file != path)
        .map(|d| format!("<li>{}</li>", escape(&d.to_string())))
        .collect();
    let listing = listing(source, &mine);
    let beyond: String = mine
        .iter()
        .filter(|d| d.pos.line == 0 || d.pos.line > source.lines().count())
        .map(|d| format!("<li>{}</li>", escape(&d.to_string())))
        .collect();
    let verdict = if errors {
        format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            l.t("The file has errors: fix them, then check again.")
        )
    } else {
        format!("<p class=\"done\" role=\"status\">{}</p>", l.t("No error."))
    };
    let publish_form = if !errors && access::may_configure(who.agent.role) {
        format!(
            "<form method=\"post\" action=\"/flows/check\"><input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
             <input type=\"hidden\" name=\"path\" value=\"{path}\"><input type=\"hidden\" name=\"source\" value=\"{source}\">\
             <button type=\"submit\" name=\"action\" value=\"publish\">{publish}</button></form>",
            csrf = who.csrf(),
            path = escape(path),
            source = escape(source),
            publish = l.t("Publish to the workspace"),
        )
    } else {
        String::new()
    };
    let main = format!(
        "<h1>{title} <span class=\"hint\">{path}</span></h1>{verdict}{publish_form}\
         <ol class=\"listing\">{listing}</ol><ul>{beyond}</ul>{other}",
        title = l.t("Check a flow file"),
        path = escape(path),
        other = if elsewhere.is_empty() {
            String::new()
        } else {
            format!(
                "<h2>{}</h2><ul>{elsewhere}</ul>",
                l.t("Elsewhere in the workspace")
            )
        },
    );
    let status = if errors {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(status, frame(who, "Flows", l.t("Check a flow file"), &main))
}

/// The source, numbered, each finding under its line.
fn listing(source: &str, mine: &[&Diag]) -> String {
    source
        .lines()
        .enumerate()
        .map(|(i, text)| {
            let n = i + 1;
            let here: Vec<&&Diag> = mine.iter().filter(|d| d.pos.line == n).collect();
            let class = match here
                .iter()
                .map(|d| d.severity)
                .min_by_key(|s| *s != Severity::Error)
            {
                Some(Severity::Error) => " class=\"bad\"",
                Some(_) => " class=\"warn\"",
                None => "",
            };
            let notes: String = here
                .iter()
                .map(|d| {
                    format!(
                        "<span class=\"finding\">{}:{} {}</span>",
                        d.pos.line,
                        d.pos.col,
                        escape(&d.to_string())
                    )
                })
                .collect();
            format!(
                "<li{class} id=\"L{n}\"><code>{}</code>{notes}</li>",
                escape(text)
            )
        })
        .collect()
}

/// The workspace's conversation tests, run now, with the diff of those that fail.
async fn tests(State(s): State<AppState>, who: Signed, body: Bytes) -> Response {
    if let Err(r) = Form::checked(&who, &body) {
        return r.into_response();
    }
    if !reads_config(&who) {
        return not_found(&who, "Inbox");
    }
    let l = lang(&who);
    let Some(home) = s.rt.home.as_ref() else {
        return not_found(&who, "Flows");
    };
    let runs = match run_workspace_tests(home).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    use crate::flowcmd::CaseResult;
    let passed = runs
        .iter()
        .filter(|r| matches!(r.result, CaseResult::Passed))
        .count();
    let items: String = runs.iter().map(|r| case_item(l, r)).collect();
    let main = format!(
        "<h1>{title}</h1><p role=\"status\">{summary}</p><ul class=\"cases\">{items}</ul>",
        title = l.t("Conversation tests"),
        summary = l
            .t("{n} passed, {failed} failed.")
            .replace("{n}", &passed.to_string())
            .replace("{failed}", &(runs.len() - passed).to_string()),
    );
    page(
        StatusCode::OK,
        frame(&who, "Flows", l.t("Conversation tests"), &main),
    )
}

/// The workspace folder's conversation tests, read and run off the async threads.
async fn run_workspace_tests(
    home: &crate::runtime::reload::Home,
) -> Result<Vec<crate::flowcmd::CaseRun>, Response> {
    let dir = home.dir.clone();
    let escalation = home.settings.escalation.clone();
    let thresholds = home.settings.nlu;
    let ran = tokio::task::spawn_blocking(move || {
        let sources = crate::workspace::read(&dir)?;
        let files = crate::workspace::read_tests(&dir)?;
        Ok::<_, std::io::Error>(crate::flowcmd::run_tests(
            &dir,
            &escalation,
            thresholds,
            &sources,
            &files,
        ))
    })
    .await;
    match ran {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(super::internal(e.to_string())),
        Err(e) => Err(super::internal(e.to_string())),
    }
}

/// One test of the list: passed, or why not (a failed step with the expected and
/// actual lines side by side).
fn case_item(l: Lang, r: &crate::flowcmd::CaseRun) -> String {
    use crate::flowcmd::CaseResult;
    let (class, detail) = match &r.result {
        CaseResult::Passed => ("ok", String::new()),
        CaseResult::Unreadable(lines) | CaseResult::WorkspaceFails(lines) => {
            ("bad", format!("<pre>{}</pre>", escape(&lines.join("\n"))))
        }
        CaseResult::Broken(m) => ("bad", format!("<pre>{}</pre>", escape(m))),
        CaseResult::Failed(f) => {
            let n = f.expected.len().max(f.actual.len());
            let rows: String = (0..n)
                .map(|i| {
                    let e = f.expected.get(i).map_or("", String::as_str);
                    let a = f.actual.get(i).map_or("", String::as_str);
                    let cls = if e == a { "" } else { " class=\"differs\"" };
                    format!("<tr{cls}><td>{}</td><td>{}</td></tr>", escape(e), escape(a))
                })
                .collect();
            (
                "bad",
                format!(
                    "<p>{} {} ({}:{}): {}</p><p>{}</p><table class=\"diff\"><thead><tr><th scope=\"col\">{}</th>\
                     <th scope=\"col\">{}</th></tr></thead><tbody>{rows}</tbody></table>",
                    l.t("Step"),
                    f.step,
                    escape(&r.file),
                    f.pos,
                    escape(&f.action),
                    escape(&f.message),
                    l.t("Expected"),
                    l.t("Actual"),
                ),
            )
        }
    };
    format!(
        "<li class=\"case {class}\"><strong>{}</strong> {} <span class=\"hint\">{}</span>{detail}</li>",
        if class == "ok" { "✓" } else { "✗" },
        escape(&r.name),
        escape(&r.file),
    )
}
