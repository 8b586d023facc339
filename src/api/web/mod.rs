//! The browser upload page ("My Media"): plain HTML and JavaScript with no runtime
//! dependencies, compiled into the binary and served at `/` and `/upload.js`. The page
//! talks the Kaltura `uploadToken` protocol with the user's KS.

use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use crate::api::cors::CorsPolicy;
use crate::api::handler::{ApiHandler, NotFound};
use crate::server::{full, HyperBody, Resp};

const INDEX: &str = include_str!("index.html");
/// The page runs only its own script, talks only to this origin, and is never framed
/// (the KS it holds must not be clickjacked or exfiltrated by an injected script).
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
frame-ancestors 'none'";
const SCRIPT: &str = include_str!("upload.js");

/// The page's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Index,
    Script,
}

/// The page adapter (same-origin only: no CORS).
pub struct WebApi {
    cors: CorsPolicy,
}

impl WebApi {
    pub fn new() -> Self {
        Self {
            cors: CorsPolicy::none(),
        }
    }
}

impl Default for WebApi {
    fn default() -> Self {
        Self::new()
    }
}

impl ApiHandler for WebApi {
    type Endpoint = Endpoint;
    type Error = NotFound;
    const NAME: &'static str = "web";

    fn owns(&self, path: &str) -> bool {
        matches!(path, "/" | "/index.html" | "/upload.js")
    }

    fn cors(&self) -> &CorsPolicy {
        &self.cors
    }

    fn body_timeout(&self) -> Duration {
        Duration::from_secs(5)
    }

    fn parse(&self, head: &Parts) -> Result<Endpoint, NotFound> {
        if head.method != Method::GET && head.method != Method::HEAD {
            return Err(NotFound);
        }
        match head.uri.path() {
            "/" | "/index.html" => Ok(Endpoint::Index),
            "/upload.js" => Ok(Endpoint::Script),
            _ => Err(NotFound),
        }
    }

    async fn apply(
        self: Arc<Self>,
        ep: Endpoint,
        _head: Parts,
        _body: HyperBody,
    ) -> Result<Resp, NotFound> {
        let (body, ctype) = match ep {
            Endpoint::Index => (INDEX, "text/html; charset=utf-8"),
            Endpoint::Script => (SCRIPT, "application/javascript; charset=utf-8"),
        };
        let mut r = hyper::Response::new(full(body));
        *r.status_mut() = StatusCode::OK;
        let h = r.headers_mut();
        h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ctype));
        h.insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        );
        Ok(r)
    }

    fn decorate(&self, h: &mut HeaderMap) {
        h.insert("content-security-policy", HeaderValue::from_static(CSP));
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
        h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    }
}
