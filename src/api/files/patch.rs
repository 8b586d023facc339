//! `PATCH /files/{id}`: append at `Upload-Offset` (tus core + checksum + defer-length).
//! The write runs in a spawned task so a client hangup cannot cancel it half-way.

use http::StatusCode;

use super::endpoint::Patch;
use super::error::{core_error, task_failed};
use super::{state_headers, FilesApi};
use crate::core::AppendRequest;
use crate::server::{empty, Resp};

pub async fn handle(api: &FilesApi, p: Patch, body: crate::server::HyperBody) -> Resp {
    let svc = api.service.clone();
    let mut body = body;
    let req = AppendRequest {
        offset: p.offset,
        declared_len: p.content_length,
        checksum: p.checksum,
        set_length: p.set_length,
    };
    let id = p.id;
    let task = tokio::spawn(async move {
        let out = svc.append(&id, req, &mut body).await;
        if out.is_err() {
            body.drain().await;
        }
        out
    });
    match task.await {
        Ok(Ok(rec)) => {
            let mut r = hyper::Response::new(empty());
            *r.status_mut() = StatusCode::NO_CONTENT;
            state_headers(r.headers_mut(), &rec);
            r
        }
        Ok(Err(e)) => core_error(&e),
        Err(e) => task_failed(e),
    }
}
