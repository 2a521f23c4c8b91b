//! The conversation page's side panel: the customer-service window and the templates
//! still sendable once it is closed, the knowledge base's suggestions, what the bot
//! collected, the contact card, and the contact's previous conversations.

use super::i18n::Lang;
use super::inbox::status_name;
use super::layout::when;
use super::session::Signed;
use crate::html::escape;
use crate::http::AppState;
use relais_core::id::ConversationId;
use relais_store::DeskConversation;

/// The customer-service window of channels that have one (SPEC §6), and the
/// templates that can still be sent once it is closed.
pub(super) fn window(s: &AppState, l: Lang, c: &DeskConversation, csrf: &str) -> String {
    let conv = &c.view.conversation;
    let Some(channel) = s.rt.channel(&conv.channel) else {
        return String::new();
    };
    if !relais_core::window::applies(&channel.kind) {
        return String::new();
    }
    let now = s.rt.clock.now();
    let closes_at = relais_core::window::closes_at(&channel.kind, c.last_inbound_at);
    if let Some(t) = closes_at.filter(|t| *t > now) {
        return format!(
            "<section class=\"window open\"><h2>{}</h2><p>{}</p></section>",
            l.t("Reply window"),
            l.t("Open until {when}.").replace("{when}", &when(t))
        );
    }
    let templates: Vec<(String, String, usize, String)> =
        s.rt.flows.as_ref().map_or_else(Vec::new, |f| {
            f.loaded()
                .ws
                .templates
                .iter()
                .map(|t| {
                    (
                        t.name.clone(),
                        t.language.clone(),
                        t.arity(),
                        t.body.clone(),
                    )
                })
                .collect()
        });
    let forms: String = templates
        .iter()
        .map(|(name, language, arity, body)| {
            let params: String = (1..=*arity)
                .map(|i| {
                    format!(
                        "<label>{{{{{i}}}}} <input name=\"param\" required maxlength=\"1024\"></label>"
                    )
                })
                .collect();
            format!(
                "<form method=\"post\" action=\"/conversations/{id}/act\" class=\"template\">\
                 <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
                 <input type=\"hidden\" name=\"template\" value=\"{name}\">\
                 <input type=\"hidden\" name=\"language\" value=\"{language}\">\
                 <p><strong>{name}</strong> ({language})<br><span class=\"hint\">{body}</span></p>{params}\
                 <button type=\"submit\" name=\"action\" value=\"template\" class=\"second\">{send}</button></form>",
                id = conv.id,
                name = escape(name),
                language = escape(language),
                body = escape(body),
                send = l.t("Send template"),
            )
        })
        .collect();
    format!(
        "<section class=\"window closed\"><h2>{}</h2><p>{}</p>{}</section>",
        l.t("Reply window"),
        if templates.is_empty() {
            l.t("Closed: the customer must write first; no template is registered.")
        } else {
            l.t("Closed: only a template can reach the customer now.")
        },
        forms
    )
}

/// Knowledge-base articles for the customer's last message (SPEC §9): what the bot's
/// `answer` would find, for the agent to read or insert into the reply.
pub(super) async fn suggestions(
    s: &AppState,
    l: Lang,
    messages: &[relais_core::message::Message],
    language: Option<String>,
) -> String {
    let has_kb = s.rt.flows.as_ref().is_some_and(|f| {
        f.loaded()
            .understanding
            .as_ref()
            .is_some_and(|u| u.kb.is_some())
    });
    if !has_kb {
        return String::new();
    }
    let Some(question) = crate::http::articles::question_of(messages) else {
        return String::new();
    };
    let state = s.clone();
    let found = tokio::task::spawn_blocking(move || {
        crate::http::articles::ranked(&state, &question, language.as_deref(), 3)
    })
    .await
    .unwrap_or_default();
    let items: String = found["suggestions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            let title = h["title"].as_str().unwrap_or("");
            let body = h["body"].as_str().unwrap_or("");
            format!(
                "<li><details><summary>{t} <span class=\"hint\">{score:.2}</span></summary><p>{b}</p></details>\
                 <button type=\"button\" class=\"second\" data-insert=\"{raw}\">{insert} <span class=\"sr\">{t}</span></button></li>",
                t = escape(title),
                score = h["score"].as_f64().unwrap_or(0.0),
                b = escape(body).replace('\n', "<br>"),
                raw = escape(&format!("{title}\n\n{body}")),
                insert = l.t("Insert"),
            )
        })
        .collect();
    let list = if items.is_empty() {
        format!(
            "<p class=\"hint\">{}</p>",
            l.t("No suggestion for this conversation.")
        )
    } else {
        format!("<ol class=\"suggestions\">{items}</ol>")
    };
    format!(
        "<section class=\"kb\" aria-labelledby=\"kb-title\"><h2 id=\"kb-title\">{}</h2>{list}</section>",
        l.t("Suggestions")
    )
}

