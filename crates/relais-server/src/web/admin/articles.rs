//! Knowledge-base articles (SPEC §8, §9): listed with their language and where they come
//! from, written and changed by admins (the workspace reloads, so the bot answers with
//! them at once), and a preview of what the bot would answer to a question.

use super::*;

#[derive(Deserialize, Default)]
pub(super) struct ArticlesQuery {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    done: Option<String>,
    /// The preview's question and language.
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    language: Option<String>,
    /// The article open for editing (`new` for a new one).
    #[serde(default)]
    edit: Option<String>,
}

const LANGUAGES: [&str; 5] = ["en", "fr", "it", "es", "de"];

pub(super) async fn articles(
    State(s): State<AppState>,
    who: Signed,
    Query(f): Query<ArticlesQuery>,
) -> Response {
    if !reads_config(&who) {
        return not_found(&who, "Inbox");
    }
    let l = lang(&who);
    let list = match s.rt.store.articles().await {
        Ok(a) => a,
        Err(e) => return crate::web::failed(e),
    };
    let csrf = who.csrf();
    let editing = f.edit.as_deref();
    let rows: String = list
        .iter()
        .map(|a| {
            let source = a.file.as_deref().map_or_else(|| l.t("made here").to_owned(), escape);
            let edit = if writes(&who) {
                format!(
                    "<a href=\"/articles?edit={id}#edit\">{edit} <span class=\"sr\">{title}</span></a>",
                    id = a.id,
                    edit = l.t("Edit"),
                    title = escape(&a.title)
                )
            } else {
                String::new()
            };
            format!(
                "<tr><td lang=\"{lang}\">{title}</td><td><code>{slug}</code></td><td>{lang}</td><td>{tags}</td><td>{source}</td><td>{edit}</td></tr>",
                title = escape(&a.title),
                slug = escape(&a.slug),
                lang = escape(&a.language),
                tags = escape(&a.tags.join(", ")),
            )
        })
        .collect();
    let table = if list.is_empty() {
        format!("<p class=\"hint\">{}</p>", l.t("No article yet."))
    } else {
        format!(
            "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th></th></tr></thead><tbody>{rows}</tbody></table></div>",
            l.t("Title"),
            l.t("Slug"),
            l.t("Language"),
            l.t("Tags"),
            l.t("Source"),
        )
    };
    let editor = match (writes(&who), editing) {
        (true, Some(which)) => {
            let current = which
                .parse::<i64>()
                .ok()
                .and_then(|id| list.iter().find(|a| a.id == id));
            editor(l, &csrf, current)
        }
        (true, None) => format!(
            "<p><a class=\"button second\" href=\"/articles?edit=new#edit\">{}</a></p>",
            l.t("New article")
        ),
        _ => String::new(),
    };
    let preview = preview(&s, l, f.q.as_deref(), f.language.as_deref());
    let main = format!(
        "<h1>{title}</h1>{flash}<p class=\"hint\">{how}</p>{table}{editor}{preview}",
        title = l.t("Articles"),
        flash = flash(f.error.as_deref(), f.done.as_deref()),
        how = l.t("The bot's answer steps and the agents' suggestions search these articles. Articles of kb/*.md files are copied in when the workspace loads; an edit made here stays until the file changes."),
    );
    section(&who, "Articles", l.t("Articles"), main)
}

fn editor(l: Lang, csrf: &str, a: Option<&relais_store::Article>) -> String {
    let languages: String = LANGUAGES
        .iter()
        .map(|code| {
            let selected = if a.is_some_and(|a| a.language == *code) {
                " selected"
            } else {
                ""
            };
            format!("<option value=\"{code}\"{selected}>{code}</option>")
        })
        .collect();
    let delete = a.map_or_else(String::new, |a| {
        format!(
            "<form method=\"post\" action=\"/articles/{id}/delete\" class=\"inline\">\
             <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
             <button type=\"submit\" class=\"second danger\">{delete} <span class=\"sr\">{title}</span></button></form>",
            id = a.id,
            delete = l.t("Delete"),
            title = escape(&a.title),
        )
    });
    format!(
        "<section class=\"panel\" id=\"edit\"><h2>{heading}</h2>\
         <form method=\"post\" action=\"/articles\" class=\"stack\">\
         <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"id\" value=\"{id}\">\
         <label>{title_l} <input name=\"title\" required maxlength=\"200\" value=\"{title}\"></label>\
         <label>{slug_l} <input name=\"slug\" required maxlength=\"80\" pattern=\"[A-Za-z0-9_-]+\" value=\"{slug}\"></label>\
         <label>{language_l} <select name=\"language\">{languages}</select></label>\
         <label>{tags_l} <input name=\"tags\" value=\"{tags}\" placeholder=\"delivery, orders\"></label>\
         <label>{body_l} <textarea name=\"body\" required rows=\"10\" maxlength=\"20000\">{body}</textarea></label>\
         <p><button type=\"submit\">{save}</button></p></form>{delete}</section>",
        heading = if a.is_some() {
            l.t("Edit the article")
        } else {
            l.t("New article")
        },
        id = a.map_or(String::new(), |a| a.id.to_string()),
        title_l = l.t("Title"),
        slug_l = l.t("Slug"),
        language_l = l.t("Language"),
        tags_l = l.t("Tags"),
        body_l = l.t("Text (Markdown)"),
        title = escape(a.map_or("", |a| a.title.as_str())),
        slug = escape(a.map_or("", |a| a.slug.as_str())),
        tags = escape(&a.map_or_else(String::new, |a| a.tags.join(", "))),
        body = escape(a.map_or("", |a| a.body.as_str())),
        save = l.t("Save"),
    )
}

