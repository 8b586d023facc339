//! The object-store [`BlobWriter`]: re-blocks incoming bytes into fixed-size parts
//! (up to two part uploads in flight while more bytes arrive, within the process-wide
//! budget [`super::IN_FLIGHT_MIB`]), and at each commit stores what is left over as a
//! new tail object. Memory per writer: one part being filled plus its parts in flight.

use std::collections::VecDeque;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use object_store::multipart::PartId;
use object_store::{ObjectStoreExt, PutPayload};
use tokio::task::JoinHandle;

use super::{backend, pump, Assembly, Inner};
use crate::blob::{BlobError, BlobWriter, CommitPoint};
use crate::model::StagedRange;

/// Part uploads allowed in flight per writer (memory: this many parts plus the buffer).
const IN_FLIGHT: usize = 2;

pub(crate) struct PartWriter {
    inner: Arc<Inner>,
    id: String,
    /// The state as of the last commit (or the open).
    state: Assembly,
    /// Part ids uploaded so far, in order (the committed ones first).
    parts: Vec<String>,
    /// Part uploads running, in part order.
    running: VecDeque<JoinHandle<Result<PartId, BlobError>>>,
    /// Bytes past the last part handed to an upload: the next tail.
    buf: BytesMut,
    /// The tail before the last commit's: garbage once another commit is asked for
    /// (the core only commits again after the previous commit reached the state).
    stale_tail: Option<String>,
}

impl PartWriter {
    /// Continues an upload: the tail object is read back into the buffer.
    pub async fn open(inner: Arc<Inner>, id: &str, state: Assembly) -> Result<Self, BlobError> {
        let mut buf = BytesMut::with_capacity(state.part as usize);
        if state.tail > 0 {
            let tail = inner
                .objects
                .get(&inner.tmp_path(id, &state.tail_key))
                .await
                .map_err(backend)?
                .bytes()
                .await
                .map_err(backend)?;
            if tail.len() as u64 != state.tail {
                return Err(BlobError::Backend(format!(
                    "tail object holds {} bytes, expected {}",
                    tail.len(),
                    state.tail
                )));
            }
            buf.extend_from_slice(&tail);
        }
        Ok(Self {
            inner,
            id: id.to_owned(),
            parts: state.parts.clone(),
            state,
            running: VecDeque::new(),
            buf,
            stale_tail: None,
        })
    }

    /// Appends bytes, starting part uploads as parts fill.
    pub async fn push(&mut self, data: Bytes) -> Result<(), BlobError> {
        let part = self.state.part as usize;
        let mut data = data;
        while !data.is_empty() {
            let room = part - self.buf.len();
            let take = room.min(data.len());
            self.buf.extend_from_slice(&data.split_to(take));
            if self.buf.len() == part {
                let full = std::mem::replace(&mut self.buf, BytesMut::with_capacity(part)).freeze();
                self.start_part(full).await?;
            }
        }
        Ok(())
    }

    async fn start_part(&mut self, data: Bytes) -> Result<(), BlobError> {
        while self.running.len() >= IN_FLIGHT {
            self.finish_one().await?;
        }
        let idx = self.parts.len() + self.running.len();
        let (inner, path, mp) = (
            self.inner.clone(),
            self.inner.final_path(&self.id),
            self.state.mp.clone(),
        );
        // Room in the process-wide budget of part bytes in flight (released when the
        // part upload ends).
        let mib = (data.len().div_ceil(1 << 20) as u32).clamp(1, super::IN_FLIGHT_MIB as u32);
        let permit = inner
            .in_flight
            .clone()
            .acquire_many_owned(mib)
            .await
            .map_err(|e| BlobError::Backend(e.to_string()))?;
        self.running.push_back(tokio::spawn(async move {
            let _permit = permit;
            inner
                .multipart
                .put_part(&path, &mp, idx, PutPayload::from(data))
                .await
                .map_err(backend)
        }));
        Ok(())
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

    async fn commit(&mut self) -> Result<CommitPoint, BlobError> {
        while !self.running.is_empty() {
            self.finish_one().await?;
        }
        let unchanged =
            self.parts.len() == self.state.parts.len() && self.buf.len() as u64 == self.state.tail;
        if unchanged {
            return Ok(CommitPoint {
                offset: self.state.offset(),
                assembly: None,
            });
        }
        let mut next = Assembly {
            parts: self.parts.clone(),
            tail: self.buf.len() as u64,
            tail_key: String::new(),
            generation: self.state.generation + 1,
            ..self.state.clone()
        };
        if next.tail > 0 {
            next.tail_key = format!("tail-{}", next.generation);
            self.inner
                .objects
                .put(
                    &self.inner.tmp_path(&self.id, &next.tail_key),
                    PutPayload::from(self.buf.clone().freeze()),
                )
                .await
                .map_err(backend)?;
        }
        // The tail two commits back is referenced by no state any more.
        if let Some(old) = self.stale_tail.take() {
            let _ = self
                .inner
                .objects
                .delete(&self.inner.tmp_path(&self.id, &old))
                .await;
        }
        if !self.state.tail_key.is_empty() {
            self.stale_tail = Some(self.state.tail_key.clone());
        }
        self.state = next;
        Ok(CommitPoint {
            offset: self.state.offset(),
            assembly: Some(self.state.encode()),
        })
    }
}
