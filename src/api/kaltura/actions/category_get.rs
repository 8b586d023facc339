//! `category.get`: one category of the session's partner, with its entry count.

use upgate_proto::kaltura::errors::ErrorCode;
use upgate_proto::kaltura::params::to_int;
use upgate_proto::kaltura::value::Value;

use super::category_list::entry_counts;
use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{err1, from_core, KResult};
use crate::api::kaltura::objects::category;

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.session().await?;
    let id_text = c.required("id")?.to_owned();
    let cat = c
        .api
        .service
        .get_category(ks.partner_id, to_int(&id_text))
        .await
        .map_err(from_core)?
        .ok_or_else(|| err1(ErrorCode::CategoryNotFound, &id_text))?;
    let counts = entry_counts(c, ks.partner_id).await?;
    Ok(category(&cat, counts.get(&cat.id).copied().unwrap_or(0)))
}
