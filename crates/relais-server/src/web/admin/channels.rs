//! The channels (with the address to give each provider): read by supervisors and
//! admins. Admins add a channel by pasting its
//! channels.yaml entry, checked as the file and the API are.

use super::*;

pub(super) async fn channels(
    State(s): State<AppState>,
    who: Signed,
    Query(f): Query<Flash>,
) -> Response {
    if !reads_config(&who) {
        return not_found(&who, "Inbox");
    }
    let l = lang(&who);
    let list = match s.rt.store.channels().await {
        Ok(c) => c,
        Err(e) => return crate::web::failed(e),
    };
    let base = s.rt.settings.public_url.clone();
    let rows: String = list
        .iter()
        .map(|c| channel_row(&s, l, &who, c, base.as_deref()))
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
    let add = if writes(&who) {
        format!(
            "<section class=\"panel\"><h2>{title}</h2><p class=\"hint\">{how}</p>\
             <form method=\"post\" action=\"/channels\" class=\"stack\">\
             <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
             <label>{entry_l}<textarea name=\"entry\" rows=\"8\" required spellcheck=\"false\" \
             placeholder=\"id: whatsapp-fr&#10;kind: whatsapp&#10;settings: {{ phone_number_id: &quot;1234567890&quot; }}&#10;secrets: {{ access_token: WA_TOKEN, app_secret: WA_APP_SECRET, verify_token: WA_VERIFY }}\">{draft}</textarea></label>\
             <button type=\"submit\">{add}</button></form></section>",
            title = l.t("Add a channel"),
            how = l.t("Paste one entry as channels.yaml writes it (id, kind, settings, the names of its secrets in [secrets], fallback, default_flow). It is checked like the file; keep it in channels.yaml too."),
            csrf = who.csrf(),
            entry_l = l.t("Entry"),
            draft = escape(f.draft.as_deref().unwrap_or_default()),
            add = l.t("Add"),
        )
    } else {
        String::new()
    };
    section(&who, "Channels", l.t("Channels"), format!("{main}{add}"))
}

/// One channel of the table: its address, secrets, state and origin, and for admins
/// the switch and the entry to change.
fn channel_row(
    s: &AppState,
    l: Lang,
    who: &Signed,
    c: &relais_store::Channel,
    base: Option<&str>,
) -> String {
    let address = channel_address(l, c, base);
    let secrets = channel_secrets(s, l, c);
    // Admins turn a channel made here or through the API on and off; one of
    // channels.yaml is the file's.
    let switch = if writes(who) && !c.from_file {
        format!(
            "<form method=\"post\" action=\"/channels/{id}/switch\" class=\"inline\">\
             <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
             <input type=\"hidden\" name=\"enabled\" value=\"{to}\">\
             <button type=\"submit\" class=\"second\">{label}</button></form>",
            id = escape(c.id.as_str()),
            csrf = who.csrf(),
            to = if c.enabled { "0" } else { "1" },
            label = if c.enabled {
                l.t("Disable")
            } else {
                l.t("Enable")
            },
        )
    } else {
        String::new()
    };
    // A provider channel made here or through the API: its entry, to change.
    let change = if writes(who) && !c.from_file && c.kind != "rest" {
        format!(
            "<details><summary>{edit} <span class=\"sr\">{id}</span></summary>\
             <form method=\"post\" action=\"/channels/{id}/edit\" class=\"stack\">\
             <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
             <label>{entry_l} <textarea name=\"entry\" rows=\"6\" required spellcheck=\"false\">{entry}</textarea></label>\
             <button type=\"submit\" class=\"second\">{save}</button></form></details>",
            edit = l.t("Edit"),
            id = escape(c.id.as_str()),
            csrf = who.csrf(),
            entry_l = l.t("Entry"),
            entry = escape(&entry_of(c)),
            save = l.t("Save"),
        )
    } else {
        String::new()
    };
    format!(
        "<tr><th scope=\"row\">{id}<br><span class=\"hint\">{kind}</span>{change}</th>\
         <td>{address}</td><td>{secrets}</td><td>{enabled}{switch}</td><td>{file}</td><td>{fallback}</td></tr>",
        id = escape(c.id.as_str()),
        kind = escape(&c.kind),
        enabled = yes_no(l, c.enabled),
        file = if c.from_file { "channels.yaml" } else { "API" },
        fallback = escape(c.fallback.as_ref().map_or("—", |f| f.as_str())),
    )
}

/// The address to give the channel's provider (in full when `[server] public_url` is
/// set) and, for a web chat, the script tag to put on the site.
fn channel_address(l: Lang, c: &relais_store::Channel, base: Option<&str>) -> String {
    let path = match c.kind.as_str() {
        "rest" => format!("/api/v1/channels/{}/converse", c.id),
        "webchat" => format!("/webchat/{}", c.id),
        "email" => format!("/webhooks/email/{}", c.id),
        kind => format!("/webhooks/{kind}/{}", c.id),
    };
    let address = match base {
        Some(b) => format!("<code>{}</code>", escape(&format!("{b}{path}"))),
        None => format!(
            "<code>{}</code> <span class=\"hint\">{}</span>",
            escape(&path),
            l.t("set [server] public_url to get the full address")
        ),
    };
    let embed = if c.kind == "webchat" {
        let src = format!("{}/webchat/{}/widget.js", base.unwrap_or(""), c.id);
        format!(
            "<br><span class=\"hint\">{}</span> <code>{}</code>",
            l.t("On your site:"),
            escape(&format!("<script src=\"{src}\" async></script>"))
        )
    } else {
        String::new()
    };
    format!("{address}{embed}")
}

