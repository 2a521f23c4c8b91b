//! Canned responses: made, changed and deleted by admins; offered with `/` in the reply box.

use super::*;

pub(super) async fn canned(
    State(s): State<AppState>,
    who: Signed,
    Query(f): Query<Flash>,
) -> Response {
    if !reads_config(&who) {
        return not_found(&who, "Inbox");
    }
    let l = lang(&who);
    let list = match s.rt.store.canned().await {
        Ok(c) => c,
        Err(e) => return crate::web::failed(e),
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
pub(super) async fn save_canned(State(s): State<AppState>, who: Signed, body: Bytes) -> Response {
    let f = match admin_form(&who, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let l = lang(&who);
    let id = match f.get("id").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => return back("/canned", Some(l.t("Unknown action.")), None),
        },
    };
    let fields = crate::http::teams::canned_fields(crate::http::teams::CannedRequest {
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
pub(super) async fn delete_canned(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    if let Err(r) = admin_form(&who, &body) {
        return r.into_response();
    }
    let outcome = s.rt.store.delete_canned(id).await;
    let event = json!({ "action": "canned_deleted", "canned": id });
    after_delete(&s, &who, "/canned", outcome, event, false).await
}
