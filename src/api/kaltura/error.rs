//! Kaltura errors: building `KalturaAPIException`s (spec §5) and mapping `core::Error`
//! to them, in one place. Internal details are logged, never sent.

use upgate_proto::kaltura::errors::{api_error, ErrorCode};
use upgate_proto::kaltura::value::ApiError;

use crate::auth::KsFailure;
use crate::core::Error;

/// Result of an action.
pub type KResult<T> = Result<T, ApiError>;

pub fn err(code: ErrorCode) -> ApiError {
    api_error(code, &[])
}

pub fn err1(code: ErrorCode, arg: &str) -> ApiError {
    api_error(code, &[arg])
}

pub fn missing(param: &str) -> ApiError {
    api_error(ErrorCode::MissingMandatoryParameter, &[param])
}

pub fn forbidden(service: &str, action: &str) -> ApiError {
    api_error(
        ErrorCode::ServiceForbidden,
        &[&format!("{service}->{action}")],
    )
}

pub fn not_updatable(class: &str, prop: &str) -> ApiError {
    api_error(
        ErrorCode::PropertyValidationNotUpdatable,
        &[&format!("{class}::{prop}")],
    )
}

pub fn invalid_enum(value: &str, param: &str, enum_type: &str) -> ApiError {
    api_error(ErrorCode::InvalidEnumValue, &[value, param, enum_type])
}

/// `INVALID_KS` as the server words each failure (spec §5.3).
pub fn invalid_ks(ks: &str, why: &KsFailure) -> ApiError {
    match why {
        KsFailure::Invalid => api_error(ErrorCode::InvalidKs, &[ks, "-1", "INVALID_STR"]),
        KsFailure::Expired => api_error(ErrorCode::InvalidKs, &["EXPIRED", "-1", "INVALID_STR"]),
        KsFailure::Logout => api_error(ErrorCode::InvalidKs, &["LOGOUT", "-1", "INVALID_STR"]),
        KsFailure::RestrictedIp => api_error(
            ErrorCode::InvalidKs,
            &["EXCEEDED_RESTRICTED_IP", "-1", "INVALID_STR"],
        ),
        KsFailure::RestrictedUri => api_error(
            ErrorCode::InvalidKs,
            &["EXCEEDED_RESTRICTED_URI", "-1", "INVALID_STR"],
        ),
        KsFailure::ActionsLimit => api_error(
            ErrorCode::InvalidKs,
            &["EXCEEDED_ACTIONS_LIMIT", "-1", "INVALID_STR"],
        ),
        KsFailure::Privilege => api_error(ErrorCode::InvalidKs, &["", "-4", "INVALID_TYPE"]),
    }
}

/// Maps a core error met while serving an upload-token call.
pub fn from_core(e: Error) -> ApiError {
    match e {
        Error::NotFound | Error::Expired => err(ErrorCode::UploadTokenNotFound),
        Error::Complete => err(ErrorCode::UploadTokenInvalidStatusForUpload),
        Error::SizeMismatch { .. } => err(ErrorCode::UploadTokenCannotMatchExpectedSize),
        Error::TooLarge { limit } | Error::PastLength { length: limit } => {
            api_error(ErrorCode::UploadTooLarge, &[&limit.to_string()])
        }
        Error::Locked | Error::OffsetMismatch { .. } => err(ErrorCode::LockTimedOut),
        Error::Interrupted { .. } | Error::ChecksumMismatch | Error::BadRequest(_) => {
            tracing::info!(error = %e, "upload chunk refused");
            err(ErrorCode::UploadError)
        }
        Error::RangeConflict { at } => {
            tracing::info!(at, "re-sent chunk differs from stored bytes");
            err(ErrorCode::UploadError)
        }
        Error::InvalidLength(_) => err(ErrorCode::UploadTokenCannotMatchExpectedSize),
        Error::NotComplete => err(ErrorCode::UploadTokenInvalidStatusForAddEntry),
        Error::CannotResume => err(ErrorCode::UploadTokenCannotResume),
        Error::ResumeWindowPassed { secs } => err1(
            ErrorCode::UploadPassedMaxResumeTimeAllowed,
            &secs.to_string(),
        ),
        Error::Refused(why) => api_error(ErrorCode::UploadRefused, &[&why]),
        Error::Unavailable(detail) => {
            tracing::warn!(%detail, "dependency unavailable");
            err(ErrorCode::ServiceUnavailable)
        }
        Error::Internal(detail) => {
            tracing::error!(%detail, "internal error");
            err(ErrorCode::InternalServerError)
        }
    }
}
