//! Governance (SPEC §11): everything held about a contact, exported whole (GDPR
//! article 15) through the API (admins, recorded) and `relais admin export-contact`.

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
