//! Resumable Uploads for HTTP (draft-ietf-httpbis-resumable-upload, "RUFH") on
//! `/files/`, beside tus 1.0: a request carrying `Upload-Draft-Interop-Version` 3 to 8
//! is served by this module, in that version's dialect. Uploads are the same records
//! as tus uploads (same auth, limits, ownership, storage, expiry, hooks).
//!
//! What differs per interop version (the README has the table with its tests):
//! - 3 (draft -01): `Upload-Incomplete` instead of `Upload-Complete`;
//! - 3–5: appends take any `Content-Type`; 6+ require `application/partial-upload`
//!   (`415` otherwise); 3–6 answer an append with `201`, 7+ with `204`;
//! - 6+: `Upload-Limit` (`expires` in 6, `max-age` from 7), problem details for
//!   `mismatching-upload-offset` and `completed-upload`; 7+ also
//!   `inconsistent-upload-length` (6 answers a plain `400`);
//! - all: `104 Upload Resumption Supported` with `Location` on HTTP/1.1 as soon as the
//!   upload exists (before its body is read), then with `Upload-Offset` after each
//!   commit while content streams (creation and append), `Upload-Length`, `Repr-Digest` /
//!   `Want-Repr-Digest` (SHA-256), `HEAD` (and `GET`) for the offset, `DELETE`.
//!
//! Concurrency: a new request on an upload (offset retrieval, append, cancellation)
//! ends an older one still writing it on this instance — once that one has read what
//! had already arrived for it (at most 2 s), and what it received is committed first —
//! instead of waiting for it to stall; an append resent over bytes the older one stored
//! meanwhile has them compared and skipped. An older request on another instance holds
//! the upload's lease until it ends or its lease lapses (`503` with `Retry-After`
//! meanwhile).

mod append;
mod cancel;
mod create;
mod error;
mod offset;

use http::{HeaderMap, HeaderValue, Method};
use upgate_proto::rufh;

use super::FilesApi;
use crate::core::{Status, UploadRecord};
use crate::model::now_secs;
use crate::server::interim::Interim;
pub use error::{IetfError, Problem};

/// An interop version served (3 to 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(u8);

impl Version {
    /// `Upload-Incomplete` (3) or `Upload-Complete` (4+).
    fn uses_incomplete(self) -> bool {
        self.0 == 3
    }
    /// `application/partial-upload` required on appends.
    fn needs_partial_upload(self) -> bool {
        self.0 >= 6
    }
    /// `Upload-Limit` and problem details exist.
    fn has_limits(self) -> bool {
        self.0 >= 6
    }
    /// The `inconsistent-upload-length` problem type exists.
    fn has_inconsistent_length(self) -> bool {
        self.0 >= 7
    }
    /// Status of a successful append: `201` before version 7, then `204`.
    fn append_status(self) -> http::StatusCode {
        match self.0 {
            ..=6 => http::StatusCode::CREATED,
            _ => http::StatusCode::NO_CONTENT,
        }
    }
}

/// A parsed RUFH request.
#[derive(Debug)]
pub struct Request {
    pub v: Version,
    pub op: Op,
}

#[derive(Debug)]
pub enum Op {
    Create(Create),
    /// `HEAD` (or `GET`) on the upload: its offset.
    Offset {
        id: String,
    },
    Append(Append),
    Cancel {
        id: String,
    },
}

impl Op {
    /// The upload the request is about (none for a creation).
    pub fn id(&self) -> Option<&str> {
        match self {
            Op::Create(_) => None,
            Op::Offset { id } | Op::Cancel { id } => Some(id),
            Op::Append(a) => Some(&a.id),
        }
    }

    /// Whether it may carry upload bytes.
    pub fn writes(&self) -> bool {
        match self {
            Op::Create(c) => c.with_body,
            Op::Append(_) => true,
            Op::Offset { .. } | Op::Cancel { .. } => false,
        }
    }
}

