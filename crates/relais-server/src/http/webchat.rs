//! The web chat's HTTP surface (SPEC §6): `GET /webchat/{id}` the full-page chat (also
//! what the widget frames), `GET /webchat/{id}/widget.js` the bubble a business adds to
//! its site, `chat.js`/`chat.css` (served from the binary), `GET /webchat/{id}/ws` the
//! WebSocket, and `POST /webchat/{id}/http` the same frames over plain HTTP with a long
//! poll, for networks where the socket cannot open.
//!
//! Both transports run one [`Visitor`]: a visitor's message goes through the pipeline
//! like any channel's (de-duplicated by the browser's id for it, so a message resent
//! after a drop is stored once); what the visitor sees is read from the store after
//! their cursor, woken by the shared tail of the event log, so an agent's reply made on
//! another node arrives too, and two tabs of one session see the same transcript.

use super::AppState;
use super::error::ApiError;
use super::extract::ApiJson;
use crate::channel::LiveChannel;
use crate::channel::webchat::{self, ClientFrame, Look};
use crate::runtime::live::{Refused, VisitorAudience};
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use relais_core::id::{ChannelId, MessageId};
use relais_core::message::DeliveryStatus;
use relais_store::Inbound;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const CHAT_JS: &str = include_str!("../../webchat/chat.js");
const CHAT_CSS: &str = include_str!("../../webchat/chat.css");
const WIDGET_JS: &str = include_str!("../../webchat/widget.js");

/// Messages read from the store per catch-up.
const PAGE: u32 = 200;
/// How long the HTTP fallback holds a poll open.
const LONG_POLL: Duration = Duration::from_secs(25);
/// A socket must say hello within this.
const HELLO_WITHIN: Duration = Duration::from_secs(10);
const PING_EVERY: Duration = Duration::from_secs(25);
/// How often an open page tells the store (for the other nodes' outboxes).
const BEAT: Duration = Duration::from_secs(30);
/// A socket that has said nothing (not even a pong) for this long is gone: closed, its
/// slot freed.
const SILENT_FOR: Duration = Duration::from_secs(80);
/// Most frames one HTTP fallback request may carry.
const MAX_FRAMES: usize = 50;
const MAX_FRAME_BYTES: usize = 64 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webchat/{id}", get(page))
        .route("/webchat/{id}/widget.js", get(widget))
        .route("/webchat/{id}/chat.js", get(script))
        .route("/webchat/{id}/chat.css", get(style))
        .route("/webchat/{id}/ws", get(socket))
        .route("/webchat/{id}/http", post(http_fallback))
}

fn channel(s: &AppState, id: &str) -> Result<Arc<LiveChannel>, ApiError> {
    let missing = || ApiError::NotFound(format!("no web chat named {id:?}"));
    let id = ChannelId::parse(id).map_err(|_| missing())?;
    s.rt.live_channel(&id)
        .filter(|c| c.row.kind == "webchat" && c.row.enabled)
        .ok_or_else(missing)
}

/// Refuses a browser on a page the channel's `origins` do not list.
fn check_origin(s: &AppState, ch: &LiveChannel, headers: &HeaderMap) -> Result<(), ApiError> {
    let get = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if webchat::origin_allowed(
        &ch.row,
        get(header::ORIGIN),
        get(header::HOST),
        s.rt.settings.public_url.as_deref(),
    ) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "this page's origin may not use web chat {} (its `origins` setting)",
            ch.row.id
        )))
    }
}

use crate::html::escape as escape_html;

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    embed: Option<String>,
}

