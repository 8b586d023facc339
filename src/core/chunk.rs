//! Chunks whose place and end the client names on each request: Kaltura's
//! `uploadToken.upload` (`resume`, `resumeAt`, `finalChunk`) and the PS2 whole-file
//! upload. The token's life cycle is the record's [`Phase`]; what a chunk may do in each
//! phase, where it goes, and "finalize exactly once" are decided here, not in the
//! adapters.
//!
//! Round trips to the state store for a chunk that lands at the contiguous end (the
//! sequential and the common parallel case): one `acquire` (which also checks the
//! owner and returns the record), one commit that moves the offset, sets the chunk's
//! attributes and releases the lease; a final chunk adds one commit (declaring the
//! length happens in the first). Chunks ahead of the end are staged (more round trips:
//! they wait for the prefix), and a final chunk sent before earlier ones waits for them.

use std::time::Duration;

use super::append::{FinalCommit, Overrun, WriteOpts};
use super::merge::mergeable;
use super::running::{Running, SHA256_RUN};
use super::{Error, Result, UploadService};
use crate::model::body::ChunkBody;
use crate::model::{core_attr, now_secs, OwnerCheck, Phase, Status, UploadRecord};
use crate::state::{Acquire, Commit, Lease, LeaseRequest};

/// Where a chunk's bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The file starts over with these bytes (Kaltura `resume=false`).
    Restart,
    /// At the contiguous end, wherever it is now (`resumeAt=-1`).
    End,
    /// At this absolute offset (`resumeAt=N`): appended when it meets the end (bytes
    /// that overlap stored ones are compared), staged when it is ahead.
    At(u64),
}

/// One chunk as the core sees it.
#[derive(Debug, Clone)]
pub struct ChunkRequest {
    pub placement: Placement,
    /// The chunk ends the file: the upload completes at the size it implies, once.
    pub last: bool,
    /// How long a last chunk sent ahead of earlier ones waits for them.
    pub final_wait: Duration,
    /// A partial upload idle for longer than this takes no more chunks.
    pub resume_window: Option<Duration>,
    /// Attributes set with the chunk (an adapter's; the file name, say), once:
    /// attributes already present keep their value.
    pub attrs: Vec<(String, String)>,
    /// Only this owner may write (anyone else: `NotFound`).
    pub owner: Option<OwnerCheck>,
}

impl UploadService {
    /// Stores one chunk and answers the upload's record. Errors: `NotFound` (no such
    /// upload, or not the caller's), `Complete` (full or consumed), `CannotResume`
    /// (continuing an upload that never received a byte), `ResumeWindowPassed`,
    /// `SizeMismatch` (a last chunk whose implied size is not reached in time, or is
    /// passed), `Interrupted` (bytes up to the offset are kept).
    pub async fn upload_chunk<B: ChunkBody>(
        &self,
        id: &str,
        req: ChunkRequest,
        body: &mut B,
    ) -> Result<UploadRecord> {
        if !crate::model::is_valid_id(id) {
            return Err(Error::NotFound);
        }
        let lreq = LeaseRequest {
            owner: req.owner.clone(),
            ..self.lease_request(None)
        };
        let (lease, rec) = match self.state.acquire(id, &lreq).await? {
            Acquire::Granted(lease, rec) => (Some(lease), *rec),
            Acquire::Missing => return Err(Error::NotFound),
            Acquire::Complete => return Err(Error::Complete),
            // Someone writes it now: read it (and check the owner) without the lease.
            Acquire::Held { .. } | Acquire::Conflict { .. } => {
                let rec = self.load(id).await?;
                if req.owner.as_ref().is_some_and(|o| !o.allows(&rec)) {
                    return Err(Error::NotFound);
                }
                (None, rec)
            }
        };
        if let Err(e) = self.admissible(&rec, &req) {
            if let Some(l) = lease {
                self.release_quietly(&l).await;
            }
            return Err(e);
        }
        let start = match req.placement {
            Placement::Restart => 0,
            Placement::End => rec.offset,
            Placement::At(n) => n,
        };
        match lease {
            Some(lease) if start <= rec.offset || req.placement == Placement::Restart => {
                self.chunk_leased(lease, rec, start, &req, body).await
            }
            Some(lease) => {
                // Ahead of the end: let the bytes before it arrive (or stage it).
                self.release_quietly(&lease).await;
                self.chunk_ahead(id, start, &req, body).await
            }
            None => match req.placement {
                Placement::At(_) => self.chunk_ahead(id, start, &req, body).await,
                // Appending or restarting needs the lease: wait for (or stop) its holder.
                Placement::End | Placement::Restart => {
                    let (lease, rec) = self.lease(id, None).await?;
                    let start = if req.placement == Placement::End {
                        rec.offset
                    } else {
                        0
                    };
                    self.chunk_leased(lease, rec, start, &req, body).await
                }
            },
        }
    }

