//! `uploadToken.add` (spec §3.1): a PENDING token owned by the session's user. With
//! `autoFinalize=1` the declared `fileSize` becomes the upload's length, so the token
//! completes by itself when that many contiguous bytes are stored.

use std::collections::BTreeMap;
use upgate_proto::kaltura::errors::ErrorCode;

use upgate_proto::kaltura::params::{to_bool, to_float, Param};
use upgate_proto::kaltura::value::Value;

use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{err, from_core, not_updatable, KResult};
use crate::api::kaltura::objects::{attr, size_text, token};
use crate::core::{CreateRequest, Owner};

/// Read-only properties of `KalturaUploadToken` (the insertable ones are `fileName`,
/// `fileSize` and `autoFinalize`; unknown names are ignored, as the server does).
const READONLY: [&str; 9] = [
    "id",
    "partnerId",
    "userId",
    "status",
    "uploadedFileSize",
    "createdAt",
    "updatedAt",
    "uploadUrl",
    "attachedObjectId",
];

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.writer_session().await?;
    let mut attrs = BTreeMap::new();
    attrs.insert(attr::TOKEN.to_owned(), "1".to_owned());
    let mut length = None;
    if let Some(t) = c.obj("uploadToken") {
        for key in t.keys() {
            if READONLY.contains(&key) || key == "attachedObjectType" {
                return Err(not_updatable("KalturaUploadToken", key));
            }
        }
        if let Some(name) = t.str("fileName").filter(|s| !s.is_empty()) {
            attrs.insert(attr::FILE_NAME.to_owned(), name.to_owned());
        }
        let size = t.str("fileSize").map(to_float).filter(|s| *s >= 0.0);
        if let Some(s) = size {
            attrs.insert(attr::FILE_SIZE.to_owned(), size_text(s));
        }
        // KalturaNullableBoolean: 1/true → on; 0/false/-1/"" → off.
        let auto = match t.get("autoFinalize") {
            Some(Param::Str(v)) => v != "-1" && to_bool(v),
            _ => false,
        };
        if auto {
            let Some(s) = size else {
                return Err(err(ErrorCode::UploadTokenMissingFileSize));
            };
            attrs.insert(attr::AUTO_FINALIZE.to_owned(), "1".to_owned());
            length = Some(s as u64);
        }
    }
    let req = CreateRequest {
        length,
        metadata: String::new(),
        concat: Default::default(),
        owner: Some(Owner {
            partner: ks.partner_id,
            user: ks.user.clone(),
        }),
        attrs,
        keep_digest: false,
    };
    let rec = c
        .api
        .service
        .create_with_id_prefix("0_", req)
        .await
        .map_err(from_core)?;
    Ok(token(&rec))
}
