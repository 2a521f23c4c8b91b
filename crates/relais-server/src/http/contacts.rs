//! Contacts across channels (SPEC §6): a contact's card with every identity it has,
//! merging two contacts that are one person, exporting everything held about one and
//! erasing them (SPEC §11; admins).

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, Caller, ClientAddr};
use crate::auth::Permission;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use relais_core::id::ContactId;
use relais_store::ContactCard;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/contacts/{id}", get(card).delete(erase))
        .route("/api/v1/contacts/{id}/merge", post(merge))
        .route("/api/v1/contacts/{id}/export", get(export))
}

/// Everything held about the contact (GDPR article 15), recorded as an admin action.
async fn export(
    State(s): State<AppState>,
    caller: Caller,
    ClientAddr(ip): ClientAddr,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::ManageContacts)?;
    let now = s.rt.clock.now();
    let doc = crate::contact_export::export(s.rt.store.as_ref(), ContactId(id), now).await?;
    super::audit::record(
        &s,
        caller.agent.id,
        Some(caller.token.id),
        "export_contact",
        format!("contact:{id}"),
        ip,
    )
    .await?;
    super::api::admin_event(
        &s,
        &caller,
        serde_json::json!({ "action": "contact_exported", "contact": id }),
    )
    .await?;
    Ok(Json(doc))
}

/// Erases the contact (GDPR article 17): every conversation of theirs loses its
/// messages, attachments, variables and events' data, live ones are closed, their
/// identities and consents go; nothing is left in the database files. Recorded in the
/// audit log and as an admin action (with the contact's id only).
async fn erase(
    State(s): State<AppState>,
    caller: Caller,
    ClientAddr(ip): ClientAddr,
    Path(id): Path<i64>,
) -> Result<Json<relais_store::Erasure>, ApiError> {
    caller.require(Permission::ManageContacts)?;
    let done = erase_recorded(
        &s,
        caller.agent.id,
        Some(caller.token.id),
        ip,
        ContactId(id),
    )
    .await?;
    Ok(Json(done))
}

/// Erases a contact and records it (audit log and admin action, by id only): the
/// API's and the conversation page's one way. The caller checked that `agent` may.
pub async fn erase_recorded(
    s: &AppState,
    agent: relais_core::id::AgentId,
    token: Option<i64>,
    ip: std::net::IpAddr,
    id: ContactId,
) -> Result<relais_store::Erasure, ApiError> {
    let done = s.rt.store.erase_contact(id, s.rt.clock.now()).await?;
    super::audit::record(
        s,
        agent,
        token,
        "erase_contact",
        format!("contact:{id}"),
        ip,
    )
    .await?;
    super::api::record_admin_action(
        s,
        agent,
        super::api::Via {
            token,
            ip: Some(ip),
        },
        serde_json::json!({
            "action": "contact_erased",
            "contact": id,
            "conversations": done.conversations,
            "messages": done.messages,
        }),
    )
    .await?;
    s.rt.poke_feed();
    Ok(done)
}

async fn card(
    State(s): State<AppState>,
    caller: Caller,
    ClientAddr(ip): ClientAddr,
    Path(id): Path<i64>,
) -> Result<Json<ContactCard>, ApiError> {
    caller.require(Permission::ManageContacts)?;
    let card = s.rt.store.contact_card(ContactId(id)).await?;
    super::audit::record(
        &s,
        caller.agent.id,
        Some(caller.token.id),
        "read_contact",
        format!("contact:{id}"),
        ip,
    )
    .await?;
    Ok(Json(card))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeRequest {
    /// The contact folded into the one in the path; it no longer exists afterwards.
    from: i64,
}
crate::api_body!(MergeRequest => ManageContacts);

async fn merge(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<MergeRequest>,
) -> Result<Json<ContactCard>, ApiError> {
    caller.require(Permission::ManageContacts)?;
    if r.from == id {
        return Err(ApiError::field(
            "from",
            "a contact cannot be merged into itself",
        ));
    }
    let now = s.rt.clock.now();
    let card =
        s.rt.store
            .merge_contacts(ContactId(id), ContactId(r.from), caller.agent.id, now)
            .await?;
    s.rt.poke_feed();
    Ok(Json(card))
}
