//! Upload state: the durable record of every upload and the per-upload write lease.
//!
//! Owns: [`UploadRecord`] persistence, the offset compare-and-set, leases with fencing
//! tokens, the list of staged out-of-order ranges. Must not: touch file data or know any
//! wire protocol. Every operation that moves an offset is one atomic step inside the
//! store (a redb write transaction here, a Lua script in Redis), so handlers never do
//! read-check-write.
//!
//! The shape is chosen to fit a Lua compare-and-set: each method is one script with its
//! preconditions checked server-side and a small typed outcome.

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod redb;
pub mod redis;

use std::time::Duration;

use async_trait::async_trait;

use crate::model::{ListFilter, OwnerCheck, StagedRange, UploadRecord};

/// Errors of the state layer. Precondition failures are not errors: they are outcomes.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StateError {
    /// The backend cannot be reached or refused the operation (Redis down, disk full).
    #[error("state store unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be decoded or the backend broke an invariant.
    #[error("state store corrupt: {0}")]
    Corrupt(String),
    /// An insert found an upload with the same id.
    #[error("upload already exists")]
    AlreadyExists,
}

/// A request for the write lease of one upload.
#[derive(Debug, Clone)]
pub struct LeaseRequest {
    /// Unique per request (the holder's name in logs and takeovers).
    pub holder: String,
    /// Grant only if the upload's offset equals this (tus PATCH); `None` grants at any offset.
    pub expected_offset: Option<u64>,
    /// How long the lease lives without renewal (commits renew it).
    pub ttl: Duration,
    /// Grant only to this owner; anyone else gets [`Acquire::Missing`], as if the upload
    /// did not exist.
    pub owner: Option<OwnerCheck>,
}

/// A granted lease. The fence increases with every grant for the same upload, so a
/// stale holder's commit is refused after someone else took the lease over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub id: String,
    pub holder: String,
    pub fence: u64,
}

/// Outcome of [`StateStore::acquire`].
#[derive(Debug, Clone, PartialEq)]
pub enum Acquire {
    /// The lease is yours; the record as of the grant.
    Granted(Lease, Box<UploadRecord>),
    /// The offset is not the expected one (tus 409).
    Conflict { offset: u64 },
    /// Another live holder has the lease (tus 423).
    Held { holder: String },
    /// No such upload.
    Missing,
    /// The upload is complete; nothing more can be written.
    Complete,
}

/// A durable step forward, applied atomically with the fence and offset checks.
#[derive(Debug, Clone, Default)]
pub struct Commit {
    /// The offset the writer started this step from.
    pub expected_offset: u64,
    /// The new contiguous durable length.
    pub new_offset: u64,
    /// New opaque assembler state (multipart id, parts), if it changed.
    pub assembly: Option<String>,
    /// Staged ranges that are now merged or obsolete (by key).
    pub drop_ranges: Vec<String>,
    /// Push the expiry of an incomplete upload to this time (unix seconds).
    pub expires_at: Option<u64>,
    /// Declare the upload's length to be `new_offset` when it has none yet (refused
    /// silently, like [`StateStore::set_length`] would refuse, when a staged range
    /// reaches past it); the returned record says whether it took.
    pub declare_length: bool,
    /// Mark the upload complete (only valid when `new_offset == length`).
    pub complete: bool,
    /// Set these attributes in the same step.
    pub attrs: Vec<(String, String)>,
    /// Release the lease in the same step (the writer is done).
    pub release: bool,
}

/// Outcome of [`StateStore::commit`].
#[derive(Debug, Clone, PartialEq)]
pub enum CommitOutcome {
    Done(Box<UploadRecord>),
    /// The lease was taken over; this writer must stop and write nothing more.
    Fenced,
    /// The offset moved under us (must not happen while the lease is held).
    Conflict {
        offset: u64,
    },
    Missing,
}

/// Outcome of [`StateStore::add_range`] and [`StateStore::set_length`].
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    Done(Box<UploadRecord>),
    Missing,
    /// The change contradicts the record (length already set differently, upload complete).
    Refused(String),
}

/// A versioned document of the generic store (media entries, partners, API tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    /// Increases with every write; used for compare-and-set.
    pub version: u64,
    pub body: String,
}

/// Durable upload state. Implementations: [`redb::RedbStore`] (embedded, one process)
/// and Redis (several gateways). Both pass the `conformance` suite (tests only).
#[async_trait]
pub trait StateStore: Send + Sync + 'static {
    /// Stores a new record; `AlreadyExists` when the id is taken.
    async fn insert(&self, rec: &UploadRecord) -> Result<(), StateError>;
    /// Reads one record.
    async fn get(&self, id: &str) -> Result<Option<UploadRecord>, StateError>;
    /// Takes the write lease if it is free (or its holder's TTL ran out) and the offset matches.
    async fn acquire(&self, id: &str, req: &LeaseRequest) -> Result<Acquire, StateError>;
    /// Releases a lease; a no-op when it was already taken over.
    async fn release(&self, lease: &Lease) -> Result<(), StateError>;
    /// Extends a live lease by `ttl` from now; false when it was taken over (or ran out).
    /// Writers call it while bytes arrive, so a stalled or dead holder's lease runs out
    /// and another instance can take over.
    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<bool, StateError>;
    /// Moves the offset forward: checks fence and expected offset, applies (length,
    /// completion, attributes as `c` says), then renews the lease — or
    /// releases it when `c.release`.
    async fn commit(
        &self,
        lease: &Lease,
        c: &Commit,
        ttl: Duration,
    ) -> Result<CommitOutcome, StateError>;
    /// Records a durably staged out-of-order range.
    async fn add_range(&self, id: &str, range: &StagedRange) -> Result<Update, StateError>;
    /// Declares the length of a deferred-length upload (idempotent for the same value).
    async fn set_length(&self, id: &str, length: u64) -> Result<Update, StateError>;
    /// Removes a record, returning it.
    async fn delete(&self, id: &str) -> Result<Option<UploadRecord>, StateError>;
    /// Ids of uploads whose `expires_at` is before `now` (unix seconds), at most `limit`.
    async fn expired(&self, now: u64, limit: usize) -> Result<Vec<String>, StateError>;
    /// Sets adapter attributes atomically; with `expect`, only if attribute `expect.0`
    /// currently has value `expect.1` (`None`: absent), else `Refused`.
    async fn update_attrs(
        &self,
        id: &str,
        expect: Option<(String, Option<String>)>,
        set: Vec<(String, String)>,
    ) -> Result<Update, StateError>;
    /// Uploads of one owner (or all), oldest first.
    async fn list(&self, filter: &ListFilter) -> Result<Vec<UploadRecord>, StateError>;

    /// Reads a document of `kind`.
    async fn doc_get(&self, kind: &str, id: &str) -> Result<Option<Doc>, StateError>;
    /// Writes a document if its version is still `expect` (`None`: it must not exist).
    /// Returns the new version, or `None` when the compare-and-set failed.
    async fn doc_put(
        &self,
        kind: &str,
        id: &str,
        body: &str,
        expect: Option<u64>,
    ) -> Result<Option<u64>, StateError>;
    /// Removes a document; true when it existed.
    async fn doc_delete(&self, kind: &str, id: &str) -> Result<bool, StateError>;
    /// Every document of `kind`, by id.
    async fn doc_list(&self, kind: &str) -> Result<Vec<(String, Doc)>, StateError>;
}
