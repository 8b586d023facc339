//! File data: where upload bytes live while they arrive and once assembled.
//!
//! Owns: the byte layout of uploads in storage (append writers, staged out-of-order
//! ranges, assembly of the final object), reads for downloads. Must not: decide offsets
//! (the state store does), know any wire protocol, or buffer a whole chunk.
//!
//! The contract a writer gives the core: bytes passed to [`BlobWriter::write`] are
//! durable once [`BlobWriter::commit`] returns, and the returned [`CommitPoint`] says how
//! far. Bytes written and never committed may be discarded; the next writer opened at
//! the committed offset overwrites them. This fits a local append file (fsync at commit)
//! and object_store's `MultipartStore` (fixed-size parts plus a durable tail object, the
//! part list carried in `CommitPoint::assembly`).

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod local;
pub mod object;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::model::StagedRange;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("storage I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The object or staged range does not exist (any more).
    #[error("not found: {0}")]
    NotFound(String),
    /// The backend refused the operation (object store error, quota).
    #[error("storage backend: {0}")]
    Backend(String),
    /// These bytes are stored but cannot be read back yet (parts of an unfinished
    /// multipart upload).
    #[error("not readable yet: {0}")]
    Unreadable(String),
}

impl From<BlobError> for std::io::Error {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::Io(io) => io,
            other => std::io::Error::other(other.to_string()),
        }
    }
}

/// How far a writer's bytes are durable, and the assembler state that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitPoint {
    /// Absolute offset up to which the upload's bytes are durable.
    pub offset: u64,
    /// New opaque assembler state to store with the offset (`None`: unchanged).
    pub assembly: Option<String>,
}

/// A stream of byte chunks read from storage, ending with `None`.
pub type ByteStream = mpsc::Receiver<Result<Bytes, BlobError>>;

/// Appends to an upload's contiguous data at a fixed starting offset.
#[async_trait]
pub trait BlobWriter: Send {
    /// Queues bytes for writing at the current position.
    async fn write(&mut self, data: Bytes) -> Result<(), BlobError>;
    /// Appends bytes `[from, range.end)` of a staged range (`range.start <= from`).
    async fn absorb(&mut self, range: &StagedRange, from: u64) -> Result<(), BlobError>;
    /// Appends bytes `[0, len)` of another complete upload (tus concatenation).
    async fn absorb_upload(&mut self, other_id: &str, len: u64) -> Result<(), BlobError>;
    /// The client has nothing more for now (its next bytes are not there yet): a writer
    /// that gathers frames before handing them on hands on what it holds, so a crash of
    /// the process while the client pauses keeps them ([`Assembler::tail`]). Nothing is
    /// made durable. Default: nothing.
    async fn idle(&mut self) -> Result<(), BlobError> {
        Ok(())
    }
    /// Makes everything written so far durable and reports how far that is.
    async fn commit(&mut self) -> Result<CommitPoint, BlobError>;
    /// A commit asked for by time rather than by the end of a body: makes durable at
    /// least the bytes written more than `age` ago, and may stop short of the rest
    /// (the next commit covers them). Object storage skips copying a tail that is
    /// younger than `age` (a fast stream's bytes reach a part soon enough).
    /// Default: [`BlobWriter::commit`].
    async fn commit_aged(&mut self, _age: std::time::Duration) -> Result<CommitPoint, BlobError> {
        self.commit().await
    }
    /// The bytes written from now on came in order from a client and need no check
    /// before they count (no checksum pending): a backend that keeps written bytes
    /// across a crash of the process may offer them later ([`Assembler::tail`]).
    /// Default: nothing.
    async fn trust_tail(&mut self) -> Result<(), BlobError> {
        Ok(())
    }
}

/// Writes one out-of-order range to its own staging place.
#[async_trait]
pub trait StageWriter: Send {
    /// The key the range will be known by (to discard an unfinished range).
    fn key(&self) -> &str;
    async fn write(&mut self, data: Bytes) -> Result<(), BlobError>;
    /// Makes the range durable and returns its key (for [`StagedRange::key`]).
    async fn finish(self: Box<Self>) -> Result<String, BlobError>;
}

/// Storage for upload data. Implementations: [`local::LocalAssembler`] (a directory)
/// and object storage through object_store's `MultipartStore`. Both pass the `conformance`
/// suite (tests only).
#[async_trait]
pub trait Assembler: Send + Sync + 'static {
    /// Prepares storage for a new upload; returns the initial assembler state.
    async fn create(&self, id: &str, length: Option<u64>) -> Result<String, BlobError>;
    /// Opens a writer appending at `offset` (the committed offset; anything stored past
    /// it is uncommitted and is overwritten).
    async fn open(
        &self,
        id: &str,
        offset: u64,
        assembly: &str,
    ) -> Result<Box<dyn BlobWriter>, BlobError>;
    /// Opens a writer for an out-of-order range starting at `start`.
    async fn stage(&self, id: &str, start: u64) -> Result<Box<dyn StageWriter>, BlobError>;
    /// Removes a staged range (after it was absorbed, or when it is obsolete).
    async fn discard_staged(&self, id: &str, key: &str) -> Result<(), BlobError>;
    /// Turns the stored bytes `[0, length)` into the final object. Idempotent: calling it
    /// again after success (or after a crash in the middle) succeeds.
    async fn complete(&self, id: &str, length: u64, assembly: &str) -> Result<(), BlobError>;
    /// Streams bytes `[start, end)`: of the final object when `complete`, else of the
    /// committed prefix (used to compare re-sent ranges).
    async fn read(
        &self,
        id: &str,
        start: u64,
        end: u64,
        complete: bool,
    ) -> Result<ByteStream, BlobError>;
    /// Removes everything stored for the upload (in progress, staged or final).
    async fn delete(&self, id: &str, assembly: &str) -> Result<(), BlobError>;
    /// The assembler state for the same upload emptied (a client restarting it from
    /// byte 0): `None` when the state does not depend on what was written (the next
    /// writer simply overwrites).
    fn reset(&self, _assembly: &str) -> Result<Option<String>, BlobError> {
        Ok(None)
    }
    /// The longest bytes that arrived should wait to be stored, on a store where a
    /// crash would lose uncommitted bytes (no [`Assembler::tail`] to recover): the core
    /// then commits (by age, [`BlobWriter::commit_aged`]) every half of it, also while
    /// a client pauses. `None`: the core's own interval.
    fn commit_interval(&self) -> Option<std::time::Duration> {
        None
    }
    /// Bytes past the committed `offset` that a crashed trusted writer had written and
    /// this backend still has (a local file keeps them when only the process died):
    /// how far they reach. Nothing is made durable by asking. Default: none.
    async fn tail(&self, _id: &str, _offset: u64) -> Result<Option<u64>, BlobError> {
        Ok(None)
    }
    /// Makes the tail up to `end` durable and returns how far the durable bytes reach
    /// (at most `end`). Called under the upload's lease, before the offset moves.
    async fn keep_tail(&self, _id: &str, _end: u64) -> Result<u64, BlobError> {
        Err(BlobError::Backend("this store keeps no tail".into()))
    }
}
