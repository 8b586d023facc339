//! `session.get`: what a KS says (`KalturaSessionInfo`). Without a `session`
//! parameter, the caller's own KS.

use upgate_proto::kaltura::value::{Object, Value};

use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{invalid_ks, KResult};

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let mine = c.session().await?;
    let (text, ks) = match c.str("session").filter(|s| !s.is_empty()) {
        None => (c.str("ks").unwrap_or("").to_owned(), mine.clone()),
        Some(other) => {
            let ks = c
                .api
                .gate
                .partners
                .verify(other, c.now)
                .map_err(|e| invalid_ks(other, &e))?;
            if ks.partner_id != mine.partner_id {
                return Err(invalid_ks(other, &crate::auth::KsFailure::Invalid));
            }
            (other.to_owned(), ks)
        }
    };
    Ok(Object::new("KalturaSessionInfo")
        .with("ks", text)
        .with("sessionType", i64::from(ks.session_type))
        .with("partnerId", ks.partner_id)
        .with("userId", ks.user)
        .with("expiry", ks.expiry)
        .with("privileges", ks.privileges)
        .into())
}
