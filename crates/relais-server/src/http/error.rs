//! The one place where errors become HTTP status codes. Answers are JSON
//! `{"error": {"code", "message", "field"?}}`; 500s are logged with their cause and
//! answered without it.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest {
        field: Option<String>,
        message: String,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Well-formed but refused by a check (a workspace with errors): 422 with findings.
    #[error("{message}")]
    Unprocessable {
        message: String,
        findings: Vec<String>,
    },
    #[error("the body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the body must be JSON, sent with Content-Type: application/json")]
    UnsupportedMediaType,
    /// A limit was reached (login throttling, stream caps): 429 with `Retry-After`.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_s: u64 },
    #[error("{0}")]
    MethodNotAllowed(String),
    /// A client too slow to send its request: 408.
    #[error("{0}")]
    Timeout(String),
    #[error("the service is shutting down or its database is unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

impl From<relais_store::Error> for ApiError {
    fn from(e: relais_store::Error) -> Self {
        use relais_store::Error as E;
        match e {
            E::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            E::AlreadyExists(what) => ApiError::Conflict(format!("{what} already exists")),
            E::Conflict(why) => ApiError::Conflict(why),
            E::WindowClosed { reason } => ApiError::Conflict(reason),
            E::Closed => ApiError::Unavailable,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ApiError::BadRequest { .. } => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Unprocessable { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Timeout(_) => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        let mut body = json!({ "error": { "code": code, "message": self.to_string() } });
        if let ApiError::BadRequest { field: Some(f), .. } = &self {
            body["error"]["field"] = json!(f);
        }
        if let ApiError::Unprocessable { findings, .. } = &self {
            body["error"]["findings"] = json!(findings);
        }
        if let ApiError::TooManyRequests { retry_after_s, .. } = &self {
            body["error"]["retry_after_s"] = json!((*retry_after_s).max(1));
        }
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        if let ApiError::TooManyRequests { retry_after_s, .. } = &self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from((*retry_after_s).max(1)),
            );
        }
        response
    }
}
