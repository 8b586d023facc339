//! The legacy `partnerservices2` (PS2) endpoints Canvas's k5uploader speaks (spec §8):
//! `getuiconf` (uploader configuration), `upload` (one whole file in a multipart
//! request, streamed to storage) and `addEntry` (a media entry from that file, found by
//! the same session and the client's file id). Answers are PS2 XML with an `<error>`
//! block; CORS on every answer.

mod add_entry;
mod error;
mod getuiconf;
mod upload;

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Method, StatusCode};
use upgate_proto::kaltura::format::xml_escape;
use upgate_proto::kaltura::ks::Ks;
use upgate_proto::kaltura::params::Params;

use crate::api::kaltura::request::{read_params, Files};
use crate::auth::session::{verify_session, SessionError};
use crate::auth::{KsFailure, Partners};
use crate::core::record::now_secs;
use crate::core::UploadService;
use crate::server::{empty, full, Req, Resp};
use error::Ps2Error;

/// Settings of the PS2 adapter.
#[derive(Clone)]
pub struct Ps2Api {
    pub service: UploadService,
    pub partners: Arc<Partners>,
    pub body_timeout: Duration,
    /// Request rate, bandwidth and concurrency limits.
    pub limits: crate::ratelimit::Limits,
}

/// Documents of this kind remember an uploaded file for `addEntry`.
pub const UPLOADED: &str = "ps2-file";

/// True for PS2 paths (`/index.php/partnerservices2/ACTION`).
pub fn is_ps2_path(path: &str) -> bool {
    path.trim_start_matches('/')
        .to_ascii_lowercase()
        .starts_with("index.php/partnerservices2/")
}

/// The action of a PS2 path: case-insensitive, `_` removed.
fn action_of(path: &str) -> String {
    path.trim_start_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
        .replace('_', "")
}

/// One `<name>value</name>` element, escaped.
pub fn el(name: &str, value: &str) -> String {
    let mut s = format!("<{name}>");
    xml_escape(&mut s, value);
    s.push_str(&format!("</{name}>"));
    s
}

fn respond(result: &str, err: Option<&Ps2Error>) -> Resp {
    let error = err.map_or_else(String::new, |e| {
        format!(
            "<num_0>{}{}</num_0>",
            el("code", e.code()),
            el("desc", &e.desc())
        )
    });
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><xml><result>{result}<serverTime>{}</serverTime></result><error>{error}</error><debug></debug></xml>",
        now_secs()
    );
    let mut r = hyper::Response::new(full(body));
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    r
}

/// A PS2 call: merged GET+POST parameters and the file parts.
pub struct Call<'a> {
    pub api: &'a Ps2Api,
    pub params: Params,
    pub files: Files,
}

impl Call<'_> {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.params.str(name).filter(|s| !s.is_empty())
    }

    /// The caller's verified session (PS2 texts for failures).
    pub async fn session(&self) -> Result<Ks, Ps2Error> {
        let text = self.str("ks").ok_or(Ps2Error::MissingKs)?;
        let ks = verify_session(
            &self.api.partners,
            &self.api.service,
            text,
            now_secs() as i64,
        )
        .await
        .map_err(|e| match e {
            SessionError::Ks(why) => Ps2Error::InvalidKs(text.to_owned(), why),
            SessionError::Unavailable(e) => Ps2Error::Internal(e.to_string()),
        })?;
        if let Some(pid) = self.str("partner_id").or(self.str("partnerId")) {
            if pid.parse::<i64>().ok() != Some(ks.partner_id) {
                return Err(Ps2Error::InvalidKs(text.to_owned(), KsFailure::Invalid));
            }
        }
        Ok(ks)
    }
}

impl Ps2Api {
    /// Serves one PS2 request (in its own task: an upload must not be cancelled by a
    /// hangup half-way).
    pub async fn handle(&self, req: Req) -> Resp {
        if req.method() == Method::OPTIONS {
            let mut r = hyper::Response::new(empty());
            let h = r.headers_mut();
            h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
            h.insert(
                "access-control-allow-methods",
                HeaderValue::from_static("GET, POST, OPTIONS"),
            );
            h.insert(
                "access-control-allow-headers",
                HeaderValue::from_static("Content-Type, X-Requested-With"),
            );
            return r;
        }
        let api = self.clone();
        match tokio::spawn(async move { api.serve(req).await }).await {
            Ok(r) => r,
            Err(e) => respond("", Some(&Ps2Error::Internal(e.to_string()))),
        }
    }

    async fn serve(self, req: Req) -> Resp {
        let action = action_of(req.uri().path());
        let query = req.uri().query().map(str::to_owned);
        let (parts, body) = req.into_parts();
        let (params, files) = match read_params(
            &parts.headers,
            query.as_deref(),
            Vec::new(),
            body,
            self.body_timeout,
        )
        .await
        {
            Ok(x) => x,
            Err(_) => return respond("", Some(&Ps2Error::BadRequest)),
        };
        let mut files = files;
        let subject = crate::api::limit::of_ks(
            &self.partners,
            params.str("ks"),
            now_secs() as i64,
            &parts.extensions,
        );
        let mut admitted = match self
            .limits
            .admit_request(&subject, files.next_name().is_some())
            .await
        {
            Ok(a) => a,
            Err(d) => {
                files.drain().await;
                let mut r = respond("", Some(&Ps2Error::RateLimited(d.retry_after_secs())));
                r.headers_mut().insert(
                    http::header::RETRY_AFTER,
                    HeaderValue::from(d.retry_after_secs()),
                );
                return r;
            }
        };
        files.set_pacer(admitted.pacer.take());
        let mut call = Call {
            api: &self,
            params,
            files,
        };
        let out = match action.as_str() {
            "getuiconf" => getuiconf::run(&call).await,
            "upload" => upload::run(&mut call).await,
            "addentry" => add_entry::run(&call).await,
            _ => Err(Ps2Error::UnknownAction(action.clone())),
        };
        call.files.drain().await;
        match out {
            Ok(result) => respond(&result, None),
            Err(e) => {
                if let Ps2Error::Internal(detail) = &e {
                    tracing::error!(%detail, "ps2 internal error");
                }
                respond("", Some(&e))
            }
        }
    }
}
