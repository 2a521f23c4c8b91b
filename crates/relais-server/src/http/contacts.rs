//! Contacts across channels (SPEC §6): a contact's card with every identity it has,
//! and merging two contacts that are one person (admins).

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
        .route("/api/v1/contacts/{id}", get(card))
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
