//! Operator endpoints: `GET /healthz` (liveness: the process serves requests).

use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use http::StatusCode;

use crate::api::cors::CorsPolicy;
use crate::api::handler::{ApiHandler, NotFound};
use crate::api::plain;
use crate::server::{HyperBody, Resp};

/// The operator endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Health,
}

/// The operator adapter (no CORS: not for browsers).
pub struct OpsApi {
    cors: CorsPolicy,
}

impl OpsApi {
    pub fn new() -> Self {
        Self {
            cors: CorsPolicy::none(),
        }
    }
}

impl Default for OpsApi {
    fn default() -> Self {
        Self::new()
    }
}

impl ApiHandler for OpsApi {
    type Endpoint = Endpoint;
    type Error = NotFound;
    const NAME: &'static str = "ops";

    fn owns(&self, path: &str) -> bool {
        path == "/healthz"
    }

    fn cors(&self) -> &CorsPolicy {
        &self.cors
    }

    fn body_timeout(&self) -> Duration {
        Duration::from_secs(5)
    }

    fn parse(&self, _head: &Parts) -> Result<Endpoint, NotFound> {
        Ok(Endpoint::Health)
    }

    async fn apply(
        self: Arc<Self>,
        ep: Endpoint,
        _head: Parts,
        _body: HyperBody,
    ) -> Result<Resp, NotFound> {
        match ep {
            Endpoint::Health => Ok(plain(StatusCode::OK, "ok\n")),
        }
    }
}
