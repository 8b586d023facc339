//! `OPTIONS /files/`: what this server supports (and CORS preflight, via the caller).

use http::{HeaderValue, StatusCode};
use upgate_proto::checksum::Algorithm;

use super::FilesApi;
use crate::server::{empty, Resp};

pub const EXTENSIONS: &str =
    "creation,creation-with-upload,creation-defer-length,termination,checksum,expiration,concatenation";

pub fn handle(api: &FilesApi) -> Resp {
    let mut r = hyper::Response::new(empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    let h = r.headers_mut();
    h.insert("tus-version", HeaderValue::from_static("1.0.0"));
    h.insert("tus-extension", HeaderValue::from_static(EXTENSIONS));
    h.insert(
        "tus-max-size",
        HeaderValue::from(api.service.config().max_upload_size),
    );
    // Resumable Uploads for HTTP discovers its limits here too (any version).
    if let Some(v) = super::ietf::options_limit(api) {
        h.insert("upload-limit", v);
    }
    if let Ok(v) = HeaderValue::from_str(&Algorithm::advertised()) {
        h.insert("tus-checksum-algorithm", v);
    }
    r
}