async fn page(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let ch = channel(&s, &id)?;
    let look = Look::of(&ch.row);
    let id = escape_html(ch.row.id.as_str());
    let title = escape_html(&look.title);
    let embed = q.embed.is_some();
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"/webchat/{id}/chat.css\"></head>\
         <body class=\"{class}\" data-channel=\"{id}\" data-color=\"{color}\">\
         <main class=\"chat\">\
         <header class=\"bar\"><h1>{title}</h1><span class=\"state\" id=\"state\" role=\"status\"></span>\
         <button type=\"button\" class=\"close\" id=\"close\" aria-label=\"Close\"{hidden}>×</button></header>\
         <ol class=\"log\" id=\"log\" aria-live=\"polite\" aria-relevant=\"additions\" aria-label=\"Conversation\"></ol>\
         <p class=\"typing\" id=\"typing\" hidden><span></span><span></span><span></span></p>\
         <form class=\"composer\" id=\"composer\" autocomplete=\"off\">\
         <textarea id=\"input\" rows=\"1\" aria-label=\"Message\" placeholder=\"Message\" maxlength=\"4000\"></textarea>\
         <button type=\"submit\" id=\"send\" aria-label=\"Send\">Send</button></form>\
         </main><noscript>This chat needs JavaScript.</noscript>\
         <script src=\"/webchat/{id}/chat.js\" defer></script></body></html>\n",
        class = if embed { "embed" } else { "full" },
        color = look.color,
        hidden = if embed { "" } else { " hidden" },
    );
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
         img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors {}",
        webchat::frame_ancestors(&ch.row)
    );
    let mut res = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    Ok(res)
}

use crate::html::asset;

async fn script(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    channel(&s, &id)?;
    Ok(asset("text/javascript; charset=utf-8", CHAT_JS.to_owned()))
}

async fn style(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    channel(&s, &id)?;
    Ok(asset("text/css; charset=utf-8", CHAT_CSS.to_owned()))
}

/// The widget, with the channel's look written in as JSON (escaped for a script).
async fn widget(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let ch = channel(&s, &id)?;
    let look = Look::of(&ch.row);
    let config = json!({ "channel": ch.row.id, "title": look.title, "color": look.color })
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e");
    Ok(asset(
        "text/javascript; charset=utf-8",
        WIDGET_JS.replacen("/*CONFIG*/{}", &config, 1),
    ))
}

/// One visitor's session on one transport.
struct Visitor {
    s: AppState,
    ch: Arc<LiveChannel>,
    session: String,
    address: String,
    /// The last message id the visitor was given.
    cursor: i64,
    /// From the browser, kept for a new contact.
    language: Option<String>,
    /// The visitor's latest conversation, once known.
    conversation: Option<relais_core::id::ConversationId>,
    /// The email question was put on this page already.
    asked_email: bool,
    /// When this page last told the store it is open (other nodes read it).
    beat: Option<tokio::time::Instant>,
}

impl Visitor {
    /// Resumes `session`, or starts a new one when there is none (or it is not ours).
    fn open(
        s: AppState,
        ch: Arc<LiveChannel>,
        session: Option<String>,
        after: i64,
        languages: &[String],
    ) -> Visitor {
        let resumed = session.and_then(|t| webchat::address_of(&ch.row.id, &t).map(|a| (t, a)));
        let (session, address) = resumed.unwrap_or_else(|| {
            let t = webchat::new_session();
            let a = webchat::address_of(&ch.row.id, &t).unwrap_or_default();
            (t, a)
        });
        Visitor {
            s,
            ch,
            session,
            address,
            cursor: after.max(0),
            language: webchat::language_of(languages),
            conversation: None,
            asked_email: false,
            beat: None,
        }
    }

    fn audience(&self) -> Arc<VisitorAudience> {
        Arc::new(VisitorAudience {
            channel: self.ch.row.id.clone(),
            address: self.address.clone(),
            lagged: AtomicBool::new(false),
        })
    }

    /// Every message after the cursor, as frames; moves the cursor.
    async fn catch_up(&mut self) -> Result<Vec<Value>, ApiError> {
        let mut out = Vec::new();
        loop {
            let page = self
                .s
                .rt
                .store
                .transcript_after(
                    self.ch.row.id.clone(),
                    self.address.clone(),
                    MessageId(self.cursor),
                    PAGE,
                )
                .await?;
            let full = page.len() == PAGE as usize;
            for e in &page {
                // A queued message is shown once the outbox has named it; the ones after
                // it wait with it, so the visitor reads them in order.
                if e.message.status == Some(DeliveryStatus::Queued) {
                    return Ok(out);
                }
                self.cursor = e.message.id.0;
                self.conversation = Some(e.message.conversation);
                let mut frame = webchat::message_frame(e);
                // Carried by another channel (by email, once the visitor had left).
                if e.message.channel != self.ch.row.id
                    && let Some(other) = self.s.rt.channel(&e.message.channel)
                {
                    frame["via"] = json!(other.kind);
                }
                out.push(frame);
            }
            if !full {
                break;
            }
        }
        Ok(out)
    }

