//! `DELETE /files/{id}`: termination extension.

use http::StatusCode;

use super::{FilesApi, FilesError};
use crate::server::{empty, Resp};

pub async fn handle(api: &FilesApi, id: &str) -> Result<Resp, FilesError> {
    api.service.terminate(id).await?;
    let mut r = hyper::Response::new(empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    Ok(r)
}
