//! PS2 errors and their wire texts (the older `APIErrors` wording, spec §5.2 note).

use crate::auth::KsFailure;

#[derive(Debug)]
pub enum Ps2Error {
    MissingKs,
    InvalidKs(String, KsFailure),
    MandatoryMissing(&'static str),
    InvalidFileName(String),
    UnknownAction(String),
    BadRequest,
    /// Over the request rate: retry after this many seconds.
    RateLimited(u64),
    Internal(String),
}

impl Ps2Error {
    pub fn code(&self) -> &'static str {
        match self {
            Ps2Error::MissingKs => "MISSING_KS",
            Ps2Error::InvalidKs(..) => "INVALID_KS",
            Ps2Error::MandatoryMissing(_) => "MANDATORY_PARAMETER_MISSING",
            Ps2Error::InvalidFileName(_) => "INVALID_FILE_NAME",
            Ps2Error::UnknownAction(_) => "SERVICE_DOES_NOT_EXISTS",
            Ps2Error::BadRequest => "UPLOAD_ERROR",
            Ps2Error::RateLimited(_) => "REQUEST_RATE_EXCEEDED",
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
                };
                format!("Invalid KS [{ks}]. Error [{code},{desc}]")
            }
            Ps2Error::MandatoryMissing(p) => format!("Mandatory parameter missing [{p}]"),
            Ps2Error::InvalidFileName(f) => format!("Invalid file name [{f}]"),
            Ps2Error::UnknownAction(a) => format!("Service [{a}] does not exist"),
            Ps2Error::BadRequest => "Upload failed".into(),
            Ps2Error::RateLimited(s) => format!("Too many requests, retry after {s} seconds"),
            Ps2Error::Internal(_) => "Internal server error occurred".into(),
        }
    }
}
