//! Kaltura errors: building `KalturaAPIException`s (spec §5) and mapping `core::Error`
//! to them, in one place. Internal details are logged, never sent.

use upgate_proto::kaltura::errors::api_error;
use upgate_proto::kaltura::value::ApiError;

use crate::auth::KsFailure;
use crate::core::Error;

/// Result of an action.
pub type KResult<T> = Result<T, ApiError>;

pub fn err(code: &str) -> ApiError {
    api_error(code, &[])
}

pub fn err1(code: &str, arg: &str) -> ApiError {
    api_error(code, &[arg])
}

pub fn missing(param: &str) -> ApiError {
    api_error("MISSING_MANDATORY_PARAMETER", &[param])
}

pub fn forbidden(service: &str, action: &str) -> ApiError {
    api_error("SERVICE_FORBIDDEN", &[&format!("{service}->{action}")])
}

pub fn not_updatable(class: &str, prop: &str) -> ApiError {
    api_error(
        "PROPERTY_VALIDATION_NOT_UPDATABLE",
        &[&format!("{class}::{prop}")],
    )
}

pub fn invalid_enum(value: &str, param: &str, enum_type: &str) -> ApiError {
    api_error("INVALID_ENUM_VALUE", &[value, param, enum_type])
}

/// `INVALID_KS` as the server words each failure (spec §5.3).
pub fn invalid_ks(ks: &str, why: &KsFailure) -> ApiError {
    match why {
        KsFailure::Invalid => api_error("INVALID_KS", &[ks, "-1", "INVALID_STR"]),
        KsFailure::Expired => api_error("INVALID_KS", &["EXPIRED", "-1", "INVALID_STR"]),
        KsFailure::Logout => api_error("INVALID_KS", &["LOGOUT", "-1", "INVALID_STR"]),
    }
}

/// A user KS acting on another user's object.
pub fn not_owner() -> ApiError {
    api_error("INVALID_KS", &["", "-4", "INVALID_TYPE"])
}

/// Maps a core error met while serving an upload-token call.
pub fn from_core(e: Error) -> ApiError {
    match e {
        Error::NotFound | Error::Expired => err("UPLOAD_TOKEN_NOT_FOUND"),
        Error::Complete => err("UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD"),
        Error::SizeMismatch { .. } => err("UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE"),
        Error::TooLarge { limit } | Error::PastLength { length: limit } => {
            api_error("UPLOAD_TOO_LARGE", &[&limit.to_string()])
        }
        Error::Locked | Error::OffsetMismatch { .. } => err("LOCK_TIMED_OUT"),
        Error::Interrupted { .. } | Error::ChecksumMismatch | Error::BadRequest(_) => {
            tracing::info!(error = %e, "upload chunk refused");
            err("UPLOAD_ERROR")
        }
        Error::RangeConflict { at } => {
            tracing::info!(at, "re-sent chunk differs from stored bytes");
            err("UPLOAD_ERROR")
        }
        Error::InvalidLength(_) => err("UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE"),
        Error::NotComplete => err("UPLOAD_TOKEN_INVALID_STATUS_FOR_ADD_ENTRY"),
        Error::Unavailable(detail) => {
            tracing::warn!(%detail, "dependency unavailable");
            err("SERVICE_UNAVAILABLE")
        }
        Error::Internal(detail) => {
            tracing::error!(%detail, "internal error");
            err("INTERNAL_SERVERL_ERROR")
        }
    }
}
