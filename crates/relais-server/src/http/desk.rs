//! The agent API (SPEC §5, §9): views, a conversation with its transcript and context,
//! and what agents do to it (reply, note, claim, transfer, pending, solve, reopen);
//! presence (teams and canned responses are `teams.rs`). Visibility is the store's: a conversation the
//! caller may not see answers 404, exactly like one that does not exist.

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, Caller, ClientAddr};
use crate::auth::Permission;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use relais_core::access;
use relais_core::agent::Presence;
use relais_core::id::{AgentId, ConversationId};
use relais_store::{Act, DeskAction, DeskQuery, View, Viewer};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/conversations", get(list))
        .route("/api/v1/conversations/{id}", get(show))
        .route("/api/v1/media/{id}", get(media))
        .route("/api/v1/conversations/{id}/events", get(events))
        .route("/api/v1/conversations/{id}/reply", post(reply))
        .route("/api/v1/conversations/{id}/notes", post(note))
        .route("/api/v1/conversations/{id}/typing", post(typing))
        .route("/api/v1/conversations/{id}/claim", post(claim))
        .route("/api/v1/conversations/{id}/transfer", post(transfer))
        .route("/api/v1/conversations/{id}/pending", post(pending))
        .route("/api/v1/conversations/{id}/solve", post(solve))
        .route("/api/v1/conversations/{id}/reopen", post(reopen))
        .route("/api/v1/me/presence", put(presence))
}

fn viewer(c: &Caller) -> Viewer {
    Viewer {
        agent: c.agent.id,
        role: c.agent.role,
    }
}

const MAX_REPLY_CHARS: usize = 4096;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// mine | unassigned | my_teams | pending | solved | all (supervisors and admins).
    #[serde(default)]
    view: Option<String>,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    before: Option<i64>,
    #[serde(default)]
    limit: Option<u32>,
}

async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    s.rt.touch(caller.agent.id).await?;
    let view = match q.view.as_deref() {
        None if access::sees_all(caller.agent.role) => View::All,
        None => View::MyTeams,
        Some(v) => View::parse(v).ok_or_else(|| {
            ApiError::field(
                "view",
                format!("{v:?} is not one of mine, unassigned, my_teams, pending, solved, all"),
            )
        })?,
    };
    if view == View::All && !access::sees_all(caller.agent.role) {
        return Err(ApiError::Forbidden(
            "the view all is for supervisors and admins".into(),
        ));
    }
    if let Some(p) = &q.priority
        && relais_core::conversation::Priority::parse(p).is_none()
    {
        return Err(ApiError::field(
            "priority",
            format!("{p:?} is not one of low, normal, high, urgent"),
        ));
    }
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let page =
        s.rt.store
            .desk_list(DeskQuery {
                viewer: viewer(&caller),
                view,
                team: q.team,
                priority: q.priority,
                channel: None,
                status: None,
                search: None,
                contact: None,
                before: q.before.map(ConversationId),
                limit,
            })
            .await?;
    let next = (page.len() as u32 == limit)
        .then(|| page.last().map(|v| v.view.conversation.id))
        .flatten();
    Ok(Json(
        json!({ "view": view.as_str(), "conversations": page, "next_before": next }),
    ))
}

