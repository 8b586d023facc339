//! Shared pieces of the `media` and `categoryEntry` actions: reading `KalturaMediaEntry`
//! properties from parameters (refusing read-only ones), looking entries up with the
//! access each action needs (owner, collaborators, published, privileges), and attaching
//! a finished upload token to an entry exactly once.

use upgate_proto::kaltura::errors::{api_error, ErrorCode};
use upgate_proto::kaltura::ks::Ks;
use upgate_proto::kaltura::params::{to_int, Params};

use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{err, err1, from_core, not_updatable, KResult};
use crate::api::kaltura::objects::attr;
use crate::auth::privileges;
use crate::core::Error;
use crate::model::entry::{EntryStatus, MediaEntry, Role, Verdict};
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

/// Longest value of each text property (characters), as the server bounds them.
const MAX_LEN: [(&str, usize); 9] = [
    ("name", 256),
    ("description", 16 << 10),
    ("tags", 4096),
    ("adminTags", 4096),
    ("partnerData", 4096),
    ("referenceId", 512),
    ("categories", 4096),
    ("categoriesIds", 4096),
    ("entitledUsersEdit", 16 << 10),
];

/// Most users one entry may name as co-editors, and as co-publishers.
pub const MAX_ENTITLED: usize = 100;

/// A comma-separated list of user ids: trimmed, without empties or repeats.
fn users(v: &str) -> KResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for u in v.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        if u.len() > 256 {
            return Err(max_length("entitledUsers", 256));
        }
        if !out.iter().any(|x| x == u) {
            out.push(u.to_owned());
        }
    }
    if out.len() > MAX_ENTITLED {
        return Err(api_error(
            ErrorCode::PropertyValidationMaxLength,
            &["entitledUsers", &MAX_ENTITLED.to_string()],
        ));
    }
    Ok(out)
}

fn max_length(prop: &str, max: usize) -> upgate_proto::kaltura::value::ApiError {
    api_error(
        ErrorCode::PropertyValidationMaxLength,
        &[prop, &max.to_string()],
    )
}

/// Insertable/updatable properties: applied to `e`. Collaborators are the owner's (or an
/// admin's) to change; `adminTags` an admin's; co-editors change the rest.
pub fn apply_props(e: &mut MediaEntry, p: &Params, ks: &Ks) -> KResult<()> {
    for key in p.keys() {
        if READONLY.contains(&key) {
            return Err(not_updatable("KalturaMediaEntry", key));
        }
    }
    for (key, max) in MAX_LEN {
        if p.str(key).is_some_and(|v| v.chars().count() > max) {
            return Err(max_length(key, max));
        }
    }
    let owner_or_admin = ks.is_admin() || ks.user == e.user;
    let text = |key: &str| p.str(key).map(str::to_owned);
    if let Some(v) = text("name") {
        e.name = v;
    }
    if let Some(v) = text("description") {
        e.description = v;
    }
    if let Some(v) = text("tags") {
        e.tags = v;
    }
    if let Some(v) = text("partnerData") {
        e.partner_data = Some(v);
    }
    if let Some(v) = text("referenceId") {
        e.reference_id = Some(v);
    }
    for key in ["categories", "categoriesIds"] {
        if p.str(key).is_some() && !may_publish(ks, e) {
            return Err(not_updatable("KalturaMediaEntry", key));
        }
    }
    if let Some(v) = text("categories") {
        e.categories = Some(v);
    }
    if let Some(v) = text("categoriesIds") {
        e.categories_ids = Some(crate::model::category::ids_text(
            &crate::model::category::ids_of(&v),
        ));
    }
    if let Some(v) = text("adminTags") {
        if !ks.is_admin() {
            return Err(err1(
                ErrorCode::PropertyValidationAdminProperty,
                "adminTags",
            ));
        }
        e.admin_tags = Some(v);
    }
    for (key, list) in [
        ("entitledUsersEdit", &mut e.entitled_users_edit),
        ("entitledUsersPublish", &mut e.entitled_users_publish),
    ] {
        if let Some(v) = p.str(key) {
            if !owner_or_admin {
                return Err(not_updatable("KalturaMediaEntry", key));
            }
            *list = users(v)?;
        }
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

pub use crate::model::entry::Access;

/// Whether the session may publish `e` (owner, co-publisher, admin).
pub fn may_publish(ks: &Ks, e: &MediaEntry) -> bool {
    ks.is_admin() || e.role_of(&ks.user) >= Some(Role::Publisher)
}

/// Every category id in `e.categoriesIds` must be one of the partner's.
pub async fn check_categories(c: &Call<'_>, e: &MediaEntry) -> KResult<()> {
    for id in e.category_ids() {
        if c.api
            .service
            .get_category(e.partner, id)
            .await
            .map_err(from_core)?
            .is_none()
        {
            return Err(err1(ErrorCode::CategoryNotFound, &id.to_string()));
        }
    }
    Ok(())
}

/// An entry the session may touch as `access` says (an admin KS: any of its partner's).
/// An entry the session cannot see at all is `ENTRY_ID_NOT_FOUND`, exactly as a missing
/// one, so no answer tells another user's entry exists; one it sees but may not do this
/// to (a co-editor deleting) is `INVALID_KS "" -4`, as the server answers.
pub async fn owned_entry(c: &Call<'_>, ks: &Ks, id: &str, access: Access) -> KResult<MediaEntry> {
    let not_found = || err1(ErrorCode::EntryIdNotFound, id);
    let e = c
        .api
        .service
        .get_entry(id)
        .await
        .map_err(from_core)?
        .filter(|e| e.partner == ks.partner_id)
        .ok_or_else(not_found)?;
    if ks.is_admin() {
        return Ok(e);
    }
    let granted = |privs: &[&str]| privs.iter().any(|p| privileges::grants(ks, p, id));
    match e.verdict(&ks.user, access, granted) {
        Verdict::Allowed => Ok(e),
        Verdict::Refused => Err(api_error(ErrorCode::InvalidKs, &["", "-4", "INVALID_TYPE"])),
        Verdict::Hidden => Err(not_found()),
    }
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