    /// What the record's phase allows this chunk.
    fn admissible(&self, rec: &UploadRecord, req: &ChunkRequest) -> Result<()> {
        match rec.phase() {
            Phase::Full | Phase::Closed => return Err(Error::Complete),
            Phase::Pending if req.placement != Placement::Restart => {
                return Err(Error::CannotResume)
            }
            _ => {}
        }
        if let (Some(window), Some(t)) = (req.resume_window, rec.touched_at()) {
            if t + window.as_secs() < now_secs() {
                return Err(Error::ResumeWindowPassed {
                    secs: window.as_secs(),
                });
            }
        }
        Ok(())
    }

    /// The chunk's own attributes not set yet (the first value stays).
    fn chunk_attrs(rec: &UploadRecord, req: &ChunkRequest) -> Vec<(String, String)> {
        req.attrs
            .iter()
            .filter(|(k, _)| !rec.attrs.contains_key(k))
            .cloned()
            .collect()
    }

    /// Writes a chunk that starts at or before the end, under the lease, and releases it.
    async fn chunk_leased<B: ChunkBody>(
        &self,
        lease: Lease,
        mut rec: UploadRecord,
        start: u64,
        req: &ChunkRequest,
        body: &mut B,
    ) -> Result<UploadRecord> {
        let active = self.writers.register(&rec.id, &lease.holder);
        let mut counted = Counted { inner: body, n: 0 };
        // Only a last chunk that starts exactly at the end implies the size by its own
        // end (declared in the write's commit); one that overlaps stored bytes implies
        // `start + its length`, checked after the write.
        let mut at_end = false;
        let out = async {
            if start < rec.offset && req.placement == Placement::Restart {
                // The assembler's state restarts too (object storage: no parts, no
                // tail), or the next writer would find it holding the old bytes.
                let c = Commit {
                    expected_offset: rec.offset,
                    new_offset: 0,
                    assembly: self.blobs.reset(&rec.assembly)?,
                    // The bytes a running digest covered are being replaced.
                    attrs: match rec.attrs.contains_key(SHA256_RUN) {
                        true => vec![Running::clear()],
                        false => Vec::new(),
                    },
                    ..Default::default()
                };
                rec = self.apply(&lease, &c).await?;
            }
            at_end = start == rec.offset;
            let limit = self.limit_of(&rec);
            let opts = WriteOpts {
                checksum: None,
                skip: rec.offset - start,
                max_end: limit,
                overrun: match rec.length {
                    Some(l) => Overrun::Length(l),
                    None => Overrun::Max(limit),
                },
                finish: Some(FinalCommit {
                    attrs: Self::chunk_attrs(&rec, req),
                    touch: true,
                    declare_length: req.last && at_end,
                    release: !req.last,
                }),
                on_commit: None,
            };
            self.write_leased(&lease, &active, rec, &mut counted, opts)
                .await
        }
        .await;
        let received = counted.n;
        active.closing();
        drop(active);
        let (rec, writer, stop) = match out {
            Ok(x) => x,
            Err(e) => {
                self.release_quietly(&lease).await;
                return Err(e);
            }
        };
        if !req.last {
            // Released with the commit. Ranges staged meanwhile are merged now (by a
            // new writer: this one lets go of the file first).
            drop(writer);
            let rec = match mergeable(&rec) || (rec.status == Status::Open && rec.is_filled()) {
                true => self.try_merge(&rec.id).await?,
                false => rec,
            };
            return match stop {
                Some(Error::Interrupted { .. }) => Err(Error::Interrupted { offset: rec.offset }),
                Some(e) => Err(e),
                None => Ok(rec),
            };
        }
        // A last chunk still holds the lease; the commit declared the length.
        if let Some(e) = stop {
            self.release_quietly(&lease).await;
            return Err(match e {
                Error::Interrupted { .. } => Error::Interrupted { offset: rec.offset },
                other => other,
            });
        }
        if !at_end {
            drop(writer);
            self.release_quietly(&lease).await;
            return self
                .finalize_at(&rec.id, start + received, Duration::ZERO)
                .await;
        }
        if !rec.is_filled() {
            self.release_quietly(&lease).await;
            return Err(Error::SizeMismatch { offset: rec.offset });
        }
        // Stale staged ranges to drop first (then release), else complete and release
        // in one step.
        let merge = mergeable(&rec);
        let done = match merge {
            true => self.merge_staged(&lease, rec, Some(writer)).await,
            false => self.finish(&lease, rec, true).await,
        };
        if merge || done.is_err() {
            self.release_quietly(&lease).await;
        }
        done
    }

