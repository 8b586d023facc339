//! The object-store [`BlobWriter`]: re-blocks incoming bytes into fixed-size parts
//! (up to two part uploads in flight while more bytes arrive, within the process-wide
//! budget [`super::IN_FLIGHT_MIB`]), and at each commit stores what is left over as a
//! new tail object. The part being filled is a [`Spool`]: memory within the
//! process-wide [`super::BUFFER_MIB`], local disk beyond it; so memory stays bounded
//! however many writers there are.

use std::collections::VecDeque;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use object_store::multipart::PartId;
use object_store::{ObjectStoreExt, PutPayload};
use tokio::task::JoinHandle;

use super::spool::Spool;
use super::{backend, pump, Assembly, Inner, Segment};
use crate::blob::{BlobError, BlobWriter, CommitPoint};
use crate::model::StagedRange;

/// Part uploads allowed in flight per writer (memory: this many parts plus the buffer).
const IN_FLIGHT: usize = 2;

/// Tail segments before the tail is written again as one object: one segment per
/// commit, a commit at most every second, so a part filled at 64 KB/s (8 MiB in two
/// minutes) is written once as segments and once as the part. Fewer segments cost a
/// slow upload its tail written again and again (at 32, an 8 MiB upload at 50 KB/s
/// wrote ~30 MiB of tail objects, and a thousand of them kept object storage busy with
/// tails rather than parts); more make the state (which names them) larger. The
/// segments are read back (8 at once) only when the part they start is sent.
const MAX_SEGMENTS: usize = 128;

pub(crate) struct PartWriter {
    inner: Arc<Inner>,
    id: String,
    /// The state as of the last commit (or the open).
    state: Assembly,
    /// Part ids uploaded so far, in order (the committed ones first).
    parts: Vec<String>,
    /// Part uploads running, in part order.
    running: VecDeque<JoinHandle<Result<PartId, BlobError>>>,
    /// The first bytes of the next tail, still only in the tail objects the upload was
    /// resumed with (name, bytes from its start): read when they must be sent again —
    /// in a part, or in a tail written again whole — so resuming costs no reads.
    kept: Vec<(String, u64)>,
    /// The bytes that follow them (past the last part handed to an upload).
    buf: Spool,
    /// When the oldest byte in `buf` past the committed tail arrived.
    fresh_since: Option<std::time::Instant>,
    /// Tail objects the last commit stopped referencing: garbage once another commit
    /// is asked for (the core only commits again after the previous commit reached
    /// the state).
    stale: Vec<String>,
}

impl PartWriter {
    /// Continues an upload. Its tail stays in object storage until it is needed.
    pub async fn open(inner: Arc<Inner>, id: &str, state: Assembly) -> Result<Self, BlobError> {
        let buf = Spool::new(inner.buffers.clone(), inner.spool_dir.clone());
        let kept = state.tail_objects();
        Ok(Self {
            inner,
            id: id.to_owned(),
            parts: state.parts.clone(),
            state,
            running: VecDeque::new(),
            kept,
            buf,
            fresh_since: None,
            stale: Vec::new(),
        })
    }

    /// Bytes of the tail still only in its objects.
    fn kept_len(&self) -> u64 {
        self.kept.iter().map(|(_, n)| n).sum()
    }

    /// Bytes past the last part handed to an upload (kept and buffered).
    fn len(&self) -> u64 {
        self.kept_len() + self.buf.len()
    }

    /// The next tail's bytes from `from` on, in memory (the caller holds room for
    /// them); `consume` empties the buffer (they become a part).
    async fn tail_from(&mut self, from: u64, consume: bool) -> Result<PutPayload, BlobError> {
        let kept_len = self.kept_len();
        if from >= kept_len {
            return match consume {
                true => self.buf.payload(true).await,
                false => self.buf.payload_from(from - kept_len).await,
            };
        }
        debug_assert_eq!(
            from, 0,
            "a tail is sent from its start or past the kept bytes"
        );
        let mut out = self.inner.read_tail(&self.id, &self.kept).await?;
        out.extend(self.buf.payload(consume).await?);
        if consume {
            self.kept.clear();
        }
        Ok(out.into_iter().collect())
    }

    /// Appends bytes, starting part uploads as parts fill.
    pub async fn push(&mut self, data: Bytes) -> Result<(), BlobError> {
        let part = self.state.part;
        let mut data = data;
        while !data.is_empty() {
            if self.fresh_since.is_none() {
                self.fresh_since = Some(std::time::Instant::now());
            }
            let room = part - self.len();
            let take = room.min(data.len() as u64) as usize;
            self.buf.append(data.split_to(take)).await?;
            if self.len() == part {
                self.start_part().await?;
                // What comes next is the first of a new buffer.
                self.fresh_since = None;
            }
        }
        Ok(())
    }

    /// Uploads the full buffer as the next part.
    async fn start_part(&mut self) -> Result<(), BlobError> {
        while self.running.len() >= IN_FLIGHT {
            self.finish_one().await?;
        }
        let idx = self.parts.len() + self.running.len();
        let (inner, path, mp) = (
            self.inner.clone(),
            self.inner.final_path(&self.id),
            self.state.mp.clone(),
        );
        let permit = self.inner.room(self.len()).await?;
        let data = self.tail_from(0, true).await?;
        self.running.push_back(tokio::spawn(async move {
            let _permit = permit;
            inner
                .multipart
                .put_part(&path, &mp, idx, data)
                .await
                .map_err(backend)
        }));
        Ok(())
    }

