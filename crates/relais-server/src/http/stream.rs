//! Live updates for agents over Server-Sent Events: `GET /api/v1/stream`. The stream
//! is a tail of the event log (so it works across nodes, and a reconnecting client
//! resumes with `Last-Event-ID`), filtered to what the agent may see: new
//! conversations in their queues, assignment changes, messages, status changes.

use super::AppState;
use super::error::ApiError;
use super::extract::Caller;
use crate::auth::Permission;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use futures_util::stream::{self, Stream};
use relais_core::access::{self, ConversationAction, Relation};
use relais_core::event::EventKind;
use relais_core::ticket::Status;
use relais_store::{StoredEvent, Viewer};
use serde::Deserialize;
use serde_json::json;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/stream", get(stream_events))
}

/// What agents are told about.
const KINDS: [EventKind; 11] = [
    EventKind::Escalated,
    EventKind::Assigned,
    EventKind::Unassigned,
    EventKind::Transferred,
    EventKind::MessageReceived,
    EventKind::MessageQueued,
    EventKind::MessageSent,
    EventKind::StatusChanged,
    EventKind::NoteAdded,
    EventKind::CsatAnswered,
    EventKind::CsatUndeliverable,
];

/// Without news, the log is read again after this (other nodes' events).
const POLL: Duration = Duration::from_secs(1);
const BATCH: u32 = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamQuery {
    /// Start after this event id (default: now, or the `Last-Event-ID` header).
    #[serde(default)]
    after: Option<i64>,
}

struct Tail {
    s: AppState,
    viewer: Viewer,
    cursor: i64,
    ready: VecDeque<SseEvent>,
    feed: tokio::sync::watch::Receiver<u64>,
    stopping: tokio::sync::watch::Receiver<bool>,
}

async fn stream_events(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(q): Query<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    // Opening the live stream is activity: an away or offline agent is online again.
    s.rt.seen(caller.agent.id).await?;
    let from_header = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let cursor = match q.after.or(from_header) {
        Some(c) => c,
        None => s.rt.store.last_event_id().await?,
    };
    let tail = Tail {
        feed: s.rt.feed.subscribe(),
        stopping: s.rt.stopping.subscribe(),
        s,
        viewer: Viewer {
            agent: caller.agent.id,
            role: caller.agent.role,
        },
        cursor,
        ready: VecDeque::new(),
    };
    let events = stream::unfold(tail, |mut t| async move {
        loop {
            if let Some(e) = t.ready.pop_front() {
                return Some((Ok(e), t));
            }
            if *t.stopping.borrow() {
                return None;
            }
            tokio::select! {
                _ = tokio::time::timeout(POLL, t.feed.changed()) => {}
                _ = t.stopping.changed() => return None,
            }
            if let Err(e) = t.fill().await {
                tracing::warn!(error = %e, "live stream could not read the event log");
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

impl Tail {
    async fn fill(&mut self) -> Result<(), relais_store::Error> {
        let store = &self.s.rt.store;
        let batch = store.events(None, self.cursor, BATCH).await?;
        let Some(last) = batch.last() else {
            return Ok(());
        };
        self.cursor = last.id;
        let teams = store.agent_teams(self.viewer.agent).await?;
        for e in batch {
            if !KINDS.contains(&e.event.kind) {
                continue;
            }
            if let Some(ev) = self.visible(&e, &teams).await? {
                self.ready.push_back(ev);
            }
        }
        if self.ready.is_empty() {
            // Nothing for this agent: let the loop wait again without busy reading.
            self.feed.mark_unchanged();
        }
        Ok(())
    }

    async fn visible(
        &self,
        e: &StoredEvent,
        teams: &[String],
    ) -> Result<Option<SseEvent>, relais_store::Error> {
        let Some(id) = e.conversation else {
            return Ok(None);
        };
        let Some(v) = self.s.rt.store.conversation(id).await? else {
            return Ok(None);
        };
        let c = v.conversation;
        let relation = Relation::of(c.team.as_deref(), c.assignee, self.viewer.agent, teams);
        if !access::may(self.viewer.role, ConversationAction::View, relation) {
            return Ok(None);
        }
        if c.status == Status::Bot && !access::sees_all(self.viewer.role) {
            return Ok(None);
        }
        let data = json!({
            "id": e.id,
            "kind": e.event.kind.as_str(),
            "conversation": id,
            "at": e.event.at,
            "actor": e.event.actor,
            "data": e.event.data,
            "status": c.status.as_str(),
            "team": c.team,
            "assignee": c.assignee,
            "priority": c.priority.as_str(),
        });
        Ok(Some(
            SseEvent::default()
                .id(e.id.to_string())
                .event(e.event.kind.as_str())
                .data(data.to_string()),
        ))
    }
}
