//! The inbox: the views of SPEC §9 with their counts, filters (channel, team,
//! priority, status) and search, each row with the contact, channel, status, waiting
//! time, last message and an unread marker. The lists are the JSON API's store
//! queries, so a row the agent may not see is never rendered.

use super::i18n::Lang;
use super::layout::{enc, frame, lang, page, since};
use super::session::Signed;
use crate::html::escape;
use crate::http::AppState;
use crate::http::error::ApiError;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use relais_core::access;
use relais_core::message::Direction;
use relais_core::ticket::Status;
use relais_store::{DeskConversation, DeskQuery, View, Viewer};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct InboxQuery {
    #[serde(default)]
    view: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    q: Option<String>,
}

fn view_name(l: Lang, v: View) -> &'static str {
    match v {
        View::Mine => l.t("Mine"),
        View::Unassigned => l.t("Unassigned"),
        View::MyTeams => l.t("My teams"),
        View::Pending => l.t("Pending"),
        View::Solved => l.t("Solved"),
        View::All => l.t("All"),
    }
}

pub fn status_name(l: Lang, s: Status) -> &'static str {
    match s {
        Status::Bot => l.t("with the bot"),
        Status::Open => l.t("open"),
        Status::Pending => l.t("pending"),
        Status::Solved => l.t("solved"),
        Status::Closed => l.t("closed"),
    }
}

pub fn priority_name(l: Lang, p: &str) -> &'static str {
    match p {
        "low" => l.t("low"),
        "high" => l.t("high"),
        "urgent" => l.t("urgent"),
        _ => l.t("normal"),
    }
}

/// A filter's value: empty means "any"; at most 200 characters.
fn some(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map(str::to_owned)
}