async fn visible(
    s: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<relais_store::DeskConversation, ApiError> {
    s.rt.store
        .desk_open(viewer(caller), ConversationId(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("conversation {id} not found")))
}

/// An agent is typing in the conversation: its web chat visitor sees it (for a few
/// seconds; clients send it again while typing). Ephemeral, never stored; heard by the
/// visitor's page on this node.
async fn typing(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<axum::http::StatusCode, ApiError> {
    caller.require(Permission::WorkConversations)?;
    let c = visible(&s, &caller, id).await?;
    let _ = s.rt.typing.send(crate::runtime::Typing {
        channel: c.view.conversation.channel.clone(),
        address: c.view.address.clone(),
    });
    // Kept as a short page beat too, so that other nodes' web chat pages and the
    // workspace's collision detection hear it.
    if s.rt.store.shared() {
        s.rt.store
            .watch_page(relais_store::PageBeat {
                conversation: c.view.conversation.id,
                agent: caller.agent.id,
                typing: true,
                now: s.rt.clock.now(),
                here_ms: crate::web::watch::TYPING_MS,
                typing_ms: crate::web::watch::TYPING_MS,
            })
            .await?;
    }
    Ok(axum::http::StatusCode::NO_CONTENT)
}

async fn show(
    State(s): State<AppState>,
    caller: Caller,
    ClientAddr(ip): ClientAddr,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    s.rt.touch(caller.agent.id).await?;
    let c = visible(&s, &caller, id).await?;
    super::audit::record(
        &s,
        caller.agent.id,
        Some(caller.token.id),
        "read_conversation",
        format!("conversation:{id}"),
        ip,
    )
    .await?;
    let id = c.view.conversation.id;
    let messages = s.rt.store.messages(id).await?;
    let csat = s.rt.store.csat(id).await?;
    let window = window_view(&s, &c);
    let attachments = s.rt.store.conversation_media(id).await?;
    // The bot's collected variables are the conversation's fields; the contact's
    // attributes and the escalation reason come with the conversation.
    Ok(Json(json!({
        "conversation": c.view,
        "queued_at": c.queued_at,
        "assigned_at": c.assigned_at,
        "variables": c.view.conversation.fields,
        "escalation_reason": c.view.conversation.escalation_reason,
        "messages": messages,
        "csat": csat,
        "window": window,
        "attachments": attachments,
    })))
}

/// An attachment a customer sent, as the provider gave it, for those who may see its
/// conversation. Served as a download (never rendered in the API's origin) unless it
/// is an image.
async fn media(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<axum::response::Response, ApiError> {
    caller.require(Permission::ReadConversations)?;
    media_download(&s, viewer(&caller), id).await
}

/// An attachment's bytes for a viewer who may see its conversation (the API's and the
/// workspace's download).
pub async fn media_download(
    s: &AppState,
    viewer: relais_store::Viewer,
    id: i64,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    use base64::Engine;
    let Some((info, content)) = s.rt.store.media_for(viewer, id).await? else {
        return Err(ApiError::NotFound(format!("attachment {id} not found")));
    };
    let Some(content) = content else {
        return Err(ApiError::Conflict(match info.state.as_str() {
            "failed" => format!(
                "attachment {id} could not be fetched from the provider: {}",
                info.detail.unwrap_or_default()
            ),
            _ => format!("attachment {id} is still being fetched from the provider"),
        }));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(content.as_bytes())
        .map_err(|e| ApiError::Internal(format!("attachment {id}: {e}")))?;
    let mime = info
        .mime_type
        .filter(|m| m.bytes().all(|b| b.is_ascii_graphic() || b == b' ') && m.contains('/'))
        .unwrap_or_else(|| "application/octet-stream".into());
    let name: String = info
        .filename
        .unwrap_or_else(|| format!("attachment-{id}"))
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._- ".contains(*c))
        .collect();
    let disposition = if mime.starts_with("image/") && mime != "image/svg+xml" {
        format!("inline; filename=\"{name}\"")
    } else {
        format!("attachment; filename=\"{name}\"")
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, mime),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// The channel's customer-service window (SPEC §6): when it closes, whether it is open,
/// and what can still be sent once it is closed. `null` on channels without one.
fn window_view(s: &AppState, c: &relais_store::DeskConversation) -> Value {
    let Some(channel) = s.rt.channel(&c.view.conversation.channel) else {
        return Value::Null;
    };
    if !relais_core::window::applies(&channel.kind) {
        return Value::Null;
    }
    let closes_at = relais_core::window::closes_at(&channel.kind, c.last_inbound_at);
    let now = s.rt.clock.now();
    let templates: Vec<String> = s.rt.flows.as_ref().map_or_else(Vec::new, |f| {
        f.loaded()
            .ws
            .templates
            .iter()
            .map(|t| t.name.clone())
            .collect()
    });
    json!({
        "closes_at": closes_at,
        "open": closes_at.is_some_and(|t| t > now),
        "fallback": channel.fallback,
        "templates": templates,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    #[serde(default)]
    after: Option<i64>,
    #[serde(default)]
    limit: Option<u32>,
}

async fn events(
    State(s): State<AppState>,
    caller: Caller,
    ClientAddr(ip): ClientAddr,
    Path(id): Path<i64>,
    Query(q): Query<EventsQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    let c = visible(&s, &caller, id).await?;
    super::audit::record(
        &s,
        caller.agent.id,
        Some(caller.token.id),
        "read_conversation_events",
        format!("conversation:{id}"),
        ip,
    )
    .await?;
    let events =
        s.rt.store
            .events(
                Some(c.view.conversation.id),
                q.after.unwrap_or(0),
                q.limit.unwrap_or(200).clamp(1, 1000),
            )
            .await?;
    Ok(Json(json!({ "events": events })))
}

async fn run(s: &AppState, caller: &Caller, id: i64, act: Act) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::WorkConversations)?;
    s.rt.seen(caller.agent.id).await?;
    let out =
        s.rt.act(DeskAction {
            viewer: viewer(caller),
            conversation: ConversationId(id),
            act,
            now: relais_core::Timestamp(0),
        })
        .await
        .map_err(|e| match e {
            // Name what can still be sent (SPEC §6): the registered templates.
            relais_store::Error::WindowClosed { reason } => {
                let names: Vec<String> = s.rt.flows.as_ref().map_or_else(Vec::new, |f| {
                    let mut n: Vec<String> = f
                        .loaded()
                        .ws
                        .templates
                        .iter()
                        .map(|t| t.name.clone())
                        .collect();
                    n.dedup();
                    n
                });
                ApiError::Conflict(if names.is_empty() {
                    format!("{reason}; no template is registered (templates.yaml)")
                } else {
                    format!(
                        "{reason}; templates that can still be sent: {}",
                        names.join(", ")
                    )
                })
            }
            other => other.into(),
        })?;
    let c = visible(s, caller, id).await.ok();
    Ok(Json(json!({
        "message": out.message,
        "duplicate": out.duplicate,
        "conversation": c.map(|c| c.view.conversation),
    })))
}

pub(super) fn text_field(field: &str, text: &str) -> Result<String, ApiError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(ApiError::field(field, "must not be empty"));
    }
    if t.chars().count() > MAX_REPLY_CHARS {
        return Err(ApiError::field(
            field,
            format!("must be at most {MAX_REPLY_CHARS} characters"),
        ));
    }
    Ok(t.to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyRequest {
    /// Required unless `template` is given.
    #[serde(default)]
    text: String,
    /// Makes a double submit send once: the same id returns the first message.
    #[serde(default)]
    client_id: Option<String>,
    /// Wait for the customer (status `pending`).
    #[serde(default)]
    pending: bool,
    /// A file to send with the reply, by URL: `{"url": "https://…/invoice.pdf",
    /// "filename": "invoice.pdf"}`; its kind (image, document, video, audio) follows
    /// the URL's extension.
    #[serde(default)]
    attachment: Option<AttachmentRequest>,
    /// Send a registered template instead of free text (what WhatsApp still accepts
    /// once its 24-hour window is closed): `{"name", "language"?, "params"?}`; `text`
    /// is then ignored and the template's filled body is what the transcript shows.
    #[serde(default)]
    template: Option<TemplateRequest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateRequest {
    name: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    params: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachmentRequest {
    url: String,
    #[serde(default)]
    filename: Option<String>,
}

async fn reply(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ReplyRequest>,
) -> Result<Json<Value>, ApiError> {
    let text = if r.template.is_some() {
        String::new()
    } else {
        text_field("text", &r.text)?
    };
    if let Some(c) = &r.client_id
        && (c.is_empty() || c.len() > 100)
    {
        return Err(ApiError::field("client_id", "must be 1 to 100 characters"));
    }
    let media = match r.attachment {
        None => None,
        Some(a) => {
            match url::Url::parse(&a.url) {
                Ok(u) if matches!(u.scheme(), "https" | "http") && a.url.len() <= 2048 => {}
                _ => {
                    return Err(ApiError::field(
                        "attachment.url",
                        "must be an http(s) URL the provider can fetch (at most 2048 characters)",
                    ));
                }
            }
            if let Some(f) = &a.filename
                && (f.is_empty() || f.len() > 200 || f.chars().any(|c| c.is_control() || c == '/'))
            {
                return Err(ApiError::field(
                    "attachment.filename",
                    "must be 1 to 200 characters, without `/` or control characters",
                ));
            }
            Some(relais_core::rich::Media {
                kind: relais_core::rich::MediaKind::from_url(&a.url),
                url: a.url,
                filename: a.filename,
            })
        }
    };
    let (text, template) = match r.template {
        None => (text, None),
        Some(t) => {
            let (text, template) = template_reply(&s, &t.name, t.language.as_deref(), t.params)?;
            (text, Some(template))
        }
    };
    run(
        &s,
        &caller,
        id,
        Act::Reply {
            text,
            client_id: r.client_id,
            pending: r.pending,
            media,
            template,
        },
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteRequest {
    text: String,
}

async fn note(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<NoteRequest>,
) -> Result<Json<Value>, ApiError> {
    let text = text_field("text", &r.text)?;
    run(&s, &caller, id, Act::Note { text }).await
}

async fn claim(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    run(&s, &caller, id, Act::Claim).await
}

async fn pending(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    run(&s, &caller, id, Act::SetPending).await
}

async fn solve(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    run(&s, &caller, id, Act::Solve).await
}

async fn reopen(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    run(&s, &caller, id, Act::Reopen).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferRequest {
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    agent: Option<i64>,
    #[serde(default)]
    note: Option<String>,
}

async fn transfer(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<TransferRequest>,
) -> Result<Json<Value>, ApiError> {
    if r.team.is_none() && r.agent.is_none() {
        return Err(ApiError::field(
            "team",
            "a transfer names a team, an agent, or both",
        ));
    }
    let note = r
        .note
        .as_deref()
        .map(|n| text_field("note", n))
        .transpose()?;
    run(
        &s,
        &caller,
        id,
        Act::Transfer {
            team: r.team,
            agent: r.agent.map(AgentId),
            note,
        },
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresenceRequest {
    presence: String,
}

async fn presence(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(r): ApiJson<PresenceRequest>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::WorkConversations)?;
    let p = Presence::parse(&r.presence).ok_or_else(|| {
        ApiError::field(
            "presence",
            format!("{:?} is not one of online, away, offline", r.presence),
        )
    })?;
    s.rt.set_presence(caller.agent.id, p).await?;
    Ok(Json(
        json!({ "agent": caller.agent.id, "presence": p.as_str() }),
    ))
}

crate::api_body!(ReplyRequest => WorkConversations);
crate::api_body!(NoteRequest => WorkConversations);
crate::api_body!(TransferRequest => WorkConversations);
crate::api_body!(PresenceRequest => WorkConversations);

/// A registered template filled with its parameters: the text the agent's reply
/// carries and the reference the provider gets. Also used by the workspace's page.
pub fn template_reply(
    s: &AppState,
    name: &str,
    language: Option<&str>,
    params: Vec<String>,
) -> Result<(String, relais_core::rich::TemplateRef), ApiError> {
    let Some(flows) = s.rt.flows.as_ref() else {
        return Err(ApiError::field(
            "template.name",
            "no template is registered (templates.yaml)",
        ));
    };
    let loaded = flows.loaded();
    let language = language.unwrap_or("en");
    let Some(tpl) = loaded.ws.template(name, language) else {
        let names: Vec<&str> = loaded
            .ws
            .templates
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        return Err(ApiError::field(
            "template.name",
            format!("no template {name:?} (registered: {})", names.join(", ")),
        ));
    };
    if params.len() != tpl.arity() || params.iter().any(|p| p.len() > 1024) {
        return Err(ApiError::field(
            "template.params",
            format!(
                "the template {:?} takes {} parameters of at most 1024 characters",
                tpl.name,
                tpl.arity()
            ),
        ));
    }
    Ok((
        tpl.fill(&params),
        relais_core::rich::TemplateRef {
            name: tpl.name.clone(),
            language: tpl.language.clone(),
            params,
        },
    ))
}
