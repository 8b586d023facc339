//! File data in object storage (S3, GCS, Azure) through object_store's low-level
//! `MultipartStore`, so any gateway instance can continue any upload.
//!
//! # Layout (under the URL's prefix `P`)
//! - `P uploads/ID`: the final object (a multipart upload until completion);
//! - `P tmp/ID/tail-N`: the durable tail — bytes past the last full part, rewritten at
//!   every commit under a new name (the state names the current one);
//! - `P tmp/ID/staged-START-RAND`: out-of-order ranges (Kaltura `resumeAt`, ranged PUT),
//!   absorbed as parts once the prefix reaches them.
//!
//! # Re-blocking
//! Client bytes are cut into fixed-size parts, all equal except the last (R2-safe):
//! 8 MiB by default, grown from the declared length (or the gateway's maximum upload
//! size when deferred) so no upload needs more than 10,000 parts. A commit uploads the
//! full parts and stores the rest as the tail object; the offset counts both. The next
//! writer (on any instance) continues after the tail without reading it: the tail is
//! read back only when it is sent again (at the start of the part it fills, in a tail
//! written again whole, or as the last part at completion), within the budget of bytes
//! in flight. Completion sends the tail as the last part and completes the multipart
//! upload exactly once.
//!
//! The assembly state kept in the upload record ([`Assembly`], JSON) holds the
//! multipart id, the part size, every part's id (ETag) and the current tail.
//!
//! Parts of an unfinished multipart upload cannot be read back, so re-sent bytes that
//! fall in them are not compared ([`crate::blob::BlobError::Unreadable`]).

mod block;
mod spool;
mod stage;
pub mod strict;
mod url;
mod writer;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{Assembler, BlobError, BlobWriter, ByteStream, StageWriter};
pub use url::open_url;

/// The default part size.
pub const DEFAULT_PART: u64 = 8 << 20;
/// S3's (and GCS's) part count limit.
pub const MAX_PARTS: u64 = 10_000;
/// S3's largest part.
const MAX_PART: u64 = 5 << 30;

/// What the upload record stores for an object-store upload.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Assembly {
    /// The multipart upload id.
    pub mp: String,
    /// Size of every part but the last.
    pub part: u64,
    /// Part ids (ETags) in order.
    pub parts: Vec<String>,
    /// Bytes in the tail object.
    pub tail: u64,
    /// The tail object's name (relative to the upload's temp folder).
    #[serde(default)]
    pub tail_key: String,
    /// Increases with every tail written (unique tail names).
    #[serde(default)]
    pub generation: u64,
    /// Tail bytes written after the tail object, in order, one object each: a commit
    /// that adds bytes to an unchanged part list writes only the new bytes (so
    /// frequent commits cost what they add, not the whole tail again). `tail` counts
    /// them too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more: Vec<Segment>,
}

/// One appended piece of the tail.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Segment {
    pub key: String,
    pub len: u64,
}

impl Assembly {
    /// Bytes durably stored: full parts plus the tail.
    pub fn offset(&self) -> u64 {
        self.parts.len() as u64 * self.part + self.tail
    }

    /// The tail's objects in order, with their lengths (the tail object, then the
    /// appended segments).
    pub fn tail_objects(&self) -> Vec<(String, u64)> {
        let more: u64 = self.more.iter().map(|s| s.len).sum();
        let base = self.tail.saturating_sub(more);
        let mut out = Vec::with_capacity(1 + self.more.len());
        if base > 0 {
            out.push((self.tail_key.clone(), base));
        }
        out.extend(self.more.iter().map(|s| (s.key.clone(), s.len)));
        out
    }

    fn parse(text: &str) -> Result<Self, BlobError> {
        serde_json::from_str(text)
            .map_err(|e| BlobError::Backend(format!("bad assembly state: {e}")))
    }

    fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The part size for an upload of `len` bytes (or at most `max` when deferred).
pub fn part_size(len: Option<u64>, max: u64) -> u64 {
    let total = len.unwrap_or(max);
    let need = total.div_ceil(MAX_PARTS).div_ceil(1 << 20) << 20;
    need.clamp(DEFAULT_PART, MAX_PART)
}

pub(crate) fn backend(e: object_store::Error) -> BlobError {
    match e {
        object_store::Error::NotFound { path, .. } => BlobError::NotFound(path),
        other => BlobError::Backend(other.to_string()),
    }
}

/// Shared by the assembler and its writers.
pub(crate) struct Inner {
    pub objects: Arc<dyn ObjectStore>,
    pub multipart: Arc<dyn MultipartStore>,
    pub prefix: String,
    /// Largest upload (sizes parts of deferred-length uploads).
    pub max_size: u64,
    /// MiB of parts being uploaded, over all writers of this process: part uploads
    /// wait for room, so many concurrent uploads slow down instead of exhausting memory.
    pub in_flight: Arc<tokio::sync::Semaphore>,
    /// MiB of parts being filled held in memory, over all writers of this process;
    /// beyond it writers spool to `spool_dir` (see `spool.rs`).
    pub buffers: Arc<tokio::sync::Semaphore>,
    pub spool_dir: std::path::PathBuf,
    /// The size of `in_flight`, in MiB (one upload asks for at most all of it).
    pub in_flight_mib: usize,
    /// See [`Assembler::commit_interval`].
    pub commit_interval: std::time::Duration,
}

/// Default longest wait of arrived bytes for a commit (see [`Assembler::commit_interval`]).
pub const COMMIT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Bytes of part uploads (and tail objects) in flight per process, in MiB.
pub const IN_FLIGHT_MIB: usize = 32;
/// Bytes of parts being filled kept in memory per process, in MiB.
pub const BUFFER_MIB: usize = 32;
/// Requests on one upload's temporary objects (tail reads, deletes) run this many at
/// once.
const TMP_REQUESTS: usize = 8;

impl Inner {
    pub fn final_path(&self, id: &str) -> Path {
        Path::from(format!("{}uploads/{id}", self.prefix))
    }

    pub fn tmp_dir(&self, id: &str) -> Path {
        Path::from(format!("{}tmp/{id}", self.prefix))
    }

    pub fn tmp_path(&self, id: &str, name: &str) -> Path {
        Path::from(format!("{}tmp/{id}/{name}", self.prefix))
    }

    /// Room in the process-wide budget of bytes in flight for `len` bytes (released
    /// when the permit drops).
    pub async fn room(&self, len: u64) -> Result<tokio::sync::OwnedSemaphorePermit, BlobError> {
        let mib = (len.div_ceil(1 << 20) as u32).clamp(1, self.in_flight_mib as u32);
        self.in_flight
            .clone()
            .acquire_many_owned(mib)
            .await
            .map_err(|e| BlobError::Backend(e.to_string()))
    }

    /// The first bytes of upload `id`'s tail objects `objects` (name, bytes to read from
    /// its start), in memory: the caller holds room for them ([`Self::room`]).
    /// The objects are fetched [`TMP_REQUESTS`] at once (a slow upload's tail can be
    /// hundreds of small segments).
    pub async fn read_tail(
        &self,
        id: &str,
        objects: &[(String, u64)],
    ) -> Result<Vec<Bytes>, BlobError> {
        let one = |(key, len): (String, u64)| async move {
            let mut rx = self.stream(&self.tmp_path(id, &key), 0, len).await?;
            let (mut got, mut out) = (0u64, Vec::new());
            while let Some(chunk) = rx.recv().await {
                let chunk = chunk?;
                got += chunk.len() as u64;
                out.push(chunk);
            }
            match got == len {
                true => Ok(out),
                false => Err(BlobError::Backend(format!(
                    "tail object {key} holds {got} bytes, expected {len}"
                ))),
            }
        };
        let mut reads = futures_util::stream::iter(objects.iter().cloned())
            .map(one)
            .buffered(TMP_REQUESTS);
        let mut out = Vec::new();
        while let Some(chunks) = reads.next().await {
            out.extend(chunks?);
        }
        Ok(out)
    }

    /// Streams `[start, end)` of an object.
    pub async fn stream(&self, path: &Path, start: u64, end: u64) -> Result<ByteStream, BlobError> {
        let (tx, rx) = mpsc::channel(4);
        if start >= end {
            return Ok(rx);
        }
        let opts = GetOptions {
            range: Some(GetRange::Bounded(start..end)),
            ..Default::default()
        };
        let got = self.objects.get_opts(path, opts).await.map_err(backend)?;
        let mut s = got.into_stream();
        tokio::spawn(async move {
            while let Some(item) = s.next().await {
                if tx.send(item.map_err(backend)).await.is_err() {
                    return;
                }
            }
        });
        Ok(rx)
    }

