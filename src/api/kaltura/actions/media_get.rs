//! `media.get`: one entry of the session's user (an admin KS: any of the partner's).

use upgate_proto::kaltura::value::Value;

use super::media_common::{owned_entry, Access};
use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::KResult;
use crate::api::kaltura::objects::entry;

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.session().await?;
    let id = c.required("entryId")?.to_owned();
    let e = owned_entry(c, &ks, &id, Access::Read).await?;
    Ok(entry(&e, c.base_url, c.str("ks")))
}
