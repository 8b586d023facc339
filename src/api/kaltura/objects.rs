//! Turning records into Kaltura objects (`KalturaUploadToken`, `KalturaMediaEntry`,
//! list responses), field by field as spec §4.1 and §7.4 describe them, and the token
//! attributes upgate keeps on an upload record.

use upgate_proto::kaltura::value::{Object, Value};

use crate::core::UploadRecord;
use crate::model::caption::Caption;
use crate::model::category::Category;
use crate::model::entry::{EntryStatus, MediaEntry};
use crate::model::Phase;

/// Attribute keys of a Kaltura upload token (stored in `UploadRecord::attrs`).
pub mod attr {
    pub const TOKEN: &str = "k.token";
    pub const FILE_NAME: &str = "k.fileName";
    pub const FILE_SIZE: &str = "k.fileSize";
    pub const AUTO_FINALIZE: &str = "k.autoFinalize";
}

/// `KalturaUploadTokenStatus`.
pub mod token_status {
    pub const PENDING: i64 = 0;
    pub const PARTIAL_UPLOAD: i64 = 1;
    pub const FULL_UPLOAD: i64 = 2;
    pub const CLOSED: i64 = 3;
}

fn attr<'a>(rec: &'a UploadRecord, key: &str) -> Option<&'a str> {
    rec.attrs
        .get(key)
        .map(String::as_str)
        .filter(|s| !s.is_empty())
}

/// The token's `KalturaUploadTokenStatus`: the upload's phase.
pub fn token_status(rec: &UploadRecord) -> i64 {
    match rec.phase() {
        Phase::Pending => token_status::PENDING,
        Phase::Partial => token_status::PARTIAL_UPLOAD,
        Phase::Full => token_status::FULL_UPLOAD,
        Phase::Closed => token_status::CLOSED,
    }
}

/// When the token last changed (unix seconds): its last chunk, else its creation.
pub fn updated_at(rec: &UploadRecord) -> i64 {
    rec.touched_at().unwrap_or(rec.created_at) as i64
}

/// A whole number of bytes as the server prints a float size.
pub fn size_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e18 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

pub fn token(rec: &UploadRecord) -> Value {
    let owner = rec.owner.as_ref();
    let uploaded = (token_status(rec) != token_status::PENDING).then(|| rec.offset.to_string());
    Object::new("KalturaUploadToken")
        .with("id", rec.id.as_str())
        .with("partnerId", owner.map(|o| o.partner))
        .with("userId", owner.map(|o| o.user.clone()))
        .with("status", token_status(rec))
        .with("fileName", attr(rec, attr::FILE_NAME))
        .with("fileSize", attr(rec, attr::FILE_SIZE))
        .with("uploadedFileSize", uploaded)
        .with("createdAt", rec.created_at as i64)
        .with("updatedAt", updated_at(rec))
        .with("uploadUrl", Value::Null)
        .with("autoFinalize", attr(rec, attr::AUTO_FINALIZE) == Some("1"))
        .with("attachedObjectType", rec.attached_to().map(|_| "entry"))
        .with("attachedObjectId", rec.attached_to())
        .with("relatedObjects", Value::Null)
        .into()
}

/// `KalturaEntryStatus` of an entry.
pub fn entry_status(e: &MediaEntry) -> i64 {
    match e.status {
        EntryStatus::NoContent => 7,
        EntryStatus::Ready => 2,
        EntryStatus::Import => 0,
        EntryStatus::ErrorImporting => -2,
    }
}

