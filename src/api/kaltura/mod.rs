//! Kaltura API v3 at `/api_v3/…` (and `/api/…`): sessions, `uploadToken`, media
//! entries and multi-request, byte-compatible with the official clients (spec in
//! `shared/spec/kaltura-api.md`). Every answer is HTTP 200 with the value or a
//! `KalturaAPIException` in the requested format; `X-Kaltura: error-CODE` marks errors.
//!
//! Layout: [`endpoint`] (URL forms, the typed [`endpoint::Action`]), parameters and
//! streaming file parts from [`crate::api::params`], [`call`] (session checks, typed parameters), [`dispatch`] (routing,
//! multi-request), `actions/` (one file per action), [`objects`] (serialization of
//! records), [`error`] (every error mapping).

pub mod actions;
pub mod call;
pub mod dispatch;
pub mod download;
pub mod endpoint;
pub mod error;
pub mod objects;

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::request::Parts;
use http::{HeaderValue, StatusCode};
use upgate_proto::kaltura::errors::{api_error, ErrorCode};
use upgate_proto::kaltura::format::{envelope, Format, Options};
use upgate_proto::kaltura::value::{ApiError, Value};

use crate::api::cors::{CorsPolicy, Origins};
use crate::api::gate::{self, Gate};
use crate::api::handler::{ApiHandler, WireError};
use crate::api::params;
use crate::core::UploadService;
use crate::model::now_secs;
use crate::server::{empty, full, HyperBody, Resp};
use call::Call;
use endpoint::Endpoint;
use error::{err, err1};

/// The Kaltura API v3 adapter.
pub struct KalturaApi {
    pub service: UploadService,
    pub gate: Gate,
    pub cors: CorsPolicy,
    /// How long a final positional chunk waits for the missing bytes (Kaltura: 45 s).
    pub final_chunk_wait: Duration,
    /// A PARTIAL token idle longer than this cannot be resumed (Kaltura: 7 days).
    pub max_resume_secs: i64,
}

/// Most sub-requests one multi-request may carry; each counts against the caller's
/// request rate like a request of its own.
pub const MAX_SUB_REQUESTS: usize = 100;

const EXPOSE: &str =
    "Server, Content-Length, Content-Range, Date, Retry-After, X-Kaltura, X-Kaltura-Session, X-Me";

/// A JSONP callback upgate echoes: dotted JavaScript identifiers (`cb`, `jQuery12.x`),
/// at most 128 characters; anything else is dropped (the answer is then plain JSON in
/// parentheses).
fn valid_callback(cb: &str) -> bool {
    let ident = |s: &str| {
        let mut b = s.bytes();
        b.next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c == b'$')
            && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$')
    };
    cb.len() <= 128 && cb.split('.').all(ident)
}

/// What a request can fail with before any action runs: a Kaltura error in the
/// requested format, or a format the server does not know (an empty answer that says
/// so in `X-Kaltura`).
#[derive(Debug)]
pub enum KalturaError {
    Api(ApiError, Format),
    UnknownFormat,
}

impl WireError for KalturaError {
    fn into_response(self) -> Resp {
        match self {
            KalturaError::Api(e, format) => respond(&Value::Error(e), format, &Options::default()),
            KalturaError::UnknownFormat => {
                let mut r = hyper::Response::new(empty());
                r.headers_mut().insert(
                    "x-kaltura",
                    HeaderValue::from_static("error-UNKNOWN_RESPONSE_FORMAT"),
                );
                r
            }
        }
    }

    fn internal(detail: String) -> Self {
        tracing::error!(%detail, "kaltura task failed");
        KalturaError::Api(err(ErrorCode::InternalServerError), Format::Xml)
    }
}

impl KalturaApi {
    pub fn new(
        gate: Gate,
        origins: Origins,
        final_chunk_wait: Duration,
        max_resume_secs: i64,
    ) -> Self {
        Self {
            service: gate.service.clone(),
            gate,
            cors: CorsPolicy {
                origins,
                methods: "POST, GET, HEAD, OPTIONS",
                allow_headers:
                    "Origin, X-Requested-With, Content-Type, Accept, Range, Cache-Control",
                expose_headers: EXPOSE,
                max_age: 86400,
                always: true,
            },
            final_chunk_wait,
            max_resume_secs,
        }
    }
}

impl ApiHandler for KalturaApi {
    type Endpoint = Endpoint;
    type Error = KalturaError;
    const NAME: &'static str = "kaltura";

    fn owns(&self, path: &str) -> bool {
        endpoint::is_api_path(path) || endpoint::is_download_path(path)
    }

    fn cors(&self) -> &CorsPolicy {
        &self.cors
    }

    fn body_timeout(&self) -> Duration {
        self.gate.body_timeout
    }

    fn options(&self) -> Option<Resp> {
        Some(hyper::Response::new(empty()))
    }

    fn parse(&self, head: &Parts) -> Result<Endpoint, KalturaError> {
        let path = head.uri.path();
        if endpoint::is_download_path(path) {
            return endpoint::download(path).ok_or(KalturaError::Api(
                err1(ErrorCode::EntryIdNotFound, ""),
                Format::Xml,
            ));
        }
        Ok(Endpoint::Api {
            path_pairs: endpoint::path_pairs(path),
        })
    }

