//! Shared pieces of the `media` actions: reading `KalturaMediaEntry` properties from
//! parameters (refusing read-only ones), looking entries up with ownership checks, and
//! attaching a finished upload token to an entry exactly once.

use upgate_proto::kaltura::errors::ErrorCode;
use upgate_proto::kaltura::ks::Ks;
use upgate_proto::kaltura::params::{to_int, Params};

use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{err, err1, from_core, not_updatable, KResult};
use crate::api::kaltura::objects::attr;
use crate::auth::privileges;
use crate::core::Error;
use crate::model::entry::{EntryStatus, MediaEntry};
use crate::model::Phase;

const READONLY: [&str; 12] = [
    "id",
    "partnerId",
    "status",
    "createdAt",
    "updatedAt",
    "creatorId",
    "rootEntryId",
    "downloadUrl",
    "dataUrl",
    "moderationStatus",
    "version",
    "type",
];

/// Insertable/updatable text properties: applied to `e`.
pub fn apply_props(e: &mut MediaEntry, p: &Params, ks: &Ks) -> KResult<()> {
    for key in p.keys() {
        if READONLY.contains(&key) {
            return Err(not_updatable("KalturaMediaEntry", key));
        }
    }
    if let Some(v) = p.str("name") {
        e.name = v.to_owned();
    }
    if let Some(v) = p.str("description") {
        e.description = v.to_owned();
    }
    if let Some(v) = p.str("tags") {
        e.tags = v.to_owned();
    }
    if let Some(v) = p.str("partnerData") {
        e.partner_data = Some(v.to_owned());
    }
    if let Some(v) = p.str("referenceId") {
        e.reference_id = Some(v.to_owned());
    }
    if let Some(v) = p.str("categories") {
        e.categories = Some(v.to_owned());
    }
    if let Some(v) = p.str("mediaType") {
        let t = to_int(v);
        if ![1, 2, 5, 201, 202, 203, 204].contains(&t) {
            return Err(crate::api::kaltura::error::invalid_enum(
                v,
                "mediaType",
                "KalturaMediaType",
            ));
        }
        e.media_type = t as i32;
    }
    if let Some(u) = p.str("userId").filter(|u| !u.is_empty() && *u != e.user) {
        if !ks.is_admin() {
            return Err(not_updatable("KalturaMediaEntry", "userId"));
        }
        e.user = u.to_owned();
    }
    Ok(())
}

/// What a call does with an entry, for the access check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read it (`media.get`): also granted by the KS privileges `sview`, `download`
    /// and `edit` naming it.
    Read,
    /// Change it (`media.update`, `media.addContent`): also granted by `edit`.
    Edit,
    /// Delete it: its owner (or an admin KS) only.
    Delete,
}

/// An entry the session may touch as `access` says: its partner's, and the user's own
/// unless the KS is an admin KS or a privilege grants it. Anything else is
/// `ENTRY_ID_NOT_FOUND`, exactly as for a missing entry, so no answer tells another
/// user's entry exists.
pub async fn owned_entry(c: &Call<'_>, ks: &Ks, id: &str, access: Access) -> KResult<MediaEntry> {
    let granted = |privs: &[&str]| privs.iter().any(|p| privileges::grants(ks, p, id));
    let allowed = ks.is_admin()
        || match access {
            Access::Read => granted(&["sview", "download", "edit"]),
            Access::Edit => granted(&["edit"]),
            Access::Delete => false,
        };
    let e = c.api.service.get_entry(id).await.map_err(from_core)?;
    e.filter(|e| e.partner == ks.partner_id && (allowed || e.user == ks.user))
        .ok_or_else(|| err1(ErrorCode::EntryIdNotFound, id))
}

/// Attaches a FULL_UPLOAD token's file to an entry that has no content: the token is
/// closed (compare-and-set, so only once), then the entry is made READY.
pub async fn attach_token(
    c: &Call<'_>,
    ks: &Ks,
    entry_id: &str,
    token_id: &str,
) -> KResult<MediaEntry> {
    let svc = &c.api.service;
    let rec = c.visible_token(ks, token_id).await?;
    if rec.phase() != Phase::Full {
        return Err(err(ErrorCode::UploadTokenInvalidStatusForAddEntry));
    }
    if !svc.close(token_id, entry_id).await.map_err(from_core)? {
        return Err(err(ErrorCode::UploadTokenInvalidStatusForAddEntry));
    }
    let file_name = rec.attrs.get(attr::FILE_NAME).cloned();
    let updated = svc
        .update_entry(entry_id, |e| {
            if e.status != EntryStatus::NoContent {
                return Err(Error::Complete);
            }
            e.status = EntryStatus::Ready;
            e.upload_id = Some(token_id.to_owned());
            e.size = Some(rec.offset);
            e.file_name.clone_from(&file_name);
            Ok(())
        })
        .await;
    match updated {
        Ok(e) => Ok(e),
        Err(e) => {
            // Give the token back: the entry could not take it.
            let _ = svc.reopen(token_id, entry_id).await;
            Err(match e {
                Error::Complete => err(ErrorCode::EntryAlreadyWithContent),
                Error::NotFound => err1(ErrorCode::EntryIdNotFound, entry_id),
                other => from_core(other),
            })
        }
    }
}
