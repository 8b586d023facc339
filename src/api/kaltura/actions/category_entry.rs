//! `categoryEntry.add`, `.delete` and `.list`: publishing an entry to a category (a
//! course gallery) and taking it back. The entry's `categoriesIds` is the one record of
//! where it is published. Owners, co-publishers and admins publish; co-editors get
//! `INVALID_KS "" -4`; an entry the session cannot see is `ENTRY_ID_NOT_FOUND`; a
//! category of another partner is `CATEGORY_NOT_FOUND`, like a missing one.

use upgate_proto::kaltura::errors::ErrorCode;
use upgate_proto::kaltura::params::{to_int, Params};
use upgate_proto::kaltura::value::Value;

use super::media_common::{owned_entry, Access};
use crate::api::kaltura::call::{page, Call};
use crate::api::kaltura::error::{err, err1, from_core, missing, KResult};
use crate::api::kaltura::objects::{category_entry, list};
use crate::core::Error;
use crate::model::category::{ids_text, Category};

async fn category_of(c: &Call<'_>, partner: i64, id: &str) -> KResult<Category> {
    c.api
        .service
        .get_category(partner, to_int(id))
        .await
        .map_err(from_core)?
        .ok_or_else(|| err1(ErrorCode::CategoryNotFound, id))
}

/// Adds (`publish`) or removes the category in the entry's `categoriesIds`, by
/// compare-and-set.
async fn set(
    c: &Call<'_>,
    entry_id: &str,
    cat: &Category,
    publish: bool,
) -> KResult<crate::model::entry::MediaEntry> {
    let out = c
        .api
        .service
        .update_entry(entry_id, |e| {
            let mut ids = e.category_ids();
            match (publish, ids.contains(&cat.id)) {
                (true, true) | (false, false) => return Err(Error::Complete),
                (true, false) => ids.push(cat.id),
                (false, true) => ids.retain(|i| *i != cat.id),
            }
            e.categories_ids = Some(ids_text(&ids));
            Ok(())
        })
        .await;
    out.map_err(|e| match e {
        Error::Complete if publish => err(ErrorCode::CategoryEntryAlreadyExists),
        Error::Complete => err(ErrorCode::EntryIsNotAssignedToCategory),
        Error::NotFound => err1(ErrorCode::EntryIdNotFound, entry_id),
        other => from_core(other),
    })
}

/// `categoryEntry.add(categoryEntry)`.
pub async fn add(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.writer_session().await?;
    let p = c
        .obj("categoryEntry")
        .ok_or_else(|| missing("categoryEntry"))?
        .clone();
    let entry_id = p
        .str("entryId")
        .ok_or_else(|| missing("categoryEntry:entryId"))?;
    let cat_id = p
        .str("categoryId")
        .ok_or_else(|| missing("categoryEntry:categoryId"))?;
    let cat = category_of(c, ks.partner_id, cat_id).await?;
    owned_entry(c, &ks, entry_id, Access::Publish).await?;
    let e = set(c, entry_id, &cat, true).await?;
    Ok(category_entry(&cat, &e))
}

/// `categoryEntry.delete(entryId, categoryId)`.
pub async fn delete(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.writer_session().await?;
    let entry_id = c.required("entryId")?.to_owned();
    let cat_id = c.required("categoryId")?.to_owned();
    let cat = category_of(c, ks.partner_id, &cat_id).await?;
    owned_entry(c, &ks, &entry_id, Access::Publish).await?;
    set(c, &entry_id, &cat, false).await?;
    Ok(Value::Null)
}

/// `categoryEntry.list(filter)`: `categoryIdEqual`, `categoryIdIn`, `entryIdEqual`,
/// `entryIdIn`; published entries are the partner's to see.
pub async fn list_action(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.session().await?;
    let empty = Params::new();
    let f = c.obj("filter").unwrap_or(&empty).clone();
    let ids = |key: &str| {
        f.str(key).map(|l| {
            l.split(',')
                .map(|x| x.trim().to_owned())
                .collect::<Vec<_>>()
        })
    };
    let cats = c
        .api
        .service
        .list_categories(ks.partner_id)
        .await
        .map_err(from_core)?;
    let mut rows = Vec::new();
    for e in c
        .api
        .service
        .list_entries(ks.partner_id, None)
        .await
        .map_err(from_core)?
    {
        if ids("entryIdIn").is_some_and(|l| !l.contains(&e.id))
            || f.str("entryIdEqual").is_some_and(|v| v != e.id)
        {
            continue;
        }
        for id in e.category_ids() {
            let Some(cat) = cats.iter().find(|c| c.id == id) else {
                continue;
            };
            if ids("categoryIdIn").is_some_and(|l| !l.contains(&id.to_string()))
                || f.str("categoryIdEqual").is_some_and(|v| to_int(v) != id)
            {
                continue;
            }
            rows.push(category_entry(cat, &e));
        }
    }
    let (page, total) = page(rows, c.obj("pager"));
    Ok(list("KalturaCategoryEntryListResponse", page, total))
}
