//! `uploadToken.delete`: the token and its bytes are removed; it disappears from every
//! action.

use upgate_proto::kaltura::value::Value;

use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{from_core, KResult};

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.writer_session().await?;
    let id = c.required("uploadTokenId")?.to_owned();
    c.visible_token(&ks, &id).await?;
    c.api.service.terminate(&id).await.map_err(from_core)?;
    Ok(Value::Null)
}
