//! Protocol-neutral upload logic: [`UploadService`] creates uploads, appends and stages
//! bytes, merges staged ranges, finalizes, reads and deletes — on any
//! [`StateStore`] and [`Assembler`]. It knows no HTTP: adapters in `api/` parse requests
//! into calls here and map [`Error`] to their wire errors.
//!
//! One file per operation: `create`, `append` (tus PATCH, and the write pump every
//! write uses), `put_range` (ranged PUT: any position), `chunk` (chunks that name their
//! place and end: Kaltura `uploadToken.upload`, PS2; the upload's [`Phase`] machine),
//! `merge` (staged ranges into the contiguous data), `finalize` (complete at a size
//! declared after the fact), `status`, `read`, `terminate`, `entry` (media entries and
//! documents), `category`, `caption`, `import` (URL import jobs), `probe` (what a
//! finished file is).
//!
//! How a write stays safe:
//! 1. take the upload's lease (compare-and-set on the offset for tus PATCH);
//! 2. stream the body into a [`crate::blob::BlobWriter`] (bounded queue, no buffering);
//! 3. at commit points (every `commit_every` bytes or `commit_interval`, and at the end)
//!    make the bytes durable, then move the offset with a fenced CAS in the state store;
//! 4. merge staged out-of-order ranges that became contiguous, finalize when full;
//! 5. release the lease (with the last commit where it can) and look once more for
//!    ranges staged meanwhile.
//!
//! The adapters run these calls in a spawned task, so a client hangup never cancels a
//! storage write half-way: the body ends with an error and what arrived is committed.

pub mod body;
pub mod caption;
pub mod category;
pub mod entry;
pub mod error;
pub mod hooks;
pub mod import;
pub mod writers;

mod append;
mod chunk;
mod compare;
mod create;
mod finalize;
mod merge;
mod probe;
mod put_range;
mod read;
mod running;
mod status;
mod terminate;
mod typed_docs;

use std::sync::Arc;
use std::time::Duration;

pub use crate::model::{ConcatRole, Owner, Phase, StagedRange, Status, UploadRecord};
pub use append::{AppendRequest, OnCommit};
pub use chunk::{ChunkRequest, Placement};
pub use create::CreateRequest;
pub use error::{Error, Result};
pub use read::Download;

use crate::blob::Assembler;
use crate::state::{StateStore, Update};
use writers::Writers;

/// Tunables of the core, with the defaults `upgate serve` documents.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Largest upload accepted, in bytes.
    pub max_upload_size: u64,
    /// An incomplete upload untouched for this long is removed.
    pub upload_expiry: Duration,
    /// A lease not renewed for this long may be taken by another request (of any
    /// instance). Writers renew it every third of this while bytes arrive.
    pub lease_ttl: Duration,
    /// A local writer that received nothing for this long is stopped when another
    /// request for the same upload arrives (the client reconnected).
    pub stall_after: Duration,
    /// Commit (fsync + offset CAS) at least every this many bytes of one request.
    pub commit_every: u64,
    /// ... and at least this often while bytes arrive.
    pub commit_interval: Duration,
    /// How long a ranged PUT that completed the byte coverage waits for the merge.
    pub merge_wait: Duration,
    /// Longest a final chunk waits in all while the bytes before it keep arriving.
    pub final_wait_max: Duration,
    /// Webhook receivers and the events they get (none by default).
    pub hooks: hooks::HookTargets,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            max_upload_size: 100 << 30,
            upload_expiry: Duration::from_secs(7 * 86400),
            lease_ttl: Duration::from_secs(10),
            stall_after: Duration::from_secs(2),
            commit_every: 64 << 20,
            commit_interval: Duration::from_secs(5),
            merge_wait: Duration::from_secs(30),
            final_wait_max: Duration::from_secs(3600),
            hooks: hooks::HookTargets::default(),
        }
    }
}

