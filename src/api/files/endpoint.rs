//! Parsing a `/files/` request into an [`Endpoint`]: method (with
//! `X-HTTP-Method-Override`), path, and every header the operation needs, validated.
//! Nothing here touches storage.

use http::{HeaderMap, Method};
use upgate_proto::checksum::{parse_checksum, Checksum};
use upgate_proto::content_range::{parse_content_range, ContentRange};
use upgate_proto::metadata::parse_metadata;
use upgate_proto::tus::{check_resumable, parse_concat, parse_defer_length, parse_number, Concat};
use upgate_proto::ParseError;

/// A parsed request.
#[derive(Debug)]
pub enum Endpoint {
    Options,
    Create(Create),
    Head {
        id: String,
        want_digest: bool,
    },
    Patch(Patch),
    Put {
        id: String,
        range: ContentRange,
    },
    Get {
        id: String,
        range: Option<String>,
    },
    Delete {
        id: String,
    },
    /// A Resumable Uploads for HTTP request (`Upload-Draft-Interop-Version` 3–8).
    Ietf(super::ietf::Request),
}

#[derive(Debug)]
pub struct Create {
    pub length: Option<u64>,
    pub metadata: String,
    pub concat: Option<Concat>,
    /// creation-with-upload: the POST carries the first bytes.
    pub with_body: bool,
    pub content_length: Option<u64>,
    pub checksum: Option<Checksum>,
    /// `Want-Digest: sha-256` on the creation: keep the digest as bytes arrive.
    pub keep_digest: bool,
}

#[derive(Debug)]
pub struct Patch {
    pub id: String,
    pub offset: u64,
    pub content_length: Option<u64>,
    pub checksum: Option<Checksum>,
    pub set_length: Option<u64>,
}

/// Why a request could not be parsed.
#[derive(Debug)]
pub enum ParseFail {
    NotFound,
    MethodNotAllowed,
    /// Unsupported `Tus-Resumable` (412).
    Version,
    BadRequest(String),
    /// PATCH without `application/offset+octet-stream` (415).
    MediaType,
    /// A RUFH request that could not be parsed, in its version's terms.
    Ietf(super::ietf::Version, super::ietf::ParseFail),
}

impl From<ParseError> for ParseFail {
    fn from(e: ParseError) -> Self {
        ParseFail::BadRequest(e.to_string())
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ParseFail> {
    match h.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(Some)
            .map_err(|_| ParseFail::BadRequest(format!("header {name} is not ASCII"))),
    }
}

fn tus_version(h: &HeaderMap) -> Result<(), ParseFail> {
    match header(h, "tus-resumable")? {
        Some(v) => check_resumable(v).map_err(|_| ParseFail::Version),
        None => Err(ParseFail::Version),
    }
}

fn number(h: &HeaderMap, name: &'static str) -> Result<Option<u64>, ParseFail> {
    header(h, name)?
        .map(|v| parse_number(name, v))
        .transpose()
        .map_err(Into::into)
}

fn is_offset_stream(h: &HeaderMap) -> Result<bool, ParseFail> {
    Ok(header(h, "content-type")?.is_some_and(|ct| {
        ct.split(';').next().is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/offset+octet-stream")
        })
    }))
}

