//! `PUT /files/{id}` with `Content-Range`: a chunk at any position (or a status query).
//! Answers `308` with `Range: bytes=0-N` (the contiguous prefix) while incomplete and
//! `201` once complete.

use http::{HeaderValue, StatusCode};
use upgate_proto::content_range::{format_stored_range, ContentRange};

use super::error::{core_error, task_failed};
use super::{state_headers, FilesApi};
use crate::core::Status;
use crate::server::{empty, Resp};

pub async fn handle(
    api: &FilesApi,
    id: String,
    range: ContentRange,
    body: crate::server::HyperBody,
) -> Resp {
    let svc = api.service.clone();
    let mut body = body;
    let task = tokio::spawn(async move {
        let out = svc.put_range(&id, range, &mut body).await;
        if out.is_err() {
            body.drain().await;
        }
        out
    });
    let rec = match task.await {
        Ok(Ok(rec)) => rec,
        Ok(Err(e)) => return core_error(&e),
        Err(e) => return task_failed(e),
    };
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
    r
}
