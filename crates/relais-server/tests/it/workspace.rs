//! The workspace's pages beyond signing in, over real HTTP: the inbox's counts,
//! filters, search and unread markers; collision detection; a reply to a conversation
//! that moved on; transfer to an agent; canned responses; the agent's language; the
//! configuration pages for admins (changes written through the API's checks) and
//! read-only for supervisors.

use super::handoff::login_agent;
use super::helpers::*;
use relais_server::clock::ManualClock;
use serde_json::{Value, json};

/// Monday 2026-11-23 10:00 in Paris: the support team is open.
const MONDAY_10H: relais_core::Timestamp = relais_core::Timestamp(1_795_424_400_000);
const PASSWORD: &str = "correct horse battery staple";

struct Browser {
    c: reqwest::Client,
    url: String,
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        Browser {
            c: page_client(),
            url: app.url.clone(),
        }
    }

    /// Signs in with the form; the session cookie.
    async fn log_in(&self, email: &str, password: &str) -> Result<String, u16> {
        let r = self
            .c
            .post(format!("{}/login", self.url))
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .unwrap();
        if r.status() != 303 {
            return Err(r.status().as_u16());
        }
        let set = r.headers()["set-cookie"].to_str().unwrap();
        Ok(set.split(';').next().unwrap().to_owned())
    }

    async fn get(&self, cookie: &str, path: &str) -> (u16, String) {
        let r = self
            .c
            .get(format!("{}{path}", self.url))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Posts a form with the session's CSRF token (read from a page).
    async fn post(&self, cookie: &str, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
        let (_, page) = self.get(cookie, "/settings").await;
        let csrf = csrf_in(&page);
        let mut fields: Vec<(&str, &str)> = vec![("_csrf", &csrf)];
        fields.extend_from_slice(form);
        let r = self
            .c
            .post(format!("{}{path}", self.url))
            .header("cookie", cookie)
            .form(&fields)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, location, r.text().await.unwrap())
    }
}

fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a CSRF field") + 20;
    html[at..at + 32].to_owned()
}

/// The value of a hidden field of a page.
fn hidden(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("a field {name}"))
        + name.len()
        + 15;
    html[at..].split('"').next().unwrap().to_owned()
}

/// The conversation ids an inbox page lists.
fn listed(html: &str) -> Vec<i64> {
    html.split("data-conversation=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().parse().unwrap())
        .collect()
}

fn unread(html: &str, id: i64) -> bool {
    html.contains(&format!(
        "<li class=\"is-unread\" data-conversation=\"{id}\">"
    ))
}

/// Two servers on the demo workspace sharing one fresh PostgreSQL schema (`None`: no
/// PostgreSQL configured, outside CI). The schema and folder live as long as this.
struct Nodes {
    one: TestApp,
    two: TestApp,
    _schema: PgSchema,
    _dir: tempfile::TempDir,
}

async fn two_nodes() -> Option<Nodes> {
    let schema = PgSchema::create()?;
    let dir = tempfile::tempdir().unwrap();
    relais_server::demo::write_workspace(dir.path()).unwrap();
    let clock = ManualClock::new(MONDAY_10H);
    let url = schema.url();
    let vars = [
        ("RELAIS__DATABASE__URL", url.as_str()),
        ("RELAIS__SECRETS__ORDERS_API", "http://127.0.0.1:9"),
    ];
    let one = spawn_dir_app_with(dir.path(), &clock, &vars).await;
    let two = spawn_dir_app_with(dir.path(), &clock, &vars).await;
    Some(Nodes {
        one,
        two,
        _schema: schema,
        _dir: dir,
    })
}

/// Collision detection is kept by the store: two agents signed in on two nodes of one
/// PostgreSQL database see each other on a conversation, and who types.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_on_two_nodes_over_postgresql_see_each_other_on_a_conversation() {
    let Some(Nodes {
        one,
        two,
        _schema,
        _dir,
    }) = two_nodes().await
    else {
        return;
    };
    // The demo's credentials are the last node's (each start mints them again).
    login_agent(&two, "ana@example.com", "agent", &["support"]).await;
    login_agent(&two, "bea@example.com", "agent", &["support"]).await;
    let (s, _) = two
        .converse(json!({ "sender": "+33600000009", "text": "je veux parler à un conseiller" }))
        .await;
    assert_eq!(s, 200);
    let (a, b) = (Browser::new(&one), Browser::new(&two));
    let ana = a.log_in("ana@example.com", PASSWORD).await.unwrap();
    let bea = b.log_in("bea@example.com", PASSWORD).await.unwrap();
    let (_, html) = b.get(&bea, "/inbox?view=unassigned").await;
    let id = listed(&html)[0];
    let here = format!("/conversations/{id}/here");
    let others =
        |body: String| -> Value { serde_json::from_str::<Value>(&body).unwrap()["others"].clone() };

    let (s, _, body) = a.post(&ana, &here, &[("typing", "0")]).await;
    assert_eq!(s, 200);
    assert_eq!(others(body), json!([]));
    let (_, _, body) = b.post(&bea, &here, &[("typing", "1")]).await;
    assert_eq!(
        others(body),
        json!([{ "name": "ana@example.com", "typing": false }]),
        "node two sees Ana, who is on node one"
    );
    let (_, _, body) = a.post(&ana, &here, &[("typing", "0")]).await;
    assert_eq!(
        others(body),
        json!([{ "name": "bea@example.com", "typing": true }]),
        "node one sees Bea typing on node two"
    );
    // Bea closes her page: gone for Ana at once.
    let (s, _, _) = b.post(&bea, &here, &[("gone", "1")]).await;
    assert_eq!(s, 204);
    let (_, _, body) = a.post(&ana, &here, &[("typing", "0")]).await;
    assert_eq!(others(body), json!([]));
    one.stop().await;
    two.stop().await;
}

