//! `session.end`: the current KS stops working (`INVALID_KS "LOGOUT"` afterwards).

use upgate_proto::kaltura::value::Value;

use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{from_core, KResult};
use crate::auth::session::end_session;

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.session().await?;
    end_session(&c.api.service, &ks).await.map_err(from_core)?;
    Ok(Value::Null)
}
