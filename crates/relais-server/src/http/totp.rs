//! One's own second factor: `POST /api/v1/me/totp` starts enrolment (a new secret and
//! its `otpauth://` URI), `POST /api/v1/me/totp/confirm` enables it with a first code
//! and answers the recovery codes (shown once), `POST /api/v1/me/totp/disable` turns it
//! off with a current code. Login asks for the code (`otp`) once it is enabled.

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, Caller};
use crate::auth::{self, Permission, totp};
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use relais_store::{SecondFactor, TotpChange};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me/totp", post(begin))
        .route("/api/v1/me/totp/confirm", post(confirm))
        .route("/api/v1/me/totp/disable", post(disable))
}

async fn begin(State(s): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageOwnTotp)?;
    if s.rt
        .store
        .totp(caller.agent.id)
        .await?
        .is_some_and(|t| t.enabled)
    {
        return Err(ApiError::Conflict(
            "a second factor is already enabled; disable it first to enrol a new one".into(),
        ));
    }
    let secret = totp::new_secret();
    s.rt.store
        .change_totp(
            caller.agent.id,
            TotpChange::Begin {
                secret: hex::encode(&secret),
            },
        )
        .await?;
    Ok(Json(json!({
        "secret": totp::base32(&secret),
        "uri": totp::uri("Relais", &caller.agent.email, &secret),
        "next": "add it to an authenticator app, then POST a code to /api/v1/me/totp/confirm",
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    code: String,
}

crate::api_body!(CodeRequest => ManageOwnTotp);

async fn confirm(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(r): ApiJson<CodeRequest>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageOwnTotp)?;
    let Some(t) = s.rt.store.totp(caller.agent.id).await? else {
        return Err(ApiError::Conflict(
            "no enrolment started: POST /api/v1/me/totp first".into(),
        ));
    };
    if t.enabled {
        return Err(ApiError::Conflict(
            "the second factor is already enabled".into(),
        ));
    }
    let secret = hex::decode(&t.secret).map_err(|e| ApiError::Internal(e.to_string()))?;
    let now_s = s.rt.clock.now().0.div_euclid(1000);
    let Some(step) = totp::verify(&secret, &r.code, now_s, None) else {
        return Err(ApiError::field(
            "code",
            "the code does not match; check the device's clock",
        ));
    };
    let codes = totp::new_recovery_codes();
    let recovery_hashes = codes
        .iter()
        .map(|c| auth::token_hash(&totp::normalise_recovery(c)))
        .collect();
    s.rt.store
        .change_totp(
            caller.agent.id,
            TotpChange::Enable {
                step,
                recovery_hashes,
            },
        )
        .await?;
    super::api::admin_event(&s, &caller, json!({ "action": "totp_enabled" })).await?;
    Ok(Json(json!({
        "enabled": true,
        "recovery_codes": codes,
        "note": "each recovery code works once, in place of a code; they are shown only now",
    })))
}

async fn disable(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(r): ApiJson<CodeRequest>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageOwnTotp)?;
    if !second_factor_ok(&s, caller.agent.id, &r.code).await? {
        return Err(ApiError::field("code", "the code does not match"));
    }
    s.rt.store
        .change_totp(caller.agent.id, TotpChange::Disable)
        .await?;
    super::api::admin_event(&s, &caller, json!({ "action": "totp_disabled" })).await?;
    Ok(Json(json!({ "enabled": false })))
}

/// Whether `code` (a current TOTP code, or an unused recovery code) proves `agent`'s
/// second factor; using it spends it.
pub async fn second_factor_ok(
    s: &AppState,
    agent: relais_core::id::AgentId,
    code: &str,
) -> Result<bool, ApiError> {
    let Some(t) = s.rt.store.totp(agent).await?.filter(|t| t.enabled) else {
        return Ok(false);
    };
    let secret = hex::decode(&t.secret).map_err(|e| ApiError::Internal(e.to_string()))?;
    let now = s.rt.clock.now();
    let factor = match totp::verify(&secret, code, now.0.div_euclid(1000), t.last_step) {
        Some(step) => SecondFactor::Step(step),
        None => SecondFactor::Recovery(auth::token_hash(&totp::normalise_recovery(code))),
    };
    Ok(s.rt.store.use_second_factor(agent, factor, now).await?)
}
