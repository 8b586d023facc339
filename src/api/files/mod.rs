//! The native resumable protocol at `/files/`: tus 1.0 (core, creation,
//! creation-with-upload, creation-defer-length, termination, checksum, expiration,
//! concatenation) plus ranged `PUT` with `Content-Range`, and `GET` downloads.
//!
//! Every answer carries `Tus-Resumable` and the CORS headers; errors are short plain
//! text with the status `error.rs` chooses.

mod auth;
mod create;
mod delete;
mod endpoint;
mod error;
mod get;
mod head;
mod options;
mod patch;
mod put;

use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method};
use hyper::body::Incoming;
use upgate_proto::tus::TUS_VERSION;

use crate::api::limit;
use crate::core::record::UploadRecord;
use crate::core::UploadService;
use crate::ratelimit::Subject;
use crate::server::{HyperBody, Req, Resp};
use endpoint::Endpoint;

/// Allowed origins for browsers.
#[derive(Debug, Clone)]
pub enum Cors {
    /// `*`: any origin (no credentials).
    Any,
    /// Only these origins (echoed back, with credentials allowed).
    List(Vec<String>),
}

/// Settings of the `/files/` adapter.
#[derive(Clone)]
pub struct FilesApi {
    pub service: UploadService,
    /// Per-frame body read timeout.
    pub body_timeout: Duration,
    pub cors: Cors,
    /// When set (`--files-auth required`), every request needs a KS of these partners
    /// and sees only its own uploads.
    pub auth: Option<std::sync::Arc<crate::auth::Partners>>,
    /// Request rate, bandwidth and concurrency limits.
    pub limits: crate::ratelimit::Limits,
}

const EXPOSE: &str = "Upload-Offset, Upload-Length, Upload-Defer-Length, Upload-Metadata, Upload-Concat, \
Upload-Expires, Location, Range, Content-Range, Tus-Version, Tus-Resumable, Tus-Max-Size, Tus-Extension, \
Tus-Checksum-Algorithm, Digest";
const ALLOW_HEADERS: &str = "Authorization, Origin, X-Requested-With, X-Request-ID, X-HTTP-Method-Override, \
Content-Type, Content-Range, Upload-Length, Upload-Offset, Tus-Resumable, Upload-Metadata, Upload-Defer-Length, \
Upload-Concat, Upload-Checksum, Want-Digest";
const ALLOW_METHODS: &str = "POST, GET, HEAD, PATCH, PUT, DELETE, OPTIONS";

impl FilesApi {
    /// Handles one request under `/files`.
    pub async fn handle(&self, req: Req) -> Resp {
        let origin = req.headers().get(http::header::ORIGIN).cloned();
        let preflight = req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD);
        let (parts, body) = req.into_parts();
        let mut resp = match endpoint::parse(&parts.method, parts.uri.path(), &parts.headers) {
            Err(e) => {
                // Read what the client is still sending, so it sees the answer.
                self.body(body).drain().await;
                error::parse_failure(e)
            }
            Ok(ep) => match self.authorize(&ep, &parts.headers, parts.uri.query()).await {
                Ok(owner) => {
                    let subject = limit::of_owner(owner.as_ref(), &parts.extensions);
                    self.limited(ep, body, owner, subject).await
                }
                Err(r) => {
                    self.body(body).drain().await;
                    r
                }
            },
        };
        let h = resp.headers_mut();
        h.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
        self.cors_headers(h, origin.as_ref(), preflight);
        resp
    }

    /// With authentication on: checks the session and that it may touch the upload;
    /// returns the owner for new uploads.
    async fn authorize(
        &self,
        ep: &Endpoint,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<Option<crate::core::Owner>, Resp> {
        let Some(partners) = &self.auth else {
            return Ok(None);
        };
        let id = match ep {
            Endpoint::Options => return Ok(None),
            Endpoint::Create(_) => None,
            Endpoint::Head { id, .. }
            | Endpoint::Get { id, .. }
            | Endpoint::Delete { id }
            | Endpoint::Put { id, .. } => Some(id.clone()),
            Endpoint::Patch(p) => Some(p.id.clone()),
        };
        let ks = auth::session(partners, &self.service, headers, query).await?;
        let writes = !matches!(ep, Endpoint::Head { .. } | Endpoint::Get { .. });
        if writes && ks.is_widget() {
            return Err(crate::api::plain(
                http::StatusCode::FORBIDDEN,
                "anonymous sessions cannot upload\n",
            ));
        }
        if let Some(id) = id {
            match self.service.peek(&id).await {
                Ok(Some(rec)) if auth::may_see(&ks, &rec) => {}
                Ok(_) => return Err(error::core_error(&crate::core::Error::NotFound)),
                Err(e) => return Err(error::core_error(&e)),
            }
        }
        Ok(Some(auth::owner(&ks)))
    }

    /// Applies the subject's limits (request rate, uploads in flight, bandwidth), then
    /// dispatches.
    async fn limited(
        &self,
        ep: Endpoint,
        body: Incoming,
        owner: Option<crate::core::Owner>,
        subject: Subject,
    ) -> Resp {
        let mut body = self.body(body);
        if matches!(ep, Endpoint::Options) {
            return self.dispatch(ep, body, owner).await;
        }
        let writes = match &ep {
            Endpoint::Create(c) => c.with_body,
            Endpoint::Patch(_) | Endpoint::Put { .. } => true,
            _ => false,
        };
        match self.limits.admit_request(&subject, writes).await {
            Err(d) => {
                body.drain().await;
                limit::too_many(d)
            }
            Ok(mut admitted) => {
                body.set_pacer(admitted.pacer.take());
                self.dispatch(ep, body, owner).await
            }
        }
    }

    async fn dispatch(
        &self,
        ep: Endpoint,
        body: HyperBody,
        owner: Option<crate::core::Owner>,
    ) -> Resp {
        match ep {
            Endpoint::Options => options::handle(self),
            Endpoint::Create(c) => create::handle(self, c, body, owner).await,
            Endpoint::Head { id, want_digest } => head::handle(self, &id, want_digest).await,
            Endpoint::Patch(p) => patch::handle(self, p, body).await,
            Endpoint::Put { id, range } => put::handle(self, id, range, body).await,
            Endpoint::Get { id, range } => get::handle(self, &id, range.as_deref()).await,
            Endpoint::Delete { id } => delete::handle(self, &id).await,
        }
    }

    fn body(&self, body: Incoming) -> HyperBody {
        HyperBody::new(body, self.body_timeout)
    }

    fn cors_headers(&self, h: &mut HeaderMap, origin: Option<&HeaderValue>, preflight: bool) {
        let Some(origin) = origin else { return };
        match &self.cors {
            Cors::Any => {
                h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
            }
            Cors::List(list) => {
                if !list.iter().any(|o| origin.as_bytes() == o.as_bytes()) {
                    return;
                }
                h.insert("access-control-allow-origin", origin.clone());
                h.insert(
                    "access-control-allow-credentials",
                    HeaderValue::from_static("true"),
                );
                h.insert("vary", HeaderValue::from_static("Origin"));
            }
        }
        if preflight {
            h.insert(
                "access-control-allow-methods",
                HeaderValue::from_static(ALLOW_METHODS),
            );
            h.insert(
                "access-control-allow-headers",
                HeaderValue::from_static(ALLOW_HEADERS),
            );
            h.insert("access-control-max-age", HeaderValue::from_static("86400"));
        } else {
            h.insert(
                "access-control-expose-headers",
                HeaderValue::from_static(EXPOSE),
            );
        }
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
