//! URL import jobs as documents of the state store ([`ImportJob`], kind `import`, keyed
//! by entry id): queued with their entry, claimed and renewed by compare-and-set (a
//! lease, so one runner of any instance holds a job), and ended by moving the entry to
//! `Ready` or `ErrorImporting` before the job document goes. The runner that moves the
//! bytes lives in `crate::import`; this is only the bookkeeping every instance shares.

use std::time::Duration;

use crate::model::entry::{EntryStatus, MediaEntry};
use crate::model::hook::HookEvent;
use crate::model::import::{now_ms, ImportJob, JobState};

use super::{Error, Result, UploadService};

const KIND: &str = "import";

/// Most jobs one user may have queued or running; more are refused when asked for.
pub const MAX_QUEUED_PER_USER: usize = 1000;

/// How an import ended.
#[derive(Debug, Clone)]
pub enum ImportEnd {
    /// The upload `upload_id` holds the whole source (`size` bytes).
    Imported {
        upload_id: String,
        size: u64,
        file_name: Option<String>,
    },
    /// It failed for good, with a reason safe to show the user.
    Failed(String),
}

/// Whether an import may fetch `url`: absolute `http`/`https` with a host. Checked when
/// an import is asked for, when it starts, and on every redirect.
pub fn is_fetchable(url: &reqwest::Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty())
}

impl UploadService {
    /// Stores a new entry in `IMPORT` and its queued job, and wakes the local runner.
    pub async fn create_import(&self, entry: &MediaEntry, job: &ImportJob) -> Result<()> {
        self.create_entry(entry).await?;
        self.queue_import(job).await
    }

    /// Queues the job of an existing entry (already moved to `IMPORT`).
    pub async fn queue_import(&self, job: &ImportJob) -> Result<()> {
        if !self.insert_typed(KIND, &job.entry_id, job).await? {
            return Err(Error::Complete);
        }
        metrics::counter!("upgate_import_jobs_queued_total").increment(1);
        self.wake_imports();
        Ok(())
    }

    /// Wakes the local import scheduler (a job was queued or a slot freed).
    pub fn wake_imports(&self) {
        self.import_wake.notify_one();
    }

    /// Resolves when a job was queued by this process (or spuriously).
    pub async fn import_queued(&self) {
        self.import_wake.notified().await;
    }

    pub async fn import_job(&self, entry_id: &str) -> Result<Option<ImportJob>> {
        self.read_typed(KIND, entry_id).await
    }

    /// Every job not ended yet.
    pub async fn import_jobs(&self) -> Result<Vec<ImportJob>> {
        self.list_typed(KIND, |_: &ImportJob| true).await
    }

    /// `(bytes stored, source size)` of an entry's import, once its source answered.
    pub async fn import_progress(&self, entry_id: &str) -> Result<Option<(u64, Option<u64>)>> {
        let Some(upload) = self.import_job(entry_id).await?.and_then(|j| j.upload_id) else {
            return Ok(None);
        };
        Ok(self.peek(&upload).await?.map(|r| (r.offset, r.length)))
    }

    /// How many jobs of one user are not ended.
    pub async fn import_jobs_of(&self, partner: i64, user: &str) -> Result<usize> {
        Ok(self
            .list_typed(KIND, |j: &ImportJob| j.partner == partner && j.user == user)
            .await?
            .len())
    }

    /// Takes the job for `holder` for `ttl` when it is claimable; `None` when another
    /// runner has it (or it ended).
    pub async fn claim_import(
        &self,
        entry_id: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<ImportJob>> {
        let out = self
            .update_typed(KIND, entry_id, |j: &mut ImportJob| {
                let now = now_ms();
                if !j.claimable(now) {
                    return Err(Error::Locked);
                }
                j.state = JobState::Running;
                j.holder = Some(holder.to_owned());
                j.lease_until_ms = now + ttl.as_millis() as u64;
                Ok(())
            })
            .await;
        match out {
            Ok(j) => Ok(Some(j)),
            Err(Error::Locked) | Err(Error::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Changes a job `holder` still holds; `Locked` when the lease was lost (another
    /// runner took it over), `NotFound` when the job ended.
    pub async fn update_import(
        &self,
        entry_id: &str,
        holder: &str,
        mut change: impl FnMut(&mut ImportJob),
    ) -> Result<ImportJob> {
        self.update_typed(KIND, entry_id, |j: &mut ImportJob| {
            if j.holder.as_deref() != Some(holder) || j.state != JobState::Running {
                return Err(Error::Locked);
            }
            change(j);
            Ok(())
        })
        .await
    }

    /// Ends a job: the entry becomes `READY` with the upload as its content, or
    /// `ERROR_IMPORTING` with the reason; then the job document goes. An entry that is
    /// no longer importing (deleted, or ended by another runner) is left alone.
    pub async fn end_import(&self, entry_id: &str, end: ImportEnd) -> Result<Option<MediaEntry>> {
        let updated = self
            .update_entry(entry_id, |e| {
                if e.status != EntryStatus::Import {
                    return Err(Error::Complete);
                }
                match &end {
                    ImportEnd::Imported {
                        upload_id,
                        size,
                        file_name,
                    } => {
                        e.status = EntryStatus::Ready;
                        e.upload_id = Some(upload_id.clone());
                        e.size = Some(*size);
                        e.file_name.clone_from(file_name);
                        e.import_error = None;
                    }
                    ImportEnd::Failed(why) => {
                        e.status = EntryStatus::ErrorImporting;
                        e.import_error = Some(why.clone());
                    }
                }
                Ok(())
            })
            .await;
        let entry = match updated {
            Ok(e) => Some(e),
            Err(Error::Complete) | Err(Error::NotFound) => None,
            Err(e) => return Err(e),
        };
        self.state.doc_delete(KIND, entry_id).await?;
        if let (ImportEnd::Imported { upload_id, .. }, Some(e), true) =
            (&end, &entry, self.hooks_want(HookEvent::Imported))
        {
            let upload = self.peek(upload_id).await.ok().flatten();
            self.emit(
                HookEvent::Imported,
                || {
                    serde_json::json!({
                        "entry": super::hooks::entry_json(e),
                        "upload": upload.as_ref().map(super::hooks::upload_json),
                    })
                },
                Some(upload_id),
            )
            .await;
        }
        let outcome = match (&end, &entry) {
            (_, None) => "abandoned",
            (ImportEnd::Imported { .. }, _) => "imported",
            (ImportEnd::Failed(_), _) => "failed",
        };
        metrics::counter!("upgate_import_jobs_ended_total", "outcome" => outcome).increment(1);
        Ok(entry)
    }

    /// Drops the job of an entry being deleted (a runner holding it notices at its next
    /// renewal and removes the upload it was filling).
    pub async fn cancel_import(&self, entry_id: &str) -> Result<()> {
        self.state.doc_delete(KIND, entry_id).await?;
        Ok(())
    }
}
