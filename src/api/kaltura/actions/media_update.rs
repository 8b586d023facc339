//! `media.update`: name, description, tags (and the other text properties) of an
//! entry the session owns.

use upgate_proto::kaltura::errors::ErrorCode;
use upgate_proto::kaltura::value::Value;

use super::media_common::{apply_props, check_categories, owned_entry, Access};
use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{err1, from_core, missing, KResult};
use crate::api::kaltura::objects::entry;
use crate::core::Error;

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.writer_session().await?;
    let id = c.required("entryId")?.to_owned();
    let mut probe = owned_entry(c, &ks, &id, Access::Edit).await?;
    let props = c
        .obj("mediaEntry")
        .ok_or_else(|| missing("mediaEntry"))?
        .clone();
    // Validate once up front so a refusal is a Kaltura error, not a retry.
    apply_props(&mut probe, &props, &ks)?;
    check_categories(c, &probe).await?;
    let updated = c
        .api
        .service
        .update_entry(&id, |e| {
            apply_props(e, &props, &ks).map_err(|_| Error::BadRequest("props".into()))
        })
        .await;
    match updated {
        Ok(e) => Ok(entry(&e, c.base_url, c.str("ks"))),
        Err(Error::NotFound) => Err(err1(ErrorCode::EntryIdNotFound, &id)),
        Err(e) => Err(from_core(e)),
    }
}
