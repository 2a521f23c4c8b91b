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
    let csrf = who.csrf();
    let rows: String = list
        .iter()
        .map(|t| team_section(l, &who, &csrf, t, loaded.as_deref(), &agents))
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
            opts = strategies(l, "round_robin"),
            create = l.t("Create"),
        )
    } else {
        String::new()
    };
    let main = format!(
        "<h1>{}</h1>{}<p class=\"hint\">{}</p>{rows}{new}",
        l.t("Teams"),
        flash(f.error.as_deref(), f.done.as_deref()),
        l.t("A team of teams.yaml gets the file's values back when the workspace reloads: export the workspace (relais admin export-workspace) to keep what you change here. Business hours: a time zone, then days and times, separated by ·; empty is always open.")
    );
    section(&who, "Teams", l.t("Teams"), main)
}

/// The assignment strategies as a list's options, `chosen` selected.
fn strategies(l: Lang, chosen: &str) -> String {
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
}

/// The hours the runtime uses, as the page writes them, and the holidays: the loaded
/// workspace's (teams.yaml, or the API's, which the store also keeps).
fn team_hours(
    t: &relais_store::TeamInfo,
    loaded: Option<&relais_flow::handler::Loaded>,
) -> (String, String) {
    let effective = loaded
        .and_then(|ws| ws.ws.team(&t.team.id))
        .and_then(|team| team.hours.written());
    match (&effective, &t.team.hours) {
        (Some((h, d)), _) => (hours_text(h), d.join(", ")),
        (None, Some(h)) => (
            h.as_object().map(hours_text).unwrap_or_default(),
            t.team.holidays.join(", "),
        ),
        (None, None) => (String::new(), String::new()),
    }
}

/// One team's panel: its members, strategy, capacity and hours, and for admins the
/// form that changes them.
fn team_section(
    l: Lang,
    who: &Signed,
    csrf: &str,
    t: &relais_store::TeamInfo,
    loaded: Option<&relais_flow::handler::Loaded>,
    agents: &[relais_store::Agent],
) -> String {
    let name_of = |id: AgentId| {
        agents
            .iter()
            .find(|a| a.id == id)
            .map_or_else(|| format!("#{}", id.0), |a| a.name.clone())
    };
    let members: Vec<String> = t.members.iter().map(|a| name_of(*a)).collect();
    let (hours, holidays) = team_hours(t, loaded);
    let edit = if writes(who) {
        team_form(l, csrf, t, &hours, &holidays)
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
        hours = if hours.is_empty() {
            escape(l.t("always open"))
        } else {
            escape(&hours)
        },
        holidays = if holidays.is_empty() {
            "—".to_owned()
        } else {
            escape(&holidays)
        },
    )
}

