//! The dashboard (SPEC §10, issue 16): the KPIs of a period with filters, charts drawn
//! on the server as SVG (no script, no inline style), and CSV downloads. It reads the
//! same report as `GET /api/v1/reports/…` (`http::reports::report`).

use super::i18n::Lang;
use super::layout::{enc, frame, lang, not_found, page, reads_config};
use super::session::Signed;
use crate::html::escape;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::reports::{self, Report, ReportParams};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use relais_core::kpi;
use serde::Deserialize;
use std::fmt::Write;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(dashboard))
        .route("/dashboard/summary.csv", get(summary_csv))
        .route("/dashboard/flows.csv", get(flows_csv))
}

/// The page's filters: days (`YYYY-MM-DD`, `to` included) in a time zone.
#[derive(Deserialize, Default, Clone)]
pub struct Filters {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    tz: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    flow: Option<String>,
}

impl Filters {
    /// The API's parameters: the days' bounds as instants in the time zone.
    fn params(&self) -> Result<ReportParams, ApiError> {
        let tz_name = self
            .tz
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| "UTC".into());
        let tz = jiff::tz::TimeZone::get(&tz_name)
            .map_err(|_| ApiError::field("tz", format!("{tz_name:?} is not an IANA time zone")))?;
        let day =
            |field: &str, v: &Option<String>, next: bool| -> Result<Option<String>, ApiError> {
                let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
                    return Ok(None);
                };
                let d: jiff::civil::Date = v.parse().map_err(|_| {
                    ApiError::field(field, format!("{v:?} is not a date (YYYY-MM-DD)"))
                })?;
                let d = if next {
                    d.tomorrow()
                        .map_err(|e| ApiError::field(field, e.to_string()))?
                } else {
                    d
                };
                let t = d
                    .to_zoned(tz.clone())
                    .map_err(|e| ApiError::field(field, e.to_string()))?
                    .timestamp();
                Ok(Some(t.to_string()))
            };
        Ok(ReportParams {
            from: day("from", &self.from, false)?,
            to: day("to", &self.to, true)?,
            channel: self.channel.clone(),
            flow: self.flow.clone(),
            team: self.team.clone(),
            tz: Some(tz_name),
            format: None,
        })
    }

    fn query(&self) -> String {
        [
            ("from", &self.from),
            ("to", &self.to),
            ("tz", &self.tz),
            ("channel", &self.channel),
            ("team", &self.team),
            ("flow", &self.flow),
        ]
        .iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", enc(v)))
        })
        .collect::<Vec<_>>()
        .join("&amp;")
    }
}

async fn load(s: &AppState, who: &Signed, f: &Filters) -> Result<Report, Response> {
    if !reads_config(who) {
        return Err(not_found(who, "Inbox"));
    }
    let p = f.params().map_err(IntoResponse::into_response)?;
    reports::report(s, &p)
        .await
        .map_err(IntoResponse::into_response)
}

async fn summary_csv(State(s): State<AppState>, who: Signed, Query(f): Query<Filters>) -> Response {
    match load(&s, &who, &f).await {
        Ok(r) => reports::csv("summary", reports::summary_csv(&r)),
        Err(r) => r,
    }
}

async fn flows_csv(State(s): State<AppState>, who: Signed, Query(f): Query<Filters>) -> Response {
    match load(&s, &who, &f).await {
        Ok(r) => reports::csv("flows", reports::flows_csv(&r)),
        Err(r) => r,
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |x| format!("{:.0} %", x * 100.0))
}

fn secs(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(s) if s < 90.0 => format!("{s:.0} s"),
        Some(s) if s < 5400.0 => format!("{:.0} min", s / 60.0),
        Some(s) => format!("{:.1} h", s / 3600.0),
    }
}

/// Horizontal bars: one row per (label, value), the longest at full width.
fn bars(title: &str, rows: &[(String, usize)]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let max = rows.iter().map(|(_, v)| *v).max().unwrap_or(1).max(1);
    let (w, row_h, label_w) = (560i64, 26i64, 190i64);
    let h = row_h * rows.len() as i64 + 8;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{}\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         font-family=\"system-ui, sans-serif\" font-size=\"12\">",
        escape(title)
    );
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = 4 + i as i64 * row_h;
        let len = ((w - label_w - 50) as f64 * (*v as f64 / max as f64)).round() as i64;
        let _ = write!(
            svg,
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" fill=\"#1d2330\">{label}</text>\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{len}\" height=\"18\" rx=\"3\" fill=\"#2457c5\"/>\
             <text x=\"{vx}\" y=\"{ty}\" fill=\"#1d2330\">{v}</text>",
            lx = label_w - 8,
            ty = y + 13,
            label = escape(&label.chars().take(28).collect::<String>()),
            vx = label_w + len + 6,
        );
    }
    svg.push_str("</svg>");
    format!(
        "<figure class=\"panel\"><figcaption>{}</figcaption>{svg}</figure>",
        escape(title)
    )
}

