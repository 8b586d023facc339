//! Wire protocols, one folder each, all in one shape ([`handler::ApiHandler`]): a typed
//! endpoint enum (`endpoint.rs`: parse, then apply), a CORS policy as data
//! ([`cors::CorsPolicy`]), one error type with one mapping to the wire (`error.rs`), and
//! one file per operation. What every adapter shares lives beside them: the generic
//! request path ([`handler::serve`]: preflight, spawned work, CORS, `nosniff`), the
//! identity + limits gate ([`gate`]), Kaltura-style parameter reading ([`params`],
//! used by the Kaltura and PS2 adapters) and file downloads ([`download`]).
//!
//! Adapters: [`files`] (native tus + ranged PUT), [`kaltura`] (API v3), [`ps2`] (legacy
//! `partnerservices2`), [`canvas`] (Canvas services API), [`admin`] (API tokens),
//! [`web`] (the upload page), [`ops`] (`/healthz`, `/readyz`, `/metrics`). The JSON APIs share [`json`]. An adapter never imports another; `tests/architecture.rs`
//! checks it.
//!
//! [`Router`] is a table of adapters asked in order; it is the [`crate::server::Handler`].

pub mod admin;
pub mod canvas;
pub mod cors;
pub mod download;
pub mod files;
pub mod gate;
pub mod handler;
pub mod json;
pub mod kaltura;
pub mod ops;
pub mod params;
pub mod ps2;
pub mod web;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::core::UploadService;
use crate::server::{full, Handler, Req, Resp};
use handler::Route;

/// Dispatches requests to the first adapter of its table that owns the path.
pub struct Router {
    routes: Vec<Arc<dyn Route>>,
    service: UploadService,
}

impl Router {
    /// A router over `routes`, asked in order; `service` is told about shutdown.
    pub fn new(routes: Vec<Arc<dyn Route>>, service: UploadService) -> Self {
        Self { routes, service }
    }

    /// The upload service behind the adapters.
    pub fn service(&self) -> &UploadService {
        &self.service
    }
}

impl Handler for Router {
    fn handle(self: Arc<Self>, req: Req) -> Pin<Box<dyn Future<Output = Resp> + Send>> {
        let path = req.uri().path();
        match self.routes.iter().find(|r| r.owns(path)) {
            Some(route) => route.clone().serve(req),
            None => Box::pin(async {
                let mut r = plain(hyper::StatusCode::NOT_FOUND, "not found\n");
                r.headers_mut().insert(
                    "x-content-type-options",
                    http::HeaderValue::from_static("nosniff"),
                );
                r
            }),
        }
    }

    fn on_shutdown(&self) {
        self.service.stop_writers();
    }
}

/// The scheme and host the client used (`X-Forwarded-Proto` and `Host`), for absolute
/// URLs in answers.
pub fn origin_of(headers: &http::HeaderMap) -> (String, String) {
    let header = |name| {
        headers
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