    /// Answers one frame (not `hello`).
    async fn handle(&mut self, frame: ClientFrame) -> Result<Vec<Value>, ApiError> {
        match frame {
            ClientFrame::Hello { .. } => Ok(vec![
                json!({ "t": "error", "message": "hello is the first frame only" }),
            ]),
            ClientFrame::Ping => Ok(vec![json!({ "t": "pong" })]),
            ClientFrame::Seen { up_to, read } => {
                let status = if read {
                    DeliveryStatus::Read
                } else {
                    DeliveryStatus::Delivered
                };
                let moved = self
                    .s
                    .rt
                    .store
                    .visitor_saw(
                        self.ch.row.id.clone(),
                        self.address.clone(),
                        MessageId(up_to.min(self.cursor)),
                        status,
                        self.s.rt.clock.now(),
                    )
                    .await?;
                if moved > 0 {
                    self.s.rt.poke_feed();
                }
                Ok(Vec::new())
            }
            ClientFrame::Email { address } => {
                let address = address.trim().to_lowercase();
                if !webchat::valid_email(&address) {
                    return Ok(vec![
                        json!({ "t": "error", "field": "email", "message": "that is not an email address" }),
                    ]);
                }
                let saved = self
                    .s
                    .rt
                    .store
                    .set_contact_email(
                        self.ch.row.id.clone(),
                        self.address.clone(),
                        address.clone(),
                        self.s.rt.clock.now(),
                    )
                    .await?;
                Ok(vec![if saved {
                    json!({ "t": "email_saved", "address": address })
                } else {
                    json!({ "t": "error", "field": "email", "message": "write a message first" })
                }])
            }
            ClientFrame::Say { id, text } => self.say(id, text, None).await,
            ClientFrame::Tap { id, button, text } => self.say(id, text, Some(button)).await,
        }
    }

    async fn say(
        &mut self,
        client_id: String,
        text: String,
        button: Option<String>,
    ) -> Result<Vec<Value>, ApiError> {
        let refuse = |message: String| {
            Ok(vec![
                json!({ "t": "error", "id": client_id, "message": message }),
            ])
        };
        if !webchat::valid_client_id(&client_id) {
            return refuse("a message id is 1 to 64 printable characters".into());
        }
        let text = text.trim();
        if text.is_empty() {
            return refuse("the message is empty".into());
        }
        let chars = text.chars().count();
        if chars > self.s.max_text_chars {
            return refuse(format!(
                "the message has {chars} characters; the limit is {}",
                self.s.max_text_chars
            ));
        }
        if button
            .as_ref()
            .is_some_and(|b| b.is_empty() || b.len() > 256)
        {
            return refuse("a button id is 1 to 256 bytes".into());
        }
        let inbound = Inbound {
            channel: self.ch.row.id.clone(),
            address: self.address.clone(),
            external_id: Some(webchat::external_id(&client_id)),
            text: text.chars().filter(|c| *c != '\0').collect(),
            contact_name: None,
            language: self.language.clone(),
            received_at: relais_core::Timestamp(0),
            replies_in_band: true,
            button,
            payload: None,
            opens_window: false,
            media: None,
            thread: Vec::new(),
            attachments: Vec::new(),
        };
        let done = self.s.rt.receive(inbound).await?;
        let mut out = vec![json!({
            "t": "ack", "id": client_id, "message": done.message, "duplicate": done.duplicate,
        })];
        out.extend(self.catch_up().await?);
        Ok(out)
    }
}

