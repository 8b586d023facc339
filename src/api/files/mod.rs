//! The native resumable protocol at `/files/`: tus 1.0 (core, creation,
//! creation-with-upload, creation-defer-length, termination, checksum, expiration,
//! concatenation) plus ranged `PUT` with `Content-Range`, and `GET` downloads.
//!
//! Shape (as every adapter, [`crate::api::handler`]): `endpoint.rs` parses the request head
//! into an `Endpoint`; `apply` authorizes it (with `--files-auth required`), admits it
//! through the limits and runs one file per operation; `error.rs` is the one mapping of
//! `FilesError` to HTTP. Every answer carries `Tus-Resumable` and the CORS headers.
//! Requests with `Upload-Draft-Interop-Version` 3–8 speak Resumable Uploads for HTTP
//! instead ([`ietf`]), on the same uploads.

mod auth;
mod create;
mod delete;
mod endpoint;
mod error;
mod get;
mod head;
pub mod ietf;
mod options;
mod patch;
mod put;

use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use http::{HeaderMap, HeaderValue};
use upgate_proto::tus::TUS_VERSION;

use crate::api::cors::{CorsPolicy, Origins};
use crate::api::gate::{self, Gate};
use crate::api::handler::ApiHandler;
use crate::core::{Owner, UploadRecord, UploadService};
use crate::server::{HyperBody, Resp};
use endpoint::Endpoint;
pub use error::FilesError;

/// The `/files/` adapter.
pub struct FilesApi {
    pub service: UploadService,
    pub gate: Gate,
    pub cors: CorsPolicy,
    /// `--files-auth required`: every request needs a KS and sees only its own uploads.
    pub require_auth: bool,
}

const EXPOSE: &str = "Upload-Offset, Upload-Length, Upload-Defer-Length, Upload-Metadata, Upload-Concat, \
Upload-Expires, Location, Range, Content-Range, Tus-Version, Tus-Resumable, Tus-Max-Size, Tus-Extension, \
Tus-Checksum-Algorithm, Digest, Upload-Complete, Upload-Incomplete, Upload-Limit, Upload-Draft-Interop-Version, \
Repr-Digest";
const ALLOW_HEADERS: &str = "Authorization, Origin, X-Requested-With, X-Request-ID, X-HTTP-Method-Override, \
Content-Type, Content-Range, Upload-Length, Upload-Offset, Tus-Resumable, Upload-Metadata, Upload-Defer-Length, \
Upload-Concat, Upload-Checksum, Want-Digest, Upload-Complete, Upload-Incomplete, Upload-Draft-Interop-Version, \
Content-Disposition, Repr-Digest, Want-Repr-Digest";
const ALLOW_METHODS: &str = "POST, GET, HEAD, PATCH, PUT, DELETE, OPTIONS";

impl FilesApi {
    pub fn new(gate: Gate, origins: Origins, require_auth: bool) -> Self {
        Self {
            service: gate.service.clone(),
            gate,
            cors: CorsPolicy {
                origins,
                methods: ALLOW_METHODS,
                allow_headers: ALLOW_HEADERS,
                expose_headers: EXPOSE,
                max_age: 86400,
                always: false,
            },
            require_auth,
        }
    }

    /// With authentication on: checks the session and that it may touch the upload;
    /// returns the owner for new uploads.
    async fn authorize(&self, ep: &Endpoint, head: &Parts) -> Result<Option<Owner>, FilesError> {
        if !self.require_auth {
            return Ok(None);
        }
        let id = match ep {
            Endpoint::Options => return Ok(None),
            Endpoint::Create(_) => None,
            Endpoint::Head { id, .. }
            | Endpoint::Get { id, .. }
            | Endpoint::Delete { id }
            | Endpoint::Put { id, .. } => Some(id.as_str()),
            Endpoint::Patch(p) => Some(p.id.as_str()),
            Endpoint::Ietf(r) => r.op.id(),
        };
        let ks = auth::session(&self.gate, head).await?;
        let writes = match ep {
            Endpoint::Head { .. } | Endpoint::Get { .. } => false,
            Endpoint::Ietf(r) => !matches!(r.op, ietf::Op::Offset { .. }),
            _ => true,
        };
        if writes && ks.is_widget() {
            return Err(FilesError::Forbidden("anonymous sessions cannot upload"));
        }
        if let Some(id) = id {
            match self.service.peek(id).await? {
                Some(rec) if auth::may_see(&ks, &rec) => {}
                _ => return Err(crate::core::Error::NotFound.into()),
            }
        }
        Ok(Some(auth::owner(&ks)))
    }
}

