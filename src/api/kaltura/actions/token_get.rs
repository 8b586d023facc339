//! `uploadToken.get`: the token as the session may see it. Waits for a writer that is
//! still committing a dropped chunk, so a resuming client reads the real
//! `uploadedFileSize`.

use upgate_proto::kaltura::value::Value;

use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{from_core, KResult};
use crate::api::kaltura::objects::token;

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.session().await?;
    let id = c.required("uploadTokenId")?.to_owned();
    c.visible_token(&ks, &id).await?;
    let rec = c.api.service.status(&id).await.map_err(from_core)?;
    Ok(token(&rec))
}
