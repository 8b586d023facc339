//! Running one claimed job: attempts until the source is fully stored, each resuming at
//! the upload's committed offset; the lease renewed beside it; the outcome recorded
//! (entry `READY` / `ERROR_IMPORTING`, or the job queued again after a backoff).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use reqwest::header::{CONTENT_DISPOSITION, CONTENT_RANGE, ETAG, LAST_MODIFIED};
use reqwest::StatusCode;

use super::body::SourceBody;
use super::fetch::FetchError;
use super::Ctx;
use crate::core::import::ImportEnd;
use crate::core::{AppendRequest, CreateRequest, Error, Status};
use crate::model::entry::EntryStatus;
use crate::model::import::{now_ms, ImportJob, JobState};
use crate::model::Owner;
use crate::ratelimit::Subject;

/// Attribute marking an upload as an import's (the entry id).
pub const IMPORT_ATTR: &str = "import.entry";

/// What one attempt came to.
enum Step {
    Done {
        upload_id: String,
        size: u64,
        file_name: Option<String>,
    },
    Retry {
        why: String,
        progressed: bool,
    },
    Fatal(String),
    /// The lease was lost: another runner decides now.
    Lost,
    /// The entry is gone or no longer importing: the job ends without touching it.
    Cancelled,
}

fn retry(why: impl Into<String>) -> Step {
    Step::Retry {
        why: why.into(),
        progressed: false,
    }
}

/// Runs `job` (claimed by `job.holder`) until it ends, is queued again, or is lost.
pub(super) async fn run(ctx: Arc<Ctx>, mut job: ImportJob) {
    let Some(holder) = job.holder.clone() else {
        return;
    };
    let lost = Arc::new(AtomicBool::new(false));
    let fetched = Arc::new(AtomicU64::new(job.fetched));
    let renewer = tokio::spawn(renew(
        ctx.clone(),
        job.entry_id.clone(),
        holder.clone(),
        lost.clone(),
        fetched.clone(),
    ));
    let mut file_name = None;
    let step = loop {
        match attempt(&ctx, &mut job, &holder, &lost, &fetched, &mut file_name).await {
            Step::Retry { why, progressed } if progressed => {
                // Bytes arrived: try again at once, the failure count starts over.
                tracing::info!(entry = %job.entry_id, reason = %why, "import interrupted; resuming");
                job.failures = 0;
                metrics::counter!("upgate_import_retries_total").increment(1);
                continue;
            }
            other => break other,
        }
    };
    renewer.abort();
    let svc = &ctx.svc;
    let id = job.entry_id.clone();
    let end = match step {
        Step::Done {
            upload_id,
            size,
            file_name,
        } => {
            if let Err(e) = svc.sha256(&upload_id).await {
                tracing::warn!(entry = %id, error = %e, "digest of the import not computed");
            }
            ImportEnd::Imported {
                upload_id,
                size,
                file_name,
            }
        }
        Step::Fatal(why) => ImportEnd::Failed(why),
        // `end_import` leaves an entry that is not importing alone and drops the job.
        Step::Cancelled => ImportEnd::Failed("the entry is no longer importing".into()),
        Step::Retry { why, .. } if job.failures + 1 >= ctx.cfg.max_failures => ImportEnd::Failed(
            format!("gave up after {} attempts: {why}", job.failures + 1),
        ),
        Step::Retry { why, .. } => {
            metrics::counter!("upgate_import_retries_total").increment(1);
            let backoff = ctx.cfg.backoff_after(job.failures + 1);
            tracing::info!(entry = %id, reason = %why, ?backoff, "import attempt failed; queued again");
            let n = fetched.load(Ordering::Relaxed);
            let _ = svc
                .update_import(&id, &holder, |j| {
                    j.state = JobState::Queued;
                    j.holder = None;
                    j.failures += 1;
                    j.fetched = n;
                    j.last_error = Some(why.clone());
                    j.not_before_ms = now_ms() + backoff.as_millis() as u64;
                })
                .await;
            return;
        }
        Step::Lost => {
            abandon_if_cancelled(&ctx, &job).await;
            return;
        }
    };
    if let ImportEnd::Failed(why) = &end {
        tracing::warn!(entry = %id, reason = %why, "import ended without content");
        if let Some(u) = &job.upload_id {
            let _ = svc.terminate(u).await;
        }
    }
    match svc.end_import(&id, end).await {
        Ok(Some(e)) if e.status == EntryStatus::Ready => {
            tracing::info!(entry = %id, size = e.size.unwrap_or(0), fetched = fetched.load(Ordering::Relaxed), "import finished");
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(entry = %id, error = %e, "import end not recorded; it will run again")
        }
    }
}

