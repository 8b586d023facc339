//! Kaltura API v3 at `/api_v3/…` (and `/api/…`): sessions, `uploadToken`, media
//! entries and multi-request, byte-compatible with the official clients (spec in
//! `shared/spec/kaltura-api.md`). Every answer is HTTP 200 with the value or a
//! `KalturaAPIException` in the requested format; `X-Kaltura: error-CODE` marks errors.
//!
//! Layout: [`endpoint`] (URL forms), [`request`] (parameters and streaming file
//! parts), [`call`] (session checks, typed parameters), [`dispatch`] (routing,
//! multi-request), `actions/` (one file per action), [`objects`] (serialization of
//! records), [`error`] (every error mapping).

pub mod actions;
pub mod call;
pub mod dispatch;
pub mod endpoint;
pub mod error;
pub mod objects;
pub mod request;

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderValue, Method, StatusCode};
use upgate_proto::kaltura::errors::api_error;
use upgate_proto::kaltura::format::{envelope, Format, Options};
use upgate_proto::kaltura::value::Value;

use crate::auth::Partners;
use crate::core::record::now_secs;
use crate::core::UploadService;
use crate::server::{empty, full, Req, Resp};
use call::Call;
use error::err;

/// Settings of the Kaltura adapter.
#[derive(Clone)]
pub struct KalturaApi {
    pub service: UploadService,
    pub partners: Arc<Partners>,
    /// How long a final positional chunk waits for the missing bytes (Kaltura: 45 s).
    pub final_chunk_wait: Duration,
    /// A PARTIAL token idle longer than this cannot be resumed (Kaltura: 7 days).
    pub max_resume_secs: i64,
    /// Per-frame body read timeout.
    pub body_timeout: Duration,
    /// Request rate, bandwidth and concurrency limits.
    pub limits: crate::ratelimit::Limits,
}

const EXPOSE: &str =
    "Server, Content-Length, Content-Range, Date, Retry-After, X-Kaltura, X-Kaltura-Session, X-Me";

fn base_url(req: &Req) -> String {
    let (proto, host) = crate::api::origin_of(req);
    format!("{proto}://{host}")
}

fn valid_callback(cb: &str) -> bool {
    cb.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

impl KalturaApi {
    /// Serves one request. The work runs in its own task: a client hangup in the middle
    /// of a chunk cannot cancel the storage write.
    pub async fn handle(&self, req: Req) -> Resp {
        if req.method() == Method::OPTIONS {
            let mut r = hyper::Response::new(empty());
            let h = r.headers_mut();
            h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
            h.insert(
                "access-control-allow-headers",
                HeaderValue::from_static(
                    "Origin, X-Requested-With, Content-Type, Accept, Range, Cache-Control",
                ),
            );
            h.insert(
                "access-control-allow-methods",
                HeaderValue::from_static("POST, GET, HEAD, OPTIONS"),
            );
            h.insert("access-control-max-age", HeaderValue::from_static("86400"));
            return r;
        }
        let api = self.clone();
        match tokio::spawn(async move { api.serve(req).await }).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "kaltura task failed");
                respond(
                    &Value::Error(err("INTERNAL_SERVERL_ERROR")),
                    Format::Xml,
                    &Options::default(),
                )
            }
        }
    }

    async fn serve(self, req: Req) -> Resp {
        let started = Instant::now();
        let base = base_url(&req);
        let pairs = endpoint::path_pairs(req.uri().path());
        let query = req.uri().query().map(str::to_owned);
        let (parts, body) = req.into_parts();
        let read = request::read_params(
            &parts.headers,
            query.as_deref(),
            pairs,
            body,
            self.body_timeout,
        )
        .await;
        let (params, mut files) = match read {
            Ok(x) => x,
            Err(request::ReadError::Malformed(why)) => {
                tracing::info!(%why, "unreadable API request");
                let fmt = query
                    .as_deref()
                    .and_then(|q| {
                        upgate_proto::kaltura::ks::parse_query(q)
                            .into_iter()
                            .find(|(k, _)| k == "format")
                    })
                    .and_then(|(_, v)| Format::from_param(Some(&v)))
                    .unwrap_or(Format::Xml);
                return respond(&Value::Error(err("UPLOAD_ERROR")), fmt, &Options::default());
            }
        };
        let Some(format) = Format::from_param(params.str("format")) else {
            let mut r = hyper::Response::new(empty());
            r.headers_mut().insert(
                "x-kaltura",
                HeaderValue::from_static("error-UNKNOWN_RESPONSE_FORMAT"),
            );
            cors(&mut r);
            return r;
        };
        let now = now_secs() as i64;
        let subject =
            crate::api::limit::of_ks(&self.partners, params.str("ks"), now, &parts.extensions);
        let mut admitted = match self
            .limits
            .admit_request(&subject, files.next_name().is_some())
            .await
        {
            Ok(a) => a,
            Err(d) => {
                files.drain().await;
                let e = api_error(
                    "REQUEST_RATE_EXCEEDED",
                    &[&d.retry_after_secs().to_string()],
                );
                return respond(&Value::Error(e), format, &Options::default());
            }
        };
        files.set_pacer(admitted.pacer.take());
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
            let mut results: Vec<Value> = Vec::with_capacity(subs.len());
            for (key, mut p) in subs {
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
            };
            dispatch::run_one(&mut call)
                .await
                .unwrap_or_else(Value::Error)
        };
        files.drain().await;
        opts.execution_time = started.elapsed().as_secs_f64();
        respond(&value, format, &opts)
    }
}

fn cors(r: &mut Resp) {
    let h = r.headers_mut();
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "access-control-expose-headers",
        HeaderValue::from_static(EXPOSE),
    );
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
        if e.code == "SERVICE_UNAVAILABLE" {
            // A dependency (state store, storage) is away: worth retrying soon.
            h.insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if e.code == "REQUEST_RATE_EXCEEDED" {
            let secs = e.args.first().map_or("1", |(_, v)| v.as_str());
            if let Ok(v) = HeaderValue::from_str(secs) {
                h.insert(http::header::RETRY_AFTER, v);
            }
        }
    }
    cors(&mut r);
    r
}
