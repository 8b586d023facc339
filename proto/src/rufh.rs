//! Resumable Uploads for HTTP (draft-ietf-httpbis-resumable-upload, "RUFH"): the header
//! values of its interop versions 3 to 8. Structured Field items (RFC 9651) as the
//! draft uses them: `Upload-Offset`/`Upload-Length` (Integer), `Upload-Complete`/
//! `Upload-Incomplete` (Boolean), `Upload-Draft-Interop-Version` (Integer), the
//! `Repr-Digest`/`Want-Repr-Digest` dictionaries (RFC 9530), and the file name a
//! `Content-Disposition` carries (RFC 6266). Parameters on items are accepted and
//! ignored, as Structured Fields allow.

use base64::Engine;

use crate::error::ParseError;

/// Lowest and highest interop versions served.
pub const MIN_VERSION: u8 = 3;
pub const MAX_VERSION: u8 = 8;

/// The bare item of a Structured Field item: parameters (`;k=v`) dropped.
fn bare(text: &str) -> &str {
    text.split(';').next().unwrap_or("").trim()
}

/// An sf-integer that must be non-negative (at most 15 digits, as RFC 9651 bounds it).
pub fn parse_sf_u64(what: &'static str, text: &str) -> Result<u64, ParseError> {
    let t = bare(text);
    if t.is_empty() || t.len() > 15 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::new(
            what,
            format!("not a non-negative Structured Field integer: {text:?}"),
        ));
    }
    t.parse()
        .map_err(|_| ParseError::new(what, format!("not an integer: {text:?}")))
}

/// An sf-boolean: `?1` or `?0`.
pub fn parse_sf_bool(what: &'static str, text: &str) -> Result<bool, ParseError> {
    match bare(text) {
        "?1" => Ok(true),
        "?0" => Ok(false),
        _ => Err(ParseError::new(
            what,
            format!("not a Structured Field boolean (?0 or ?1): {text:?}"),
        )),
    }
}

/// `Upload-Draft-Interop-Version`: `Ok(Some(v))` for a version served, `Ok(None)` for a
/// well-formed version that is not (the request is then not treated as a draft request).
pub fn parse_version(text: &str) -> Result<Option<u8>, ParseError> {
    let v = parse_sf_u64("Upload-Draft-Interop-Version", text)?;
    Ok((u64::from(MIN_VERSION)..=u64::from(MAX_VERSION))
        .contains(&v)
        .then_some(v as u8))
}

/// Splits a Structured Field dictionary into `(key, value)` members, outside of
/// byte sequences and strings (enough for the digest dictionaries).
fn members(text: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let (mut start, mut in_bytes, mut in_str) = (0, false, false);
    let b = text.as_bytes();
    for i in 0..=b.len() {
        let c = b.get(i).copied();
        match c {
            Some(b':') if !in_str => in_bytes = !in_bytes,
            Some(b'"') if !in_bytes => in_str = !in_str,
            Some(b',') | None if !in_bytes && !in_str => {
                let m = text[start..i].trim();
                if !m.is_empty() {
                    let (k, v) = m.split_once('=').unwrap_or((m, "?1"));
                    out.push((k.trim(), v.trim()));
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    out
}

/// The SHA-256 of a `Repr-Digest` (or `Content-Digest`) dictionary, if it has one:
/// `sha-256=:base64:`. Other algorithms are ignored; a malformed SHA-256 member is an error.
pub fn parse_sha256_digest(text: &str) -> Result<Option<[u8; 32]>, ParseError> {
    for (k, v) in members(text) {
        if !k.eq_ignore_ascii_case("sha-256") {
            continue;
        }
        let inner = bare(v)
            .strip_prefix(':')
            .and_then(|s| s.strip_suffix(':'))
            .ok_or_else(|| ParseError::new("Repr-Digest", "sha-256 is not a byte sequence"))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(inner)
            .map_err(|_| ParseError::new("Repr-Digest", "sha-256 is not base64"))?;
        let digest: [u8; 32] = bytes
            .try_into()
            .map_err(|_| ParseError::new("Repr-Digest", "sha-256 is not 32 bytes"))?;
        return Ok(Some(digest));
    }
    Ok(None)
}

/// Whether a `Want-Repr-Digest` dictionary asks for SHA-256 (a weight above 0).
pub fn wants_sha256(text: &str) -> bool {
    members(text)
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("sha-256") && bare(v) != "0")
}

/// `Repr-Digest: sha-256=:…:` for a digest.
pub fn format_sha256_digest(d: &[u8; 32]) -> String {
    format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(d)
    )
}

/// The file name of a `Content-Disposition` value: `filename*` (RFC 8187, UTF-8) first,
/// else `filename` (token or quoted string). Path separators and control characters
/// are not allowed in the result (a name, never a path); `None` when absent or unusable.
pub fn disposition_filename(text: &str) -> Option<String> {
    let mut plain = None;
    let mut extended = None;
    for param in split_params(text).into_iter().skip(1) {
        let Some((k, v)) = param.split_once('=') else {
            continue;
        };
        match k.trim().to_ascii_lowercase().as_str() {
            "filename" => plain = Some(unquote(v.trim())),
            "filename*" => extended = ext_value(v.trim()),
            _ => {}
        }
    }
    let name = extended.or(plain)?;
    let name = name.rsplit(['/', '\\']).next().unwrap_or("").to_owned();
    (!name.is_empty() && name != "." && name != ".." && !name.chars().any(char::is_control))
        .then_some(name)
}

/// `;`-separated parameters, outside quoted strings.
fn split_params(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        None => v.to_owned(),
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' {
                    chars.next().unwrap_or('\\')
                } else {
                    c
                });
            }
            out
        }
    }
}

