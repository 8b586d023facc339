//! `media.list`: what the session sees — a USER session its own entries and those shared
//! with it as co-editor or co-publisher ("My Media"), with `categoriesIdsMatchOr` also
//! what is published to those categories (a gallery), an admin KS its partner's — with
//! `KalturaMediaEntryFilter`'s fields: `idEqual`, `idIn`, `statusEqual`, `statusIn`,
//! `userIdEqual`, `referenceIdEqual`, `referenceIdIn`, `nameLike`, `tagsLike`,
//! `categoriesIdsMatchOr`, `entitledUsersEditMatchOr`/`MatchAnd`,
//! `entitledUsersPublishMatchOr`/`MatchAnd`, `createdAtGreaterThanOrEqual`,
//! `createdAtLessThanOrEqual`, `orderBy` (`±createdAt`, `±name`, `±updatedAt`; others
//! the default, oldest first), and a pager.

use upgate_proto::kaltura::params::{to_int, Params};
use upgate_proto::kaltura::value::Value;

use crate::api::kaltura::call::{page, Call};
use crate::api::kaltura::error::{from_core, KResult};
use crate::api::kaltura::objects::{entry, entry_status, list};
use crate::model::entry::MediaEntry;

/// The filter's comma-separated values of `key`, if given.
fn values<'a>(f: &'a Params, key: &str) -> Option<Vec<&'a str>> {
    f.str(key).map(|l| {
        l.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .collect()
    })
}

fn like(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(&needle.to_lowercase())
}

fn matches(e: &MediaEntry, f: &Params) -> bool {
    let in_list = |key: &str, v: &str| values(f, key).is_none_or(|l| l.contains(&v));
    let any_of = |key: &str, have: &[String]| {
        values(f, key).is_none_or(|want| want.iter().any(|w| have.iter().any(|h| h == w)))
    };
    let all_of = |key: &str, have: &[String]| {
        values(f, key).is_none_or(|want| want.iter().all(|w| have.iter().any(|h| h == w)))
    };
    let categories: Vec<String> = e
        .categories_ids
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(|c| c.trim().to_owned())
        .collect();
    let status = entry_status(e).to_string();
    let reference = e.reference_id.as_deref().unwrap_or("");
    let created = e.created_at as i64;
    f.str("idEqual").is_none_or(|v| v == e.id)
        && in_list("idIn", &e.id)
        && f.str("statusEqual")
            .is_none_or(|s| to_int(s).to_string() == status)
        && in_list("statusIn", &status)
        && f.str("userIdEqual").is_none_or(|u| u == e.user)
        && f.str("referenceIdEqual").is_none_or(|r| r == reference)
        && in_list("referenceIdIn", reference)
        && f.str("nameLike").is_none_or(|n| like(&e.name, n))
        && f.str("tagsLike").is_none_or(|t| like(&e.tags, t))
        && any_of("categoriesIdsMatchOr", &categories)
        && any_of("entitledUsersEditMatchOr", &e.entitled_users_edit)
        && all_of("entitledUsersEditMatchAnd", &e.entitled_users_edit)
        && any_of("entitledUsersPublishMatchOr", &e.entitled_users_publish)
        && all_of("entitledUsersPublishMatchAnd", &e.entitled_users_publish)
        && f.str("createdAtGreaterThanOrEqual")
            .is_none_or(|t| created >= to_int(t))
        && f.str("createdAtLessThanOrEqual")
            .is_none_or(|t| created <= to_int(t))
}

pub async fn run(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.session().await?;
    let all = c
        .api
        .service
        .list_entries(ks.partner_id, None)
        .await
        .map_err(from_core)?;
    let empty = Params::new();
    let f = c.obj("filter").unwrap_or(&empty);
    // A gallery listing (by category) also shows what is published there.
    let gallery = f.str("categoriesIdsMatchOr").is_some();
    let mut hits: Vec<MediaEntry> = all
        .into_iter()
        .filter(|e| {
            ks.is_admin()
                || e.role_of(&ks.user).is_some()
                || (gallery && !e.category_ids().is_empty())
        })
        .filter(|e| matches(e, f))
        .collect();
    // Oldest first unless asked otherwise; ties by id, so pages are stable.
    match f.str("orderBy").unwrap_or("+createdAt") {
        "+createdAt" | "" => {}
        "-createdAt" => hits.reverse(),
        "+name" => {
            hits.sort_by(|a, b| (a.name.to_lowercase(), &a.id).cmp(&(b.name.to_lowercase(), &b.id)))
        }
        "-name" => {
            hits.sort_by(|a, b| (b.name.to_lowercase(), &b.id).cmp(&(a.name.to_lowercase(), &a.id)))
        }
        "+updatedAt" => hits.sort_by(|a, b| (a.updated_at, &a.id).cmp(&(b.updated_at, &b.id))),
        "-updatedAt" => hits.sort_by(|a, b| (b.updated_at, &b.id).cmp(&(a.updated_at, &a.id))),
        // Orders this gateway has no data for (plays, views, rank…): the default.
        _ => {}
    }
    let (page, total) = page(hits, c.obj("pager"));
    let objects = page
        .iter()
        .map(|e| entry(e, c.base_url, c.str("ks")))
        .collect();
    Ok(list("KalturaMediaListResponse", objects, total))
}
