//! `Content-Range` for ranged PUT (RFC 9110 §14.4, as GCS resumable uploads use it) and
//! the `Range` request header for downloads.
//!
//! Accepted `Content-Range` forms:
//! - `bytes a-b/total`  a chunk (inclusive byte positions) of an upload of known length
//! - `bytes a-b/*`      a chunk while the total is not known yet
//! - `bytes */total`    no body: ask for status, and declare the total
//! - `bytes */*`        no body: ask for status

use crate::error::{parse_u64, ParseError};

const WHAT: &str = "Content-Range";

/// A parsed `Content-Range` request header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    /// The byte span carried by the body: `[start, end)` (half-open), or `None` for a
    /// status query (`bytes */…`).
    pub span: Option<(u64, u64)>,
    /// The complete length of the upload, when the client declares it.
    pub total: Option<u64>,
}

impl ContentRange {
    /// Number of body bytes this header announces.
    pub fn len(&self) -> u64 {
        self.span.map_or(0, |(a, b)| b - a)
    }

    /// True for a status query (no span).
    pub fn is_empty(&self) -> bool {
        self.span.is_none()
    }
}

/// Parses a `Content-Range` header value.
pub fn parse_content_range(text: &str) -> Result<ContentRange, ParseError> {
    let rest = text
        .trim()
        .strip_prefix("bytes ")
        .ok_or_else(|| ParseError::new(WHAT, "must start with \"bytes \""))?;
    let (range, total) = rest
        .split_once('/')
        .ok_or_else(|| ParseError::new(WHAT, "missing \"/total\""))?;
    let total = match total {
        "*" => None,
        t => Some(parse_u64(WHAT, t)?),
    };
    let span = if range == "*" {
        None
    } else {
        let (a, b) = range
            .split_once('-')
            .ok_or_else(|| ParseError::new(WHAT, "range must be \"first-last\""))?;
        let a = parse_u64(WHAT, a)?;
        let b = parse_u64(WHAT, b)?;
        if b < a {
            return Err(ParseError::new(WHAT, "last byte before first byte"));
        }
        let end = b
            .checked_add(1)
            .ok_or_else(|| ParseError::new(WHAT, "range too large"))?;
        if let Some(t) = total {
            if end > t {
                return Err(ParseError::new(WHAT, "range ends past the total length"));
            }
        }
        Some((a, end))
    };
    Ok(ContentRange { span, total })
}

/// Formats the `Range` answer header of an incomplete ranged upload: the contiguous
/// prefix `[0, offset)` as `bytes=0-(offset-1)`; `None` when nothing is stored yet.
pub fn format_stored_range(offset: u64) -> Option<String> {
    (offset > 0).then(|| format!("bytes=0-{}", offset - 1))
}

/// A single byte range requested by a download (`Range: bytes=…`), resolved against
/// the resource length into a half-open span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `[start, end)`, both within the resource.
    Satisfiable(u64, u64),
    /// The range lies outside the resource (answer 416).
    Unsatisfiable,
}

/// Parses a download `Range` header (`bytes=a-b`, `bytes=a-`, `bytes=-n`) against a
/// resource of `len` bytes. Multiple ranges are refused with an error so the caller
/// can ignore the header and answer the whole resource, which RFC 9110 allows.
pub fn parse_range(text: &str, len: u64) -> Result<ByteRange, ParseError> {
    const WHAT: &str = "Range";
    let spec = text
        .trim()
        .strip_prefix("bytes=")
        .ok_or_else(|| ParseError::new(WHAT, "must start with \"bytes=\""))?;
    if spec.contains(',') {
        return Err(ParseError::new(WHAT, "multiple ranges are not supported"));
    }
    let (a, b) = spec
        .split_once('-')
        .ok_or_else(|| ParseError::new(WHAT, "range must be \"first-last\""))?;
    let (start, end) = match (a, b) {
        ("", n) => {
            let n = parse_u64(WHAT, n)?;
            if n == 0 {
                return Ok(ByteRange::Unsatisfiable);
            }
            (len.saturating_sub(n), len)
        }
        (a, "") => (parse_u64(WHAT, a)?, len),
        (a, b) => {
            let (a, b) = (parse_u64(WHAT, a)?, parse_u64(WHAT, b)?);
            if b < a {
                return Err(ParseError::new(WHAT, "last byte before first byte"));
            }
            (a, b.saturating_add(1).min(len))
        }
    };
    if start >= len || start >= end {
        return Ok(ByteRange::Unsatisfiable);
    }
    Ok(ByteRange::Satisfiable(start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_forms() {
        let cases: &[(&str, Option<ContentRange>)] = &[
            (
                "bytes 0-9/10",
                Some(ContentRange {
                    span: Some((0, 10)),
                    total: Some(10),
                }),
            ),
            (
                "bytes 5-5/*",
                Some(ContentRange {
                    span: Some((5, 6)),
                    total: None,
                }),
            ),
            (
                "bytes */100",
                Some(ContentRange {
                    span: None,
                    total: Some(100),
                }),
            ),
            (
                "bytes */*",
                Some(ContentRange {
                    span: None,
                    total: None,
                }),
            ),
            ("bytes 0-10/10", None),
            ("bytes 9-0/10", None),
            ("bytes -1-3/10", None),
            ("bytes 0-3", None),
            ("0-3/4", None),
            ("bytes 0-18446744073709551615/*", None),
            ("bytes 0-x/4", None),
            ("bytes +1-3/4", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_content_range(text).ok(), *want, "{text}");
        }
    }

    #[test]
    fn stored_range() {
        assert_eq!(format_stored_range(0), None);
        assert_eq!(format_stored_range(10).as_deref(), Some("bytes=0-9"));
    }

    #[test]
    fn download_ranges() {
        use ByteRange::*;
        assert_eq!(parse_range("bytes=0-9", 100), Ok(Satisfiable(0, 10)));
        assert_eq!(parse_range("bytes=90-", 100), Ok(Satisfiable(90, 100)));
        assert_eq!(parse_range("bytes=-10", 100), Ok(Satisfiable(90, 100)));
        assert_eq!(parse_range("bytes=-1000", 100), Ok(Satisfiable(0, 100)));
        assert_eq!(parse_range("bytes=50-1000", 100), Ok(Satisfiable(50, 100)));
        assert_eq!(parse_range("bytes=100-", 100), Ok(Unsatisfiable));
        assert_eq!(parse_range("bytes=-0", 100), Ok(Unsatisfiable));
        assert!(parse_range("bytes=0-1,3-4", 100).is_err());
        assert!(parse_range("items=0-1", 100).is_err());
    }
}
