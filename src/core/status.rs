//! Reading an upload's state for HEAD / status queries, and finalization: turning a
//! filled upload into its final object exactly once.

use super::{Error, Result, UploadService};
use crate::model::hook::HookEvent;
use crate::model::{Status, UploadRecord};
use crate::state::{Acquire, Commit, Lease};

/// A writer ended by a newer request is first left to read what already arrived, until
/// nothing came for this long ...
pub const PREEMPT_QUIET: std::time::Duration = std::time::Duration::from_millis(250);
/// ... or at most this long.
pub const PREEMPT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// How often a status query waiting for a writer looks whether it stalled (its going
/// wakes the query at once).
const STALL_LOOK: std::time::Duration = std::time::Duration::from_millis(50);

impl UploadService {
    /// The current record, settled: a client asks for the offset when it resumes, and
    /// its old connection may still have a writer here. That writer is waited for while
    /// it commits what it received; if it stays silent for `stall_after` it is stopped
    /// (its bytes are committed too). Only a writer that keeps receiving for longer is
    /// left alone, and the offset committed so far is answered; so is one that is
    /// assembling the upload (its every byte is in the record already). Bytes a crashed
    /// writer had received past the committed offset, where the file store still has
    /// them, are made durable and counted here ([`Self::recover_tail`]). A filled upload
    /// that is not finalized yet (a crash between the last commit and the assembly) is
    /// finalized here.
    pub async fn status(&self, id: &str) -> Result<UploadRecord> {
        let patience = self.cfg.stall_after + std::time::Duration::from_millis(500);
        let deadline = tokio::time::Instant::now() + patience;
        // A writer that is assembling has its bytes in the record already.
        while self.writers.is_receiving(id) && tokio::time::Instant::now() < deadline {
            if self.writers.stop_if_stalled(id, self.cfg.stall_after) {
                self.wait_writer_gone(id).await;
                break;
            }
            // Until it goes, or to look again whether it stalled.
            self.writers.wait_gone(id, STALL_LOOK).await;
        }
        let mut rec = self.load(id).await?;
        if rec.status == Status::Open && !self.writers.is_active(id) {
            rec = self.recover_tail(rec).await?;
        }
        if rec.status == Status::Open && rec.is_filled() && !self.writers.is_active(id) {
            return self.finish_unleased(id).await;
        }
        Ok(rec)
    }

    /// [`Self::status`] for a client that ends the older request (RUFH: a new request on
    /// an upload ends the one still writing it, on this instance): see [`Self::end_writer`].
    /// `arrived`: when the asking request arrived.
    pub async fn status_preempting(
        &self,
        id: &str,
        arrived: std::time::Instant,
    ) -> Result<UploadRecord> {
        self.end_writer(id, arrived).await;
        self.status(id).await
    }

