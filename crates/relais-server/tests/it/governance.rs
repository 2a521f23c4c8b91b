//! Governance (SPEC §11): everything held about a contact, exported whole (GDPR
//! article 15) through the API (admins, recorded) and `relais admin export-contact`;
//! erased (article 17) through the API and `relais admin erase-contact`, leaving no
//! byte in the data folder; card numbers and IBANs masked at rest; the data region;
//! retention on its durable schedule; the audit log of who read which conversation
//! or contact, from where.

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
            .filter(|e| !e["action"].as_str().unwrap().starts_with("change:"))
            .all(|e| e["ip"] == "127.0.0.1"),
        "from where: {log}"
    );
    // Admin changes are in the same log, with what changed: here, the agents made.
    let made = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["action"].as_str().unwrap().starts_with("change:")
                && e["target"] == format!("agent:{}", ana.id)
        })
        .unwrap_or_else(|| panic!("the creation of Ana is in the audit log: {log}"));
    assert_eq!(made["action"], "change:agent_created");
    assert_eq!(made["ip"], "127.0.0.1", "from where: {made}");
    assert!(made["token"].is_i64(), "with which token: {made}");
    assert!(
        made["detail"]
            .as_str()
            .unwrap()
            .contains(r#""role":"agent""#),
        "{made}"
    );
    let (_, csv) = {
        let r = app
            .client
            .get(format!("{}/api/v1/audit?format=csv", app.url))
            .bearer_auth(&app.admin_token)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert!(
        csv.starts_with("id,at,agent,token,action,target,ip,detail\n"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!(",agent:{},127.0.0.1,\"{{", ana.id)),
        "{csv}"
    );
    // Logins too, from where.
    assert!(csv.contains(",change:login,,127.0.0.1,"), "{csv}");
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
        csv.starts_with("id,at,agent,token,action,target,ip,detail\n")
            && csv.contains(",read_contact,"),
        "{csv}"
    );
    let (_, page) = app.get("/api/v1/audit?limit=2").await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 2);
    let after = page["next_after"].as_i64().unwrap();
    let (_, rest) = app.get(&format!("/api/v1/audit?after={after}")).await;
    // The next page continues after the first (the log grew since: the page logins).
    let ids: Vec<i64> = rest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert!(ids.iter().all(|id| *id > after), "{ids:?}");
    assert!(ids.len() + 2 >= entries.len(), "the next page continues");
    app.stop().await;
}

/// Every file of the data folder, read whole — by another process (`cat`): opening and
/// closing a database file in this process would drop the POSIX locks SQLite holds on
/// it here, and another process (the CLI) could then reset the shared-memory file this
/// process has mapped (SIGBUS).
fn data_bytes(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(dir.join("data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let out = std::process::Command::new("cat").arg(&p).output().unwrap();
            assert!(out.status.success(), "cat {}", p.display());
            (p.display().to_string(), out.stdout)
        })
        .collect()
}

/// Which of `needles` some file of the data folder holds (as UTF-8 bytes).
fn found_in_data(dir: &std::path::Path, needles: &[&str]) -> Vec<String> {
    let files = data_bytes(dir);
    needles
        .iter()
        .filter(|n| {
            files
                .iter()
                .any(|(_, b)| b.windows(n.len()).any(|w| w == n.as_bytes()))
        })
        .map(|n| n.to_string())
        .collect()
}

