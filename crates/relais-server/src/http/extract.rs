//! Request extractors with clear errors: [`ApiJson`] (content type, size, UTF-8, and
//! the JSON path of a wrong field), [`Caller`] (an agent's bearer token).

use super::AppState;
use super::error::ApiError;
use crate::auth::{self, Permission};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use relais_store::{Agent, TokenInfo};
use serde::de::DeserializeOwned;

/// A JSON body, parsed strictly, after the caller's permission for it is checked.
pub struct ApiJson<T>(pub T);

/// A request body type, with the permission its route needs: checked BEFORE the body
/// is read, so that a caller without it learns nothing from validation errors.
pub trait ApiBody: DeserializeOwned {
    /// `None`: the route has no agent caller (login, a channel's converse).
    const NEED: Option<Permission>;
}

/// `body!(Type => Permission)` or `body!(Type)` for routes without an agent caller.
#[macro_export]
macro_rules! api_body {
    ($t:ty => $p:ident) => {
        impl $crate::http::extract::ApiBody for $t {
            const NEED: Option<$crate::auth::Permission> = Some($crate::auth::Permission::$p);
        }
    };
    ($t:ty) => {
        impl $crate::http::extract::ApiBody for $t {
            const NEED: Option<$crate::auth::Permission> = None;
        }
    };
}

/// What [`Caller`] leaves in the request for [`ApiJson`]'s permission check.
#[derive(Clone)]
struct Authenticated {
    role: relais_core::agent::Role,
    scopes: Vec<String>,
}

impl<T: ApiBody> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        if let Some(p) = T::NEED {
            // Handlers take `Caller` before the body, so it is here when the route has one.
            let Some(a) = req.extensions().get::<Authenticated>() else {
                return Err(ApiError::Unauthorized(
                    "missing Authorization: Bearer <token> header".into(),
                ));
            };
            if !auth::allows(a.role, &a.scopes, p) {
                return Err(forbidden(a.role, &a.scopes));
            }
        }
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// The raw body, within `max_body_bytes` and `[server] body_timeout` (provider
/// webhooks check their signature on these bytes before parsing them).
pub async fn read_body(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    use futures_util::StreamExt;
    let limit = state.max_body_bytes;
    let within = state.guard.body_timeout;
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // Far too large: refused at once, nothing read.
    if announced.is_some_and(|n| n > limit.saturating_add(DRAIN_BYTES)) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let mut body = req.into_body().into_data_stream();
    let read = async {
        let mut buf = Vec::with_capacity(announced.unwrap_or(0).min(limit));
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|_| ApiError::BadRequest {
                field: None,
                message: "the body could not be read".into(),
            })?;
            if buf.len() + chunk.len() > limit {
                // A little too large: read the rest (bounded, briefly) and drop it,
                // so that the client, still sending, reads our 413 instead of a
                // connection reset.
                let mut drained = 0usize;
                let _ = tokio::time::timeout(DRAIN_TIME, async {
                    while let Some(Ok(c)) = body.next().await {
                        drained += c.len();
                        if drained > DRAIN_BYTES {
                            break;
                        }
                    }
                })
                .await;
                return Err(ApiError::PayloadTooLarge(limit));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(buf))
    };
    tokio::time::timeout(within, read).await.map_err(|_| {
        ApiError::Timeout(format!(
            "the body did not arrive within {} s",
            within.as_secs()
        ))
    })?
}

/// How much of a too-large body is read and dropped before answering 413.
const DRAIN_BYTES: usize = 1 << 20;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(1);

/// Parses JSON, naming the offending field and position on error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ApiError::BadRequest {
        field: None,
        message: format!("the body is not valid UTF-8 (byte {})", e.valid_up_to()),
    })?;
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if inner.is_syntax() || inner.is_eof() {
            format!("the body is not valid JSON: {inner}")
        } else {
            inner.to_string()
        };
        ApiError::BadRequest {
            field: (path != ".").then_some(path),
            message,
        }
    })?;
    de.end().map_err(|e| ApiError::BadRequest {
        field: None,
        message: format!("the body is not valid JSON: {e}"),
    })?;
    Ok(value)
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized("missing Authorization: Bearer <token> header".into())
    })?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not text".into()))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ApiError::Unauthorized(
            "the Authorization header must be Bearer <token>".into(),
        )),
    }
}