#[derive(Debug)]
pub struct Create {
    pub complete: bool,
    pub length: Option<u64>,
    pub content_length: Option<u64>,
    pub with_body: bool,
    /// `Upload-Metadata`-formatted `filename` / `filetype` from the representation headers.
    pub metadata: String,
    pub repr_digest: Option<[u8; 32]>,
    pub want_digest: bool,
}

#[derive(Debug)]
pub struct Append {
    pub id: String,
    pub offset: u64,
    pub complete: bool,
    pub length: Option<u64>,
    pub content_length: Option<u64>,
    pub want_digest: bool,
}

/// Why a RUFH request could not be parsed.
#[derive(Debug)]
pub enum ParseFail {
    BadRequest(String),
    /// Lengths that contradict each other (`Upload-Length` vs `Content-Length`).
    Inconsistent(String),
    /// An append without `application/partial-upload` (version 6+).
    MediaType,
    MethodNotAllowed,
}

impl From<upgate_proto::ParseError> for ParseFail {
    fn from(e: upgate_proto::ParseError) -> Self {
        ParseFail::BadRequest(e.to_string())
    }
}

/// The interop version of an `Upload-Draft-Interop-Version` value, when it is one served
/// (`None`: absent, or a well-formed version outside 3–8: tus or plain); malformed: error.
pub fn version_of(text: Option<&str>) -> Result<Option<Version>, upgate_proto::ParseError> {
    Ok(text
        .map(rufh::parse_version)
        .transpose()?
        .flatten()
        .map(Version))
}

fn text<'a>(h: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ParseFail> {
    h.get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| ParseFail::BadRequest(format!("header {name} is not ASCII")))
        })
        .transpose()
}

fn integer(h: &HeaderMap, name: &'static str) -> Result<Option<u64>, ParseFail> {
    Ok(text(h, name)?
        .map(|t| rufh::parse_sf_u64(name, t))
        .transpose()?)
}

fn content_length(h: &HeaderMap) -> Result<Option<u64>, ParseFail> {
    Ok(text(h, "content-length")?
        .map(|t| upgate_proto::tus::parse_number("Content-Length", t))
        .transpose()?)
}

/// The request's completeness in this version's header (absent: not complete, as
/// tusd reads it).
fn completeness(v: Version, h: &HeaderMap) -> Result<Option<bool>, ParseFail> {
    Ok(match v.uses_incomplete() {
        true => text(h, "upload-incomplete")?
            .map(|t| rufh::parse_sf_bool("Upload-Incomplete", t).map(|b| !b))
            .transpose()?,
        false => text(h, "upload-complete")?
            .map(|t| rufh::parse_sf_bool("Upload-Complete", t))
            .transpose()?,
    })
}

/// The length the request indicates: `Upload-Length`, and `Content-Length` when it
/// completes the upload (from `offset`); both must agree.
fn indicated_length(
    complete: bool,
    offset: u64,
    upload_length: Option<u64>,
    content_length: Option<u64>,
) -> Result<Option<u64>, ParseFail> {
    let by_content = content_length
        .filter(|_| complete)
        .map(|n| offset.saturating_add(n));
    match (upload_length, by_content) {
        (Some(a), Some(b)) if a != b => Err(ParseFail::Inconsistent(format!(
            "Upload-Length {a} does not match the {b} bytes the completing request ends at"
        ))),
        (a, b) => Ok(a.or(b)),
    }
}

fn wants_digest(h: &HeaderMap) -> Result<bool, ParseFail> {
    Ok(text(h, "want-repr-digest")?.is_some_and(rufh::wants_sha256))
}

/// Parses a request on `/files/` (`rest`: the path after it, empty for the collection).
pub fn parse(v: Version, method: &Method, rest: &str, h: &HeaderMap) -> Result<Request, ParseFail> {
    let op = if rest.is_empty() {
        match *method {
            Method::POST | Method::PUT | Method::PATCH => Op::Create(parse_create(v, h)?),
            _ => return Err(ParseFail::MethodNotAllowed),
        }
    } else {
        let id = rest.to_owned();
        match *method {
            Method::HEAD | Method::GET => Op::Offset { id },
            Method::DELETE => Op::Cancel { id },
            Method::PATCH => Op::Append(parse_append(v, id, h)?),
            _ => return Err(ParseFail::MethodNotAllowed),
        }
    };
    Ok(Request { v, op })
}

