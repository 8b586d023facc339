//! The one shape of every API adapter, and the router that is a table of them.
//!
//! An adapter implements [`ApiHandler`]: which paths it owns, its CORS policy as data,
//! `parse` (the request head into its typed endpoint enum, no I/O) and `apply` (the
//! endpoint's work), with one error type whose [`WireError::into_response`] is the only
//! mapping to its wire format. [`serve`] does what every adapter needs around that, in
//! one place:
//! - `OPTIONS`: the adapter's answer (or its own endpoint) plus the CORS preflight;
//! - the work runs in its own task, so a client hangup never cancels a storage write
//!   half-way (the body then ends with an error and what arrived is committed);
//! - a body the adapter refused to parse is read and discarded briefly, so a client still sending
//!   sees the answer instead of a reset;
//! - every answer gets the adapter's CORS headers, its own fixed headers
//!   ([`ApiHandler::decorate`]), `X-Content-Type-Options: nosniff` and `X-Request-ID`
//!   (the id in every log line of the request);
//! - requests are counted by API, method and status, and timed (see `api::ops`).
//!
//! The identity + limits gate each adapter applies inside `apply` is [`super::gate`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::cors::CorsPolicy;
use super::plain;
use crate::server::{empty, HyperBody, Req, Resp};

/// An adapter's error: its one mapping to the wire.
pub trait WireError: Send + 'static {
    /// The answer (status, headers and body in the adapter's format).
    fn into_response(self) -> Resp;
    /// A bug: the work's task panicked. Logged by the caller; answered as the
    /// adapter's internal error.
    fn internal(detail: String) -> Self;
}

/// The error of APIs that can only fail with "no such page" (the page, operator
/// endpoints): `404` in plain text.
#[derive(Debug)]
pub struct NotFound;

impl WireError for NotFound {
    fn into_response(self) -> Resp {
        plain(StatusCode::NOT_FOUND, "not found\n")
    }

    fn internal(detail: String) -> Self {
        tracing::error!(%detail, "handler task failed");
        NotFound
    }
}

/// One wire API.
pub trait ApiHandler: Send + Sync + 'static {
    /// The typed request (parse, then apply).
    type Endpoint: Send + 'static;
    type Error: WireError;
    /// Short name, for logs.
    const NAME: &'static str;

    /// Whether this API serves `path` (the router asks in table order).
    fn owns(&self, path: &str) -> bool;
    /// The CORS policy (from `--cors-origins` and the API's headers).
    fn cors(&self) -> &CorsPolicy;
    /// Per-frame read timeout of request bodies.
    fn body_timeout(&self) -> Duration;
    /// The answer to `OPTIONS` (CORS headers are added); `None`: parse it as any
    /// request (the native protocol describes itself on `OPTIONS`).
    fn options(&self) -> Option<Resp> {
        let mut r = hyper::Response::new(empty());
        *r.status_mut() = StatusCode::NO_CONTENT;
        Some(r)
    }
    /// The request head as a typed endpoint; no I/O.
    fn parse(&self, head: &Parts) -> Result<Self::Endpoint, Self::Error>;
    /// Serves the endpoint (in its own task).
    fn apply(
        self: Arc<Self>,
        ep: Self::Endpoint,
        head: Parts,
        body: HyperBody,
    ) -> impl Future<Output = Result<Resp, Self::Error>> + Send;
    /// Headers every answer of this API carries (`Tus-Resumable`, say).
    fn decorate(&self, _h: &mut HeaderMap) {}
}

/// The request's id: the client's `X-Request-ID` when it is a short token, else a new
/// one. It is in every log line of the request and in the answer's `X-Request-ID`.
fn request_id(h: &HeaderMap) -> String {
    h.get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        })
        .map_or_else(|| crate::model::new_id()[..16].to_owned(), str::to_owned)
}

/// Serves one request with `api` (see the module docs for what this adds), counted in
/// `upgate_requests_total{api,method,status}` and `upgate_request_seconds{api}`.
pub async fn serve<A: ApiHandler>(api: Arc<A>, req: Req) -> Resp {
    use tracing::Instrument;
    let started = std::time::Instant::now();
    let id = request_id(req.headers());
    let method = req.method().clone();
    let client = crate::api::gate::peer_of(req.extensions());
    let span = tracing::info_span!("request", id = %id, api = A::NAME, method = %method, path = %req.uri().path(), client = %client);
    let mut resp = serve_inner(api, req).instrument(span.clone()).await;
    span.in_scope(|| tracing::debug!(status = resp.status().as_u16(), "answered"));
    metrics::counter!(
        "upgate_requests_total",
        "api" => A::NAME,
        "method" => method.as_str().to_owned(),
        "status" => resp.status().as_str().to_owned()
    )
    .increment(1);
    metrics::histogram!("upgate_request_seconds", "api" => A::NAME)
        .record(started.elapsed().as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

async fn serve_inner<A: ApiHandler>(api: Arc<A>, req: Req) -> Resp {
    use tracing::Instrument;
    let origin = req.headers().get(http::header::ORIGIN).cloned();
    let options = req.method() == Method::OPTIONS;
    let preflight = options && api.cors().is_preflight(req.headers());
    let mut resp = match options.then(|| api.options()).flatten() {
        Some(r) => r,
        None => {
            let (head, body) = req.into_parts();
            let mut body = HyperBody::new(body, api.body_timeout());
            match api.parse(&head) {
                Err(e) => {
                    body.discard_rest().await;
                    e.into_response()
                }
                Ok(ep) => {
                    let task = api.clone();
                    let span = tracing::Span::current();
                    let work = async move { task.apply(ep, head, body).await };
                    match tokio::spawn(work.instrument(span)).await {
                        Ok(Ok(r)) => r,
                        Ok(Err(e)) => e.into_response(),
                        Err(e) => {
                            tracing::error!(api = A::NAME, error = %e, "handler task failed");
                            A::Error::internal(format!("{} task failed: {e}", A::NAME))
                                .into_response()
                        }
                    }
                }
            }
        }
    };
    let h = resp.headers_mut();
    api.cors().apply(h, origin.as_ref(), preflight);
    api.decorate(h);
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// A row of the router's table: an API behind a uniform, object-safe face.
pub trait Route: Send + Sync + 'static {
    fn owns(&self, path: &str) -> bool;
    fn serve(self: Arc<Self>, req: Req) -> Pin<Box<dyn Future<Output = Resp> + Send>>;
}

impl<A: ApiHandler> Route for A {
    fn owns(&self, path: &str) -> bool {
        ApiHandler::owns(self, path)
    }

    fn serve(self: Arc<Self>, req: Req) -> Pin<Box<dyn Future<Output = Resp> + Send>> {
        Box::pin(serve(self, req))
    }
}
