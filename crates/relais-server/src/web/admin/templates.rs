//! Message templates (SPEC §6, §9): templates.yaml's, read only, and those admins add
//! here (stored; the workspace reloads so agents can send them at once).

use super::*;

pub(super) async fn templates(
    State(s): State<AppState>,
    who: Signed,
    Query(f): Query<Flash>,
) -> Response {
    if !reads_config(&who) {
        return not_found(&who, "Inbox");
    }
    let l = lang(&who);
    let stored = match s.rt.store.templates().await {
        Ok(t) => t,
        Err(e) => return crate::web::failed(e),
    };
    let csrf = who.csrf();
    let loaded = s.rt.flows.as_ref().map(|f| f.loaded());
    let rows: String = loaded.as_ref().map_or_else(String::new, |loaded| {
        template_rows(l, &who, &csrf, loaded, &stored)
    });
    let body = if rows.is_empty() {
        format!(
            "<p class=\"empty\">{}</p>",
            l.t("No template is registered.")
        )
    } else {
        format!(
            "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th></tr></thead><tbody>{rows}</tbody></table></div>",
            l.t("Name"),
            l.t("Language"),
            l.t("Category"),
            l.t("Parameters"),
            l.t("Text"),
            l.t("Buttons"),
            l.t("Source"),
        )
    };
    let new = if writes(&who) {
        new_template_form(l, &csrf)
    } else {
        String::new()
    };
    let main = format!(
        "<h1>{}</h1>{flash}<p class=\"hint\">{}</p>{body}{new}",
        l.t("Templates"),
        l.t("Message templates approved by the provider: what agents can still send once a 24-hour window has closed. Those of templates.yaml are changed in the file; admins add others here."),
        flash = flash(f.error.as_deref(), f.done.as_deref()),
    );
    section(&who, "Templates", l.t("Templates"), main)
}

/// The loaded workspace's templates as table rows, each with its source (templates.yaml,
/// or made here, with a delete button for admins).
fn template_rows(
    l: Lang,
    who: &Signed,
    csrf: &str,
    loaded: &relais_flow::handler::Loaded,
    stored: &[relais_store::StoredTemplate],
) -> String {
    loaded
        .ws
        .templates
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let id = stored.iter().find(|x| x.name == t.name && x.language == t.language).map(|x| x.id);
            let source = match (i < loaded.ws.templates_from_file, id, writes(who)) {
                (true, _, _) => "templates.yaml".to_owned(),
                (false, Some(id), true) => format!(
                    "{made} <form method=\"post\" action=\"/templates/{id}/delete\" class=\"inline\">\
                     <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
                     <button type=\"submit\" class=\"second danger\">{delete} <span class=\"sr\">{name} {lang}</span></button></form>",
                    made = l.t("made here"),
                    delete = l.t("Delete"),
                    name = escape(&t.name),
                    lang = escape(&t.language),
                ),
                _ => l.t("made here").to_owned(),
            };
            format!(
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{source}</td></tr>",
                escape(&t.name),
                escape(&t.language),
                escape(&t.category),
                t.arity(),
                escape(&t.body),
                escape(&t.buttons.join(", ")),
            )
        })
        .collect()
}

/// The form that adds a template (admins).
fn new_template_form(l: Lang, csrf: &str) -> String {
    let categories: String = crate::http::templates::CATEGORIES
        .iter()
        .map(|c| format!("<option value=\"{c}\">{c}</option>"))
        .collect();
    format!(
        "<section class=\"panel\"><h2>{new_l}</h2><form method=\"post\" action=\"/templates\" class=\"stack\">\
         <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
         <label>{name_l} <input name=\"name\" required maxlength=\"100\" pattern=\"[a-z0-9_]+\" placeholder=\"order_update\"></label>\
         <label>{language_l} <input name=\"language\" required maxlength=\"8\" size=\"4\" placeholder=\"fr\"></label>\
         <label>{category_l} <select name=\"category\">{categories}</select></label>\
         <label>{text_l} <textarea name=\"body\" required rows=\"3\" maxlength=\"1024\" placeholder=\"{example}\"></textarea></label>\
         <label>{buttons_l} <input name=\"buttons\" placeholder=\"{buttons_example}\"></label>\
         <p><button type=\"submit\">{create}</button></p></form></section>",
        new_l = l.t("New template"),
        name_l = l.t("Name"),
        language_l = l.t("Language"),
        category_l = l.t("Category"),
        text_l = l.t("Text"),
        buttons_l = l.t("Buttons, separated by commas (at most 3)"),
        example = escape("Bonjour {{1}}, votre commande {{2}} est en route."),
        buttons_example = escape("Oui, Non"),
        create = l.t("Create"),
    )
}

pub(super) async fn save_template(State(s): State<AppState>, who: Signed, body: Bytes) -> Response {
    let f = match admin_form(&who, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let l = lang(&who);
    let fields = crate::http::templates::template_fields(crate::http::templates::TemplateRequest {
        name: f.get("name").unwrap_or_default().to_owned(),
        language: f.get("language").unwrap_or_default().to_owned(),
        category: f.get("category").map(str::to_owned),
        body: f.get("body").unwrap_or_default().to_owned(),
        buttons: f
            .get("buttons")
            .unwrap_or_default()
            .split(',')
            .map(str::to_owned)
            .collect(),
    });
    let t = match fields {
        Ok(t) => t,
        Err(e) => return back("/templates", Some(&said(e)), None),
    };
    let in_file =
        s.rt.flows
            .as_ref()
            .is_some_and(|fl| crate::http::templates::file_has(&fl.loaded(), &t.name, &t.language));
    if in_file {
        return back(
            "/templates",
            Some(l.t("templates.yaml already defines this template: change it there.")),
            None,
        );
    }
    match s.rt.store.save_template(None, t, s.rt.clock.now()).await {
        Ok(t) => {
            if let Err(r) = audit(
                &s,
                &who,
                json!({ "action": "template_saved", "template": t.id, "name": t.name }),
            )
            .await
            {
                return r;
            }
            crate::http::articles::go_live(&s).await;
            back("/templates", None, Some(l.t("Saved.")))
        }
        Err(e) => back("/templates", Some(&said(e.into())), None),
    }
}

pub(super) async fn delete_template(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    if let Err(r) = admin_form(&who, &body) {
        return r.into_response();
    }
    let outcome = s.rt.store.delete_template(id).await;
    let event = json!({ "action": "template_deleted", "template": id });
    after_delete(&s, &who, "/templates", outcome, event, true).await
}