/// When the job document is gone (the entry was deleted), the upload it filled goes too.
async fn abandon_if_cancelled(ctx: &Ctx, job: &ImportJob) {
    if let (Ok(None), Some(u)) = (ctx.svc.import_job(&job.entry_id).await, &job.upload_id) {
        let _ = ctx.svc.terminate(u).await;
    }
}

/// Renews the lease every third of its length, saving the byte count; flags a loss.
async fn renew(
    ctx: Arc<Ctx>,
    id: String,
    holder: String,
    lost: Arc<AtomicBool>,
    fetched: Arc<AtomicU64>,
) {
    let ttl = ctx.cfg.lease_ttl;
    loop {
        tokio::time::sleep(ttl / 3).await;
        let n = fetched.load(Ordering::Relaxed);
        match ctx
            .svc
            .update_import(&id, &holder, |j| {
                j.lease_until_ms = now_ms() + ttl.as_millis() as u64;
                j.fetched = n;
            })
            .await
        {
            Ok(_) => {}
            Err(Error::Locked) | Err(Error::NotFound) => {
                lost.store(true, Ordering::Relaxed);
                return;
            }
            Err(e) => tracing::debug!(entry = %id, error = %e, "import lease renewal failed"),
        }
    }
}

/// Saves the job's resume state; `false` when the lease is gone.
async fn save(ctx: &Ctx, job: &ImportJob, holder: &str) -> bool {
    let (upload, validator, restarts) =
        (job.upload_id.clone(), job.validator.clone(), job.restarts);
    ctx.svc
        .update_import(&job.entry_id, holder, |j| {
            j.upload_id.clone_from(&upload);
            j.validator.clone_from(&validator);
            j.restarts = restarts;
        })
        .await
        .is_ok()
}

/// The source's validator: a strong `ETag`, else `Last-Modified`.
fn validator_of(resp: &reqwest::Response) -> Option<String> {
    let h = resp.headers();
    let text = |n| {
        h.get(n)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
    };
    text(ETAG)
        .filter(|e| !e.starts_with("W/"))
        .or_else(|| text(LAST_MODIFIED))
        .map(str::to_owned)
}

/// `(first byte, total)` of a `Content-Range: bytes A-B/T` (T may be `*`).
fn content_range(resp: &reqwest::Response) -> Option<(u64, Option<u64>)> {
    let v = resp.headers().get(CONTENT_RANGE)?.to_str().ok()?;
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (a, _) = range.split_once('-')?;
    Some((a.trim().parse().ok()?, total.trim().parse().ok()))
}

/// A file name for the entry: `Content-Disposition`'s, else the URL path's last part.
fn file_name_of(resp: &reqwest::Response) -> Option<String> {
    let from_header = resp
        .headers()
        .get(CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(';')
                .map(str::trim)
                .find_map(|p| p.strip_prefix("filename="))
                .map(|n| n.trim_matches('"').to_owned())
        });
    let name = from_header.or_else(|| {
        resp.url()
            .path_segments()
            .and_then(|mut s| s.next_back())
            .map(upgate_proto::form::form_decode)
    })?;
    let clean: String = name
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '/' | '\\'))
        .take(255)
        .collect();
    (!clean.trim().is_empty()).then_some(clean)
}

