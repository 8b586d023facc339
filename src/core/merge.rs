//! Merging staged out-of-order ranges into the contiguous data once the offset reaches
//! them, and finalizing when the upload is full. Runs only under the upload's lease.

use std::time::Instant;

use super::running::RunningPipe;
use super::{Error, Result, UploadService};
use crate::blob::BlobWriter;
use crate::model::{Status, UploadRecord};
use crate::state::{Acquire, Commit, Lease};

/// True when a staged range starts at or before the offset (it can be merged or dropped).
pub(crate) fn mergeable(rec: &UploadRecord) -> bool {
    rec.ranges.iter().any(|r| r.start <= rec.offset)
}

/// True when the prefix and the staged ranges together cover the whole declared length.
pub(crate) fn covered(rec: &UploadRecord) -> bool {
    let Some(len) = rec.length else { return false };
    let mut spans: Vec<(u64, u64)> = rec.ranges.iter().map(|r| (r.start, r.end)).collect();
    spans.sort_unstable();
    let mut reach = rec.offset;
    for (a, b) in spans {
        if a > reach {
            break;
        }
        reach = reach.max(b);
    }
    reach >= len
}

impl UploadService {
    /// Merges every range that became contiguous, drops obsolete ones, finalizes when
    /// full. `writer`, when given, is positioned at `rec.offset`.
    pub(crate) async fn merge_staged(
        &self,
        lease: &Lease,
        mut rec: UploadRecord,
        mut writer: Option<Box<dyn BlobWriter>>,
    ) -> Result<UploadRecord> {
        loop {
            let mut drop: Vec<String> = rec
                .ranges
                .iter()
                .filter(|r| r.end <= rec.offset)
                .map(|r| r.key.clone())
                .collect();
            let next = rec
                .ranges
                .iter()
                .filter(|r| r.start <= rec.offset && r.end > rec.offset)
                .max_by_key(|r| r.end)
                .cloned();
            if next.is_none() && drop.is_empty() {
                break;
            }
            let mut c = Commit {
                expected_offset: rec.offset,
                new_offset: rec.offset,
                ..Default::default()
            };
            if let Some(r) = next {
                let w = match writer.as_mut() {
                    Some(w) => w,
                    None => {
                        writer.insert(self.blobs.open(&rec.id, rec.offset, &rec.assembly).await?)
                    }
                };
                w.absorb(&r, rec.offset).await?;
                let point = w.commit().await?;
                c.attrs = RunningPipe::carried_over(&*self.blobs, &rec, point.offset)
                    .await
                    .into_iter()
                    .collect();
                c.new_offset = point.offset;
                c.assembly = point.assembly;
                c.expires_at = Some(self.expiry_from_now());
                drop.push(r.key);
            }
            c.drop_ranges = drop.clone();
            rec = self.apply(lease, &c).await?;
            for key in drop {
                if let Err(e) = self.blobs.discard_staged(&rec.id, &key).await {
                    tracing::warn!(id = %rec.id, key, error = %e, "staged range not removed");
                }
            }
        }
        self.finish(lease, rec, false).await
    }

    /// Merges staged ranges if the lease is free; when another request holds it, that
    /// request merges them after its own write (see `release`).
    pub(crate) async fn try_merge(&self, id: &str) -> Result<UploadRecord> {
        for _ in 0..16 {
            let rec = self.load(id).await?;
            let filled = rec.status == Status::Open && rec.is_filled();
            if !mergeable(&rec) && !filled {
                return Ok(rec);
            }
            let req = self.lease_request(None);
            match self.state.acquire(id, &req).await? {
                Acquire::Granted(lease, rec) => {
                    let out = self.merge_staged(&lease, *rec, None).await;
                    if let Err(e) = self.state.release(&lease).await {
                        tracing::warn!(id, error = %e, "lease release failed; it expires by TTL");
                    }
                    out?;
                }
                Acquire::Missing => return Err(Error::NotFound),
                Acquire::Held { .. } | Acquire::Complete | Acquire::Conflict { .. } => {
                    return self.load(id).await
                }
            }
        }
        self.load(id).await
    }

    /// After staging a range: merge what can be merged; when every byte is now stored
    /// somewhere, wait (up to `merge_wait`) for the merge so the answer says "complete".
    pub(crate) async fn settle(&self, id: &str) -> Result<UploadRecord> {
        let deadline = Instant::now() + self.cfg.merge_wait;
        loop {
            let rec = self.try_merge(id).await?;
            if rec.status == Status::Complete || !covered(&rec) || Instant::now() >= deadline {
                return Ok(rec);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::{StagedRange, Status};

    /// A record for core unit tests: `offset`, `length`, staged `ranges`.
    pub(in crate::core) fn rec(
        offset: u64,
        length: Option<u64>,
        ranges: &[(u64, u64)],
    ) -> UploadRecord {
        UploadRecord {
            id: "x".into(),
            length,
            offset,
            status: Status::Open,
            metadata: String::new(),
            concat: Default::default(),
            created_at: 0,
            expires_at: 0,
            ranges: ranges
                .iter()
                .map(|&(start, end)| StagedRange {
                    start,
                    end,
                    key: format!("{start}"),
                })
                .collect(),
            assembly: String::new(),
            owner: None,
            attrs: Default::default(),
        }
    }

    #[test]
    fn coverage() {
        assert!(covered(&rec(10, Some(10), &[])));
        assert!(covered(&rec(0, Some(10), &[(0, 4), (4, 10)])));
        assert!(covered(&rec(2, Some(10), &[(5, 10), (1, 6)])));
        assert!(!covered(&rec(0, Some(10), &[(1, 10)])));
        assert!(!covered(&rec(0, None, &[(0, 10)])));
        assert!(mergeable(&rec(4, Some(10), &[(4, 10)])));
        assert!(!mergeable(&rec(3, Some(10), &[(4, 10)])));
    }
}