/// An authenticated agent.
pub struct Caller {
    pub agent: Agent,
    pub token: TokenInfo,
    /// The client's address (as [`ClientAddr`] reads it).
    pub ip: std::net::IpAddr,
}

impl Caller {
    /// Where this caller's changes come from, for the audit log.
    pub fn via(&self) -> super::api::Via {
        super::api::Via {
            token: Some(self.token.id),
            ip: Some(self.ip),
        }
    }

    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if auth::allows(self.agent.role, &self.token.scopes, p) {
            Ok(())
        } else {
            tracing::warn!(agent = %self.agent.id, permission = ?p, "access denied");
            Err(forbidden(self.agent.role, &self.token.scopes))
        }
    }
}

fn forbidden(role: relais_core::agent::Role, scopes: &[String]) -> ApiError {
    ApiError::Forbidden(format!(
        "this token (role {}, scopes {scopes:?}) does not allow this action",
        role.as_str(),
    ))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)?;
        let now = state.rt.clock.now();
        match state
            .rt
            .store
            .token_by_hash(&auth::token_hash(token), now)
            .await?
        {
            Some((token, agent)) => {
                parts.extensions.insert(Authenticated {
                    role: agent.role,
                    scopes: token.scopes.clone(),
                });
                let ip = client_addr(parts, state);
                Ok(Caller { agent, token, ip })
            }
            None => Err(ApiError::Unauthorized(
                "the token is unknown, revoked or expired".into(),
            )),
        }
    }
}

/// Refuses `value` unless it is 1 to `max` ASCII letters, digits, '-' or '_' (team
/// ids, shortcuts).
pub fn slug(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::field(
            field,
            format!("must be 1 to {max} letters, digits, '-' or '_'"),
        ))
    }
}

/// A language code such as `fr` or `pt-br`, lower-cased.
pub fn language_code(field: &str, value: &str) -> Result<String, ApiError> {
    let ok = (2..=8).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-');
    if ok {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(ApiError::field(
            field,
            "must be a language code such as \"fr\" or \"en\"",
        ))
    }
}

/// The client's IP address: the peer's, or, when the peer is one of `[server]
/// trusted_proxies`, the right-most address of `X-Forwarded-For` that is not a trusted
/// proxy (addresses to its left were written by the client and may be forged).
/// `0.0.0.0` when unknown (a router served without the listener).
pub struct ClientAddr(pub std::net::IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_addr(parts, state)))
    }
}

/// The client's address of a request (see [`ClientAddr`]).
pub fn client_addr(parts: &Parts, state: &AppState) -> std::net::IpAddr {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |c| c.0.ip());
    client_ip(peer, &parts.headers, &state.guard.trusted_proxies)
}

/// See [`ClientAddr`].
pub fn client_ip(
    peer: std::net::IpAddr,
    headers: &HeaderMap,
    trusted: &[std::net::IpAddr],
) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut hops: Vec<std::net::IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            return peer;
        };
        for part in text.split(',') {
            match part.trim().parse() {
                Ok(ip) => hops.push(ip),
                Err(_) => return peer,
            }
        }
    }
    hops.into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let proxy = ip("10.0.0.2");
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.5, 10.0.0.3".parse().unwrap(),
        );
        let trusted = [proxy, ip("10.0.0.3")];
        // Behind two trusted proxies: the first untrusted hop from the right.
        assert_eq!(client_ip(proxy, &h, &trusted), ip("203.0.113.5"));
        // From an untrusted peer the header is ignored (anyone can write it).
        assert_eq!(
            client_ip(ip("198.51.100.1"), &h, &trusted),
            ip("198.51.100.1")
        );
        // Nothing configured: the peer.
        assert_eq!(client_ip(proxy, &h, &[]), proxy);
        // A malformed header: the peer, not a guess.
        h.insert("x-forwarded-for", "not an address".parse().unwrap());
        assert_eq!(client_ip(proxy, &h, &trusted), proxy);
    }
}