async fn attempt(
    ctx: &Ctx,
    job: &mut ImportJob,
    holder: &str,
    lost: &Arc<AtomicBool>,
    fetched: &Arc<AtomicU64>,
    file_name: &mut Option<String>,
) -> Step {
    let svc = &ctx.svc;
    match svc.get_entry(&job.entry_id).await {
        Ok(Some(e)) if e.status == EntryStatus::Import => {}
        Ok(_) => return Step::Cancelled,
        Err(e) => return retry(e.to_string()),
    }
    if lost.load(Ordering::Relaxed) {
        return Step::Lost;
    }
    // Where the bytes stand.
    let mut offset = 0;
    if let Some(u) = job.upload_id.clone() {
        // `status`, not `peek`: it takes in what a crashed runner had stored past the
        // last commit.
        let found = match svc.status(&u).await {
            Ok(r) => Ok(Some(r)),
            Err(Error::NotFound) | Err(Error::Expired) => Ok(None),
            Err(e) => Err(e),
        };
        match found {
            Ok(Some(rec)) if rec.status == Status::Complete => {
                return Step::Done {
                    upload_id: u,
                    size: rec.offset,
                    file_name: file_name.clone(),
                }
            }
            Ok(Some(rec)) => offset = rec.offset,
            Ok(None) => {
                job.upload_id = None;
                job.validator = None;
            }
            Err(e) => return retry(e.to_string()),
        }
    }
    let from = offset;
    let validator = job.validator.clone().filter(|_| from > 0);
    let resp = match ctx
        .fetcher
        .get(&job.url, &job.headers, from, validator.as_deref())
        .await
    {
        Ok(r) => r,
        Err(FetchError::Retry(why)) => return retry(why),
        Err(FetchError::Fatal(why)) => return Step::Fatal(why),
    };
    let now_validator = validator_of(&resp);
    let (start, total) = if resp.status() == StatusCode::PARTIAL_CONTENT {
        match content_range(&resp) {
            Some(r) => r,
            None => return retry("the source answered 206 without a usable Content-Range"),
        }
    } else {
        (0, resp.content_length())
    };
    let mut skip = 0;
    if start != from {
        if start != 0 {
            return retry(format!("the source sent bytes from {start}, not {from}"));
        }
        if job.validator.is_some() && now_validator == job.validator {
            // Same content, but the source ignores ranges: skip what is stored.
            skip = from;
        } else {
            tracing::warn!(entry = %job.entry_id, stored = from, "the source changed; the import starts over");
            metrics::counter!("upgate_import_restarts_total").increment(1);
            if let Some(u) = job.upload_id.take() {
                let _ = svc.terminate(&u).await;
            }
            job.restarts += 1;
            offset = 0;
        }
    }
    if let Some(t) = total.filter(|t| *t > ctx.cfg.max_size) {
        return Step::Fatal(format!(
            "the source is {t} bytes, more than the import limit of {} bytes",
            ctx.cfg.max_size
        ));
    }
    if file_name.is_none() {
        *file_name = file_name_of(&resp);
    }
    let upload_id = match job.upload_id.clone() {
        Some(u) => u,
        None => {
            let name = file_name.clone().unwrap_or_default();
            let req = CreateRequest {
                length: total,
                metadata: upgate_proto::metadata::format_metadata(&[(
                    "filename".to_owned(),
                    Some(name.into_bytes()),
                )]),
                owner: Some(Owner {
                    partner: job.partner,
                    user: job.user.clone(),
                }),
                attrs: [(IMPORT_ATTR.to_owned(), job.entry_id.clone())].into(),
                // Its SHA-256 is computed when it ends: kept as the bytes arrive.
                keep_digest: true,
                ..Default::default()
            };
            let rec = match svc.create(req).await {
                Ok(r) => r,
                Err(Error::TooLarge { limit }) => {
                    return Step::Fatal(format!(
                        "the source is larger than the limit of {limit} bytes"
                    ))
                }
                Err(e) => return retry(e.to_string()),
            };
            job.upload_id = Some(rec.id.clone());
            job.validator = now_validator;
            if !save(ctx, job, holder).await {
                let _ = svc.terminate(&rec.id).await;
                return Step::Lost;
            }
            rec.id
        }
    };
    let mut body = SourceBody {
        resp,
        skip,
        stall: ctx.cfg.stall_timeout,
        pace: Some((
            ctx.limits.clone(),
            Subject::User {
                partner: job.partner,
                user: job.user.clone(),
            },
        )),
        lost: lost.clone(),
        fetched: fetched.clone(),
        stopped: None,
    };
    let req = AppendRequest {
        offset,
        ..Default::default()
    };
    let out = svc.append(&upload_id, req, &mut body).await;
    let progressed = |o: u64| o > offset;
    match out {
        Ok(rec) if rec.status == Status::Complete => Step::Done {
            upload_id,
            size: rec.offset,
            file_name: file_name.clone(),
        },
        Ok(rec) if rec.length.is_none() => {
            // The source ended without announcing its length: this is the end.
            let req = AppendRequest {
                offset: rec.offset,
                set_length: Some(rec.offset),
                ..Default::default()
            };
            match svc
                .append(&upload_id, req, &mut crate::model::body::VecBody::empty())
                .await
            {
                Ok(r) if r.status == Status::Complete => Step::Done {
                    upload_id,
                    size: r.offset,
                    file_name: file_name.clone(),
                },
                Ok(r) => retry(format!("the upload did not complete at {} bytes", r.offset)),
                Err(e) => retry(e.to_string()),
            }
        }
        Ok(rec) => Step::Retry {
            why: format!(
                "the source ended at {} of {} bytes",
                rec.offset,
                rec.length.unwrap_or(0)
            ),
            progressed: progressed(rec.offset),
        },
        Err(Error::Interrupted { offset: at }) => {
            if lost.load(Ordering::Relaxed) {
                return Step::Lost;
            }
            Step::Retry {
                why: body
                    .stopped
                    .unwrap_or_else(|| "the source body ended early".into()),
                progressed: progressed(at),
            }
        }
        Err(Error::PastLength { length }) => Step::Fatal(format!(
            "the source sent more than the {length} bytes it announced"
        )),
        Err(Error::TooLarge { limit }) => Step::Fatal(format!(
            "the source is larger than the limit of {limit} bytes"
        )),
        Err(Error::NotFound) | Err(Error::Expired) => {
            job.upload_id = None;
            retry("the partial import expired; starting over")
        }
        Err(e) => retry(e.to_string()),
    }
}