/// The preview: a question, and what the bot's `answer` step would send to it.
fn preview(s: &AppState, l: Lang, q: Option<&str>, language: Option<&str>) -> String {
    let q = q.map(str::trim).filter(|q| !q.is_empty());
    let language = language.filter(|x| LANGUAGES.contains(x));
    let options: String = LANGUAGES
        .iter()
        .map(|code| {
            let selected = if language == Some(*code) {
                " selected"
            } else {
                ""
            };
            format!("<option value=\"{code}\"{selected}>{code}</option>")
        })
        .collect();
    let result = match q {
        None => String::new(),
        Some(q) => {
            let found = crate::http::articles::ranked(s, q, language, 3);
            let answers = found["answers"].as_str();
            let hits: String = found["suggestions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|h| {
                    let chosen = answers == h["slug"].as_str();
                    format!(
                        "<li{cls}><strong>{title}</strong> <span class=\"hint\">{score_l} {score:.2}</span>{mark}</li>",
                        cls = if chosen { " class=\"chosen\"" } else { "" },
                        title = escape(h["title"].as_str().unwrap_or("")),
                        score_l = l.t("score"),
                        score = h["score"].as_f64().unwrap_or(0.0),
                        mark = if chosen { format!(" — {}", l.t("the bot sends this one")) } else { String::new() },
                    )
                })
                .collect();
            let verdict = match answers.and_then(|slug| {
                found["suggestions"]
                    .as_array()?
                    .iter()
                    .find(|h| h["slug"].as_str() == Some(slug))
            }) {
                Some(h) => format!(
                    "<div class=\"bubble bot\" data-testid=\"preview-answer\"><p><strong>{}</strong></p><p>{}</p></div>",
                    escape(h["title"].as_str().unwrap_or("")),
                    escape(h["body"].as_str().unwrap_or("")).replace('\n', "<br>")
                ),
                None => format!(
                    "<p class=\"notice\" data-testid=\"preview-answer\">{}</p>",
                    l.t("No article is close enough: the bot would go to on_no_answer.")
                ),
            };
            format!("{verdict}<ol class=\"hits\">{hits}</ol>")
        }
    };
    format!(
        "<section class=\"panel\" id=\"preview\"><h2>{heading}</h2>\
         <form method=\"get\" action=\"/articles#preview\" class=\"inline\">\
         <label class=\"grow\">{question_l} <input name=\"q\" value=\"{q}\" maxlength=\"2000\"></label>\
         <label>{language_l} <select name=\"language\"><option value=\"\">{any}</option>{options}</select></label>\
         <button type=\"submit\" class=\"second\">{try_l}</button></form>{result}</section>",
        heading = l.t("What would the bot answer?"),
        question_l = l.t("A customer's question"),
        language_l = l.t("Language"),
        any = l.t("any"),
        q = escape(q.unwrap_or("")),
        try_l = l.t("Try"),
    )
}

pub(super) async fn save_article(State(s): State<AppState>, who: Signed, body: Bytes) -> Response {
    let f = match admin_form(&who, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let l = lang(&who);
    let id = match f.get("id").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => return back("/articles", Some(l.t("Unknown action.")), None),
        },
    };
    let fields = crate::http::articles::article_fields(crate::http::articles::ArticleRequest {
        slug: f.get("slug").unwrap_or_default().trim().to_owned(),
        title: f.get("title").unwrap_or_default().trim().to_owned(),
        language: f.get("language").unwrap_or_default().trim().to_owned(),
        tags: f
            .get("tags")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        body: f.get("body").unwrap_or_default().to_owned(),
    });
    let article = match fields {
        Ok(a) => a,
        Err(e) => return back("/articles", Some(&said(e)), None),
    };
    match s.rt.store.save_article(id, article, s.rt.clock.now()).await {
        Ok(a) => {
            if let Err(r) = audit(
                &s,
                &who,
                json!({ "action": "article_saved", "article": a.id, "slug": a.slug }),
            )
            .await
            {
                return r;
            }
            let live = crate::http::articles::go_live(&s).await;
            match live["reason"].as_str() {
                None => back("/articles", None, Some(l.t("Saved."))),
                Some(why) => back(
                    "/articles",
                    Some(&format!(
                        "{} {why}",
                        l.t("Saved, but the workspace did not reload:")
                    )),
                    None,
                ),
            }
        }
        Err(e) => back("/articles", Some(&said(e.into())), None),
    }
}

pub(super) async fn delete_article(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    if let Err(r) = admin_form(&who, &body) {
        return r.into_response();
    }
    let outcome = s.rt.store.delete_article(id).await;
    let event = json!({ "action": "article_deleted", "article": id });
    after_delete(&s, &who, "/articles", outcome, event, true).await
}
