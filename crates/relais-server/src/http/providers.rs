//! Provider webhooks (SPEC §6): `GET /webhooks/{kind}/{id}` answers Meta's
//! verification handshake; `POST` checks the signature on the raw bytes BEFORE parsing
//! (401 and nothing stored when it is missing or wrong), parses the whole body (400 and
//! nothing stored when it is malformed), records every message through the pipeline
//! (de-duplicated by the provider's id) and every delivery status, and answers 200 only
//! then: a provider that gets no 200 redelivers, and redelivery is a no-op.

use super::AppState;
use super::error::ApiError;
use super::extract::read_body;
use crate::channel::{LiveChannel, ProviderEvent, email, meta, sms, telegram, whatsapp};
use crate::metrics::Metrics;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use relais_core::contact::Identity;
use relais_core::id::ChannelId;
use relais_store::{Inbound, StatusReport};
use std::collections::HashMap;
use std::sync::Arc;

pub const KINDS: [&str; 5] = ["whatsapp", "messenger", "instagram", "telegram", "sms"];
/// Twilio's answer that sends nothing back by itself (TwiML).
const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";
/// Most messages and statuses one webhook may carry.
const MAX_EVENTS: usize = 1000;

/// The largest mail accepted (attachments included), above the API's body limit.
const MAX_MAIL_BYTES: usize = 10 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    // Mail has its own body limit (attachments), above the API's.
    let email = Router::new()
        .route("/webhooks/email/{id}", post(receive_email))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_MAIL_BYTES));
    Router::new()
        .route("/webhooks/{kind}/{id}", get(verify).post(receive))
        .merge(email)
}

/// `POST /webhooks/email/{id}`: the raw RFC 5322 message, with the channel's
/// `inbound_token` as a bearer token. Stored (once per Message-ID) before the 200.
async fn receive_email(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    let rejected = |e: ApiError| {
        Metrics::inc(&s.rt.metrics.inbound_rejected);
        e
    };
    let missing = || ApiError::NotFound(format!("no email channel named {id:?}"));
    let ch = ChannelId::parse(&id)
        .ok()
        .and_then(|i| s.rt.live_channel(&i))
        .filter(|c| c.row.kind == "email" && c.row.enabled)
        .ok_or_else(missing)
        .map_err(rejected)?;
    let token = super::extract::bearer(&headers).map_err(rejected)?;
    let expected = ch.secret("inbound_token").unwrap_or_default();
    if expected.is_empty() || !crate::channel::same_secret(token.as_bytes(), expected.as_bytes()) {
        return Err(rejected(ApiError::Unauthorized(
            "the token does not open this email channel".into(),
        )));
    }
    let mail = email::parse_mail(&body).map_err(|e| {
        rejected(ApiError::BadRequest {
            field: None,
            message: format!("not a mail: {e}"),
        })
    })?;
    let event = email::to_event(mail, &body);
    let batch =
        Batch::check(vec![event], &ch, s.rt.clock.now(), s.max_text_chars).map_err(rejected)?;
    batch.record(&s.rt, &ch).await?;
    Ok(StatusCode::OK)
}

fn channel(s: &AppState, kind: &str, id: &str) -> Result<Arc<LiveChannel>, ApiError> {
    let missing = || ApiError::NotFound(format!("no {kind} channel named {id:?}"));
    if !KINDS.contains(&kind) {
        return Err(ApiError::NotFound(format!(
            "no webhook for channel kind {kind:?}"
        )));
    }
    let id = ChannelId::parse(id).map_err(|_| missing())?;
    s.rt.live_channel(&id)
        .filter(|c| c.row.kind == kind && c.row.enabled)
        .ok_or_else(missing)
}

async fn verify(
    State(s): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let ch = channel(&s, &kind, &id)?;
    if kind == "telegram" || kind == "sms" {
        return Err(ApiError::MethodNotAllowed(format!(
            "{kind} webhooks have no verification handshake; they are POSTed"
        )));
    }
    let expected = ch
        .secret("verify_token")
        .ok_or_else(|| ApiError::Forbidden("this channel has no verify_token secret".into()))?;
    match meta::challenge(
        expected,
        q.get("hub.mode").map(String::as_str),
        q.get("hub.verify_token").map(String::as_str),
        q.get("hub.challenge").map(String::as_str),
    ) {
        Some(c) => Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            c.to_owned(),
        )
            .into_response()),
        None => Err(ApiError::Forbidden(
            "the verification token does not match".into(),
        )),
    }
}

