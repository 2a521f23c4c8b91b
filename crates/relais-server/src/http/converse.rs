//! The REST channel's inbound endpoint (SPEC §6):
//! `POST /api/v1/channels/{id}/converse` `{"sender", "text", "message_id"?, "name"?}`
//! with the channel's bearer token. The answer holds the bot's replies to this message;
//! a repeated `message_id` is answered with the original replies and stores nothing.

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, bearer};
use crate::auth;
use crate::metrics::Metrics;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::routing::post;
use axum::{Json, Router};
use relais_core::Timestamp;
use relais_core::contact::Identity;
use relais_core::id::ChannelId;
use relais_store::{Channel, Inbound};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/channels/{id}/converse", post(converse))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConverseRequest {
    pub sender: String,
    pub text: String,
    /// The caller's id for this message; a retry with the same id is processed once.
    #[serde(default)]
    pub message_id: Option<String>,
    /// The sender's display name, kept for a new contact.
    #[serde(default)]
    pub name: Option<String>,
    /// The id of the button pressed, for a button reply.
    #[serde(default)]
    pub button: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ReplyResponse {
    pub id: i64,
    pub text: String,
    pub buttons: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ConverseResponse {
    pub conversation_id: i64,
    pub message_id: i64,
    pub duplicate: bool,
    pub replies: Vec<ReplyResponse>,
}

/// The channel named in the path, authenticated by its bearer token. Checked before
/// the body is read.
pub struct ChannelCaller(pub Channel);

impl FromRequestParts<AppState> for ChannelCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let reject = |e: ApiError| {
            Metrics::inc(&state.rt.metrics.inbound_rejected);
            e
        };
        // No token, no answer about the channel either.
        let token = bearer(&parts.headers).map_err(reject)?.to_owned();
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| reject(ApiError::NotFound("unknown channel".into())))?;
        let channel = ChannelId::parse(&id)
            .ok()
            .and_then(|id| state.rt.channel(&id))
            .filter(|c| c.kind == "rest")
            .ok_or_else(|| reject(ApiError::NotFound(format!("no REST channel named {id:?}"))))?;
        match &channel.token_hash {
            // Only a caller with the token learns that the channel is off.
            Some(hash) if auth::token_matches(&token, hash) && !channel.enabled => Err(reject(
                ApiError::Forbidden(format!("the channel {id} is disabled")),
            )),
            Some(hash) if auth::token_matches(&token, hash) => Ok(ChannelCaller(channel)),
            _ => Err(reject(ApiError::Unauthorized(
                "the token does not open this channel".into(),
            ))),
        }
    }
}

const MAX_ID_LEN: usize = 256;
const MAX_NAME_LEN: usize = 256;

async fn converse(
    State(s): State<AppState>,
    ChannelCaller(channel): ChannelCaller,
    body: Result<ApiJson<ConverseRequest>, ApiError>,
) -> Result<Json<ConverseResponse>, ApiError> {
    let ApiJson(req) = body.inspect_err(|_| Metrics::inc(&s.rt.metrics.inbound_rejected))?;
    let inbound = validate(req, &channel, s.max_text_chars)
        .inspect_err(|_| Metrics::inc(&s.rt.metrics.inbound_rejected))?;
    let done = s.rt.receive(inbound).await?;
    if !done.duplicate {
        Metrics::add(&s.rt.metrics.outbound_in_band, done.replies.len() as u64);
    }
    Ok(Json(ConverseResponse {
        conversation_id: done.conversation.0,
        message_id: done.message.0,
        duplicate: done.duplicate,
        replies: done
            .replies
            .into_iter()
            .map(|m| ReplyResponse {
                id: m.id.0,
                text: m.text,
                buttons: m.buttons,
            })
            .collect(),
    }))
}

fn validate(req: ConverseRequest, channel: &Channel, max_text: usize) -> Result<Inbound, ApiError> {
    let identity = Identity::new(channel.id.clone(), &req.sender)
        .map_err(|why| ApiError::field("sender", format!("sender {why}")))?;
    if req.text.trim().is_empty() {
        return Err(ApiError::field("text", "text must not be empty"));
    }
    let chars = req.text.chars().count();
    if chars > max_text {
        return Err(ApiError::field(
            "text",
            format!("text has {chars} characters; the limit is {max_text}"),
        ));
    }
    if req.text.contains('\0') {
        return Err(ApiError::field(
            "text",
            "text must not contain NUL characters",
        ));
    }
    if let Some(id) = &req.message_id
        && (id.is_empty() || id.len() > MAX_ID_LEN || id.chars().any(char::is_control))
    {
        return Err(ApiError::field(
            "message_id",
            format!("message_id must be 1 to {MAX_ID_LEN} bytes of printable text"),
        ));
    }
    if let Some(name) = &req.name
        && (name.len() > MAX_NAME_LEN || name.chars().any(char::is_control))
    {
        return Err(ApiError::field(
            "name",
            format!("name must be at most {MAX_NAME_LEN} bytes of printable text"),
        ));
    }
    Ok(Inbound {
        channel: identity.channel,
        address: identity.address,
        external_id: req.message_id,
        text: req.text,
        contact_name: req.name,
        language: None,
        received_at: Timestamp(0),
        replies_in_band: true,
        button: req.button,
        payload: None,
        opens_window: false,
        media: None,
        thread: Vec::new(),
        attachments: Vec::new(),
    })
}

crate::api_body!(ConverseRequest);
