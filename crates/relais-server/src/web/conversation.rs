//! A conversation's page: the transcript (bot and human parts, delivery statuses,
//! media, notes set apart), the side panel (escalation reason, what the bot
//! collected, the contact card, the customer-service window and its templates), and
//! the agent's actions in one form with one CSRF token. Also attachments' downloads
//! for signed-in agents (the "I am here" beats of collision detection are `watch`).

use super::i18n::Lang;
use super::inbox::{display_name, priority_name, status_name};
use super::layout::{Form, enc, frame, lang, not_found, page, when};
use super::session::Signed;
use super::side::{contact_card, previous, suggestions, variables, window};
use crate::html::escape;
use crate::http::AppState;
use crate::http::error::ApiError;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use relais_core::id::{AgentId, ConversationId};
use relais_core::message::{AuthorKind, Direction, Message};
use relais_core::ticket::Status;
use relais_store::{Act, DeskAction, DeskConversation, DeskQuery, MediaInfo, View, Viewer};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct ConversationQuery {
    /// What the last action could not do, said on the page.
    #[serde(default)]
    error: Option<String>,
}

pub(super) fn viewer(who: &Signed) -> Viewer {
    Viewer {
        agent: who.agent.id,
        role: who.agent.role,
    }
}

pub async fn show(
    State(s): State<AppState>,
    who: Signed,
    crate::http::extract::ClientAddr(ip): crate::http::extract::ClientAddr,
    headers: axum::http::HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<ConversationQuery>,
) -> Response {
    let page = render(&s, &who, ConversationId(id), q.error.as_deref(), None).await;
    // A read, for the audit log; the page's own live refreshes are the same read.
    if page.status() == StatusCode::OK
        && !headers.contains_key("x-relais-live")
        && let Err(e) = crate::http::audit::record(
            &s,
            who.agent.id,
            Some(who.info.id),
            "read_conversation",
            format!("conversation:{id}"),
            ip,
        )
        .await
    {
        return e.into_response();
    }
    page
}

/// What a conversation's page shows besides the conversation itself.
struct PageData {
    messages: Vec<Message>,
    media: Vec<MediaInfo>,
    /// `None` for an erased contact.
    card: Option<relais_store::ContactCard>,
    history: Vec<DeskConversation>,
    teams: Vec<relais_store::TeamInfo>,
    agents: Vec<relais_store::Agent>,
    canned: Vec<relais_store::Canned>,
}