/// The trend: conversations per day, the deflected and escalated parts stacked.
fn trend(l: Lang, r: &Report, tz: &jiff::tz::TimeZone) -> String {
    let days = every_day(r, tz);
    if days.is_empty() {
        return String::new();
    }
    let (w, h, pad) = (560i64, 180i64, 28i64);
    let max = days
        .iter()
        .map(|d| d.conversations)
        .max()
        .unwrap_or(1)
        .max(1);
    let step = ((w - 2 * pad) as f64 / days.len() as f64).max(2.0);
    let bar = (step * 0.7).max(1.0);
    let y_of = |v: usize| h - pad - ((h - 2 * pad) as f64 * v as f64 / max as f64) as i64;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{label}\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         font-family=\"system-ui, sans-serif\" font-size=\"11\">\
         <line x1=\"{pad}\" y1=\"{base}\" x2=\"{x2}\" y2=\"{base}\" stroke=\"#5b6476\"/>\
         <text x=\"{pad}\" y=\"14\" fill=\"#5b6476\">{max}</text>",
        label = escape(l.t("Conversations per day")),
        base = h - pad,
        x2 = w - pad,
    );
    for (i, d) in days.iter().enumerate() {
        let x = pad as f64 + i as f64 * step;
        let other = d.conversations.saturating_sub(d.deflected + d.escalated);
        let mut top = h - pad;
        for (n, fill, what) in [
            (d.deflected, "#1f7a3a", l.t("deflected")),
            (d.escalated, "#9a5b00", l.t("escalated")),
            (other, "#6b7488", l.t("other")),
        ] {
            if n == 0 {
                continue;
            }
            let hgt = (h - pad) - y_of(n);
            top -= hgt;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{top}\" width=\"{bar:.1}\" height=\"{hgt}\" fill=\"{fill}\"><title>{day}: {n} {what}</title></rect>",
                day = escape(&d.day),
            );
        }
    }
    let first = &days[0].day;
    let last = &days[days.len() - 1].day;
    let _ = write!(
        svg,
        "<text x=\"{pad}\" y=\"{ty}\" fill=\"#5b6476\">{}</text><text x=\"{x2}\" y=\"{ty}\" text-anchor=\"end\" fill=\"#5b6476\">{}</text></svg>",
        escape(first),
        escape(last),
        ty = h - 8,
        x2 = w - pad,
    );
    format!(
        "<figure class=\"panel\"><figcaption>{} <span class=\"legend\"><span class=\"key ok\">■</span> {} \
         <span class=\"key warn\">■</span> {} <span class=\"key\">■</span> {}</span></figcaption>{svg}</figure>",
        l.t("Conversations per day"),
        l.t("deflected"),
        l.t("escalated"),
        l.t("other")
    )
}

/// Every day of the report's period in the time zone, the empty ones too (at most 400).
fn every_day(r: &Report, tz: &jiff::tz::TimeZone) -> Vec<kpi::Day> {
    let mut days: Vec<kpi::Day> = Vec::new();
    let mut d = r.from.to_zoned(tz.clone()).date();
    let last =
        r.to.checked_sub(jiff::SignedDuration::from_millis(1))
            .unwrap_or(r.to)
            .to_zoned(tz.clone())
            .date();
    while d <= last && days.len() < 400 {
        let name = d.to_string();
        days.push(
            r.summary
                .by_day
                .iter()
                .find(|x| x.day == name)
                .cloned()
                .unwrap_or(kpi::Day {
                    day: name,
                    conversations: 0,
                    deflected: 0,
                    escalated: 0,
                }),
        );
        let Ok(next) = d.tomorrow() else { break };
        d = next;
    }
    days
}

