//! `media.addContent` (spec §7.2) with a `KalturaUploadedFileTokenResource`: the
//! token's file becomes the entry's content; the token is CLOSED; the entry READY.
//! With a `KalturaUrlResource` the entry goes to IMPORT and the gateway pulls the URL
//! (`media_import.rs`).
//! Divergence from Kaltura (documented): the token must already be FULL_UPLOAD, else
//! `UPLOAD_TOKEN_INVALID_STATUS_FOR_ADD_ENTRY`.

use upgate_proto::kaltura::errors::ErrorCode;
use upgate_proto::kaltura::value::Value;

use super::media_common::{attach_token, owned_entry, Access};
use super::media_import::{check_queue, import_into, url_resource};
use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{err, err1, KResult};
use crate::api::kaltura::objects::entry;
use crate::model::entry::EntryStatus;

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.writer_session().await?;
    let entry_id = c.required("entryId")?.to_owned();
    let e = owned_entry(c, &ks, &entry_id, Access::Edit).await?;
    if e.status != EntryStatus::NoContent {
        return Err(err(ErrorCode::EntryAlreadyWithContent));
    }
    let Some(resource) = c.obj("resource") else {
        return Ok(entry(&e, c.base_url, c.str("ks")));
    };
    match resource.str("objectType") {
        None | Some("") => return Err(err1(ErrorCode::ObjectTypeAbstract, "KalturaResource")),
        Some(t) if t.eq_ignore_ascii_case("KalturaUploadedFileTokenResource") => {}
        Some(t) if t.eq_ignore_ascii_case("KalturaUrlResource") => {
            let (url, headers) = url_resource(resource)?;
            check_queue(c, &ks, &e.user).await?;
            let e = import_into(c, &entry_id, url, headers).await?;
            return Ok(entry(&e, c.base_url, c.str("ks")));
        }
        Some(t)
            if t.eq_ignore_ascii_case("KalturaResource")
                || t.eq_ignore_ascii_case("KalturaContentResource") =>
        {
            return Err(err1(ErrorCode::ObjectTypeAbstract, t))
        }
        Some(t) => return Err(err1(ErrorCode::ResourceTypeNotSupported, t)),
    }
    let token_id = resource.str("token").unwrap_or("").to_owned();
    let e = attach_token(c, &ks, &entry_id, &token_id).await?;
    Ok(entry(&e, c.base_url, c.str("ks")))
}
