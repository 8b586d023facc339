//! `GET /files/{id}`: download a completed upload, whole or one `Range`.

use http::{HeaderValue, StatusCode};
use upgate_proto::content_range::{parse_range, ByteRange};

use super::{FilesApi, FilesError};
use crate::server::body::stream;
use crate::server::Resp;

pub async fn handle(api: &FilesApi, id: &str, range: Option<&str>) -> Result<Resp, FilesError> {
    let rec = api.service.status(id).await?;
    let len = rec.offset;
    let (start, end, partial) = match range.map(|r| parse_range(r, len)) {
        None | Some(Err(_)) => (0, len, false), // no or unsupported Range: whole file
        Some(Ok(ByteRange::Satisfiable(a, b))) => (a, b, true),
        Some(Ok(ByteRange::Unsatisfiable)) => return Err(FilesError::RangeNotSatisfiable { len }),
    };
    let dl = api.service.read(id, start, end).await?;
    let mut r = hyper::Response::new(stream(dl.stream, dl.end - dl.start));
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    // Always a download, never rendered on the gateway's origin.
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&rec.metadata)) {
        h.insert(http::header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        http::header::ACCEPT_RANGES,
        HeaderValue::from_static("bytes"),
    );
    h.insert(
        http::header::CONTENT_LENGTH,
        HeaderValue::from(dl.end - dl.start),
    );
    if partial {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "bytes {}-{}/{len}",
            dl.start,
            dl.end.saturating_sub(1)
        )) {
            h.insert(http::header::CONTENT_RANGE, v);
        }
        *r.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    Ok(r)
}

/// `attachment`, with the client's `filename` (from `Upload-Metadata`) made safe: an
/// ASCII fallback of letters, digits, `.`, `-`, `_` and spaces, plus the exact name
/// percent-encoded as RFC 6266 `filename*`.
fn content_disposition(metadata: &str) -> String {
    let name = upgate_proto::metadata::parse_metadata(metadata)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "filename"))
        .and_then(|(_, v)| v)
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or("").to_owned())
        .filter(|n| !n.is_empty());
    let Some(name) = name else {
        return "attachment".to_owned();
    };
    let ascii: String = name
        .chars()
        .take(200)
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' | ' ' => c,
            _ => '_',
        })
        .collect();
    let mut exact = String::new();
    for b in name.bytes().take(600) {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => exact.push(b as char),
            _ => exact.push_str(&format!("%{b:02X}")),
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{exact}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn disposition_is_always_a_safe_attachment() {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(super::content_disposition(""), "attachment");
        let evil = format!("filename {}", b64("a\"b\r\n<x>.html"));
        let d = super::content_disposition(&evil);
        assert_eq!(
            d,
            "attachment; filename=\"a_b___x_.html\"; filename*=UTF-8''a%22b%0D%0A%3Cx%3E.html"
        );
        let d = super::content_disposition(&format!("filename {}", b64("../../Vorlesung ü.mp4")));
        assert!(
            d.starts_with("attachment; filename=\"Vorlesung _.mp4\""),
            "{d}"
        );
    }
}