/// Parses method, path and headers.
pub fn parse(method: &Method, path: &str, h: &HeaderMap) -> Result<Endpoint, ParseFail> {
    let overridden;
    let method = match header(h, "x-http-method-override")? {
        Some(m) if method == Method::POST => {
            overridden =
                Method::from_bytes(m.trim().as_bytes()).map_err(|_| ParseFail::MethodNotAllowed)?;
            &overridden
        }
        _ => method,
    };
    let rest = path
        .strip_prefix("/files")
        .unwrap_or(path)
        .trim_start_matches('/');
    let rufh = super::ietf::version_of(header(h, "upload-draft-interop-version")?)?;
    if let Some(v) = rufh.filter(|_| method != Method::OPTIONS) {
        if !rest.is_empty() && (rest.contains('/') || !crate::model::is_valid_id(rest)) {
            return Err(ParseFail::NotFound);
        }
        return super::ietf::parse(v, method, rest, h)
            .map(Endpoint::Ietf)
            .map_err(|e| ParseFail::Ietf(v, e));
    }
    if rest.is_empty() {
        return match *method {
            Method::OPTIONS => Ok(Endpoint::Options),
            Method::POST => parse_create(h).map(Endpoint::Create),
            _ => Err(ParseFail::MethodNotAllowed),
        };
    }
    if rest.contains('/') || !crate::model::is_valid_id(rest) {
        return Err(ParseFail::NotFound);
    }
    let id = rest.to_owned();
    match *method {
        Method::OPTIONS => Ok(Endpoint::Options),
        Method::HEAD => {
            tus_version(h)?;
            let want_digest = wants_sha256(h)?;
            Ok(Endpoint::Head { id, want_digest })
        }
        Method::PATCH => {
            tus_version(h)?;
            if !is_offset_stream(h)? {
                return Err(ParseFail::MediaType);
            }
            let offset = number(h, "upload-offset")?
                .ok_or_else(|| ParseFail::BadRequest("missing Upload-Offset".into()))?;
            Ok(Endpoint::Patch(Patch {
                id,
                offset,
                content_length: number(h, "content-length")?,
                checksum: header(h, "upload-checksum")?
                    .map(parse_checksum)
                    .transpose()?,
                set_length: number(h, "upload-length")?,
            }))
        }
        Method::PUT => {
            let range = header(h, "content-range")?
                .ok_or_else(|| ParseFail::BadRequest("missing Content-Range".into()))?;
            let range = parse_content_range(range)?;
            if let Some(n) = number(h, "content-length")? {
                if n != range.len() {
                    return Err(ParseFail::BadRequest(format!(
                        "Content-Length {n} does not match Content-Range ({} bytes)",
                        range.len()
                    )));
                }
            }
            Ok(Endpoint::Put { id, range })
        }
        Method::GET => Ok(Endpoint::Get {
            id,
            range: header(h, "range")?.map(str::to_owned),
        }),
        Method::DELETE => {
            tus_version(h)?;
            Ok(Endpoint::Delete { id })
        }
        _ => Err(ParseFail::MethodNotAllowed),
    }
}

fn parse_create(h: &HeaderMap) -> Result<Create, ParseFail> {
    tus_version(h)?;
    let length = number(h, "upload-length")?;
    let defer = header(h, "upload-defer-length")?
        .map(parse_defer_length)
        .transpose()?
        .is_some();
    let concat = header(h, "upload-concat")?.map(parse_concat).transpose()?;
    match (&concat, length, defer) {
        (Some(Concat::Final(_)), Some(_), _) => {
            return Err(ParseFail::BadRequest(
                "a final upload must not carry Upload-Length".into(),
            ))
        }
        (Some(Concat::Final(_)), None, _) => {}
        (_, Some(_), true) => {
            return Err(ParseFail::BadRequest(
                "Upload-Length and Upload-Defer-Length are exclusive".into(),
            ))
        }
        (_, None, false) => {
            return Err(ParseFail::BadRequest(
                "missing Upload-Length or Upload-Defer-Length".into(),
            ))
        }
        _ => {}
    }
    let metadata = header(h, "upload-metadata")?
        .unwrap_or("")
        .trim()
        .to_owned();
    parse_metadata(&metadata)?;
    let content_length = number(h, "content-length")?;
    let with_body = is_offset_stream(h)? && content_length != Some(0);
    if matches!(concat, Some(Concat::Final(_))) && with_body {
        return Err(ParseFail::BadRequest("a final upload takes no body".into()));
    }
    Ok(Create {
        length,
        metadata,
        concat,
        with_body,
        content_length,
        checksum: header(h, "upload-checksum")?
            .map(parse_checksum)
            .transpose()?,
        keep_digest: wants_sha256(h)?,
    })
}

