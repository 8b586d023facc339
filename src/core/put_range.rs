//! Positional writes: ranged PUT (`Content-Range: bytes a-b/total`) and Kaltura's
//! `resumeAt` chunks, in any order and in parallel. A chunk at or before the offset is
//! appended under the lease (re-sent leading bytes are compared with what is stored);
//! a chunk just past the offset waits while the offset moves towards it, and one that
//! finds the lease busy waits for its holder, briefly. Otherwise (far ahead, or the
//! writer before it stalled) it is staged durably on its own and merged when the prefix
//! reaches it. The chunk's end may be unknown until its body ends (multipart file parts
//! carry no length).

use upgate_proto::content_range::ContentRange;

use super::append::{Overrun, WriteOpts};
use super::compare::Comparer;
use super::{Error, Result, UploadService};
use crate::model::body::ChunkBody;
use crate::model::{StagedRange, Status, UploadRecord};
use crate::state::{Acquire, Update};

/// How long a range waits for the writer before it while nothing moves: the offset (a
/// chunk just ahead of the end), or the lease (the writer that reached it is committing).
/// Then the range is staged apart.
const PATIENCE: std::time::Duration = std::time::Duration::from_millis(500);
/// How far ahead of the offset a range still waits for it rather than being staged.
const NEAR: u64 = 64 << 20;
/// How often a waiting range looks at the offset again when no local request writes
/// the upload (another instance does, or the next writer is just starting).
const POLL: std::time::Duration = std::time::Duration::from_millis(2);
/// The longest a waiting range waits for a local writer to go before it looks again.
const WAKE: std::time::Duration = std::time::Duration::from_millis(100);

impl UploadService {
    /// Stores one ranged chunk (or answers a status query) and returns the record.
    pub async fn put_range<B: ChunkBody>(
        &self,
        id: &str,
        cr: ContentRange,
        body: &mut B,
    ) -> Result<UploadRecord> {
        if let Some(total) = cr.total {
            self.declare_length(id, total).await?;
        }
        match cr.span {
            None => self.status(id).await,
            Some((start, end)) => self.put_at(id, start, Some(end), body).await,
        }
    }

    /// Declares the total length (idempotent for the same value).
    pub async fn declare_length(&self, id: &str, total: u64) -> Result<UploadRecord> {
        let rec = self.load(id).await?;
        if rec.length == Some(total) {
            return Ok(rec);
        }
        if let Some(l) = rec.length {
            return Err(Error::InvalidLength(format!(
                "upload length is {l}, not {total}"
            )));
        }
        if total > self.cfg.max_upload_size {
            return Err(Error::TooLarge {
                limit: self.cfg.max_upload_size,
            });
        }
        match self.state.set_length(id, total).await? {
            Update::Done(r) => {
                if r.is_filled() {
                    return self.try_merge(id).await;
                }
                Ok(*r)
            }
            Update::Missing => Err(Error::NotFound),
            Update::Refused(why) => Err(Error::InvalidLength(why)),
        }
    }

    /// Stores bytes starting at `start`; `end` is exclusive, `None` when the body's
    /// length is not known in advance. Returns the record once merged (or staged).
    pub async fn put_at<B: ChunkBody>(
        &self,
        id: &str,
        start: u64,
        end: Option<u64>,
        body: &mut B,
    ) -> Result<UploadRecord> {
        let mut rec = self.load(id).await?;
        let limit = self.limit_of(&rec);
        let overrun = match rec.length {
            Some(length) => Overrun::Length(length),
            None => Overrun::Max(limit),
        };
        if end.unwrap_or(start) > limit {
            return Err(match rec.length {
                Some(length) => Error::PastLength { length },
                None => Error::TooLarge { limit },
            });
        }
        if rec.status == Status::Complete {
            self.verify_stored(id, start, end, body, true).await?;
            return Ok(rec);
        }
        // Parallel chunks usually arrive just ahead of the one being written: wait for
        // the offset while it keeps moving towards `start` (at most `NEAR` away), then for
        // the lease, which the writer that reached `start` holds until it has committed.
        // The chunk then goes in place instead of being staged and copied later. Once
        // nothing has moved for `PATIENCE` (an earlier chunk is late or lost, or its
        // writer stalled), the chunk is staged apart.
        let mut last_move = tokio::time::Instant::now();
        loop {
            if start <= rec.offset {
                match self.state.acquire(id, &self.lease_request(None)).await? {
                    Acquire::Granted(lease, rec) => {
                        let rec = *rec;
                        let active = self.writers.register(id, &lease.holder);
                        let out = if end.is_some_and(|e| rec.offset >= e) {
                            self.verify_stored(id, start, end, body, false)
                                .await
                                .map(|()| rec)
                        } else {
                            let opts = WriteOpts {
                                checksum: None,
                                skip: rec.offset - start,
                                max_end: end.unwrap_or(limit),
                                overrun: if end.is_some() {
                                    Overrun::Range
                                } else {
                                    overrun
                                },
                                finish: None,
                                on_commit: None,
                            };
                            self.write_and_merge(&lease, &active, rec, body, opts).await
                        };
                        active.closing();
                        self.release(lease).await;
                        drop(active);
                        let rec = out?;
                        return match end {
                            Some(e) if rec.offset < e && rec.status == Status::Open => {
                                Err(Error::Interrupted { offset: rec.offset })
                            }
                            _ => self.settle(id).await,
                        };
                    }
                    Acquire::Missing => return Err(Error::NotFound),
                    Acquire::Complete => {
                        self.verify_stored(id, start, end, body, true).await?;
                        return self.load(id).await;
                    }
                    Acquire::Held { .. } | Acquire::Conflict { .. } => {}
                }
            } else if start - rec.offset > NEAR {
                break;
            }
            if last_move.elapsed() >= PATIENCE {
                break;
            }
            self.wait_for_writer(id).await;
            let now = self.load(id).await?;
            // Only the approach counts as progress: a writer holding the lease past
            // `start` (writing over this chunk) gets `PATIENCE`, not longer.
            if now.offset != rec.offset && rec.offset < start {
                last_move = tokio::time::Instant::now();
            }
            rec = now;
        }
        self.stage_range(id, start, end, limit, body).await?;
        self.settle(id).await
    }