/// A change made through one node (its Settings page, a template through its API) is
/// used by the other nodes of the PostgreSQL database within seconds, without a
/// restart or a reload by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_on_one_node_is_followed_by_the_others() {
    let Some(Nodes {
        one,
        two,
        _schema,
        _dir,
    }) = two_nodes().await
    else {
        return;
    };
    login_agent(&two, "ada@example.com", "admin", &[]).await;
    let b = Browser::new(&one);
    let ada = b.log_in("ada@example.com", PASSWORD).await.unwrap();
    let (s, to, _) = b
        .post(
            &ada,
            "/settings",
            &[("inactivity.remind", "25m"), ("inactivity.close", "1h")],
        )
        .await;
    assert_eq!((s, to.contains("done=")), (303, true), "{to}");
    let minutes = |app: &TestApp| app.rt.tunable().lifecycle.remind_after;
    assert_eq!(minutes(&one), relais_core::Duration::minutes(25));
    eventually("node two uses node one's settings", || async {
        minutes(&two) == relais_core::Duration::minutes(25)
    })
    .await;
    let (s, b) = two
        .post(
            "/api/v1/templates",
            json!({ "name": "colis_en_route", "language": "fr", "body": "Votre colis {{1}} est en route." }),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let has = |app: &TestApp| {
        app.rt.flows.as_ref().is_some_and(|f| {
            f.loaded()
                .ws
                .templates
                .iter()
                .any(|t| t.name == "colis_en_route")
        })
    };
    assert!(has(&two));
    eventually("node one knows node two's template", || async { has(&one) }).await;
    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_filters_searches_counts_and_marks_what_is_unread_and_agents_see_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MONDAY_10H);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    login_agent(&app, "ana@example.com", "agent", &["support"]).await;
    let bea = login_agent(&app, "bea@example.com", "agent", &["support"]).await;
    let b = Browser::new(&app);

    for (sender, text) in [
        ("+33600000001", "je veux parler à un conseiller"),
        (
            "+33600000002",
            "je veux parler à un conseiller, mon colis est cassé",
        ),
    ] {
        let (s, _) = app
            .converse(json!({ "sender": sender, "text": text }))
            .await;
        assert_eq!(s, 200);
    }
    let ana = b.log_in("ana@example.com", PASSWORD).await.unwrap();
    let bea_cookie = b.log_in("bea@example.com", PASSWORD).await.unwrap();

    // Both wait unassigned, unread, with their last message and the view's count.
    let (_, html) = b.get(&ana, "/inbox?view=unassigned").await;
    let ids = listed(&html);
    assert_eq!(ids.len(), 2, "{html}");
    assert!(
        html.contains("Unassigned <span class=\"count\">2</span>"),
        "{html}"
    );
    assert!(ids.iter().all(|id| unread(&html, *id)));
    assert!(
        html.contains(
            "<span class=\"last\">je veux parler à un conseiller, mon colis est cassé</span>"
        ),
        "the row shows the customer's last message, not the bot's answer after it: {html}"
    );
    // Search by text, filters by channel and status.
    let (_, html) = b.get(&ana, "/inbox?view=unassigned&q=CASS%C3%89").await;
    assert_eq!(listed(&html).len(), 1, "search ignores case: {html}");
    let (_, html) = b.get(&ana, "/inbox?view=unassigned&q=%2B33600000001").await;
    assert_eq!(listed(&html).len(), 1, "search by the contact's address");
    let (_, html) = b.get(&ana, "/inbox?view=unassigned&q=100%25").await;
    assert!(listed(&html).is_empty(), "% is a character, not a wildcard");
    let (_, html) = b.get(&ana, "/inbox?view=unassigned&channel=demo").await;
    assert_eq!(listed(&html).len(), 2);
    let (_, html) = b.get(&ana, "/inbox?view=unassigned&channel=web").await;
    assert!(listed(&html).is_empty());
    let (_, html) = b.get(&ana, "/inbox?view=unassigned&status=pending").await;
    assert!(listed(&html).is_empty());
    assert!(
        html.contains("view=mine&amp;status=pending"),
        "the filters stay on when switching views"
    );

    // Opening a conversation reads it, for that agent only.
    let first = *ids.iter().min().unwrap();
    let path = format!("/conversations/{first}");
    let (s, page) = b.get(&ana, &path).await;
    assert_eq!(s, 200);
    assert!(
        page.contains("Reached on") && page.contains("+33600000001"),
        "the contact card"
    );
    assert!(page.contains("Handed over:"), "the escalation reason");
    let (_, html) = b.get(&ana, "/inbox?view=unassigned").await;
    assert!(!unread(&html, first) && html.contains(&format!("data-conversation=\"{first}\"")));
    let (_, html) = b.get(&bea_cookie, "/inbox?view=unassigned").await;
    assert!(unread(&html, first), "still unread for Bea");

    // Collision detection: each sees the other on the conversation, and who types.
    let here = |cookie: String, typing: bool| {
        let b = &b;
        let path = format!("{path}/here");
        async move {
            let t = if typing { "1" } else { "0" };
            let (s, _, body) = b.post(&cookie, &path, &[("typing", t)]).await;
            assert_eq!(s, 200, "{body}");
            serde_json::from_str::<Value>(&body).unwrap()["others"].clone()
        }
    };
    assert_eq!(here(ana.clone(), false).await, json!([]));
    assert_eq!(
        here(bea_cookie.clone(), true).await,
        json!([{ "name": "ana@example.com", "typing": false }])
    );
    assert_eq!(
        here(ana.clone(), false).await,
        json!([{ "name": "bea@example.com", "typing": true }])
    );
    let r =
        b.c.post(format!("{}{path}/here", app.url))
            .header("cookie", &ana)
            .form(&[("typing", "1")])
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 403, "no CSRF token");
    // An agent of another team is never told who is there (nor that it exists).
    login_agent(&app, "nora@example.com", "agent", &["sales-north"]).await;
    let nora = b.log_in("nora@example.com", PASSWORD).await.unwrap();
    let (s, _, _) = b
        .post(&nora, &format!("{path}/here"), &[("typing", "0")])
        .await;
    assert_eq!(s, 404);

    // A reply to a conversation that moved on is stopped, the draft kept.
    let seen = hidden(&page, "seen");
    let (s, _) = app
        .converse(json!({ "sender": "+33600000001", "text": "vous êtes là ?" }))
        .await;
    assert_eq!(s, 200);
    let draft = "Oui, je regarde votre dossier.";
    let (s, _, body) = b
        .post(
            &ana,
            &format!("{path}/act"),
            &[("action", "reply"), ("seen", &seen), ("text", draft)],
        )
        .await;
    assert_eq!(s, 409);
    assert!(body.contains("changed since you opened it"), "{body}");
    assert!(body.contains("vous êtes là ?"), "the news is shown");
    assert!(
        body.contains(&format!(">{draft}</textarea>")),
        "the draft is kept"
    );
    assert!(
        !app.transcripts().await.iter().any(|m| m["text"] == draft),
        "not sent"
    );
    let seen = hidden(&body, "seen");
    let (s, _, _) = b
        .post(
            &ana,
            &format!("{path}/act"),
            &[("action", "reply"), ("seen", &seen), ("text", draft)],
        )
        .await;
    assert_eq!(s, 303);
    assert!(app.transcripts().await.iter().any(|m| m["text"] == draft));

    // Transfer to an agent, with a note.
    let to = format!("agent:{}", bea.id);
    let (s, loc, _) = b
        .post(
            &ana,
            &format!("{path}/act"),
            &[
                ("action", "transfer"),
                ("to", &to),
                ("text", "Bea knows this parcel"),
            ],
        )
        .await;
    assert_eq!((s, loc.contains("error")), (303, false), "{loc}");
    let (_, c) = app.get(&format!("/api/v1{path}")).await;
    assert_eq!(c["conversation"]["conversation"]["assignee"], bea.id, "{c}");
    let (s, loc, _) = b
        .post(
            &ana,
            &format!("{path}/act"),
            &[("action", "transfer"), ("to", "nobody")],
        )
        .await;
    assert!(s == 303 && loc.contains("error="), "{loc}");

    // An attachment that does not exist (or is not one's to see) is "not found".
    assert_eq!(b.get(&ana, "/media/999999").await.0, 404);

    // The agent's language.
    let (s, loc, _) = b.post(&ana, "/language", &[("language", "fr")]).await;
    assert_eq!(s, 303, "{loc}");
    let (_, html) = b.get(&ana, "/inbox").await;
    assert!(html.contains("<html lang=\"fr\">") && html.contains(">Boîte de réception</a>"));
    assert!(html.contains(">Les miennes <span"), "{html}");
    let (_, loc, _) = b.post(&ana, "/language", &[("language", "klingon")]).await;
    assert!(loc.contains("error="), "{loc}");
    let (_, html) = b.get(&bea_cookie, "/inbox").await;
    assert!(html.contains("<html lang=\"en\">"), "per agent");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_change_teams_agents_and_canned_responses_from_the_pages_and_supervisors_only_read()
{
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MONDAY_10H);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    login_agent(&app, "ada@example.com", "admin", &[]).await;
    login_agent(&app, "sam@example.com", "supervisor", &["support"]).await;
    login_agent(&app, "ana@example.com", "agent", &["support"]).await;
    let b = Browser::new(&app);
    let ada = b.log_in("ada@example.com", PASSWORD).await.unwrap();
    let sam = b.log_in("sam@example.com", PASSWORD).await.unwrap();
    let ana = b.log_in("ana@example.com", PASSWORD).await.unwrap();

    // Channels: the address to paste, the web chat's snippet, no secret value.
    let (s, html) = b.get(&ada, "/channels").await;
    assert_eq!(s, 200);
    assert!(html.contains("/webchat/web") && html.contains("/api/v1/channels/demo/converse"));
    assert!(html.contains("widget.js"), "{html}");
    // Templates from templates.yaml; the server's settings.
    let (_, html) = b.get(&sam, "/templates").await;
    assert!(html.contains("creneau_livraison") && html.contains("{{1}}"));
    let (_, html) = b.get(&sam, "/settings").await;
    assert!(html.contains("Satisfaction survey"));
    let (_, html) = b.get(&ana, "/settings").await;
    assert!(
        !html.contains("Satisfaction survey"),
        "an agent sees their own settings only"
    );

    // Teams: created and changed by an admin, through the API's checks.
    let (s, loc, _) = b
        .post(
            &ada,
            "/teams",
            &[
                ("id", "billing"),
                ("name", "Billing"),
                ("assignment", "least_busy"),
                ("capacity", "3"),
            ],
        )
        .await;
    assert_eq!(s, 303);
    assert!(loc.contains("done="), "{loc}");
    let (_, teams) = app.get("/api/v1/teams").await;
    let billing = teams["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "billing")
        .cloned()
        .expect("billing saved");
    assert_eq!(billing["assignment"], "least_busy");
    assert_eq!(billing["capacity"], 3);
    let (_, loc, _) = b
        .post(
            &ada,
            "/teams",
            &[("id", "Bad Id!"), ("name", "x"), ("assignment", "manual")],
        )
        .await;
    assert!(loc.contains("error=id"), "the field is named: {loc}");
    let (_, loc, _) = b
        .post(
            &ada,
            "/teams",
            &[("id", "x"), ("name", "x"), ("assignment", "lottery")],
        )
        .await;
    assert!(loc.contains("error=assignment"), "{loc}");
    // Its business hours and holidays, edited on the page as the page shows them.
    let (s, loc, _) = b
        .post(
            &ada,
            "/teams",
            &[
                ("id", "billing"),
                ("name", "Billing"),
                ("assignment", "least_busy"),
                ("capacity", "3"),
                ("hours", "Europe/Rome · mon-fri 08:30-17:00"),
                ("holidays", "2026-12-26, 2027-01-06"),
            ],
        )
        .await;
    assert_eq!((s, loc.contains("done=")), (303, true), "{loc}");
    let (_, teams) = app.get("/api/v1/teams").await;
    let billing = teams["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "billing")
        .cloned()
        .unwrap();
    assert_eq!(
        billing["hours"],
        json!({ "tz": "Europe/Rome", "mon-fri": "08:30-17:00" }),
        "{billing}"
    );
    assert_eq!(billing["holidays"], json!(["2026-12-26", "2027-01-06"]));
    let (_, html) = b.get(&ada, "/teams").await;
    // The hours the runtime now uses (the workspace reloaded), read back as ranges.
    assert!(
        html.contains("Europe/Rome · mon-fri 08:30-17:00<"),
        "{html}"
    );
    // Hours the team's own check refuses come back as an error, nothing saved.
    for bad in ["mon-fri 09:00-18:00", "Europe/Rome · mon-fri 25:00-26:00"] {
        let (_, loc, _) = b
            .post(
                &ada,
                "/teams",
                &[
                    ("id", "billing"),
                    ("name", "Billing"),
                    ("assignment", "least_busy"),
                    ("hours", bad),
                    ("holidays", ""),
                ],
            )
            .await;
        assert!(loc.contains("error="), "{bad}: {loc}");
    }
    let (_, teams) = app.get("/api/v1/teams").await;
    assert!(
        teams.to_string().contains("08:30-17:00"),
        "the refused hours changed nothing"
    );
    // A supervisor reads the page without its forms, and cannot post.
    let (s, html) = b.get(&sam, "/teams").await;
    assert_eq!(s, 200);
    assert!(html.contains("Billing") && !html.contains("action=\"/teams\""));
    assert!(
        html.contains("Europe/Paris · mon-fri 09:00-18:00 · sat 10:00-13:00")
            && html.contains("2026-12-25"),
        "the hours the runtime uses, from teams.yaml: {html}"
    );
    let (s, _, _) = b
        .post(
            &sam,
            "/teams",
            &[("id", "sneaky"), ("name", "S"), ("assignment", "manual")],
        )
        .await;
    assert_eq!(s, 403);

    // Agents: invited with a first password shown once, which logs in; teams set;
    // deactivated, the login no longer works.
    let (s, _, html) = b
        .post(
            &ada,
            "/agents",
            &[
                ("email", "Zoe@Example.com"),
                ("name", "Zoé"),
                ("role", "agent"),
                ("team", "billing"),
            ],
        )
        .await;
    assert_eq!(s, 201, "{html}");
    let at = html.find("id=\"first-password\">").unwrap() + 20;
    let password = html[at..].split('<').next().unwrap().to_owned();
    assert_eq!(password.len(), 20);
    let zoe = b.log_in("zoe@example.com", &password).await.unwrap();
    assert_eq!(b.get(&zoe, "/inbox").await.0, 200);
    let (_, agents) = app.get("/api/v1/agents").await;
    let zoe_id = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "zoe@example.com")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (_, teams) = app.get("/api/v1/teams").await;
    assert!(
        teams["teams"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == "billing"
                && t["members"].as_array().unwrap().contains(&json!(zoe_id)))
    );
    let (_, _, html) = b
        .post(
            &ada,
            "/agents",
            &[
                ("email", "zoe@example.com"),
                ("name", "Z"),
                ("role", "agent"),
            ],
        )
        .await;
    assert!(html.is_empty(), "a redirect");
    let (_, html) = b.get(&ada, "/agents?error=x").await;
    assert!(html.contains("Zoé"));
    let path = format!("/agents/{zoe_id}");
    let (s, _, _) = b
        .post(&ada, &path, &[("action", "teams"), ("team", "support")])
        .await;
    assert_eq!(s, 303);
    // A role changed on the page holds at once: Zoé, supervisor, reads the teams.
    assert_eq!(b.get(&zoe, "/teams").await.0, 404);
    let (s, loc, _) = b
        .post(&ada, &path, &[("action", "role"), ("role", "supervisor")])
        .await;
    assert!(s == 303 && loc.contains("done="), "{loc}");
    assert_eq!(b.get(&zoe, "/teams").await.0, 200);
    let (s, _, _) = b.post(&ada, &path, &[("action", "deactivate")]).await;
    assert_eq!(s, 303);
    assert_eq!(b.get(&zoe, "/inbox").await.0, 303, "the session ended");
    assert_eq!(b.log_in("zoe@example.com", &password).await, Err(401));
    let (s, _, _) = b.post(&sam, &path, &[("action", "activate")]).await;
    assert_eq!(s, 403, "supervisors read");
    let (s, _, _) = b.post(&ada, &path, &[("action", "activate")]).await;
    assert_eq!(s, 303);
    assert!(b.log_in("zoe@example.com", &password).await.is_ok());

    // Canned responses: made, changed and deleted here; offered in the reply box.
    let (s, loc, _) = b
        .post(
            &ada,
            "/canned",
            &[
                ("shortcut", "livraison"),
                ("title", "Délai de livraison"),
                ("body", "Comptez 48 h."),
            ],
        )
        .await;
    assert_eq!(s, 303, "{loc}");
    let (_, list) = app.get("/api/v1/canned").await;
    let id = list["canned"][0]["id"].as_i64().unwrap().to_string();
    let (_, loc, _) = b
        .post(
            &ada,
            "/canned",
            &[
                ("id", &id),
                ("shortcut", "livraison"),
                ("title", "Délai"),
                ("body", "Comptez 72 h."),
            ],
        )
        .await;
    assert!(loc.contains("done="), "{loc}");
    let (_, list) = app.get("/api/v1/canned").await;
    assert_eq!(list["canned"][0]["body"], "Comptez 72 h.");
    let (_, loc, _) = b
        .post(
            &ada,
            "/canned",
            &[("shortcut", "x y"), ("title", "T"), ("body", "B")],
        )
        .await;
    assert!(loc.contains("error=shortcut"), "{loc}");
    let (s, _) = app
        .converse(json!({ "sender": "+33600000009", "text": "je veux parler à un conseiller" }))
        .await;
    assert_eq!(s, 200);
    let (_, html) = b.get(&ana, "/inbox?view=unassigned").await;
    let conv = listed(&html)[0];
    let (_, page) = b.get(&ana, &format!("/conversations/{conv}")).await;
    assert!(page.contains("data-shortcut=\"livraison\"") && page.contains("Comptez 72 h."));
    let (s, _, _) = b.post(&ada, &format!("/canned/{id}/delete"), &[]).await;
    assert_eq!(s, 303);
    let (_, list) = app.get("/api/v1/canned").await;
    assert_eq!(list["canned"], json!([]));

    // Admin changes are recorded (who did what).
    let events = app.rt.store.events(None, 0, 1000).await.unwrap();
    let kinds: Vec<String> = events
        .iter()
        .filter(|e| e.event.kind == relais_core::event::EventKind::AdminAction)
        .map(|e| {
            e.event.data["action"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    for action in [
        "team_saved",
        "agent_created",
        "canned_saved",
        "canned_deleted",
        "agent_role",
    ] {
        assert!(kinds.iter().any(|k| k == action), "{action} in {kinds:?}");
    }
    // (Last: this demotes the admin whose token the test's API calls use.)
    // Never without an admin: demoting every other admin works, the last one is refused.
    let (_, agents) = app.get("/api/v1/agents").await;
    let ada_id = relais_core::id::AgentId(
        agents["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["email"] == "ada@example.com")
            .unwrap()["id"]
            .as_i64()
            .unwrap(),
    );
    for a in agents["agents"].as_array().unwrap() {
        if a["role"] == "admin" && a["email"] != "ada@example.com" {
            let (s, loc, _) = b
                .post(
                    &ada,
                    &format!("/agents/{}", a["id"]),
                    &[("action", "role"), ("role", "agent")],
                )
                .await;
            assert!(s == 303 && loc.contains("done="), "{loc}");
        }
    }
    let last = app
        .rt
        .store
        .set_agent_role(ada_id, relais_core::agent::Role::Agent)
        .await;
    assert!(
        matches!(last, Err(relais_store::Error::Conflict(_))),
        "{last:?}"
    );
    let roles: Vec<relais_core::agent::Role> = app
        .rt
        .store
        .agents()
        .await
        .unwrap()
        .iter()
        .filter(|a| a.id == ada_id)
        .map(|a| a.role)
        .collect();
    assert_eq!(roles, [relais_core::agent::Role::Admin], "still an admin");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_are_drawn_simulated_checked_at_their_lines_published_and_tested_from_the_pages() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MONDAY_10H);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    login_agent(&app, "ada@example.com", "admin", &[]).await;
    login_agent(&app, "sam@example.com", "supervisor", &["support"]).await;
    let b = Browser::new(&app);
    let ada = b.log_in("ada@example.com", PASSWORD).await.unwrap();
    let sam = b.log_in("sam@example.com", PASSWORD).await.unwrap();

    // Every flow with its version; a flow's graph drawn from its model.
    let (s, html) = b.get(&sam, "/flows").await;
    assert_eq!(s, 200);
    for flow in ["order-status", "faq", "region", "reschedule"] {
        assert!(html.contains(&format!("href=\"/flows/{flow}\"")), "{flow}");
    }
    assert!(html.contains(">v1</td>"));
    let (s, html) = b.get(&sam, "/flows/order-status").await;
    assert_eq!(s, 200);
    assert!(html.contains("<svg") && html.contains("<g class=\"node start\">"));
    assert!(
        html.contains("button: track"),
        "a route's label on its edge"
    );
    assert!(!html.contains(" style="), "no inline style under the CSP");
    assert_eq!(b.get(&sam, "/flows/nope").await.0, 404);

    // The simulator replays what was said, on a virtual clock.
    let (s, _, html) = b
        .post(
            &sam,
            "/flows/order-status/simulate",
            &[("say", "Bonjour"), ("script", "")],
        )
        .await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("<li class=\"them\"><span class=\"by\">You</span><p>Bonjour</p>"));
    assert!(
        html.contains("<li class=\"bot\">"),
        "the bot answers: {html}"
    );
    let script = {
        let at = html.find("name=\"script\" value=\"").unwrap() + 21;
        html[at..].split('"').next().unwrap().to_owned()
    };
    assert_eq!(script, "Bonjour");
    let (_, _, html) = b
        .post(
            &sam,
            "/flows/order-status/simulate",
            &[
                ("say", "je veux parler à un conseiller"),
                ("script", &script),
            ],
        )
        .await;
    assert_eq!(
        html.matches("<li class=\"them\">").count(),
        2,
        "replayed, then the new line"
    );
    assert!(html.contains("open"), "handed over: the state says so");
    let (_, _, html) = b
        .post(
            &sam,
            "/flows/order-status/simulate",
            &[("say", "/wait nonsense"), ("script", "")],
        )
        .await;
    assert!(
        html.contains("error-line"),
        "a bad command is said, not a crash"
    );
    let (s, loc, _) = b
        .post(&sam, "/flows/order-status/simulate", &[("action", "reset")])
        .await;
    assert_eq!((s, loc.as_str()), (303, "/flows/order-status#sim-title"));

    // A flow file checked: findings at their lines, 422; a clean one may be published
    // by an admin (written to the workspace, reloaded), not by a supervisor.
    let broken = "flow: hello\ntrigger: { on: api }\nstart: greet\nsteps:\n  greet:\n    say: \"Hi\"\n    next: nowhere\n";
    let (s, _, html) = b
        .post(
            &sam,
            "/flows/check",
            &[("path", "flows/hello.yaml"), ("source", broken)],
        )
        .await;
    assert_eq!(s, 422);
    assert!(
        html.contains("<li class=\"bad\" id=\"L7\">"),
        "line 7 marked: {html}"
    );
    assert!(
        html.contains("nowhere"),
        "the finding names the unknown step"
    );
    assert!(!html.contains("value=\"publish\""));
    let (_, _, html) = b
        .post(
            &sam,
            "/flows/check",
            &[("path", "../etc/passwd"), ("source", broken)],
        )
        .await;
    assert!(html.contains("flows/NAME.yaml"), "the path is checked");
    let good = "flow: hello\ntrigger: { on: api }\nstart: greet\nsteps:\n  greet:\n    handoff: { reason: requested }\n";
    let (s, _, html) = b
        .post(
            &sam,
            "/flows/check",
            &[("path", "flows/hello.yaml"), ("source", good)],
        )
        .await;
    assert_eq!(s, 200);
    assert!(
        html.contains("No error.") && !html.contains("value=\"publish\""),
        "supervisors only check"
    );
    let (s, _, _) = b
        .post(
            &sam,
            "/flows/check",
            &[
                ("path", "flows/hello.yaml"),
                ("source", good),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(s, 403);
    assert!(!dir.path().join("flows/hello.yaml").exists());
    let (_, _, html) = b
        .post(
            &ada,
            "/flows/check",
            &[("path", "flows/hello.yaml"), ("source", good)],
        )
        .await;
    assert!(html.contains("value=\"publish\""));
    let (s, loc, _) = b
        .post(
            &ada,
            "/flows/check",
            &[
                ("path", "flows/hello.yaml"),
                ("source", good),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!((s, loc.as_str()), (303, "/flows/hello"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("flows/hello.yaml")).unwrap(),
        good
    );
    let (s, html) = b.get(&ada, "/flows/hello").await;
    assert_eq!(s, 200, "loaded: {html}");
    let (_, flows) = app.get("/api/v1/flows").await;
    assert!(flows.to_string().contains("\"hello\""), "{flows}");

    // The workspace's conversation tests, run from the page; a failing one shows its diff.
    let (s, _, html) = b.post(&sam, "/flows/tests", &[]).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("asking for a human always works") && !html.contains("case bad"),
        "{html}"
    );
    std::fs::write(
        dir.path().join("tests/wrong.yaml"),
        "name: a wrong expectation\nflow: order-status\nchannel: whatsapp\ncontact: { name: Bob, language: fr }\n\
         clock: \"2026-11-23T10:00:00+01:00\"\nsteps:\n  - user: \"Bonjour\"\n    bot: \"Good evening*\"\n",
    )
    .unwrap();
    let (_, _, html) = b.post(&sam, "/flows/tests", &[]).await;
    assert!(html.contains("<li class=\"case bad\">"), "{html}");
    assert!(html.contains("a wrong expectation") && html.contains("class=\"differs\""));
    assert!(
        html.contains(" failed.") && html.contains("1 failed"),
        "{html}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_admins_change_in_the_pages_is_exported_back_to_workspace_files() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MONDAY_10H);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    login_agent(&app, "ada@example.com", "admin", &[]).await;
    let b = Browser::new(&app);
    let ada = b.log_in("ada@example.com", PASSWORD).await.unwrap();
    let (s, _, _) = b
        .post(
            &ada,
            "/teams",
            &[
                ("id", "billing"),
                ("name", "Billing"),
                ("assignment", "least_busy"),
                ("capacity", "3"),
            ],
        )
        .await;
    assert_eq!(s, 303);
    let (s, _, _) = b
        .post(
            &ada,
            "/canned",
            &[
                ("shortcut", "merci"),
                ("title", "Merci"),
                ("body", "Merci pour votre patience."),
            ],
        )
        .await;
    assert_eq!(s, 303);
    let (s, _, _) = b
        .post(
            &ada,
            "/articles",
            &[
                ("title", "Cartes cadeaux"),
                ("slug", "cartes-cadeaux"),
                ("language", "fr"),
                ("tags", "cadeaux"),
                ("body", "Nous vendons des cartes cadeaux de 10 à 500 euros."),
            ],
        )
        .await;
    assert_eq!(s, 303);
    // An article made then deleted on the page: not exported, no longer searched.
    let (s, _, _) = b
        .post(
            &ada,
            "/articles",
            &[
                ("title", "Provisoire"),
                ("slug", "provisoire"),
                ("language", "fr"),
                ("body", "Un article qui ne reste pas."),
            ],
        )
        .await;
    assert_eq!(s, 303);
    let (_, list) = app.get("/api/v1/articles").await;
    let id = list["articles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["slug"] == "provisoire")
        .and_then(|a| a["id"].as_i64())
        .unwrap();
    let (s, to, _) = b.post(&ada, &format!("/articles/{id}/delete"), &[]).await;
    assert_eq!((s, to.contains("done=")), (303, true), "{to}");
    let (s, to, _) = b.post(&ada, &format!("/articles/{id}/delete"), &[]).await;
    assert_eq!((s, to.contains("error=")), (303, true), "{to}");
    // A template made on the page: listed at once, and refused when templates.yaml has it.
    let form = [
        ("name", "retard_livraison"),
        ("language", "fr"),
        ("category", "utility"),
        (
            "body",
            "Votre colis {{1}} aura du retard : nouvelle date le {{2}}.",
        ),
        ("buttons", "OK, Appelez-moi"),
    ];
    let (s, _, _) = b.post(&ada, "/templates", &form).await;
    assert_eq!(s, 303);
    let (_, page) = b.get(&ada, "/templates").await;
    assert!(
        page.contains("retard_livraison") && page.contains("OK, Appelez-moi"),
        "{page}"
    );
    let (s, to, _) = b
        .post(
            &ada,
            "/templates",
            &[
                ("name", "creneau_livraison"),
                ("language", "fr"),
                ("body", "x"),
            ],
        )
        .await;
    assert_eq!(s, 303);
    assert!(to.contains("error="), "{to}");
    let (s, to, _) = b
        .post(
            &ada,
            "/templates",
            &[
                ("name", "gap"),
                ("language", "fr"),
                ("body", "a {{1}} b {{3}}"),
            ],
        )
        .await;
    assert_eq!(s, 303);
    assert!(to.contains("error=body"), "{to}");
    let out = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(["admin", "export-workspace", "--workspace"])
        .arg(dir.path())
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let teams = std::fs::read_to_string(out.path().join("teams.yaml")).unwrap();
    assert!(
        teams.contains("\"id\":\"billing\"") && teams.contains("\"assignment\":\"least_busy\"")
    );
    // The demo's support team keeps the hours of its teams.yaml.
    assert!(
        teams.contains("\"id\":\"support\"") && teams.contains("Europe/Paris"),
        "{teams}"
    );
    assert!(teams.contains("ada@example.com"));
    let canned = std::fs::read_to_string(out.path().join("canned.yaml")).unwrap();
    assert!(canned.contains("Merci pour votre patience."));
    // The article made on the page, and the demo's own, as kb/*.md.
    let article = std::fs::read_to_string(out.path().join("kb/cartes-cadeaux.md")).unwrap();
    assert!(
        article.starts_with("---\ntitle: \"Cartes cadeaux\"\nlanguage: fr\n"),
        "{article}"
    );
    assert!(out.path().join("kb/delivery-fr.md").exists());
    assert!(!out.path().join("kb/provisoire.md").exists());
    // templates.yaml: the file's templates and the one made on the page.
    let templates = std::fs::read_to_string(out.path().join("templates.yaml")).unwrap();
    assert!(
        templates.contains("creneau_livraison") && templates.contains("retard_livraison"),
        "{templates}"
    );
    std::fs::copy(
        out.path().join("templates.yaml"),
        dir.path().join("templates.yaml"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("kb")).unwrap();
    std::fs::copy(
        out.path().join("kb/cartes-cadeaux.md"),
        dir.path().join("kb/cartes-cadeaux.md"),
    )
    .unwrap();
    // Read back as workspace files: the exported teams.yaml passes the loader.
    std::fs::copy(out.path().join("teams.yaml"), dir.path().join("teams.yaml")).unwrap();
    let sources = relais_server::workspace::read(dir.path()).unwrap();
    let (ws, diags) = relais_flow::workspace::Workspace::load(&sources, Default::default());
    let ws = ws.unwrap_or_else(|| panic!("{diags:?}"));
    assert_eq!(ws.team("billing").unwrap().capacity, 3);
    assert!(ws.team("support").unwrap().hours.written().is_some());
    assert!(
        ws.articles
            .iter()
            .any(|a| a.id == "cartes-cadeaux" && a.title == "Cartes cadeaux")
    );
    let t = ws
        .templates
        .iter()
        .find(|t| t.name == "retard_livraison")
        .unwrap();
    assert_eq!(
        (t.arity(), t.buttons.clone()),
        (2, vec!["OK".to_owned(), "Appelez-moi".to_owned()])
    );
    assert_eq!(
        ws.templates_from_file,
        ws.templates.len(),
        "every template now comes from the file"
    );
    app.stop().await;
}

#[tokio::test]
async fn templates_are_made_listed_refused_and_deleted_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MONDAY_10H);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    let body = serde_json::json!({
        "name": "retard_livraison", "language": "en", "category": "utility",
        "body": "Parcel {{1}} is late: new date {{2}}.", "buttons": ["OK"],
    });
    let (s, made) = app.post("/api/v1/templates", body.clone()).await;
    assert_eq!(s, 201, "{made}");
    assert_eq!(made["reload"]["live"], true, "{made}");
    let (_, list) = app.get("/api/v1/templates").await;
    let found: Vec<&serde_json::Value> = list["templates"].as_array().unwrap().iter().collect();
    let mine = found
        .iter()
        .find(|t| t["name"] == "retard_livraison")
        .expect("listed");
    assert_eq!(
        (mine["source"].as_str(), mine["parameters"].as_u64()),
        (Some("stored"), Some(2))
    );
    assert!(found.iter().any(|t| t["name"] == "creneau_livraison"
        && t["source"] == "templates.yaml"
        && t["id"].is_null()));
    // Taken, in the file, a gap in the parameters, too many buttons.
    assert_eq!(app.post("/api/v1/templates", body).await.0, 409);
    let (s, e) = app
        .post(
            "/api/v1/templates",
            serde_json::json!({ "name": "creneau_livraison", "language": "fr", "body": "x" }),
        )
        .await;
    assert_eq!(s, 409, "{e}");
    let (s, e) = app
        .post(
            "/api/v1/templates",
            serde_json::json!({ "name": "gap", "language": "fr", "body": "{{2}} only" }),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        e.to_string().contains("{{2}} comes where {{1}} should"),
        "{e}"
    );
    let (s, _) = app
        .post("/api/v1/templates", serde_json::json!({ "name": "many", "language": "fr", "body": "x", "buttons": ["a", "b", "c", "d"] }))
        .await;
    assert_eq!(s, 400);
    let id = made["template"]["id"].as_i64().unwrap();
    let del = |id: i64| {
        app.client
            .delete(format!("{}/api/v1/templates/{id}", app.url))
            .bearer_auth(&app.admin_token)
            .send()
    };
    assert_eq!(del(id).await.unwrap().status(), 204);
    assert_eq!(del(id).await.unwrap().status(), 404);
    let (_, list) = app.get("/api/v1/templates").await;
    assert!(!list.to_string().contains("retard_livraison"));
    app.stop().await;
}

/// The server's settings on the Settings page: shown with where each comes from,
/// checked by relais.toml's rules (a mistake names its key, nothing changes), used at
/// once (the survey stops), kept across a restart, recorded, read-only for
/// supervisors, exported into relais.toml, and put back to the file's values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_change_the_servers_settings_on_the_settings_page_checked_like_relais_toml() {
    use super::handoff::call;
    use relais_core::Duration;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MONDAY_10H);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    login_agent(&app, "ada@example.com", "admin", &[]).await;
    login_agent(&app, "sam@example.com", "supervisor", &["support"]).await;
    let ana = login_agent(&app, "ana@example.com", "agent", &["support"]).await;
    let b = Browser::new(&app);
    let ada = b.log_in("ada@example.com", PASSWORD).await.unwrap();
    let sam = b.log_in("sam@example.com", PASSWORD).await.unwrap();

    // A customer handed over, claimed and solved by Ana: is the survey sent?
    let surveyed = |sender: &'static str| {
        let (app, token) = (&app, ana.token.clone());
        async move {
            let (s, said) = app
                .converse(json!({ "sender": sender, "text": "je veux parler à un conseiller" }))
                .await;
            assert_eq!(s, 200);
            let id = said["conversation_id"].as_i64().unwrap();
            for action in ["claim", "solve"] {
                let (s, b) = call(
                    app,
                    &token,
                    "POST",
                    &format!("/api/v1/conversations/{id}/{action}"),
                    None,
                )
                .await;
                assert_eq!(s, 200, "{action}: {b}");
            }
            let messages = app
                .rt
                .store
                .messages(relais_core::id::ConversationId(id))
                .await
                .unwrap();
            messages
                .iter()
                .any(|m| m.text.starts_with("Comment évaluez-vous"))
        }
    };
    assert!(
        surveyed("+33600000031").await,
        "relais.toml's default: surveyed"
    );

    let (_, html) = b.get(&ada, "/settings").await;
    assert!(
        html.contains("name=\"inactivity.remind\" value=\"10m\""),
        "{html}"
    );
    assert!(
        html.contains("<code>handoff.csat</code> · relais.toml"),
        "{html}"
    );
    assert!(
        html.contains("<code>sla.first_response</code> · default"),
        "{html}"
    );
    // A mistake is named by its key; nothing changes.
    let (s, to, _) = b
        .post(
            &ada,
            "/settings",
            &[("inactivity.remind", "45m"), ("inactivity.close", "30m")],
        )
        .await;
    assert_eq!(s, 303);
    assert!(
        to.contains("error=") && to.contains("inactivity.close"),
        "{to}"
    );
    let (_, _, _) = b
        .post(&ada, "/settings", &[("costs.agent_hour", "lots")])
        .await;
    assert_eq!(
        app.rt.tunable().lifecycle.remind_after,
        Duration::minutes(10)
    );
    assert!(app.rt.tunable().page.is_empty());

    let change = [
        ("inactivity.remind", "15m"),
        ("inactivity.close", "1h"),
        ("handoff.return_after", "off"),
        ("handoff.auto_close", "2d"),
        ("handoff.csat", "false"),
        ("sla.first_response", "20m"),
        ("costs.per_conversation", "0.4"),
        ("costs.agent_hour", "30"),
    ];
    let (s, to, _) = b.post(&ada, "/settings", &change).await;
    assert_eq!((s, to.contains("done=")), (303, true), "{to}");
    let t = app.rt.tunable();
    assert_eq!(t.lifecycle.remind_after, Duration::minutes(15));
    assert_eq!(t.lifecycle.close_after, Duration::hours(1));
    assert_eq!(t.lifecycle.return_after, None);
    assert_eq!(t.lifecycle.auto_close, Duration::days(2));
    assert_eq!(t.sla.first_response, Some(Duration::minutes(20)));
    assert_eq!(t.costs.map(|c| c.agent_hour), Some(30.0));
    assert!(
        !surveyed("+33600000032").await,
        "the store's lifecycle changed at once: no survey"
    );
    let (_, html) = b.get(&ada, "/settings").await;
    assert!(html.contains("name=\"inactivity.remind\" value=\"15m\""));
    assert!(
        html.contains("<code>inactivity.remind</code> · changed here"),
        "{html}"
    );
    // Supervisors read without a form; their post is refused.
    let (_, html) = b.get(&sam, "/settings").await;
    assert!(
        html.contains(">15m<") && !html.contains("name=\"inactivity.remind\""),
        "{html}"
    );
    let (s, _, _) = b
        .post(&sam, "/settings", &[("inactivity.remind", "1m")])
        .await;
    assert_eq!(s, 403);
    // Recorded.
    let (_, audit) = app.get("/api/v1/audit").await;
    assert!(audit.to_string().contains("settings_changed"), "{audit}");

    // Exported into relais.toml, the file's other settings kept.
    let out = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(["admin", "export-workspace", "--workspace"])
        .arg(dir.path())
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let toml = std::fs::read_to_string(out.path().join("relais.toml")).unwrap();
    assert!(toml.contains("default_team = \"support\""), "{toml}");
    let exported = relais_server::config::Settings::load(out.path(), &[]).unwrap();
    let e = exported.tunable().unwrap();
    assert_eq!(e.lifecycle.remind_after, Duration::minutes(15));
    assert!(!e.lifecycle.csat);
    assert_eq!(e.costs.map(|c| c.per_conversation), Some(0.4));

    // Kept across a restart.
    app.stop().await;
    let app = spawn_workspace_app(dir.path(), &clock, true).await;
    assert_eq!(
        app.rt.tunable().lifecycle.remind_after,
        Duration::minutes(15)
    );
    // Back to relais.toml's values.
    let b = Browser::new(&app);
    let ada = b.log_in("ada@example.com", PASSWORD).await.unwrap();
    let (s, to, _) = b.post(&ada, "/settings/reset", &[]).await;
    assert_eq!((s, to.contains("done=")), (303, true), "{to}");
    assert_eq!(
        app.rt.tunable().lifecycle.remind_after,
        Duration::minutes(10)
    );
    assert!(app.rt.tunable().lifecycle.csat);
    let (_, html) = b.get(&ada, "/settings").await;
    assert!(!html.contains("· changed here"), "{html}");
    app.stop().await;
}
