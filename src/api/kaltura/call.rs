//! One API call being served: its parameters, the file parts it may consume, the
//! session check, and typed parameter access with PHP's coercions (spec §1.5).

use upgate_proto::kaltura::errors::ErrorCode;
use upgate_proto::kaltura::ks::Ks;
use upgate_proto::kaltura::params::{to_bool, to_float, to_int, Param, Params};

use super::error::{err, forbidden, invalid_ks, missing, KResult};
use super::objects::attr;
use super::KalturaApi;
use crate::api::params::{FilePart, Files};
use crate::auth::privileges::RequestContext;
use crate::auth::session::SessionError;
use crate::core::UploadRecord;

pub struct Call<'a> {
    pub api: &'a KalturaApi,
    pub service: String,
    pub action: String,
    pub params: Params,
    pub files: &'a mut Files,
    /// `""`, or `"N:"` inside a multi-request (file parts are named `N:fileData`).
    pub file_prefix: String,
    pub base_url: &'a str,
    pub now: i64,
    /// The peer's address (failed `session.start` attempts are counted per address).
    pub peer: &'a str,
    /// The request path (for `urirestrict`).
    pub path: &'a str,
    /// A file an action serves instead of an envelope (`serve` actions): its content
    /// type and text.
    pub served: Option<(&'static str, String)>,
}

impl Call<'_> {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.params.str(name)
    }

    pub fn required(&self, name: &str) -> KResult<&str> {
        match self.params.get(name) {
            Some(Param::Str(s)) => Ok(s),
            _ => Err(missing(name)),
        }
    }

    pub fn bool_or(&self, name: &str, default: bool) -> bool {
        self.str(name).map_or(default, to_bool)
    }

    pub fn float_or(&self, name: &str, default: f64) -> f64 {
        self.str(name).map_or(default, to_float)
    }

    pub fn int_or(&self, name: &str, default: i64) -> i64 {
        self.str(name).map_or(default, to_int)
    }

    pub fn obj(&self, name: &str) -> Option<&Params> {
        self.params.obj(name)
    }

    /// The caller's verified session. No KS: `MISSING_KS` (or `SERVICE_FORBIDDEN` when a
    /// partner id was given); a KS of another partner than `partnerId`: forbidden.
    pub async fn session(&self) -> KResult<Ks> {
        let Some(text) = self.str("ks").filter(|s| !s.trim().is_empty()) else {
            return Err(match self.str("partnerId") {
                Some(_) => forbidden(&self.service, &self.action),
                None => err(ErrorCode::MissingKs),
            });
        };
        let ctx = RequestContext {
            peer: self.peer,
            path: self.path,
        };
        let ks = self
            .api
            .gate
            .session(text, &ctx)
            .await
            .map_err(|e| match e {
                SessionError::Ks(why) => invalid_ks(text, &why),
                SessionError::Unavailable(e) => super::error::from_core(e),
            })?;
        if let Some(pid) = self
            .str("partnerId")
            .or(self.str("p"))
            .filter(|p| !p.is_empty())
        {
            if to_int(pid) != ks.partner_id {
                return Err(forbidden(&self.service, &self.action));
            }
        }
        Ok(ks)
    }

    /// A session that may write (not a widget/anonymous one).
    pub async fn writer_session(&self) -> KResult<Ks> {
        let ks = self.session().await?;
        if ks.is_widget() {
            return Err(forbidden(&self.service, &self.action));
        }
        Ok(ks)
    }

    /// Takes the file parameter `name` (multipart part with a filename). `Ok(None)` when
    /// the request has no such parameter at all.
    pub async fn take_file(&mut self, name: &str) -> KResult<Option<FilePart>> {
        let part_name = format!("{}{name}", self.file_prefix);
        match self.files.take(&part_name) {
            Some(part) => Ok(Some(part)),
            // A plain form field of that name is not a file.
            None if self.params.get(name).is_some() => {
                tracing::info!(part = %part_name, next = ?self.files.next_name(), "file parameter is not a file part");
                Err(err(ErrorCode::UploadError))
            }
            None => Ok(None),
        }
    }

    /// Gives a consumed file part back so the next file part can be read.
    pub async fn done_with(&mut self, part: FilePart) {
        self.files.resume(part).await;
    }

    /// An upload token the session may see: same partner, and the same user unless the
    /// KS is an admin KS. Anything else is `UPLOAD_TOKEN_NOT_FOUND`.
    pub async fn visible_token(&self, ks: &Ks, id: &str) -> KResult<UploadRecord> {
        let not_found = || err(ErrorCode::UploadTokenNotFound);
        let rec = match self.api.service.peek(id).await {
            Ok(Some(r)) => r,
            Ok(None) => return Err(not_found()),
            Err(e) => return Err(super::error::from_core(e)),
        };
        if !rec.attrs.contains_key(attr::TOKEN) {
            return Err(not_found());
        }
        let owner = rec.owner.as_ref().ok_or_else(not_found)?;
        if owner.partner != ks.partner_id || (!ks.is_admin() && owner.user != ks.user) {
            return Err(not_found());
        }
        Ok(rec)
    }
}

/// One page of `items` as a `KalturaFilterPager` asks (`pageSize` default 30, clamped
/// to 0…500; `pageIndex` from 1), and the total count.
pub fn page<T>(items: Vec<T>, pager: Option<&Params>) -> (Vec<T>, usize) {
    let size = pager
        .and_then(|p| p.str("pageSize"))
        .map_or(30, to_int)
        .clamp(0, 500) as usize;
    let index = pager
        .and_then(|p| p.str("pageIndex"))
        .map_or(1, to_int)
        .max(1) as usize;
    let total = items.len();
    let page = items
        .into_iter()
        .skip((index - 1).saturating_mul(size))
        .take(size)
        .collect();
    (page, total)
}
