//! Live updates for agents over Server-Sent Events: `GET /api/v1/stream`. Every stream
//! listens to the ONE shared tail of the event log (`runtime::live`), so it works
//! across nodes and costs no store read per stream; a reconnecting client resumes with
//! `Last-Event-ID`. Filtered to what the agent may see: new conversations in their
//! queues, assignment changes, messages, status changes. Capped per agent and per
//! server (429), with a heartbeat comment (`[server] stream_heartbeat`, 15 s).

use super::AppState;
use super::error::ApiError;
use super::extract::Caller;
use crate::auth::Permission;
use crate::runtime::live::{self, Audience, Batch, LiveEvent, Refused, Slot};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/stream", get(stream_events))
}

/// An agent's teams are read again after this (membership changes are rare).
const TEAMS_FRESH: Duration = Duration::from_secs(30);
const CATCH_UP_BATCH: u32 = 500;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct StreamQuery {
    /// Start after this event id (default: now, or the `Last-Event-ID` header).
    #[serde(default)]
    after: Option<i64>,
}

struct Follower {
    s: AppState,
    /// Who follows (the tail filters by it too).
    audience: Arc<Audience>,
    teams_at: Instant,
    cursor: i64,
    ready: VecDeque<SseEvent>,
    feed: tokio::sync::mpsc::Receiver<Batch>,
    stopping: tokio::sync::watch::Receiver<bool>,
    _slot: Slot,
}

pub(crate) async fn stream_events(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(q): Query<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    let slot = s.live.open(caller.agent.id).map_err(too_many_streams)?;
    // Opening the live stream is activity: an away or offline agent is online again.
    s.rt.seen(caller.agent.id).await?;
    let from_header = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    // Subscribe first, so that nothing published from here on is missed.
    let audience = Arc::new(Audience {
        agent: caller.agent.id,
        role: caller.agent.role,
        teams: std::sync::Mutex::new(s.rt.store.agent_teams(caller.agent.id).await?),
        lagged: Default::default(),
    });
    let feed = s.live.subscribe(audience.clone());
    // "Now" is read after registering: the tail only jumps its cursor ahead while no
    // stream is registered, so everything after this id reaches this stream.
    let cursor = match q.after.or(from_header) {
        Some(c) => c,
        None => s.rt.store.last_event_id().await?,
    };
    let heartbeat = s.guard.stream_heartbeat;
    let mut f = Follower {
        audience,
        teams_at: Instant::now(),
        stopping: s.rt.stopping.subscribe(),
        s,
        cursor,
        ready: VecDeque::new(),
        feed,
        _slot: slot,
    };
    f.catch_up().await?;
    let events = stream::unfold(f, Follower::next);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(heartbeat)))
}

/// A refused stream: the limit it would pass.
fn too_many_streams(r: Refused) -> ApiError {
    let message = match r {
        Refused::PerAgent(n) => format!(
            "this agent already has {n} live streams open (the limit, [server] streams_per_agent); close one"
        ),
        Refused::PerServer(n) => {
            format!("the server has {n} live streams open (the limit, [server] streams_per_server)")
        }
    };
    ApiError::TooManyRequests {
        message,
        retry_after_s: 5,
    }
}

impl Follower {
    /// The stream's next event: one ready, else the next batch of the shared tail read
    /// (after what a lag made it miss); `None` ends the stream (server stopping).
    async fn next(mut self) -> Option<(Result<SseEvent, Infallible>, Follower)> {
        loop {
            if let Some(e) = self.ready.pop_front() {
                return Some((Ok(e), self));
            }
            if *self.stopping.borrow() {
                return None;
            }
            let next = tokio::select! {
                n = self.feed.recv() => n,
                _ = self.stopping.changed() => return None,
            };
            let batch = next?;
            self.refresh_teams().await;
            // A batch was dropped for this slow stream: read what was missed first.
            if self
                .audience
                .lagged
                .swap(false, std::sync::atomic::Ordering::AcqRel)
                && let Err(e) = self.catch_up().await
            {
                tracing::warn!(error = %e, "a live stream could not catch up");
                return None;
            }
            for e in &batch {
                self.offer(e);
            }
        }
    }

    /// Reads from the store what happened after the cursor up to the shared tail.
    async fn catch_up(&mut self) -> Result<(), relais_store::Error> {
        loop {
            let upto = self.s.live.cursor();
            if self.cursor >= upto && upto >= 0 {
                return Ok(());
            }
            let (events, last) =
                live::read_after(self.s.rt.store.as_ref(), self.cursor, CATCH_UP_BATCH).await?;
            for e in &events {
                self.offer(e);
            }
            if last <= self.cursor {
                return Ok(()); // nothing more in the log
            }
            self.cursor = last;
        }
    }

    /// Queues `e` if it is new to this stream and the agent may see it.
    fn offer(&mut self, e: &LiveEvent) {
        if e.event.id <= self.cursor {
            return;
        }
        self.cursor = e.event.id;
        // Batches from the tail are filtered already; events read from the store are not.
        let a = &self.audience;
        let teams = a.teams.lock().unwrap_or_else(|p| p.into_inner());
        if !live::visible(e, a.agent, a.role, &teams) {
            return;
        }
        drop(teams);
        self.ready.push_back(
            SseEvent::default()
                .id(e.event.id.to_string())
                .event(e.event.event.kind.as_str())
                .data(&e.data),
        );
    }

    async fn refresh_teams(&mut self) {
        if self.teams_at.elapsed() < TEAMS_FRESH {
            return;
        }
        if let Ok(t) = self.s.rt.store.agent_teams(self.audience.agent).await {
            *self
                .audience
                .teams
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = t;
            self.teams_at = Instant::now();
        }
    }
}
