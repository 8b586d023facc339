//! The URL import runner: pulls sources into uploads for entries in `IMPORT`
//! (`media.addFromUrl`, `media.addContent` with a `KalturaUrlResource`, `upgate
//! import`). Jobs live in the state store (`core::import`); every instance runs a
//! scheduler that claims queued jobs (and jobs whose runner's lease expired) up to a
//! global and a per-user concurrency, oldest first, and runs each in its own task.
//!
//! How a job moves bytes (`job.rs`): `GET` the source (`fetch.rs`: redirects, headers
//! only to the source's own host, the SSRF policy of `guard.rs`), create an upload of
//! the announced length, and stream the body through the core's write pump
//! (`UploadService::append`: the same commits, durable offsets, merge and finish as any
//! upload). After a drop it asks `Range: bytes=N-` from the committed offset with
//! `If-Range`; a changed source starts over (and says so in the log and metrics).
//! Failures back off exponentially within a bounded number of attempts; an attempt
//! that brought bytes resets the count.
//!
//! Must not: know a wire protocol (adapters queue jobs through `core`).

mod body;
mod fetch;
pub mod guard;
mod job;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::core::UploadService;
use crate::model::import::now_ms;
use crate::ratelimit::Limits;

pub use fetch::FetchError;
pub use job::IMPORT_ATTR;

/// Tunables of the runner, with the defaults `upgate serve` documents.
#[derive(Debug, Clone)]
pub struct ImportConfig {
    /// Jobs running at once in this instance.
    pub concurrency: usize,
    /// Jobs of one user running at once (across instances).
    pub per_user: usize,
    /// Largest source accepted, in bytes.
    pub max_size: u64,
    /// Which internal addresses sources may have (none by default).
    pub policy: guard::Policy,
    /// An attempt whose source sends nothing for this long is dropped and retried.
    pub stall_timeout: Duration,
    pub connect_timeout: Duration,
    /// Attempts in a row without a byte before the import fails.
    pub max_failures: u32,
    /// The first retry's delay (doubling, at most 60 s).
    pub backoff: Duration,
    /// A job's lease (renewed every third of it while it runs).
    pub lease_ttl: Duration,
    /// How often the scheduler looks for jobs of other instances and expired leases.
    pub poll: Duration,
    pub max_redirects: usize,
}

impl Default for ImportConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            per_user: 2,
            max_size: 100 << 30,
            policy: guard::Policy::default(),
            stall_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_failures: 8,
            backoff: Duration::from_secs(1),
            lease_ttl: Duration::from_secs(30),
            poll: Duration::from_secs(1),
            max_redirects: 5,
        }
    }
}

impl ImportConfig {
    /// The delay before attempt `failures + 1`.
    pub fn backoff_after(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.saturating_sub(1).min(16);
        self.backoff
            .saturating_mul(factor)
            .min(Duration::from_secs(60))
    }
}

/// What every job task shares.
pub(crate) struct Ctx {
    pub svc: UploadService,
    pub limits: Limits,
    pub cfg: ImportConfig,
    pub fetcher: fetch::Fetcher,
}

/// Starts the scheduler of this instance.
pub fn spawn(
    svc: UploadService,
    limits: Limits,
    cfg: ImportConfig,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let fetcher = fetch::Fetcher::new(cfg.policy.clone(), cfg.connect_timeout, cfg.max_redirects)?;
    let ctx = Arc::new(Ctx {
        svc,
        limits,
        cfg,
        fetcher,
    });
    Ok(tokio::spawn(schedule(ctx)))
}

async fn schedule(ctx: Arc<Ctx>) {
    let slots = Arc::new(Semaphore::new(ctx.cfg.concurrency.max(1)));
    loop {
        tokio::select! {
            _ = ctx.svc.import_queued() => {}
            _ = tokio::time::sleep(ctx.cfg.poll) => {}
        }
        if slots.available_permits() == 0 {
            continue;
        }
        let mut jobs = match ctx.svc.import_jobs().await {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(error = %e, "import jobs not listed");
                continue;
            }
        };
        let now = now_ms();
        let held = jobs.iter().filter(|j| j.held(now)).count();
        metrics::gauge!("upgate_import_jobs", "state" => "running").set(held as f64);
        metrics::gauge!("upgate_import_jobs", "state" => "queued").set((jobs.len() - held) as f64);
        let mut per_user: HashMap<(i64, String), usize> = HashMap::new();
        for j in jobs.iter().filter(|j| j.held(now)) {
            *per_user.entry((j.partner, j.user.clone())).or_default() += 1;
        }
        jobs.retain(|j| j.claimable(now));
        jobs.sort_by(|a, b| (a.created_at, &a.entry_id).cmp(&(b.created_at, &b.entry_id)));
        for job in jobs {
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                break;
            };
            let running = per_user.entry((job.partner, job.user.clone())).or_default();
            if *running >= ctx.cfg.per_user {
                continue;
            }
            let holder = crate::model::new_id();
            match ctx
                .svc
                .claim_import(&job.entry_id, &holder, ctx.cfg.lease_ttl)
                .await
            {
                Ok(Some(claimed)) => {
                    *running += 1;
                    let ctx = ctx.clone();
                    tokio::spawn(async move {
                        job::run(ctx.clone(), claimed).await;
                        drop(permit);
                        ctx.svc.wake_imports();
                    });
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "import job not claimed"),
            }
        }
    }
}
