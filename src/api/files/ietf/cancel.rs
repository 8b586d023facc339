//! Upload cancellation: `DELETE /files/{id}`; a request still writing it is stopped.

use http::{HeaderValue, StatusCode};

use super::{IetfError, Version};
use crate::api::files::FilesApi;
use crate::server::{empty, Resp};

pub async fn handle(api: &FilesApi, v: Version, id: &str) -> Result<Resp, IetfError> {
    api.service
        .terminate(id)
        .await
        .map_err(|e| IetfError::core(v, e))?;
    let mut r = hyper::Response::new(empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    r.headers_mut().insert(
        "upload-draft-interop-version",
        HeaderValue::from(u16::from(v.0)),
    );
    Ok(r)
}
