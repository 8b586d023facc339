//! `category.add`: a category (a course or group gallery) of the partner, under
//! `parentId` when given. Admin sessions only (`SERVICE_FORBIDDEN` otherwise); a name
//! already used under the same parent is `DUPLICATE_CATEGORY`.

use upgate_proto::kaltura::errors::ErrorCode;
use upgate_proto::kaltura::params::to_int;
use upgate_proto::kaltura::value::Value;

use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{err1, forbidden, from_core, missing, not_updatable, KResult};
use crate::api::kaltura::objects::category;
use crate::model::category::Category;

/// Longest category name (characters).
const MAX_NAME: usize = 256;

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.writer_session().await?;
    if !ks.is_admin() {
        return Err(forbidden(&c.service, &c.action));
    }
    let props = c
        .obj("category")
        .ok_or_else(|| missing("category"))?
        .clone();
    for key in [
        "id",
        "partnerId",
        "fullName",
        "fullIds",
        "depth",
        "createdAt",
        "updatedAt",
    ] {
        if props.get(key).is_some() {
            return Err(not_updatable("KalturaCategory", key));
        }
    }
    let name = props
        .str("name")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| missing("category:name"))?
        .to_owned();
    if name.chars().count() > MAX_NAME || name.contains('>') {
        return Err(upgate_proto::kaltura::errors::api_error(
            ErrorCode::PropertyValidationMaxLength,
            &["name", &MAX_NAME.to_string()],
        ));
    }
    let svc = &c.api.service;
    let parent_id = props.str("parentId").map_or(0, to_int);
    let parent = match parent_id {
        0 => None,
        id => Some(
            svc.get_category(ks.partner_id, id)
                .await
                .map_err(from_core)?
                .ok_or_else(|| err1(ErrorCode::CategoryNotFound, &id.to_string()))?,
        ),
    };
    let siblings = svc
        .list_categories(ks.partner_id)
        .await
        .map_err(from_core)?;
    if siblings
        .iter()
        .any(|s| s.parent_id == parent_id && s.name == name)
    {
        return Err(err1(ErrorCode::DuplicateCategory, &name));
    }
    let text = |k: &str| props.str(k).map(str::to_owned);
    let new = Category {
        id: 0,
        partner: ks.partner_id,
        parent_id,
        name,
        full_name: String::new(),
        full_ids: String::new(),
        depth: 0,
        description: text("description").unwrap_or_default(),
        tags: text("tags").unwrap_or_default(),
        reference_id: text("referenceId"),
        privacy_context: text("privacyContext"),
        created_at: 0,
        updated_at: 0,
    };
    let made = svc
        .create_category(new, parent.as_ref())
        .await
        .map_err(from_core)?;
    Ok(category(&made, 0))
}
