//! `CanvasError` → answers as Canvas writes them (`{"errors":[{"message"}]}`): the
//! adapter's one mapping.

use http::{HeaderValue, StatusCode};

use crate::api::handler::WireError;
use crate::api::json::problem;
use crate::ratelimit::Denied;
use crate::server::Resp;

#[derive(Debug)]
pub enum CanvasError {
    /// No API token, or not a valid one.
    Unauthorized,
    NotFound(&'static str),
    BadRequest(&'static str),
    Forbidden(&'static str),
    /// Over the token user's limits: `429` + `Retry-After`.
    Denied(Denied),
    TooLarge,
    /// The state store is away.
    Unavailable(String),
    Internal(String),
}

impl From<crate::core::Error> for CanvasError {
    fn from(e: crate::core::Error) -> Self {
        match e {
            crate::core::Error::Unavailable(m) => CanvasError::Unavailable(m),
            other => CanvasError::Internal(other.to_string()),
        }
    }
}

impl WireError for CanvasError {
    fn into_response(self) -> Resp {
        match self {
            CanvasError::Unauthorized => problem(StatusCode::UNAUTHORIZED, "Invalid access token."),
            CanvasError::NotFound(m) => problem(StatusCode::NOT_FOUND, m),
            CanvasError::BadRequest(m) => problem(StatusCode::BAD_REQUEST, m),
            CanvasError::Forbidden(m) => problem(StatusCode::FORBIDDEN, m),
            CanvasError::Denied(d) => {
                let mut r = problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!("{}; retry after {} s", d.what, d.retry_after_secs()),
                );
                r.headers_mut().insert(
                    http::header::RETRY_AFTER,
                    HeaderValue::from(d.retry_after_secs()),
                );
                r
            }
            CanvasError::TooLarge => {
                problem(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
            }
            CanvasError::Unavailable(detail) => {
                tracing::warn!(%detail, "dependency unavailable");
                let mut r = problem(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable");
                r.headers_mut()
                    .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            }
            CanvasError::Internal(detail) => {
                tracing::error!(%detail, "canvas internal error");
                problem(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }

    fn internal(detail: String) -> Self {
        CanvasError::Internal(detail)
    }
}
