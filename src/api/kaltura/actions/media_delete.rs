//! `media.delete`: the entry and its stored file are removed (an import in progress is
//! cancelled).

use upgate_proto::kaltura::value::Value;

use super::media_common::{owned_entry, Access};
use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{from_core, KResult};
use crate::core::Error;
use crate::model::entry::EntryStatus;

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.writer_session().await?;
    let id = c.required("entryId")?.to_owned();
    let e = owned_entry(c, &ks, &id, Access::Delete).await?;
    c.api.service.delete_entry(&id).await.map_err(from_core)?;
    if e.status == EntryStatus::Import {
        // The runner sees its job gone and removes the partial upload.
        c.api.service.cancel_import(&id).await.map_err(from_core)?;
    }
    if let Some(upload) = e.upload_id {
        match c.api.service.terminate(&upload).await {
            Ok(()) | Err(Error::NotFound) => {}
            Err(other) => return Err(from_core(other)),
        }
    }
    Ok(Value::Null)
}
