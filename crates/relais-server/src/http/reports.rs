//! Reports (SPEC §10): `GET /api/v1/reports/summary` and `GET /api/v1/reports/flows`,
//! JSON or CSV (`format=csv` or `Accept: text/csv`), for supervisors and admins. The
//! figures are `relais_core::kpi`'s, computed from the stories of the conversations
//! started in `[from, to)` (their events folded, one row each: `relais_store`'s
//! `facts.rs`); the dashboard page reads the same [`report`].

use super::AppState;
use super::error::ApiError;
use super::extract::Caller;
use crate::auth::Permission;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use relais_core::kpi::{self, FlowFunnel, Summary};
use relais_store::ReportQuery;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports/summary", get(summary))
        .route("/api/v1/reports/flows", get(flows))
}

/// The longest period one report covers.
const MAX_DAYS: i64 = 400;

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// RFC 3339; the period is `[from, to)`.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub flow: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
    /// IANA time zone of the days in `by_day` (default UTC).
    #[serde(default)]
    pub tz: Option<String>,
    /// `json` (default) or `csv`.
    #[serde(default)]
    pub format: Option<String>,
}

/// A report's two parts, for the period and filters asked.
pub struct Report {
    pub summary: Summary,
    pub flows: Vec<FlowFunnel>,
    pub from: jiff::Timestamp,
    pub to: jiff::Timestamp,
}

fn instant(field: &str, v: Option<&str>) -> Result<Option<jiff::Timestamp>, ApiError> {
    v.filter(|v| !v.trim().is_empty())
        .map(|v| {
            v.trim().parse::<jiff::Timestamp>().map_err(|e| {
                ApiError::field(field, format!("{v:?} is not an RFC 3339 instant: {e}"))
            })
        })
        .transpose()
}

fn some(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The figures for `p` (the last 30 days when no period is given).
pub async fn report(s: &AppState, p: &ReportParams) -> Result<Report, ApiError> {
    let now = jiff::Timestamp::from_millisecond(s.rt.clock.now().0)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let to = instant("to", p.to.as_deref())?.unwrap_or(now);
    let from = match instant("from", p.from.as_deref())? {
        Some(f) => f,
        None => to
            .checked_sub(jiff::SignedDuration::from_hours(24 * 30))
            .map_err(|e| ApiError::Internal(e.to_string()))?,
    };
    if from >= to {
        return Err(ApiError::field("from", "must be before `to`"));
    }
    if to.as_millisecond() - from.as_millisecond() > MAX_DAYS * 86_400_000 {
        return Err(ApiError::field(
            "from",
            format!("a report covers at most {MAX_DAYS} days"),
        ));
    }
    let tz = match some(&p.tz) {
        None => jiff::tz::TimeZone::UTC,
        Some(name) => jiff::tz::TimeZone::get(&name)
            .map_err(|_| ApiError::field("tz", format!("{name:?} is not an IANA time zone")))?,
    };
    let stories =
        s.rt.store
            .report_stories(ReportQuery {
                from: relais_core::Timestamp(from.as_millisecond()),
                to: relais_core::Timestamp(to.as_millisecond()),
                channel: some(&p.channel),
                team: some(&p.team),
            })
            .await?;
    let flow = some(&p.flow);
    let scope = kpi::Scope {
        from: from.as_millisecond(),
        to: to.as_millisecond(),
        flow: flow.as_deref(),
        now: s.rt.clock.now().0,
    };
    let day_of = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.to_zoned(tz.clone()).date().to_string())
            .unwrap_or_default()
    };
    let settings = s.rt.tunable();
    Ok(Report {
        summary: kpi::summarize_stories(
            stories.iter(),
            &scope,
            settings.costs,
            &settings.sla,
            &day_of,
        ),
        flows: kpi::funnels_stories(stories.iter(), &scope),
        from,
        to,
    })
}

/// Reports are for supervisors and admins.
fn allowed(caller: &Caller) -> Result<(), ApiError> {
    caller.require(Permission::ReadConversations)?;
    if relais_core::access::sees_all(caller.agent.role) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "reports are for supervisors and admins".into(),
        ))
    }
}

