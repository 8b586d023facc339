//! Canvas-facing endpoints (seed 002) and the API tokens that authenticate them:
//! - `GET /api/v1/services/kaltura` — the media backend's configuration;
//! - `POST /api/v1/services/kaltura_session` — a USER KS for the token's user (with
//!   `include_upload_config=1`, the uploader URLs pointing at upgate's PS2 endpoints);
//! - `/admin/tokens` — create, list and revoke API tokens with an ADMIN KS (what
//!   `upgate token …` calls, so it works while the gateway holds the state store).
//!
//! Tokens are random; only their SHA-256 is stored (as documents of the state store,
//! which every instance sees). CORS with preflight follows `--cors-origins`.

mod services;
mod tokens;

use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};

use crate::api::files::Cors;
use crate::auth::Partners;
use crate::core::UploadService;
use crate::server::{empty, full, Req, Resp};

/// Settings of the Canvas adapter.
#[derive(Clone)]
pub struct CanvasApi {
    pub service: UploadService,
    pub partners: Arc<Partners>,
    /// The partner the LMS uses (`None`: the services answer `enabled: false`).
    pub partner: Option<i64>,
    /// Canvas root account id, appended to user ids (`<user>_<root>`).
    pub root_account: String,
    pub cors: Cors,
    /// Request rate limits (per token user).
    pub limits: crate::ratelimit::Limits,
}

/// What is stored for an API token (under the SHA-256 of the token).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Short public id (for listing and revoking).
    pub id: String,
    pub user: String,
    pub partner: i64,
    pub admin: bool,
    pub created_at: u64,
}

pub const TOKENS: &str = "api-token";

pub fn is_canvas_path(path: &str) -> bool {
    path.starts_with("/api/v1/services/")
        || path == "/admin/tokens"
        || path.starts_with("/admin/tokens/")
}

/// A JSON answer.
pub fn json(status: StatusCode, v: &serde_json::Value) -> Resp {
    let mut r = hyper::Response::new(full(v.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub fn problem(status: StatusCode, message: &str) -> Resp {
    json(
        status,
        &serde_json::json!({ "errors": [{ "message": message }] }),
    )
}

pub fn bearer(h: &HeaderMap) -> Option<String> {
    let v = h.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let t = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))?;
    Some(t.trim().to_owned())
}

/// Form or JSON body fields (small bodies only).
pub async fn body_fields(h: &HeaderMap, body: hyper::body::Incoming) -> Vec<(String, String)> {
    let Ok(bytes) = http_body_util::Limited::new(body, 64 * 1024)
        .collect()
        .await
        .map(|b| b.to_bytes())
    else {
        return Vec::new();
    };
    let ctype = h
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ctype.starts_with("application/json") {
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        return v
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
    }
    upgate_proto::kaltura::ks::parse_query(&String::from_utf8_lossy(&bytes))
}

impl CanvasApi {
    pub async fn handle(&self, req: Req) -> Resp {
        let origin = req.headers().get(http::header::ORIGIN).cloned();
        let mut r = if req.method() == Method::OPTIONS {
            let mut r = hyper::Response::new(empty());
            *r.status_mut() = StatusCode::NO_CONTENT;
            let h = r.headers_mut();
            h.insert(
                "access-control-allow-methods",
                HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
            );
            h.insert(
                "access-control-allow-headers",
                HeaderValue::from_static("Authorization, Content-Type"),
            );
            h.insert("access-control-max-age", HeaderValue::from_static("86400"));
            r
        } else if req.uri().path().starts_with("/admin/tokens") {
            tokens::handle(self, req).await
        } else {
            services::handle(self, req).await
        };
        if let Some(o) = origin {
            let h = r.headers_mut();
            match &self.cors {
                Cors::Any => {
                    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
                }
                Cors::List(list) if list.iter().any(|x| x.as_bytes() == o.as_bytes()) => {
                    h.insert("access-control-allow-origin", o);
                    h.insert(
                        "access-control-allow-credentials",
                        HeaderValue::from_static("true"),
                    );
                    h.insert("vary", HeaderValue::from_static("Origin"));
                }
                Cors::List(_) => {}
            }
        }
        r
    }

    /// The API token's record, if `h` carries a valid one.
    pub async fn token_user(&self, h: &HeaderMap) -> Option<TokenRecord> {
        let token = bearer(h)?;
        let body = self
            .service
            .get_doc(TOKENS, &tokens::digest(&token))
            .await
            .ok()??;
        serde_json::from_str(&body).ok()
    }
}