/// The page's reads: the transcript, its files, the contact's card and other
/// conversations, the teams, agents and canned responses.
async fn page_data(
    s: &AppState,
    who: &Signed,
    id: ConversationId,
    contact: relais_core::id::ContactId,
) -> Result<PageData, relais_store::Error> {
    let store = &s.rt.store;
    let messages = store.messages(id).await?;
    let media = store.conversation_media(id).await?;
    // An erased contact has no card (their conversations stay, without them).
    let card = match store.contact_card(contact).await {
        Ok(c) => Some(c),
        Err(relais_store::Error::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let history = store
        .desk_list(DeskQuery {
            contact: Some(contact),
            ..DeskQuery::view(viewer(who), View::All, 20)
        })
        .await?;
    let teams = store.teams().await?;
    let agents = store.agents().await?;
    let canned = store.canned().await?;
    Ok(PageData {
        messages,
        media,
        card,
        history,
        teams,
        agents,
        canned,
    })
}

/// The page, with an error line and the agent's unsent draft when an action was
/// refused (the draft is kept, never lost).
async fn render(
    s: &AppState,
    who: &Signed,
    id: ConversationId,
    error: Option<&str>,
    draft: Option<&str>,
) -> Response {
    let l = lang(who);
    let store = &s.rt.store;
    let found = match store.desk_open(viewer(who), id).await {
        Ok(f) => f,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(c) = found else {
        return not_found(who, "Inbox");
    };
    let d = match page_data(s, who, id, c.view.contact.id).await {
        Ok(x) => x,
        Err(e) => return ApiError::from(e).into_response(),
    };
    // Opening the page reads it: the inbox's unread marker goes.
    if let Some(last) = d.messages.last()
        && let Err(e) = store.mark_read(who.agent.id, id, last.id).await
    {
        return ApiError::from(e).into_response();
    }
    let conv = &c.view.conversation;
    let name = display_name(l, &c.view);
    let agent_name = |a: AgentId| {
        d.agents
            .iter()
            .find(|x| x.id == a)
            .map_or_else(|| format!("#{}", a.0), |x| x.name.clone())
    };
    let items: String = d
        .messages
        .iter()
        .map(|m| message(l, m, &name, &d.media, &agent_name))
        .collect();
    let reason = handed_over(l, conv);
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let window = window(s, l, &c, &who.csrf());
    let suggestions = suggestions(s, l, &d.messages, c.view.contact.language.clone()).await;
    let main = format!(
        "<div class=\"conversation\" data-conversation=\"{id}\"><section class=\"thread\" aria-labelledby=\"title\">\
         <h1 id=\"title\">{title}</h1><p class=\"facts\">{facts}</p>\
         <p class=\"others\" role=\"status\" aria-live=\"polite\" data-viewing=\"{viewing}\" data-typing=\"{typing}\"></p>\
         <ol class=\"transcript\" aria-label=\"{transcript}\">{items}</ol>{error}{composer}</section>\
         <aside class=\"side\" aria-label=\"{details}\">{reason}{suggestions}{window}{variables}{card}{history}</aside></div>{keys}{canned}",
        id = conv.id,
        title = escape(&name),
        facts = facts(l, conv, &agent_name),
        transcript = l.t("Transcript"),
        viewing = l.t("{name} is here too"),
        typing = l.t("{name} is typing…"),
        details = l.t("Details"),
        composer = composer(who, l, &c, &d.teams, &d.agents, draft),
        variables = variables(l, &conv.fields),
        card = card(who, l, conv.id, d.card.as_ref()),
        history = previous(l, &d.history, conv.id),
        keys = shortcuts(l),
        canned = canned_list(&d.canned),
    );
    page(StatusCode::OK, frame(who, "Inbox", &name, &main))
}

/// The line under the title: status, priority (unless normal), channel, team and
/// assignee.
fn facts(
    l: Lang,
    conv: &relais_core::conversation::Conversation,
    agent_name: &dyn Fn(AgentId) -> String,
) -> String {
    let assignee = conv
        .assignee
        .map(|a| format!(" · {} {}", l.t("with"), escape(&agent_name(a))))
        .unwrap_or_default();
    let priority = match conv.priority.as_str() {
        "normal" => String::new(),
        p => format!(
            " <span class=\"priority {p}\">{}</span>",
            priority_name(l, p)
        ),
    };
    format!(
        "<span class=\"status {status}\">{status_name}</span>{priority} {channel}{team}{assignee}",
        status = conv.status.as_str(),
        status_name = status_name(l, conv.status),
        channel = escape(conv.channel.as_str()),
        team = conv
            .team
            .as_deref()
            .map(|t| format!(" · {} {}", l.t("team"), escape(t)))
            .unwrap_or_default(),
    )
}

/// Why the bot handed the conversation over, when it did.
fn handed_over(l: Lang, conv: &relais_core::conversation::Conversation) -> String {
    conv.escalation_reason
        .as_deref()
        .map(|r| {
            format!(
                "<p class=\"reason\"><strong>{}</strong> {}</p>",
                l.t("Handed over:"),
                escape(r)
            )
        })
        .unwrap_or_default()
}

/// The contact's card, or the line that says the contact was erased.
fn card(
    who: &Signed,
    l: Lang,
    conversation: ConversationId,
    card: Option<&relais_store::ContactCard>,
) -> String {
    match card {
        Some(card) => contact_card(who, l, conversation, card),
        None => format!(
            "<section class=\"card\"><h2>{}</h2><p class=\"hint\">{}</p></section>",
            l.t("Contact"),
            l.t("Erased contact")
        ),
    }
}

/// One message of the transcript.
fn message(
    l: Lang,
    m: &Message,
    contact: &str,
    media: &[MediaInfo],
    agent_name: &dyn Fn(AgentId) -> String,
) -> String {
    let (class, by) = match (m.direction, m.author) {
        (Direction::Inbound, _) => ("them", contact.to_owned()),
        (Direction::Note, _) => (
            "note",
            format!(
                "{} · {}",
                l.t("Internal note"),
                m.agent.map(agent_name).unwrap_or_default()
            ),
        ),
        (_, AuthorKind::Agent) => (
            "agent",
            m.agent.map_or_else(|| l.t("Agent").to_owned(), agent_name),
        ),
        (_, AuthorKind::Bot) => ("bot", l.t("Bot").to_owned()),
        _ => ("bot", "Relais".to_owned()),
    };
    let files: String = media
        .iter()
        .filter(|f| f.message == m.id)
        .map(|f| {
            let label = f
                .filename
                .clone()
                .unwrap_or_else(|| format!("{} {}", f.kind, f.id));
            match f.state.as_str() {
                // Images shown (served from this site only: the pages' CSP).
                "stored"
                    if f.mime_type.as_deref().is_some_and(|m| {
                        m.starts_with("image/") && m != "image/svg+xml"
                    }) =>
                {
                    format!(
                        "<a class=\"file\" href=\"/media/{id}\"><img src=\"/media/{id}\" alt=\"{alt}\" \
                         loading=\"lazy\" class=\"thumb\"></a>",
                        id = f.id,
                        alt = escape(&label)
                    )
                }
                "stored" => format!(
                    "<a class=\"file\" href=\"/media/{}\">{}</a>",
                    f.id,
                    escape(&label)
                ),
                "failed" => format!(
                    "<span class=\"file failed\">{} ({})</span>",
                    escape(&label),
                    l.t("could not be fetched")
                ),
                _ => format!(
                    "<span class=\"file\">{} ({})</span>",
                    escape(&label),
                    l.t("being fetched")
                ),
            }
        })
        .collect();
    let status = m
        .status
        .map(|st| format!(" · <span class=\"delivery {0}\">{0}</span>", st.as_str()))
        .unwrap_or_default();
    format!(
        "<li class=\"{class}\" data-message=\"{id}\"><span class=\"by\">{by}</span><p>{text}</p>{files}\
         <span class=\"meta\"><time>{at}</time> · {channel}{status}</span></li>",
        id = m.id.0,
        by = escape(&by),
        text = escape(&m.text),
        at = when(m.created_at),
        channel = escape(m.channel.as_str()),
    )
}

/// The reply box and the actions. `seen` is the conversation's last message number
/// on screen: a reply after the conversation moved on is stopped and shown the news
/// first.
fn composer(
    who: &Signed,
    l: Lang,
    c: &DeskConversation,
    teams: &[relais_store::TeamInfo],
    agents: &[relais_store::Agent],
    draft: Option<&str>,
) -> String {
    let conv = &c.view.conversation;
    if c.view.address.is_empty() {
        // Erased, or forgotten by retention: no one is left to write to.
        return String::new();
    }
    let claim = if conv.assignee.is_none() && conv.status == Status::Open {
        format!(
            "<button type=\"submit\" name=\"action\" value=\"claim\" class=\"second\" data-key=\"c\">{}</button>",
            l.t("Claim")
        )
    } else {
        String::new()
    };
    let state_buttons = match conv.status {
        Status::Solved | Status::Closed => format!(
            "<button type=\"submit\" name=\"action\" value=\"reopen\" class=\"second\" data-key=\"o\">{}</button>",
            l.t("Reopen")
        ),
        _ => format!(
            "<button type=\"submit\" name=\"action\" value=\"pending\" class=\"second\" data-key=\"p\">{}</button>\
             <button type=\"submit\" name=\"action\" value=\"solve\" class=\"second\" data-key=\"s\">{}</button>",
            l.t("Pending"),
            l.t("Solve")
        ),
    };
    let transfer = transfer(who, l, conv, teams, agents);
    let seen = conv.last_seq;
    let client_id = hex::encode(rand::random::<[u8; 12]>());
    format!(
        "<form class=\"composer\" method=\"post\" action=\"/conversations/{id}/act\">\
         <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"client_id\" value=\"{client_id}\">\
         <input type=\"hidden\" name=\"seen\" value=\"{seen}\">\
         <label for=\"reply\" class=\"sr\">{reply}</label>\
         <textarea id=\"reply\" name=\"text\" rows=\"3\" placeholder=\"{hint}\" maxlength=\"4096\" \
         aria-describedby=\"reply-help\" aria-autocomplete=\"list\" aria-controls=\"canned-menu\">{draft}</textarea>\
         <ul id=\"canned-menu\" role=\"listbox\" aria-label=\"{canned}\" hidden></ul>\
         <p id=\"reply-help\" class=\"hint\">{help}</p>\
         <div class=\"actions\"><button type=\"submit\" name=\"action\" value=\"reply\">{send}</button>\
         <button type=\"submit\" name=\"action\" value=\"note\" class=\"second\" data-key=\"n\">{note}</button>\
         {claim}{state_buttons}{transfer}</div></form>",
        id = conv.id,
        csrf = who.csrf(),
        reply = l.t("Reply"),
        hint = l.t("Reply… (/ for canned responses)"),
        help = l.t("Enter sends, Shift+Enter starts a new line, ? lists the shortcuts."),
        canned = l.t("Canned responses"),
        send = l.t("Send"),
        note = l.t("Note"),
        draft = escape(draft.unwrap_or_default()),
    )
}

/// Transfer: to another team's queue or to an agent, the text as the note (nothing
/// when there is no one to transfer to).
fn transfer(
    who: &Signed,
    l: Lang,
    conv: &relais_core::conversation::Conversation,
    teams: &[relais_store::TeamInfo],
    agents: &[relais_store::Agent],
) -> String {
    let team_opts: String = teams
        .iter()
        .filter(|t| conv.team.as_deref() != Some(t.team.id.as_str()))
        .map(|t| {
            format!(
                "<option value=\"team:{}\">{}</option>",
                escape(&t.team.id),
                escape(&t.team.name)
            )
        })
        .collect();
    let agent_opts: String = agents
        .iter()
        .filter(|a| !a.disabled && a.id != who.agent.id && Some(a.id) != conv.assignee)
        .map(|a| {
            format!(
                "<option value=\"agent:{}\">{} ({})</option>",
                a.id.0,
                escape(&a.name),
                a.presence.as_str()
            )
        })
        .collect();
    if team_opts.is_empty() && agent_opts.is_empty() {
        String::new()
    } else {
        format!(
            "<span class=\"transfer\"><select id=\"to\" name=\"to\" aria-label=\"{to}\">\
             <optgroup label=\"{teams}\">{team_opts}</optgroup><optgroup label=\"{agents}\">{agent_opts}</optgroup></select>\
             <button type=\"submit\" name=\"action\" value=\"transfer\" class=\"second\" data-key=\"t\">{transfer}</button></span>",
            to = l.t("Transfer to"),
            teams = l.t("Teams"),
            agents = l.t("Agents"),
            transfer = l.t("Transfer"),
        )
    }
}

/// `POST /conversations/{id}/erase-contact` (admins): the conversation's contact
/// erased, through the API's own path (recorded the same way); back to the page.
pub async fn erase_contact(
    State(s): State<AppState>,
    who: Signed,
    crate::http::extract::ClientAddr(ip): crate::http::extract::ClientAddr,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Response {
    let f = match Form::checked(&who, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let l = lang(&who);
    if who.agent.role != relais_core::agent::Role::Admin {
        return not_found(&who, "Inbox");
    }
    let back = |error: Option<&str>| {
        let q = error
            .map(|e| format!("?error={}", enc(e)))
            .unwrap_or_default();
        Redirect::to(&format!("/conversations/{id}{q}")).into_response()
    };
    if f.get("confirm") != Some("yes") {
        return back(Some(l.t("Tick the box to confirm the erasure.")));
    }
    let contact = match s.rt.store.desk_peek(viewer(&who), ConversationId(id)).await {
        Ok(Some(c)) => c.view.contact.id,
        Ok(None) => return not_found(&who, "Inbox"),
        Err(e) => return ApiError::from(e).into_response(),
    };
    match crate::http::contacts::erase_recorded(&s, who.agent.id, Some(who.info.id), ip, contact)
        .await
    {
        Ok(_) => back(None),
        Err(e) => e.into_response(),
    }
}

/// The shortcuts' list, opened with `?` (here and in the inbox).
pub(crate) fn shortcuts(l: Lang) -> String {
    let rows: String = [
        ("r", l.t("Write a reply")),
        ("/", l.t("Search the canned responses (in the reply box)")),
        ("n", l.t("Send the text as an internal note")),
        ("c", l.t("Claim")),
        ("t", l.t("Transfer")),
        ("p", l.t("Pending")),
        ("s", l.t("Solve")),
        ("o", l.t("Reopen")),
        ("g i", l.t("Go to the inbox")),
        ("j / k", l.t("Next / previous conversation (in the inbox)")),
        ("?", l.t("Show this list")),
    ]
    .iter()
    .map(|(k, what)| format!("<dt><kbd>{}</kbd></dt><dd>{what}</dd>", escape(k)))
    .collect();
    format!(
        "<dialog id=\"keys\" aria-labelledby=\"keys-title\"><h2 id=\"keys-title\">{}</h2><dl>{rows}</dl>\
         <form method=\"dialog\"><button type=\"submit\">{}</button></form></dialog>",
        l.t("Keyboard shortcuts"),
        l.t("Close")
    )
}

/// The canned responses, for the `/` menu (read by the script).
fn canned_list(canned: &[relais_store::Canned]) -> String {
    let items: String = canned
        .iter()
        .map(|c| {
            format!(
                "<li data-shortcut=\"{}\" data-title=\"{}\" data-language=\"{}\">{}</li>",
                escape(&c.shortcut),
                escape(&c.title),
                escape(c.language.as_deref().unwrap_or_default()),
                escape(&c.body)
            )
        })
        .collect();
    format!("<ul id=\"canned\" hidden>{items}</ul>")
}

/// An agent's action from the page: reply, note, claim, transfer, pending, solve,
/// reopen, a template. The reply's hidden id makes a double submit send once; its
/// `seen` makes a reply to a conversation that moved on stop and show the news.
pub async fn act(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let f = match Form::checked(&who, &body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let l = lang(&who);
    let cid = ConversationId(id);
    let act = match form_act(&s, &who, l, cid, &f).await {
        Ok(act) => act,
        Err(r) => return r,
    };
    if let Err(e) = s.rt.seen(who.agent.id).await {
        return ApiError::from(e).into_response();
    }
    let done =
        s.rt.act(DeskAction {
            viewer: viewer(&who),
            conversation: cid,
            act,
            now: relais_core::Timestamp(0),
        })
        .await;
    match done {
        Ok(_) => back_to(cid, None),
        Err(relais_store::Error::WindowClosed { reason }) => back_to(cid, Some(&reason)),
        Err(e) => match ApiError::from(e) {
            ApiError::NotFound(_) => not_found(&who, "Inbox"),
            ApiError::Conflict(m) | ApiError::Forbidden(m) => back_to(cid, Some(&m)),
            ApiError::BadRequest { message, .. } => back_to(cid, Some(&message)),
            other => other.into_response(),
        },
    }
}

/// Back to the conversation's page, with what could not be done said on it.
fn back_to(id: ConversationId, error: Option<&str>) -> Response {
    let q = error
        .map(|e| format!("?error={}", enc(e)))
        .unwrap_or_default();
    Redirect::to(&format!("/conversations/{}{q}", id.0)).into_response()
}

/// A reply's or a note's text: not empty, at most 4096 characters.
fn needs_text(l: Lang, text: String) -> Result<String, &'static str> {
    if text.is_empty() {
        Err(l.t("Write something first."))
    } else if text.chars().count() > 4096 {
        Err(l.t("At most 4096 characters."))
    } else {
        Ok(text)
    }
}

/// The action the form asks for; a refusal is the answer to send instead.
async fn form_act(
    s: &AppState,
    who: &Signed,
    l: Lang,
    cid: ConversationId,
    f: &Form,
) -> Result<Act, Response> {
    let text = f.get("text").unwrap_or_default().trim().to_owned();
    Ok(match f.get("action") {
        Some("reply") => reply_act(s, who, l, cid, f, text).await?,
        Some("template") => {
            let params: Vec<String> = f.all("param").into_iter().map(str::to_owned).collect();
            match crate::http::desk::template_reply(
                s,
                f.get("template").unwrap_or_default(),
                f.get("language"),
                params,
            ) {
                Ok((text, template)) => Act::Reply {
                    text,
                    client_id: None,
                    pending: false,
                    media: None,
                    template: Some(template),
                },
                Err(ApiError::BadRequest { message, .. }) => {
                    return Err(back_to(cid, Some(&message)));
                }
                Err(e) => return Err(e.into_response()),
            }
        }
        Some("note") => match needs_text(l, text) {
            Ok(text) => Act::Note { text },
            Err(e) => return Err(back_to(cid, Some(e))),
        },
        Some("claim") => Act::Claim,
        Some("transfer") => {
            let to = f.get("to").unwrap_or_default();
            let (team, agent) = if let Some(t) = to.strip_prefix("team:") {
                (Some(t.to_owned()), None)
            } else if let Some(a) = to.strip_prefix("agent:").and_then(|a| a.parse().ok()) {
                (None, Some(AgentId(a)))
            } else {
                return Err(back_to(
                    cid,
                    Some(l.t("Choose a team or an agent to transfer to.")),
                ));
            };
            if team.as_ref().is_some_and(|t| t.is_empty() || t.len() > 64) {
                return Err(back_to(
                    cid,
                    Some(l.t("Choose a team or an agent to transfer to.")),
                ));
            }
            Act::Transfer {
                team,
                agent,
                note: Some(text).filter(|t| !t.is_empty()),
            }
        }
        Some("pending") => Act::SetPending,
        Some("solve") => Act::Solve,
        Some("reopen") => Act::Reopen,
        _ => return Err(back_to(cid, Some(l.t("Unknown action.")))),
    })
}

/// A reply; when the conversation moved on since the page was drawn, the page again
/// (409) with the news and the draft kept.
async fn reply_act(
    s: &AppState,
    who: &Signed,
    l: Lang,
    cid: ConversationId,
    f: &Form,
    text: String,
) -> Result<Act, Response> {
    let text = match needs_text(l, text) {
        Ok(t) => t,
        Err(e) => return Err(back_to(cid, Some(e))),
    };
    // The conversation moved on since the page was drawn: say so, keep the draft.
    // (A form without `seen`, not drawn by this page, is not checked.)
    let seen: Option<i64> = f.get("seen").and_then(|v| v.parse().ok());
    let open = match seen {
        Some(_) => s.rt.store.desk_open(viewer(who), cid).await,
        None => Ok(None),
    };
    match open {
        Ok(Some(c)) if Some(c.view.conversation.last_seq) > seen => {
            let mut r = render(
                s,
                who,
                cid,
                Some(l.t(
                    "This conversation changed since you opened it: read the new messages, then send again.",
                )),
                Some(&text),
            )
            .await;
            *r.status_mut() = StatusCode::CONFLICT;
            return Err(r);
        }
        Ok(_) => {}
        Err(e) => return Err(ApiError::from(e).into_response()),
    }
    Ok(Act::Reply {
        text,
        client_id: f
            .get("client_id")
            .filter(|c| !c.is_empty() && c.len() <= 100)
            .map(str::to_owned),
        pending: false,
        media: None,
        template: None,
    })
}

/// An attachment, for a signed-in agent who may see its conversation.
pub async fn media(State(s): State<AppState>, who: Signed, Path(id): Path<i64>) -> Response {
    match crate::http::desk::media_download(&s, viewer(&who), id).await {
        Ok(r) => r,
        Err(ApiError::NotFound(_)) => not_found(&who, "Inbox"),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shortcuts_list_names_every_key_the_script_handles() {
        let html = shortcuts(Lang::En);
        for key in ["r", "/", "n", "c", "t", "p", "s", "o", "g i", "j / k", "?"] {
            assert!(html.contains(&format!("<kbd>{key}</kbd>")), "{key}");
        }
        let js = include_str!("../../web/app.js");
        for key in [
            "\"?\"", "\"g\"", "\"i\"", "\"r\"", "\"j\"", "\"k\"", "data-key",
        ] {
            assert!(js.contains(key), "{key}");
        }
    }
}