    /// Waits until the offset or the lease may have moved: woken when the local writer of
    /// `id` goes (it committed and let go), not by polling the state store; a short
    /// pause when the writer is elsewhere.
    async fn wait_for_writer(&self, id: &str) {
        if !self.writers.wait_gone(id, WAKE).await {
            tokio::time::sleep(POLL).await;
        }
    }

    /// Streams a chunk into its own staging place and records it.
    async fn stage_range<B: ChunkBody>(
        &self,
        id: &str,
        start: u64,
        end: Option<u64>,
        limit: u64,
        body: &mut B,
    ) -> Result<()> {
        let mut w = self.blobs.stage(id, start).await?;
        let max_end = end.unwrap_or(limit);
        let mut pos = start;
        let failure = loop {
            match body.next_chunk().await {
                Ok(Some(d)) if pos + d.len() as u64 > max_end => {
                    break Some(match end {
                        Some(_) => {
                            Error::BadRequest("body is longer than its Content-Range".into())
                        }
                        None => Error::TooLarge { limit },
                    })
                }
                Ok(Some(d)) => {
                    pos += d.len() as u64;
                    if let Err(e) = w.write(d).await {
                        break Some(e.into());
                    }
                }
                Ok(None) if end.is_none_or(|e| pos == e) => break None,
                Ok(None) | Err(_) => break Some(Error::Interrupted { offset: 0 }),
            }
        };
        if failure.is_some() || pos == start {
            let key = w.key().to_owned();
            drop(w);
            let _ = self.blobs.discard_staged(id, &key).await;
            return match failure {
                None => Ok(()), // an empty chunk stores nothing
                Some(Error::Interrupted { .. }) => Err(Error::Interrupted {
                    offset: self.load(id).await?.offset,
                }),
                Some(other) => Err(other),
            };
        }
        let key = w.finish().await?;
        // Bytes stored twice (staged, copied in later): what parallel clients cost.
        metrics::counter!("upgate_staged_bytes_total").increment(pos - start);
        let range = StagedRange {
            start,
            end: pos,
            key: key.clone(),
        };
        match self.state.add_range(id, &range).await? {
            Update::Done(_) => Ok(()),
            Update::Missing => {
                let _ = self.blobs.discard_staged(id, &key).await;
                Err(Error::NotFound)
            }
            Update::Refused(_) => {
                // Completed meanwhile: the bytes are stored already.
                let _ = self.blobs.discard_staged(id, &key).await;
                Ok(())
            }
        }
    }

    /// Checks that a re-sent chunk equals the stored bytes from `start` (up to `end`
    /// when known; else up to where the body ends).
    async fn verify_stored<B: ChunkBody>(
        &self,
        id: &str,
        start: u64,
        end: Option<u64>,
        body: &mut B,
        complete: bool,
    ) -> Result<()> {
        let stored_end = match end {
            Some(e) => e,
            None => self.load(id).await?.offset,
        };
        let mut stored = Comparer::of(self.blobs.read(id, start, stored_end, complete).await)?;
        let mut pos = start;
        loop {
            let data = match body.next_chunk().await {
                Ok(Some(d)) => d,
                Ok(None) if end.is_none_or(|e| pos == e) => return Ok(()),
                Ok(None) | Err(_) => {
                    return Err(Error::Interrupted {
                        offset: self.load(id).await?.offset,
                    })
                }
            };
            if pos + data.len() as u64 > stored_end {
                return Err(match end {
                    Some(_) => Error::BadRequest("body is longer than its Content-Range".into()),
                    None => Error::RangeConflict { at: stored_end },
                });
            }
            if !stored.same(&data).await? {
                return Err(Error::RangeConflict { at: pos });
            }
            pos += data.len() as u64;
        }
    }
}