impl Visitor {
    /// Tells the store the page is open, every [`BEAT`] at most (and as soon as the
    /// visitor exists, after their first message).
    async fn heartbeat(&mut self) {
        if self.beat.is_some_and(|b| b.elapsed() < BEAT) {
            return;
        }
        let at = self.s.rt.clock.now();
        match self
            .s
            .rt
            .store
            .visitor_seen(self.ch.row.id.clone(), self.address.clone(), at)
            .await
        {
            Ok(true) => self.beat = Some(tokio::time::Instant::now()),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "web chat: the heartbeat was not recorded"),
        }
    }

    /// What to ask the visitor, once per page: on a chat with a fallback channel, a
    /// visitor waiting for (or with) a human who gave no email is asked for one, so
    /// that the conversation can go on by email if they leave.
    async fn prompts(&mut self) -> Result<Vec<Value>, ApiError> {
        use relais_core::ticket::Status;
        let Some(id) = self.conversation.filter(|_| !self.asked_email) else {
            return Ok(Vec::new());
        };
        if self.ch.row.fallback.is_none() {
            return Ok(Vec::new());
        }
        let Some(view) = self.s.rt.store.conversation(id).await? else {
            return Ok(Vec::new());
        };
        let human = matches!(view.conversation.status, Status::Open | Status::Pending);
        let has_email = view.contact.fields.get("email").is_some();
        if !human || has_email {
            return Ok(Vec::new());
        }
        self.asked_email = true;
        Ok(vec![json!({ "t": "ask_email" })])
    }
}

/// A frame that could not be read, answered as an error frame.
fn parse_frame(text: &str) -> Result<ClientFrame, Value> {
    serde_json::from_str(text)
        .map_err(|e| json!({ "t": "error", "message": format!("not a web chat frame: {e}") }))
}

async fn socket(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let ch = channel(&s, &id)?;
    check_origin(&s, &ch, &headers)?;
    let slot = s.live.open_visitor().map_err(|r| {
        let (Refused::PerServer(n) | Refused::PerAgent(n)) = r;
        ApiError::TooManyRequests {
            message: format!("the server has {n} web chats open (its limit)"),
            retry_after_s: 5,
        }
    })?;
    Ok(ws
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| async move {
            run_socket(s, ch, socket).await;
            drop(slot);
        }))
}

async fn send(ws: &mut WebSocket, frame: &Value) -> bool {
    ws.send(WsMessage::Text(frame.to_string().into()))
        .await
        .is_ok()
}

async fn run_socket(s: AppState, ch: Arc<LiveChannel>, mut ws: WebSocket) {
    let Some((session, after, languages)) = read_hello(&mut ws).await else {
        return;
    };
    let mut v = Visitor::open(s.clone(), ch, session, after, &languages);
    let _here = s.rt.visitors.enter(&v.ch.row.id, &v.address);
    // Subscribed before the first read: nothing committed in between is missed.
    let audience = v.audience();
    let mut feed = s.live.subscribe_visitor(audience.clone());
    if !welcome(&mut ws, &mut v).await {
        return;
    }
    v.heartbeat().await;
    let mut stopping = s.rt.stopping.subscribe();
    let mut typing = s.rt.typing.subscribe();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut heard = tokio::time::Instant::now();
    loop {
        let frames = tokio::select! {
            msg = ws.recv() => match msg.inspect(|_| heard = tokio::time::Instant::now()) {
                Some(Ok(WsMessage::Text(t))) => match parse_frame(&t) {
                    Ok(f) => v.handle(f).await,
                    Err(e) => Ok(vec![e]),
                },
                Some(Ok(WsMessage::Binary(_))) => Ok(vec![json!({ "t": "error", "message": "frames are JSON text" })]),
                Some(Ok(_)) => Ok(Vec::new()),
                Some(Err(_)) | None => return,
            },
            batch = feed.recv() => match batch {
                Some(_) => v.catch_up().await,
                None => return,
            },
            t = typing.recv() => match t {
                Ok(t) if t.channel == v.ch.row.id && t.address == v.address => {
                    Ok(vec![json!({ "t": "typing", "from": "agent" })])
                }
                _ => Ok(Vec::new()),
            },
            _ = ping.tick() => {
                if heard.elapsed() > SILENT_FOR
                    || ws.send(WsMessage::Ping(Vec::new().into())).await.is_err()
                {
                    return;
                }
                Ok(Vec::new())
            }
            _ = stopping.changed() => {
                let _ = ws.send(WsMessage::Close(None)).await;
                return;
            }
        };
        v.heartbeat().await;
        if audience.lagged.swap(false, Ordering::AcqRel) {
            tracing::debug!("web chat socket lagged; it reads the store");
        }
        if !answer(&mut ws, &mut v, frames).await {
            return;
        }
    }
}

