//! Canvas-facing endpoints (seed 002), for the holder of an API token
//! ([`crate::auth::tokens`], made with the admin API):
//! - `GET /api/v1/services/kaltura` — the media backend's configuration;
//! - `POST /api/v1/services/kaltura_session` — a USER KS for the token's user (with
//!   `include_upload_config=1`, the uploader URLs pointing at upgate's PS2 endpoints).
//!
//! Shape as every adapter: [`Endpoint`], one file per operation, [`CanvasError`] with
//! its one mapping (Canvas's `{"errors":[{"message"}]}`). Every request passes the gate
//! as the token's user. CORS with preflight follows `--cors-origins`.

mod error;
mod services;
mod session;

use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use http::Method;

use crate::api::cors::{CorsPolicy, Origins};
use crate::api::gate::Gate;
use crate::api::handler::ApiHandler;
use crate::api::json::bearer;
use crate::auth::tokens::{self, TokenRecord};
use crate::ratelimit::Subject;
use crate::server::{HyperBody, Resp};
pub use error::CanvasError;

/// The Canvas adapter.
pub struct CanvasApi {
    pub gate: Gate,
    pub cors: CorsPolicy,
    /// The partner the LMS uses (`None`: the services answer `enabled: false`).
    pub partner: Option<i64>,
    /// Canvas root account id, appended to user ids (`<user>_<root>`).
    pub root_account: String,
}

/// A parsed Canvas request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /api/v1/services/kaltura`
    Config,
    /// `POST /api/v1/services/kaltura_session`
    Session,
}

impl CanvasApi {
    pub fn new(gate: Gate, origins: Origins, partner: Option<i64>, root_account: String) -> Self {
        Self {
            gate,
            cors: CorsPolicy {
                origins,
                methods: "GET, POST, OPTIONS",
                allow_headers: "Authorization, Content-Type",
                expose_headers: "",
                max_age: 86400,
                always: false,
            },
            partner,
            root_account,
        }
    }

    /// The API token's record, if `h` carries a valid one.
    async fn token_user(&self, h: &http::HeaderMap) -> Result<TokenRecord, CanvasError> {
        let token = bearer(h).ok_or(CanvasError::Unauthorized)?;
        tokens::lookup(&self.gate.service, &token)
            .await?
            .ok_or(CanvasError::Unauthorized)
    }
}

impl ApiHandler for CanvasApi {
    type Endpoint = Endpoint;
    type Error = CanvasError;
    const NAME: &'static str = "canvas";

    fn owns(&self, path: &str) -> bool {
        path.starts_with("/api/v1/services/")
    }

    fn cors(&self) -> &CorsPolicy {
        &self.cors
    }

    fn body_timeout(&self) -> Duration {
        self.gate.body_timeout
    }

    fn parse(&self, head: &Parts) -> Result<Endpoint, CanvasError> {
        match (&head.method, head.uri.path()) {
            (&Method::GET, "/api/v1/services/kaltura") => Ok(Endpoint::Config),
            (&Method::POST, "/api/v1/services/kaltura_session") => Ok(Endpoint::Session),
            _ => Err(CanvasError::NotFound("not found")),
        }
    }

    async fn apply(
        self: Arc<Self>,
        ep: Endpoint,
        head: Parts,
        mut body: HyperBody,
    ) -> Result<Resp, CanvasError> {
        let token = self.token_user(&head.headers).await?;
        let subject = Subject::User {
            partner: token.partner,
            user: token.user.clone(),
        };
        let _admitted = self
            .gate
            .admit(&subject, false, None)
            .await
            .map_err(CanvasError::Denied)?;
        let partner = self
            .partner
            .filter(|p| *p == token.partner)
            .and_then(|p| self.gate.partners.get(p));
        match ep {
            Endpoint::Config => Ok(services::config(&head, partner)),
            Endpoint::Session => session::start(&self, &head, &mut body, &token, partner).await,
        }
    }
}