/// The upload service shared by every protocol adapter.
#[derive(Clone)]
pub struct UploadService {
    pub(crate) state: Arc<dyn StateStore>,
    pub(crate) blobs: Arc<dyn Assembler>,
    pub(crate) cfg: Arc<CoreConfig>,
    pub(crate) writers: Arc<Writers>,
    /// Wakes the local import runner when a job is queued.
    pub(crate) import_wake: Arc<tokio::sync::Notify>,
    /// Wakes the local webhook dispatcher when an event is queued.
    pub(crate) hook_wake: Arc<tokio::sync::Notify>,
    /// Asked before an upload is created (`--pre-create-hook`).
    pub(crate) create_gate: Option<Arc<dyn hooks::CreateGate>>,
}

impl UploadService {
    pub fn new(state: Arc<dyn StateStore>, blobs: Arc<dyn Assembler>, cfg: CoreConfig) -> Self {
        Self {
            state,
            blobs,
            cfg: Arc::new(cfg),
            writers: Arc::new(Writers::default()),
            import_wake: Arc::new(tokio::sync::Notify::new()),
            hook_wake: Arc::new(tokio::sync::Notify::new()),
            create_gate: None,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &CoreConfig {
        &self.cfg
    }

    /// Asks every active writer to commit what arrived and stop (graceful shutdown).
    pub fn stop_writers(&self) {
        self.writers.stop_all();
    }

    /// Number of requests writing right now.
    pub fn active_writers(&self) -> usize {
        self.writers.len()
    }

    /// Loads a record, refusing unknown and expired uploads.
    pub(crate) async fn load(&self, id: &str) -> Result<UploadRecord> {
        if !crate::model::is_valid_id(id) {
            return Err(Error::NotFound);
        }
        let rec = self.state.get(id).await?.ok_or(Error::NotFound)?;
        if rec.status == Status::Open
            && rec.expires_at != 0
            && rec.expires_at < crate::model::now_secs()
        {
            return Err(Error::Expired);
        }
        Ok(rec)
    }

    /// The record as stored, without waiting for writers (`None`: unknown id).
    pub async fn peek(&self, id: &str) -> Result<Option<UploadRecord>> {
        match self.load(id).await {
            Ok(r) => Ok(Some(r)),
            Err(Error::NotFound) | Err(Error::Expired) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records a marker document (a revoked session, say).
    pub async fn mark(&self, kind: &str, id: &str) -> Result<()> {
        let _ = self.state.doc_put(kind, id, "", None).await?;
        Ok(())
    }

    /// Whether a marker document exists.
    pub async fn is_marked(&self, kind: &str, id: &str) -> Result<bool> {
        Ok(self.state.doc_get(kind, id).await?.is_some())
    }

    /// A lease request for one operation of this process.
    pub(crate) fn lease_request(&self, expected_offset: Option<u64>) -> crate::state::LeaseRequest {
        crate::state::LeaseRequest {
            holder: crate::model::new_id(),
            expected_offset,
            ttl: self.cfg.lease_ttl,
            owner: None,
        }
    }

    /// The largest length an upload may reach.
    pub(crate) fn limit_of(&self, rec: &UploadRecord) -> u64 {
        rec.length.unwrap_or(self.cfg.max_upload_size)
    }

    pub(crate) fn expiry_from_now(&self) -> u64 {
        crate::model::now_secs() + self.cfg.upload_expiry.as_secs()
    }

    /// Sets adapter attributes (see [`crate::state::StateStore::update_attrs`]).
    pub async fn set_attrs(
        &self,
        id: &str,
        expect: Option<(String, Option<String>)>,
        set: Vec<(String, String)>,
    ) -> Result<Option<UploadRecord>> {
        match self.state.update_attrs(id, expect, set).await? {
            Update::Done(r) => Ok(Some(*r)),
            Update::Missing => Err(Error::NotFound),
            Update::Refused(_) => Ok(None),
        }
    }

    /// Uploads of one owner (or all of a partner's).
    pub async fn list(&self, filter: &crate::model::ListFilter) -> Result<Vec<UploadRecord>> {
        Ok(self.state.list(filter).await?)
    }
}