/// The socket's first frame, which must be a hello in time; anything else is answered
/// with an error frame (when readable) and ends the socket (`None`).
async fn read_hello(ws: &mut WebSocket) -> Option<(Option<String>, i64, Vec<String>)> {
    let first = tokio::time::timeout(HELLO_WITHIN, ws.recv()).await;
    let hello = match first {
        Ok(Some(Ok(WsMessage::Text(t)))) => parse_frame(&t),
        _ => return None,
    };
    Some(match hello {
        Ok(ClientFrame::Hello {
            session,
            after,
            languages,
        }) => (session, after, languages),
        Ok(_) => {
            send(ws, &json!({ "t": "error", "message": "say hello first" })).await;
            return None;
        }
        Err(e) => {
            send(ws, &e).await;
            return None;
        }
    })
}

/// The visitor's transcript since `after` and the prompts due; `false`: the socket ends.
async fn welcome(ws: &mut WebSocket, v: &mut Visitor) -> bool {
    let messages = match v.catch_up().await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "web chat: the transcript could not be read");
            return false;
        }
    };
    let welcome = json!({ "t": "welcome", "session": v.session, "messages": messages });
    if !send(ws, &welcome).await {
        return false;
    }
    for f in v.prompts().await.unwrap_or_default() {
        if !send(ws, &f).await {
            return false;
        }
    }
    true
}

/// The frames for the visitor (the prompts due after a message, or an error frame when
/// the work failed) sent in order; `false`: the socket ends.
async fn answer(ws: &mut WebSocket, v: &mut Visitor, frames: Result<Vec<Value>, ApiError>) -> bool {
    let frames = match frames {
        Ok(mut f) => {
            if f.iter().any(|x| x["t"] == "msg") {
                f.extend(v.prompts().await.unwrap_or_default());
            }
            f
        }
        Err(e) => {
            tracing::warn!(error = %e, "web chat frame failed");
            vec![
                json!({ "t": "error", "message": "the server could not take this now; it will be retried" }),
            ]
        }
    };
    for f in &frames {
        if !send(ws, f).await {
            return false;
        }
    }
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpExchange {
    #[serde(default)]
    session: Option<String>,
    #[serde(default)]
    after: i64,
    #[serde(default)]
    frames: Vec<ClientFrame>,
    /// Hold the request open (up to 25 s) until there is something new.
    #[serde(default)]
    wait: bool,
    #[serde(default)]
    languages: Vec<String>,
}

crate::api_body!(HttpExchange);

/// The HTTP fallback: the same frames, and a long poll instead of a socket.
async fn http_fallback(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<ApiJson<HttpExchange>, ApiError>,
) -> Result<Response, ApiError> {
    let ch = channel(&s, &id)?;
    check_origin(&s, &ch, &headers)?;
    let ApiJson(x) = body?;
    if x.frames.len() > MAX_FRAMES {
        return Err(ApiError::field(
            "frames",
            format!("{} frames; the limit is {MAX_FRAMES}", x.frames.len()),
        ));
    }
    let mut v = Visitor::open(s.clone(), ch, x.session, x.after, &x.languages);
    let _here = s.rt.visitors.enter(&v.ch.row.id, &v.address);
    let feed = if x.wait && x.frames.is_empty() {
        Some(s.live.subscribe_visitor(v.audience()))
    } else {
        None
    };
    let mut out = Vec::new();
    for f in x.frames {
        if !matches!(f, ClientFrame::Hello { .. }) {
            out.extend(v.handle(f).await?);
        }
    }
    out.extend(v.catch_up().await?);
    if let Some(mut feed) = feed
        && out.is_empty()
    {
        let mut stopping = s.rt.stopping.subscribe();
        let deadline = tokio::time::Instant::now() + LONG_POLL;
        // A wake may be for events already read (the tail catching up): wait on.
        while out.is_empty() {
            tokio::select! {
                b = feed.recv() => if b.is_none() { break },
                () = tokio::time::sleep_until(deadline) => break,
                _ = stopping.changed() => break,
            }
            out.extend(v.catch_up().await?);
        }
    }
    v.heartbeat().await;
    if out.iter().any(|f| f["t"] == "msg") {
        // Asked on every exchange that brings messages: HTTP has no page to remember it.
        out.extend(v.prompts().await?);
    }
    Ok((
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "session": v.session, "cursor": v.cursor, "frames": out })),
    )
        .into_response())
}
