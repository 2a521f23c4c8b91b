//! The configuration pages (SPEC §9): channels (the webhook address to paste into
//! each provider, which secrets are set — never their values), teams, agents, canned
//! responses, templates and settings. Supervisors read them; only admins change
//! them, through the same checks as the JSON API, each change recorded as an admin
//! event. `relais admin export-workspace` writes the result back to files.

use super::i18n::Lang;
use super::layout::{Form, Refused, enc, flash, frame, lang, not_found, page, reads_config};
use super::session::Signed;
use crate::html::escape;
use crate::http::AppState;
use crate::http::error::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use relais_core::access;
use relais_core::id::AgentId;
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/channels", get(channels))
        .route("/teams", get(teams).post(save_team))
        .route("/agents", get(agents).post(invite))
        .route("/agents/{id}", post(change_agent))
        .route("/canned", get(canned).post(save_canned))
        .route("/canned/{id}/delete", post(delete_canned))
        .route("/templates", get(templates))
        .route("/settings", get(settings))
}

#[derive(Deserialize, Default)]
pub struct Flash {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

/// Whether the agent may change the configuration (admins).
fn writes(who: &Signed) -> bool {
    access::may_configure(who.agent.role)
}

/// Refuses a change by a non-admin (the page hid the form; the post says no).
fn admin_only(who: &Signed) -> Result<(), Refused> {
    if writes(who) {
        Ok(())
    } else {
        Err(Refused("only admins change the configuration"))
    }
}

/// Back to a page with a line of feedback.
fn back(path: &str, error: Option<&str>, done: Option<&str>) -> Response {
    let q = match (error, done) {
        (Some(e), _) => format!("?error={}", enc(e)),
        (None, Some(d)) => format!("?done={}", enc(d)),
        _ => String::new(),
    };
    Redirect::to(&format!("{path}{q}")).into_response()
}

/// What an API check refused, as the page says it.
fn said(e: ApiError) -> String {
    match e {
        ApiError::BadRequest {
            field: Some(f),
            message,
        } => format!("{f}: {message}"),
        other => other.to_string(),
    }
}

/// Records an admin's change, as the API does.
async fn audit(s: &AppState, who: &Signed, data: serde_json::Value) -> Result<(), Response> {
    s.rt.store
        .record_event(relais_core::event::Event::new(
            relais_core::event::EventKind::AdminAction,
            relais_core::event::Actor::Agent(who.agent.id),
            s.rt.clock.now(),
            data,
        ))
        .await
        .map_err(super::failed)
}

fn section(who: &Signed, active: &str, title: &str, main: String) -> Response {
    page(StatusCode::OK, frame(who, active, title, &main))
}

fn yes_no(l: Lang, b: bool) -> &'static str {
    if b { l.t("yes") } else { l.t("no") }
}

