//! `media.addFromUrl(mediaEntry, url)`: a new entry in `IMPORT` whose content the
//! gateway pulls from `url` (Kaltura's shorthand for `media.add` + `media.addContent`
//! with a `KalturaUrlResource`).

use upgate_proto::kaltura::value::Value;

use super::media_add::new_entry;
use super::media_common::check_categories;
use super::media_import::{check_queue, job_for, source_url};
use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{from_core, missing, KResult};
use crate::api::kaltura::objects::entry;
use crate::model::entry::EntryStatus;

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.writer_session().await?;
    let props = c.obj("mediaEntry").ok_or_else(|| missing("mediaEntry"))?;
    let url = source_url(c.required("url")?)?;
    let mut e = new_entry(&ks, props, c.now as u64)?;
    e.status = EntryStatus::Import;
    check_categories(c, &e).await?;
    check_queue(c, &ks, &e.user).await?;
    let job = job_for(&e, url, Vec::new(), c.now as u64);
    c.api
        .service
        .create_import(&e, &job)
        .await
        .map_err(from_core)?;
    Ok(entry(&e, c.base_url, c.str("ks")))
}
