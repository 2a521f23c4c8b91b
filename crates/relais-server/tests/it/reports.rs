//! Reports over real HTTP (SPEC §10): the KPIs of a day of the demo shop, read from the
//! event log, as JSON and CSV, for supervisors and admins only; the dashboard page
//! shows them with its charts and CSV downloads.

use super::handoff::{call, login_agent};
use super::helpers::*;
use relais_core::Duration;
use relais_server::clock::ManualClock;
use serde_json::json;

/// Monday 2026-11-23 10:00 in Paris: the support team is open.
const MONDAY_10H: relais_core::Timestamp = relais_core::Timestamp(1_795_424_400_000);
const PERIOD: &str = "from=2026-11-23T00:00:00%2B01:00&to=2026-11-24T00:00:00%2B01:00";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_days_kpis_come_from_the_event_log_as_json_csv_and_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MONDAY_10H);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    let ana = login_agent(&app, "ana@example.com", "agent", &["support"]).await;
    let sam = login_agent(&app, "sam@example.com", "supervisor", &["support"]).await;
    let say = |sender: &'static str, text: &'static str| {
        let app = &app;
        async move {
            let (s, b) = app
                .converse(json!({ "sender": sender, "text": text }))
                .await;
            assert_eq!(s, 200, "{b}");
            b
        }
    };
    // 1. The FAQ answers and the customer confirms: solved by the bot (deflected).
    say("+33600000001", "Bonjour").await;
    say("+33600000001", "2").await;
    say("+33600000001", "Combien de temps prend la livraison ?").await;
    say("+33600000001", "oui merci").await;
    // 2. Asks for a human; Ana answers 6 minutes later and solves at 30; rated 4.
    let b = say("+33600000002", "je veux parler à un conseiller").await;
    let conv = b["conversation_id"]
        .as_i64()
        .expect("the conversation's id");
    clock.advance(Duration::minutes(6));
    let path = format!("/api/v1/conversations/{conv}");
    let (s, r) = call(&app, &ana.token, "POST", &format!("{path}/claim"), None).await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = call(
        &app,
        &ana.token,
        "POST",
        &format!("{path}/reply"),
        Some(json!({ "text": "Bonjour, je regarde." })),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    clock.advance(Duration::minutes(24));
    let (s, r) = call(&app, &ana.token, "POST", &format!("{path}/solve"), None).await;
    assert_eq!(s, 200, "{r}");
    say("+33600000002", "4").await;
    // 3. Says hello, then nothing: abandoned at the menu.
    say("+33600000003", "Bonjour").await;

    // The summary, as JSON.
    let (s, r) = call(
        &app,
        &sam.token,
        "GET",
        &format!("/api/v1/reports/summary?{PERIOD}&tz=Europe/Paris"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["conversations"], 3, "{r}");
    assert_eq!(r["deflected"], 1, "{r}");
    assert!((r["deflection_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(r["escalated"], 1);
    assert_eq!(r["escalations_by_reason"]["keyword"], 1, "{r}");
    assert_eq!(r["first_response_time"]["p50_s"], 360.0, "{r}");
    assert_eq!(r["handle_time"]["p50_s"], 1800.0, "{r}");
    assert_eq!(r["csat"]["average"], 4.0, "{r}");
    assert_eq!(r["csat"]["responses"], 1);
    assert_eq!(r["by_day"][0]["day"], "2026-11-23", "{r}");
    assert!(r["cost_per_contact"].is_null(), "no [costs] set");
    // Filters: another channel has none; the period before has none.
    let (_, r) = call(
        &app,
        &sam.token,
        "GET",
        &format!("/api/v1/reports/summary?{PERIOD}&channel=web"),
        None,
    )
    .await;
    assert_eq!(r["conversations"], 0, "{r}");
    let (_, r) = call(
        &app,
        &sam.token,
        "GET",
        &format!("/api/v1/reports/summary?{PERIOD}&flow=order-status"),
        None,
    )
    .await;
    // The keyword handed conversation 2 over before the flow ran a step: two ran it.
    assert_eq!(r["conversations"], 2, "{r}");
    // The funnel: two entered the menu; one went silent there.
    let (s, r) = call(
        &app,
        &sam.token,
        "GET",
        &format!("/api/v1/reports/flows?{PERIOD}"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let order = r["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["flow"] == "order-status")
        .cloned()
        .unwrap();
    assert_eq!(order["entered"], 2, "{order}");
    assert_eq!(order["abandoned"], 1, "{order}");
    assert!(
        order["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["abandoned"] == 1),
        "the step where the contact went silent: {order}"
    );
    // Bad input is said; agents get no reports.
    let (s, r) = call(
        &app,
        &sam.token,
        "GET",
        "/api/v1/reports/summary?from=yesterday",
        None,
    )
    .await;
    assert_eq!(
        (s, r["error"]["field"].as_str()),
        (400, Some("from")),
        "{r}"
    );
    let (s, _) = call(
        &app,
        &sam.token,
        "GET",
        &format!("/api/v1/reports/summary?{PERIOD}&tz=Mars/Olympus"),
        None,
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = call(
        &app,
        &ana.token,
        "GET",
        &format!("/api/v1/reports/summary?{PERIOD}"),
        None,
    )
    .await;
    assert_eq!(s, 403);

    // Prometheus gets the headline figures of the last 24 hours.
    let metrics = app
        .client
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("\nrelais_kpi_conversations 3\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("\nrelais_kpi_escalation_rate 0.3333333333333333\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE relais_kpi_csat_average gauge\nrelais_kpi_csat_average 4\n"),
        "{metrics}"
    );

    // CSV, by `format` or by `Accept`.
    let csv = app
        .client
        .get(format!(
            "{}/api/v1/reports/summary?{PERIOD}&format=csv",
            app.url
        ))
        .bearer_auth(&sam.token)
        .send()
        .await
        .unwrap();
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    assert!(
        text.starts_with("metric,value\n") && text.contains("\nconversations,3\n"),
        "{text}"
    );
    assert!(text.contains("escalations_by_reason.keyword,1"), "{text}");
    let csv = app
        .client
        .get(format!("{}/api/v1/reports/flows?{PERIOD}", app.url))
        .bearer_auth(&sam.token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("flow,step,entered,completed,escalated,abandoned\n")
            && csv.contains("\norder-status,,2,"),
        "{csv}"
    );

    // The dashboard page: the same figures, charts, CSV links; agents get "not found".
    let c = page_client();
    let sam_cookie = page_session(&app, &c, "sam@example.com").await;
    let page = c
        .get(format!(
            "{}/dashboard?from=2026-11-23&to=2026-11-23&tz=Europe/Paris",
            app.url
        ))
        .header("cookie", &sam_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<span class=\"label\">Conversations</span><strong>3</strong>"),
        "{html}"
    );
    assert!(html.contains("<strong>33 %</strong>"), "deflection: {html}");
    assert!(html.contains("aria-label=\"Escalations by reason\""));
    assert!(html.contains("aria-label=\"Conversations per day\""));
    assert!(html.contains("href=\"/dashboard/summary.csv?from=2026-11-23&amp;to=2026-11-23&amp;tz=Europe%2FParis\""), "{html}");
    let csv = c
        .get(format!(
            "{}/dashboard/summary.csv?from=2026-11-23&to=2026-11-23&tz=Europe%2FParis",
            app.url
        ))
        .header("cookie", &sam_cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("\nconversations,3\n"), "{csv}");
    let bad = c
        .get(format!("{}/dashboard?from=23/11/2026", app.url))
        .header("cookie", &sam_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("is not a date"));
    let ana_cookie = page_session(&app, &c, "ana@example.com").await;
    let r = c
        .get(format!("{}/dashboard", app.url))
        .header("cookie", &ana_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // The server folds the log into the kept stories in the background; the report is
    // the same before and after (it folds what is not kept yet itself).
    let path = format!("/api/v1/reports/summary?{PERIOD}&tz=Europe/Paris");
    let (_, before) = app.get(&path).await;
    let last = app
        .rt
        .store
        .events(None, 0, 100_000)
        .await
        .unwrap()
        .last()
        .unwrap()
        .id;
    let store = app.rt.store.clone();
    eventually("the rollup loop folds the log", || {
        let store = store.clone();
        async move {
            store
                .store_setting("kpi.folded")
                .await
                .unwrap()
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|c| c >= last)
        }
    })
    .await;
    let (_, after) = app.get(&path).await;
    assert_eq!(after, before);
    app.stop().await;
}
