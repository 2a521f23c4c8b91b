//! Collision detection: which agents have a conversation's page open and who is
//! typing there. Each open page says "I am here" every few seconds (and "typing" while
//! its agent types); what was not said again within `HERE_MS` is gone. The beats are
//! kept by the store (`watch_page`), so agents signed in on different nodes of one
//! PostgreSQL database see each other.

use super::conversation::viewer;
use super::layout::Form;
use super::session::Signed;
use crate::http::AppState;
use crate::http::error::ApiError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use relais_core::id::ConversationId;
use relais_store::PageBeat;

/// How long a page counts as open after its last "here" (pages say it every 10 s).
pub const HERE_MS: i64 = 25_000;
/// How long "typing" holds after the last keystroke report.
pub const TYPING_MS: i64 = 6_000;

/// "I am on this page" (every 10 s) and "I am typing" (while typing): answers the
/// other agents there. Typing also reaches a web chat visitor, as the API's typing.
pub async fn here(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let f = match Form::checked(&who, &body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let cid = ConversationId(id);
    let c = match s.rt.store.desk_peek(viewer(&who), cid).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return ApiError::NotFound(format!("conversation {id} not found")).into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    if f.get("gone") == Some("1") {
        return match s.rt.store.leave_page(cid, who.agent.id).await {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => ApiError::from(e).into_response(),
        };
    }
    let typing = f.get("typing") == Some("1");
    if typing {
        let _ = s.rt.typing.send(crate::runtime::Typing {
            channel: c.view.conversation.channel.clone(),
            address: c.view.address.clone(),
        });
    }
    let beat = PageBeat {
        conversation: cid,
        agent: who.agent.id,
        typing,
        now: s.rt.clock.now(),
        here_ms: HERE_MS,
        typing_ms: TYPING_MS,
    };
    match s.rt.store.watch_page(beat).await {
        Ok(others) => Json(serde_json::json!({ "others": others })).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