/// RFC 8187 `charset'lang'percent-encoded`; UTF-8 only.
fn ext_value(v: &str) -> Option<String> {
    let mut parts = v.splitn(3, '\'');
    let charset = parts.next()?;
    let _lang = parts.next()?;
    let encoded = parts.next()?;
    if !charset.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    let b = encoded.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = encoded.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items() {
        assert_eq!(parse_sf_u64("x", "25000000").unwrap(), 25_000_000);
        assert_eq!(parse_sf_u64("x", " 7;a=1").unwrap(), 7);
        for bad in ["", "-1", "1.5", "0x10", "1234567890123456", "1 2"] {
            assert!(parse_sf_u64("x", bad).is_err(), "{bad}");
        }
        assert!(parse_sf_bool("x", "?1").unwrap());
        assert!(!parse_sf_bool("x", "?0;p").unwrap());
        for bad in ["1", "true", "?2", ""] {
            assert!(parse_sf_bool("x", bad).is_err(), "{bad}");
        }
        assert_eq!(parse_version("8").unwrap(), Some(8));
        assert_eq!(parse_version("3").unwrap(), Some(3));
        assert_eq!(parse_version("2").unwrap(), None);
        assert_eq!(parse_version("9").unwrap(), None);
        assert!(parse_version("v8").is_err());
    }

    #[test]
    fn digests() {
        let d = [7u8; 32];
        let text = format!("sha-512=:AAAA:, {}", format_sha256_digest(&d));
        assert_eq!(parse_sha256_digest(&text).unwrap(), Some(d));
        assert_eq!(parse_sha256_digest("sha-512=:AAAA:").unwrap(), None);
        assert!(parse_sha256_digest("sha-256=:AAAA:").is_err());
        assert!(parse_sha256_digest("sha-256=abc").is_err());
        assert!(wants_sha256("sha-256=10, sha=3"));
        assert!(wants_sha256("sha-256"));
        assert!(!wants_sha256("sha-256=0"));
        assert!(!wants_sha256("sha-512=1"));
    }

    #[test]
    fn filenames() {
        let f = disposition_filename;
        assert_eq!(
            f(r#"inline; filename="file name.jpg"; filename*=UTF-8''file%20n%C3%A4me.jpg"#)
                .as_deref(),
            Some("file näme.jpg")
        );
        assert_eq!(
            f(r#"attachment; filename="a \"b\".mp4""#).as_deref(),
            Some("a \"b\".mp4")
        );
        assert_eq!(
            f("inline; filename=lecture.mp4").as_deref(),
            Some("lecture.mp4")
        );
        assert_eq!(
            f(r#"inline; filename="../../etc/passwd""#).as_deref(),
            Some("passwd")
        );
        assert_eq!(f(r#"inline; filename="..""#), None);
        assert_eq!(f("inline; filename*=ISO-8859-1''x"), None);
        assert_eq!(f("inline; filename*=UTF-8''bad%zz"), None);
        assert_eq!(f("inline; filename=\"a\u{7}b\""), None);
        assert_eq!(f("inline"), None);
    }
}
