//! `DELETE /files/{id}`: termination extension.

use http::StatusCode;

use super::error::core_error;
use super::FilesApi;
use crate::server::{empty, Resp};

pub async fn handle(api: &FilesApi, id: &str) -> Resp {
    match api.service.terminate(id).await {
        Ok(()) => {
            let mut r = hyper::Response::new(empty());
            *r.status_mut() = StatusCode::NO_CONTENT;
            r
        }
        Err(e) => core_error(&e),
    }
}
