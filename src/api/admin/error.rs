//! `AdminError` → JSON problem answers: the admin API's one mapping.

use http::StatusCode;

use crate::api::handler::WireError;
use crate::api::json::problem;
use crate::server::Resp;

#[derive(Debug)]
pub enum AdminError {
    /// No KS, or one that does not verify.
    Unauthorized(&'static str),
    /// A valid KS that may not do this.
    Forbidden(&'static str),
    BadRequest(&'static str),
    TooLarge,
    NotFound(&'static str),
    Method,
    /// The state store is away.
    Unavailable(String),
    Internal(String),
}

impl From<crate::core::Error> for AdminError {
    fn from(e: crate::core::Error) -> Self {
        match e {
            crate::core::Error::Unavailable(m) => AdminError::Unavailable(m),
            other => AdminError::Internal(other.to_string()),
        }
    }
}

impl WireError for AdminError {
    fn into_response(self) -> Resp {
        let (status, message) = match self {
            AdminError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, m),
            AdminError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            AdminError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            AdminError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "request body too large"),
            AdminError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            AdminError::Method => (
                StatusCode::METHOD_NOT_ALLOWED,
                "use POST, GET or DELETE /admin/tokens[/ID]",
            ),
            AdminError::Unavailable(detail) => {
                tracing::warn!(%detail, "token store unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, "token store unavailable")
            }
            AdminError::Internal(detail) => {
                tracing::error!(%detail, "admin internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        };
        problem(status, message)
    }

    fn internal(detail: String) -> Self {
        AdminError::Internal(detail)
    }
}