fn wants_csv(p: &ReportParams, headers: &HeaderMap) -> Result<bool, ApiError> {
    match p.format.as_deref() {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(other) => Err(ApiError::field(
            "format",
            format!("{other:?} is not one of json, csv"),
        )),
        None => Ok(headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv"))),
    }
}

/// A CSV download (never cached: it holds the business's figures).
pub fn csv(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// A CSV field: quoted when it must be, and never read as a formula by a spreadsheet.
fn field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) && v.parse::<f64>().is_err() {
        format!("'{v}")
    } else {
        v.to_owned()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_default()
}

/// The summary as `metric,value` rows (then one row per reason and per day).
pub fn summary_csv(r: &Report) -> String {
    let s = &r.summary;
    let mut rows: Vec<(String, String)> = vec![
        ("from".into(), r.from.to_string()),
        ("to".into(), r.to.to_string()),
        ("conversations".into(), s.conversations.to_string()),
        ("deflected".into(), s.deflected.to_string()),
        ("deflection_rate".into(), num(s.deflection_rate)),
        ("escalated".into(), s.escalated.to_string()),
        ("escalation_rate".into(), num(s.escalation_rate)),
        (
            "first_response_time_p50_s".into(),
            num(s.first_response_time.p50_s),
        ),
        (
            "first_response_time_p90_s".into(),
            num(s.first_response_time.p90_s),
        ),
        ("resolution_time_p50_s".into(), num(s.resolution_time.p50_s)),
        ("resolution_time_p90_s".into(), num(s.resolution_time.p90_s)),
        ("handle_time_p50_s".into(), num(s.handle_time.p50_s)),
        ("time_saved_by_bot_s".into(), num(s.time_saved_by_bot_s)),
        ("csat_average".into(), num(s.csat.average)),
        ("csat_responses".into(), s.csat.responses.to_string()),
        ("csat_response_rate".into(), num(s.csat.response_rate)),
        ("cost_per_contact".into(), num(s.cost_per_contact)),
        ("sla_breaches".into(), s.sla_breaches.to_string()),
    ];
    for (reason, n) in &s.escalations_by_reason {
        rows.push((format!("escalations_by_reason.{reason}"), n.to_string()));
    }
    for d in &s.by_day {
        rows.push((
            format!("conversations.{}", d.day),
            d.conversations.to_string(),
        ));
    }
    let mut out = String::from("metric,value\n");
    for (k, v) in rows {
        out.push_str(&format!("{},{}\n", field(&k), field(&v)));
    }
    out
}

/// One row per flow and step.
pub fn flows_csv(r: &Report) -> String {
    let mut out = String::from("flow,step,entered,completed,escalated,abandoned\n");
    for f in &r.flows {
        out.push_str(&format!(
            "{},,{},{},{},{}\n",
            field(&f.flow),
            f.entered,
            f.completed,
            f.escalated,
            f.abandoned
        ));
        for st in &f.steps {
            out.push_str(&format!(
                "{},{},{},,,{}\n",
                field(&f.flow),
                field(&st.step),
                st.entered,
                st.abandoned
            ));
        }
    }
    out
}

async fn summary(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(p): Query<ReportParams>,
) -> Result<Response, ApiError> {
    allowed(&caller)?;
    let csv_wanted = wants_csv(&p, &headers)?;
    let r = report(&s, &p).await?;
    if csv_wanted {
        return Ok(csv("summary", summary_csv(&r)));
    }
    let mut v = serde_json::to_value(&r.summary).map_err(|e| ApiError::Internal(e.to_string()))?;
    v["from"] = r.from.to_string().into();
    v["to"] = r.to.to_string().into();
    Ok(Json(v).into_response())
}

async fn flows(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(p): Query<ReportParams>,
) -> Result<Response, ApiError> {
    allowed(&caller)?;
    let csv_wanted = wants_csv(&p, &headers)?;
    let r = report(&s, &p).await?;
    if csv_wanted {
        return Ok(csv("flows", flows_csv(&r)));
    }
    Ok(Json(serde_json::json!({
        "from": r.from.to_string(),
        "to": r.to.to_string(),
        "flows": r.flows,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-0.5"), "-0.5", "a negative number stays a number");
        assert_eq!(field("@sum"), "'@sum");
    }
}
