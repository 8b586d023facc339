//! Wire protocols, one folder each. Each adapter parses a request into its `Endpoint`
//! enum (`endpoint.rs`), calls [`crate::core::UploadService`] from one file per
//! operation, and maps `core::Error` to wire errors in its own `error.rs`.
//!
//! [`Router`] dispatches by path prefix; it is the [`crate::server::Handler`].

pub mod canvas;
pub mod files;
pub mod kaltura;
pub mod limit;
pub mod ps2;
pub mod web;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::core::UploadService;
use crate::server::{full, Handler, Req, Resp};

/// Dispatches requests to the protocol adapters by path prefix.
pub struct Router {
    pub canvas: canvas::CanvasApi,
    pub files: files::FilesApi,
    pub kaltura: kaltura::KalturaApi,
    pub ps2: ps2::Ps2Api,
    pub service: UploadService,
}

impl Handler for Router {
    fn handle(self: Arc<Self>, req: Req) -> Pin<Box<dyn Future<Output = Resp> + Send>> {
        Box::pin(async move {
            let path = req.uri().path();
            if path == "/files" || path.starts_with("/files/") {
                return self.files.handle(req).await;
            }
            if canvas::is_canvas_path(path) {
                return self.canvas.handle(req).await;
            }
            if ps2::is_ps2_path(path) {
                return self.ps2.handle(req).await;
            }
            if kaltura::endpoint::is_api_path(path) {
                return self.kaltura.handle(req).await;
            }
            if let Some(page) = web::handle(path) {
                return page;
            }
            if path == "/healthz" {
                return plain(hyper::StatusCode::OK, "ok\n");
            }
            plain(hyper::StatusCode::NOT_FOUND, "not found\n")
        })
    }

    fn on_shutdown(&self) {
        self.service.stop_writers();
    }
}

/// The scheme and host the client used (`X-Forwarded-Proto` and `Host`), for absolute
/// URLs in answers.
pub fn origin_of(req: &Req) -> (String, String) {
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|h: &http::HeaderValue| h.to_str().ok())
    };
    let host = header(http::header::HOST.as_str()).unwrap_or("localhost");
    let proto = header("x-forwarded-proto").unwrap_or("http");
    (proto.to_owned(), host.to_owned())
}

/// A plain-text response.
pub fn plain(status: hyper::StatusCode, text: &str) -> Resp {
    let mut r = hyper::Response::new(full(text.to_owned()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
