//! PS2 errors and their wire texts (the older `APIErrors` wording, spec §5.2 note):
//! the one mapping of this adapter, `core::Error` included. Internal details are
//! logged, never sent.

use crate::auth::KsFailure;
use crate::core::Error;

#[derive(Debug)]
pub enum Ps2Error {
    MissingKs,
    InvalidKs(String, KsFailure),
    MandatoryMissing(&'static str),
    InvalidFileName(String),
    UnknownAction(String),
    /// A session that may not use this action (a widget session uploading).
    Forbidden(&'static str),
    BadRequest,
    /// Over the request rate: retry after this many seconds.
    RateLimited(u64),
    /// A dependency (state store, storage) is away; retry soon.
    Unavailable(String),
    Internal(String),
}

impl From<Error> for Ps2Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Unavailable(m) => Ps2Error::Unavailable(m),
            Error::Internal(m) => Ps2Error::Internal(m),
            // What a client sent that cannot be stored (cut, too large, refused).
            Error::Interrupted { .. }
            | Error::TooLarge { .. }
            | Error::PastLength { .. }
            | Error::ChecksumMismatch
            | Error::BadRequest(_)
            | Error::InvalidLength(_)
            | Error::RangeConflict { .. }
            | Error::SizeMismatch { .. }
            | Error::OffsetMismatch { .. }
            | Error::Locked
            | Error::Complete
            | Error::NotComplete
            | Error::CannotResume
            | Error::ResumeWindowPassed { .. }
            | Error::Refused(_)
            | Error::NotFound
            | Error::Expired => {
                tracing::info!(error = %e, "ps2 upload refused");
                Ps2Error::BadRequest
            }
        }
    }
}

impl Ps2Error {
    pub fn code(&self) -> &'static str {
        match self {
            Ps2Error::MissingKs => "MISSING_KS",
            Ps2Error::InvalidKs(..) => "INVALID_KS",
            Ps2Error::MandatoryMissing(_) => "MANDATORY_PARAMETER_MISSING",
            Ps2Error::InvalidFileName(_) => "INVALID_FILE_NAME",
            Ps2Error::UnknownAction(_) => "SERVICE_DOES_NOT_EXISTS",
            Ps2Error::Forbidden(_) => "SERVICE_FORBIDDEN",
            Ps2Error::BadRequest => "UPLOAD_ERROR",
            Ps2Error::RateLimited(_) => "REQUEST_RATE_EXCEEDED",
            Ps2Error::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Ps2Error::Internal(_) => "INTERNAL_SERVERL_ERROR",
        }
    }

    pub fn desc(&self) -> String {
        match self {
            Ps2Error::MissingKs => "Missing KS. Session not established".into(),
            Ps2Error::InvalidKs(ks, why) => {
                let (code, desc) = match why {
                    KsFailure::Invalid => ("-1", "INVALID_STR"),
                    KsFailure::Expired => ("-5", "EXPIRED"),
                    KsFailure::Logout => ("-6", "LOGOUT"),
                    KsFailure::ActionsLimit => ("-8", "EXCEEDED_ACTIONS_LIMIT"),
                    KsFailure::RestrictedIp => ("-9", "EXCEEDED_RESTRICTED_IP"),
                    KsFailure::RestrictedUri => ("-11", "EXCEEDED_RESTRICTED_URI"),
                    KsFailure::Privilege => ("-4", "INVALID_TYPE"),
                };
                format!("Invalid KS [{ks}]. Error [{code},{desc}]")
            }
            Ps2Error::MandatoryMissing(p) => format!("Mandatory parameter missing [{p}]"),
            Ps2Error::InvalidFileName(f) => format!("Invalid file name [{f}]"),
            Ps2Error::UnknownAction(a) => format!("Service [{a}] does not exist"),
            Ps2Error::Forbidden(a) => format!("The access to service [{a}] is forbidden"),
            Ps2Error::BadRequest => "Upload failed".into(),
            Ps2Error::RateLimited(s) => format!("Too many requests, retry after {s} seconds"),
            Ps2Error::Unavailable(_) => "Service temporarily unavailable, retry later".into(),
            Ps2Error::Internal(_) => "Internal server error occurred".into(),
        }
    }
}