async fn channels(State(s): State<AppState>, who: Signed, Query(f): Query<Flash>) -> Response {
    if !reads_config(&who) {
        return not_found(&who, "Inbox");
    }
    let l = lang(&who);
    let list = match s.rt.store.channels().await {
        Ok(c) => c,
        Err(e) => return super::failed(e),
    };
    let base = s.rt.settings.public_url.clone();
    let rows: String = list
        .iter()
        .map(|c| {
            let path = match c.kind.as_str() {
                "rest" => format!("/api/v1/channels/{}/converse", c.id),
                "webchat" => format!("/webchat/{}", c.id),
                "email" => format!("/webhooks/email/{}", c.id),
                kind => format!("/webhooks/{kind}/{}", c.id),
            };
            let address = match &base {
                Some(b) => format!("<code>{}</code>", escape(&format!("{b}{path}"))),
                None => format!(
                    "<code>{}</code> <span class=\"hint\">{}</span>",
                    escape(&path),
                    l.t("set [server] public_url to get the full address")
                ),
            };
            let embed = if c.kind == "webchat" {
                let src = format!("{}/webchat/{}/widget.js", base.as_deref().unwrap_or(""), c.id);
                format!(
                    "<br><span class=\"hint\">{}</span> <code>{}</code>",
                    l.t("On your site:"),
                    escape(&format!("<script src=\"{src}\" async></script>"))
                )
            } else {
                String::new()
            };
            let live = s.rt.live_channel(&c.id);
            let secrets: String = c
                .secret_names
                .as_object()
                .map(|m| {
                    m.keys()
                        .map(|role| {
                            let set = live.as_ref().is_some_and(|lc| lc.secret(role).is_some());
                            format!(
                                "<li>{} <span class=\"{}\">{}</span></li>",
                                escape(role),
                                if set { "ok" } else { "missing" },
                                if set { l.t("set") } else { l.t("not set") }
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let secrets = if secrets.is_empty() {
                "—".to_owned()
            } else {
                format!("<ul class=\"plain\">{secrets}</ul>")
            };
            format!(
                "<tr><th scope=\"row\">{id}<br><span class=\"hint\">{kind}</span></th>\
                 <td>{address}{embed}</td><td>{secrets}</td><td>{enabled}</td><td>{file}</td><td>{fallback}</td></tr>",
                id = escape(c.id.as_str()),
                kind = escape(&c.kind),
                enabled = yes_no(l, c.enabled),
                file = if c.from_file { "channels.yaml" } else { "API" },
                fallback = escape(c.fallback.as_ref().map_or("—", |f| f.as_str())),
            )
        })
        .collect();
    let main = format!(
        "<h1>{title}</h1>{flash}<div class=\"scroll\"><table><thead><tr><th scope=\"col\">{channel}</th>\
         <th scope=\"col\">{address}</th><th scope=\"col\">{secrets}</th><th scope=\"col\">{enabled}</th>\
         <th scope=\"col\">{from}</th><th scope=\"col\">{fallback}</th></tr></thead><tbody>{rows}</tbody></table></div>\
         <p class=\"hint\">{how}</p>",
        title = l.t("Channels"),
        flash = flash(f.error.as_deref(), f.done.as_deref()),
        channel = l.t("Channel"),
        address = l.t("Address to give the provider"),
        secrets = l.t("Secrets"),
        enabled = l.t("Enabled"),
        from = l.t("Defined in"),
        fallback = l.t("Fallback"),
        how = l.t("Channels are defined in channels.yaml, their secrets in relais.toml [secrets]; a secret's value is never shown."),
    );
    section(&who, "Channels", l.t("Channels"), main)
}

async fn teams(State(s): State<AppState>, who: Signed, Query(f): Query<Flash>) -> Response {
    if !reads_config(&who) {
        return not_found(&who, "Inbox");
    }
    let l = lang(&who);
    let (list, agents) = match async {
        Ok::<_, relais_store::Error>((s.rt.store.teams().await?, s.rt.store.agents().await?))
    }
    .await
    {
        Ok(x) => x,
        Err(e) => return super::failed(e),
    };
    let loaded = s.rt.flows.as_ref().map(|f| f.loaded());
    let name_of = |id: AgentId| {
        agents
            .iter()
            .find(|a| a.id == id)
            .map_or_else(|| format!("#{}", id.0), |a| a.name.clone())
    };
    let csrf = who.csrf();
    let strategies = |chosen: &str| -> String {
        ["round_robin", "least_busy", "manual"]
            .iter()
            .map(|st| {
                let sel = if *st == chosen { " selected" } else { "" };
                format!(
                    "<option value=\"{st}\"{sel}>{}</option>",
                    strategy_name(l, st)
                )
            })
            .collect()
    };
    let rows: String = list
        .iter()
        .map(|t| {
            let members: Vec<String> = t.members.iter().map(|a| name_of(*a)).collect();
            // The hours the runtime uses: the loaded workspace's (teams.yaml, or the
            // API's, which the store also keeps).
            let effective = loaded
                .as_ref()
                .and_then(|ws| ws.ws.team(&t.team.id))
                .and_then(|team| team.hours.written());
            let (hours, holidays) = match (&effective, &t.team.hours) {
                (Some((h, d)), _) => (hours_text(h), d.join(", ")),
                (None, Some(h)) => (
                    h.as_object().map(hours_text).unwrap_or_default(),
                    t.team.holidays.join(", "),
                ),
                (None, None) => (l.t("always open").to_owned(), String::new()),
            };
            let edit = if writes(&who) {
                format!(
                    "<form method=\"post\" action=\"/teams\" class=\"inline\">\
                     <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
                     <input type=\"hidden\" name=\"id\" value=\"{id}\">\
                     <label>{name_l} <input name=\"name\" value=\"{name}\" required maxlength=\"100\"></label>\
                     <label>{strategy_l} <select name=\"assignment\">{opts}</select></label>\
                     <label>{capacity_l} <input name=\"capacity\" type=\"number\" min=\"1\" max=\"1000\" value=\"{capacity}\"></label>\
                     <button type=\"submit\" class=\"second\">{save}</button></form>",
                    id = escape(&t.team.id),
                    name = escape(&t.team.name),
                    name_l = l.t("Name"),
                    strategy_l = l.t("Assignment"),
                    capacity_l = l.t("Capacity"),
                    capacity = t.team.capacity,
                    opts = strategies(&t.team.assignment),
                    save = l.t("Save"),
                )
            } else {
                String::new()
            };
            format!(
                "<section class=\"panel\"><h2>{name} <span class=\"hint\">{id}</span></h2>\
                 <dl><dt>{members_l}</dt><dd>{members}</dd><dt>{strategy_l}</dt><dd>{strategy}</dd>\
                 <dt>{capacity_l}</dt><dd>{capacity}</dd><dt>{hours_l}</dt><dd>{hours}</dd>\
                 <dt>{holidays_l}</dt><dd>{holidays}</dd></dl>{edit}</section>",
                name = escape(&t.team.name),
                id = escape(&t.team.id),
                members_l = l.t("Members"),
                members = if members.is_empty() {
                    "—".to_owned()
                } else {
                    escape(&members.join(", "))
                },
                strategy_l = l.t("Assignment"),
                strategy = strategy_name(l, &t.team.assignment),
                capacity_l = l.t("Capacity"),
                capacity = t.team.capacity,
                hours_l = l.t("Business hours"),
                holidays_l = l.t("Holidays"),
                hours = escape(&hours),
                holidays = if holidays.is_empty() {
                    "—".to_owned()
                } else {
                    escape(&holidays)
                },
            )
        })
        .collect();
    let new = if writes(&who) {
        format!(
            "<section class=\"panel\"><h2>{new_l}</h2><form method=\"post\" action=\"/teams\" class=\"inline\">\
             <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
             <label>{id_l} <input name=\"id\" required maxlength=\"64\" pattern=\"[a-z0-9_\\-]+\"></label>\
             <label>{name_l} <input name=\"name\" required maxlength=\"100\"></label>\
             <label>{strategy_l} <select name=\"assignment\">{opts}</select></label>\
             <label>{capacity_l} <input name=\"capacity\" type=\"number\" min=\"1\" max=\"1000\" value=\"5\"></label>\
             <button type=\"submit\">{create}</button></form></section>",
            new_l = l.t("New team"),
            id_l = l.t("Id"),
            name_l = l.t("Name"),
            strategy_l = l.t("Assignment"),
            capacity_l = l.t("Capacity"),
            opts = strategies("round_robin"),
            create = l.t("Create"),
        )
    } else {
        String::new()
    };
    let main = format!(
        "<h1>{}</h1>{}{rows}{new}",
        l.t("Teams"),
        flash(f.error.as_deref(), f.done.as_deref())
    );
    section(&who, "Teams", l.t("Teams"), main)
}

/// `Europe/Paris · mon 09:00-18:00 · sat 10:00-13:00`.
fn hours_text(h: &serde_json::Map<String, serde_json::Value>) -> String {
    let tz = h.get("tz").and_then(|v| v.as_str()).unwrap_or("UTC");
    const WEEK: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut days: Vec<(&String, &serde_json::Value)> =
        h.iter().filter(|(k, _)| *k != "tz").collect();
    // Monday first (a key like `mon-fri` by its first day).
    days.sort_by_key(|(k, _)| WEEK.iter().position(|d| k.starts_with(d)).unwrap_or(7));
    let days: Vec<String> = days
        .iter()
        .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or_default()))
        .collect();
    std::iter::once(tz.to_owned())
        .chain(days)
        .collect::<Vec<_>>()
        .join(" · ")
}

fn strategy_name(l: Lang, s: &str) -> &'static str {
    match s {
        "least_busy" => l.t("least busy"),
        "manual" => l.t("manual"),
        _ => l.t("round robin"),
    }
}

async fn save_team(State(s): State<AppState>, who: Signed, body: Bytes) -> Response {
    let f = match Form::checked(&who, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    if let Err(r) = admin_only(&who) {
        return r.into_response();
    }
    let l = lang(&who);
    let id = f.get("id").unwrap_or_default().trim().to_owned();
    // Hours and holidays are kept as they are (teams.yaml or the API set them).
    let existing = match s.rt.store.teams().await {
        Ok(t) => t.into_iter().find(|t| t.team.id == id),
        Err(e) => return super::failed(e),
    };
    let Ok(capacity) = f.get("capacity").unwrap_or("5").trim().parse::<i64>() else {
        return back("/teams", Some(l.t("Capacity is a whole number.")), None);
    };
    let request = crate::http::desk::TeamRequest {
        id: id.clone(),
        name: f.get("name").unwrap_or_default().trim().to_owned(),
        assignment: f.get("assignment").unwrap_or_default().to_owned(),
        capacity: Some(capacity),
        hours: existing.as_ref().and_then(|t| t.team.hours.clone()),
        holidays: existing.map(|t| t.team.holidays).unwrap_or_default(),
    };
    match crate::http::desk::save_team(&s, request).await {
        Ok(team) => {
            if let Err(r) =
                audit(&s, &who, json!({ "action": "team_saved", "team": team.id })).await
            {
                return r;
            }
            back("/teams", None, Some(l.t("Saved.")))
        }
        Err(e) => back("/teams", Some(&said(e)), None),
    }
}

async fn agents(State(s): State<AppState>, who: Signed, Query(f): Query<Flash>) -> Response {
    if !reads_config(&who) {
        return not_found(&who, "Inbox");
    }
    let l = lang(&who);
    let loaded = async {
        let agents = s.rt.store.agents().await?;
        let teams = s.rt.store.teams().await?;
        Ok::<_, relais_store::Error>((agents, teams))
    }
    .await;
    let (list, teams) = match loaded {
        Ok(x) => x,
        Err(e) => return super::failed(e),
    };
    let csrf = who.csrf();
    let team_boxes = |member_of: &dyn Fn(&str) -> bool| -> String {
        teams
            .iter()
            .map(|t| {
                let checked = if member_of(&t.team.id) { " checked" } else { "" };
                format!(
                    "<label class=\"check\"><input type=\"checkbox\" name=\"team\" value=\"{}\"{checked}> {}</label>",
                    escape(&t.team.id),
                    escape(&t.team.name)
                )
            })
            .collect()
    };
    let rows: String = list
        .iter()
        .map(|a| {
            let mine: Vec<&str> = teams
                .iter()
                .filter(|t| t.members.contains(&a.id))
                .map(|t| t.team.id.as_str())
                .collect();
            let actions = if writes(&who) && a.id != who.agent.id {
                let toggle = if a.disabled {
                    ("activate", l.t("Reactivate"))
                } else {
                    ("deactivate", l.t("Deactivate"))
                };
                format!(
                    "<form method=\"post\" action=\"/agents/{id}\" class=\"inline\">\
                     <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
                     <label>{role_l} <select name=\"role\">{roles}</select></label>\
                     <button type=\"submit\" name=\"action\" value=\"role\" class=\"second\">{change_role}</button>\
                     <fieldset><legend class=\"sr\">{teams_l}</legend>{boxes}</fieldset>\
                     <button type=\"submit\" name=\"action\" value=\"teams\" class=\"second\">{save}</button>\
                     <button type=\"submit\" name=\"action\" value=\"{t0}\" class=\"second danger\">{t1}</button></form>",
                    id = a.id.0,
                    role_l = l.t("Role"),
                    roles = relais_core::agent::Role::ALL
                        .iter()
                        .map(|r| {
                            let sel = if *r == a.role { " selected" } else { "" };
                            format!("<option value=\"{}\"{sel}>{}</option>", r.as_str(), role_name(l, *r))
                        })
                        .collect::<String>(),
                    change_role = l.t("Change role"),
                    teams_l = l.t("Teams"),
                    boxes = team_boxes(&|t| mine.contains(&t)),
                    save = l.t("Save teams"),
                    t0 = toggle.0,
                    t1 = toggle.1,
                )
            } else {
                escape(&mine.join(", "))
            };
            format!(
                "<tr{cls}><th scope=\"row\">{name}<br><span class=\"hint\">{email}</span></th><td>{role}</td>\
                 <td>{presence}</td><td>{active}</td><td>{actions}</td></tr>",
                cls = if a.disabled { " class=\"disabled\"" } else { "" },
                name = escape(&a.name),
                email = escape(&a.email),
                role = role_name(l, a.role),
                presence = match a.presence {
                    relais_core::agent::Presence::Online => l.t("Online"),
                    relais_core::agent::Presence::Away => l.t("Away"),
                    relais_core::agent::Presence::Offline => l.t("Offline"),
                },
                active = yes_no(l, !a.disabled),
            )
        })
        .collect();
    let invite = if writes(&who) {
        format!(
            "<section class=\"panel\"><h2>{title}</h2><form method=\"post\" action=\"/agents\" class=\"inline\">\
             <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
             <label>{email_l} <input name=\"email\" type=\"email\" required maxlength=\"254\"></label>\
             <label>{name_l} <input name=\"name\" required maxlength=\"100\"></label>\
             <label>{role_l} <select name=\"role\"><option value=\"agent\">{agent}</option>\
             <option value=\"supervisor\">{supervisor}</option><option value=\"admin\">{admin}</option></select></label>\
             <fieldset><legend>{teams_l}</legend>{boxes}</fieldset>\
             <button type=\"submit\">{invite}</button></form>\
             <p class=\"hint\">{how}</p></section>",
            title = l.t("Invite an agent"),
            email_l = l.t("Email"),
            name_l = l.t("Name"),
            role_l = l.t("Role"),
            agent = role_name(l, relais_core::agent::Role::Agent),
            supervisor = role_name(l, relais_core::agent::Role::Supervisor),
            admin = role_name(l, relais_core::agent::Role::Admin),
            teams_l = l.t("Teams"),
            boxes = team_boxes(&|_| false),
            invite = l.t("Invite"),
            how = l.t("A first password is made and shown once here: give it to the agent, who logs in with it."),
        )
    } else {
        String::new()
    };
    let main = format!(
        "<h1>{title}</h1>{flash}<div class=\"scroll\"><table><thead><tr><th scope=\"col\">{agent}</th>\
         <th scope=\"col\">{role}</th><th scope=\"col\">{presence}</th><th scope=\"col\">{active}</th>\
         <th scope=\"col\">{teams}</th></tr></thead><tbody>{rows}</tbody></table></div>{invite}",
        title = l.t("Agents"),
        flash = flash(f.error.as_deref(), f.done.as_deref()),
        agent = l.t("Agent"),
        role = l.t("Role"),
        presence = l.t("Presence"),
        active = l.t("Active"),
        teams = l.t("Teams"),
    );
    section(&who, "Agents", l.t("Agents"), main)
}

fn role_name(l: Lang, r: relais_core::agent::Role) -> &'static str {
    match r {
        relais_core::agent::Role::Agent => l.t("agent"),
        relais_core::agent::Role::Supervisor => l.t("supervisor"),
        relais_core::agent::Role::Admin => l.t("admin"),
    }
}

/// A first password for an invited agent: 20 random letters and digits (~119 bits).
fn first_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    (0..20)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

async fn invite(State(s): State<AppState>, who: Signed, body: Bytes) -> Response {
    let f = match Form::checked(&who, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    if let Err(r) = admin_only(&who) {
        return r.into_response();
    }
    let l = lang(&who);
    let email = f.get("email").unwrap_or_default().trim().to_lowercase();
    let name = f.get("name").unwrap_or_default().trim().to_owned();
    let password = first_password();
    let role = match crate::http::api::check_agent(
        &email,
        &name,
        f.get("role").unwrap_or_default(),
        &password,
    ) {
        Ok(r) => r,
        Err(e) => return back("/agents", Some(&said(e)), None),
    };
    let hash = match s.passwords.hash(password.clone()).await {
        Ok(h) => h,
        Err(e) => return back("/agents", Some(&e.to_string()), None),
    };
    let created =
        s.rt.store
            .create_agent(relais_store::NewAgent {
                email: email.clone(),
                name,
                role,
                password_hash: Some(hash),
                capacity: 5,
                created_at: s.rt.clock.now(),
            })
            .await;
    let agent = match created {
        Ok(a) => a,
        Err(relais_store::Error::AlreadyExists(_)) => {
            return back(
                "/agents",
                Some(l.t("An agent with this email already exists.")),
                None,
            );
        }
        Err(e) => return super::failed(e),
    };
    let teams: Vec<String> = f.all("team").into_iter().map(str::to_owned).collect();
    if !teams.is_empty()
        && let Err(e) = s.rt.store.set_agent_teams(agent.id, teams.clone()).await
    {
        return back("/agents", Some(&said(e.into())), None);
    }
    if let Err(r) = audit(
        &s,
        &who,
        json!({ "action": "agent_created", "agent": agent.id, "role": role, "teams": teams }),
    )
    .await
    {
        return r;
    }
    // Shown once, on this answer only (never stored, never in a URL).
    let main = format!(
        "<h1>{title}</h1><section class=\"panel\"><p>{said}</p>\
         <p><strong>{email}</strong></p><p class=\"secret\"><code id=\"first-password\">{password}</code></p>\
         <p class=\"hint\">{once}</p><p><a href=\"/agents\">{back}</a></p></section>",
        title = l.t("Agent invited"),
        said = l.t("Give the agent this email and first password:"),
        email = escape(&email),
        once = l.t("It is shown only now."),
        back = l.t("Back to the agents"),
    );
    page(
        StatusCode::CREATED,
        frame(&who, "Agents", l.t("Agent invited"), &main),
    )
}

async fn change_agent(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let f = match Form::checked(&who, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    if let Err(r) = admin_only(&who) {
        return r.into_response();
    }
    let l = lang(&who);
    let agent = AgentId(id);
    let done = match f.get("action") {
        Some("teams") => {
            let teams: Vec<String> = f.all("team").into_iter().map(str::to_owned).collect();
            match s.rt.store.set_agent_teams(agent, teams.clone()).await {
                Ok(()) => Ok(json!({ "action": "agent_teams", "agent": id, "teams": teams })),
                Err(e) => Err(said(e.into())),
            }
        }
        Some("role") if agent != who.agent.id => {
            match f.get("role").and_then(relais_core::agent::Role::parse) {
                None => Err(l.t("Unknown action.").to_owned()),
                Some(role) => match s.rt.store.set_agent_role(agent, role).await {
                    Ok(()) => Ok(json!({ "action": "agent_role", "agent": id, "role": role })),
                    Err(e) => Err(said(e.into())),
                },
            }
        }
        Some("deactivate") if agent != who.agent.id => {
            match s.rt.deactivate_agent(agent, who.agent.id).await {
                // The store records this admin action itself.
                Ok(_) => Ok(serde_json::Value::Null),
                Err(e) => Err(said(e.into())),
            }
        }
        Some("activate") => {
            match s
                .rt
                .store
                .activate_agent(agent, who.agent.id, s.rt.clock.now())
                .await
            {
                Ok(()) => Ok(serde_json::Value::Null),
                Err(e) => Err(said(e.into())),
            }
        }
        _ => Err(l.t("Unknown action.").to_owned()),
    };
    match done {
        Ok(event) => {
            if !event.is_null()
                && let Err(r) = audit(&s, &who, event).await
            {
                return r;
            }
            back("/agents", None, Some(l.t("Saved.")))
        }
        Err(e) => back("/agents", Some(&e), None),
    }
}

async fn canned(State(s): State<AppState>, who: Signed, Query(f): Query<Flash>) -> Response {
    if !reads_config(&who) {
        return not_found(&who, "Inbox");
    }
    let l = lang(&who);
    let list = match s.rt.store.canned().await {
        Ok(c) => c,
        Err(e) => return super::failed(e),
    };
    let csrf = who.csrf();
    let fields = |c: Option<&relais_store::Canned>| {
        format!(
            "<label>{shortcut_l} <input name=\"shortcut\" required maxlength=\"40\" value=\"{shortcut}\"></label>\
             <label>{title_l} <input name=\"title\" required maxlength=\"200\" value=\"{title}\"></label>\
             <label>{language_l} <input name=\"language\" maxlength=\"5\" size=\"4\" value=\"{language}\" placeholder=\"{any}\"></label>\
             <label class=\"grow\">{body_l} <textarea name=\"body\" required rows=\"2\" maxlength=\"4096\">{body}</textarea></label>",
            shortcut_l = l.t("Shortcut"),
            title_l = l.t("Title"),
            language_l = l.t("Language"),
            body_l = l.t("Text"),
            any = l.t("any"),
            shortcut = escape(c.map_or("", |c| c.shortcut.as_str())),
            title = escape(c.map_or("", |c| c.title.as_str())),
            language = escape(c.and_then(|c| c.language.as_deref()).unwrap_or("")),
            body = escape(c.map_or("", |c| c.body.as_str())),
        )
    };
    let rows: String = list
        .iter()
        .map(|c| {
            if writes(&who) {
                format!(
                    "<section class=\"panel\"><form method=\"post\" action=\"/canned\" class=\"inline\">\
                     <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"id\" value=\"{id}\">\
                     {fields}<button type=\"submit\" class=\"second\">{save}</button></form>\
                     <form method=\"post\" action=\"/canned/{id}/delete\" class=\"inline\">\
                     <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
                     <button type=\"submit\" class=\"second danger\">{delete} <span class=\"sr\">/{shortcut}</span></button></form></section>",
                    id = c.id,
                    fields = fields(Some(c)),
                    save = l.t("Save"),
                    delete = l.t("Delete"),
                    shortcut = escape(&c.shortcut),
                )
            } else {
                format!(
                    "<section class=\"panel\"><h2>/{} · {}</h2><p>{}</p></section>",
                    escape(&c.shortcut),
                    escape(&c.title),
                    escape(&c.body)
                )
            }
        })
        .collect();
    let new = if writes(&who) {
        format!(
            "<section class=\"panel\"><h2>{new_l}</h2><form method=\"post\" action=\"/canned\" class=\"inline\">\
             <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">{fields}<button type=\"submit\">{create}</button></form></section>",
            new_l = l.t("New canned response"),
            fields = fields(None),
            create = l.t("Create"),
        )
    } else {
        String::new()
    };
    let main = format!(
        "<h1>{title}</h1>{flash}<p class=\"hint\">{how}</p>{rows}{new}",
        title = l.t("Canned responses"),
        flash = flash(f.error.as_deref(), f.done.as_deref()),
        how = l.t("Agents insert them by typing / and the shortcut in the reply box."),
    );
    section(&who, "Canned responses", l.t("Canned responses"), main)
}

async fn save_canned(State(s): State<AppState>, who: Signed, body: Bytes) -> Response {
    let f = match Form::checked(&who, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    if let Err(r) = admin_only(&who) {
        return r.into_response();
    }
    let l = lang(&who);
    let id = match f.get("id").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => return back("/canned", Some(l.t("Unknown action.")), None),
        },
    };
    let fields = crate::http::desk::canned_fields(crate::http::desk::CannedRequest {
        shortcut: f.get("shortcut").unwrap_or_default().trim().to_owned(),
        title: f.get("title").unwrap_or_default().trim().to_owned(),
        body: f.get("body").unwrap_or_default().trim().to_owned(),
        language: f
            .get("language")
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
    });
    let canned = match fields {
        Ok(c) => c,
        Err(e) => return back("/canned", Some(&said(e)), None),
    };
    match s.rt.store.save_canned(id, canned, s.rt.clock.now()).await {
        Ok(c) => {
            if let Err(r) = audit(
                &s,
                &who,
                json!({ "action": "canned_saved", "canned": c.id, "shortcut": c.shortcut }),
            )
            .await
            {
                return r;
            }
            back("/canned", None, Some(l.t("Saved.")))
        }
        Err(e) => back("/canned", Some(&said(e.into())), None),
    }
}

async fn delete_canned(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    if let Err(r) = Form::checked(&who, &body) {
        return r.into_response();
    }
    if let Err(r) = admin_only(&who) {
        return r.into_response();
    }
    let l = lang(&who);
    match s.rt.store.delete_canned(id).await {
        Ok(true) => {
            if let Err(r) = audit(
                &s,
                &who,
                json!({ "action": "canned_deleted", "canned": id }),
            )
            .await
            {
                return r;
            }
            back("/canned", None, Some(l.t("Deleted.")))
        }
        Ok(false) => back("/canned", Some(l.t("Not found")), None),
        Err(e) => super::failed(e),
    }
}

async fn templates(State(s): State<AppState>, who: Signed) -> Response {
    if !reads_config(&who) {
        return not_found(&who, "Inbox");
    }
    let l = lang(&who);
    let rows: String = s.rt.flows.as_ref().map_or_else(String::new, |f| {
        f.loaded()
            .ws
            .templates
            .iter()
            .map(|t| {
                format!(
                    "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&t.name),
                    escape(&t.language),
                    escape(&t.category),
                    t.arity(),
                    escape(&t.body)
                )
            })
            .collect()
    });
    let body = if rows.is_empty() {
        format!(
            "<p class=\"empty\">{}</p>",
            l.t("No template is registered.")
        )
    } else {
        format!(
            "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead>\
             <tbody>{rows}</tbody></table></div>",
            l.t("Name"),
            l.t("Language"),
            l.t("Category"),
            l.t("Parameters"),
            l.t("Text"),
        )
    };
    let main = format!(
        "<h1>{}</h1><p class=\"hint\">{}</p>{body}",
        l.t("Templates"),
        l.t("Message templates approved by the provider, from templates.yaml: what agents can still send once a 24-hour window has closed."),
    );
    section(&who, "Templates", l.t("Templates"), main)
}

async fn settings(State(s): State<AppState>, who: Signed, Query(f): Query<Flash>) -> Response {
    let l = lang(&who);
    let languages: String = Lang::ALL
        .iter()
        .map(|x| {
            let sel = if *x == l { " selected" } else { "" };
            format!(
                "<option value=\"{}\" lang=\"{}\"{sel}>{}</option>",
                x.code(),
                x.code(),
                x.name()
            )
        })
        .collect();
    let mine = format!(
        "<section class=\"panel\"><h2>{you}</h2><form method=\"post\" action=\"/language\" class=\"inline\">\
         <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
         <label>{language_l} <select name=\"language\">{languages}</select></label>\
         <button type=\"submit\">{save}</button></form>\
         <p class=\"hint\">{sound}</p></section>",
        you = l.t("Your preferences"),
        csrf = who.csrf(),
        language_l = l.t("Language of the pages"),
        save = l.t("Save"),
        sound = l.t("The sound for a new assignment is switched in the header, for this browser."),
    );
    let server = if reads_config(&who) {
        let life = &s.rt.settings.lifecycle;
        let rows: Vec<(&str, String)> = vec![
            (
                l.t("Public address"),
                s.rt.settings
                    .public_url
                    .clone()
                    .unwrap_or_else(|| "—".into()),
            ),
            (
                l.t("Reminder to a silent customer after"),
                life.remind_after.to_string(),
            ),
            (l.t("Then closed after"), life.close_after.to_string()),
            (
                l.t("Solved conversations close after"),
                life.auto_close.to_string(),
            ),
            (
                l.t("Unanswered conversations go back to the queue after"),
                life.return_after
                    .map_or_else(|| "—".into(), |d| d.to_string()),
            ),
            (l.t("Satisfaction survey"), yes_no(l, life.csat).to_owned()),
        ];
        let dl: String = rows
            .iter()
            .map(|(k, v)| format!("<dt>{k}</dt><dd>{}</dd>", escape(v)))
            .collect();
        format!(
            "<section class=\"panel\"><h2>{}</h2><dl>{dl}</dl><p class=\"hint\">{}</p></section>",
            l.t("Server"),
            l.t("Set in relais.toml ([server], [inactivity], [handoff]); read here.")
        )
    } else {
        String::new()
    };
    let main = format!(
        "<h1>{}</h1>{}{mine}{server}",
        l.t("Settings"),
        flash(f.error.as_deref(), f.done.as_deref())
    );
    section(&who, "Settings", l.t("Settings"), main)
}
