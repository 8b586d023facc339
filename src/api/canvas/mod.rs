//! Canvas-facing endpoints (seeds 002 and 003), for the holder of an API token
//! ([`crate::auth::tokens`], made with the admin API):
//! - `GET /api/v1/services/kaltura` — the media backend's configuration;
//! - `POST /api/v1/services/kaltura_session` — a USER KS for the token's user (with
//!   `include_upload_config=1`, the uploader URLs pointing at upgate's PS2 endpoints);
//! - Media Objects and media tracks (`media.rs`): `POST /media_objects`,
//!   `GET /api/v1/{,courses/:id/,groups/:id/}media_{objects,attachments}`,
//!   `PUT /api/v1/media_{objects,attachments}/:id`, `GET`/`PUT …/:id/media_tracks`,
//!   `POST /media_objects/:id/media_tracks`, `GET`/`DELETE
//!   /media_objects/:id/media_tracks/:track_id`.
//!
//! Shape as every adapter: [`Endpoint`], one file per operation, [`CanvasError`] with
//! its one mapping (Canvas's `{"errors":[{"message"}]}`). Every request passes the gate
//! as the token's user. CORS with preflight follows `--cors-origins`.

mod error;
mod media;
mod services;
mod session;

use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use http::Method;

use crate::api::cors::{CorsPolicy, Origins};
use crate::api::gate::Gate;
use crate::api::handler::ApiHandler;
use crate::api::json::{bearer, body_fields};
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /api/v1/services/kaltura`
    Config,
    /// `POST /api/v1/services/kaltura_session`
    Session,
    /// `POST /media_objects`
    CreateObject,
    /// `GET /api/v1/[courses/:id/|groups/:id/]media_objects` (or `media_attachments`):
    /// the context code (`course_17`) or the user's own.
    ListObjects { context: Option<String> },
    /// `PUT /api/v1/media_objects/:id` (or `media_attachments/:id`)
    UpdateObject { id: String },
    /// `GET …/media_objects/:id/media_tracks`
    ListTracks { id: String },
    /// `PUT …/media_objects/:id/media_tracks`
    ReplaceTracks { id: String },
    /// `POST /media_objects/:id/media_tracks`
    CreateTrack { id: String },
    /// `GET /media_objects/:id/media_tracks/:track_id`
    GetTrack { id: String, track: String },
    /// `DELETE /media_objects/:id/media_tracks/:track_id`
    DeleteTrack { id: String, track: String },
}

/// An id in a path: an entry id (`0_abcd1234`) or a number.
fn path_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The endpoint of `method path`, if Canvas's media API has it.
fn media_endpoint(method: &Method, path: &str) -> Option<Endpoint> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let objects = |s: &str| s == "media_objects" || s == "media_attachments";
    use Endpoint::*;
    Some(match (method, segs.as_slice()) {
        (&Method::POST, ["media_objects"]) => CreateObject,
        (&Method::GET, ["api", "v1", o]) if objects(o) => ListObjects { context: None },
        (&Method::GET, ["api", "v1", kind @ ("courses" | "groups"), id, o])
            if objects(o) && id.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty() =>
        {
            ListObjects {
                context: Some(format!("{}_{id}", kind.trim_end_matches('s'))),
            }
        }
        (&Method::PUT, ["api", "v1", o, id]) if objects(o) && path_id(id) => UpdateObject {
            id: (*id).to_owned(),
        },
        (&Method::GET, ["api", "v1", o, id, "media_tracks"]) if objects(o) && path_id(id) => {
            ListTracks {
                id: (*id).to_owned(),
            }
        }
        (&Method::PUT, ["api", "v1", o, id, "media_tracks"]) if objects(o) && path_id(id) => {
            ReplaceTracks {
                id: (*id).to_owned(),
            }
        }
        (&Method::POST, ["media_objects", id, "media_tracks"]) if path_id(id) => CreateTrack {
            id: (*id).to_owned(),
        },
        (&Method::GET, ["media_objects", id, "media_tracks", t]) if path_id(id) && path_id(t) => {
            GetTrack {
                id: (*id).to_owned(),
                track: (*t).to_owned(),
            }
        }
        (&Method::DELETE, ["media_objects", id, "media_tracks", t])
            if path_id(id) && path_id(t) =>
        {
            DeleteTrack {
                id: (*id).to_owned(),
                track: (*t).to_owned(),
            }
        }
        _ => return None,
    })
}

/// A JSON body (`PUT …/media_tracks` sends an array), at most 2 MiB.
async fn json_body(body: &mut HyperBody) -> Result<serde_json::Value, CanvasError> {
    use crate::model::body::ChunkBody;
    let mut bytes = Vec::new();
    while let Some(b) = body
        .next_chunk()
        .await
        .map_err(|_| CanvasError::BadRequest("body cut"))?
    {
        if bytes.len() + b.len() > 2 << 20 {
            return Err(CanvasError::TooLarge);
        }
        bytes.extend_from_slice(&b);
    }
    serde_json::from_slice(&bytes).map_err(|_| CanvasError::BadRequest("the body is not JSON"))
}

impl CanvasApi {
    pub fn new(gate: Gate, origins: Origins, partner: Option<i64>, root_account: String) -> Self {
        Self {
            gate,
            cors: CorsPolicy {
                origins,
                methods: "GET, POST, PUT, DELETE, OPTIONS",
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
            || path == "/media_objects"
            || path.starts_with("/media_objects/")
            || path.starts_with("/api/v1/media_objects")
            || path.starts_with("/api/v1/media_attachments")
            || ((path.starts_with("/api/v1/courses/") || path.starts_with("/api/v1/groups/"))
                && (path.ends_with("/media_objects") || path.ends_with("/media_attachments")))
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
            (m, p) => media_endpoint(m, p).ok_or(CanvasError::NotFound("not found")),
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
            Endpoint::CreateObject => {
                let fields = body_fields(&head.headers, &mut body)
                    .await
                    .ok_or(CanvasError::TooLarge)?;
                self.create_object(&head, &token, &fields).await
            }
            Endpoint::ListObjects { context } => {
                self.list_objects(&head, &token, context.as_deref()).await
            }
            Endpoint::UpdateObject { id } => {
                let fields = body_fields(&head.headers, &mut body)
                    .await
                    .ok_or(CanvasError::TooLarge)?;
                self.update_object(&head, &token, &id, &fields).await
            }
            Endpoint::ListTracks { id } => self.list_tracks(&head, &token, &id).await,
            Endpoint::ReplaceTracks { id } => {
                let v = json_body(&mut body).await?;
                self.replace_tracks(&head, &token, &id, &v).await
            }
            Endpoint::CreateTrack { id } => {
                let fields = body_fields(&head.headers, &mut body)
                    .await
                    .ok_or(CanvasError::TooLarge)?;
                self.create_track(&token, &id, &fields).await
            }
            Endpoint::GetTrack { id, track } => self.get_track(&token, &id, &track).await,
            Endpoint::DeleteTrack { id, track } => self.delete_track(&token, &id, &track).await,
        }
    }
}
