//! `media.addFromUploadedFile` (spec §7.3, deprecated but served): creates the entry
//! and attaches a FULL_UPLOAD token in one call.

use upgate_proto::kaltura::errors::ErrorCode;
use upgate_proto::kaltura::params::Params;
use upgate_proto::kaltura::value::Value;

use super::media_add::new_entry;
use super::media_common::attach_token;
use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{err, from_core, KResult};
use crate::api::kaltura::objects::entry;

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.writer_session().await?;
    let token_id = c.required("uploadTokenId")?.to_owned();
    let empty = Params::new();
    let props = c.obj("mediaEntry").unwrap_or(&empty);
    let e = new_entry(&ks, props, c.now as u64)?;
    let rec = c.visible_token(&ks, &token_id).await?;
    if rec.phase() != crate::model::Phase::Full {
        return Err(err(ErrorCode::UploadTokenInvalidStatusForAddEntry));
    }
    c.api.service.create_entry(&e).await.map_err(from_core)?;
    match attach_token(c, &ks, &e.id, &token_id).await {
        Ok(e) => Ok(entry(&e, c.base_url, c.str("ks"))),
        Err(problem) => {
            let _ = c.api.service.delete_entry(&e.id).await;
            Err(problem)
        }
    }
}
