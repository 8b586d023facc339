//! `media.add` (spec §7.1): a NO_CONTENT entry owned by the session's user (an admin
//! may name another user).

use upgate_proto::kaltura::params::Params;
use upgate_proto::kaltura::value::Value;

use super::media_common::{apply_props, check_categories};
use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{from_core, missing, KResult};
use crate::api::kaltura::objects::entry;
use crate::model::entry::{new_entry_id, EntryStatus, MediaEntry};

/// A fresh entry for `ks`'s user with the given properties.
pub fn new_entry(
    ks: &upgate_proto::kaltura::ks::Ks,
    props: &Params,
    now: u64,
) -> Result<MediaEntry, upgate_proto::kaltura::value::ApiError> {
    let mut e = MediaEntry {
        id: new_entry_id(),
        partner: ks.partner_id,
        user: ks.user.clone(),
        creator: ks.user.clone(),
        name: String::new(),
        description: String::new(),
        tags: String::new(),
        media_type: 1,
        status: EntryStatus::NoContent,
        upload_id: None,
        size: None,
        file_name: None,
        partner_data: None,
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
    apply_props(&mut e, props, ks)?;
    Ok(e)
}

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.writer_session().await?;
    let props = c.obj("entry").ok_or_else(|| missing("entry"))?;
    let e = new_entry(&ks, props, c.now as u64)?;
    check_categories(c, &e).await?;
    c.api.service.create_entry(&e).await.map_err(from_core)?;
    Ok(entry(&e, c.base_url, c.str("ks")))
}
