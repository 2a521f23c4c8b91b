//! Flows over HTTP: the stored versions (`GET /api/v1/flows`), reloading the workspace
//! (`POST /api/v1/reload`), and proactive events (`POST /api/v1/events`, SPEC §7).

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, Caller, language_code};
use crate::auth::Permission;
use crate::runtime::reload::ReloadError;
use crate::workspace::LoadError;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use relais_core::Timestamp;
use relais_core::contact::MAX_ADDRESS_LEN;
use relais_core::id::ChannelId;
use relais_store::{ContactProfile, ProactiveOutcome, ProactiveStart};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/flows", get(list_flows))
        .route("/api/v1/reload", post(reload))
        .route("/api/v1/events", post(proactive_event))
}

async fn list_flows(State(s): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    let versions = s.rt.store.flow_versions(false).await?;
    let current: BTreeMap<String, i64> = match &s.rt.flows {
        Some(f) => {
            let loaded = f.loaded();
            loaded
                .ws
                .flows
                .keys()
                .filter_map(|id| {
                    use relais_flow::engine::Library;
                    loaded.latest(id).map(|(v, _)| (id.clone(), v))
                })
                .collect()
        }
        None => BTreeMap::new(),
    };
    let mut flows: BTreeMap<String, Value> = BTreeMap::new();
    for v in versions {
        let entry = flows.entry(v.flow.clone()).or_insert_with(|| {
            json!({
                "id": v.flow,
                "current_version": current.get(&v.flow),
                "versions": [],
            })
        });
        if let Some(list) = entry["versions"].as_array_mut() {
            list.push(json!({
                "version": v.version,
                "hash": v.hash,
                "path": v.path,
                "created_at": v.created_at,
            }));
        }
    }
    Ok(Json(
        json!({ "flows": flows.into_values().collect::<Vec<_>>() }),
    ))
}

async fn reload(State(s): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageFlows)?;
    match s.rt.reload().await {
        Ok(r) => Ok(Json(json!({
            "flows": r.versions.iter().map(|(id, v)| json!({ "id": id, "version": v })).collect::<Vec<_>>(),
            "warnings": r.warnings,
        }))),
        Err(ReloadError::Load(LoadError::Check(diags))) => Err(ApiError::Unprocessable {
            message: "the workspace does not pass `relais check`; the server keeps what it runs"
                .into(),
            findings: diags.iter().map(ToString::to_string).collect(),
        }),
        Err(ReloadError::NoWorkspace) => Err(ApiError::Conflict(
            "this server was started without a workspace folder".into(),
        )),
        Err(ReloadError::Load(LoadError::Store(e))) => Err(e.into()),
        Err(ReloadError::Load(LoadError::MissingSecrets(unset))) => Err(ApiError::Unprocessable {
            message: "channels.yaml names secrets that are not set; the server keeps what it runs"
                .into(),
            findings: unset,
        }),
        Err(ReloadError::Load(LoadError::Read(e))) => Err(ApiError::Internal(e.to_string())),
        Err(ReloadError::Load(LoadError::Understanding(e))) => Err(ApiError::Internal(e)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventRequest {
    name: String,
    channel: String,
    contact: EventContact,
    #[serde(default)]
    data: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventContact {
    /// The contact's address on the channel (phone, chat id, REST sender).
    address: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    tier: Option<String>,
    #[serde(default)]
    fields: Option<Map<String, Value>>,
    #[serde(default)]
    consent: BTreeMap<String, bool>,
}

const MAX_EVENT_NAME: usize = 100;

fn validate(r: &EventRequest) -> Result<(), ApiError> {
    let name_ok = !r.name.is_empty()
        && r.name.len() <= MAX_EVENT_NAME
        && r.name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !name_ok {
        return Err(ApiError::field(
            "name",
            format!("must be 1 to {MAX_EVENT_NAME} letters, digits, '.', '_' or '-'"),
        ));
    }
    let address = r.contact.address.trim();
    if address.is_empty() || address.len() > MAX_ADDRESS_LEN {
        return Err(ApiError::field(
            "contact.address",
            format!("must be 1 to {MAX_ADDRESS_LEN} bytes"),
        ));
    }
    if let Some(t) = &r.contact.tier
        && (t.is_empty() || t.len() > 40)
    {
        return Err(ApiError::field(
            "contact.tier",
            "must be 1 to 40 characters",
        ));
    }
    Ok(())
}

async fn proactive_event(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(r): ApiJson<EventRequest>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::SendEvents)?;
    validate(&r)?;
    let channel = ChannelId(r.channel.clone());
    let meta =
        s.rt.channel(&channel)
            .ok_or_else(|| ApiError::field("channel", format!("no channel {:?}", r.channel)))?;
    let has_flow =
        s.rt.flows
            .as_ref()
            .is_some_and(|f| f.loaded().ws.flow_for_event(&r.name, &meta.kind).is_some());
    if !has_flow {
        return Err(ApiError::field(
            "name",
            format!(
                "no flow starts on event:{} for {} channels",
                r.name, meta.kind
            ),
        ));
    }
    let language = r
        .contact
        .language
        .as_deref()
        .map(|l| language_code("contact.language", l))
        .transpose()?;
    let out =
        s.rt.start_proactive(ProactiveStart {
            channel,
            channel_kind: meta.kind.clone(),
            address: r.contact.address.trim().to_owned(),
            event: r.name.clone(),
            data: Value::Object(r.data.unwrap_or_default()),
            contact: ContactProfile {
                name: r.contact.name,
                language,
                tier: r.contact.tier,
                fields: r.contact.fields,
            },
            consent: r.contact.consent.into_iter().collect(),
            now: Timestamp(0),
        })
        .await?;
    match out {
        ProactiveOutcome::Started(st) => Ok(Json(json!({
            "conversation": st.conversation,
            "created": st.created,
            "messages": st.replies.iter().map(|m| json!({
                "id": m.id, "text": m.text, "buttons": m.buttons, "status": m.status,
            })).collect::<Vec<_>>(),
        }))),
        ProactiveOutcome::NoConsent => Err(ApiError::Conflict(format!(
            "the contact has not opted in to messages on {} channels: send contact.consent.{} = true once they have",
            meta.kind, meta.kind
        ))),
        ProactiveOutcome::HumanOwns(c) => Err(ApiError::Conflict(format!(
            "conversation {c} is owned by a human: the event was not started"
        ))),
    }
}

crate::api_body!(EventRequest => SendEvents);