/// `Want-Digest` (RFC 3230) names SHA-256.
fn wants_sha256(h: &HeaderMap) -> Result<bool, ParseFail> {
    Ok(header(h, "want-digest")?.is_some_and(|v| v.to_ascii_lowercase().contains("sha-256")))
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

    const V: (&str, &str) = ("tus-resumable", "1.0.0");

    #[test]
    fn table() {
        type Case<'a> = (&'a str, &'a str, Vec<(&'static str, &'a str)>, &'a str);
        let cases: Vec<Case> = vec![
            ("OPTIONS", "/files/", vec![], "Options"),
            (
                "POST",
                "/files/",
                vec![V, ("upload-length", "10")],
                "Create",
            ),
            (
                "POST",
                "/files",
                vec![V, ("upload-defer-length", "1")],
                "Create",
            ),
            ("POST", "/files/", vec![V], "BadRequest"),
            ("POST", "/files/", vec![("upload-length", "10")], "Version"),
            (
                "POST",
                "/files/",
                vec![V, ("upload-length", "-3")],
                "BadRequest",
            ),
            (
                "POST",
                "/files/",
                vec![V, ("upload-length", "3"), ("upload-defer-length", "1")],
                "BadRequest",
            ),
            (
                "POST",
                "/files/",
                vec![
                    V,
                    ("upload-concat", "final;/files/a"),
                    ("upload-length", "3"),
                ],
                "BadRequest",
            ),
            (
                "POST",
                "/files/",
                vec![V, ("upload-concat", "final;/files/a")],
                "Create",
            ),
            (
                "POST",
                "/files/",
                vec![V, ("upload-length", "1"), ("upload-metadata", "a b c")],
                "BadRequest",
            ),
            ("HEAD", "/files/abc", vec![V], "Head"),
            ("HEAD", "/files/a/b", vec![V], "NotFound"),
            ("HEAD", "/files/..", vec![V], "NotFound"),
            (
                "PATCH",
                "/files/abc",
                vec![V, ("upload-offset", "0")],
                "MediaType",
            ),
            (
                "PATCH",
                "/files/abc",
                vec![V, ("content-type", "application/offset+octet-stream")],
                "BadRequest",
            ),
            (
                "PATCH",
                "/files/abc",
                vec![
                    V,
                    ("content-type", "application/offset+octet-stream"),
                    ("upload-offset", "5"),
                ],
                "Patch",
            ),
            (
                "POST",
                "/files/abc",
                vec![
                    V,
                    ("x-http-method-override", "PATCH"),
                    ("content-type", "application/offset+octet-stream"),
                    ("upload-offset", "5"),
                ],
                "Patch",
            ),
            (
                "PUT",
                "/files/abc",
                vec![("content-range", "bytes 0-9/10")],
                "Put",
            ),
            (
                "PUT",
                "/files/abc",
                vec![("content-range", "bytes 0-9/10"), ("content-length", "9")],
                "BadRequest",
            ),
            ("PUT", "/files/abc", vec![], "BadRequest"),
            (
                "PUT",
                "/files/abc",
                vec![("content-range", "bytes 9-0/10")],
                "BadRequest",
            ),
            ("GET", "/files/abc", vec![], "Get"),
            ("DELETE", "/files/abc", vec![V], "Delete"),
            ("TRACE", "/files/abc", vec![], "MethodNotAllowed"),
            (
                "HEAD",
                "/files/abc",
                vec![("upload-draft-interop-version", "8")],
                "Ietf",
            ),
            (
                "HEAD",
                "/files/abc",
                vec![V, ("upload-draft-interop-version", "9")],
                "Head",
            ),
            (
                "HEAD",
                "/files/a/b",
                vec![("upload-draft-interop-version", "8")],
                "NotFound",
            ),
            (
                "PATCH",
                "/files/abc",
                vec![("upload-draft-interop-version", "8")],
                "IetfFail",
            ),
            (
                "OPTIONS",
                "/files/",
                vec![("upload-draft-interop-version", "8")],
                "Options",
            ),
            ("GET", "/files/", vec![], "MethodNotAllowed"),
        ];
        for (m, p, h, want) in cases {
            let got = parse(&Method::from_bytes(m.as_bytes()).unwrap(), p, &hm(&h));
            let name = match &got {
                Ok(Endpoint::Options) => "Options",
                Ok(Endpoint::Create(_)) => "Create",
                Ok(Endpoint::Head { .. }) => "Head",
                Ok(Endpoint::Patch(_)) => "Patch",
                Ok(Endpoint::Put { .. }) => "Put",
                Ok(Endpoint::Get { .. }) => "Get",
                Ok(Endpoint::Delete { .. }) => "Delete",
                Ok(Endpoint::Ietf(_)) => "Ietf",
                Err(ParseFail::NotFound) => "NotFound",
                Err(ParseFail::MethodNotAllowed) => "MethodNotAllowed",
                Err(ParseFail::Version) => "Version",
                Err(ParseFail::BadRequest(_)) => "BadRequest",
                Err(ParseFail::MediaType) => "MediaType",
                Err(ParseFail::Ietf(..)) => "IetfFail",
            };
            assert_eq!(name, want, "{m} {p} {h:?}: {got:?}");
        }
    }
}
