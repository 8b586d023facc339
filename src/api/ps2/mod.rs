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

use http::request::Parts;
use http::{HeaderValue, StatusCode};
use upgate_proto::kaltura::format::xml_escape;
use upgate_proto::kaltura::ks::Ks;
use upgate_proto::kaltura::params::Params;

use crate::api::cors::{CorsPolicy, Origins};
use crate::api::gate::{self, Gate};
use crate::api::handler::{ApiHandler, WireError};
use crate::api::params::{read_params, Files};
use crate::auth::privileges::RequestContext;
use crate::auth::session::SessionError;
use crate::auth::KsFailure;
use crate::core::UploadService;
use crate::model::now_secs;
use crate::server::{empty, full, HyperBody, Resp};
pub use error::Ps2Error;

/// The PS2 adapter.
pub struct Ps2Api {
    pub service: UploadService,
    pub gate: Gate,
    pub cors: CorsPolicy,
}

/// Documents of this kind remember an uploaded file for `addEntry`.
pub const UPLOADED: &str = "ps2-file";

/// The PS2 actions upgate serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    GetUiConf,
    Upload,
    AddEntry,
}

/// True for PS2 paths (`/index.php/partnerservices2/ACTION`).
pub fn is_ps2_path(path: &str) -> bool {
    path.trim_start_matches('/')
        .to_ascii_lowercase()
        .starts_with("index.php/partnerservices2/")
}

/// The action of a PS2 path: case-insensitive, `_` removed.
fn parse(path: &str) -> Result<Endpoint, Ps2Error> {
    let action = path
        .trim_start_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
        .replace('_', "");
    match action.as_str() {
        "getuiconf" => Ok(Endpoint::GetUiConf),
        "upload" => Ok(Endpoint::Upload),
        "addentry" => Ok(Endpoint::AddEntry),
        _ => Err(Ps2Error::UnknownAction(action)),
    }
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
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    r
}

impl WireError for Ps2Error {
    fn into_response(self) -> Resp {
        match &self {
            Ps2Error::Internal(detail) => tracing::error!(%detail, "ps2 internal error"),
            Ps2Error::Unavailable(detail) => tracing::warn!(%detail, "dependency unavailable"),
            _ => {}
        }
        let mut r = respond("", Some(&self));
        let retry = match self {
            Ps2Error::RateLimited(secs) => Some(secs),
            Ps2Error::Unavailable(_) => Some(1),
            _ => None,
        };
        if let Some(secs) = retry {
            r.headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    }

    fn internal(detail: String) -> Self {
        Ps2Error::Internal(detail)
    }
}

/// A PS2 call: merged GET+POST parameters and the file parts.
pub struct Call<'a> {
    pub api: &'a Ps2Api,
    pub params: Params,
    pub files: Files,
    /// Where the request came from and its path (the session's restrictions).
    pub peer: String,
    pub path: String,
}

impl Call<'_> {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.params.str(name).filter(|s| !s.is_empty())
    }

    /// The caller's verified session (PS2 texts for failures).
    pub async fn session(&self) -> Result<Ks, Ps2Error> {
        let text = self.str("ks").ok_or(Ps2Error::MissingKs)?;
        let ctx = RequestContext {
            peer: &self.peer,
            path: &self.path,
        };
        let ks = self
            .api
            .gate
            .session(text, &ctx)
            .await
            .map_err(|e| match e {
                SessionError::Ks(why) => Ps2Error::InvalidKs(text.to_owned(), why),
                SessionError::Unavailable(e) => e.into(),
            })?;
        if let Some(pid) = self.str("partner_id").or(self.str("partnerId")) {
            if pid.parse::<i64>().ok() != Some(ks.partner_id) {
                return Err(Ps2Error::InvalidKs(text.to_owned(), KsFailure::Invalid));
            }
        }
        Ok(ks)
    }

    /// A session that may upload: not a widget (anonymous) one.
    pub async fn writer_session(&self, action: &'static str) -> Result<Ks, Ps2Error> {
        let ks = self.session().await?;
        if ks.is_widget() {
            return Err(Ps2Error::Forbidden(action));
        }
        Ok(ks)
    }
}

impl Ps2Api {
    pub fn new(gate: Gate, origins: Origins) -> Self {
        Self {
            service: gate.service.clone(),
            gate,
            cors: CorsPolicy {
                origins,
                methods: "GET, POST, OPTIONS",
                allow_headers: "Content-Type, X-Requested-With",
                expose_headers: "",
                max_age: 0,
                always: true,
            },
        }
    }
}

impl ApiHandler for Ps2Api {
    type Endpoint = Endpoint;
    type Error = Ps2Error;
    const NAME: &'static str = "ps2";

    fn owns(&self, path: &str) -> bool {
        is_ps2_path(path)
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

    fn parse(&self, head: &Parts) -> Result<Endpoint, Ps2Error> {
        parse(head.uri.path())
    }

    async fn apply(
        self: Arc<Self>,
        ep: Endpoint,
        head: Parts,
        body: HyperBody,
    ) -> Result<Resp, Ps2Error> {
        let (params, mut files) = read_params(&head.headers, head.uri.query(), Vec::new(), body)
            .await
            .map_err(|_| Ps2Error::BadRequest)?;
        let _admitted = self
            .gate
            .admit_params(&head, &params, &mut files)
            .await
            .map_err(|d| Ps2Error::RateLimited(d.retry_after_secs()))?;
        let mut call = Call {
            api: &self,
            params,
            files,
            peer: gate::peer_of(&head.extensions),
            path: head.uri.path().to_owned(),
        };
        let out = match ep {
            Endpoint::GetUiConf => getuiconf::run(&call).await,
            Endpoint::Upload => upload::run(&mut call).await,
            Endpoint::AddEntry => add_entry::run(&call).await,
        };
        call.files.discard_rest().await;
        out.map(|result| respond(&result, None))
    }
}
