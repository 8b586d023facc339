//! `media.list`: the session's own entries (an admin KS sees the partner's), with the
//! common filter fields (`idEqual`, `idIn`, `statusEqual`, `statusIn`, `nameLike`,
//! `userIdEqual`, `orderBy` ±createdAt) and a pager.

use upgate_proto::kaltura::params::{to_int, Params};
use upgate_proto::kaltura::value::Value;

use crate::api::kaltura::call::{page, Call};
use crate::api::kaltura::error::{from_core, KResult};
use crate::api::kaltura::objects::{entry, entry_status, list};
use crate::model::entry::MediaEntry;

fn matches(e: &MediaEntry, f: &Params) -> bool {
    let in_list = |key: &str, v: &str| {
        f.str(key)
            .is_none_or(|l| l.split(',').any(|x| x.trim() == v))
    };
    let status = entry_status(e).to_string();
    f.str("idEqual").is_none_or(|v| v == e.id)
        && in_list("idIn", &e.id)
        && f.str("statusEqual")
            .is_none_or(|s| to_int(s).to_string() == status)
        && in_list("statusIn", &status)
        && f.str("userIdEqual").is_none_or(|u| u == e.user)
        && f.str("nameLike")
            .is_none_or(|n| e.name.to_lowercase().contains(&n.to_lowercase()))
}

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.session().await?;
    let user = (!ks.is_admin()).then_some(ks.user.as_str());
    let all = c
        .api
        .service
        .list_entries(ks.partner_id, user)
        .await
        .map_err(from_core)?;
    let empty = Params::new();
    let f = c.obj("filter").unwrap_or(&empty);
    let mut hits: Vec<MediaEntry> = all.into_iter().filter(|e| matches(e, f)).collect();
    if f.str("orderBy") == Some("-createdAt") {
        hits.reverse();
    }
    let (page, total) = page(hits, c.obj("pager"));
    let objects = page
        .iter()
        .map(|e| entry(e, c.base_url, c.str("ks")))
        .collect();
    Ok(list("KalturaMediaListResponse", objects, total))
}