const SUMMARY: &str = "/api/v1/reports/summary?from=2027-01-14T00:00:00Z&to=2027-01-17T00:00:00Z";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_contact_leaves_no_byte_in_the_data_folder_and_the_kpis_stay() {
    let dir = tempfile::tempdir().unwrap();
    relais_server::demo::write_workspace(dir.path()).unwrap();
    let toml = dir.path().join("relais.toml");
    let mut conf = std::fs::read_to_string(&toml).unwrap();
    conf.push_str("\n[privacy]\nmask = [\"card\", \"iban\"]\nregion = \"eu-west-1\"\n");
    std::fs::write(&toml, conf).unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_workspace_app(dir.path(), &clock, true).await;
    let ana = login_agent(&app, "ana@example.com", "agent", &["support"]).await;
    // A webhook, so that deliveries made from the conversation's events exist too.
    let (s, b) = app
        .post(
            "/api/v1/webhooks",
            json!({ "kind": "generic", "url": "http://127.0.0.1:9/hook", "events": ["escalated", "customer_replied"] }),
        )
        .await;
    assert!(s == 200 || s == 201, "{s} {b}");

    // Zoé: her number, name, e-mail and words; a card number masked on arrival.
    let zoe = json!({ "sender": "+33698765432", "name": "Zoé Quennevat", "text": "je veux parler à un conseiller, colis xylophone-77421" });
    let (s, b) = app.converse(zoe).await;
    assert_eq!(s, 200, "{b}");
    let conv = b["conversation_id"].as_i64().unwrap();
    let (s, _) = app
        .converse(json!({ "sender": "+33698765432", "text": "ma carte 4242 4242 4242 4242 et zoe.quennevat@example.org, merci" }))
        .await;
    assert_eq!(s, 200);
    let (s, r) = call(
        &app,
        &ana.token,
        "POST",
        &format!("/api/v1/conversations/{conv}/reply"),
        Some(json!({ "text": "Bonjour Zoé, votre colis xylophone-77421 arrive ; IBAN de remboursement FR76 3000 6000 0112 3456 7890 189 ?" })),
    )
    .await;
    assert!(s == 200 || s == 201, "{s} {r}");
    // Bob: another contact, whose words stay.
    let (s, _) = app
        .converse(json!({ "sender": "+33611119999", "name": "Bob Tartempion", "text": "bonjour, ma commande marimba-55" }))
        .await;
    assert_eq!(s, 200);
    let (_, c) = app.get(&format!("/api/v1/conversations/{conv}")).await;
    let contact = c["conversation"]["contact"]["id"].as_i64().unwrap();

    // Masked at rest: the transcript holds the last digits only, never the number.
    let texts: Vec<String> = app
        .rt
        .store
        .messages(relais_core::id::ConversationId(conv))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("ma carte [card ••••4242] et")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("[iban FR76…0189]")),
        "{texts:?}"
    );
    assert!(found_in_data(dir.path(), &["4242 4242 4242 4242", "3000 6000 0112"]).is_empty());
    // The region is recorded with the data and shown in the export.
    let (_, doc) = app.get(&format!("/api/v1/contacts/{contact}/export")).await;
    assert_eq!(doc["region"], "eu-west-1");

    let zoe_words = [
        "+33698765432",
        "698765432",
        "Quennevat",
        "quennevat@example.org",
        "xylophone",
    ];
    let bob_words = ["+33611119999", "Tartempion", "marimba-55"];
    // The search sees them while they are held (after a checkpoint, in the main file too).
    app.rt.store.scrub().await.unwrap();
    assert_eq!(found_in_data(dir.path(), &zoe_words).len(), zoe_words.len());
    let (s, kpis_before) = app.get(SUMMARY).await;
    assert_eq!(s, 200, "{kpis_before}");
    assert_eq!(kpis_before["conversations"], 2, "{kpis_before}");

    // Agents may not erase; an admin does.
    let path = format!("/api/v1/contacts/{contact}");
    let (s, _) = call(&app, &ana.token, "DELETE", &path, None).await;
    assert_eq!(s, 403);
    let (s, done) = call(&app, &app.admin_token, "DELETE", &path, None).await;
    assert_eq!(s, 200, "{done}");
    assert_eq!(done["conversations"], 1);
    assert!(done["messages"].as_u64().unwrap() >= 4, "{done}");

    // Not a byte of Zoé left in the data folder; Bob's words still there.
    assert_eq!(found_in_data(dir.path(), &zoe_words), Vec::<String>::new());
    assert_eq!(found_in_data(dir.path(), &bob_words).len(), bob_words.len());
    // The KPIs count her conversation as before.
    let (_, kpis_after) = app.get(SUMMARY).await;
    assert_eq!(kpis_after, kpis_before);
    let (s, _) = app.get(&format!("/api/v1/contacts/{contact}/export")).await;
    assert_eq!(s, 404);
    let (s, _) = app.get(&path).await;
    assert_eq!(s, 404);
    // Recorded: in the audit log and as an admin action, by id only.
    let events = app.rt.store.events(None, 0, 10_000).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event.data["action"] == "contact_erased"
                && e.event.data["contact"] == contact)
    );
    let (_, log) = app.get("/api/v1/audit").await;
    assert!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "erase_contact" && e["target"] == format!("contact:{contact}")),
        "{log}"
    );

    // The CLI erases Bob, the server still running.
    let (_, b) = app
        .converse(json!({ "sender": "+33611119999", "text": "encore moi" }))
        .await;
    let bob_conv = b["conversation_id"].as_i64().unwrap();
    let bob = app
        .rt
        .store
        .conversation(relais_core::id::ConversationId(bob_conv))
        .await
        .unwrap()
        .unwrap()
        .contact
        .id;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(["admin", "erase-contact", "--workspace"])
        .arg(dir.path())
        .arg(bob.0.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 conversations"));
    assert_eq!(found_in_data(dir.path(), &bob_words), Vec::<String>::new());
    app.stop().await;

    // The data knows its region: another one refuses to start on it.
    let settings = relais_server::config::Settings::from_sources(
        Some("[privacy]\nregion = \"us-east-1\"\n"),
        "relais.toml",
        &[(
            "RELAIS__SERVER__LISTEN".to_owned(),
            "127.0.0.1:0".to_owned(),
        )],
        dir.path(),
    )
    .unwrap();
    let e =
        relais_server::app::App::build_with(&settings, std::sync::Arc::new(clock.clone()), None)
            .await
            .err()
            .expect("a server in another region refuses the data");
    assert!(e.to_string().contains("eu-west-1"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_forgets_old_closed_conversations_on_its_durable_schedule() {
    let dir = tempfile::tempdir().unwrap();
    relais_server::demo::write_workspace(dir.path()).unwrap();
    let toml = dir.path().join("relais.toml");
    let mut conf = std::fs::read_to_string(&toml).unwrap();
    conf.push_str("\n[retention]\ntranscripts_after = \"30d\"\ncheck_every = \"1d\"\n");
    std::fs::write(&toml, conf).unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_workspace_app(dir.path(), &clock, true).await;
    let ana = login_agent(&app, "ana@example.com", "agent", &["support"]).await;
    let (_, b) = app
        .converse(json!({ "sender": "+33655550000", "name": "Yves Oldman", "text": "je veux parler à un conseiller, dossier okapi-9" }))
        .await;
    let old = relais_core::id::ConversationId(b["conversation_id"].as_i64().unwrap());
    let path = format!("/api/v1/conversations/{}", old.0);
    let (s, _) = call(&app, &ana.token, "POST", &format!("{path}/solve"), None).await;
    assert_eq!(s, 200);
    // Four days on, the solved conversation closes (its lifecycle timer).
    clock.advance(relais_core::Duration::days(5));
    let store = app.rt.store.clone();
    eventually("the conversation closes", || {
        let store = store.clone();
        async move {
            store
                .conversation(old)
                .await
                .unwrap()
                .unwrap()
                .conversation
                .status
                == relais_core::ticket::Status::Closed
        }
    })
    .await;
    // A newer conversation of someone else, closed later, stays.
    clock.advance(relais_core::Duration::days(20));
    let (_, b) = app
        .converse(json!({ "sender": "+33655551111", "text": "bonjour, commande 42" }))
        .await;
    let recent = relais_core::id::ConversationId(b["conversation_id"].as_i64().unwrap());
    let (s, kpis_before) = app.get(SUMMARY).await;
    assert_eq!(s, 200);
    assert!(!store.messages(old).await.unwrap().is_empty());

    // 31 days after it closed, the next daily run forgets it; its contact goes with it.
    clock.advance(relais_core::Duration::days(11));
    eventually("retention forgets the old conversation", || {
        let store = store.clone();
        async move { store.messages(old).await.unwrap().is_empty() }
    })
    .await;
    assert_eq!(
        store.messages(recent).await.unwrap()[0].text,
        "bonjour, commande 42"
    );
    let (_, kpis_after) = app.get(SUMMARY).await;
    assert_eq!(kpis_after, kpis_before, "the KPIs still count it");
    // The run records what it did once it is over.
    eventually("the run is recorded", || {
        let store = store.clone();
        async move {
            let events = store.events(None, 0, 10_000).await.unwrap();
            events.iter().any(|e| e.event.data["action"] == "retention")
        }
    })
    .await;
    let events = store.events(None, 0, 10_000).await.unwrap();
    let run = events
        .iter()
        .find(|e| e.event.data["action"] == "retention")
        .expect("the run is recorded");
    assert_eq!(run.event.data["conversations"], 1);
    assert_eq!(run.event.data["contacts"], 1);
    // The schedule is kept with the data: the next run is a day after this one
    // (recorded once the run is over).
    let expected = (T0.0 + relais_core::Duration::days(37).0).to_string();
    eventually("the next run is recorded", || {
        let store = store.clone();
        let expected = expected.clone();
        async move { store.store_setting("retention.next_run").await.unwrap() == Some(expected) }
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_erases_a_contact_from_the_conversation_page() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    login_agent(&app, "ana@example.com", "agent", &["support"]).await;
    login_agent(&app, "ada@example.com", "admin", &[]).await;
    let (_, b) = app
        .converse(json!({ "sender": "+33677778888", "name": "Quentin Zarbi", "text": "je veux parler à un conseiller" }))
        .await;
    let conv = b["conversation_id"].as_i64().unwrap();
    let c = page_client();
    let page = |cookie: String| {
        let c = c.clone();
        let url = format!("{}/conversations/{conv}", app.url);
        async move {
            c.get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    // Agents see no erase form; admins do.
    let agent = page_session(&app, &c, "ana@example.com").await;
    assert!(!page(agent.clone()).await.contains("erase-contact"));
    let admin = page_session(&app, &c, "ada@example.com").await;
    let html = page(admin.clone()).await;
    assert!(
        html.contains(&format!("action=\"/conversations/{conv}/erase-contact\"")),
        "{html}"
    );
    let at = html.find("name=\"_csrf\" value=\"").unwrap() + 20;
    let csrf = html[at..at + 32].to_owned();
    let post = |cookie: String, form: Vec<(&'static str, String)>| {
        let c = c.clone();
        let url = format!("{}/conversations/{conv}/erase-contact", app.url);
        async move {
            let r = c
                .post(url)
                .header("cookie", cookie)
                .form(&form)
                .send()
                .await
                .unwrap();
            let location = r
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (r.status().as_u16(), location)
        }
    };
    // Without the confirmation: nothing erased, the page says why.
    let (s, to) = post(admin.clone(), vec![("_csrf", csrf.clone())]).await;
    assert_eq!(
        (s, to.starts_with(&format!("/conversations/{conv}?error="))),
        (303, true),
        "{to}"
    );
    assert!(page(admin.clone()).await.contains("Quentin Zarbi"));
    // An agent cannot, even with a valid form of their own.
    let agent_csrf = {
        let h = page(agent.clone()).await;
        let at = h.find("name=\"_csrf\" value=\"").unwrap() + 20;
        h[at..at + 32].to_owned()
    };
    let (s, _) = post(
        agent,
        vec![("_csrf", agent_csrf), ("confirm", "yes".into())],
    )
    .await;
    assert_eq!(s, 404);
    assert!(page(admin.clone()).await.contains("Quentin Zarbi"));
    // Confirmed: erased, and the page shows the conversation without them.
    let (s, to) = post(
        admin.clone(),
        vec![("_csrf", csrf), ("confirm", "yes".into())],
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (303, format!("/conversations/{conv}").as_str())
    );
    let html = page(admin).await;
    assert!(
        !html.contains("Quentin Zarbi") && !html.contains("+33677778888"),
        "{html}"
    );
    assert!(html.contains("Erased contact"), "{html}");
    let (_, log) = app.get("/api/v1/audit").await;
    assert!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "erase_contact")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canned_yaml_is_read_back_when_the_workspace_loads() {
    let dir = tempfile::tempdir().unwrap();
    relais_server::demo::write_workspace(dir.path()).unwrap();
    let file = dir.path().join("canned.yaml");
    std::fs::write(
        &file,
        "canned:\n  - { shortcut: merci, title: Merci, body: \"Merci, à bientôt !\", language: fr }\n",
    )
    .unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_workspace_app(dir.path(), &clock, true).await;
    let listed = |b: &serde_json::Value| -> Vec<(String, String)> {
        b["canned"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["shortcut"].as_str().unwrap().to_owned(),
                    c["body"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let (s, b) = app.get("/api/v1/canned").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(listed(&b), [("merci".into(), "Merci, à bientôt !".into())]);
    // One made through the API stays; the file's own changes arrive on reload.
    let (s, _) = app
        .post(
            "/api/v1/canned",
            json!({ "shortcut": "wait", "title": "Wait", "body": "One moment please." }),
        )
        .await;
    assert_eq!(s, 201);
    std::fs::write(
        &file,
        "canned:\n  - { shortcut: merci, title: Merci, body: \"Merci beaucoup !\", language: fr }\n",
    )
    .unwrap();
    let (s, b) = app.post("/api/v1/reload", json!({})).await;
    assert_eq!(s, 200, "{b}");
    let (_, b) = app.get("/api/v1/canned").await;
    let mut got = listed(&b);
    got.sort();
    assert_eq!(
        got,
        [
            ("merci".into(), "Merci beaucoup !".into()),
            ("wait".into(), "One moment please.".into())
        ]
    );
    // A broken file is refused by the check, with its line; nothing changes.
    std::fs::write(
        &file,
        "canned:\n  - { shortcut: \"no good\", title: x, body: y }\n",
    )
    .unwrap();
    let (s, b) = app.post("/api/v1/reload", json!({})).await;
    assert!(s >= 400, "{s} {b}");
    assert!(b.to_string().contains("canned.yaml:2"), "{b}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_a_channel_on_the_channels_page_checked_like_channels_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    login_agent(&app, "ada@example.com", "admin", &[]).await;
    login_agent(&app, "sam@example.com", "supervisor", &[]).await;
    let c = page_client();
    let admin = page_session(&app, &c, "ada@example.com").await;
    let get = |cookie: String, path: String| {
        let c = c.clone();
        let url = format!("{}{path}", app.url);
        async move {
            c.get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let html = get(admin.clone(), "/channels".into()).await;
    assert!(html.contains("name=\"entry\""), "admins get the form");
    let at = html.find("name=\"_csrf\" value=\"").unwrap() + 20;
    let csrf = html[at..at + 32].to_owned();
    let post = |entry: &str| {
        let c = c.clone();
        let url = format!("{}/channels", app.url);
        let form = vec![("_csrf", csrf.clone()), ("entry", entry.to_owned())];
        let cookie = admin.clone();
        async move {
            let r = c
                .post(url)
                .header("cookie", cookie)
                .form(&form)
                .send()
                .await
                .unwrap();
            r.headers()["location"].to_str().unwrap().to_owned()
        }
    };
    // A mistake is named with the entry's own line, and the text comes back to the form.
    let wrong = "id: tg-fr\nkind: telegram\nsecrets: { bot_token: ORDERS_API }\ncolour: blue\n";
    let to = post(wrong).await;
    assert!(to.starts_with("/channels?error="), "{to}");
    let html = get(admin.clone(), to.clone()).await;
    assert!(html.contains("line 4"), "{html}");
    assert!(html.contains("colour"), "{html}");
    assert!(
        html.contains("webhook_secret"),
        "the missing secret is named: {html}"
    );
    assert!(html.contains("id: tg-fr"), "the draft is kept: {html}");
    // Right: the channel exists, with its webhook address, and is recorded.
    let right = "id: tg-fr\nkind: telegram\nsecrets: { bot_token: ORDERS_API, webhook_secret: ORDERS_API }\n";
    let to = post(right).await;
    assert!(to.starts_with("/channels?done="), "{to}");
    let html = get(admin.clone(), "/channels".into()).await;
    assert!(html.contains("/webhooks/telegram/tg-fr"), "{html}");
    let (_, log) = app.get("/api/v1/audit").await;
    assert!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "change:channel_created" && e["target"] == "channel:tg-fr"),
        "{log}"
    );
    // Supervisors read the page without the form.
    let sam = page_session(&app, &c, "sam@example.com").await;
    assert!(
        !get(sam, "/channels".into())
            .await
            .contains("name=\"entry\"")
    );

    // A channel made here is turned off and on from the page; one of channels.yaml is
    // the file's (no button, and the API answers 409).
    let html = get(admin.clone(), "/channels".into()).await;
    assert!(html.contains("action=\"/channels/tg-fr/switch\""), "{html}");
    assert!(!html.contains("action=\"/channels/web/switch\""), "{html}");
    let r = c
        .post(format!("{}/channels/tg-fr/switch", app.url))
        .header("cookie", admin.clone())
        .form(&[("_csrf", csrf.as_str()), ("enabled", "0")])
        .send()
        .await
        .unwrap();
    assert!(r.headers()["location"].to_str().unwrap().contains("done="));
    let enabled = |list: &serde_json::Value, id: &str| {
        list["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["enabled"].clone())
    };
    let (_, list) = app.get("/api/v1/channels").await;
    assert_eq!(enabled(&list, "tg-fr"), Some(json!(false)));
    let (s, b) = app.post("/api/v1/channels/web/disable", json!({})).await;
    assert_eq!(s, 409, "{b}");

    // A channel made here is changed from the page: its entry, prefilled, checked again;
    // the id and kind stay. Through the API too; a channels.yaml one is the file's.
    let html = get(admin.clone(), "/channels".into()).await;
    assert!(html.contains("action=\"/channels/tg-fr/edit\""), "{html}");
    assert!(
        html.contains("id: tg-fr\nkind: telegram\nsecrets: "),
        "the entry is prefilled: {html}"
    );
    let edit = |entry: &'static str| {
        let c = c.clone();
        let url = format!("{}/channels/tg-fr/edit", app.url);
        let form = vec![("_csrf", csrf.clone()), ("entry", entry.to_owned())];
        let cookie = admin.clone();
        async move {
            let r = c
                .post(url)
                .header("cookie", cookie)
                .form(&form)
                .send()
                .await
                .unwrap();
            r.headers()["location"].to_str().unwrap().to_owned()
        }
    };
    let to = edit("id: tg-fr\nkind: telegram\nsettings: { rate: 5 }\nsecrets: { bot_token: ORDERS_API, webhook_secret: ORDERS_API }\ndefault_flow: faq\n").await;
    assert!(to.contains("done="), "{to}");
    let (_, list) = app.get("/api/v1/channels").await;
    let tg = list["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "tg-fr")
        .unwrap()
        .clone();
    assert_eq!(tg["settings"]["rate"], json!(5.0), "{tg}");
    let html = get(admin.clone(), "/channels".into()).await;
    assert!(
        html.contains("default_flow: faq"),
        "the changed entry is what the page shows: {html}"
    );
    let to = edit("id: tg-fr\nkind: telegram\nsecrets: { bot_token: ORDERS_API }\n").await;
    assert!(
        to.contains("error=") && to.contains("webhook_secret"),
        "checked like a new one: {to}"
    );
    let to = edit("id: tg-other\nkind: telegram\nsecrets: { bot_token: ORDERS_API, webhook_secret: ORDERS_API }\n").await;
    assert!(
        to.contains("error=") && to.contains("never+changes"),
        "{to}"
    );
    let body = json!({ "id": "tg-fr", "kind": "telegram", "settings": { "rate": 2 },
                       "secrets": { "bot_token": "ORDERS_API", "webhook_secret": "ORDERS_API" } });
    let r = app
        .client
        .put(format!("{}/api/v1/channels/tg-fr", app.url))
        .bearer_auth(&app.admin_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app.client.put(format!("{}/api/v1/channels/nope", app.url)).bearer_auth(&app.admin_token)
        .json(&json!({ "id": "nope", "kind": "telegram", "secrets": { "bot_token": "ORDERS_API", "webhook_secret": "ORDERS_API" } }))
        .send().await.unwrap();
    assert_eq!(r.status(), 404);

    // The REST channel, off: its callers (with the token) are told; strangers learn
    // nothing more than before; on again, it answers.
    let (s, _) = app.post("/api/v1/channels/demo/disable", json!({})).await;
    assert_eq!(s, 200);
    let (s, b) = app
        .converse(json!({ "sender": "+33600000001", "text": "hello" }))
        .await;
    assert_eq!(s, 403, "{b}");
    let (s, _) = app
        .converse_on(
            "demo",
            "not-the-token",
            json!({ "sender": "+33600000001", "text": "hello" }),
        )
        .await;
    assert_eq!(s, 401);
    let (s, _) = app.post("/api/v1/channels/demo/enable", json!({})).await;
    assert_eq!(s, 200);
    let (s, b) = app
        .converse(json!({ "sender": "+33600000001", "text": "hello" }))
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, log) = app.get("/api/v1/audit").await;
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"change:channel_disabled") && actions.contains(&"change:channel_enabled"),
        "{actions:?}"
    );
    app.stop().await;
}
