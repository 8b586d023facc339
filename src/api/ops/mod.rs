//! Operator endpoints (no CORS: not for browsers):
//! - `GET /healthz` — liveness: the process serves requests;
//! - `GET /readyz` — readiness: `503` while the state store or the file store cannot be
//!   reached (each asked with a 2 s budget), `200` otherwise;
//! - `GET /metrics` — Prometheus text format (`metrics-exporter-prometheus`); the names
//!   and labels are listed in the README.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::request::Parts;
use http::{HeaderValue, StatusCode};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::api::cors::CorsPolicy;
use crate::api::handler::{ApiHandler, NotFound};
use crate::api::plain;
use crate::core::UploadService;
use crate::server::{full, HyperBody, Resp};

/// The operator endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Health,
    Ready,
    Metrics,
}

/// The process's metrics recorder: installed once (the `metrics` facade is global), so
/// every gateway in a process shares it.
fn recorder() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let seconds = [
                0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0, 30.0, 60.0,
            ];
            PrometheusBuilder::new()
                .set_buckets(&seconds)
                .ok()?
                .install_recorder()
                .map_err(|e| tracing::warn!(error = %e, "metrics recorder not installed"))
                .ok()
        })
        .as_ref()
}

/// The operator adapter.
pub struct OpsApi {
    cors: CorsPolicy,
    service: UploadService,
}

impl OpsApi {
    pub fn new(service: UploadService) -> Self {
        // Installed when the gateway starts, so counters count from the first request.
        let _ = recorder();
        Self {
            cors: CorsPolicy::none(),
            service,
        }
    }
}

impl ApiHandler for OpsApi {
    type Endpoint = Endpoint;
    type Error = NotFound;
    const NAME: &'static str = "ops";

    fn owns(&self, path: &str) -> bool {
        matches!(path, "/healthz" | "/readyz" | "/metrics")
    }

    fn cors(&self) -> &CorsPolicy {
        &self.cors
    }

    fn body_timeout(&self) -> Duration {
        Duration::from_secs(5)
    }

    fn parse(&self, head: &Parts) -> Result<Endpoint, NotFound> {
        match head.uri.path() {
            "/healthz" => Ok(Endpoint::Health),
            "/readyz" => Ok(Endpoint::Ready),
            "/metrics" => Ok(Endpoint::Metrics),
            _ => Err(NotFound),
        }
    }

    async fn apply(
        self: Arc<Self>,
        ep: Endpoint,
        _head: Parts,
        _body: HyperBody,
    ) -> Result<Resp, NotFound> {
        match ep {
            Endpoint::Health => Ok(plain(StatusCode::OK, "ok\n")),
            Endpoint::Ready => Ok(match self.service.ready(Duration::from_secs(2)).await {
                Ok(()) => plain(StatusCode::OK, "ready\n"),
                Err(what) => {
                    let mut r = plain(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &format!("not ready: {what} unreachable\n"),
                    );
                    r.headers_mut()
                        .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
                    r
                }
            }),
            Endpoint::Metrics => {
                let text = recorder().map(|h| h.render()).unwrap_or_default();
                let mut r = hyper::Response::new(full(text));
                r.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                Ok(r)
            }
        }
    }
}