    /// Reads the parameters, admits the caller, runs the call (or every sub-request of
    /// a multi-request) and answers in the requested format.
    async fn apply(
        self: Arc<Self>,
        ep: Endpoint,
        head: Parts,
        body: HyperBody,
    ) -> Result<Resp, KalturaError> {
        let path_pairs = match ep {
            Endpoint::Api { path_pairs } => path_pairs,
            Endpoint::Download {
                partner,
                entry_id,
                ks,
                name,
            } => return download::serve(&self, &head, partner, &entry_id, ks, name).await,
        };
        let started = Instant::now();
        let base = {
            let (proto, host) = crate::api::origin_of(&head.headers);
            format!("{proto}://{host}")
        };
        let query = head.uri.query();
        let (params, mut files) =
            match params::read_params(&head.headers, query, path_pairs, body).await {
                Ok(x) => x,
                Err(params::ReadError::Malformed(why)) => {
                    tracing::info!(%why, "unreadable API request");
                    let fmt = query
                        .and_then(|q| {
                            upgate_proto::form::parse_query(q)
                                .into_iter()
                                .find(|(k, _)| k == "format")
                        })
                        .and_then(|(_, v)| Format::from_param(Some(&v)))
                        .unwrap_or(Format::Xml);
                    return Err(KalturaError::Api(err(ErrorCode::UploadError), fmt));
                }
            };
        let format = Format::from_param(params.str("format")).ok_or(KalturaError::UnknownFormat)?;
        let peer = gate::peer_of(&head.extensions);
        let _admitted = match self.gate.admit_params(&head, &params, &mut files).await {
            Ok(a) => a,
            Err(d) => {
                let e = api_error(
                    ErrorCode::RequestRateExceeded,
                    &[&d.retry_after_secs().to_string()],
                );
                return Err(KalturaError::Api(e, format));
            }
        };
        let now = now_secs() as i64;
        let callback = params.str("callback").unwrap_or("").to_owned();
        let mut opts = Options {
            ignore_null: params
                .str("ignoreNull")
                .is_some_and(upgate_proto::kaltura::params::to_bool),
            callback: if valid_callback(&callback) {
                callback
            } else {
                String::new()
            },
            execution_time: 0.0,
        };
        let value = if params.str("service") == Some("multirequest") {
            let subs = dispatch::sub_requests(&params);
            if subs.len() > MAX_SUB_REQUESTS {
                files.discard_rest().await;
                let e = api_error(
                    ErrorCode::MultirequestTooLarge,
                    &[&MAX_SUB_REQUESTS.to_string()],
                );
                return Err(KalturaError::Api(e, format));
            }
            let mut results: Vec<Value> = Vec::with_capacity(subs.len());
            let mut refused = None;
            for (i, (key, mut p)) in subs.into_iter().enumerate() {
                // The first sub-request was admitted with the call; every other one
                // counts too (once one is refused, the rest are).
                if i > 0 && refused.is_none() {
                    let s = gate::of_ks(&self.gate.partners, p.str("ks"), &head.extensions);
                    refused = self.gate.limits.admit(&s).await.err();
                }
                if let Some(d) = refused {
                    let e = api_error(
                        ErrorCode::RequestRateExceeded,
                        &[&d.retry_after_secs().to_string()],
                    );
                    results.push(Value::Error(e));
                    continue;
                }
                dispatch::resolve_refs(&mut p, &results);
                let mut call = Call {
                    api: &self,
                    service: String::new(),
                    action: String::new(),
                    params: p,
                    files: &mut files,
                    file_prefix: format!("{key}:"),
                    base_url: &base,
                    now,
                    peer: &peer,
                    path: head.uri.path(),
                    served: None,
                };
                results.push(
                    dispatch::run_one(&mut call)
                        .await
                        .unwrap_or_else(Value::Error),
                );
            }
            Value::Array(results)
        } else {
            let mut call = Call {
                api: &self,
                service: String::new(),
                action: String::new(),
                params,
                files: &mut files,
                file_prefix: String::new(),
                base_url: &base,
                now,
                peer: &peer,
                path: head.uri.path(),
                served: None,
            };
            let value = dispatch::run_one(&mut call)
                .await
                .unwrap_or_else(Value::Error);
            if let Some((ctype, text)) = call.served.take() {
                drop(call);
                files.discard_rest().await;
                let mut r = hyper::Response::new(full(text));
                r.headers_mut()
                    .insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ctype));
                return Ok(r);
            }
            value
        };
        files.discard_rest().await;
        opts.execution_time = started.elapsed().as_secs_f64();
        Ok(respond(&value, format, &opts))
    }
}

/// HTTP 200 with the envelope; `X-Kaltura: error-CODE` when the value is an error.
pub fn respond(value: &Value, format: Format, opts: &Options) -> Resp {
    let body = envelope(value, format, opts);
    let mut r = hyper::Response::new(full(body));
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert("x-me", HeaderValue::from_static("upgate"));
    if let Value::Error(e) = value {
        if let Ok(v) = HeaderValue::from_str(&format!("error-{}", e.code)) {
            h.insert("x-kaltura", v);
        }
        if e.is(ErrorCode::ServiceUnavailable) {
            // A dependency (state store, storage) is away: worth retrying soon.
            h.insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if e.is(ErrorCode::RequestRateExceeded) {
            let secs = e.args.first().map_or("1", |(_, v)| v.as_str());
            if let Ok(v) = HeaderValue::from_str(secs) {
                h.insert(http::header::RETRY_AFTER, v);
            }
        }
    }
    r
}
