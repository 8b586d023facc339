//! Operations for protocols that restart a file or declare its end after the fact
//! (Kaltura's `resume=false` and final chunks): rewrite from zero, and finalize at an
//! expected size once the contiguous bytes reach it.

use std::time::Duration;

use super::append::{Overrun, WriteOpts};
use super::body::ChunkBody;
use super::record::{Status, UploadRecord};
use super::{Error, Result, UploadService};
use crate::state::{Commit, Update};

impl UploadService {
    /// Replaces the upload's bytes with `body` (staged ranges are kept, as Kaltura does).
    pub async fn rewrite<B: ChunkBody>(&self, id: &str, body: &mut B) -> Result<UploadRecord> {
        let (lease, rec) = self.lease(id, None).await?;
        let active = self.writers.register(id, &lease.holder);
        let out = async {
            let rec = if rec.offset > 0 {
                let c = Commit {
                    expected_offset: rec.offset,
                    new_offset: 0,
                    ..Default::default()
                };
                self.apply(&lease, &c).await?
            } else {
                rec
            };
            let limit = self.limit_of(&rec);
            let overrun = match rec.length {
                Some(l) => Overrun::Length(l),
                None => Overrun::Max(limit),
            };
            let opts = WriteOpts {
                checksum: None,
                skip: 0,
                max_end: limit,
                overrun,
            };
            self.write_and_drain(&lease, &active, rec, body, opts).await
        }
        .await;
        active.closing();
        self.release(lease).await;
        drop(active);
        out
    }

    /// Waits (up to `wait`) until the contiguous bytes reach `size`, then declares that
    /// length and completes the upload. `SizeMismatch` when the bytes do not reach
    /// exactly `size` in time (the caller may retry: staged chunks stay staged).
    pub async fn finalize_at(&self, id: &str, size: u64, wait: Duration) -> Result<UploadRecord> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let rec = self.try_drain(id).await?;
            if rec.status == Status::Complete {
                return match rec.offset == size {
                    true => Ok(rec),
                    false => Err(Error::SizeMismatch { offset: rec.offset }),
                };
            }
            if rec.offset > size {
                return Err(Error::SizeMismatch { offset: rec.offset });
            }
            if rec.offset == size {
                match self.state.set_length(id, size).await? {
                    Update::Done(_) => {}
                    Update::Missing => return Err(Error::NotFound),
                    Update::Refused(_) => return Err(Error::SizeMismatch { offset: rec.offset }),
                }
                return self.await_complete(id, deadline).await;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::SizeMismatch { offset: rec.offset });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Finalizes a filled upload, waiting for a concurrent holder of the lease to do it.
    async fn await_complete(
        &self,
        id: &str,
        deadline: tokio::time::Instant,
    ) -> Result<UploadRecord> {
        loop {
            let rec = self.try_drain(id).await?;
            if rec.status == Status::Complete || tokio::time::Instant::now() >= deadline {
                return Ok(rec);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
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
    pub async fn list(&self, filter: &crate::state::ListFilter) -> Result<Vec<UploadRecord>> {
        Ok(self.state.list(filter).await?)
    }
}
