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
