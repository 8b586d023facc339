//! `addEntry`: a READY media entry from the file the same session uploaded under
//! `entry1_filename`; the file is consumed (a second `addEntry` for it fails).

use super::error::Ps2Error;
use super::upload::{key, Remembered};
use super::{el, Call, UPLOADED};
use crate::model::entry::{new_entry_id, EntryStatus, MediaEntry};
use crate::model::now_secs;

pub async fn run(c: &Call<'_>) -> Result<String, Ps2Error> {
    let ks = c.writer_session("addEntry").await?;
    let filename = c
        .str("entry1_filename")
        .ok_or(Ps2Error::MandatoryMissing("entry1_filename"))?
        .to_owned();
    let svc = &c.api.service;
    let k = key(&ks, &filename);
    let body = svc
        .get_doc(UPLOADED, &k)
        .await?
        .ok_or_else(|| Ps2Error::InvalidFileName(filename.clone()))?;
    if !svc.delete_doc(UPLOADED, &k).await? {
        return Err(Ps2Error::InvalidFileName(filename)); // consumed meanwhile
    }
    let file: Remembered =
        serde_json::from_str(&body).map_err(|e| Ps2Error::Internal(e.to_string()))?;
    let now = now_secs();
    let name = c
        .str("entry1_name")
        .map_or_else(|| file.orig_filename.clone(), str::to_owned);
    // Video unless the client says audio (5) or image (2).
    let media_type = c
        .str("entry1_mediaType")
        .and_then(|m| m.parse::<i32>().ok())
        .filter(|t| matches!(t, 1 | 2 | 5))
        .unwrap_or(1);
    let e = MediaEntry {
        id: new_entry_id(),
        partner: ks.partner_id,
        user: ks.user.clone(),
        creator: ks.user.clone(),
        name,
        description: String::new(),
        tags: c.str("entry1_tags").unwrap_or("").to_owned(),
        media_type,
        status: EntryStatus::Ready,
        upload_id: Some(file.upload_id),
        size: Some(file.size),
        file_name: Some(file.orig_filename),
        partner_data: c.str("entry1_partnerData").map(str::to_owned),
        reference_id: None,
        categories: None,
        categories_ids: None,
        admin_tags: None,
        user_entered_title: None,
        entitled_users_edit: Vec::new(),
        entitled_users_publish: Vec::new(),
        import_error: None,
        created_at: now,
        updated_at: now,
    };
    svc.create_entry(&e).await?;
    Ok(format!(
        "<entries><entry1_>{}{}{}{}{}{}{}{}</entry1_></entries>{}",
        el("id", &e.id),
        el("name", &e.name),
        el("type", "1"),
        el("mediaType", &e.media_type.to_string()),
        el("partnerData", e.partner_data.as_deref().unwrap_or("")),
        el("status", "2"),
        el("partnerId", &e.partner.to_string()),
        el("userId", &e.user),
        el("new_entry_count", "1")
    ))
}
