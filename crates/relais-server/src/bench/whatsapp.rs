//! `relais bench --whatsapp`: the REST channel and signed WhatsApp Cloud API webhooks
//! on one started server, the same flow (one reply to each message), one after the
//! other. A webhook is answered 200 only once its message is durably recorded (the
//! same fsync as REST); its reply then leaves through the outbox to a local stand-in
//! of the Graph API, so the server does that work too while the load runs.

use super::{Mode, Target, phase, start_server};
use crate::bench::BenchArgs;
use relais_core::Duration;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const APP_SECRET: &str = "bench-app-secret";
const PHONE_NUMBER_ID: &str = "100000000000001";
const CHANNEL: &str = "bench-wa";
/// The pause after a WhatsApp round's replies are all sent, as a share of the round's
/// length (measured with 10 s rounds: the REST round that follows is ~8 % slower
/// without a pause, and recovers within 15 s).
const SETTLE: f64 = 1.5;

/// One reply to every message, on every channel.
const FLOW: &str = "flow: hello\nname: Hello\nlanguage: en\ntrigger: { on: message }\nstart: hi\nsteps:\n  hi:\n    ask: { prompt: \"Hello! How can I help?\" }\n    next: hi\n";

/// A contact's WhatsApp id: digits only, unique per run, slot and contact.
pub(super) fn wa_id(run: u32, slot: usize, contact: u64) -> String {
    format!("9{}{slot:03}{contact:03}", run % 100_000)
}

/// A Cloud API webhook carrying one text message, as Meta sends it.
pub(super) fn webhook(from: &str, id: &str, text: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "WABA", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550001111", "phone_number_id": PHONE_NUMBER_ID },
            "contacts": [{ "profile": { "name": "Bench" }, "wa_id": from }],
            "messages": [{ "from": from, "id": id, "timestamp": "1800000000", "type": "text", "text": { "body": text } }]
        } }] }]
    }))
    .unwrap_or_default()
}

/// The Graph API's `/messages`, answering as the documentation shows; counts calls.
async fn graph_stand_in(sent: Arc<AtomicU64>) -> Result<String, String> {
    let app = axum::Router::new().fallback(move || {
        let sent = sent.clone();
        async move {
            let n = sent.fetch_add(1, Ordering::Relaxed);
            axum::Json(json!({ "messaging_product": "whatsapp", "messages": [{ "id": format!("wamid.bench{n}") }] }))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

fn write_workspace(dir: &std::path::Path, graph: &str) -> Result<(), String> {
    let w = |p: &str, t: String| std::fs::write(dir.join(p), t).map_err(|e| format!("{p}: {e}"));
    std::fs::create_dir_all(dir.join("flows")).map_err(|e| e.to_string())?;
    w("flows/hello.yaml", FLOW.to_owned())?;
    w(
        "channels.yaml",
        format!(
            "channels:\n  - {{ id: {CHANNEL}, kind: whatsapp, default_flow: hello,\n      settings: {{ phone_number_id: \"{PHONE_NUMBER_ID}\", api_base: \"{graph}\", rate: 10000 }},\n      secrets: {{ token: BENCH_WA_TOKEN, app_secret: BENCH_WA_APP_SECRET, verify_token: BENCH_WA_VERIFY }} }}\n"
        ),
    )?;
    w(
        "relais.toml",
        format!(
            "[secrets]\nbench_wa_token = \"t\"\nbench_wa_app_secret = \"{APP_SECRET}\"\nbench_wa_verify = \"v\"\n"
        ),
    )
}

pub(super) async fn compare(args: &BenchArgs, run_for: Duration) -> Result<(), String> {
    let sent = Arc::new(AtomicU64::new(0));
    let graph = graph_stand_in(sent.clone()).await?;
    let ws = tempfile::Builder::new()
        .prefix("relais-bench-ws-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    write_workspace(ws.path(), &graph)?;
    let target: Target = start_server(false, Some(ws.path()))?;
    let walk = || vec![super::Script::walk("hello", &["Hello"])];
    let secs = run_for.0 as f64 / 1000.0;
    let rest_mode = || Mode::Rest {
        endpoint: format!("{}/api/v1/channels/{}/converse", target.url, args.channel),
        token: target.token.clone(),
    };
    let wa_mode = || Mode::WhatsApp {
        endpoint: format!("{}/webhooks/whatsapp/{CHANNEL}", target.url),
        app_secret: APP_SECRET.to_owned(),
    };
    // REST, WhatsApp, REST, WhatsApp: alternated, so that neither gains from running
    // on the emptier database or the cooler machine.
    let (mut rest, mut wa) = (Vec::new(), Vec::new());
    for round in 1..=2 {
        println!("== REST channel, round {round} (replies in the response)");
        let l = phase(&target, args, run_for, rest_mode(), walk(), false).await?;
        rest.push(l.done.load(Ordering::Relaxed) as f64 / secs);
        println!(
            "== WhatsApp webhooks, round {round} (signed; 200 after the durable commit; replies through the outbox)"
        );
        let before = sent.load(Ordering::Relaxed);
        let l = phase(&target, args, run_for, wa_mode(), walk(), false).await?;
        let done = l.done.load(Ordering::Relaxed);
        wa.push(done as f64 / secs);
        let during = sent.load(Ordering::Relaxed) - before;
        // The next round starts on an idle server: the outbox sends every reply first.
        let drain = std::time::Instant::now();
        while sent.load(Ordering::Relaxed) - before < done
            && drain.elapsed() < std::time::Duration::from_secs(600)
        {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let total = sent.load(Ordering::Relaxed) - before;
        // The burst leaves background work (WAL checkpoints of its writes) that would
        // slow the next round: let it settle, as it would between bursts.
        tokio::time::sleep(std::time::Duration::from_secs_f64(secs * SETTLE)).await;
        println!(
            "replies sent : {during} during the run, {total} of {done} after {:.1} s more (the outbox: {:.0} replies/s overall)",
            drain.elapsed().as_secs_f64(),
            total as f64 / (secs + drain.elapsed().as_secs_f64())
        );
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (r, w) = (mean(&rest), mean(&wa));
    println!(
        "whatsapp/rest: {:.2} (mean of two rounds each: {w:.0} against {r:.0} messages/s)",
        if r > 0.0 { w / r } else { 0.0 }
    );
    Ok(())
}
