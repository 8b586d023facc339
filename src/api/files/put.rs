//! `PUT /files/{id}` with `Content-Range`: a chunk at any position (or a status query).
//! Answers `308` with `Range: bytes=0-N` (the contiguous prefix) while incomplete and
//! `201` once complete.

use http::{HeaderValue, StatusCode};
use upgate_proto::content_range::{format_stored_range, ContentRange};

use super::{state_headers, FilesApi, FilesError};
use crate::core::Status;
use crate::server::{empty, HyperBody, Resp};

pub async fn handle(
    api: &FilesApi,
    id: String,
    range: ContentRange,
    body: &mut HyperBody,
) -> Result<Resp, FilesError> {
    let rec = api.service.put_range(&id, range, body).await?;
    let mut r = hyper::Response::new(empty());
    let h = r.headers_mut();
    state_headers(h, &rec);
    if rec.status == Status::Complete {
        *r.status_mut() = StatusCode::CREATED;
    } else {
        *r.status_mut() = StatusCode::PERMANENT_REDIRECT;
        if let Some(v) =
            format_stored_range(rec.offset).and_then(|s| HeaderValue::from_str(&s).ok())
        {
            r.headers_mut().insert(http::header::RANGE, v);
        }
    }
    Ok(r)
}
