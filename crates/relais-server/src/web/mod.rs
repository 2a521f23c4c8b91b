//! The agent workspace in the browser (SPEC §9), served by Relais at `/`: pages
//! rendered on the server from the same store queries as the JSON API (so every view
//! obeys the same visibility rules), styles and one small script from the binary, no
//! build step, in the agent's language.
//!
//! `layout` the document, frame and forms every page shares; `session` the cookie and
//! the CSRF token; `i18n` the five languages; `login` signing in and the agent's own
//! switches; `inbox`, `conversation` (with `watch`, who else is on a conversation) the
//! agents' work; `admin` the configuration pages; `flows` the flows' pages.

pub mod admin;
pub mod conversation;
pub mod dashboard;
pub mod flows;
pub mod i18n;
pub mod inbox;
pub mod layout;
pub mod login;
pub mod session;
mod side;
pub mod watch;
mod words;

use crate::http::AppState;
use crate::http::error::ApiError;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use session::Signed;

const APP_CSS: &str = include_str!("../../web/app.css");
const APP_JS: &str = include_str!("../../web/app.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/inbox") }))
        .route("/login", get(login::login_page).post(login::login))
        .route("/logout", post(login::logout))
        .route("/presence", post(login::presence))
        .route("/language", post(login::set_language))
        .route("/inbox", get(inbox::inbox))
        .route("/conversations/{id}", get(conversation::show))
        .route("/conversations/{id}/act", post(conversation::act))
        .route("/conversations/{id}/here", post(watch::here))
        .route(
            "/conversations/{id}/erase-contact",
            post(conversation::erase_contact),
        )
        .route("/media/{id}", get(conversation::media))
        .merge(dashboard::routes())
        .merge(admin::routes())
        .merge(flows::routes())
        .route("/assets/app.css", get(style))
        .route("/assets/app.js", get(script))
        .route("/live", get(live))
}

async fn script() -> Response {
    crate::html::asset("text/javascript; charset=utf-8", APP_JS)
}

async fn style() -> Response {
    crate::html::asset("text/css; charset=utf-8", APP_CSS)
}

/// The live stream for the pages: the API's own (`/api/v1/stream`, the same filter by
/// visibility and caps), opened with the session cookie, since a browser's
/// EventSource cannot send a bearer token. Read-only, so no CSRF token.
async fn live(State(s): State<AppState>, who: Signed, headers: axum::http::HeaderMap) -> Response {
    let caller = crate::http::extract::Caller {
        agent: who.agent,
        token: who.info,
        ip: who.ip,
    };
    match crate::http::stream::stream_events(State(s), caller, headers, Query(Default::default()))
        .await
    {
        Ok(sse) => sse.into_response(),
        Err(e) => e.into_response(),
    }
}

/// A store failure as the page's answer.
pub(crate) fn failed(e: relais_store::Error) -> Response {
    ApiError::from(e).into_response()
}

/// Something on the server's side failed (a file, a reload): 500, said.
pub(crate) fn internal(message: String) -> Response {
    ApiError::Internal(message).into_response()
}
