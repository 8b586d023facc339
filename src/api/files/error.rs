//! `FilesError` → HTTP answers of the native protocol: the one mapping. Internal errors
//! are logged with their detail and answered with a generic text.

use http::{HeaderValue, StatusCode};

use super::endpoint::ParseFail;
use crate::api::handler::WireError;
use crate::api::plain;
use crate::core::Error;
use crate::ratelimit::Denied;
use crate::server::Resp;

/// The status code tus uses for a checksum mismatch.
pub const CHECKSUM_MISMATCH: u16 = 460;

/// Everything a `/files/` request can fail with.
#[derive(Debug)]
pub enum FilesError {
    /// The request could not be parsed.
    Parse(ParseFail),
    /// The core refused or failed.
    Core(Error),
    /// Creation succeeded but its first bytes failed: the error, with the new upload's
    /// `Location` so the client can resume it.
    Created { location: String, error: Error },
    /// No valid session (`401` + `WWW-Authenticate: Bearer`).
    Unauthorized(&'static str),
    /// A session that may not do this.
    Forbidden(&'static str),
    /// Over a limit: `429` + `Retry-After`.
    Denied(Denied),
    /// A `Range` outside a download of this length.
    RangeNotSatisfiable { len: u64 },
    /// A Resumable Uploads for HTTP error, answered in its version's terms.
    Ietf(super::ietf::IetfError),
}

impl From<Error> for FilesError {
    fn from(e: Error) -> Self {
        FilesError::Core(e)
    }
}

impl WireError for FilesError {
    fn into_response(self) -> Resp {
        match self {
            FilesError::Parse(e) => parse_failure(e),
            FilesError::Core(e) => core_error(&e),
            FilesError::Created { location, error } => {
                let mut r = core_error(&error);
                if let Ok(v) = HeaderValue::from_str(&location) {
                    r.headers_mut().insert(http::header::LOCATION, v);
                }
                r
            }
            FilesError::Unauthorized(why) => {
                let mut r = plain(StatusCode::UNAUTHORIZED, &format!("{why}\n"));
                r.headers_mut().insert(
                    http::header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer"),
                );
                r
            }
            FilesError::Forbidden(why) => plain(StatusCode::FORBIDDEN, &format!("{why}\n")),
            FilesError::Denied(d) => {
                let mut r = plain(
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!("{}; retry after {} s\n", d.what, d.retry_after_secs()),
                );
                r.headers_mut().insert(
                    http::header::RETRY_AFTER,
                    HeaderValue::from(d.retry_after_secs()),
                );
                r
            }
            FilesError::Ietf(e) => e.into_response(),
            FilesError::RangeNotSatisfiable { len } => {
                let mut r = plain(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable\n");
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                    r.headers_mut().insert(http::header::CONTENT_RANGE, v);
                }
                r
            }
        }
    }

    fn internal(detail: String) -> Self {
        FilesError::Core(Error::Internal(detail))
    }
}

/// Answer for a request that could not be parsed.
fn parse_failure(e: ParseFail) -> Resp {
    match e {
        ParseFail::NotFound => plain(StatusCode::NOT_FOUND, "upload not found\n"),
        ParseFail::MethodNotAllowed => {
            let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            r.headers_mut().insert(
                http::header::ALLOW,
                HeaderValue::from_static("OPTIONS, POST, HEAD, PATCH, PUT, GET, DELETE"),
            );
            r
        }
        ParseFail::Version => {
            let mut r = plain(
                StatusCode::PRECONDITION_FAILED,
                "unsupported or missing Tus-Resumable (1.0.0 required)\n",
            );
            r.headers_mut()
                .insert("tus-version", HeaderValue::from_static("1.0.0"));
            r
        }
        ParseFail::BadRequest(why) => plain(StatusCode::BAD_REQUEST, &format!("{why}\n")),
        ParseFail::Ietf(v, e) => {
            super::ietf::IetfError::new(v, super::ietf::Problem::Parse(e)).into_response()
        }
        ParseFail::MediaType => plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/offset+octet-stream\n",
        ),
    }
}

/// Answer for a core error.
pub(super) fn core_error(e: &Error) -> Resp {
    let status = match e {
        Error::NotFound => StatusCode::NOT_FOUND,
        Error::Expired => StatusCode::GONE,
        Error::OffsetMismatch { .. }
        | Error::Complete
        | Error::RangeConflict { .. }
        | Error::NotComplete
        | Error::CannotResume
        | Error::SizeMismatch { .. } => StatusCode::CONFLICT,
        Error::ResumeWindowPassed { .. } => StatusCode::GONE,
        Error::Locked => StatusCode::LOCKED,
        Error::TooLarge { .. } | Error::PastLength { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Error::InvalidLength(_) | Error::BadRequest(_) | Error::Interrupted { .. } => {
            StatusCode::BAD_REQUEST
        }
        Error::ChecksumMismatch => {
            StatusCode::from_u16(CHECKSUM_MISMATCH).unwrap_or(StatusCode::BAD_REQUEST)
        }
        Error::Refused(_) => StatusCode::FORBIDDEN,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let text = match e {
        Error::Internal(detail) => {
            tracing::error!(%detail, "internal error");
            "internal error\n".to_owned()
        }
        Error::Unavailable(detail) => {
            tracing::warn!(%detail, "dependency unavailable");
            "temporarily unavailable, retry later\n".to_owned()
        }
        other => format!("{other}\n"),
    };
    let mut r = plain(status, &text);
    let h = r.headers_mut();
    match e {
        Error::OffsetMismatch { offset } | Error::Interrupted { offset } => {
            h.insert("upload-offset", HeaderValue::from(*offset));
        }
        Error::Unavailable(_) | Error::Locked => {
            h.insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        _ => {}
    }
    r
}
