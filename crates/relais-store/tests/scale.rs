//! The figure for SPEC §10's "reports over a year of a busy tenant (a million
//! conversations) answer in under a second on SQLite". Ignored by default (it fills a
//! database for minutes); run in release:
//!
//!     cargo test --release -p relais-store --test scale -- --ignored --nocapture
//!
//! `RELAIS_SCALE_CONVERSATIONS` (default 1,000,000) conversations spread over a year,
//! one in four escalated, each with the events the pipeline writes; then every event
//! folded into the kept stories, then the year's report read and computed, timed.

use relais_core::conversation::Priority;
use relais_core::decision::{ConversationHandler, Decision, HandlerInput, Handoff, Reply};
use relais_core::event::{Actor, Event, EventKind};
use relais_core::greeting::GreetingBot;
use relais_core::id::ChannelId;
use relais_core::kpi;
use relais_core::ticket::Action;
use relais_core::{Duration, Timestamp};
use relais_store::sqlite::SqliteOptions;
use relais_store::*;
use std::sync::Arc;
use std::time::Instant;

const T0: Timestamp = Timestamp(1_800_000_000_000);

struct Escalate;
impl ConversationHandler for Escalate {
    fn decide(&self, input: &HandlerInput<'_>) -> Decision {
        Decision {
            replies: vec![Reply::text("un conseiller arrive")],
            ticket: Some(Action::Escalate),
            events: vec![Event::new(
                EventKind::Escalated,
                Actor::Bot,
                input.now,
                serde_json::json!({ "reason": "requested", "team": "support" }),
            )],
            handoff: Some(Handoff {
                team: Some("support".into()),
                priority: Priority::Normal,
                reason: "requested".into(),
                note: None,
                after_hours: false,
                fields: serde_json::json!({}),
                language: None,
            }),
            ..Decision::default()
        }
    }
}

fn inbound(i: u64, at: Timestamp) -> Inbound {
    Inbound {
        channel: ChannelId("api".into()),
        address: format!("+3360{i:08}"),
        external_id: None,
        text: "bonjour".into(),
        contact_name: None,
        language: None,
        received_at: at,
        replies_in_band: true,
        button: None,
        payload: None,
        opens_window: false,
        media: None,
        thread: Vec::new(),
        attachments: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fills a database with a year of conversations: a measurement, run by hand"]
async fn a_year_of_reports_on_a_million_conversations() {
    let n: u64 = std::env::var("RELAIS_SCALE_CONVERSATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let mut options = SqliteOptions::new(dir.path().join("relais.db"));
    options.synchronous_full = false;
    let store: Arc<dyn Store> = Arc::new(relais_store::sqlite::open(options).unwrap());
    store
        .create_channel(NewChannel {
            id: ChannelId("api".into()),
            kind: "rest".into(),
            name: "API".into(),
            token_hash: None,
            callback_url: None,
            callback_secret: None,
            created_at: T0,
        })
        .await
        .unwrap();
    let year = Duration::days(365).0;
    let started = Instant::now();
    let lanes = 64;
    let mut tasks = Vec::new();
    for lane in 0..lanes {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let greeting: Arc<dyn ConversationHandler> = Arc::new(GreetingBot::default());
            let escalate: Arc<dyn ConversationHandler> = Arc::new(Escalate);
            let mut i = lane;
            while i < n {
                let at = Timestamp(T0.0 + (year as u128 * i as u128 / n as u128) as i64);
                let h = if i % 4 == 0 { &escalate } else { &greeting };
                store.ingest(inbound(i, at), h.clone()).await.unwrap();
                i += lanes;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let filled = started.elapsed();
    let events = store.stats().await.unwrap().events;
    let started = Instant::now();
    let now = Timestamp(T0.0 + year + 1);
    while store.fold_stories(20_000, now).await.unwrap() > 0 {}
    let folded = started.elapsed();

    let query = ReportQuery {
        from: T0,
        to: Timestamp(T0.0 + year + 1),
        channel: None,
        team: None,
    };
    let mut times = Vec::new();
    let mut reads = Vec::new();
    let mut summary = None;
    for _ in 0..5 {
        let t = Instant::now();
        let stories = store.report_stories(query.clone()).await.unwrap();
        reads.push(t.elapsed());
        let scope = kpi::Scope {
            from: query.from.0,
            to: query.to.0,
            flow: None,
            now: now.0,
        };
        let s = kpi::summarize_stories(stories.iter(), &scope, None, &kpi::Sla::default(), &|ms| {
            (ms / 86_400_000).to_string()
        });
        times.push(t.elapsed());
        summary = Some(s);
    }
    times.sort();
    reads.sort();
    let s = summary.unwrap();
    assert_eq!(s.conversations as u64, n);
    assert_eq!(s.escalated as u64, n.div_ceil(4));
    println!(
        "{n} conversations ({events} events) filled in {:.1} s, folded in {:.1} s; \
         the year's summary: median {:.0} ms (min {:.0}, max {:.0}) over 5, of which reading \
         the stories {:.0} ms",
        filled.as_secs_f64(),
        folded.as_secs_f64(),
        times[2].as_secs_f64() * 1000.0,
        times[0].as_secs_f64() * 1000.0,
        times[4].as_secs_f64() * 1000.0,
        reads[2].as_secs_f64() * 1000.0,
    );
}
