//! `uploadToken.list` (spec §4.3): the session's tokens (an admin KS sees the
//! partner's), filtered and paged.

use upgate_proto::kaltura::params::{to_float, to_int, Params};
use upgate_proto::kaltura::value::Value;

use crate::api::kaltura::call::{page, Call};
use crate::api::kaltura::error::{from_core, KResult};
use crate::api::kaltura::objects::{attr, list, token, token_status, updated_at};
use crate::core::UploadRecord;
use crate::model::ListFilter;

/// Seven days: `fileNameEqual` with `statusEqual=1` hides tokens idle longer.
const STALE: i64 = 7 * 86_400;

fn matches(rec: &UploadRecord, f: &Params, now: i64) -> bool {
    let status = token_status(rec);
    let list_has = |key: &str, v: &str| {
        f.str(key)
            .is_none_or(|l| l.split(',').any(|x| x.trim() == v))
    };
    if f.str("idEqual").is_some_and(|v| v != rec.id) || !list_has("idIn", &rec.id) {
        return false;
    }
    if f.str("userIdEqual")
        .is_some_and(|u| rec.owner.as_ref().is_none_or(|o| o.user != u))
    {
        return false;
    }
    let mut status_in = f.str("statusIn").map(str::to_owned);
    if f.str("fileNameEqual").is_some() && f.str("statusEqual").is_none() && status_in.is_none() {
        status_in = Some("0,1,2".into());
    }
    if f.str("statusEqual").is_some_and(|s| to_int(s) != status) {
        return false;
    }
    if status_in.is_some_and(|l| !l.split(',').any(|x| to_int(x) == status)) {
        return false;
    }
    if let Some(name) = f.str("fileNameEqual") {
        if rec.attrs.get(attr::FILE_NAME).map(String::as_str) != Some(name) {
            return false;
        }
        if f.str("statusEqual").is_some_and(|s| to_int(s) == 1) && updated_at(rec) < now - STALE {
            return false;
        }
    }
    if let Some(size) = f.str("fileSizeEqual") {
        if rec.attrs.get(attr::FILE_SIZE).map(|s| to_float(s)) != Some(to_float(size)) {
            return false;
        }
    }
    true
}

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.session().await?;
    let filter = ListFilter {
        partner: Some(ks.partner_id),
        user: (!ks.is_admin()).then(|| ks.user.clone()),
    };
    let all = c.api.service.list(&filter).await.map_err(from_core)?;
    let empty = Params::new();
    let f = c.obj("filter").unwrap_or(&empty);
    let mut hits: Vec<UploadRecord> = all
        .into_iter()
        .filter(|r| r.attrs.contains_key(attr::TOKEN) && matches(r, f, c.now))
        .collect();
    match f.str("orderBy") {
        Some("-createdAt") => hits.sort_by_key(|r| std::cmp::Reverse(r.created_at)),
        Some("+createdAt") => hits.sort_by_key(|r| r.created_at),
        _ => {}
    }
    let (page, total) = page(hits, c.obj("pager"));
    let objects = page.iter().map(token).collect();
    Ok(list("KalturaUploadTokenListResponse", objects, total))
}
