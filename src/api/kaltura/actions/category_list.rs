//! `category.list`: the partner's categories (galleries are not secret inside a
//! partner), with `KalturaCategoryFilter`'s `idEqual`, `idIn`, `parentIdEqual`,
//! `fullNameEqual`, `fullNameStartsWith`, `referenceIdEqual`, and a pager.

use std::collections::HashMap;

use upgate_proto::kaltura::params::{to_int, Params};
use upgate_proto::kaltura::value::Value;

use crate::api::kaltura::call::{page, Call};
use crate::api::kaltura::error::{from_core, KResult};
use crate::api::kaltura::objects::{category, list};
use crate::model::category::Category;

/// How many of the partner's entries each category has (one pass over the entries).
pub async fn entry_counts(c: &Call<'_>, partner: i64) -> KResult<HashMap<i64, usize>> {
    let mut counts = HashMap::new();
    for e in c
        .api
        .service
        .list_entries(partner, None)
        .await
        .map_err(from_core)?
    {
        for id in e.category_ids() {
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

fn matches(cat: &Category, f: &Params) -> bool {
    let ids = |key: &str| {
        f.str(key)
            .map(|l| l.split(',').map(to_int).collect::<Vec<_>>())
    };
    f.str("idEqual").is_none_or(|v| to_int(v) == cat.id)
        && ids("idIn").is_none_or(|l| l.contains(&cat.id))
        && f.str("parentIdEqual")
            .is_none_or(|v| to_int(v) == cat.parent_id)
        && f.str("fullNameEqual").is_none_or(|v| v == cat.full_name)
        && f.str("fullNameStartsWith")
            .is_none_or(|v| cat.full_name.starts_with(v))
        && f.str("referenceIdEqual")
            .is_none_or(|v| cat.reference_id.as_deref() == Some(v))
}

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.session().await?;
    let empty = Params::new();
    let f = c.obj("filter").unwrap_or(&empty);
    let hits: Vec<Category> = c
        .api
        .service
        .list_categories(ks.partner_id)
        .await
        .map_err(from_core)?
        .into_iter()
        .filter(|cat| matches(cat, f))
        .collect();
    let counts = entry_counts(c, ks.partner_id).await?;
    let (page, total) = page(hits, c.obj("pager"));
    let objects = page
        .iter()
        .map(|cat| category(cat, counts.get(&cat.id).copied().unwrap_or(0)))
        .collect();
    Ok(list("KalturaCategoryListResponse", objects, total))
}
