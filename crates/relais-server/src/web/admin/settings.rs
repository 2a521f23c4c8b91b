//! The Settings page: each user's own preferences, and the server's settings an admin
//! changes here (`crate::tunable`: the lifecycle, the first-response target, the unit
//! costs) — each shown with where its value comes from (relais.toml or this page),
//! checked by relais.toml's own rules, kept in the database, used at once, recorded.
//! Supervisors read them.

use super::*;
use crate::tunable::{self, FIELDS, Kind, Tunable};

/// The words the page labels a setting with.
fn label(l: Lang, key: &str) -> &'static str {
    match key {
        "inactivity.remind" => l.t("Reminder to a silent customer after"),
        "inactivity.close" => l.t("Then closed after"),
        "handoff.return_after" => l.t("Unanswered conversations go back to the queue after"),
        "handoff.auto_close" => l.t("Solved conversations close after"),
        "handoff.csat" => l.t("Satisfaction survey"),
        "sla.first_response" => l.t("First response target"),
        "costs.per_conversation" => l.t("Cost of a conversation"),
        _ => l.t("Cost of an agent hour"),
    }
}

/// Where a setting's value comes from, as the page says it.
fn origin(l: Lang, t: &Tunable, key: &str) -> &'static str {
    if t.from_page(key) {
        l.t("changed here")
    } else if t.shown(key).is_empty() {
        l.t("default")
    } else {
        "relais.toml"
    }
}

fn server_settings(l: Lang, who: &Signed, t: &Tunable, public_url: Option<&str>) -> String {
    let admin = writes(who);
    let rows: String = FIELDS
        .iter()
        .map(|f| {
            let value = t.value(f.key);
            let id = f.key.replace('.', "-");
            let control = if !admin {
                format!("<span id=\"{id}\">{}</span>", escape(&value))
            } else if f.kind == Kind::Bool {
                let opt = |v: &str, words: &str| {
                    let sel = if value == v { " selected" } else { "" };
                    format!("<option value=\"{v}\"{sel}>{words}</option>")
                };
                format!(
                    "<select id=\"{id}\" name=\"{key}\">{}{}</select>",
                    opt("true", yes_no(l, true)),
                    opt("false", yes_no(l, false)),
                    key = f.key,
                )
            } else {
                let hint = match f.kind {
                    Kind::DurationOrOff => " placeholder=\"15m, off\"",
                    Kind::Duration => " placeholder=\"10m, 1h30m, 4d\"",
                    _ => " inputmode=\"decimal\"",
                };
                format!(
                    "<input id=\"{id}\" name=\"{key}\" value=\"{v}\"{hint}>",
                    key = f.key,
                    v = escape(&value),
                )
            };
            format!(
                "<div class=\"setting\"><label for=\"{id}\">{label}</label>{control}\
                 <span class=\"hint\"><code>{key}</code> · {origin}</span></div>",
                label = label(l, f.key),
                key = f.key,
                origin = origin(l, t, f.key),
            )
        })
        .collect();
    let address = format!(
        "<p>{}: {}</p>",
        l.t("Public address"),
        escape(public_url.unwrap_or("—"))
    );
    let body = if admin {
        let csrf = who.csrf();
        let reset = if t.page.is_empty() {
            String::new()
        } else {
            format!(
                "<form method=\"post\" action=\"/settings/reset\" class=\"inline\">\
                 <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
                 <button type=\"submit\" class=\"second\">{}</button></form>",
                l.t("Use relais.toml's values")
            )
        };
        format!(
            "<form method=\"post\" action=\"/settings\" class=\"settings\">\
             <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">{rows}\
             <button type=\"submit\">{save}</button></form>{reset}\
             <p class=\"hint\">{hint}</p><p><a href=\"/audit\">{audit}</a></p>",
            save = l.t("Save settings"),
            hint = l.t("Values changed here are kept in the database and win over relais.toml; relais admin export-workspace writes them into relais.toml."),
            audit = l.t("Audit log"),
        )
    } else {
        format!("<div class=\"settings\">{rows}</div>")
    };
    format!(
        "<section class=\"panel\"><h2>{}</h2>{address}{body}</section>",
        l.t("Server")
    )
}

pub(super) async fn settings(
    State(s): State<AppState>,
    who: Signed,
    Query(f): Query<Flash>,
) -> Response {
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
        server_settings(
            l,
            &who,
            &s.rt.tunable(),
            s.rt.settings.public_url.as_deref(),
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

/// An admin saves the server's settings: checked as relais.toml is, kept, used at once.
pub(super) async fn save_settings(State(s): State<AppState>, who: Signed, body: Bytes) -> Response {
    let form = match admin_form(&who, &body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let file = match tunable::resolve(&s.rt.settings.tunable_base, &toml::Table::new()) {
        Ok(f) => f,
        Err(e) => return back("/settings", Some(&e.to_string()), None),
    };
    let page = match tunable::from_form(|k| form.get(k), &file) {
        Ok(p) => p,
        Err(e) => return back("/settings", Some(&e.to_string()), None),
    };
    change(&s, &who, page).await
}

/// An admin puts relais.toml's values back.
pub(super) async fn reset_settings(
    State(s): State<AppState>,
    who: Signed,
    body: Bytes,
) -> Response {
    if let Err(refused) = admin_form(&who, &body) {
        return refused.into_response();
    }
    change(&s, &who, toml::Table::new()).await
}

async fn change(s: &AppState, who: &Signed, page: toml::Table) -> Response {
    let l = lang(who);
    let detail = serde_json::to_value(&page).unwrap_or_default();
    match s.rt.change_settings(page, s.rt.clock.now()).await {
        Ok(_) => {
            if let Err(r) = audit(
                s,
                who,
                json!({ "action": "settings_changed", "settings": detail }),
            )
            .await
            {
                return r;
            }
            back("/settings", None, Some(l.t("Saved.")))
        }
        Err(crate::runtime::tunable::SettingsError::Invalid(e)) => {
            back("/settings", Some(&e.to_string()), None)
        }
        Err(crate::runtime::tunable::SettingsError::Store(e)) => crate::web::failed(e),
    }
}