    /// A chunk that starts past the end: appended in place if the bytes before it
    /// arrive soon, else staged; a last one then waits for the whole file.
    async fn chunk_ahead<B: ChunkBody>(
        &self,
        id: &str,
        start: u64,
        req: &ChunkRequest,
        body: &mut B,
    ) -> Result<UploadRecord> {
        let mut counted = Counted { inner: body, n: 0 };
        let rec = self.put_at(id, start, None, &mut counted).await?;
        let received = counted.n;
        let mut attrs = Self::chunk_attrs(&rec, req);
        attrs.push((core_attr::TOUCHED.to_owned(), now_secs().to_string()));
        let rec = self.set_attrs(id, None, attrs).await?;
        if !req.last {
            return rec.ok_or(Error::NotFound);
        }
        self.finalize_at(id, start + received, req.final_wait).await
    }

    /// Releases a lease; a failure only delays others until its TTL.
    async fn release_quietly(&self, lease: &Lease) {
        if let Err(e) = self.state.release(lease).await {
            tracing::warn!(id = %lease.id, error = %e, "lease release failed; it expires by TTL");
        }
    }

    /// Marks a full upload consumed by `owner` (attached to an entry), once: `false`
    /// when it already was.
    pub async fn close(&self, id: &str, owner: &str) -> Result<bool> {
        let set = vec![(core_attr::CLOSED.to_owned(), owner.to_owned())];
        Ok(self
            .set_attrs(id, Some((core_attr::CLOSED.to_owned(), None)), set)
            .await?
            .is_some())
    }

    /// Gives back an upload `owner` had consumed (the entry could not take it).
    pub async fn reopen(&self, id: &str, owner: &str) -> Result<()> {
        let set = vec![(core_attr::CLOSED.to_owned(), String::new())];
        let expect = Some((core_attr::CLOSED.to_owned(), Some(owner.to_owned())));
        self.set_attrs(id, expect, set).await.map(|_| ())
    }
}

/// Counts the bytes a body yields.
struct Counted<'a, B> {
    inner: &'a mut B,
    n: u64,
}

impl<B: ChunkBody> ChunkBody for Counted<'_, B> {
    async fn next_chunk(
        &mut self,
    ) -> std::result::Result<Option<bytes::Bytes>, crate::model::body::BodyError> {
        let c = self.inner.next_chunk().await?;
        if let Some(b) = &c {
            self.n += b.len() as u64;
        }
        Ok(c)
    }
}
