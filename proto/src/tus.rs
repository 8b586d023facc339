//! tus 1.0 request headers: numbers, `Upload-Defer-Length`, `Upload-Concat`,
//! `Tus-Resumable`. Formatting of `Upload-Expires` lives with the HTTP adapter.

use crate::error::{parse_u64, ParseError};

/// The only protocol version this crate speaks.
pub const TUS_VERSION: &str = "1.0.0";

/// Parses a tus numeric header (`Upload-Length`, `Upload-Offset`).
pub fn parse_number(what: &'static str, text: &str) -> Result<u64, ParseError> {
    parse_u64(what, text.trim())
}

/// `Upload-Defer-Length` must be exactly `1`.
pub fn parse_defer_length(text: &str) -> Result<(), ParseError> {
    if text.trim() == "1" {
        Ok(())
    } else {
        Err(ParseError::new("Upload-Defer-Length", "must be 1"))
    }
}

/// Checks `Tus-Resumable` against the version we speak.
pub fn check_resumable(text: &str) -> Result<(), ParseError> {
    if text.trim() == TUS_VERSION {
        Ok(())
    } else {
        Err(ParseError::new(
            "Tus-Resumable",
            format!("unsupported version {text:?}"),
        ))
    }
}

/// A parsed `Upload-Concat` header (concatenation extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Concat {
    /// `partial`: this upload is a piece of a later final upload.
    Partial,
    /// `final;URL URL …`: the final upload made of these partial uploads, in order.
    /// Each entry is the URL or path as the client sent it.
    Final(Vec<String>),
}

/// Parses `Upload-Concat`. The final form needs at least one part and at most 1,000.
pub fn parse_concat(text: &str) -> Result<Concat, ParseError> {
    const WHAT: &str = "Upload-Concat";
    let text = text.trim();
    if text == "partial" {
        return Ok(Concat::Partial);
    }
    let list = text
        .strip_prefix("final;")
        .ok_or_else(|| ParseError::new(WHAT, "must be \"partial\" or \"final;URLs\""))?;
    let parts: Vec<String> = list.split_whitespace().map(str::to_owned).collect();
    if parts.is_empty() {
        return Err(ParseError::new(
            WHAT,
            "final upload lists no partial uploads",
        ));
    }
    if parts.len() > 1000 {
        return Err(ParseError::new(WHAT, "more than 1000 partial uploads"));
    }
    Ok(Concat::Final(parts))
}

/// The last path segment of a concatenation part URL (`/files/abc` or
/// `http://host/files/abc` → `abc`).
pub fn upload_id_from_url(url: &str) -> Option<&str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let id = path.trim_end_matches('/').rsplit('/').next()?;
    (!id.is_empty()).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("Upload-Offset", "0"), Ok(0));
        assert_eq!(parse_number("Upload-Offset", " 42 "), Ok(42));
        assert!(parse_number("Upload-Offset", "-1").is_err());
        assert!(parse_number("Upload-Offset", "1e3").is_err());
        assert!(parse_number("Upload-Offset", "").is_err());
        assert!(parse_number("Upload-Offset", "99999999999999999999").is_err());
    }

    #[test]
    fn concat() {
        assert_eq!(parse_concat("partial"), Ok(Concat::Partial));
        assert_eq!(
            parse_concat("final;/files/a http://x/files/b"),
            Ok(Concat::Final(vec![
                "/files/a".into(),
                "http://x/files/b".into()
            ]))
        );
        assert!(parse_concat("final;").is_err());
        assert!(parse_concat("whole").is_err());
        assert_eq!(upload_id_from_url("http://x/files/b?x=1"), Some("b"));
        assert_eq!(upload_id_from_url("/files/a/"), Some("a"));
        assert_eq!(upload_id_from_url(""), None);
    }

    #[test]
    fn defer_and_version() {
        assert!(parse_defer_length("1").is_ok());
        assert!(parse_defer_length("0").is_err());
        assert!(check_resumable("1.0.0").is_ok());
        assert!(check_resumable("0.2.2").is_err());
    }
}