/// The form that changes a team (admins).
fn team_form(
    l: Lang,
    csrf: &str,
    t: &relais_store::TeamInfo,
    hours: &str,
    holidays: &str,
) -> String {
    format!(
        "<form method=\"post\" action=\"/teams\" class=\"inline\">\
         <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"id\" value=\"{id}\">\
         <label>{name_l} <input name=\"name\" value=\"{name}\" required maxlength=\"100\"></label>\
         <label>{strategy_l} <select name=\"assignment\">{opts}</select></label>\
         <label>{capacity_l} <input name=\"capacity\" type=\"number\" min=\"1\" max=\"1000\" value=\"{capacity}\"></label>\
         <label class=\"grow\">{hours_l} <input name=\"hours\" value=\"{hours}\" maxlength=\"400\" \
         placeholder=\"Europe/Paris · mon-fri 09:00-18:00 · sat 10:00-13:00\"></label>\
         <label class=\"grow\">{holidays_l} <input name=\"holidays\" value=\"{holidays}\" maxlength=\"2000\" \
         placeholder=\"2026-12-25, 2027-01-01\"></label>\
         <button type=\"submit\" class=\"second\">{save}</button></form>",
        hours_l = l.t("Business hours"),
        holidays_l = l.t("Holidays"),
        hours = escape(hours),
        holidays = escape(holidays),
        id = escape(&t.team.id),
        name = escape(&t.team.name),
        name_l = l.t("Name"),
        strategy_l = l.t("Assignment"),
        capacity_l = l.t("Capacity"),
        capacity = t.team.capacity,
        opts = strategies(l, &t.team.assignment),
        save = l.t("Save"),
    )
}
/// `Europe/Paris · mon 09:00-18:00 · sat 10:00-13:00`.
fn hours_text(h: &serde_json::Map<String, serde_json::Value>) -> String {
    let tz = h.get("tz").and_then(|v| v.as_str()).unwrap_or("UTC");
    const WEEK: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut days: Vec<(&String, &serde_json::Value)> =
        h.iter().filter(|(k, _)| *k != "tz").collect();
    // Monday first (a key like `mon-fri` by its first day).
    days.sort_by_key(|(k, _)| WEEK.iter().position(|d| k.starts_with(d)).unwrap_or(7));
    // Consecutive single days with the same hours read as a range (`mon-fri`), as a
    // person writes them; anything else stays as written.
    let mut runs: Vec<(String, String, String)> = Vec::new(); // (first, last, hours)
    for (k, v) in &days {
        let v = v.as_str().unwrap_or_default().to_owned();
        let day = WEEK.iter().position(|d| d == k);
        if let (Some(i), Some((_, last, hours))) = (day, runs.last_mut())
            && *hours == v
            && i > 0
            && *last == WEEK[i - 1]
        {
            *last = WEEK[i].to_owned();
            continue;
        }
        runs.push(((*k).clone(), (*k).clone(), v));
    }
    let days: Vec<String> = runs
        .into_iter()
        .map(|(first, last, v)| {
            if first == last {
                format!("{first} {v}")
            } else {
                format!("{first}-{last} {v}")
            }
        })
        .collect();
    std::iter::once(tz.to_owned())
        .chain(days)
        .collect::<Vec<_>>()
        .join(" · ")
}
/// The hours field back into teams.yaml's map: `TZ · days HH:MM-HH:MM · …` (`;` or a
/// new line also separate); empty is always open. The team's own check reads the rest.
fn hours_from_text(text: &str) -> Result<Option<serde_json::Value>, String> {
    let parts: Vec<&str> = text
        .split(['·', ';', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let Some((tz, days)) = parts.split_first() else {
        return Ok(None);
    };
    if tz.contains(char::is_whitespace) {
        return Err(format!(
            "start with a time zone such as Europe/Paris, not {tz:?}"
        ));
    }
    let mut map = serde_json::Map::new();
    map.insert("tz".into(), json!(tz));
    for d in days {
        let Some((k, v)) = d.split_once(char::is_whitespace) else {
            return Err(format!(
                "{d:?} needs days and times, like mon-fri 09:00-18:00"
            ));
        };
        map.insert(k.trim().to_owned(), json!(v.trim()));
    }
    Ok(Some(serde_json::Value::Object(map)))
}

fn strategy_name(l: Lang, s: &str) -> &'static str {
    match s {
        "least_busy" => l.t("least busy"),
        "manual" => l.t("manual"),
        _ => l.t("round robin"),
    }
}
pub(super) async fn save_team(State(s): State<AppState>, who: Signed, body: Bytes) -> Response {
    let f = match admin_form(&who, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let l = lang(&who);
    let id = f.get("id").unwrap_or_default().trim().to_owned();
    // Hours and holidays: the form's when it has the fields (editing), else kept.
    let existing = match s.rt.store.teams().await {
        Ok(t) => t.into_iter().find(|t| t.team.id == id),
        Err(e) => return crate::web::failed(e),
    };
    let (hours, holidays) = match f.get("hours") {
        Some(text) => match hours_from_text(text) {
            Ok(h) => (
                h,
                f.get("holidays")
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            Err(e) => {
                return back(
                    "/teams",
                    Some(&format!("{}: {e}", l.t("Business hours"))),
                    None,
                );
            }
        },
        None => (
            existing.as_ref().and_then(|t| t.team.hours.clone()),
            existing
                .as_ref()
                .map(|t| t.team.holidays.clone())
                .unwrap_or_default(),
        ),
    };
    let Ok(capacity) = f.get("capacity").unwrap_or("5").trim().parse::<i64>() else {
        return back("/teams", Some(l.t("Capacity is a whole number.")), None);
    };
    let request = crate::http::teams::TeamRequest {
        id: id.clone(),
        name: f.get("name").unwrap_or_default().trim().to_owned(),
        assignment: f.get("assignment").unwrap_or_default().to_owned(),
        capacity: Some(capacity),
        hours,
        holidays,
    };
    match crate::http::teams::save_team(&s, request).await {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hours_field_reads_back_what_the_page_shows() {
        let h = hours_from_text("Europe/Paris · mon-fri 09:00-18:00 · sat 10:00-13:00")
            .unwrap()
            .unwrap();
        assert_eq!(
            h,
            json!({ "tz": "Europe/Paris", "mon-fri": "09:00-18:00", "sat": "10:00-13:00" })
        );
        assert_eq!(
            hours_text(h.as_object().unwrap()),
            "Europe/Paris · mon-fri 09:00-18:00 · sat 10:00-13:00"
        );
        assert_eq!(hours_from_text("  ").unwrap(), None);
        // Day by day (as the loaded hours are written) reads as ranges again.
        let days = json!({ "tz": "UTC", "mon": "09:00-18:00", "tue": "09:00-18:00",
            "wed": "09:00-18:00", "thu": "09:00-12:00", "fri": "09:00-18:00", "sun": "10:00-12:00" });
        assert_eq!(
            hours_text(days.as_object().unwrap()),
            "UTC · mon-wed 09:00-18:00 · thu 09:00-12:00 · fri 09:00-18:00 · sun 10:00-12:00"
        );
        assert!(hours_from_text("mon-fri 09:00-18:00").is_err());
        assert!(hours_from_text("UTC · monday").is_err());
    }
}