/// What the bot collected (the conversation's fields).
pub(super) fn variables(l: Lang, fields: &serde_json::Value) -> String {
    let Some(map) = fields.as_object().filter(|m| !m.is_empty()) else {
        return String::new();
    };
    let rows: String = map
        .iter()
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("<dt>{}</dt><dd>{}</dd>", escape(k), escape(&v))
        })
        .collect();
    format!(
        "<section><h2>{}</h2><dl>{rows}</dl></section>",
        l.t("Collected by the bot")
    )
}

pub(super) fn contact_card(
    who: &Signed,
    l: Lang,
    conversation: ConversationId,
    card: &relais_store::ContactCard,
) -> String {
    let rows = card_rows(l, &card.contact);
    let identities: String = card
        .identities
        .iter()
        .map(|i| {
            let address = match i.address.strip_prefix("v-") {
                Some(v) => format!("{} {}", l.t("visitor"), &v[..v.len().min(6)]),
                None => i.address.clone(),
            };
            format!(
                "<li>{} <span class=\"hint\">{} · {}</span></li>",
                escape(&address),
                escape(i.channel.as_str()),
                escape(&i.kind)
            )
        })
        .collect();
    let consents: String = card
        .consents
        .iter()
        .map(|k| {
            format!(
                "<li>{}: {} <span class=\"hint\">{}</span></li>",
                escape(&k.channel_kind),
                if k.granted {
                    l.t("opted in")
                } else {
                    l.t("opted out")
                },
                when(k.at)
            )
        })
        .collect();
    let consents = if consents.is_empty() {
        String::new()
    } else {
        format!("<h3>{}</h3><ul>{consents}</ul>", l.t("Consent"))
    };
    let erase = erase_form(who, l, conversation);
    format!(
        "<section class=\"card\"><h2>{}</h2><dl>{rows}</dl><h3>{}</h3><ul>{identities}</ul>{consents}{erase}</section>",
        l.t("Contact"),
        l.t("Reached on")
    )
}

/// The card's details: name, language, tier, then the contact's own fields.
fn card_rows(l: Lang, c: &relais_core::contact::Contact) -> String {
    let mut rows = String::new();
    if let Some(n) = &c.name {
        rows.push_str(&format!("<dt>{}</dt><dd>{}</dd>", l.t("Name"), escape(n)));
    }
    rows.push_str(&format!(
        "<dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>",
        l.t("Language"),
        escape(c.language.as_deref().unwrap_or("—")),
        l.t("Tier"),
        escape(&c.tier)
    ));
    if let Some(map) = c.fields.as_object() {
        for (k, v) in map {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            rows.push_str(&format!("<dt>{}</dt><dd>{}</dd>", escape(k), escape(&v)));
        }
    }
    rows
}

/// Admins may erase the contact from here (GDPR article 17), once they confirm.
fn erase_form(who: &Signed, l: Lang, conversation: ConversationId) -> String {
    if who.agent.role == relais_core::agent::Role::Admin {
        format!(
            "<details class=\"danger\"><summary>{summary}</summary>\
             <form method=\"post\" action=\"/conversations/{id}/erase-contact\">\
             <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
             <p class=\"hint\">{what}</p>\
             <label><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required> {sure}</label>\
             <button type=\"submit\" class=\"danger\">{button}</button></form></details>",
            id = conversation.0,
            csrf = who.csrf(),
            summary = l.t("Erase this contact"),
            what = l.t("Every conversation, message, attachment and detail of this contact is erased for good. The reports keep counting the conversations, without anything personal."),
            sure = l.t("I understand this cannot be undone"),
            button = l.t("Erase"),
        )
    } else {
        String::new()
    }
}

/// The contact's other conversations the viewer may see.
pub(super) fn previous(l: Lang, history: &[DeskConversation], current: ConversationId) -> String {
    let items: String = history
        .iter()
        .filter(|h| h.view.conversation.id != current)
        .map(|h| {
            let c = &h.view.conversation;
            format!(
                "<li><a href=\"/conversations/{id}\">#{id}</a> {channel} · {status} · {at}</li>",
                id = c.id,
                channel = escape(c.channel.as_str()),
                status = status_name(l, c.status),
                at = when(c.created_at)
            )
        })
        .collect();
    if items.is_empty() {
        return String::new();
    }
    format!(
        "<section><h2>{}</h2><ul>{items}</ul></section>",
        l.t("Previous conversations")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_bot_collected_is_listed_escaped_and_nothing_when_empty() {
        let html = variables(
            Lang::En,
            &serde_json::json!({ "order": "A-12<script>", "items": 3 }),
        );
        assert!(
            html.contains("<dt>order</dt><dd>A-12&lt;script&gt;</dd>"),
            "{html}"
        );
        assert!(html.contains("<dt>items</dt><dd>3</dd>"), "{html}");
        assert_eq!(variables(Lang::En, &serde_json::json!({})), "");
        assert_eq!(variables(Lang::En, &serde_json::Value::Null), "");
    }
}
