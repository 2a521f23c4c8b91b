//! The knowledge base through the API (SPEC §8): articles listed, created, edited and
//! deleted (a change reloads the workspace, so the bot answers with it at once), what
//! the bot would answer to a question, and the suggestions for a conversation that
//! agents see beside its transcript.

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, Caller, language_code, slug};
use crate::auth::Permission;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use relais_core::id::ConversationId;
use relais_core::message::Direction;
use relais_store::{NewArticle, Viewer};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/articles", get(list).post(create))
        .route("/api/v1/articles/{id}", put(update).delete(delete))
        .route("/api/v1/articles/search", get(search))
        .route("/api/v1/conversations/{id}/suggestions", get(suggestions))
}

/// Longest article text accepted.
const MAX_BODY: usize = 20_000;
/// Suggestions shown to agents.
const SUGGESTIONS: usize = 3;

async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    Ok(Json(json!({ "articles": s.rt.store.articles().await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArticleRequest {
    pub slug: String,
    pub title: String,
    pub language: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub body: String,
}

pub(crate) fn article_fields(r: ArticleRequest) -> Result<NewArticle, ApiError> {
    slug("slug", &r.slug, 80)?;
    let title = r.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(ApiError::field("title", "must be 1 to 200 characters"));
    }
    let body = r.body.trim();
    if body.is_empty() || body.chars().count() > MAX_BODY {
        return Err(ApiError::field(
            "body",
            format!("must be 1 to {MAX_BODY} characters"),
        ));
    }
    for t in &r.tags {
        slug("tags", t, 40)?;
    }
    Ok(NewArticle {
        slug: r.slug,
        title: title.to_owned(),
        language: language_code("language", &r.language)?,
        tags: r.tags,
        body: body.to_owned(),
    })
}

/// After a change: the workspace is reloaded so the bot and the suggestions use it.
/// `live` says whether that worked (the article is saved either way).
pub(crate) async fn go_live(s: &AppState) -> Value {
    match s.rt.reload().await {
        Ok(_) => {
            s.rt.announce_change(s.rt.clock.now()).await;
            json!({ "live": true })
        }
        Err(e) => json!({ "live": false, "reason": e.to_string() }),
    }
}

async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(r): ApiJson<ArticleRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Permission::ManageTeams)?;
    let a =
        s.rt.store
            .save_article(None, article_fields(r)?, s.rt.clock.now())
            .await?;
    let live = go_live(&s).await;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "article": a, "reload": live })),
    ))
}

async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ArticleRequest>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageTeams)?;
    let a =
        s.rt.store
            .save_article(Some(id), article_fields(r)?, s.rt.clock.now())
            .await?;
    let live = go_live(&s).await;
    Ok(Json(json!({ "article": a, "reload": live })))
}

async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageTeams)?;
    if !s.rt.store.delete_article(id).await? {
        return Err(ApiError::NotFound(format!("article {id} not found")));
    }
    go_live(&s).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    /// Optional here so that the caller is checked before the query.
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    language: Option<String>,
}

/// Best articles for a text, with whether the bot's `answer` would send the first.
pub(crate) fn ranked(s: &AppState, text: &str, language: Option<&str>, limit: usize) -> Value {
    let Some(loaded) = s.rt.flows.as_ref().map(|f| f.loaded()) else {
        return json!({ "suggestions": [], "answers": null });
    };
    let Some(u) = loaded.understanding.as_ref() else {
        return json!({ "suggestions": [], "answers": null });
    };
    let found = u.suggest(text, language, limit);
    let answers = u.answer(text, language).map(|a| a.id);
    json!({
        "suggestions": found.iter().map(|(a, h)| json!({
            "slug": a.id, "title": a.title, "body": a.body,
            "score": round3(h.score), "similarity": round3(h.similarity), "bm25": round3(h.bm25),
        })).collect::<Vec<_>>(),
        "answers": answers,
        "min_score": u.min_score,
    })
}

fn round3(x: f32) -> f64 {
    (f64::from(x) * 1000.0).round() / 1000.0
}

async fn search(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    let text = q.q.as_deref().unwrap_or_default().trim();
    if text.is_empty() || text.chars().count() > 2000 {
        return Err(ApiError::field("q", "must be 1 to 2000 characters"));
    }
    let language = q
        .language
        .as_deref()
        .map(|l| language_code("language", l))
        .transpose()?;
    let (s2, text2) = (s.clone(), text.to_owned());
    let out = tokio::task::spawn_blocking(move || ranked(&s2, &text2, language.as_deref(), 5))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(out))
}

/// The customer's question in a transcript: their last message of three words or more
/// ("oui", "ok" or "2" answer the bot, they ask nothing), else their last message.
pub(crate) fn question_of(messages: &[relais_core::message::Message]) -> Option<String> {
    let inbound = || {
        messages
            .iter()
            .rev()
            .filter(|m| m.direction == Direction::Inbound && !m.text.trim().is_empty())
    };
    inbound()
        .find(|m| m.text.split_whitespace().count() >= 3)
        .or_else(|| inbound().next())
        .map(|m| m.text.clone())
}

/// Suggestions for a conversation the caller may see: for its customer's question (see
/// [`question_of`]), in the contact's language.
async fn suggestions(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    let c =
        s.rt.store
            .desk_open(
                Viewer {
                    agent: caller.agent.id,
                    role: caller.agent.role,
                },
                ConversationId(id),
            )
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("conversation {id} not found")))?;
    let messages = s.rt.store.messages(ConversationId(id)).await?;
    let Some(question) = question_of(&messages) else {
        return Ok(Json(
            json!({ "question": null, "suggestions": [], "answers": null }),
        ));
    };
    let language = c.view.contact.language.clone();
    let s2 = s.clone();
    let q = question.clone();
    let mut out =
        tokio::task::spawn_blocking(move || ranked(&s2, &q, language.as_deref(), SUGGESTIONS))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    out["question"] = json!(question);
    Ok(Json(out))
}

crate::api_body!(ArticleRequest => ManageTeams);
