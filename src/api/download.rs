//! Serving a completed upload's bytes to a client (the native `GET /files/ID` and
//! Kaltura's `/p/…/download/…` URLs): one `Range` or the whole file, always as an
//! attachment with a safe name, never something a browser renders on this origin.

use http::{HeaderValue, StatusCode};
use upgate_proto::content_range::{parse_range, ByteRange};

use crate::core::{Error, UploadRecord, UploadService};
use crate::server::body::stream;
use crate::server::Resp;

/// Why a download is not served.
#[derive(Debug)]
pub enum Download {
    Core(Error),
    /// A `Range` outside a file of this length.
    Unsatisfiable {
        len: u64,
    },
}

impl From<Error> for Download {
    fn from(e: Error) -> Self {
        Download::Core(e)
    }
}

/// Streams `rec` (complete) whole or as the one `range` asked, with `content_type`.
pub async fn serve(
    service: &UploadService,
    rec: &UploadRecord,
    range: Option<&str>,
    name: Option<&str>,
    content_type: &'static str,
) -> Result<Resp, Download> {
    let len = rec.offset;
    let (start, end, partial) = match range.map(|r| parse_range(r, len)) {
        None | Some(Err(_)) => (0, len, false), // no or unsupported Range: whole file
        Some(Ok(ByteRange::Satisfiable(a, b))) => (a, b, true),
        Some(Ok(ByteRange::Unsatisfiable)) => return Err(Download::Unsatisfiable { len }),
    };
    let dl = service.read(&rec.id, start, end).await?;
    let mut r = hyper::Response::new(stream(dl.stream, dl.end - dl.start));
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&content_disposition(name)) {
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

/// The `filename` of tus `Upload-Metadata`, without any path.
pub fn metadata_file_name(metadata: &str) -> Option<String> {
    upgate_proto::metadata::parse_metadata(metadata)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "filename"))
        .and_then(|(_, v)| v)
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or("").to_owned())
        .filter(|n| !n.is_empty())
}

/// `attachment`, with a file name made safe: an ASCII fallback of letters, digits, `.`,
/// `-`, `_` and spaces, plus the exact name percent-encoded as RFC 6266 `filename*`.
pub fn content_disposition(name: Option<&str>) -> String {
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
        let cd = |m: &str| super::content_disposition(super::metadata_file_name(m).as_deref());
        assert_eq!(cd(""), "attachment");
        let evil = format!("filename {}", b64("a\"b\r\n<x>.html"));
        let d = cd(&evil);
        assert_eq!(
            d,
            "attachment; filename=\"a_b___x_.html\"; filename*=UTF-8''a%22b%0D%0A%3Cx%3E.html"
        );
        let d = cd(&format!("filename {}", b64("../../Vorlesung ü.mp4")));
        assert!(
            d.starts_with("attachment; filename=\"Vorlesung _.mp4\""),
            "{d}"
        );
    }
}