    /// Removes the upload's temporary objects (tails and staged ranges), a few at once.
    /// They all sit directly in its folder, so it is listed one level deep: a store that
    /// lists by walking its files (s3s-fs) then walks that folder, not every object of
    /// every upload (which made each of a thousand completions walk 100,000 files).
    async fn remove_tmp(&self, id: &str) -> Result<(), BlobError> {
        let prefix = self.tmp_dir(id);
        let listed = self
            .objects
            .list_with_delimiter(Some(&prefix))
            .await
            .map_err(backend)?;
        let deletes = listed.objects.into_iter().map(|meta| async move {
            match self.objects.delete(&meta.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(backend(e)),
            }
        });
        let mut deletes = futures_util::stream::iter(deletes).buffer_unordered(TMP_REQUESTS);
        while let Some(r) = deletes.next().await {
            r?;
        }
        Ok(())
    }
}

/// The object-store [`Assembler`].
pub struct ObjectAssembler {
    inner: Arc<Inner>,
}

impl ObjectAssembler {
    /// Over `objects` (reads, tails, staged ranges) and `multipart` (the same store's
    /// multipart API, or a wrapper of it), with keys under `prefix`.
    pub fn new(
        objects: Arc<dyn ObjectStore>,
        multipart: Arc<dyn MultipartStore>,
        prefix: &str,
        max_size: u64,
    ) -> Self {
        let prefix = match prefix.trim_matches('/') {
            "" => String::new(),
            p => format!("{p}/"),
        };
        Self {
            inner: Arc::new(Inner {
                objects,
                multipart,
                prefix,
                max_size,
                in_flight: Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT_MIB)),
                buffers: Arc::new(tokio::sync::Semaphore::new(BUFFER_MIB)),
                spool_dir: std::env::temp_dir().join("upgate-spool"),
                in_flight_mib: IN_FLIGHT_MIB,
                commit_interval: COMMIT_INTERVAL,
            }),
        }
    }

    /// Spools what exceeds the memory budget under `dir` (default: the system's
    /// temporary directory). Only unlinked files live there.
    pub fn with_spool_dir(mut self, dir: std::path::PathBuf) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.spool_dir = dir;
        }
        self
    }

    /// Commits what arrived at least every `d` (default [`COMMIT_INTERVAL`]).
    pub fn with_commit_interval(mut self, d: std::time::Duration) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.commit_interval = d;
        }
        self
    }

    /// Keeps at most `buffers` MiB of parts being filled in memory (0 spools every
    /// byte) and `in_flight` MiB of part and tail uploads (at least one part's worth
    /// is always let through). Defaults: [`BUFFER_MIB`], [`IN_FLIGHT_MIB`].
    pub fn with_memory(mut self, buffers: usize, in_flight: usize) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.buffers = Arc::new(tokio::sync::Semaphore::new(buffers));
            inner.in_flight = Arc::new(tokio::sync::Semaphore::new(in_flight.max(1)));
            inner.in_flight_mib = in_flight.max(1);
        }
        self
    }
}

#[async_trait]
impl Assembler for ObjectAssembler {
    fn reset(&self, assembly: &str) -> Result<Option<String>, BlobError> {
        // Same multipart upload: part numbers are reused (a part uploaded again replaces
        // the old one); old tail objects are garbage, removed with the upload's folder.
        let state = Assembly::parse(assembly)?;
        Ok(Some(
            Assembly {
                parts: Vec::new(),
                tail: 0,
                tail_key: String::new(),
                more: Vec::new(),
                generation: state.generation + 1,
                ..state
            }
            .encode(),
        ))
    }

    fn commit_interval(&self) -> Option<std::time::Duration> {
        Some(self.inner.commit_interval)
    }

    async fn create(&self, id: &str, length: Option<u64>) -> Result<String, BlobError> {
        let mp = self
            .inner
            .multipart
            .create_multipart(&self.inner.final_path(id))
            .await
            .map_err(backend)?;
        Ok(Assembly {
            mp,
            part: part_size(length, self.inner.max_size),
            ..Default::default()
        }
        .encode())
    }

