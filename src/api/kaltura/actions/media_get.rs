//! `media.get`: one entry of the session's user (an admin KS: any of the partner's);
//! while it imports, with `importedBytes` and `importSize`.

use upgate_proto::kaltura::value::Value;

use super::media_common::{owned_entry, Access};
use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{from_core, KResult};
use crate::api::kaltura::objects::entry;
use crate::model::entry::EntryStatus;

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.session().await?;
    let id = c.required("entryId")?.to_owned();
    let e = owned_entry(c, &ks, &id, Access::Read).await?;
    let v = entry(&e, c.base_url, c.str("ks"));
    if e.status != EntryStatus::Import {
        return Ok(v);
    }
    // upgate's own properties while importing: bytes stored so far and the source's size.
    let progress = c
        .api
        .service
        .import_progress(&id)
        .await
        .map_err(from_core)?;
    Ok(match (v, progress) {
        (Value::Object(o), Some((done, total))) => Value::Object(
            o.with("importedBytes", done as i64)
                .with("importSize", total.map(|t| t as i64)),
        ),
        (v, _) => v,
    })
}