impl ApiHandler for FilesApi {
    type Endpoint = Endpoint;
    type Error = FilesError;
    const NAME: &'static str = "files";

    fn owns(&self, path: &str) -> bool {
        path == "/files" || path.starts_with("/files/")
    }

    fn cors(&self) -> &CorsPolicy {
        &self.cors
    }

    fn body_timeout(&self) -> Duration {
        self.gate.body_timeout
    }

    fn options(&self) -> Option<Resp> {
        None // OPTIONS is the tus capability answer: parsed as an endpoint
    }

    fn parse(&self, head: &Parts) -> Result<Endpoint, FilesError> {
        endpoint::parse(&head.method, head.uri.path(), &head.headers).map_err(FilesError::Parse)
    }

    async fn apply(
        self: Arc<Self>,
        ep: Endpoint,
        head: Parts,
        mut body: HyperBody,
    ) -> Result<Resp, FilesError> {
        let owner = match self.authorize(&ep, &head).await {
            Ok(o) => o,
            Err(e) => {
                body.discard_rest().await;
                return Err(e);
            }
        };
        let writes = match &ep {
            Endpoint::Options => return Ok(options::handle(&self)),
            Endpoint::Create(c) => c.with_body,
            Endpoint::Patch(_) | Endpoint::Put { .. } => true,
            Endpoint::Ietf(r) => r.op.writes(),
            _ => false,
        };
        let subject = gate::of_owner(owner.as_ref(), &head.extensions);
        let _admitted = match self.gate.admit(&subject, writes, Some(&mut body)).await {
            Ok(a) => a,
            Err(d) => {
                body.discard_rest().await;
                return Err(FilesError::Denied(d));
            }
        };
        let out = match ep {
            Endpoint::Options => Ok(options::handle(&self)),
            Endpoint::Create(c) => create::handle(&self, c, &mut body, owner, &subject).await,
            Endpoint::Head { id, want_digest } => head::handle(&self, &id, want_digest).await,
            Endpoint::Patch(p) => patch::handle(&self, p, &mut body).await,
            Endpoint::Put { id, range } => put::handle(&self, id, range, &mut body).await,
            Endpoint::Get { id, range } => get::handle(&self, &id, range.as_deref()).await,
            Endpoint::Delete { id } => delete::handle(&self, &id).await,
            Endpoint::Ietf(r) => ietf::handle(&self, r, &head, &mut body, owner)
                .await
                .map_err(FilesError::Ietf),
        };
        if out.is_err() {
            // Read what the client is still sending, so it sees the answer.
            body.discard_rest().await;
        }
        out
    }

    fn decorate(&self, h: &mut HeaderMap) {
        h.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    }
}

/// Headers describing an upload's state (HEAD, and answers to writes).
fn state_headers(h: &mut HeaderMap, rec: &UploadRecord) {
    h.insert("upload-offset", HeaderValue::from(rec.offset));
    if let Some(ts) = expires_header(rec) {
        h.insert("upload-expires", ts);
    }
}

fn expires_header(rec: &UploadRecord) -> Option<HeaderValue> {
    if rec.expires_at == 0 || rec.status == crate::core::Status::Complete {
        return None;
    }
    let t = std::time::UNIX_EPOCH + Duration::from_secs(rec.expires_at);
    HeaderValue::from_str(&httpdate::fmt_http_date(t)).ok()
}