fn parse_create(v: Version, h: &HeaderMap) -> Result<Create, ParseFail> {
    let complete = completeness(v, h)?.ok_or_else(|| {
        ParseFail::BadRequest(match v.uses_incomplete() {
            true => "missing Upload-Incomplete".into(),
            false => "missing Upload-Complete".into(),
        })
    })?;
    let content_length = content_length(h)?;
    let length = indicated_length(complete, 0, integer(h, "upload-length")?, content_length)?;
    let mut meta: Vec<upgate_proto::metadata::Pair> = Vec::new();
    if let Some(name) = text(h, "content-disposition")?.and_then(rufh::disposition_filename) {
        meta.push(("filename".into(), Some(name.into_bytes())));
    }
    if let Some(ct) = text(h, "content-type")? {
        let ct = ct.trim();
        let generic = [
            "application/partial-upload",
            "application/offset+octet-stream",
        ];
        if !ct.is_empty() && !generic.iter().any(|g| ct.eq_ignore_ascii_case(g)) {
            meta.push(("filetype".into(), Some(ct.as_bytes().to_vec())));
        }
    }
    Ok(Create {
        complete,
        length,
        content_length,
        with_body: content_length != Some(0),
        metadata: upgate_proto::metadata::format_metadata(&meta),
        repr_digest: text(h, "repr-digest")?
            .map(rufh::parse_sha256_digest)
            .transpose()?
            .flatten(),
        want_digest: wants_digest(h)?,
    })
}

fn parse_append(v: Version, id: String, h: &HeaderMap) -> Result<Append, ParseFail> {
    if v.needs_partial_upload() {
        let ct = text(h, "content-type")?.unwrap_or("");
        let media = ct.split(';').next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case("application/partial-upload") {
            return Err(ParseFail::MediaType);
        }
    }
    let offset = integer(h, "upload-offset")?
        .ok_or_else(|| ParseFail::BadRequest("missing Upload-Offset".into()))?;
    let complete = completeness(v, h)?.unwrap_or(false);
    let content_length = content_length(h)?;
    Ok(Append {
        length: indicated_length(
            complete,
            offset,
            integer(h, "upload-length")?,
            content_length,
        )?,
        id,
        offset,
        complete,
        content_length,
        want_digest: wants_digest(h)?,
    })
}

/// Attribute holding the SHA-256 a creation's `Repr-Digest` announced (hex).
const REPR_SHA256: &str = "rufh.repr_sha256";

/// Sets the completeness header of this version.
fn set_complete(v: Version, h: &mut HeaderMap, complete: bool) {
    let value = |b: bool| HeaderValue::from_static(if b { "?1" } else { "?0" });
    match v.uses_incomplete() {
        true => h.insert("upload-incomplete", value(!complete)),
        false => h.insert("upload-complete", value(complete)),
    };
}

/// `Upload-Limit` of this version for `rec` (or the server's, without a record);
/// `None` before version 6.
fn limits(api: &FilesApi, v: Version, rec: Option<&UploadRecord>) -> Option<HeaderValue> {
    if !v.has_limits() {
        return None;
    }
    let mut out = format!("max-size={}", api.service.config().max_upload_size);
    if let Some(r) = rec.filter(|r| r.expires_at > 0 && r.status != Status::Complete) {
        let key = if v.0 == 6 { "expires" } else { "max-age" };
        out.push_str(&format!(
            ",{key}={}",
            r.expires_at.saturating_sub(now_secs())
        ));
    }
    HeaderValue::from_str(&out).ok()
}