async fn dashboard(State(s): State<AppState>, who: Signed, Query(f): Query<Filters>) -> Response {
    if !reads_config(&who) {
        return not_found(&who, "Inbox");
    }
    let l = lang(&who);
    let (report, error) = match f.params() {
        Ok(p) => match reports::report(&s, &p).await {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e.to_string())),
        },
        Err(e) => (None, Some(e.to_string())),
    };
    let (channels, teams) = match async {
        Ok::<_, relais_store::Error>((s.rt.store.channels().await?, s.rt.store.teams().await?))
    }
    .await
    {
        Ok(x) => x,
        Err(e) => return super::failed(e),
    };
    let flows: Vec<String> = s.rt.flows.as_ref().map_or_else(Vec::new, |fl| {
        fl.loaded().ws.flows.keys().cloned().collect()
    });
    let filters = filters_form(l, &f, report.as_ref(), &channels, &teams, &flows);
    let body = match &report {
        None => format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(error.as_deref().unwrap_or_default())
        ),
        Some(r) => report_body(l, &f, r),
    };
    let main = format!(
        "<h1>{}</h1>{filters}{body}<p class=\"hint\">{}</p>",
        l.t("Dashboard"),
        l.t("Computed from the event log of the conversations started in the period; definitions in docs/kpis.md.")
    );
    let status = if report.is_some() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    page(status, frame(&who, "Dashboard", l.t("Dashboard"), &main))
}

/// A filter's list: "Any" first, then the options, the chosen one selected.
fn select(
    l: Lang,
    name: &str,
    label: &str,
    chosen: &Option<String>,
    opts: Vec<(String, String)>,
) -> String {
    let options: String = std::iter::once((String::new(), l.t("Any").to_owned()))
        .chain(opts)
        .map(|(v, t)| {
            let sel = if chosen.as_deref() == Some(v.as_str()) && !v.is_empty() {
                " selected"
            } else {
                ""
            };
            format!(
                "<option value=\"{}\"{sel}>{}</option>",
                escape(&v),
                escape(&t)
            )
        })
        .collect();
    format!("<label><span>{label}</span><select name=\"{name}\">{options}</select></label>")
}

/// The days the filters show: the query's, else the report's period (`to` included).
fn shown_days(f: &Filters, report: Option<&Report>) -> (String, String) {
    match report {
        Some(r) => (
            f.from
                .clone()
                .unwrap_or_else(|| r.from.strftime("%Y-%m-%d").to_string()),
            f.to.clone().unwrap_or_else(|| {
                r.to.checked_sub(jiff::SignedDuration::from_millis(1))
                    .unwrap_or(r.to)
                    .strftime("%Y-%m-%d")
                    .to_string()
            }),
        ),
        None => (
            f.from.clone().unwrap_or_default(),
            f.to.clone().unwrap_or_default(),
        ),
    }
}

/// The filters' form: the period, its time zone, the channel, team and flow.
fn filters_form(
    l: Lang,
    f: &Filters,
    report: Option<&Report>,
    channels: &[relais_store::Channel],
    teams: &[relais_store::TeamInfo],
    flows: &[String],
) -> String {
    let (from_v, to_v) = shown_days(f, report);
    format!(
        "<form class=\"filters\" method=\"get\" action=\"/dashboard\">\
         <label><span>{from_l}</span><input type=\"date\" name=\"from\" value=\"{from}\"></label>\
         <label><span>{to_l}</span><input type=\"date\" name=\"to\" value=\"{to}\"></label>\
         <label><span>{tz_l}</span><input name=\"tz\" value=\"{tz}\" size=\"14\"></label>\
         {channel}{team}{flow}<button type=\"submit\" class=\"second\">{show}</button></form>",
        from_l = l.t("From"),
        to_l = l.t("To"),
        tz_l = l.t("Time zone"),
        from = escape(&from_v),
        to = escape(&to_v),
        tz = escape(f.tz.as_deref().unwrap_or("UTC")),
        channel = select(
            l,
            "channel",
            l.t("Channel"),
            &f.channel,
            channels
                .iter()
                .map(|c| (c.id.to_string(), c.name.clone()))
                .collect()
        ),
        team = select(
            l,
            "team",
            l.t("Team"),
            &f.team,
            teams
                .iter()
                .map(|t| (t.team.id.clone(), t.team.name.clone()))
                .collect()
        ),
        flow = select(
            l,
            "flow",
            l.t("Flow"),
            &f.flow,
            flows.iter().map(|x| (x.clone(), x.clone())).collect()
        ),
        show = l.t("Show"),
    )
}

