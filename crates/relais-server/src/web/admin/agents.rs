//! Agents: invite (a first password shown once), role, teams, deactivate.

use super::*;

pub(super) async fn agents(
    State(s): State<AppState>,
    who: Signed,
    Query(f): Query<Flash>,
) -> Response {
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
        Err(e) => return crate::web::failed(e),
    };
    let csrf = who.csrf();
    let rows: String = list
        .iter()
        .map(|a| agent_row(l, &who, &csrf, a, &teams))
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
            boxes = team_boxes(&teams, &|_| false),
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

/// A checkbox per team, ticked for those `member_of` says.
fn team_boxes(teams: &[relais_store::TeamInfo], member_of: &dyn Fn(&str) -> bool) -> String {
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
}

/// One agent of the table; for admins (on others than themselves) the form that
/// changes the role and teams and (de)activates.
fn agent_row(
    l: Lang,
    who: &Signed,
    csrf: &str,
    a: &relais_store::Agent,
    teams: &[relais_store::TeamInfo],
) -> String {
    let mine: Vec<&str> = teams
        .iter()
        .filter(|t| t.members.contains(&a.id))
        .map(|t| t.team.id.as_str())
        .collect();
    let actions = if writes(who) && a.id != who.agent.id {
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
                    format!(
                        "<option value=\"{}\"{sel}>{}</option>",
                        r.as_str(),
                        role_name(l, *r)
                    )
                })
                .collect::<String>(),
            change_role = l.t("Change role"),
            teams_l = l.t("Teams"),
            boxes = team_boxes(teams, &|t| mine.contains(&t)),
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
        cls = if a.disabled {
            " class=\"disabled\""
        } else {
            ""
        },
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
}
/// A first password for an invited agent: 20 random letters and digits (~119 bits).
fn first_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    (0..20)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}
pub(super) async fn invite(State(s): State<AppState>, who: Signed, body: Bytes) -> Response {
    let f = match admin_form(&who, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
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
        Err(e) => return crate::web::failed(e),
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
pub(super) async fn change_agent(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let f = match admin_form(&who, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
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
