//! Finalizing at a size a client declares after the fact (a Kaltura final chunk sent
//! before earlier ones): wait until the contiguous bytes reach it (the wait restarts
//! while they grow), then declare the length and complete, once. A last chunk that lands at the end completes in
//! `chunk.rs` without waiting.

use std::time::Duration;

use super::{Error, Result, UploadService};
use crate::model::{Status, UploadRecord};
use crate::state::Update;

impl UploadService {
    /// Waits (up to `wait`) until the contiguous bytes reach `size`, then declares that
    /// length and completes the upload. `SizeMismatch` when the bytes do not reach
    /// exactly `size` in time (the caller may retry: staged chunks stay staged).
    ///
    /// The wait starts again whenever the contiguous bytes grow (the client is still
    /// sending the rest), up to `final_wait_max` in all: a final chunk sent first is held
    /// as long as the upload progresses.
    pub async fn finalize_at(&self, id: &str, size: u64, wait: Duration) -> Result<UploadRecord> {
        let started = tokio::time::Instant::now();
        let limit = started + self.cfg.final_wait_max.max(wait);
        let mut deadline = started + wait;
        let mut seen: Option<u64> = None;
        loop {
            let rec = self.try_merge(id).await?;
            if seen.is_some_and(|s| rec.offset > s) {
                deadline = (tokio::time::Instant::now() + wait).min(limit);
            }
            seen = Some(rec.offset);
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
            let rec = self.try_merge(id).await?;
            if rec.status == Status::Complete || tokio::time::Instant::now() >= deadline {
                return Ok(rec);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