/// A media entry. Its `downloadUrl` carries the caller's session (`?ks=`), as Kaltura's
/// own URLs for protected content carry `/ks/…`: `/files/` needs one.
pub fn entry(e: &MediaEntry, base_url: &str, ks: Option<&str>) -> Value {
    let query = ks.map_or_else(String::new, |k| {
        format!("?ks={}", upgate_proto::form::form_encode(k))
    });
    let download = e
        .upload_id
        .as_ref()
        .map(|u| format!("{base_url}/files/{u}{query}"));
    let o = Object::new("KalturaMediaEntry")
        .with("id", e.id.as_str())
        .with("name", e.name.as_str())
        .with("description", e.description.as_str())
        .with("partnerId", e.partner)
        .with("userId", e.user.as_str())
        .with("creatorId", e.creator.as_str())
        .with("tags", e.tags.as_str())
        .with("categories", e.categories.clone())
        .with("categoriesIds", e.categories_ids.clone())
        .with("adminTags", e.admin_tags.clone())
        .with("entitledUsersEdit", joined(&e.entitled_users_edit))
        .with("entitledUsersPublish", joined(&e.entitled_users_publish))
        .with("partnerData", e.partner_data.clone())
        .with("referenceId", e.reference_id.clone())
        .with("status", entry_status(e))
        .with("moderationStatus", 6i64)
        .with("type", 1i64)
        .with("createdAt", e.created_at as i64)
        .with("updatedAt", e.updated_at as i64)
        .with("rootEntryId", e.id.as_str())
        .with("mediaType", i64::from(e.media_type))
        .with("sourceType", "1")
        .with("downloadUrl", download.clone())
        .with("dataUrl", download)
        .with("fileSize", e.size.map(|s| s.to_string()));
    match &e.import_error {
        // upgate's own (clients ignore unknown properties): why an import failed.
        Some(why) => o.with("importError", why.as_str()).into(),
        None => o.into(),
    }
}

/// A `KalturaCategory`, with how many entries are published to it.
pub fn category(c: &Category, entries: usize) -> Value {
    Object::new("KalturaCategory")
        .with("id", c.id)
        .with("parentId", c.parent_id)
        .with("depth", c.depth)
        .with("partnerId", c.partner)
        .with("name", c.name.as_str())
        .with("fullName", c.full_name.as_str())
        .with("fullIds", c.full_ids.as_str())
        .with("entriesCount", entries as i64)
        .with("directEntriesCount", entries as i64)
        .with("createdAt", c.created_at as i64)
        .with("updatedAt", c.updated_at as i64)
        .with("description", c.description.as_str())
        .with("tags", c.tags.as_str())
        .with("referenceId", c.reference_id.clone())
        .with("privacyContext", c.privacy_context.clone())
        .with("status", 2i64)
        .into()
}

/// A `KalturaCategoryEntry`: `entry` published to `c` (ACTIVE).
pub fn category_entry(c: &Category, e: &MediaEntry) -> Value {
    Object::new("KalturaCategoryEntry")
        .with("categoryId", c.id)
        .with("entryId", e.id.as_str())
        .with("createdAt", e.updated_at as i64)
        .with("categoryFullIds", c.full_ids.as_str())
        .with("status", 2i64)
        .with("creatorUserId", e.user.as_str())
        .into()
}

/// A `KalturaCaptionAsset`: READY once it has content, QUEUED before.
pub fn caption_asset(c: &Caption) -> Value {
    let size = c.content.as_ref().map_or(0, String::len) as i64;
    let ext = upgate_proto::captions::CaptionFormat::from_kaltura_type(&c.format)
        .map_or("srt", |f| f.ext());
    Object::new("KalturaCaptionAsset")
        .with("id", c.id.as_str())
        .with("entryId", c.entry_id.as_str())
        .with("partnerId", c.partner)
        .with("version", "1")
        .with("size", size)
        .with("sizeInBytes", size)
        .with("tags", "")
        .with("fileExt", ext)
        .with("createdAt", c.created_at as i64)
        .with("updatedAt", c.updated_at as i64)
        .with("status", if c.content.is_some() { 2i64 } else { 0i64 })
        .with("language", c.language.as_str())
        .with("languageCode", c.locale.as_str())
        .with("isDefault", i64::from(c.is_default))
        .with("label", c.label.as_str())
        .with("format", c.format.as_str())
        .with("displayOnPlayer", true)
        .into()
}

/// A list property as Kaltura writes it (comma-separated), absent when empty.
fn joined(users: &[String]) -> Option<String> {
    (!users.is_empty()).then(|| users.join(","))
}

/// `Kaltura…ListResponse`.
pub fn list(class: &str, objects: Vec<Value>, total: usize) -> Value {
    Object::new(class)
        .with("objects", Value::Array(objects))
        .with("totalCount", total as i64)
        .with("relatedObjects", Value::Null)
        .into()
}