/// The URL Twilio signed: `[server] public_url` and the path and query it was sent to
/// (a reverse proxy changes the scheme and host Relais sees, so the public URL is what
/// counts); without a public URL, the Host header's.
fn public_webhook_url(s: &AppState, headers: &HeaderMap, uri: &axum::http::Uri) -> String {
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    match s.rt.settings.public_url.as_deref() {
        Some(p) => format!("{}{path}", p.trim_end_matches('/')),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}{path}")
        }
    }
}

fn authentic(ch: &LiveChannel, headers: &HeaderMap, body: &[u8], url: &str) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match ch.row.kind.as_str() {
        "sms" => match (ch.secret("token"), sms::form(body)) {
            (Some(token), Ok(params)) => {
                sms::verify(token, header("x-twilio-signature"), url, &params)
            }
            _ => false,
        },
        "telegram" => ch
            .secret("webhook_secret")
            .is_some_and(|s| telegram::verify(s, header("x-telegram-bot-api-secret-token"))),
        _ => ch
            .secret("app_secret")
            .is_some_and(|s| meta::verify(s, header("x-hub-signature-256"), body)),
    }
}

async fn receive(
    State(s): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    let rejected = |e: ApiError| {
        Metrics::inc(&s.rt.metrics.inbound_rejected);
        e
    };
    let ch = channel(&s, &kind, &id).map_err(rejected)?;
    let headers = req.headers().clone();
    let url = public_webhook_url(&s, &headers, req.uri());
    let body = read_body(req, &s).await.map_err(rejected)?;
    if !authentic(&ch, &headers, &body, &url) {
        return Err(rejected(ApiError::Unauthorized(
            "the webhook signature is missing or wrong".into(),
        )));
    }
    let parsed = match kind.as_str() {
        "whatsapp" => whatsapp::parse(&body),
        "telegram" => telegram::parse(&body),
        "sms" => sms::form(&body).and_then(|p| sms::parse(&p)),
        _ => meta::parse(&body, &kind),
    };
    let events = parsed.map_err(|e| {
        rejected(ApiError::BadRequest {
            field: None,
            message: format!("not a {kind} webhook: {e}"),
        })
    })?;
    let batch = Batch::check(events, &ch, s.rt.clock.now(), s.max_text_chars).map_err(rejected)?;
    batch.record(&s.rt, &ch).await?;
    if kind == "sms" {
        return Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            EMPTY_TWIML,
        )
            .into_response());
    }
    Ok(StatusCode::OK.into_response())
}

/// A webhook's events, checked whole before anything is recorded: a bad message refuses
/// the whole webhook, so the provider's redelivery finds nothing half-stored.
#[derive(Default)]
struct Batch {
    inbound: Vec<Inbound>,
    statuses: Vec<StatusReport>,
    reads: Vec<(String, relais_core::Timestamp)>,
    callbacks: Vec<String>,
}

impl Batch {
    fn check(
        events: Vec<ProviderEvent>,
        ch: &LiveChannel,
        now: relais_core::Timestamp,
        max_text_chars: usize,
    ) -> Result<Batch, ApiError> {
        let bad = |message: String| ApiError::BadRequest {
            field: None,
            message,
        };
        if events.len() > MAX_EVENTS {
            return Err(bad(format!(
                "{} events in one webhook; the limit is {MAX_EVENTS}",
                events.len()
            )));
        }
        let mut b = Batch::default();
        for e in events {
            match e {
                ProviderEvent::Message(m) => {
                    Identity::new(ch.row.id.clone(), &m.address)
                        .map_err(|why| bad(format!("a sender {why}")))?;
                    if m.external_id.is_empty() || m.external_id.len() > 256 {
                        return Err(bad("a message id must be 1 to 256 bytes".into()));
                    }
                    if let Some(q) = m.callback_query {
                        b.callbacks.push(q);
                    }
                    b.inbound.push(Inbound {
                        channel: ch.row.id.clone(),
                        address: m.address,
                        external_id: Some(m.external_id),
                        // A NUL is dropped, not refused: the provider would redeliver forever.
                        text: m
                            .text
                            .chars()
                            .filter(|c| *c != '\0')
                            .take(max_text_chars)
                            .collect(),
                        contact_name: m.name.map(|n| n.chars().take(256).collect()),
                        language: None,
                        received_at: now,
                        replies_in_band: false,
                        button: m.button,
                        media: m
                            .media
                            .or_else(|| crate::channel::media_of(m.payload.as_ref())),
                        thread: email::thread_ids(m.payload.as_ref()),
                        attachments: m.attachments,
                        payload: m.payload,
                        opens_window: relais_core::window::applies(&ch.row.kind),
                    });
                }
                ProviderEvent::ReadUpTo { address, watermark } => {
                    b.reads.push((address, watermark));
                }
                ProviderEvent::Status(st) => b.statuses.push(StatusReport {
                    channel: ch.row.id.clone(),
                    external_id: st.external_id,
                    status: st.status,
                    detail: st.detail,
                    at: st.at.unwrap_or(now),
                }),
            }
        }
        Ok(b)
    }

