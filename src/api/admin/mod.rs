//! The admin API: `/admin/tokens` manages the API tokens of the LMS-facing endpoints
//! with an ADMIN KS of the partner (what `upgate token …` calls, so it works while the
//! gateway holds the state store). `POST` creates (the token is shown once), `GET`
//! lists, `DELETE /admin/tokens/{id}` revokes.

mod error;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use http::Method;

use crate::api::cors::{CorsPolicy, Origins};
use crate::api::gate::Gate;
use crate::api::handler::ApiHandler;
use crate::server::{HyperBody, Resp};
pub use error::AdminError;

/// The admin adapter.
pub struct AdminApi {
    pub gate: Gate,
    pub cors: CorsPolicy,
}

/// A parsed admin request.
#[derive(Debug)]
pub enum Endpoint {
    CreateToken,
    ListTokens,
    RevokeToken { id: String },
}

impl AdminApi {
    pub fn new(gate: Gate, origins: Origins) -> Self {
        Self {
            gate,
            cors: CorsPolicy {
                origins,
                methods: "GET, POST, DELETE, OPTIONS",
                allow_headers: "Authorization, Content-Type",
                expose_headers: "",
                max_age: 86400,
                always: false,
            },
        }
    }
}

impl ApiHandler for AdminApi {
    type Endpoint = Endpoint;
    type Error = AdminError;
    const NAME: &'static str = "admin";

    fn owns(&self, path: &str) -> bool {
        path == "/admin/tokens" || path.starts_with("/admin/tokens/")
    }

    fn cors(&self) -> &CorsPolicy {
        &self.cors
    }

    fn body_timeout(&self) -> Duration {
        self.gate.body_timeout
    }

    fn parse(&self, head: &Parts) -> Result<Endpoint, AdminError> {
        let path = head.uri.path().trim_end_matches('/');
        match (&head.method, path) {
            (&Method::POST, "/admin/tokens") => Ok(Endpoint::CreateToken),
            (&Method::GET, "/admin/tokens") => Ok(Endpoint::ListTokens),
            (&Method::DELETE, p) if p.starts_with("/admin/tokens/") => Ok(Endpoint::RevokeToken {
                id: p.trim_start_matches("/admin/tokens/").to_owned(),
            }),
            _ => Err(AdminError::Method),
        }
    }

    async fn apply(
        self: Arc<Self>,
        ep: Endpoint,
        head: Parts,
        mut body: HyperBody,
    ) -> Result<Resp, AdminError> {
        let ks = tokens::admin_session(&self.gate, &head).await?;
        match ep {
            Endpoint::CreateToken => {
                tokens::create(&self.gate, &ks, &head.headers, &mut body).await
            }
            Endpoint::ListTokens => tokens::list(&self.gate, &ks).await,
            Endpoint::RevokeToken { id } => tokens::revoke(&self.gate, &ks, &id).await,
        }
    }
}
