//! `session.end`: the current KS stops working (`INVALID_KS "LOGOUT"` afterwards).

use upgate_proto::kaltura::value::Value;

use crate::api::kaltura::call::{ks_digest, Call, REVOKED};
use crate::api::kaltura::error::{from_core, KResult};

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    c.session().await?;
    let digest = ks_digest(c.str("ks").unwrap_or(""));
    c.api
        .service
        .mark(REVOKED, &digest)
        .await
        .map_err(from_core)?;
    Ok(Value::Null)
}