    /// Each contact's messages through the pipeline in order (contacts in parallel),
    /// then the statuses; returns once all of it is durable.
    async fn record(
        self,
        rt: &Arc<crate::runtime::Runtime>,
        ch: &Arc<LiveChannel>,
    ) -> Result<(), ApiError> {
        let has_media = self.inbound.iter().any(|m| m.media.is_some());
        let mut by_contact: Vec<Vec<Inbound>> = Vec::new();
        for m in self.inbound {
            match by_contact.iter_mut().find(|g| g[0].address == m.address) {
                Some(g) => g.push(m),
                None => by_contact.push(vec![m]),
            }
        }
        let results =
            futures_util::future::join_all(by_contact.into_iter().map(|group| async move {
                for m in group {
                    rt.receive(m).await?;
                }
                Ok::<(), relais_store::Error>(())
            }))
            .await;
        for r in results {
            r?;
        }
        if has_media {
            rt.media_wake.notify_one();
        }
        let moved = !self.statuses.is_empty() || !self.reads.is_empty();
        if !self.statuses.is_empty() {
            rt.store.record_statuses(self.statuses).await?;
        }
        for (address, watermark) in &self.reads {
            rt.store
                .record_read_up_to(ch.row.id.clone(), address.clone(), *watermark)
                .await?;
        }
        if moved {
            rt.poke_feed();
        }
        for q in self.callbacks {
            let (rt, ch) = (rt.clone(), ch.clone());
            tokio::spawn(async move { rt.telegram().answer_callback(&ch, &q).await });
        }
        Ok(())
    }
}

/// `POST /api/v1/channels` for a provider kind: the same checks as channels.yaml (the
/// request is read as a channels.yaml entry: JSON is YAML), every named secret set in
/// `[secrets]`, the fallback and default flow known. Answers the channel as listed.
pub(super) async fn create_channel(
    s: &AppState,
    req: super::api::ChannelRequest,
) -> Result<serde_json::Value, ApiError> {
    create_from_doc(s, &entry_doc(&req)?, None).await
}

/// `PUT /api/v1/channels/{id}` for a provider kind: the request as a channels.yaml entry.
pub(super) async fn update_channel(
    s: &AppState,
    id: &ChannelId,
    req: super::api::ChannelRequest,
) -> Result<serde_json::Value, ApiError> {
    update_from_doc(s, id, &entry_doc(&req)?, None).await
}

/// A request as a channels.yaml document of one entry (JSON is YAML).
fn entry_doc(req: &super::api::ChannelRequest) -> Result<String, ApiError> {
    use serde_json::{Value, json};
    if req.callback_url.is_some() {
        return Err(ApiError::field(
            "callback_url",
            "only a REST channel has a callback_url",
        ));
    }
    let mut entry = json!({ "id": req.id, "kind": req.kind });
    for (key, v) in [
        ("settings", req.settings.clone().map(Value::Object)),
        ("secrets", req.secrets.clone().map(Value::Object)),
        ("fallback", req.fallback.clone().map(Value::String)),
        ("default_flow", req.default_flow.clone().map(Value::String)),
    ] {
        if let Some(v) = v {
            entry[key] = v;
        }
    }
    Ok(json!({ "channels": [entry] }).to_string())
}

/// A channel from a channels.yaml document of one entry: the API's (built from the
/// request) and the Channels page's (an entry pasted as YAML, the first `lines` lines
/// of `doc` added around it, so findings give the entry's own line numbers).
pub(crate) async fn create_from_doc(
    s: &AppState,
    doc: &str,
    lines: Option<usize>,
) -> Result<serde_json::Value, ApiError> {
    save_from_doc(s, doc, lines, None).await
}