    /// Deletes the objects the commit before the last stopped referencing (no state
    /// refers to them any more); when `replaced`, the current tail objects become the
    /// next ones to go.
    async fn retire(&mut self, replaced: bool) {
        for old in std::mem::take(&mut self.stale) {
            let _ = self
                .inner
                .objects
                .delete(&self.inner.tmp_path(&self.id, &old))
                .await;
        }
        if replaced {
            self.stale = self
                .state
                .tail_objects()
                .into_iter()
                .map(|(k, _)| k)
                .collect();
        }
    }

    async fn finish_one(&mut self) -> Result<(), BlobError> {
        let Some(h) = self.running.pop_front() else {
            return Ok(());
        };
        let id = h
            .await
            .map_err(|e| BlobError::Backend(format!("part upload task: {e}")))??;
        self.parts.push(id.content_id);
        Ok(())
    }
}

#[async_trait]
impl BlobWriter for PartWriter {
    async fn write(&mut self, data: Bytes) -> Result<(), BlobError> {
        self.push(data).await
    }

    async fn absorb(&mut self, range: &StagedRange, from: u64) -> Result<(), BlobError> {
        let path = self.inner.tmp_path(&self.id, &range.key);
        let mut rx = self
            .inner
            .stream(&path, from - range.start, range.end - range.start)
            .await?;
        pump(&mut rx, self).await
    }

    async fn absorb_upload(&mut self, other_id: &str, len: u64) -> Result<(), BlobError> {
        let path = self.inner.final_path(other_id);
        let mut rx = self.inner.stream(&path, 0, len).await?;
        pump(&mut rx, self).await
    }

    async fn commit_aged(&mut self, age: std::time::Duration) -> Result<CommitPoint, BlobError> {
        if self.fresh_since.is_none_or(|t| t.elapsed() >= age) {
            return self.commit().await;
        }
        // Every uncommitted byte in the buffer arrived within `age`: commit the parts
        // uploaded meanwhile, if any, without copying those bytes into a tail object.
        while !self.running.is_empty() {
            self.finish_one().await?;
        }
        if self.parts.len() == self.state.parts.len() {
            return Ok(CommitPoint {
                offset: self.state.offset(),
                assembly: None,
            });
        }
        let next = Assembly {
            parts: self.parts.clone(),
            tail: 0,
            tail_key: String::new(),
            more: Vec::new(),
            generation: self.state.generation + 1,
            ..self.state.clone()
        };
        self.retire(true).await;
        self.state = next;
        Ok(CommitPoint {
            offset: self.state.offset(),
            assembly: Some(self.state.encode()),
        })
    }

    async fn commit(&mut self) -> Result<CommitPoint, BlobError> {
        while !self.running.is_empty() {
            self.finish_one().await?;
        }
        let unchanged = self.parts.len() == self.state.parts.len() && self.len() == self.state.tail;
        if unchanged {
            return Ok(CommitPoint {
                offset: self.state.offset(),
                assembly: None,
            });
        }
        let generation = self.state.generation + 1;
        let key = format!("tail-{generation}");
        // Bytes added after an unchanged tail (same parts) go in a segment of their own;
        // otherwise (a part was uploaded, or too many segments) the whole tail is
        // written again as one object and the old objects become garbage.
        let append = self.parts.len() == self.state.parts.len()
            && self.state.tail > 0
            && self.len() > self.state.tail
            && self.state.more.len() < MAX_SEGMENTS;
        let from = if append { self.state.tail } else { 0 };
        let next = Assembly {
            parts: self.parts.clone(),
            tail: self.len(),
            tail_key: match (append, self.len()) {
                (true, _) => self.state.tail_key.clone(),
                (false, 0) => String::new(),
                (false, _) => key.clone(),
            },
            more: match append {
                true => {
                    let mut m = self.state.more.clone();
                    m.push(Segment {
                        key: key.clone(),
                        len: self.len() - from,
                    });
                    m
                }
                false => Vec::new(),
            },
            generation,
            ..self.state.clone()
        };
        if next.tail > from {
            // A copy of those bytes, in memory under the budget of bytes in flight.
            let _permit = self.inner.room(next.tail - from).await?;
            let tail: PutPayload = self.tail_from(from, false).await?;
            self.inner
                .objects
                .put(&self.inner.tmp_path(&self.id, &key), tail)
                .await
                .map_err(backend)?;
            let kept_len = self.kept_len();
            if from < kept_len {
                // Written again whole: the kept bytes are now the new object's start
                // (the old objects become garbage below).
                self.kept = vec![(key.clone(), kept_len)];
            }
        }
        self.retire(!append).await;
        self.state = next;
        self.fresh_since = None;
        Ok(CommitPoint {
            offset: self.state.offset(),
            assembly: Some(self.state.encode()),
        })
    }
}
