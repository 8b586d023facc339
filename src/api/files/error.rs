//! `core::Error` and parse failures → HTTP answers of the native protocol, in one place.
//! Internal errors are logged with their detail and answered with a generic text.

use http::{HeaderValue, StatusCode};

use super::endpoint::ParseFail;
use crate::api::plain;
use crate::core::Error;
use crate::server::Resp;

/// The status code tus uses for a checksum mismatch.
pub const CHECKSUM_MISMATCH: u16 = 460;

/// Answer for a request that could not be parsed.
pub fn parse_failure(e: ParseFail) -> Resp {
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
        ParseFail::MediaType => plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/offset+octet-stream\n",
        ),
    }
}

/// Answer for a core error.
pub fn core_error(e: &Error) -> Resp {
    let status = match e {
        Error::NotFound => StatusCode::NOT_FOUND,
        Error::Expired => StatusCode::GONE,
        Error::OffsetMismatch { .. }
        | Error::Complete
        | Error::RangeConflict { .. }
        | Error::NotComplete
        | Error::SizeMismatch { .. } => StatusCode::CONFLICT,
        Error::Locked => StatusCode::LOCKED,
        Error::TooLarge { .. } | Error::PastLength { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Error::InvalidLength(_) | Error::BadRequest(_) | Error::Interrupted { .. } => {
            StatusCode::BAD_REQUEST
        }
        Error::ChecksumMismatch => {
            StatusCode::from_u16(CHECKSUM_MISMATCH).unwrap_or(StatusCode::BAD_REQUEST)
        }
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

/// A spawned core task that panicked or was cancelled: answer 500 and log it.
pub fn task_failed(e: tokio::task::JoinError) -> Resp {
    core_error(&Error::Internal(format!("upload task failed: {e}")))
}