/// A channel made through the API replaced by a channels.yaml entry of the same id
/// and kind (checked as a new one is).
pub(crate) async fn update_from_doc(
    s: &AppState,
    id: &ChannelId,
    doc: &str,
    lines: Option<usize>,
) -> Result<serde_json::Value, ApiError> {
    save_from_doc(s, doc, lines, Some(id)).await
}

async fn save_from_doc(
    s: &AppState,
    doc: &str,
    lines: Option<usize>,
    replacing: Option<&ChannelId>,
) -> Result<serde_json::Value, ApiError> {
    use serde_json::json;
    let def = one_channel(doc, lines)?;
    let problems = problems(s, &def);
    if !problems.is_empty() {
        return Err(ApiError::Unprocessable {
            message: "the channel cannot be made as given".into(),
            findings: problems,
        });
    }
    let id = ChannelId(def.id.clone());
    let spec = spec_of(&def, &id);
    let created = match replacing {
        None => s.rt.store.add_channel(spec, s.rt.clock.now()).await?,
        Some(path_id) if *path_id != id => {
            return Err(ApiError::field(
                "id",
                format!("the entry is {id}, the address {path_id}: a channel's id never changes"),
            ));
        }
        Some(_) => s.rt.store.update_channel(spec).await?,
    };
    s.rt.reload_channels().await?;
    s.rt.announce_change(s.rt.clock.now()).await;
    let webhook_url =
        s.rt.settings
            .public_url
            .as_deref()
            .map(|p| format!("{p}/webhooks/{}/{}", created.kind, created.id));
    Ok(json!({
        "id": created.id, "kind": created.kind, "name": created.name,
        "settings": created.settings, "fallback": created.fallback,
        "default_flow": created.default_flow, "enabled": created.enabled,
        "from_file": false, "webhook_url": webhook_url,
    }))
}

/// The one channel of a channels.yaml document, passing its checks (findings with the
/// entry's own line numbers when `lines` were added around it).
fn one_channel(
    doc: &str,
    lines: Option<usize>,
) -> Result<relais_flow::channels::ChannelDef, ApiError> {
    let mut d = relais_flow::diag::Diags::new("request");
    let defs = relais_flow::channels::parse(doc, &mut d);
    let findings: Vec<String> = d
        .items
        .iter()
        .filter(|f| f.severity == relais_flow::diag::Severity::Error)
        .map(|f| match lines {
            Some(skip) => format!(
                "line {}: {}",
                f.pos.line.saturating_sub(skip).max(1),
                f.message
            ),
            None => f.message.clone(),
        })
        .collect();
    if defs.len() > 1 {
        return Err(ApiError::field("channel", "give one channel at a time"));
    }
    defs.into_iter()
        .next()
        .filter(|_| findings.is_empty())
        .ok_or_else(|| ApiError::Unprocessable {
            message: "the channel does not pass the checks of channels.yaml".into(),
            findings,
        })
}

/// What the server lacks for the channel: the secrets it names, its default flow, its
/// fallback channel.
fn problems(s: &AppState, def: &relais_flow::channels::ChannelDef) -> Vec<String> {
    let loaded = s.rt.flows.as_ref().map(|f| f.loaded());
    let mut problems = Vec::new();
    for (role, name) in &def.secrets {
        let set = loaded
            .as_ref()
            .is_some_and(|l| l.secrets.contains_key(&name.to_lowercase()));
        if !set {
            problems.push(format!(
                "the secret `{role}` names {name}, which [secrets] does not set (RELAIS__SECRETS__{})",
                name.to_uppercase()
            ));
        }
    }
    if let Some(f) = &def.default_flow
        && !loaded.as_ref().is_some_and(|l| l.ws.flows.contains_key(f))
    {
        problems.push(format!("no flow {f:?} for default_flow"));
    }
    if let Some(fb) = &def.fallback
        && ChannelId::parse(fb)
            .ok()
            .and_then(|id| s.rt.channel(&id))
            .is_none()
    {
        problems.push(format!("no channel {fb:?} for fallback"));
    }
    problems
}

/// The channel as the store keeps it.
fn spec_of(def: &relais_flow::channels::ChannelDef, id: &ChannelId) -> relais_store::ChannelSpec {
    use serde_json::Value;
    relais_store::ChannelSpec {
        id: id.clone(),
        kind: def.kind.clone(),
        token_hash: None,
        settings: Value::Object(def.settings.clone()),
        fallback: def.fallback.clone().map(ChannelId),
        secret_names: def
            .secrets
            .iter()
            .map(|(r, n)| (r.clone(), Value::String(n.clone())))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        default_flow: def.default_flow.clone(),
    }
}
