//! The visibility matrix, generated from the policy (`relais_core::access`): for every
//! role × action × relation (assigned to me, my team, the shared queue, another team)
//! the HTTP API answers as the policy says, and a refused call leaves no trace and does
//! not even reveal that the conversation exists. Views never list what the caller may
//! not see; only admins change configuration.

use crate::handoff::{call, login_agent};
use crate::helpers::*;
use relais_core::access::{self, ConversationAction as CA, Relation};
use relais_core::agent::Role;
use relais_core::conversation::Priority;
use relais_core::decision::{ConversationHandler, Decision, HandlerInput, Handoff};
use relais_core::id::{ChannelId, ConversationId};
use relais_core::ticket::Action;
use relais_server::clock::ManualClock;
use relais_store::{Act, DeskAction, Inbound, Viewer};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

struct EscalateTo(Option<&'static str>);

impl ConversationHandler for EscalateTo {
    fn decide(&self, _: &HandlerInput<'_>) -> Decision {
        Decision {
            ticket: Some(Action::Escalate),
            handoff: Some(Handoff {
                team: self.0.map(str::to_owned),
                priority: Priority::Normal,
                reason: "requested".into(),
                note: None,
                after_hours: false,
                fields: json!({}),
                language: Some("fr".into()),
            }),
            ..Decision::default()
        }
    }
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A fresh human-owned conversation standing in `relation` to `who`.
async fn fixture(app: &TestApp, who: (i64, Role), relation: Relation) -> ConversationId {
    let team = match relation {
        Relation::Mine | Relation::MyTeam => Some("support"),
        Relation::Shared => None,
        Relation::OtherTeam => Some("sales-north"),
    };
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let done = app
        .rt
        .store
        .ingest(
            Inbound {
                channel: ChannelId("demo".into()),
                address: format!("matrix-{n}"),
                external_id: None,
                text: "un humain svp".into(),
                contact_name: None,
                language: None,
                received_at: T0,
                replies_in_band: true,
                button: None,
                payload: None,
                opens_window: false,
                media: None,
                thread: Vec::new(),
                attachments: Vec::new(),
            },
            Arc::new(EscalateTo(team)),
        )
        .await
        .unwrap();
    if relation == Relation::Mine {
        app.rt
            .store
            .act(DeskAction {
                viewer: Viewer {
                    agent: relais_core::id::AgentId(who.0),
                    role: who.1,
                },
                conversation: done.conversation,
                act: Act::Claim,
                now: T0,
            })
            .await
            .unwrap();
    }
    done.conversation
}

fn request(action: CA, id: i64) -> (&'static str, String, Option<Value>) {
    let p = |s: &str| format!("/api/v1/conversations/{id}{s}");
    match action {
        CA::View => ("GET", p(""), None),
        CA::Reply => ("POST", p("/reply"), Some(json!({ "text": "bonjour" }))),
        CA::Note => ("POST", p("/notes"), Some(json!({ "text": "note" }))),
        CA::Claim => ("POST", p("/claim"), None),
        CA::Transfer => (
            "POST",
            p("/transfer"),
            Some(json!({ "team": "sales-south" })),
        ),
        CA::SetPending => ("POST", p("/pending"), None),
        CA::Solve => ("POST", p("/solve"), None),
        CA::Reopen => ("POST", p("/reopen"), None),
    }
}

#[tokio::test]
async fn every_role_action_and_relation_answers_as_the_policy_says() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    let people = [
        (
            Role::Agent,
            login_agent(&app, "agent@example.com", "agent", &["support"]).await,
        ),
        (
            Role::Supervisor,
            login_agent(&app, "super@example.com", "supervisor", &["support"]).await,
        ),
        (
            Role::Admin,
            login_agent(&app, "admin2@example.com", "admin", &["support"]).await,
        ),
    ];
    let mut cells = 0;
    for (role, person) in &people {
        for action in CA::ALL {
            for relation in Relation::ALL {
                let id = fixture(&app, (person.id, *role), relation).await;
                let before = app.rt.store.messages(id).await.unwrap().len();
                let status_before = app
                    .rt
                    .store
                    .conversation(id)
                    .await
                    .unwrap()
                    .unwrap()
                    .conversation;
                let (method, path, body) = request(action, id.0);
                let (s, b) = call(&app, &person.token, method, &path, body).await;
                let allowed = access::may(*role, action, relation);
                let cell = format!("{role:?} {action:?} on {relation:?}: {s} {b}");
                if allowed {
                    assert!(s != 403 && s != 404 && s < 500, "{cell}");
                } else {
                    assert_eq!(s, 404, "{cell}");
                    assert_eq!(
                        app.rt.store.messages(id).await.unwrap().len(),
                        before,
                        "{cell}"
                    );
                    let after = app
                        .rt
                        .store
                        .conversation(id)
                        .await
                        .unwrap()
                        .unwrap()
                        .conversation;
                    assert_eq!(
                        (after.status, after.team, after.assignee),
                        (
                            status_before.status,
                            status_before.team,
                            status_before.assignee
                        ),
                        "{cell}"
                    );
                    // The events of an invisible conversation are invisible too.
                    let (s, _) = call(
                        &app,
                        &person.token,
                        "GET",
                        &format!("/api/v1/conversations/{}/events", id.0),
                        None,
                    )
                    .await;
                    assert_eq!(s, 404, "{cell}");
                }
                cells += 1;
            }
        }
    }
    assert_eq!(cells, 3 * CA::ALL.len() * Relation::ALL.len());

    // Views list nothing the caller may not see.
    for (role, person) in &people {
        for view in ["mine", "unassigned", "my_teams", "pending", "solved", "all"] {
            let (s, b) = call(
                &app,
                &person.token,
                "GET",
                &format!("/api/v1/conversations?view={view}&limit=200"),
                None,
            )
            .await;
            if view == "all" && *role == Role::Agent {
                assert_eq!(s, 403);
                continue;
            }
            assert_eq!(s, 200, "{b}");
            for c in b["conversations"].as_array().unwrap() {
                let team = c["conversation"]["team"].as_str();
                let assignee = c["conversation"]["assignee"]
                    .as_i64()
                    .map(relais_core::id::AgentId);
                let relation = Relation::of(
                    team,
                    assignee,
                    relais_core::id::AgentId(person.id),
                    &["support".to_owned()],
                );
                assert!(
                    access::may(*role, CA::View, relation),
                    "{role:?} sees {c} in {view}"
                );
            }
        }
    }

    // Filters and paging: a team, newest first, a page at a time.
    let sup = &people[1].1.token;
    let (_, b) = call(
        &app,
        sup,
        "GET",
        "/api/v1/conversations?view=all&team=sales-north",
        None,
    )
    .await;
    let list = b["conversations"].as_array().unwrap();
    assert!(
        !list.is_empty()
            && list
                .iter()
                .all(|c| c["conversation"]["team"] == "sales-north"),
        "{b}"
    );
    let (_, first) = call(
        &app,
        sup,
        "GET",
        "/api/v1/conversations?view=all&limit=2",
        None,
    )
    .await;
    let next = first["next_before"].as_i64().expect("a next page");
    let (_, second) = call(
        &app,
        sup,
        "GET",
        &format!("/api/v1/conversations?view=all&limit=2&before={next}"),
        None,
    )
    .await;
    let ids = |b: &Value| -> Vec<i64> {
        b["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["conversation"]["id"].as_i64().unwrap())
            .collect()
    };
    let (a, z) = (ids(&first), ids(&second));
    assert!(
        a.len() == 2 && z.len() == 2 && a[0] > a[1] && a[1] > z[0] && z[0] > z[1],
        "{a:?} {z:?}"
    );
    let (s, _) = call(
        &app,
        sup,
        "GET",
        "/api/v1/conversations?view=all&priority=huge",
        None,
    )
    .await;
    assert_eq!(s, 400);

    // Only admins change configuration.
    let agent_id = people[0].1.id;
    let config: Vec<(&str, String, Value)> = vec![
        (
            "POST",
            "/api/v1/teams".into(),
            json!({ "id": "new-team", "name": "New", "assignment": "manual" }),
        ),
        (
            "POST",
            "/api/v1/canned".into(),
            json!({ "shortcut": "hello", "title": "Hello", "body": "Bonjour !" }),
        ),
        (
            "PUT",
            format!("/api/v1/agents/{agent_id}/teams"),
            json!({ "teams": ["support"] }),
        ),
        (
            "POST",
            "/api/v1/channels".into(),
            json!({ "id": "other", "kind": "rest" }),
        ),
        ("POST", "/api/v1/reload".into(), json!({})),
    ];
    for (role, person) in &people {
        for (method, path, body) in &config {
            let (s, b) = call(&app, &person.token, method, path, Some(body.clone())).await;
            if access::may_configure(*role) {
                assert!(s != 403 && s < 500, "{role:?} {path}: {s} {b}");
            } else {
                assert_eq!(s, 403, "{role:?} {path}: {b}");
            }
        }
    }
    app.stop().await;
}

/// Every route of the OpenAPI document (itself checked against the sources, so a new
/// route is in it): without a token it answers 401; with a token whose only scope is
/// `tokens` it answers 403 before looking at the body, unless the route is one that
/// scope grants; and on a conversation still with the bot, an agent gets 404 where a
/// supervisor gets an answer (SPEC §5).
#[tokio::test]
async fn every_documented_route_checks_its_caller() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_flow_app(dir.path(), &clock, true).await;
    let agent = login_agent(&app, "agent@example.com", "agent", &["support"]).await;
    let sup = login_agent(&app, "super@example.com", "supervisor", &["support"]).await;
    let (s, b) = call(
        &app,
        &app.admin_token,
        "POST",
        "/api/v1/tokens",
        Some(json!({ "name": "narrow", "scopes": ["tokens"] })),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let narrow = b["token"].as_str().unwrap().to_owned();
    // A conversation still with the bot (the demo flow answers "bonjour" itself).
    let (s, b) = app.converse(msg("+33600000001", "bonjour", None)).await;
    assert_eq!(s, 200, "{b}");
    let bot_conv = b["conversation_id"].as_i64().unwrap();
    let bot_msg = app
        .rt
        .store
        .messages(ConversationId(bot_conv))
        .await
        .unwrap()[0]
        .id
        .0;

    let doc: Value = serde_json::from_str(include_str!("../../src/http/openapi.json")).unwrap();
    let public = [
        ("get", "/health"),
        ("get", "/ready"),
        ("get", "/metrics"),
        ("post", "/api/v1/auth/login"),
        ("get", "/api/v1/openapi.json"),
        // Provider webhooks: signatures, not tokens (it::channels).
        ("get", "/webhooks/{kind}/{id}"),
        ("post", "/webhooks/{kind}/{id}"),
        // Email: the channel's inbound_token (it::email); the web chat: its visitors'
        // own sessions (it::webchat).
        ("post", "/webhooks/email/{id}"),
        ("get", "/webchat/{id}"),
        ("get", "/webchat/{id}/widget.js"),
        ("get", "/webchat/{id}/chat.js"),
        ("get", "/webchat/{id}/chat.css"),
        ("get", "/webchat/{id}/ws"),
        ("post", "/webchat/{id}/http"),
    ];
    // What a `tokens`-only token may call.
    let tokens_scope = [
        ("get", "/api/v1/me"),
        ("get", "/api/v1/tokens"),
        ("post", "/api/v1/tokens"),
        ("delete", "/api/v1/tokens/{id}"),
    ];
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            if public.contains(&(method.as_str(), path.as_str())) {
                continue;
            }
            let id = if path.starts_with("/api/v1/messages/") {
                bot_msg
            } else {
                bot_conv
            };
            let concrete = path
                .replace("{id}", &id.to_string())
                .replace("{channel}", "demo")
                .replace("{shortcut}", "hello")
                .replace("{name}", "x");
            assert!(
                !concrete.contains('{'),
                "a path parameter to fill in {path}"
            );
            let url = format!("{}{concrete}", app.url);
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let send = |token: Option<String>| {
                let mut r = app.client.request(m.clone(), &url);
                if let Some(t) = token {
                    r = r.bearer_auth(t);
                }
                if m != reqwest::Method::GET && m != reqwest::Method::DELETE {
                    // A valid body where the route has one, so that only the caller decides.
                    let body = if path.ends_with("/reply") || path.ends_with("/notes") {
                        json!({ "text": "x" })
                    } else if path.ends_with("/transfer") {
                        json!({ "team": "support" })
                    } else {
                        json!({})
                    };
                    r = r.json(&body);
                }
                r.send()
            };
            let cell = format!("{method} {path}");
            let r = send(None).await.unwrap();
            assert_eq!(r.status(), 401, "{cell} without a token");
            if path.ends_with("/converse") {
                checked += 1;
                continue; // a channel's token, not an agent's: nothing more to try here
            }
            let r = send(Some(narrow.clone())).await.unwrap();
            if tokens_scope.contains(&(method.as_str(), path.as_str())) {
                assert_ne!(r.status(), 403, "{cell} with the tokens scope");
            } else {
                assert_eq!(r.status(), 403, "{cell} with only the tokens scope");
            }
            let conversation_route = path.starts_with("/api/v1/conversations/{id}")
                || path.starts_with("/api/v1/messages/{id}");
            if conversation_route {
                let r = send(Some(agent.token.clone())).await.unwrap();
                assert_eq!(
                    r.status(),
                    404,
                    "{cell}: an agent on a conversation with the bot"
                );
                if method == "get" {
                    let r = send(Some(sup.token.clone())).await.unwrap();
                    assert_eq!(r.status(), 200, "{cell}: a supervisor sees it");
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} routes checked");
    app.stop().await;
}
