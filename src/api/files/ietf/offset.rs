//! Offset retrieval: `HEAD` (or `GET`) on `/files/{id}`. A request still writing this
//! upload here is ended first, so the offset answered is the one the next append must
//! use.

use http::{HeaderValue, StatusCode};

use super::{state_headers, IetfError, Version};
use crate::api::files::FilesApi;
use crate::server::{empty, Resp};

pub async fn handle(
    api: &FilesApi,
    v: Version,
    id: &str,
    arrived: std::time::Instant,
) -> Result<Resp, IetfError> {
    let rec = api
        .service
        .status_preempting(id, arrived)
        .await
        .map_err(|e| IetfError::core(v, e))?;
    let mut r = hyper::Response::new(empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    let h = r.headers_mut();
    state_headers(api, v, h, &rec);
    h.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    Ok(r)
}
