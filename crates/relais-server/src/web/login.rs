//! Signing in and out, and the agent's own switches (presence, language).

use super::i18n::Lang;
use super::layout::{Form, document, lang, page};
use super::session::{self, Signed};
use crate::html::escape;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::ClientAddr;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: Option<String>,
}

/// Only a path on this site (no `//host`, no scheme) is a place to come back to.
pub fn safe_next(next: Option<&str>) -> &str {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or("/inbox")
}

fn browser_lang(headers: &HeaderMap) -> Lang {
    Lang::from_accept(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

fn login_form(l: Lang, next: &str, error: Option<&str>, email: &str) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    document(
        l,
        l.t("Log in"),
        &format!(
            "<main class=\"login\"><h1>Relais</h1>{error}\
             <form method=\"post\" action=\"/login\">\
             <input type=\"hidden\" name=\"next\" value=\"{next}\">\
             <label for=\"email\">{email_label}</label>\
             <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required value=\"{email}\">\
             <label for=\"password\">{password}</label>\
             <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <label for=\"otp\">{otp} <span class=\"hint\">{otp_hint}</span></label>\
             <input id=\"otp\" name=\"otp\" inputmode=\"numeric\" autocomplete=\"one-time-code\">\
             <button type=\"submit\">{login}</button></form></main>",
            next = escape(next),
            email = escape(email),
            email_label = l.t("Email"),
            password = l.t("Password"),
            otp = l.t("One-time code"),
            otp_hint = l.t("(if you set up a second factor)"),
            login = l.t("Log in"),
        ),
    )
}

pub async fn login_page(headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    page(
        StatusCode::OK,
        login_form(
            browser_lang(&headers),
            safe_next(q.next.as_deref()),
            None,
            "",
        ),
    )
}

pub async fn login(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The login form has no session yet, so no CSRF token: a browser posting it from
    // another site (to sign the agent into someone else's account) says so in `Origin`.
    if !session::same_origin(&headers, s.rt.settings.public_url.as_deref()) {
        return session::forbidden("this login form was sent from another site");
    }
    let l = browser_lang(&headers);
    let f = Form::parse(&body);
    let next = safe_next(f.get("next")).to_owned();
    let email = f.get("email").unwrap_or_default().to_owned();
    let password = f.get("password").unwrap_or_default().to_owned();
    let otp = f.get("otp").filter(|o| !o.trim().is_empty());
    match crate::http::api::authenticate(&s, ip, &email, password, otp).await {
        Ok(done) if done.must_enrol => page(
            StatusCode::FORBIDDEN,
            login_form(
                l,
                &next,
                Some(l.t(
                    "Your role needs a second factor: enrol one through the API (POST /api/v1/me/totp) first.",
                )),
                &email,
            ),
        ),
        Ok(done) => {
            let max_age = done
                .expires_at
                .map_or(12 * 3600, |e| (e.0 - s.rt.clock.now().0) / 1000);
            let secure =
                s.rt.settings
                    .public_url
                    .as_deref()
                    .is_some_and(|u| u.starts_with("https://"));
            let mut r = Redirect::to(&next).into_response();
            r.headers_mut().insert(
                header::SET_COOKIE,
                session::set_cookie(&done.token, max_age, secure),
            );
            r
        }
        Err(e) => {
            let (status, message) = match e {
                ApiError::TooManyRequests { message, .. } => {
                    (StatusCode::TOO_MANY_REQUESTS, message)
                }
                ApiError::Unauthorized(_) => (
                    StatusCode::UNAUTHORIZED,
                    l.t("Wrong email, password or code.").to_owned(),
                ),
                other => return other.into_response(),
            };
            page(status, login_form(l, &next, Some(&message), &email))
        }
    }
}

pub async fn logout(State(s): State<AppState>, who: Signed, body: Bytes) -> Response {
    if let Err(refused) = Form::checked(&who, &body) {
        return refused.into_response();
    }
    let now = s.rt.clock.now();
    if let Err(e) =
        s.rt.store
            .revoke_token(who.info.id, who.agent.id, now)
            .await
    {
        return ApiError::from(e).into_response();
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie());
    r
}

/// The presence switch in the header (a form: it works without script).
pub async fn presence(State(s): State<AppState>, who: Signed, body: Bytes) -> Response {
    let f = match Form::checked(&who, &body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let Some(p) = f
        .get("presence")
        .and_then(relais_core::agent::Presence::parse)
    else {
        return session::forbidden("presence is one of online, away, offline");
    };
    if let Err(e) = s.rt.set_presence(who.agent.id, p).await {
        return ApiError::from(e).into_response();
    }
    Redirect::to("/inbox").into_response()
}

/// The agent's language for the pages.
pub async fn set_language(State(s): State<AppState>, who: Signed, body: Bytes) -> Response {
    let f = match Form::checked(&who, &body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let l = lang(&who);
    let Some(chosen) = f.get("language").and_then(Lang::parse) else {
        return Redirect::to(&format!(
            "/settings?error={}",
            super::layout::enc(l.t("Choose one of the languages offered."))
        ))
        .into_response();
    };
    if let Err(e) =
        s.rt.store
            .set_agent_language(who.agent.id, chosen.code().to_owned())
            .await
    {
        return ApiError::from(e).into_response();
    }
    Redirect::to(&format!(
        "/settings?done={}",
        super::layout::enc(chosen.t("Saved."))
    ))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_site_are_places_to_come_back_to() {
        assert_eq!(
            safe_next(Some("/inbox?view=pending")),
            "/inbox?view=pending"
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "inbox",
        ] {
            assert_eq!(safe_next(Some(bad)), "/inbox", "{bad}");
        }
        assert_eq!(safe_next(None), "/inbox");
    }
}