/// The headers describing an upload's state in this version.
fn state_headers(api: &FilesApi, v: Version, h: &mut HeaderMap, rec: &UploadRecord) {
    h.insert("upload-offset", HeaderValue::from(rec.offset));
    set_complete(v, h, rec.status == Status::Complete);
    if let Some(l) = rec.length {
        h.insert("upload-length", HeaderValue::from(l));
    }
    if let Some(l) = limits(api, v, Some(rec)) {
        h.insert("upload-limit", l);
    }
    h.insert(
        "upload-draft-interop-version",
        HeaderValue::from(u16::from(v.0)),
    );
}

/// `Upload-Limit` for `OPTIONS` answers (the tus capability answer carries it too).
pub fn options_limit(api: &FilesApi) -> Option<HeaderValue> {
    limits(api, Version(rufh::MAX_VERSION), None)
}

/// After a request completed `rec`: checks the creation's `Repr-Digest` (a mismatch
/// discards the upload) and returns `Repr-Digest` when the client wants it.
async fn completed(
    api: &FilesApi,
    v: Version,
    rec: &UploadRecord,
    want: bool,
) -> Result<Option<HeaderValue>, IetfError> {
    let expected = rec.attrs.get(REPR_SHA256);
    if expected.is_none() && !want {
        return Ok(None);
    }
    let d = api
        .service
        .sha256(&rec.id)
        .await
        .map_err(|e| IetfError::core(v, e))?;
    if expected.is_some_and(|x| *x != upgate_proto::hex::hex(&d)) {
        if let Err(e) = api.service.terminate(&rec.id).await {
            tracing::warn!(id = %rec.id, error = %e, "discarding an upload whose digest mismatched failed");
        }
        return Err(IetfError::new(v, Problem::DigestMismatch));
    }
    Ok(want
        .then(|| HeaderValue::from_str(&rufh::format_sha256_digest(&d)).ok())
        .flatten())
}

/// When the request arrived (its head read by the server).
fn arrival(head: &http::request::Parts) -> std::time::Instant {
    head.extensions
        .get::<crate::server::Arrival>()
        .map_or_else(std::time::Instant::now, |a| a.0)
}

/// Progress for a request streaming content: a `104` with `Upload-Offset` after each
/// commit (HTTP/1.1; never with `Location`).
fn progress(v: Version, head: &http::request::Parts) -> Option<crate::core::OnCommit> {
    let interim = head.extensions.get::<Interim>()?.clone();
    let status = http::StatusCode::from_u16(104).ok()?;
    Some(crate::core::OnCommit(std::sync::Arc::new(move |offset| {
        let mut h = HeaderMap::new();
        h.insert("upload-offset", HeaderValue::from(offset));
        h.insert(
            "upload-draft-interop-version",
            HeaderValue::from(u16::from(v.0)),
        );
        interim.send(status, &h);
    })))
}

