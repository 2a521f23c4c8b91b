//! A second factor for admins and supervisors: required by `[login] require_totp`,
//! enrolled through the API with an authenticator's code, asked at every login,
//! each code good once, recovery codes good once, and disabled with a code.

use crate::handoff::{call, login_agent};
use crate::helpers::*;
use relais_core::Duration;
use relais_server::auth::totp;
use relais_server::clock::{Clock, ManualClock};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

async fn login(app: &TestApp, email: &str, otp: Option<&str>) -> (u16, Value) {
    let mut body = json!({ "email": email, "password": PASSWORD });
    if let Some(o) = otp {
        body["otp"] = json!(o);
    }
    let r = app.login_raw(body).await;
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn code(secret_hex: &str, clock: &ManualClock) -> String {
    let secret = hex::decode(secret_hex).unwrap();
    let step = totp::step_of(clock.now().0 / 1000);
    format!("{:06}", totp::hotp(&secret, step as u64, 6))
}

#[tokio::test]
async fn supervisors_enrol_then_need_their_code_each_good_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_app_with(
        dir.path(),
        &clock,
        &[("RELAIS__LOGIN__REQUIRE_TOTP", r#"["admin", "supervisor"]"#)],
    )
    .await;
    let sup = login_agent(&app, "sue@shop.example", "supervisor", &[]).await;
    // Without a second factor yet, the session can only enrol.
    let (s, b) = login(&app, "sue@shop.example", None).await;
    assert_eq!((s, &b["totp_required"]), (200, &json!(true)), "{b}");
    let enrol = b["token"].as_str().unwrap().to_owned();
    assert_eq!(
        call(&app, &enrol, "GET", "/api/v1/conversations", None)
            .await
            .0,
        403
    );
    assert!(!sup.token.is_empty());

    let (s, b) = call(&app, &enrol, "POST", "/api/v1/me/totp", None).await;
    assert_eq!(s, 200, "{b}");
    assert!(
        b["uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Relais:"),
        "{b}"
    );
    let agent = relais_core::id::AgentId(sup.id);
    let secret = app.rt.store.totp(agent).await.unwrap().unwrap().secret;
    assert_eq!(
        b["secret"].as_str().unwrap(),
        totp::base32(&hex::decode(&secret).unwrap()),
        "the app gets the stored secret"
    );
    let (s, b) = call(
        &app,
        &enrol,
        "POST",
        "/api/v1/me/totp/confirm",
        Some(json!({ "code": "000000" })),
    )
    .await;
    assert_eq!((s, &b["error"]["field"]), (400, &json!("code")), "{b}");
    let (s, b) = call(
        &app,
        &enrol,
        "POST",
        "/api/v1/me/totp/confirm",
        Some(json!({ "code": code(&secret, &clock) })),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let recovery: Vec<String> = serde_json::from_value(b["recovery_codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 10);

    // Every login now asks for the code.
    let (s, b) = login(&app, "sue@shop.example", None).await;
    assert_eq!(s, 401, "{b}");
    assert!(
        b["error"]["message"].as_str().unwrap().contains("otp"),
        "{b}"
    );
    // The code used to confirm is spent; the next step's code works, once.
    let (s, _) = login(&app, "sue@shop.example", Some(&code(&secret, &clock))).await;
    assert_eq!(s, 401, "a code is good once");
    clock.advance(Duration::seconds(30));
    let now_code = code(&secret, &clock);
    let (s, b) = login(&app, "sue@shop.example", Some(&now_code)).await;
    assert_eq!((s, &b["totp_required"]), (200, &json!(false)), "{b}");
    let full = b["token"].as_str().unwrap().to_owned();
    assert_eq!(
        call(&app, &full, "GET", "/api/v1/conversations", None)
            .await
            .0,
        200
    );
    let (s, _) = login(&app, "sue@shop.example", Some(&now_code)).await;
    assert_eq!(s, 401, "replayed within the same step");
    // A recovery code stands in for a code, once (typed in capitals, without the dash).
    let typed = recovery[0].replace('-', "").to_uppercase();
    let (s, b) = login(&app, "sue@shop.example", Some(&typed)).await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = login(&app, "sue@shop.example", Some(&recovery[0])).await;
    assert_eq!(s, 401, "a recovery code is good once");
    // Disabled with a code; then the password alone gives the enrol-only session again.
    let (s, b) = call(
        &app,
        &full,
        "POST",
        "/api/v1/me/totp/disable",
        Some(json!({ "code": recovery[1] })),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = login(&app, "sue@shop.example", None).await;
    assert_eq!((s, &b["totp_required"]), (200, &json!(true)), "{b}");
    // Agents are not required to enrol by this setting, but may.
    let ann = login_agent(&app, "ann@shop.example", "agent", &[]).await;
    let (s, b) = login(&app, "ann@shop.example", None).await;
    assert_eq!((s, &b["totp_required"]), (200, &json!(false)), "{b}");
    assert!(!ann.token.is_empty());
    app.stop().await;
}
