//! RUFH errors → HTTP, per interop version: the problem types the version defines
//! (`application/problem+json`), plain text otherwise; every error answer says the
//! upload is not complete (the request did not complete it), except a digest
//! mismatch, which is the answer of processing the completed representation.

use http::{HeaderValue, StatusCode};

use super::{limits, set_complete, ParseFail, Version};
use crate::api::files::FilesApi;
use crate::api::plain;
use crate::core::Error;
use crate::server::{full, Resp};

const TYPES: &str = "https://iana.org/assignments/http-problem-types#";

/// What went wrong.
#[derive(Debug)]
pub enum Problem {
    Parse(ParseFail),
    Core(Error),
    /// `Upload-Offset` is not the upload's offset.
    Mismatch {
        expected: u64,
        provided: u64,
    },
    /// The request said it completed the upload, but the upload's length is larger.
    NotCompleted {
        offset: u64,
        length: u64,
    },
    /// The completed representation does not match the creation's `Repr-Digest`.
    DigestMismatch,
}

/// A RUFH error answer.
#[derive(Debug)]
pub struct IetfError {
    pub v: Version,
    pub problem: Problem,
    /// Set when the upload was created by this request (its first bytes failed).
    pub location: Option<String>,
    /// `Upload-Limit` (for `413`).
    pub limit: Option<HeaderValue>,
}

impl IetfError {
    pub fn new(v: Version, problem: Problem) -> Self {
        Self {
            v,
            problem,
            location: None,
            limit: None,
        }
    }

    pub fn core(v: Version, e: Error) -> Self {
        Self::new(v, Problem::Core(e))
    }

    /// With the server's `Upload-Limit` (answers to `413`).
    pub fn limited(mut self, api: &FilesApi) -> Self {
        self.limit = limits(api, self.v, None);
        self
    }

    pub fn into_response(self) -> Resp {
        let v = self.v;
        let mut complete = false;
        let mut offset = None;
        let mut r = match self.problem {
            Problem::Parse(ParseFail::BadRequest(why)) => {
                plain(StatusCode::BAD_REQUEST, &format!("{why}\n"))
            }
            Problem::Parse(ParseFail::Inconsistent(why)) => inconsistent(v, &why),
            Problem::Parse(ParseFail::MediaType) => plain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/partial-upload\n",
            ),
            Problem::Parse(ParseFail::MethodNotAllowed) => {
                let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
                r.headers_mut().insert(
                    http::header::ALLOW,
                    HeaderValue::from_static("OPTIONS, POST, HEAD, GET, PATCH, DELETE"),
                );
                r
            }
            Problem::Mismatch { expected, provided } => {
                offset = Some(expected);
                let title = "offset from request does not match offset of resource";
                match v.has_limits() {
                    true => problem(
                        StatusCode::CONFLICT,
                        serde_json::json!({
                            "type": format!("{TYPES}mismatching-upload-offset"),
                            "title": title,
                            "expected-offset": expected,
                            "provided-offset": provided,
                        }),
                    ),
                    false => plain(StatusCode::CONFLICT, &format!("{title}\n")),
                }
            }
            Problem::NotCompleted { offset: at, length } => {
                offset = Some(at);
                inconsistent(
                    v,
                    &format!(
                        "the request completed the upload at {at} bytes but its length is {length}"
                    ),
                )
            }
            Problem::DigestMismatch => {
                complete = true;
                plain(
                    StatusCode::BAD_REQUEST,
                    "Repr-Digest does not match the uploaded representation; the upload was discarded\n",
                )
            }
            Problem::Core(Error::Complete) => {
                let title = "upload is already completed";
                match v.has_limits() {
                    true => problem(
                        StatusCode::BAD_REQUEST,
                        serde_json::json!({ "type": format!("{TYPES}completed-upload"), "title": title }),
                    ),
                    false => plain(StatusCode::BAD_REQUEST, &format!("{title}\n")),
                }
            }
            Problem::Core(Error::InvalidLength(why)) => inconsistent(v, &why),
            Problem::Core(Error::PastLength { length }) => inconsistent(
                v,
                &format!("the content goes past the upload's length of {length} bytes"),
            ),
            Problem::Core(Error::NotFound | Error::Expired) => {
                plain(StatusCode::NOT_FOUND, "upload not found\n")
            }
            Problem::Core(Error::Locked) => {
                let mut r = plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "another request is writing this upload; retry shortly\n",
                );
                r.headers_mut()
                    .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            }
            Problem::Core(Error::OffsetMismatch { offset: at }) => {
                offset = Some(at);
                plain(
                    StatusCode::CONFLICT,
                    "offset from request does not match offset of resource\n",
                )
            }
            Problem::Core(e) => super::super::error::core_error(&e),
        };
        let too_large = r.status() == StatusCode::PAYLOAD_TOO_LARGE;
        let h = r.headers_mut();
        set_complete(v, h, complete);
        if let Some(o) = offset {
            h.insert("upload-offset", HeaderValue::from(o));
        }
        if let Some(l) = self.limit.filter(|_| too_large) {
            h.insert("upload-limit", l);
        }
        if let Some(loc) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            h.insert(http::header::LOCATION, loc);
        }
        h.insert(
            "upload-draft-interop-version",
            HeaderValue::from(u16::from(v.0)),
        );
        r
    }
}

fn inconsistent(v: Version, why: &str) -> Resp {
    match v.has_inconsistent_length() {
        true => problem(
            StatusCode::BAD_REQUEST,
            serde_json::json!({
                "type": format!("{TYPES}inconsistent-upload-length"),
                "title": "inconsistent length values for upload",
                "detail": why,
            }),
        ),
        false => plain(StatusCode::BAD_REQUEST, &format!("{why}\n")),
    }
}

/// An RFC 9457 problem details answer.
fn problem(status: StatusCode, body: serde_json::Value) -> Resp {
    let mut r = hyper::Response::new(full(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}
