//! `PATCH /files/{id}`: append at `Upload-Offset` (tus core + checksum + defer-length).

use http::StatusCode;

use super::endpoint::Patch;
use super::{state_headers, FilesApi, FilesError};
use crate::core::AppendRequest;
use crate::server::{empty, HyperBody, Resp};

pub async fn handle(api: &FilesApi, p: Patch, body: &mut HyperBody) -> Result<Resp, FilesError> {
    let req = AppendRequest {
        offset: p.offset,
        declared_len: p.content_length,
        checksum: p.checksum,
        set_length: p.set_length,
        ..Default::default()
    };
    let rec = api.service.append(&p.id, req, body).await?;
    let mut r = hyper::Response::new(empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    state_headers(r.headers_mut(), &rec);
    Ok(r)
}