/// The names of the channel's secrets, each said set or not (never its value).
fn channel_secrets(s: &AppState, l: Lang, c: &relais_store::Channel) -> String {
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
    if secrets.is_empty() {
        "—".to_owned()
    } else {
        format!("<ul class=\"plain\">{secrets}</ul>")
    }
}

/// A channel as the lines of its channels.yaml entry (flow-style values: JSON is YAML).
fn entry_of(c: &relais_store::Channel) -> String {
    let mut out = format!("id: {}\nkind: {}\n", c.id.as_str(), c.kind);
    if c.settings.as_object().is_some_and(|m| !m.is_empty()) {
        out.push_str(&format!("settings: {}\n", c.settings));
    }
    if c.secret_names.as_object().is_some_and(|m| !m.is_empty()) {
        out.push_str(&format!("secrets: {}\n", c.secret_names));
    }
    if let Some(f) = &c.fallback {
        out.push_str(&format!("fallback: {}\n", f.as_str()));
    }
    if let Some(f) = &c.default_flow {
        out.push_str(&format!("default_flow: {f}\n"));
    }
    out
}

/// `POST /channels/{id}/edit` (admins): the channel's entry, changed, checked like a new
/// one (its id and kind stay).
pub(super) async fn edit_channel(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let f = match admin_form(&who, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let l = lang(&who);
    let Ok(id) = relais_core::id::ChannelId::parse(&id) else {
        return back("/channels", Some(l.t("Not found")), None);
    };
    let entry = f.get("entry").unwrap_or_default().replace("\r\n", "\n");
    if entry.trim().is_empty() || entry.len() > 8_000 {
        return back(
            "/channels",
            Some(l.t("Paste one channel's entry (at most 8,000 characters).")),
            None,
        );
    }
    match crate::http::providers::update_from_doc(&s, &id, &entry_document(&entry), Some(2)).await {
        Ok(updated) => {
            if let Err(r) = audit(
                &s,
                &who,
                json!({ "action": "channel_updated", "channel": updated["id"] }),
            )
            .await
            {
                return r;
            }
            back("/channels", None, Some(l.t("Saved.")))
        }
        Err(ApiError::Unprocessable { message, findings }) => back(
            "/channels",
            Some(&format!("{message}: {}", findings.join("; "))),
            None,
        ),
        Err(e) => back("/channels", Some(&said(e)), None),
    }
}

/// A pasted entry as the one item of a channels.yaml (two lines added before it, so
/// findings are numbered by `- 2`).
fn entry_document(entry: &str) -> String {
    format!(
        "channels:\n  -\n{}",
        entry
            .lines()
            .map(|line| format!("    {line}\n"))
            .collect::<String>()
    )
}

/// `POST /channels/{id}/switch` (admins): a channel made through the API on or off.
pub(super) async fn switch_channel(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let f = match admin_form(&who, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let l = lang(&who);
    let via = who.via();
    let enabled = f.get("enabled") == Some("1");
    match crate::http::api::switch_channel(&s, who.agent.id, via, &id, enabled).await {
        Ok(_) => back("/channels", None, Some(l.t("Saved."))),
        Err(e) => back("/channels", Some(&said(e)), None),
    }
}

/// `POST /channels` (admins): the pasted entry, as `POST /api/v1/channels` takes one.
pub(super) async fn add_channel(State(s): State<AppState>, who: Signed, body: Bytes) -> Response {
    let f = match admin_form(&who, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let l = lang(&who);
    let entry = f.get("entry").unwrap_or_default().replace("\r\n", "\n");
    let refused = |message: String| {
        Redirect::to(&format!(
            "/channels?error={}&draft={}",
            enc(&message),
            enc(&entry)
        ))
        .into_response()
    };
    if entry.trim().is_empty() || entry.len() > 8_000 {
        return refused(
            l.t("Paste one channel's entry (at most 8,000 characters).")
                .to_owned(),
        );
    }
    match crate::http::providers::create_from_doc(&s, &entry_document(&entry), Some(2)).await {
        Ok(created) => {
            if let Err(r) = audit(
                &s,
                &who,
                json!({ "action": "channel_created", "channel": created["id"], "kind": created["kind"] }),
            )
            .await
            {
                return r;
            }
            back("/channels", None, Some(l.t("Saved.")))
        }
        Err(ApiError::Unprocessable { message, findings }) => {
            refused(format!("{message}: {}", findings.join("; ")))
        }
        Err(e) => refused(said(e)),
    }
}
