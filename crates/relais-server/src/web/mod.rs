//! The agent workspace in the browser (SPEC §9), served by Relais at `/`: pages
//! rendered on the server from the same store queries as the JSON API (so every view
//! obeys the same visibility rules), styles and one small script from the binary, no
//! build step. So far: signing in and out, the page frame (navigation, presence), the
//! inbox and a conversation's page with the agent's actions, both following the live
//! stream. `session.rs` holds the cookie and the CSRF token.

pub mod session;

use crate::html::escape;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::ClientAddr;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use relais_core::access;
use relais_store::{DeskQuery, View, Viewer};
use serde::Deserialize;
use session::Signed;

const APP_CSS: &str = include_str!("../../web/app.css");
const APP_JS: &str = include_str!("../../web/app.js");
/// No inline script or style anywhere: the pages carry this policy.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The sections not built yet: each says so inside the frame.
const SOON: [(&str, &str); 5] = [
    ("/dashboard", "Dashboard"),
    ("/flows", "Flows"),
    ("/teams", "Teams"),
    ("/channels", "Channels"),
    ("/settings", "Settings"),
];

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for (path, section) in SOON {
        r = r.route(
            path,
            get(move |who: Signed| async move { soon(&who, section) }),
        );
    }
    r.route("/", get(|| async { Redirect::to("/inbox") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/presence", post(presence))
        .route("/inbox", get(inbox))
        .route("/conversations/{id}", get(conversation))
        .route("/conversations/{id}/act", post(act))
        .route("/assets/app.css", get(style))
        .route("/assets/app.js", get(script))
        .route("/live", get(live))
}

async fn script() -> Response {
    crate::html::asset("text/javascript; charset=utf-8", APP_JS)
}

/// The live stream for the pages: the API's own (`/api/v1/stream`, the same filter by
/// visibility and caps), opened with the session cookie, since a browser's
/// EventSource cannot send a bearer token. Read-only, so no CSRF token.
async fn live(State(s): State<AppState>, who: Signed, headers: axum::http::HeaderMap) -> Response {
    let caller = crate::http::extract::Caller {
        agent: who.agent,
        token: who.info,
    };
    match crate::http::stream::stream_events(State(s), caller, headers, Query(Default::default()))
        .await
    {
        Ok(sse) => sse.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn style() -> Response {
    crate::html::asset("text/css; charset=utf-8", APP_CSS)
}

/// A page answer: HTML, the page policy, never cached (it shows personal data).
fn page(status: StatusCode, html: String) -> Response {
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · Relais</title><link rel=\"stylesheet\" href=\"/assets/app.css\">\
         <script src=\"/assets/app.js\" defer></script></head>\
         <body>{body}</body></html>\n",
        escape(title)
    )
}

/// The frame of every signed-in page: the six navigation links, the presence switch,
/// sign out; `active` names the current section.
fn frame(who: &Signed, active: &str, title: &str, main: &str) -> String {
    let nav: String = [
        ("Inbox", "/inbox"),
        ("Dashboard", "/dashboard"),
        ("Flows", "/flows"),
        ("Teams", "/teams"),
        ("Channels", "/channels"),
        ("Settings", "/settings"),
    ]
    .iter()
    .map(|(name, href)| {
        let current = if *name == active {
            " aria-current=\"page\""
        } else {
            ""
        };
        format!("<a href=\"{href}\"{current}>{name}</a>")
    })
    .collect();
    let presence = who.agent.presence.as_str();
    let options: String = [
        ("online", "Online"),
        ("away", "Away"),
        ("offline", "Offline"),
    ]
    .iter()
    .map(|(v, label)| {
        let sel = if *v == presence { " selected" } else { "" };
        format!("<option value=\"{v}\"{sel}>{label}</option>")
    })
    .collect();
    let csrf = who.csrf();
    document(
        title,
        &format!(
            "<header class=\"top\"><a class=\"brand\" href=\"/inbox\">Relais</a>\
             <nav aria-label=\"Main\">{nav}</nav>\
             <form class=\"presence\" method=\"post\" action=\"/presence\">\
             <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
             <label><span class=\"sr\">Presence</span>\
             <select name=\"presence\" aria-label=\"Presence\">{options}</select></label>\
             <button type=\"submit\" class=\"ghost\">Set</button></form>\
             <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
             <button type=\"submit\" class=\"ghost\">Log out <span class=\"sr\">{name}</span></button></form>\
             </header><main id=\"main\">{main}</main>",
            name = escape(&who.agent.name),
        ),
    )
}

#[derive(Deserialize)]
struct LoginQuery {
    #[serde(default)]
    next: Option<String>,
}

/// Only a path on this site (no `//host`, no scheme) is a place to come back to.
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or("/inbox")
}

fn login_form(next: &str, error: Option<&str>, email: &str) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    document(
        "Log in",
        &format!(
            "<main class=\"login\"><h1>Relais</h1>{error}\
             <form method=\"post\" action=\"/login\">\
             <input type=\"hidden\" name=\"next\" value=\"{next}\">\
             <label for=\"email\">Email</label>\
             <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required value=\"{email}\">\
             <label for=\"password\">Password</label>\
             <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <label for=\"otp\">One-time code <span class=\"hint\">(if you set up a second factor)</span></label>\
             <input id=\"otp\" name=\"otp\" inputmode=\"numeric\" autocomplete=\"one-time-code\">\
             <button type=\"submit\">Log in</button></form></main>",
            next = escape(next),
            email = escape(email),
        ),
    )
}

async fn login_page(Query(q): Query<LoginQuery>) -> Response {
    page(
        StatusCode::OK,
        login_form(safe_next(q.next.as_deref()), None, ""),
    )
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

async fn login(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    // The login form has no session yet, so no CSRF token: a browser posting it from
    // another site (to sign the agent into someone else's account) says so in `Origin`.
    if !session::same_origin(&headers, s.rt.settings.public_url.as_deref()) {
        return session::forbidden("this login form was sent from another site");
    }
    let f = form(&body);
    let next = safe_next(field(&f, "next")).to_owned();
    let email = field(&f, "email").unwrap_or_default().to_owned();
    let password = field(&f, "password").unwrap_or_default().to_owned();
    let otp = field(&f, "otp").filter(|o| !o.trim().is_empty());
    match crate::http::api::authenticate(&s, ip, &email, password, otp).await {
        Ok(done) if done.must_enrol => page(
            StatusCode::FORBIDDEN,
            login_form(
                &next,
                Some(
                    "Your role needs a second factor: enrol one through the API (POST /api/v1/me/totp) first.",
                ),
                &email,
            ),
        ),
        Ok(done) => {
            let max_age = done
                .expires_at
                .map_or(12 * 3600, |e| (e.0 - s.rt.clock.now().0) / 1000);
            let secure =
                s.rt.settings
                    .public_url
                    .as_deref()
                    .is_some_and(|u| u.starts_with("https://"));
            let mut r = Redirect::to(&next).into_response();
            r.headers_mut().insert(
                header::SET_COOKIE,
                session::set_cookie(&done.token, max_age, secure),
            );
            r
        }
        Err(e) => {
            let (status, message) = match e {
                ApiError::TooManyRequests { message, .. } => {
                    (StatusCode::TOO_MANY_REQUESTS, message)
                }
                ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, m),
                other => return other.into_response(),
            };
            page(status, login_form(&next, Some(&message), &email))
        }
    }
}

async fn logout(State(s): State<AppState>, who: Signed, body: Bytes) -> Response {
    if !session::csrf_ok(&who.token, field(&form(&body), "_csrf")) {
        return session::forbidden(
            "this form is out of date (CSRF token missing or wrong); reload the page",
        );
    }
    let now = s.rt.clock.now();
    if let Err(e) =
        s.rt.store
            .revoke_token(who.info.id, who.agent.id, now)
            .await
    {
        return ApiError::from(e).into_response();
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie());
    r
}

/// The presence switch in the header (a form: it works without script).
async fn presence(State(s): State<AppState>, who: Signed, body: Bytes) -> Response {
    let f = form(&body);
    if !session::csrf_ok(&who.token, field(&f, "_csrf")) {
        return session::forbidden(
            "this form is out of date (CSRF token missing or wrong); reload the page",
        );
    }
    let Some(p) = field(&f, "presence").and_then(relais_core::agent::Presence::parse) else {
        return session::forbidden("presence is one of online, away, offline");
    };
    if let Err(e) = s.rt.set_presence(who.agent.id, p).await {
        return ApiError::from(e).into_response();
    }
    Redirect::to("/inbox").into_response()
}

#[derive(Deserialize)]
struct InboxQuery {
    #[serde(default)]
    view: Option<String>,
}

/// The inbox: the views of SPEC §9 as links, the conversations of the chosen one.
async fn inbox(State(s): State<AppState>, who: Signed, Query(q): Query<InboxQuery>) -> Response {
    let all = access::sees_all(who.agent.role);
    let views: Vec<(View, &str)> = [
        (View::Mine, "Mine"),
        (View::Unassigned, "Unassigned"),
        (View::MyTeams, "My teams"),
        (View::Pending, "Pending"),
        (View::Solved, "Solved"),
        (View::All, "All"),
    ]
    .into_iter()
    .filter(|(v, _)| *v != View::All || all)
    .collect();
    let view = q
        .view
        .as_deref()
        .and_then(View::parse)
        .filter(|v| *v != View::All || all)
        .unwrap_or(View::Mine);
    let list = match s
        .rt
        .store
        .desk_list(DeskQuery {
            viewer: Viewer {
                agent: who.agent.id,
                role: who.agent.role,
            },
            view,
            team: None,
            priority: None,
            before: None,
            limit: 100,
        })
        .await
    {
        Ok(l) => l,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let tabs: String = views
        .iter()
        .map(|(v, name)| {
            let current = if *v == view {
                " aria-current=\"page\""
            } else {
                ""
            };
            format!("<a href=\"/inbox?view={}\"{current}>{name}</a>", v.as_str())
        })
        .collect();
    let now = s.rt.clock.now();
    let rows: String = if list.is_empty() {
        "<p class=\"empty empty-inbox\">Nothing here.</p>".to_owned()
    } else {
        let items: String = list
            .iter()
            .map(|c| {
                let conv = &c.view.conversation;
                let who = display_name(&c.view);
                let waiting = c
                    .queued_at
                    .map(|t| format!("waiting {}", since(now.0 - t.0)))
                    .unwrap_or_default();
                format!(
                    "<li><a href=\"/conversations/{id}\"><span class=\"who\">{who}</span>\
                     <span class=\"channel\">{channel}</span><span class=\"status {status}\">{status}</span>\
                     <span class=\"wait\">{waiting}</span></a></li>",
                    id = conv.id,
                    who = escape(&who),
                    channel = escape(conv.channel.as_str()),
                    status = conv.status.as_str(),
                )
            })
            .collect();
        format!("<ul class=\"rows\">{items}</ul>")
    };
    let main =
        format!("<h1>Inbox</h1><nav class=\"views\" aria-label=\"Views\">{tabs}</nav>{rows}");
    page(StatusCode::OK, frame(&who, "Inbox", "Inbox", &main))
}

/// A section not built yet says so, inside the frame.
fn soon(who: &Signed, section: &str) -> Response {
    page(
        StatusCode::OK,
        frame(
            who,
            section,
            section,
            &format!(
                "<h1>{section}</h1><p class=\"empty\">This page is not built yet; the JSON API \
                 (<a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>) does what it will do.</p>"
            ),
        ),
    )
}

#[derive(Deserialize)]
struct ConversationQuery {
    /// What the last action could not do, said on the page.
    #[serde(default)]
    error: Option<String>,
}

/// An agent's action from the conversation page: reply, note, claim, pending, solve.
/// One form, one CSRF token; the reply's hidden id makes a double submit send once.
async fn act(
    State(s): State<AppState>,
    who: Signed,
    axum::extract::Path(id): axum::extract::Path<i64>,
    body: Bytes,
) -> Response {
    use relais_store::{Act, DeskAction};
    let f = form(&body);
    if !session::csrf_ok(&who.token, field(&f, "_csrf")) {
        return session::forbidden(
            "this form is out of date (CSRF token missing or wrong); reload the page",
        );
    }
    let back = |error: Option<&str>| {
        let q = error
            .map(|e| {
                let e: String = url::form_urlencoded::byte_serialize(e.as_bytes()).collect();
                format!("?error={e}")
            })
            .unwrap_or_default();
        Redirect::to(&format!("/conversations/{id}{q}")).into_response()
    };
    let text = field(&f, "text").unwrap_or_default().trim().to_owned();
    let needs_text = |text: String| {
        if text.is_empty() {
            Err("write something first")
        } else if text.chars().count() > 4096 {
            Err("at most 4096 characters")
        } else {
            Ok(text)
        }
    };
    let act = match field(&f, "action") {
        Some("reply") => match needs_text(text) {
            Ok(text) => Act::Reply {
                text,
                client_id: field(&f, "client_id")
                    .filter(|c| !c.is_empty() && c.len() <= 100)
                    .map(str::to_owned),
                pending: false,
                media: None,
                template: None,
            },
            Err(e) => return back(Some(e)),
        },
        Some("note") => match needs_text(text) {
            Ok(text) => Act::Note { text },
            Err(e) => return back(Some(e)),
        },
        Some("claim") => Act::Claim,
        Some("transfer") => match field(&f, "team").filter(|t| !t.is_empty() && t.len() <= 64) {
            Some(team) => Act::Transfer {
                team: Some(team.to_owned()),
                agent: None,
                note: Some(text).filter(|t| !t.is_empty()),
            },
            None => return back(Some("choose a team to transfer to")),
        },
        Some("pending") => Act::SetPending,
        Some("solve") => Act::Solve,
        Some("reopen") => Act::Reopen,
        _ => return back(Some("unknown action")),
    };
    if let Err(e) = s.rt.seen(who.agent.id).await {
        return ApiError::from(e).into_response();
    }
    let done =
        s.rt.act(DeskAction {
            viewer: Viewer {
                agent: who.agent.id,
                role: who.agent.role,
            },
            conversation: relais_core::id::ConversationId(id),
            act,
            now: relais_core::Timestamp(0),
        })
        .await;
    match done {
        Ok(_) => back(None),
        Err(relais_store::Error::WindowClosed { reason }) => back(Some(&reason)),
        Err(e) => match ApiError::from(e) {
            ApiError::NotFound(_) => page(
                StatusCode::NOT_FOUND,
                frame(
                    &who,
                    "Inbox",
                    "Not found",
                    "<h1>Not found</h1><p class=\"empty\">No such conversation, or not one you may see.</p>",
                ),
            ),
            ApiError::Conflict(m) | ApiError::Forbidden(m) => back(Some(&m)),
            other => other.into_response(),
        },
    }
}

/// A conversation: its transcript, where it stands, and the agent's actions. What the
/// viewer may not see is "not found", as in the API (the same store query).
async fn conversation(
    State(s): State<AppState>,
    who: Signed,
    axum::extract::Path(id): axum::extract::Path<i64>,
    Query(q): Query<ConversationQuery>,
) -> Response {
    let viewer = Viewer {
        agent: who.agent.id,
        role: who.agent.role,
    };
    let id = relais_core::id::ConversationId(id);
    let found = match s.rt.store.desk_open(viewer, id).await {
        Ok(f) => f,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(c) = found else {
        return page(
            StatusCode::NOT_FOUND,
            frame(
                &who,
                "Inbox",
                "Not found",
                "<h1>Not found</h1><p class=\"empty\">No such conversation, or not one you may see.</p>",
            ),
        );
    };
    let messages = match s.rt.store.messages(id).await {
        Ok(m) => m,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let conv = &c.view.conversation;
    let name = display_name(&c.view);
    let items: String = messages
        .iter()
        .map(|m| {
            use relais_core::message::{AuthorKind, Direction};
            let (class, who) = match (m.direction, m.author) {
                (Direction::Inbound, _) => ("them", name.as_str()),
                (Direction::Note, _) => ("note", "Note"),
                (_, AuthorKind::Agent) => ("agent", "Agent"),
                (_, AuthorKind::Bot) => ("bot", "Bot"),
                _ => ("bot", "Relais"),
            };
            format!(
                "<li class=\"{class}\"><span class=\"by\">{who}</span><p>{text}</p>\
                 <span class=\"meta\">{channel}{status}</span></li>",
                who = escape(who),
                text = escape(&m.text),
                channel = escape(m.channel.as_str()),
                status = m
                    .status
                    .map(|st| format!(" · {}", st.as_str()))
                    .unwrap_or_default(),
            )
        })
        .collect();
    let reason = conv
        .escalation_reason
        .as_deref()
        .map(|r| format!(" · handed over: {}", escape(r)))
        .unwrap_or_default();
    use relais_core::ticket::Status;
    let error = q
        .error
        .as_deref()
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    // "Claim" only where the viewer can claim: waiting, nobody's yet.
    let claim = if conv.assignee.is_none() && conv.status == Status::Open {
        "<button type=\"submit\" name=\"action\" value=\"claim\" class=\"second\">Claim</button>"
    } else {
        ""
    };
    let state_buttons = match conv.status {
        Status::Solved | Status::Closed => {
            "<button type=\"submit\" name=\"action\" value=\"reopen\" class=\"second\">Reopen</button>"
        }
        _ => {
            "<button type=\"submit\" name=\"action\" value=\"pending\" class=\"second\">Pending</button>\
             <button type=\"submit\" name=\"action\" value=\"solve\" class=\"second\">Solve</button>"
        }
    };
    let client_id = hex::encode(rand::random::<[u8; 12]>());
    // Transfer: to another team's queue, the text (if any) as the note that goes with it.
    let teams = match s.rt.store.teams().await {
        Ok(t) => t,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let options: String = teams
        .iter()
        .filter(|t| conv.team.as_deref() != Some(t.team.id.as_str()))
        .map(|t| {
            format!(
                "<option value=\"{}\">{}</option>",
                escape(&t.team.id),
                escape(&t.team.name)
            )
        })
        .collect();
    let transfer = if options.is_empty() {
        String::new()
    } else {
        format!(
            "<span class=\"transfer\"><select name=\"team\" aria-label=\"Team\">{options}</select>\
             <button type=\"submit\" name=\"action\" value=\"transfer\" class=\"second\">Transfer</button></span>"
        )
    };
    let main = format!(
        "<h1>{title}</h1><p class=\"facts\"><span class=\"status {status}\">{status}</span> \
         {channel}{team}{reason}</p><ol class=\"transcript\">{items}</ol>{error}\
         <form class=\"composer\" method=\"post\" action=\"/conversations/{id}/act\">\
         <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"client_id\" value=\"{client_id}\">\
         <textarea id=\"reply\" name=\"text\" rows=\"3\" aria-label=\"Reply\" placeholder=\"Reply…\" maxlength=\"4096\"></textarea>\
         <div class=\"actions\"><button type=\"submit\" name=\"action\" value=\"reply\">Send</button>\
         <button type=\"submit\" name=\"action\" value=\"note\" class=\"second\">Note</button>\
         {claim}{state_buttons}{transfer}</div></form>",
        title = escape(&name),
        status = conv.status.as_str(),
        channel = escape(conv.channel.as_str()),
        team = conv
            .team
            .as_deref()
            .map(|t| format!(" · team {}", escape(t)))
            .unwrap_or_default(),
        id = conv.id,
        csrf = who.csrf(),
    );
    page(StatusCode::OK, frame(&who, "Inbox", &name, &main))
}

/// Who wrote, for agents: the contact's name, else their address (a web chat visitor
/// has only an opaque one: shown short).
fn display_name(v: &relais_store::ConversationView) -> String {
    v.contact
        .name
        .clone()
        .unwrap_or_else(|| match v.address.strip_prefix("v-") {
            Some(id) => format!("Visitor {}", &id[..id.len().min(6)]),
            None => v.address.clone(),
        })
}

/// "3 min", "2 h", "4 d".
fn since(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_site_are_places_to_come_back_to() {
        assert_eq!(
            safe_next(Some("/inbox?view=pending")),
            "/inbox?view=pending"
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "inbox",
        ] {
            assert_eq!(safe_next(Some(bad)), "/inbox", "{bad}");
        }
        assert_eq!(safe_next(None), "/inbox");
    }

    #[test]
    fn waiting_times_read_short() {
        assert_eq!(since(42_000), "42 s");
        assert_eq!(since(3 * 60_000), "3 min");
        assert_eq!(since(2 * 3_600_000), "2 h");
        assert_eq!(since(4 * 86_400_000), "4 d");
    }
}
