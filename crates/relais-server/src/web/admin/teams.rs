//! Teams: members, strategy, capacity, the hours the runtime uses; admins create and change them.

use super::*;

pub(super) async fn teams(
    State(s): State<AppState>,
    who: Signed,
    Query(f): Query<Flash>,
) -> Response {
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
        Err(e) => return crate::web::failed(e),
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
        "<h1>{}</h1>{}<p class=\"hint\">{}</p>{rows}{new}",
        l.t("Teams"),
        flash(f.error.as_deref(), f.done.as_deref()),
        l.t("A team of teams.yaml gets the file's values back when the workspace reloads: export the workspace (relais admin export-workspace) to keep what you change here. Hours and holidays are set in teams.yaml or through the API.")
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
pub(super) async fn save_team(State(s): State<AppState>, who: Signed, body: Bytes) -> Response {
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
        Err(e) => return crate::web::failed(e),
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