/// Serves a parsed request (authorized and admitted by the caller).
pub async fn handle(
    api: &FilesApi,
    req: Request,
    head: &http::request::Parts,
    body: &mut crate::server::HyperBody,
    owner: Option<crate::core::Owner>,
) -> Result<crate::server::Resp, IetfError> {
    let v = req.v;
    match req.op {
        Op::Create(c) => create::handle(api, v, c, head, body, owner).await,
        Op::Offset { id } => offset::handle(api, v, &id, arrival(head)).await,
        Op::Append(a) => append::handle(api, v, a, head, body).await,
        Op::Cancel { id } => cancel::handle(api, v, &id).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hm(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn kind(r: Result<Request, ParseFail>) -> String {
        match r {
            Ok(Request {
                op: Op::Create(c), ..
            }) => {
                format!("create complete={} length={:?}", c.complete, c.length)
            }
            Ok(Request {
                op: Op::Append(a), ..
            }) => format!(
                "append @{} complete={} length={:?}",
                a.offset, a.complete, a.length
            ),
            Ok(Request {
                op: Op::Offset { .. },
                ..
            }) => "offset".into(),
            Ok(Request {
                op: Op::Cancel { .. },
                ..
            }) => "cancel".into(),
            Err(ParseFail::BadRequest(_)) => "bad".into(),
            Err(ParseFail::Inconsistent(_)) => "inconsistent".into(),
            Err(ParseFail::MediaType) => "media".into(),
            Err(ParseFail::MethodNotAllowed) => "method".into(),
        }
    }

    #[test]
    fn versions() {
        assert_eq!(version_of(None).unwrap(), None);
        assert_eq!(version_of(Some("2")).unwrap(), None);
        assert_eq!(version_of(Some("6")).unwrap(), Some(Version(6)));
        assert!(version_of(Some("six")).is_err());
    }

    #[test]
    fn table() {
        let p = |v: u8, m: &str, rest: &str, h: &[(&'static str, &str)]| {
            kind(parse(
                Version(v),
                &Method::from_bytes(m.as_bytes()).unwrap(),
                rest,
                &hm(h),
            ))
        };
        let part = ("content-type", "application/partial-upload");
        let cases: Vec<(String, &str)> = vec![
            (
                p(
                    8,
                    "POST",
                    "",
                    &[("upload-complete", "?1"), ("content-length", "10")],
                ),
                "create complete=true length=Some(10)",
            ),
            (
                p(
                    8,
                    "PUT",
                    "",
                    &[("upload-complete", "?0"), ("upload-length", "99")],
                ),
                "create complete=false length=Some(99)",
            ),
            (
                p(
                    8,
                    "POST",
                    "",
                    &[("upload-complete", "?0"), ("content-length", "10")],
                ),
                "create complete=false length=None",
            ),
            (
                p(
                    8,
                    "POST",
                    "",
                    &[
                        ("upload-complete", "?1"),
                        ("content-length", "10"),
                        ("upload-length", "11"),
                    ],
                ),
                "inconsistent",
            ),
            (p(8, "POST", "", &[("content-length", "10")]), "bad"),
            (p(8, "POST", "", &[("upload-complete", "yes")]), "bad"),
            (
                p(
                    3,
                    "POST",
                    "",
                    &[("upload-incomplete", "?0"), ("content-length", "4")],
                ),
                "create complete=true length=Some(4)",
            ),
            (p(3, "POST", "", &[("upload-complete", "?1")]), "bad"),
            (p(8, "GET", "", &[]), "method"),
            (p(8, "HEAD", "abc", &[]), "offset"),
            (p(8, "GET", "abc", &[]), "offset"),
            (p(8, "DELETE", "abc", &[]), "cancel"),
            (p(8, "PUT", "abc", &[]), "method"),
            (
                p(
                    8,
                    "PATCH",
                    "abc",
                    &[("upload-offset", "5"), ("upload-complete", "?1")],
                ),
                "media",
            ),
            (
                p(
                    5,
                    "PATCH",
                    "abc",
                    &[
                        ("upload-offset", "5"),
                        ("upload-complete", "?1"),
                        ("content-length", "5"),
                    ],
                ),
                "append @5 complete=true length=Some(10)",
            ),
            (
                p(8, "PATCH", "abc", &[part, ("upload-complete", "?0")]),
                "bad",
            ),
            (
                p(8, "PATCH", "abc", &[part, ("upload-offset", "-1")]),
                "bad",
            ),
            (
                p(
                    8,
                    "PATCH",
                    "abc",
                    &[
                        part,
                        ("upload-offset", "3"),
                        ("upload-complete", "?0"),
                        ("content-length", "5"),
                    ],
                ),
                "append @3 complete=false length=None",
            ),
            (
                p(
                    7,
                    "PATCH",
                    "abc",
                    &[
                        part,
                        ("upload-offset", "3"),
                        ("upload-complete", "?1"),
                        ("content-length", "5"),
                        ("upload-length", "9"),
                    ],
                ),
                "inconsistent",
            ),
            (
                p(
                    3,
                    "PATCH",
                    "abc",
                    &[
                        ("upload-offset", "3"),
                        ("upload-incomplete", "?0"),
                        ("content-length", "5"),
                    ],
                ),
                "append @3 complete=true length=Some(8)",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }
}
