//! Kaltura's download URLs, `/p/PID/sp/PID00/download/entry_id/ID/flavor/FID/ks/KS/
//! relocate/NAME`: the entry's original file, with `Range`, for a session that may read
//! the entry (its own, shared, published, or a `download:ID` privilege — what the media
//! sources of Canvas's media objects carry). Failures answer as the API does (XML
//! envelope); an entry the session cannot see is `ENTRY_ID_NOT_FOUND`.

use http::request::Parts;
use upgate_proto::kaltura::errors::ErrorCode;
use upgate_proto::kaltura::format::Format;

use super::error::{err, err1, from_core, invalid_ks};
use super::{KalturaApi, KalturaError};
use crate::api::download::{self, Download};
use crate::api::gate;
use crate::auth::privileges;
use crate::auth::session::SessionError;
use crate::model::entry::{Access, Verdict};
use crate::server::Resp;

fn api(e: upgate_proto::kaltura::value::ApiError) -> KalturaError {
    KalturaError::Api(e, Format::Xml)
}

pub async fn serve(
    k: &KalturaApi,
    head: &Parts,
    partner: i64,
    entry_id: &str,
    ks: Option<String>,
    name: Option<String>,
) -> Result<Resp, KalturaError> {
    let text = ks
        .or_else(|| {
            head.uri
                .query()
                .map(upgate_proto::form::parse_query)
                .and_then(|q| q.into_iter().find(|(k, _)| k == "ks").map(|(_, v)| v))
        })
        .ok_or_else(|| api(err(ErrorCode::MissingKs)))?;
    let peer = gate::peer_of(&head.extensions);
    let ks = k
        .gate
        .session(&text, &gate::context(&peer, head))
        .await
        .map_err(|e| match e {
            SessionError::Ks(why) => api(invalid_ks(&text, &why)),
            SessionError::Unavailable(e) => api(from_core(e)),
        })?;
    let not_found = || api(err1(ErrorCode::EntryIdNotFound, entry_id));
    if ks.partner_id != partner {
        return Err(not_found());
    }
    let e = k
        .service
        .get_entry(entry_id)
        .await
        .map_err(|e| api(from_core(e)))?
        .filter(|e| e.partner == partner)
        .ok_or_else(not_found)?;
    let granted = |privs: &[&str]| privs.iter().any(|p| privileges::grants(&ks, p, entry_id));
    if !ks.is_admin() && e.verdict(&ks.user, Access::Read, granted) != Verdict::Allowed {
        return Err(not_found());
    }
    let upload = e.upload_id.as_deref().ok_or_else(not_found)?;
    let rec = k
        .service
        .status(upload)
        .await
        .map_err(|e| api(from_core(e)))?;
    let ctype = match rec.media().map(|m| m.content_type) {
        Some(t) if t == "video/mp4" => "video/mp4",
        Some(t) if t == "video/quicktime" => "video/quicktime",
        Some(t) if t == "audio/mp4" => "audio/mp4",
        _ => "application/octet-stream",
    };
    let file = e.file_name.clone().or(name);
    let range = head
        .headers
        .get(http::header::RANGE)
        .and_then(|v| v.to_str().ok());
    download::serve(&k.service, &rec, range, file.as_deref(), ctype)
        .await
        .map_err(|d| match d {
            Download::Core(e) => api(from_core(e)),
            Download::Unsatisfiable { .. } => api(err(ErrorCode::UploadError)),
        })
}
