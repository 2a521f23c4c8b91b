//! Message templates through the API (SPEC §6, §9): the provider-approved messages agents
//! can still send once a 24-hour window has closed. Those of templates.yaml are read
//! only; those made here (or on the Templates page) are stored and join the workspace,
//! which reloads so that agents can send them at once.

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, Caller, language_code};
use crate::auth::Permission;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use relais_store::StoredTemplate;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/templates", get(list).post(create))
        .route("/api/v1/templates/{id}", put(update).delete(delete))
}

/// WhatsApp's limits: a body of 1,024 characters, three quick-reply buttons of 20.
const MAX_BODY: usize = 1024;
const MAX_BUTTONS: usize = 3;
const MAX_BUTTON: usize = 20;
pub(crate) const CATEGORIES: [&str; 3] = ["utility", "marketing", "authentication"];

/// Every template the workspace runs with (`source`: `templates.yaml` or `stored`, with
/// the stored one's id).
async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    let stored = s.rt.store.templates().await?;
    let loaded = s.rt.flows.as_ref().map(|f| f.loaded());
    let all: Vec<Value> = loaded
        .iter()
        .flat_map(|l| l.ws.templates.iter())
        .map(|t| {
            let id = stored
                .iter()
                .find(|x| x.name == t.name && x.language == t.language)
                .map(|x| x.id);
            let from_file = loaded
                .as_ref()
                .is_some_and(|l| file_has(l, &t.name, &t.language));
            json!({
                "name": t.name, "language": t.language, "category": t.category, "body": t.body,
                "buttons": t.buttons, "parameters": t.arity(),
                "source": if from_file { "templates.yaml" } else { "stored" },
                "id": if from_file { None } else { id },
            })
        })
        .collect();
    Ok(Json(json!({ "templates": all })))
}

/// Whether templates.yaml defines (name, language): its templates win over stored ones.
pub(crate) fn file_has(loaded: &relais_flow::handler::Loaded, name: &str, language: &str) -> bool {
    loaded.ws.templates[..loaded.ws.templates_from_file]
        .iter()
        .any(|t| t.name == name && t.language == language)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TemplateRequest {
    pub name: String,
    pub language: String,
    #[serde(default)]
    pub category: Option<String>,
    pub body: String,
    #[serde(default)]
    pub buttons: Vec<String>,
}

pub(crate) fn template_fields(r: TemplateRequest) -> Result<StoredTemplate, ApiError> {
    let name = r.name.trim();
    if name.is_empty()
        || name.len() > 100
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(ApiError::field(
            "name",
            "must be 1 to 100 lower-case letters, digits or '_' (the provider's rule)",
        ));
    }
    let category = r.category.as_deref().unwrap_or("utility").trim().to_owned();
    if !CATEGORIES.contains(&category.as_str()) {
        return Err(ApiError::field(
            "category",
            "must be utility, marketing or authentication",
        ));
    }
    let body = r.body.trim();
    if body.is_empty() || body.chars().count() > MAX_BODY {
        return Err(ApiError::field(
            "body",
            format!("must be 1 to {MAX_BODY} characters"),
        ));
    }
    let params = parameters(body);
    if let Some((i, n)) = params.iter().enumerate().find(|(i, n)| **n != i + 1) {
        return Err(ApiError::field(
            "body",
            format!(
                "parameters are numbered from {{{{1}}}} without a gap: {{{{{n}}}}} comes where {{{{{}}}}} should",
                i + 1
            ),
        ));
    }
    let buttons: Vec<String> = r
        .buttons
        .iter()
        .map(|b| b.trim().to_owned())
        .filter(|b| !b.is_empty())
        .collect();
    if buttons.len() > MAX_BUTTONS || buttons.iter().any(|b| b.chars().count() > MAX_BUTTON) {
        return Err(ApiError::field(
            "buttons",
            format!("at most {MAX_BUTTONS} buttons of {MAX_BUTTON} characters"),
        ));
    }
    Ok(StoredTemplate {
        id: 0,
        name: name.to_owned(),
        language: language_code("language", r.language.trim())?,
        category,
        body: body.to_owned(),
        buttons,
    })
}

/// The numbers of the body's `{{n}}`, sorted, each once.
fn parameters(body: &str) -> Vec<usize> {
    let mut out: Vec<usize> = body
        .split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}"))
        .filter_map(|(n, _)| n.trim().parse().ok())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(r): ApiJson<TemplateRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Permission::ManageTeams)?;
    let t = template_fields(r)?;
    refuse_file_template(&s, &t)?;
    let t = s.rt.store.save_template(None, t, s.rt.clock.now()).await?;
    let live = super::articles::go_live(&s).await;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "template": t, "reload": live })),
    ))
}

/// templates.yaml's templates are changed in the file.
fn refuse_file_template(s: &AppState, t: &StoredTemplate) -> Result<(), ApiError> {
    let in_file =
        s.rt.flows
            .as_ref()
            .is_some_and(|f| file_has(&f.loaded(), &t.name, &t.language));
    if in_file {
        return Err(ApiError::Conflict(format!(
            "templates.yaml defines {:?} in {:?}: change it there",
            t.name, t.language
        )));
    }
    Ok(())
}

async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<TemplateRequest>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageTeams)?;
    let t = template_fields(r)?;
    refuse_file_template(&s, &t)?;
    let t =
        s.rt.store
            .save_template(Some(id), t, s.rt.clock.now())
            .await?;
    let live = super::articles::go_live(&s).await;
    Ok(Json(json!({ "template": t, "reload": live })))
}

async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageTeams)?;
    if !s.rt.store.delete_template(id).await? {
        return Err(ApiError::NotFound(format!("template {id} not found")));
    }
    super::articles::go_live(&s).await;
    Ok(StatusCode::NO_CONTENT)
}

crate::api_body!(TemplateRequest => ManageTeams);