    async fn open(
        &self,
        id: &str,
        offset: u64,
        assembly: &str,
    ) -> Result<Box<dyn BlobWriter>, BlobError> {
        let state = Assembly::parse(assembly)?;
        if state.offset() != offset {
            return Err(BlobError::Backend(format!(
                "assembly holds {} bytes, the record says {offset}",
                state.offset()
            )));
        }
        Ok(Box::new(
            writer::PartWriter::open(self.inner.clone(), id, state).await?,
        ))
    }

    async fn stage(&self, id: &str, start: u64) -> Result<Box<dyn StageWriter>, BlobError> {
        Ok(Box::new(
            stage::ObjectStage::start(self.inner.clone(), id, start).await?,
        ))
    }

    async fn discard_staged(&self, id: &str, key: &str) -> Result<(), BlobError> {
        match self
            .inner
            .objects
            .delete(&self.inner.tmp_path(id, key))
            .await
        {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }

    async fn complete(&self, id: &str, length: u64, assembly: &str) -> Result<(), BlobError> {
        let path = self.inner.final_path(id);
        // Done before (a retry, or a crash after completing)?
        if let Ok(meta) = self.inner.objects.head(&path).await {
            if meta.size == length {
                return self.inner.remove_tmp(id).await;
            }
        }
        let state = Assembly::parse(assembly)?;
        if state.offset() != length {
            return Err(BlobError::Backend(format!(
                "completing {length} bytes but {} are stored",
                state.offset()
            )));
        }
        if length == 0 {
            let _ = self.inner.multipart.abort_multipart(&path, &state.mp).await;
            self.inner
                .objects
                .put(&path, PutPayload::default())
                .await
                .map_err(backend)?;
            return self.inner.remove_tmp(id).await;
        }
        let mut parts: Vec<PartId> = state
            .parts
            .iter()
            .map(|p| PartId {
                content_id: p.clone(),
            })
            .collect();
        if state.tail > 0 {
            // The tail is read back whole to be sent as the last part: within the
            // budget of bytes in flight, or a thousand uploads finishing together would
            // hold a thousand tails (up to a part each) at once.
            let _permit = self.inner.room(state.tail).await?;
            let tail = self.inner.read_tail(id, &state.tail_objects()).await?;
            let last = self
                .inner
                .multipart
                .put_part(&path, &state.mp, parts.len(), tail.into_iter().collect())
                .await
                .map_err(backend)?;
            parts.push(last);
        }
        self.inner
            .multipart
            .complete_multipart(&path, &state.mp, parts)
            .await
            .map_err(backend)?;
        self.inner.remove_tmp(id).await
    }

    async fn read(
        &self,
        id: &str,
        start: u64,
        end: u64,
        complete: bool,
    ) -> Result<ByteStream, BlobError> {
        if !complete {
            return Err(BlobError::Unreadable(format!(
                "bytes {start}-{end} of upload {id} are parts of an unfinished multipart upload"
            )));
        }
        self.inner
            .stream(&self.inner.final_path(id), start, end)
            .await
    }

    async fn delete(&self, id: &str, assembly: &str) -> Result<(), BlobError> {
        let path = self.inner.final_path(id);
        if let Ok(state) = Assembly::parse(assembly) {
            if !state.mp.is_empty() {
                // Fails when it was completed or aborted before: nothing left to abort.
                let _ = self.inner.multipart.abort_multipart(&path, &state.mp).await;
            }
        }
        match self.inner.objects.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(backend(e)),
        }
        self.inner.remove_tmp(id).await
    }
}

/// Sends `data` to a writer in pieces (absorbing staged ranges and other uploads).
pub(crate) async fn pump(rx: &mut ByteStream, w: &mut writer::PartWriter) -> Result<(), BlobError> {
    while let Some(chunk) = rx.recv().await {
        let chunk: Bytes = chunk?;
        w.push(chunk).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes_keep_under_10000_parts_and_equal() {
        assert_eq!(part_size(Some(1 << 30), 100 << 30), DEFAULT_PART);
        assert_eq!(part_size(Some(0), 100 << 30), DEFAULT_PART);
        // 100 GiB deferred: 10.24 MiB rounded up to 11 MiB.
        let p = part_size(None, 100 << 30);
        assert_eq!(p, 11 << 20);
        assert!((100u64 << 30).div_ceil(p) <= MAX_PARTS);
        let p = part_size(Some(1 << 40), 0);
        assert!((1u64 << 40).div_ceil(p) <= MAX_PARTS);
        assert_eq!(p % (1 << 20), 0);
    }
}
