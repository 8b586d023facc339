//! Ranged PUT (`Content-Range: bytes a-b/total`): chunks in any order and in parallel.
//! A chunk at or before the offset is appended under the lease (re-sent leading bytes
//! are compared with what is stored); a chunk past the offset, or one that finds the
//! lease busy, is staged durably on its own and merged when the prefix reaches it.

use upgate_proto::content_range::ContentRange;

use super::append::{Overrun, WriteOpts};
use super::body::ChunkBody;
use super::record::{new_id, StagedRange, Status, UploadRecord};
use super::{Error, Result, UploadService};
use crate::state::{Acquire, LeaseRequest, Update};

impl UploadService {
    /// Stores one ranged chunk (or answers a status query) and returns the record.
    pub async fn put_range<B: ChunkBody>(
        &self,
        id: &str,
        cr: ContentRange,
        body: &mut B,
    ) -> Result<UploadRecord> {
        let mut rec = self.load(id).await?;
        if let Some(total) = cr.total {
            if rec.length != Some(total) {
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
                rec = match self.state.set_length(id, total).await? {
                    Update::Done(r) => *r,
                    Update::Missing => return Err(Error::NotFound),
                    Update::Refused(why) => return Err(Error::InvalidLength(why)),
                };
            }
        }
        let Some((start, end)) = cr.span else {
            return self.status(id).await;
        };
        let limit = self.limit_of(&rec);
        if end > limit {
            return Err(match rec.length {
                Some(length) => Error::PastLength { length },
                None => Error::TooLarge { limit },
            });
        }
        if rec.status == Status::Complete {
            self.verify_stored(id, start, end, body, true).await?;
            return Ok(rec);
        }
        if start <= rec.offset {
            let req = LeaseRequest {
                holder: new_id(),
                expected_offset: None,
                ttl: self.cfg.lease_ttl,
            };
            match self.state.acquire(id, &req).await? {
                Acquire::Granted(lease, rec) => {
                    let rec = *rec;
                    let active = self.writers.register(id, &lease.holder);
                    let out = if rec.offset >= end {
                        self.verify_stored(id, start, end, body, false)
                            .await
                            .map(|()| rec)
                    } else {
                        let opts = WriteOpts {
                            checksum: None,
                            skip: rec.offset - start,
                            max_end: end,
                            overrun: Overrun::Range,
                        };
                        self.write_and_drain(&lease, &active, rec, body, opts).await
                    };
                    active.closing();
                    self.release(lease).await;
                    drop(active);
                    let rec = out?;
                    return match rec.offset < end && rec.status == Status::Open {
                        true => Err(Error::Interrupted { offset: rec.offset }),
                        false => self.settle(id).await,
                    };
                }
                Acquire::Missing => return Err(Error::NotFound),
                Acquire::Complete => {
                    self.verify_stored(id, start, end, body, true).await?;
                    return self.load(id).await;
                }
                Acquire::Held { .. } | Acquire::Conflict { .. } => {} // stage it instead
            }
        }
        self.stage_range(id, start, end, body).await?;
        self.settle(id).await
    }

    /// Streams a chunk into its own staging place and records it.
    async fn stage_range<B: ChunkBody>(
        &self,
        id: &str,
        start: u64,
        end: u64,
        body: &mut B,
    ) -> Result<()> {
        let mut w = self.blobs.stage(id, start).await?;
        let mut pos = start;
        let failure = loop {
            match body.next_chunk().await {
                Ok(Some(d)) if pos + d.len() as u64 > end => {
                    break Some(Error::BadRequest(
                        "body is longer than its Content-Range".into(),
                    ))
                }
                Ok(Some(d)) => {
                    pos += d.len() as u64;
                    if let Err(e) = w.write(d).await {
                        break Some(e.into());
                    }
                }
                Ok(None) if pos == end => break None,
                Ok(None) | Err(_) => break Some(Error::Interrupted { offset: 0 }),
            }
        };
        if let Some(e) = failure {
            let key = w.key().to_owned();
            drop(w);
            let _ = self.blobs.discard_staged(id, &key).await;
            return Err(match e {
                Error::Interrupted { .. } => Error::Interrupted {
                    offset: self.load(id).await?.offset,
                },
                other => other,
            });
        }
        let key = w.finish().await?;
        let range = StagedRange {
            start,
            end,
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

    /// Checks that a re-sent chunk equals the stored bytes `[start, end)`.
    async fn verify_stored<B: ChunkBody>(
        &self,
        id: &str,
        start: u64,
        end: u64,
        body: &mut B,
        complete: bool,
    ) -> Result<()> {
        let mut stored = self.blobs.read(id, start, end, complete).await?;
        let mut buf = bytes::Bytes::new();
        let mut pos = start;
        loop {
            let mut data = match body.next_chunk().await {
                Ok(Some(d)) => d,
                Ok(None) if pos == end => return Ok(()),
                Ok(None) | Err(_) => {
                    return Err(Error::Interrupted {
                        offset: self.load(id).await?.offset,
                    })
                }
            };
            if pos + data.len() as u64 > end {
                return Err(Error::BadRequest(
                    "body is longer than its Content-Range".into(),
                ));
            }
            while !data.is_empty() {
                if buf.is_empty() {
                    buf = match stored.recv().await {
                        Some(b) => b?,
                        None => return Err(Error::RangeConflict { at: pos }),
                    };
                }
                let n = buf.len().min(data.len());
                if buf[..n] != data[..n] {
                    return Err(Error::RangeConflict { at: pos });
                }
                let _ = buf.split_to(n);
                let _ = data.split_to(n);
                pos += n as u64;
            }
        }
    }
}