pub async fn inbox(
    State(s): State<AppState>,
    who: Signed,
    Query(q): Query<InboxQuery>,
) -> Response {
    let l = lang(&who);
    let viewer = Viewer {
        agent: who.agent.id,
        role: who.agent.role,
    };
    let all = access::sees_all(who.agent.role);
    let view = q
        .view
        .as_deref()
        .and_then(View::parse)
        .filter(|v| *v != View::All || all)
        .unwrap_or(View::Mine);
    let status = some(&q.status).and_then(|s| Status::parse(&s));
    let priority =
        some(&q.priority).filter(|p| relais_core::conversation::Priority::parse(p).is_some());
    let query = DeskQuery {
        channel: some(&q.channel),
        team: some(&q.team),
        priority,
        status,
        search: some(&q.q),
        ..DeskQuery::view(viewer, view, 100)
    };
    let store = &s.rt.store;
    let loaded = async {
        Ok::<_, relais_store::Error>((
            store.desk_list(query.clone()).await?,
            store.desk_counts(viewer).await?,
            store.channels().await?,
            store.teams().await?,
        ))
    }
    .await;
    let (list, counts, channels, teams) = match loaded {
        Ok(x) => x,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let tabs = view_tabs(l, &counts, view, &kept_filters(&query));
    let filters = filters_form(l, view, &query, &channels, &teams);
    let now = s.rt.clock.now();
    let rows: String = if list.is_empty() {
        format!(
            "<p class=\"empty empty-inbox\">{}</p>",
            l.t("Nothing here.")
        )
    } else {
        let items: String = list.iter().map(|c| row(l, c, now)).collect();
        format!("<ul class=\"rows\">{items}</ul>")
    };
    let main = format!(
        "<h1>{inbox}</h1><nav class=\"views\" aria-label=\"{views}\">{tabs}</nav>{filters}{rows}{keys}",
        inbox = l.t("Inbox"),
        views = l.t("Views"),
        keys = super::conversation::shortcuts(l),
    );
    page(StatusCode::OK, frame(&who, "Inbox", l.t("Inbox"), &main))
}

/// The query's filters as the rest of a link's query string: they stay on when
/// switching views.
fn kept_filters(query: &DeskQuery) -> String {
    let mut keep = String::new();
    for (k, v) in [
        ("channel", &query.channel),
        ("team", &query.team),
        ("priority", &query.priority),
        ("q", &query.search),
    ] {
        if let Some(v) = v {
            keep.push_str(&format!("&amp;{k}={}", enc(v)));
        }
    }
    if let Some(st) = query.status {
        keep.push_str(&format!("&amp;status={}", st.as_str()));
    }
    keep
}

/// The views' tabs with their counts, the current one marked.
fn view_tabs(l: Lang, counts: &[(View, i64)], view: View, keep: &str) -> String {
    counts
        .iter()
        .map(|(v, n)| {
            let current = if *v == view {
                " aria-current=\"page\""
            } else {
                ""
            };
            format!(
                "<a href=\"/inbox?view={}{keep}\"{current}>{} <span class=\"count\">{n}</span></a>",
                v.as_str(),
                view_name(l, *v)
            )
        })
        .collect()
}

/// One option of a filter's list, selected when it is the chosen value.
fn option(value: &str, label: &str, chosen: Option<&str>) -> String {
    let sel = if chosen == Some(value) {
        " selected"
    } else {
        ""
    };
    format!(
        "<option value=\"{}\"{sel}>{}</option>",
        escape(value),
        escape(label)
    )
}

/// The search and filters' form (the view kept in a hidden field).
fn filters_form(
    l: Lang,
    view: View,
    query: &DeskQuery,
    channels: &[relais_store::Channel],
    teams: &[relais_store::TeamInfo],
) -> String {
    let any = l.t("Any");
    let channel_opts: String = std::iter::once(option("", any, None))
        .chain(
            channels
                .iter()
                .map(|c| option(c.id.as_str(), &c.name, query.channel.as_deref())),
        )
        .collect();
    let team_opts: String = std::iter::once(option("", any, None))
        .chain(
            teams
                .iter()
                .map(|t| option(&t.team.id, &t.team.name, query.team.as_deref())),
        )
        .collect();
    let priority_opts: String = std::iter::once(option("", any, None))
        .chain(
            ["urgent", "high", "normal", "low"]
                .iter()
                .map(|p| option(p, priority_name(l, p), query.priority.as_deref())),
        )
        .collect();
    let status_opts: String = std::iter::once(option("", any, None))
        .chain(
            [
                Status::Open,
                Status::Pending,
                Status::Solved,
                Status::Closed,
            ]
            .iter()
            .map(|st| {
                option(
                    st.as_str(),
                    status_name(l, *st),
                    query.status.map(Status::as_str),
                )
            }),
        )
        .collect();
    format!(
        "<form class=\"filters\" method=\"get\" action=\"/inbox\" role=\"search\">\
         <input type=\"hidden\" name=\"view\" value=\"{view}\">\
         <label class=\"grow\"><span>{search}</span><input type=\"search\" name=\"q\" value=\"{qv}\" \
         placeholder=\"{search_hint}\"></label>\
         <label><span>{channel}</span><select name=\"channel\">{channel_opts}</select></label>\
         <label><span>{team}</span><select name=\"team\">{team_opts}</select></label>\
         <label><span>{priority}</span><select name=\"priority\">{priority_opts}</select></label>\
         <label><span>{status_word}</span><select name=\"status\">{status_opts}</select></label>\
         <button type=\"submit\" class=\"second\">{filter}</button></form>",
        view = view.as_str(),
        search = l.t("Search"),
        search_hint = l.t("Contact or words in a message"),
        qv = escape(query.search.as_deref().unwrap_or_default()),
        channel = l.t("Channel"),
        team = l.t("Team"),
        priority = l.t("Priority"),
        status_word = l.t("Status"),
        filter = l.t("Filter"),
    )
}

/// One conversation of the list.
fn row(l: Lang, c: &DeskConversation, now: relais_core::Timestamp) -> String {
    let conv = &c.view.conversation;
    let who = display_name(l, &c.view);
    let waiting = match (conv.status, c.queued_at, conv.assignee) {
        (Status::Open, Some(t), None) => l.t("waiting {n}").replace("{n}", &since(now.0 - t.0)),
        _ => String::new(),
    };
    let last = c
        .last_message
        .as_ref()
        .map(|m| {
            let text: String = m.text.chars().take(140).collect();
            let by = match m.direction {
                Direction::Inbound => "",
                _ => l.t("Sent: "),
            };
            format!(
                "<span class=\"last\">{by}{}</span><span class=\"ago\">{}</span>",
                escape(&text),
                l.t("{n} ago").replace("{n}", &since(now.0 - m.at.0))
            )
        })
        .unwrap_or_default();
    let unread = if c.unread {
        format!(
            "<span class=\"unread\" title=\"{0}\"><span class=\"sr\">{0}</span></span>",
            l.t("Unread")
        )
    } else {
        String::new()
    };
    let priority = match conv.priority.as_str() {
        "normal" => String::new(),
        p => format!(
            "<span class=\"priority {p}\">{}</span>",
            priority_name(l, p)
        ),
    };
    format!(
        "<li{cls} data-conversation=\"{id}\"><a href=\"/conversations/{id}\">\
         <span class=\"line\">{unread}<span class=\"who\">{who}</span>{priority}\
         <span class=\"channel\">{channel}</span><span class=\"status {status}\">{status_name}</span>\
         <span class=\"wait\">{waiting}</span></span><span class=\"line second-line\">{last}</span></a></li>",
        cls = if c.unread { " class=\"is-unread\"" } else { "" },
        id = conv.id,
        who = escape(&who),
        channel = escape(conv.channel.as_str()),
        status = conv.status.as_str(),
        status_name = status_name(l, conv.status),
    )
}

/// Who wrote, for agents: the contact's name, else their address (a web chat visitor
/// has only an opaque one: shown short).
pub fn display_name(l: Lang, v: &relais_store::ConversationView) -> String {
    v.contact
        .name
        .clone()
        .unwrap_or_else(|| match v.address.strip_prefix("v-") {
            Some(id) => format!("{} {}", l.t("Visitor"), &id[..id.len().min(6)]),
            // Erased (or forgotten by retention): nothing is left to name them by.
            None if v.address.is_empty() => l.t("Erased contact").to_owned(),
            None => v.address.clone(),
        })
}
