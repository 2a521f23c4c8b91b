//! The audit log's page (admins): who read which conversation or contact, when and from
//! where, and every admin change with what it changed; oldest first, 200 at a time,
//! and its CSV.

use super::*;

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    after: Option<i64>,
}

const PAGE: u32 = 200;

pub(super) async fn audit(
    State(s): State<AppState>,
    who: Signed,
    Query(q): Query<AuditQuery>,
) -> Response {
    if !writes(&who) {
        return not_found(&who, "Inbox");
    }
    let l = lang(&who);
    let loaded = async {
        Ok::<_, relais_store::Error>((
            s.rt.store.access_log(q.after.unwrap_or(0), PAGE).await?,
            s.rt.store.agents().await?,
        ))
    }
    .await;
    let (entries, agents) = match loaded {
        Ok(x) => x,
        Err(e) => return super::super::failed(e),
    };
    let name = |id: AgentId| {
        if id.0 == 0 {
            return l.t("System").to_owned();
        }
        agents
            .iter()
            .find(|a| a.id == id)
            .map_or_else(|| format!("#{}", id.0), |a| a.name.clone())
    };
    let rows: String = entries
        .iter()
        .map(|e| {
            let target = match e.target.strip_prefix("conversation:") {
                Some(id) => format!("<a href=\"/conversations/{id}\">{}</a>", escape(&e.target)),
                None => escape(&e.target),
            };
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{target}</td><td>{}</td><td><code>{}</code></td></tr>",
                super::super::layout::when(e.at),
                escape(&name(e.agent)),
                escape(&e.action),
                escape(e.ip.as_deref().unwrap_or("—")),
                escape(e.detail.as_deref().unwrap_or("")),
            )
        })
        .collect();
    let next = if entries.len() as u32 == PAGE {
        entries
            .last()
            .map(|e| {
                format!(
                    "<p><a href=\"/audit?after={}\">{}</a></p>",
                    e.id,
                    l.t("Next page")
                )
            })
            .unwrap_or_default()
    } else {
        String::new()
    };
    let main = format!(
        "<h1>{title}</h1><p class=\"hint\">{how}</p><div class=\"scroll\"><table><thead><tr>\
         <th scope=\"col\">{when}</th><th scope=\"col\">{who_l}</th><th scope=\"col\">{what}</th>\
         <th scope=\"col\">{target}</th><th scope=\"col\">{from}</th><th scope=\"col\">{details}</th></tr></thead>\
         <tbody>{rows}</tbody></table></div>\
         {next}<p><a href=\"/audit.csv\" download>{csv}</a></p>",
        title = l.t("Audit log"),
        how = l.t("Every read of a conversation or a contact, and every admin change: by whom, from where, what."),
        details = l.t("Details"),
        when = l.t("When"),
        who_l = l.t("Agent"),
        what = l.t("Action"),
        target = l.t("Target"),
        from = l.t("From where"),
        csv = l.t("Download (CSV)"),
    );
    section(&who, "Settings", l.t("Audit log"), main)
}

pub(super) async fn audit_csv(State(s): State<AppState>, who: Signed) -> Response {
    if !writes(&who) {
        return not_found(&who, "Inbox");
    }
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = match s.rt.store.access_log(after, 5000).await {
            Ok(p) => p,
            Err(e) => return super::super::failed(e),
        };
        let n = page.len();
        after = page.last().map_or(after, |e| e.id);
        all.extend(page);
        if n < 5000 {
            break;
        }
    }
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        crate::http::audit::csv(&all),
    )
        .into_response()
}
