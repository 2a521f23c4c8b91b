//! Signed-in agents in the browser: the session is the API's own session token, held
//! in an HttpOnly, SameSite=Strict cookie (never readable by scripts, never sent by
//! another site); every state-changing form carries a CSRF token derived from it, so a
//! page elsewhere cannot post on the agent's behalf even where SameSite does not hold.

use crate::auth;
use crate::http::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use relais_store::{Agent, TokenInfo};
use sha2::{Digest, Sha256};

pub const COOKIE: &str = "relais_session";

/// The session token in the request's cookies, if any.
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 200)
}

/// The `Set-Cookie` value that opens a session (`secure` behind HTTPS).
pub fn set_cookie(token: &str, max_age_s: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("relais_session=; Path=/"))
}

/// The `Set-Cookie` value that ends it.
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("relais_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The CSRF token of a session: derived from the secret session token, so it needs no
/// storage and no page elsewhere can know it.
pub fn csrf(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"relais-csrf\0");
    h.update(session_token.as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// Whether a submitted CSRF token is the session's (constant time).
pub fn csrf_ok(session_token: &str, submitted: Option<&str>) -> bool {
    use subtle::ConstantTimeEq;
    let want = csrf(session_token);
    submitted
        .is_some_and(|s| s.len() == want.len() && bool::from(s.as_bytes().ct_eq(want.as_bytes())))
}

/// Whether a browser says the request comes from this site. Browsers that send
/// `Sec-Fetch-Site` say it there (`same-origin`, or `none` for a typed address);
/// otherwise `Origin`, when it names one, must be the Host asked or the public URL
/// (`null`, sent under our `no-referrer` policy, says nothing). A request without
/// either is not a browser's cross-site form.
pub fn same_origin(headers: &HeaderMap, public_url: Option<&str>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| *o != "null")
    else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    crate::origin::is_this_site(&crate::origin::normalize(origin), host, public_url)
}

/// A signed-in agent on a page. Without a valid session the page answers with a
/// redirect to the login form (which comes back here after).
pub struct Signed {
    pub agent: Agent,
    pub token: String,
    pub info: TokenInfo,
    /// The client's address.
    pub ip: std::net::IpAddr,
}

impl Signed {
    /// Where this agent's changes come from (the session, the address), for the audit log.
    pub fn via(&self) -> crate::http::api::Via {
        crate::http::api::Via {
            token: Some(self.info.id),
            ip: Some(self.ip),
        }
    }

    pub fn csrf(&self) -> String {
        csrf(&self.token)
    }
}

/// Sends the browser to the login form, to come back to `path`.
pub struct ToLogin(pub String);

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        let next: String = url::form_urlencoded::byte_serialize(self.0.as_bytes()).collect();
        let mut r = Redirect::to(&format!("/login?next={next}")).into_response();
        r.headers_mut().insert(header::SET_COOKIE, clear_cookie());
        r
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let back = || {
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            ToLogin(if parts.method == axum::http::Method::GET {
                path.to_owned()
            } else {
                "/inbox".to_owned()
            })
            .into_response()
        };
        let Some(token) = cookie(&parts.headers) else {
            return Err(back());
        };
        let found =
            s.rt.store
                .token_by_hash(&auth::token_hash(&token), s.rt.clock.now())
                .await
                .map_err(|e| crate::http::error::ApiError::from(e).into_response())?;
        match found {
            // A session that may only enrol a second factor opens no page.
            Some((info, agent))
                if info.kind == "session"
                    && !agent.disabled
                    && info.scopes.iter().any(|s| s == "*") =>
            {
                let ip = crate::http::extract::client_addr(parts, s);
                Ok(Signed {
                    agent,
                    token,
                    info,
                    ip,
                })
            }
            _ => Err(back()),
        }
    }
}

/// A refused form: 403, said plainly, with a way back.
pub fn forbidden(message: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'self'; frame-ancestors 'none'",
            ),
        ],
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Refused · Relais</title>\
             <link rel=\"stylesheet\" href=\"/assets/app.css\"></head><body><main><h1>Refused</h1>\
             <p class=\"error\" role=\"alert\">{}</p><p><a href=\"/inbox\">Back to the inbox</a></p></main></body></html>\n",
            crate::html::escape(message)
        ),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_from_another_site_is_told_apart() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        assert!(same_origin(
            &h(&[("sec-fetch-site", "same-origin"), ("origin", "null")]),
            None
        ));
        assert!(!same_origin(&h(&[("sec-fetch-site", "cross-site")]), None));
        assert!(!same_origin(&h(&[("sec-fetch-site", "same-site")]), None));
        assert!(same_origin(
            &h(&[("origin", "http://relais:8080"), ("host", "relais:8080")]),
            None
        ));
        assert!(!same_origin(
            &h(&[("origin", "https://evil.example"), ("host", "relais:8080")]),
            None
        ));
        assert!(same_origin(
            &h(&[
                ("origin", "https://support.acme.example"),
                ("host", "10.0.0.2")
            ]),
            Some("https://support.acme.example/")
        ));
        assert!(same_origin(&h(&[("origin", "null")]), None));
        assert!(same_origin(&h(&[]), None));
    }

    #[test]
    fn the_csrf_token_follows_the_session_and_is_checked_whole() {
        let a = csrf("rss_one");
        assert_eq!(a.len(), 32);
        assert_ne!(a, csrf("rss_two"));
        assert!(csrf_ok("rss_one", Some(&a)));
        assert!(!csrf_ok("rss_two", Some(&a)));
        assert!(!csrf_ok("rss_one", Some(&a[..31])));
        assert!(!csrf_ok("rss_one", None));
    }

    #[test]
    fn the_cookie_is_found_among_others_and_set_http_only_and_same_site() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; relais_session=rss_x; b=2"),
        );
        assert_eq!(cookie(&h).as_deref(), Some("rss_x"));
        let set = set_cookie("rss_x", 3600, true);
        let set = set.to_str().unwrap();
        assert!(
            set.contains("HttpOnly")
                && set.contains("SameSite=Strict")
                && set.ends_with("; Secure")
        );
        assert!(
            !set_cookie("rss_x", 1, false)
                .to_str()
                .unwrap()
                .contains("Secure")
        );
    }
}