/// The report: its tiles, its charts and the links to its CSV files.
fn report_body(l: Lang, f: &Filters, r: &Report) -> String {
    let sm = &r.summary;
    let reasons: Vec<(String, usize)> = sm
        .escalations_by_reason
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let q = f.query();
    format!(
        "<div class=\"tiles\">{tiles}</div><div class=\"charts\">{trend}{reasons}{funnel}{abandoned}</div>\
         <p class=\"downloads\"><a href=\"/dashboard/summary.csv?{q}\" download>{csv1}</a> · \
         <a href=\"/dashboard/flows.csv?{q}\" download>{csv2}</a></p>",
        tiles = tiles(l, sm),
        trend = trend(
            l,
            r,
            &jiff::tz::TimeZone::get(f.tz.as_deref().filter(|t| !t.is_empty()).unwrap_or("UTC"))
                .unwrap_or(jiff::tz::TimeZone::UTC)
        ),
        reasons = bars(l.t("Escalations by reason"), &reasons),
        funnel = bars(l.t("Funnel per flow"), &funnel(l, r)),
        abandoned = bars(l.t("Where contacts went silent"), &abandoned(r)),
        csv1 = l.t("Download the summary (CSV)"),
        csv2 = l.t("Download the funnels (CSV)"),
    )
}

/// One tile of the KPIs: its name, its figure and a hint under it.
fn tile(label: &str, value: String, hint: String) -> String {
    format!(
        "<div class=\"tile\"><span class=\"label\">{}</span><strong>{}</strong><span class=\"hint\">{}</span></div>",
        escape(label),
        escape(&value),
        escape(&hint)
    )
}

/// The KPIs' tiles.
fn tiles(l: Lang, sm: &kpi::Summary) -> String {
    [
        tile(
            l.t("Conversations"),
            sm.conversations.to_string(),
            String::new(),
        ),
        tile(
            l.t("Deflection"),
            pct(sm.deflection_rate),
            l.t("{n} solved without a human")
                .replace("{n}", &sm.deflected.to_string()),
        ),
        tile(
            l.t("Escalation"),
            pct(sm.escalation_rate),
            l.t("{n} handed to agents")
                .replace("{n}", &sm.escalated.to_string()),
        ),
        tile(
            l.t("First response"),
            secs(sm.first_response_time.p50_s),
            format!("p90 {}", secs(sm.first_response_time.p90_s)),
        ),
        tile(
            l.t("Resolution"),
            secs(sm.resolution_time.p50_s),
            format!("p90 {}", secs(sm.resolution_time.p90_s)),
        ),
        tile(
            l.t("Satisfaction"),
            sm.csat
                .average
                .map_or_else(|| "—".into(), |a| format!("{a:.1} / 5")),
            l.t("{n} answers")
                .replace("{n}", &sm.csat.responses.to_string()),
        ),
        tile(
            l.t("Time saved by the bot"),
            secs(sm.time_saved_by_bot_s),
            format!("{} {}", l.t("handle time"), secs(sm.handle_time.p50_s)),
        ),
        tile(
            l.t("Cost per contact"),
            sm.cost_per_contact
                .map_or_else(|| "—".into(), |c| format!("{c:.2}")),
            if sm.cost_per_contact.is_none() {
                l.t("set [costs] in relais.toml").to_owned()
            } else {
                String::new()
            },
        ),
        tile(
            l.t("SLA breaches"),
            sm.sla_breaches.to_string(),
            String::new(),
        ),
    ]
    .concat()
}

/// Each flow's funnel: entered, completed, escalated, abandoned.
fn funnel(l: Lang, r: &Report) -> Vec<(String, usize)> {
    r.flows
        .iter()
        .flat_map(|fl| {
            [
                (format!("{} · {}", fl.flow, l.t("entered")), fl.entered),
                (format!("{} · {}", fl.flow, l.t("completed")), fl.completed),
                (format!("{} · {}", fl.flow, l.t("escalated")), fl.escalated),
                (format!("{} · {}", fl.flow, l.t("abandoned")), fl.abandoned),
            ]
        })
        .collect()
}

/// The ten steps where most contacts went silent.
fn abandoned(r: &Report) -> Vec<(String, usize)> {
    let mut abandoned: Vec<(String, usize)> = r
        .flows
        .iter()
        .flat_map(|fl| {
            fl.steps
                .iter()
                .filter(|st| st.abandoned > 0)
                .map(|st| (format!("{} · {}", fl.flow, st.step), st.abandoned))
        })
        .collect();
    abandoned.sort_by_key(|x| std::cmp::Reverse(x.1));
    abandoned.truncate(10);
    abandoned
}