    /// Ends this instance's writer of `id` whose request arrived before `arrived` (a
    /// newer one is left alone), and waits until it has committed. It first reads what
    /// had already reached this machine for it (bytes in flight when its client gave
    /// up, which would otherwise be sent again): it is stopped as soon as nothing
    /// arrived for [`PREEMPT_QUIET`], and at the latest after [`PREEMPT_WAIT`].
    /// Returns whether there was one.
    pub(crate) async fn end_writer(&self, id: &str, arrived: std::time::Instant) -> bool {
        let start = tokio::time::Instant::now();
        let mut found = false;
        // Stopped, a writer commits and goes within moments; a storage that hangs is
        // not waited for past a few seconds more (the lease then answers for it).
        while start.elapsed() < PREEMPT_WAIT * 3 {
            let force = start.elapsed() >= PREEMPT_WAIT;
            if self
                .writers
                .end_older(id, arrived, PREEMPT_QUIET, force)
                .is_none()
            {
                break;
            }
            found = true;
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        found
    }

    /// Takes in the bytes a writer that died (`kill -9`, OOM) had written past the
    /// committed offset and the file store kept: under the upload's lease, they are made
    /// durable first, then the offset moves to them. Anything else (no tail, the lease
    /// held, a store that keeps no tail) leaves the record as it is.
    async fn recover_tail(&self, rec: UploadRecord) -> Result<UploadRecord> {
        let Some(end) = self.blobs.tail(&rec.id, rec.offset).await? else {
            return Ok(rec);
        };
        let end = end.min(self.limit_of(&rec));
        if end <= rec.offset {
            return Ok(rec);
        }
        let req = self.lease_request(Some(rec.offset));
        let lease = match self.state.acquire(&rec.id, &req).await? {
            Acquire::Granted(lease, _) => lease,
            _ => return Ok(rec),
        };
        let durable = self.blobs.keep_tail(&rec.id, end).await;
        let out = match durable {
            Ok(d) if d > rec.offset => {
                let c = Commit {
                    expected_offset: rec.offset,
                    new_offset: d,
                    expires_at: Some(self.expiry_from_now()),
                    ..Default::default()
                };
                let r = self.apply(&lease, &c).await;
                if r.is_ok() {
                    metrics::counter!("upgate_bytes_recovered_total").increment(d - rec.offset);
                    tracing::info!(id = %rec.id, from = rec.offset, to = d, "bytes kept from a crashed writer");
                }
                r
            }
            Ok(_) => Ok(rec),
            Err(e) => Err(e.into()),
        };
        if let Err(e) = self.state.release(&lease).await {
            tracing::debug!(id = %lease.id, error = %e, "lease release failed; it expires by TTL");
        }
        match out {
            // Staged ranges the kept bytes reach are merged now.
            Ok(r) if !r.ranges.is_empty() => self.try_merge(&r.id).await,
            other => other,
        }
    }

    /// Waits (briefly) until no local request writes `id`.
    pub(crate) async fn wait_writer_gone(&self, id: &str) {
        self.writers
            .wait_gone(id, std::time::Duration::from_secs(3))
            .await;
    }

    /// Finalizes under the caller's lease: assemble, then mark complete (and release
    /// the lease in the same step when `release`).
    pub(crate) async fn finish(
        &self,
        lease: &Lease,
        rec: UploadRecord,
        release: bool,
    ) -> Result<UploadRecord> {
        if rec.status == Status::Complete || !rec.is_filled() {
            return Ok(rec);
        }
        self.writers.assembling(&rec.id, &lease.holder);
        self.keeping(
            lease,
            self.blobs.complete(&rec.id, rec.offset, &rec.assembly),
        )
        .await?;
        let c = Commit {
            expected_offset: rec.offset,
            new_offset: rec.offset,
            complete: true,
            release,
            ..Default::default()
        };
        let r = self.apply(lease, &c).await?;
        metrics::counter!("upgate_uploads_completed_total").increment(1);
        self.emit(
            HookEvent::Finished,
            || serde_json::json!({ "upload": super::hooks::upload_json(&r) }),
            Some(&r.id),
        )
        .await;
        self.describe_later(&r.id, r.offset);
        Ok(r)
    }

    /// Finalizes a filled upload, taking the lease for it; when someone else holds the
    /// lease they will finalize, and the current record is returned.
    pub(crate) async fn finish_unleased(&self, id: &str) -> Result<UploadRecord> {
        let req = self.lease_request(None);
        match self.state.acquire(id, &req).await? {
            Acquire::Granted(lease, rec) => {
                let out = self.finish(&lease, *rec, false).await;
                let _ = self.state.release(&lease).await;
                out
            }
            Acquire::Missing => Err(Error::NotFound),
            Acquire::Complete | Acquire::Held { .. } | Acquire::Conflict { .. } => {
                self.load(id).await
            }
        }
    }
}

impl UploadService {
    /// Whether the state store and the file store answer within `budget` each; the one
    /// that does not, named.
    pub async fn ready(
        &self,
        budget: std::time::Duration,
    ) -> std::result::Result<(), &'static str> {
        match tokio::time::timeout(budget, self.state.get("readyz-probe")).await {
            Ok(Ok(_)) => {}
            _ => return Err("state store"),
        }
        // A missing file is an answer; only a backend failure or silence is not.
        match tokio::time::timeout(budget, self.blobs.read("readyz-probe", 0, 0, true)).await {
            Ok(Err(crate::blob::BlobError::Backend(_))) | Err(_) => Err("file store"),
            Ok(_) => Ok(()),
        }
    }
}
