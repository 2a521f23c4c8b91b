//! The agent workspace's first pages over real HTTP: signing in with the login form
//! (the same throttled login as the API), the session cookie's flags, CSRF on every
//! form, the inbox views, the presence switch and signing out.

use super::handoff::login_agent;
use super::helpers::*;
use relais_server::clock::ManualClock;
use serde_json::json;

/// Monday 2026-11-23 10:00 in Paris: the support team is open.
const MONDAY_10H: relais_core::Timestamp = relais_core::Timestamp(1_795_424_400_000);

fn browser() -> reqwest::Client {
    page_client()
}

async fn log_in(
    app: &TestApp,
    c: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    c.post(format!("{}/login", app.url))
        .form(&[
            ("email", email),
            ("password", password),
            ("next", "/inbox?view=unassigned"),
        ])
        .send()
        .await
        .unwrap()
}

fn session_of(r: &reqwest::Response) -> String {
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    set.split(';').next().unwrap().to_owned()
}

fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a CSRF field") + 20;
    html[at..at + 32].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_sign_in_see_their_inbox_switch_presence_and_sign_out_with_csrf_on_every_form() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MONDAY_10H);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    login_agent(&app, "ana@example.com", "agent", &["support"]).await;
    login_agent(&app, "nora@example.com", "agent", &["sales-north"]).await;
    let c = browser();
    let get = |path: &str, cookie: Option<&str>| {
        let mut r = c.get(format!("{}{path}", app.url));
        if let Some(k) = cookie {
            r = r.header("cookie", k);
        }
        r.send()
    };

    // Not signed in: the pages send to the login form, which comes back after.
    let r = get("/inbox?view=pending", None).await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/login?next=%2Finbox%3Fview%3Dpending"
    );
    let r = get("/login", None).await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let html = r.text().await.unwrap();
    for name in [
        "<label for=\"email\">Email</label>",
        "<label for=\"password\">Password</label>",
        ">Log in</button>",
    ] {
        assert!(html.contains(name), "{name}");
    }

    // A customer asks for a human: the support team's conversation.
    let (s, _) = app
        .converse(json!({ "sender": "+33600000001", "text": "je veux parler à un conseiller" }))
        .await;
    assert_eq!(s, 200);

    // A wrong password is said on the form (401), not a JSON error.
    let r = log_in(&app, &c, "ana@example.com", "wrong password, sorry").await;
    let status = r.status();
    let body = r.text().await.unwrap();
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("role=\"alert\""), "{body}");
    let r = log_in(&app, &c, "ana@example.com", "correct horse battery staple").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/inbox?view=unassigned");
    let ana = session_of(&r);

    let html = get("/inbox?view=unassigned", Some(&ana))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for link in ["Inbox", "Settings"] {
        assert!(html.contains(&format!(">{link}</a>")), "{link}");
    }
    for admin_only in ["Dashboard", "Flows", "Teams", "Agents", "Channels"] {
        assert!(
            !html.contains(&format!(">{admin_only}</a>")),
            "{admin_only} is for supervisors and admins"
        );
    }
    for view in ["Mine", "Unassigned", "My teams", "Pending", "Solved"] {
        assert!(
            html.contains(&format!(">{view} <span class=\"count\">")),
            "{view}"
        );
    }
    assert!(
        html.contains(
            "view=unassigned\" aria-current=\"page\">Unassigned <span class=\"count\">1</span>"
        ),
        "the view's count: {html}"
    );
    assert!(
        !html.contains(">All <span"),
        "All is for supervisors and admins"
    );
    assert!(html.contains("aria-label=\"Presence\""));
    assert!(
        html.contains("href=\"/conversations/"),
        "the support conversation is listed: {html}"
    );

    // Another team's agent never sees it.
    let r = log_in(&app, &c, "nora@example.com", "correct horse battery staple").await;
    let chloe = session_of(&r);
    for view in ["mine", "unassigned", "my_teams", "pending", "solved", "all"] {
        let html = get(&format!("/inbox?view={view}"), Some(&chloe))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!html.contains("href=\"/conversations/"), "{view}: {html}");
    }

    // The pages' live stream opens with the session cookie only (Chloé's: opening it
    // puts an agent online, which would hand Ana the waiting conversation).
    assert_eq!(get("/live", None).await.unwrap().status(), 303);
    let r = get("/live", Some(&chloe)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    drop(r);
    let js = get("/assets/app.js", None).await.unwrap();
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );

    // The conversation page shows the transcript to Ana, and "not found" to Chloé.
    let at = html.find("href=\"/conversations/").unwrap() + 6;
    let path = html[at..].split('"').next().unwrap().to_owned();
    let r = get(&path, Some(&ana)).await.unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("je veux parler à un conseiller"), "{page}");
    assert_eq!(get(&path, Some(&chloe)).await.unwrap().status(), 404);
    // Chloé cannot act on it either.
    let act = |cookie: &str, form: Vec<(&'static str, String)>| {
        c.post(format!("{}{path}/act", app.url))
            .header("cookie", cookie.to_owned())
            .form(&form)
            .send()
    };
    let chloe_csrf = {
        let h = get("/inbox", Some(&chloe))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        csrf_in(&h)
    };
    let r = act(
        &chloe,
        vec![("_csrf", chloe_csrf), ("action", "claim".into())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 404);
    // Ana claims, replies (a double submit sends once), notes and solves from the page.
    assert!(page.contains(">Claim</button>") && page.contains(">Send</button>"));
    assert!(page.contains("<label for=\"reply\" class=\"sr\">Reply</label>"));
    let csrf = csrf_in(&page);
    let r = act(&ana, vec![("action", "claim".into())]).await.unwrap();
    assert_eq!(r.status(), 403, "no CSRF token");
    let r = act(
        &ana,
        vec![("_csrf", csrf.clone()), ("action", "claim".into())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let page = get(&path, Some(&ana)).await.unwrap().text().await.unwrap();
    assert!(
        !page.contains(">Claim</button>"),
        "claimed: no Claim button"
    );
    for _ in 0..2 {
        let r = act(
            &ana,
            vec![
                ("_csrf", csrf.clone()),
                ("action", "reply".into()),
                ("client_id", "form-1".into()),
                (
                    "text",
                    "Bonjour, Ana du support. Je regarde votre commande.".into(),
                ),
            ],
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 303);
    }
    let r = act(
        &ana,
        vec![
            ("_csrf", csrf.clone()),
            ("action", "reply".into()),
            ("text", "  ".into()),
        ],
    )
    .await
    .unwrap();
    assert!(
        r.headers()["location"].to_str().unwrap().contains("error="),
        "an empty reply is refused on the page"
    );
    let r = act(
        &ana,
        vec![
            ("_csrf", csrf.clone()),
            ("action", "note".into()),
            ("text", "VIP customer".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let all = app.transcripts().await;
    assert_eq!(
        all.iter()
            .filter(|m| m["text"] == "Bonjour, Ana du support. Je regarde votre commande.")
            .count(),
        1,
        "a double submit sends once"
    );
    assert!(
        all.iter()
            .any(|m| m["text"] == "VIP customer" && m["direction"] == "note")
    );
    // Transfer to another team, the text going with it as a note; then back.
    assert!(page.contains(">Transfer</button>") && page.contains("aria-label=\"Transfer to\""));
    let r = act(
        &ana,
        vec![("_csrf", csrf.clone()), ("action", "transfer".into())],
    )
    .await
    .unwrap();
    assert!(
        r.headers()["location"].to_str().unwrap().contains("error="),
        "no team, no transfer"
    );
    let r = act(
        &ana,
        vec![
            ("_csrf", csrf.clone()),
            ("action", "transfer".into()),
            ("to", "team:sales-north".into()),
            ("text", "Wants a quote for 40 units".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let moved = app.get(&format!("/api/v1{path}")).await.1;
    assert_eq!(
        moved["conversation"]["conversation"]["team"], "sales-north",
        "{moved}"
    );
    assert!(
        app.transcripts()
            .await
            .iter()
            .any(|m| m["text"] == "Wants a quote for 40 units" && m["direction"] == "note")
    );
    assert_eq!(
        get(&path, Some(&chloe)).await.unwrap().status(),
        200,
        "now her team's"
    );
    let chloe_csrf = csrf_in(
        &get("/inbox", Some(&chloe))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let r = act(
        &chloe,
        vec![
            ("_csrf", chloe_csrf),
            ("action", "transfer".into()),
            ("to", "team:support".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let r = act(
        &ana,
        vec![("_csrf", csrf.clone()), ("action", "claim".into())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let r = act(
        &ana,
        vec![("_csrf", csrf.clone()), ("action", "solve".into())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let page = get(&path, Some(&ana)).await.unwrap().text().await.unwrap();
    assert!(
        page.contains("status solved") && page.contains(">Reopen</button>"),
        "{page}"
    );

    // The configuration pages are for supervisors and admins: an agent gets "not found".
    for section in [
        "/dashboard",
        "/flows",
        "/teams",
        "/agents",
        "/channels",
        "/canned",
        "/templates",
    ] {
        let r = get(section, Some(&ana)).await.unwrap();
        assert_eq!(r.status(), 404, "{section}");
    }
    assert_eq!(get("/settings", Some(&ana)).await.unwrap().status(), 200);

    // Presence: a form with its CSRF token; without it, refused.
    let csrf = csrf_in(
        &get("/inbox", Some(&ana))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let post = |path: &str, cookie: &str, form: Vec<(&'static str, String)>| {
        c.post(format!("{}{path}", app.url))
            .header("cookie", cookie.to_owned())
            .form(&form)
            .send()
    };
    let r = post("/presence", &ana, vec![("presence", "away".into())])
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = post(
        "/presence",
        &ana,
        vec![("presence", "away".into()), ("_csrf", "0".repeat(32))],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    let r = post(
        "/presence",
        &ana,
        vec![("presence", "away".into()), ("_csrf", csrf.clone())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let html = get("/inbox", Some(&ana))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<option value=\"away\" selected>"), "{html}");
    // Chloé's token is not Ana's: her form cannot carry Ana's CSRF token.
    let r = post(
        "/presence",
        &chloe,
        vec![("presence", "offline".into()), ("_csrf", csrf.clone())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);

    // Signing out ends the session: the cookie no longer opens a page.
    let r = post("/logout", &ana, vec![]).await.unwrap();
    assert_eq!(r.status(), 403, "no CSRF token, no logout");
    let r = post("/logout", &ana, vec![("_csrf", csrf)]).await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(get("/inbox", Some(&ana)).await.unwrap().status(), 303);

    // A login form posted from another site is refused (login CSRF).
    let r = c
        .post(format!("{}/login", app.url))
        .header("origin", "https://evil.example")
        .form(&[
            ("email", "nora@example.com"),
            ("password", "correct horse battery staple"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("set-cookie").is_none());

    // A login may only come back to a page of this site.
    let r = c
        .post(format!("{}/login", app.url))
        .form(&[
            ("email", "nora@example.com"),
            ("password", "correct horse battery staple"),
            ("next", "//evil.example/x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/inbox");
    app.stop().await;
}
