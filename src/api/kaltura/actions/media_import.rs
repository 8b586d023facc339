//! Pulling an entry's content from a URL (`KalturaUrlResource`, `media.addFromUrl`):
//! the resource's `url` and `urlHeaders` are checked here (absolute http(s), at most
//! [`MAX_HEADERS`] `Name: value` headers, none that would change how the gateway
//! frames the request), the entry moves to `IMPORT` and a job is queued for the import
//! runner. Whether the source's address may be reached is the runner's check (after
//! DNS resolution, on every redirect): a refused source ends in `ERROR_IMPORTING` with
//! the reason.

use upgate_proto::kaltura::errors::{api_error, ErrorCode};
use upgate_proto::kaltura::ks::Ks;
use upgate_proto::kaltura::params::{Param, Params};

use crate::api::kaltura::call::Call;
use crate::api::kaltura::error::{err, err1, from_core, KResult};
use crate::core::import::is_fetchable;
use crate::core::Error;
use crate::model::entry::{EntryStatus, MediaEntry};
use crate::model::import::ImportJob;

/// Most headers a resource may carry for its source.
pub const MAX_HEADERS: usize = 16;
/// Longest source URL.
pub const MAX_URL: usize = 4096;
/// Headers the gateway sets itself.
const RESERVED: [&str; 11] = [
    "host",
    "range",
    "if-range",
    "content-length",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
    "trailer",
    "expect",
    "accept-encoding",
];

fn wrong(prop: &str, format: &str) -> upgate_proto::kaltura::value::ApiError {
    api_error(ErrorCode::PropertyValidationWrongFormat, &[prop, format])
}

/// A checked source URL.
pub fn source_url(url: &str) -> KResult<String> {
    let url = url.trim();
    let usable = reqwest::Url::parse(url).is_ok_and(|u| is_fetchable(&u));
    if url.len() > MAX_URL || !usable {
        return Err(wrong("url", "http(s)://host/path"));
    }
    Ok(url.to_owned())
}

/// One `Name: value` header, checked.
fn header(text: &str) -> KResult<(String, String)> {
    let bad = || wrong("urlHeaders", "Name: value");
    let (name, value) = text.split_once(':').ok_or_else(bad)?;
    let (name, value) = (name.trim(), value.trim());
    let token = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
    if name.is_empty()
        || name.len() > 256
        || value.len() > 8192
        || !name.bytes().all(token)
        || value.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f)
        || RESERVED.contains(&name.to_ascii_lowercase().as_str())
    {
        return Err(bad());
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// The `urlHeaders` of a resource (a `KalturaString` array, or plain strings).
fn headers(resource: &Params) -> KResult<Vec<(String, String)>> {
    let Some(Param::Map(items)) = resource.get("urlHeaders") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (_, item) in &items.0 {
        let text = match item {
            Param::Str(s) => s.as_str(),
            Param::Map(m) => m.str("value").unwrap_or(""),
            _ => "",
        };
        if text.trim().is_empty() {
            continue;
        }
        if out.len() == MAX_HEADERS {
            return Err(api_error(
                ErrorCode::PropertyValidationMaxLength,
                &["urlHeaders", &MAX_HEADERS.to_string()],
            ));
        }
        out.push(header(text)?);
    }
    Ok(out)
}

/// `(url, headers)` of a `KalturaUrlResource`.
pub fn url_resource(resource: &Params) -> KResult<(String, Vec<(String, String)>)> {
    let url = resource
        .str("url")
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| err1(ErrorCode::PropertyValidationCannotBeNull, "url"))?;
    Ok((source_url(url)?, headers(resource)?))
}

/// The job that fills `entry` from `url`.
pub fn job_for(
    entry: &MediaEntry,
    url: String,
    headers: Vec<(String, String)>,
    now: u64,
) -> ImportJob {
    ImportJob::new(&entry.id, entry.partner, &entry.user, url, headers, now)
}

/// Refuses a user's job beyond the queue bound (a flood of imports is refused at the
/// door, not stored).
pub async fn check_queue(c: &Call<'_>, ks: &Ks, user: &str) -> KResult<()> {
    let queued = c
        .api
        .service
        .import_jobs_of(ks.partner_id, user)
        .await
        .map_err(from_core)?;
    if queued >= crate::core::import::MAX_QUEUED_PER_USER {
        return Err(from_core(Error::Unavailable(format!(
            "{queued} imports of this user are queued"
        ))));
    }
    Ok(())
}

/// Moves a NO_CONTENT entry to IMPORT and queues its job.
pub async fn import_into(
    c: &Call<'_>,
    entry_id: &str,
    url: String,
    headers: Vec<(String, String)>,
) -> KResult<MediaEntry> {
    let svc = &c.api.service;
    let e = svc
        .update_entry(entry_id, |e| {
            if e.status != EntryStatus::NoContent {
                return Err(Error::Complete);
            }
            e.status = EntryStatus::Import;
            e.import_error = None;
            Ok(())
        })
        .await
        .map_err(|e| match e {
            Error::Complete => err(ErrorCode::EntryAlreadyWithContent),
            Error::NotFound => err1(ErrorCode::EntryIdNotFound, entry_id),
            other => from_core(other),
        })?;
    svc.queue_import(&job_for(&e, url, headers, c.now as u64))
        .await
        .map_err(from_core)?;
    Ok(e)
}
