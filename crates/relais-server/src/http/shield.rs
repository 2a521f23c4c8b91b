//! What every answer carries, whatever route made it: security headers, and the JSON
//! error shape even for errors the framework writes itself (a bad path or query
//! parameter, a wrong method, an oversized body), so that a client parses one shape.

use super::error::ApiError;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The API answers JSON only: nothing may be framed, run or loaded from it.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

pub async fn shield(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let (framable, api) = (path.starts_with("/webchat/"), path.starts_with("/api/"));
    let res = next.run(req).await;
    let mut res = as_json_error(res).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // The web chat (`/webchat/<id>`) may be framed by its channel's origins: it sets
    // its own policy. Everything else is never framed.
    if !framable {
        h.entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(HeaderValue::from_static(API_CSP));
        h.entry(header::X_FRAME_OPTIONS)
            .or_insert(HeaderValue::from_static("DENY"));
    }
    // API answers carry tokens or personal data: no cache may keep them.
    if api {
        h.entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    res
}

/// A 4xx/5xx that is not JSON (axum's own rejections) becomes the JSON error, with its
/// text as the message.
async fn as_json_error(res: Response) -> Response {
    let status = res.status();
    // JSON errors stay; so do the workspace's pages, which say what went wrong in HTML.
    let kept = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || kept {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    let err = match status {
        StatusCode::NOT_FOUND => ApiError::NotFound(message),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::BadRequest {
            field: None,
            message,
        },
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed(message),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        s if s.is_server_error() => ApiError::Internal(message),
        _ => ApiError::BadRequest {
            field: None,
            message,
        },
    };
    let mut out = err.into_response();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        *out.status_mut() = status;
    }
    // Keep what the framework said about the method (`Allow`).
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}
