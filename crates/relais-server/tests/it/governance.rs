//! Governance (SPEC §11): everything held about a contact, exported whole (GDPR
//! article 15) through the API (admins, recorded) and `relais admin export-contact`;
//! the audit log of who read which conversation or contact, from where.

use super::handoff::{call, login_agent};
use super::helpers::*;
use relais_server::clock::ManualClock;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contacts_data_is_exported_whole_to_admins_and_by_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    let ana = login_agent(&app, "ana@example.com", "agent", &["support"]).await;
    let (s, b) = app
        .converse(json!({ "sender": "+33611112222", "name": "Zoé Martin", "text": "je veux parler à un conseiller, colis 77421" }))
        .await;
    assert_eq!(s, 200, "{b}");
    let conv = b["conversation_id"].as_i64().unwrap();
    let (_, c) = app.get(&format!("/api/v1/conversations/{conv}")).await;
    let contact = c["conversation"]["contact"]["id"]
        .as_i64()
        .expect("the contact's id");

    let (s, doc) = app.get(&format!("/api/v1/contacts/{contact}/export")).await;
    assert_eq!(s, 200, "{doc}");
    assert_eq!(doc["contact"]["name"], "Zoé Martin");
    assert_eq!(doc["identities"][0]["address"], "+33611112222", "{doc}");
    let convs = doc["conversations"].as_array().unwrap();
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0]["conversation"]["id"], conv);
    let texts: Vec<&str> = convs[0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert!(texts.iter().any(|t| t.contains("colis 77421")), "{texts:?}");
    assert!(texts.len() >= 2, "the bot's answers too: {texts:?}");
    let kinds: Vec<&str> = convs[0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"escalated") && kinds.contains(&"message_received"),
        "{kinds:?}"
    );
    assert!(convs[0]["variables"].is_object());

    // Admins only; an unknown contact is "not found"; the export is recorded.
    let (s, _) = call(
        &app,
        &ana.token,
        "GET",
        &format!("/api/v1/contacts/{contact}/export"),
        None,
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = app.get("/api/v1/contacts/999999/export").await;
    assert_eq!(s, 404);
    let events = app.rt.store.events(None, 0, 10_000).await.unwrap();
    assert!(events.iter().any(
        |e| e.event.data["action"] == "contact_exported" && e.event.data["contact"] == contact
    ));

    // The CLI prints the same document.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(["admin", "export-contact", "--workspace"])
        .arg(dir.path())
        .arg(contact.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["contact"]["name"], "Zoé Martin");
    assert_eq!(printed["conversations"][0]["conversation"]["id"], conv);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_of_a_conversation_or_contact_is_in_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    let ana = login_agent(&app, "ana@example.com", "agent", &["support"]).await;
    login_agent(&app, "ada@example.com", "admin", &[]).await;
    let (_, b) = app
        .converse(json!({ "sender": "+33633334444", "text": "je veux parler à un conseiller" }))
        .await;
    let conv = b["conversation_id"].as_i64().unwrap();
    // Ana reads it through the API, then its events; the admin reads the contact.
    let (s, c) = call(
        &app,
        &ana.token,
        "GET",
        &format!("/api/v1/conversations/{conv}"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{c}");
    let contact = c["conversation"]["contact"]["id"].as_i64().unwrap();
    let (s, _) = call(
        &app,
        &ana.token,
        "GET",
        &format!("/api/v1/conversations/{conv}/events"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = app.get(&format!("/api/v1/contacts/{contact}")).await;
    assert_eq!(s, 200);
    // And on the workspace's page: a read; its live refreshes are not new reads.
    let c = page_client();
    let cookie = page_session(&app, &c, "ana@example.com").await;
    for live in [false, true, true] {
        let mut req = c
            .get(format!("{}/conversations/{conv}", app.url))
            .header("cookie", &cookie);
        if live {
            req = req.header("x-relais-live", "1");
        }
        assert_eq!(req.send().await.unwrap().status(), 200);
    }

    let (s, log) = app.get("/api/v1/audit").await;
    assert_eq!(s, 200, "{log}");
    let entries: Vec<(String, String, i64)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["target"].as_str().unwrap().to_owned(),
                e["agent"].as_i64().unwrap(),
            )
        })
        .collect();
    let target = format!("conversation:{conv}");
    assert_eq!(
        entries
            .iter()
            .filter(|(a, t, who)| a == "read_conversation" && *t == target && *who == ana.id)
            .count(),
        2,
        "one API read and one page read (not its live refreshes): {entries:?}"
    );
    assert!(
        entries
            .iter()
            .any(|(a, t, who)| a == "read_conversation_events" && *t == target && *who == ana.id)
    );
    assert!(
        entries
            .iter()
            .any(|(a, t, _)| a == "read_contact" && *t == format!("contact:{contact}"))
    );
    assert!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["ip"] == "127.0.0.1"),
        "from where: {log}"
    );
    // The admins' page lists the reads; an agent gets "not found".
    let admin_cookie = page_session(&app, &c, "ada@example.com").await;
    let html = c
        .get(format!("{}/audit", app.url))
        .header("cookie", &admin_cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!(
            "<a href=\"/conversations/{conv}\">conversation:{conv}</a>"
        )),
        "{html}"
    );
    assert!(html.contains("read_contact") && html.contains("127.0.0.1"));
    let r = c
        .get(format!("{}/audit", app.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let csv = c
        .get(format!("{}/audit.csv", app.url))
        .header("cookie", &admin_cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains(",read_conversation,"), "{csv}");

    // Admins only; CSV too; paged.
    let (s, _) = call(&app, &ana.token, "GET", "/api/v1/audit", None).await;
    assert_eq!(s, 403);
    let csv = app
        .client
        .get(format!("{}/api/v1/audit?format=csv", app.url))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("id,at,agent,token,action,target,ip\n") && csv.contains(",read_contact,"),
        "{csv}"
    );
    let (_, page) = app.get("/api/v1/audit?limit=2").await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 2);
    let after = page["next_after"].as_i64().unwrap();
    let (_, rest) = app.get(&format!("/api/v1/audit?after={after}")).await;
    assert_eq!(
        rest["entries"].as_array().unwrap().len() + 2,
        entries.len(),
        "the next page continues"
    );
    app.stop().await;
}
