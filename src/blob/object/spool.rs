//! The bytes of a part being filled, kept within a process-wide memory budget: in
//! 1 MiB blocks while [`Inner::buffers`] has room, then in an unlinked local file (the
//! spool) for the rest of the part. A thousand slow uploads thus hold a bounded amount
//! of memory whatever their number: what exceeds the budget waits on local disk until
//! its part (or tail object) is uploaded, and is read back into memory only under the
//! budget of part uploads in flight ([`Inner::in_flight`]).

use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use object_store::PutPayload;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::block::Block;
use crate::blob::BlobError;

/// One block of memory, and the unit of the buffer budget.
pub const BLOCK: usize = 1 << 20;

/// Spool file operations on the blocking pool at once, over the process: a thousand
/// writers appending frames must not become a thousand threads.
fn io_slots() -> Arc<Semaphore> {
    static SLOTS: std::sync::OnceLock<Arc<Semaphore>> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| Arc::new(Semaphore::new(8))).clone()
}

/// Runs `f` on the blocking pool within [`io_slots`].
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, BlobError> {
    let permit = io_slots().acquire_owned().await.map_err(io)?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f()
    })
    .await
    .map_err(io)?
    .map_err(BlobError::Io)
}

pub(crate) struct Spool {
    budget: Arc<Semaphore>,
    dir: PathBuf,
    /// The first bytes, in memory: full blocks (frozen, so a tail snapshot shares them
    /// instead of copying) and the block being filled.
    full: Vec<Bytes>,
    filling: Option<Block>,
    permits: Vec<OwnedSemaphorePermit>,
    /// The rest, once the budget ran out.
    file: Option<Arc<std::fs::File>>,
    file_len: u64,
}

fn io(e: impl std::fmt::Display) -> BlobError {
    BlobError::Io(std::io::Error::other(e.to_string()))
}

impl Spool {
    pub fn new(budget: Arc<Semaphore>, dir: PathBuf) -> Self {
        Self {
            budget,
            dir,
            full: Vec::new(),
            filling: None,
            permits: Vec::new(),
            file: None,
            file_len: 0,
        }
    }

    pub fn len(&self) -> u64 {
        let mem: usize = self.full.iter().map(Bytes::len).sum::<usize>()
            + self.filling.as_ref().map_or(0, Block::len);
        mem as u64 + self.file_len
    }

    /// Appends `data`: into memory while the budget allows, else into the file.
    pub async fn append(&mut self, mut data: Bytes) -> Result<(), BlobError> {
        while !data.is_empty() && self.file.is_none() {
            match self.filling.as_mut() {
                Some(b) => {
                    data.advance(b.push(&data));
                    if b.room() == 0 {
                        let full = self.filling.take().map(Block::freeze);
                        self.full.extend(full);
                    }
                }
                None => match self.budget.clone().try_acquire_owned() {
                    Ok(p) => {
                        self.permits.push(p);
                        self.filling = Some(Block::new(BLOCK)?);
                    }
                    Err(_) => self.file = Some(Arc::new(self.open_file().await?)),
                },
            }
        }
        if data.is_empty() {
            return Ok(());
        }
        let file = self.file.clone().ok_or_else(|| io("spool file missing"))?;
        let at = self.file_len;
        let n = data.len() as u64;
        blocking(move || file.write_all_at(&data, at)).await?;
        self.file_len += n;
        Ok(())
    }

    async fn open_file(&self) -> Result<std::fs::File, BlobError> {
        let dir = self.dir.clone();
        blocking(move || {
            std::fs::create_dir_all(&dir)?;
            let path = dir.join(format!("spool-{}", crate::model::new_id()));
            let f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)?;
            // Unlinked at once: the space goes back when the writer does, crash or not.
            std::fs::remove_file(&path)?;
            Ok(f)
        })
        .await
    }

    /// A copy of the bytes from `from` on, as an upload payload (the spool keeps them).
    pub async fn payload_from(&mut self, from: u64) -> Result<PutPayload, BlobError> {
        if from == 0 {
            return self.payload(false).await;
        }
        let mut out: Vec<Bytes> = Vec::new();
        let mut at = 0u64;
        for b in &self.full {
            let end = at + b.len() as u64;
            if end > from {
                out.push(b.slice(from.saturating_sub(at) as usize..));
            }
            at = end;
        }
        if let Some(b) = self.filling.as_deref() {
            // Only what is asked for is copied (a tail segment: the bytes since the
            // last one, not the whole block).
            let skip = (from.saturating_sub(at) as usize).min(b.len());
            out.push(Block::copy_of(&b[skip..])?);
            at += b.len() as u64;
        }
        if let Some(file) = self.file.clone() {
            out.extend(read_blocks(file, from.saturating_sub(at), self.file_len).await?);
        }
        Ok(out.into_iter().filter(|b| !b.is_empty()).collect())
    }

    /// Everything held, as an upload payload; `consume` empties the spool (its memory
    /// budget is returned: the payload's memory is then the caller's, held under the
    /// budget of parts in flight).
    pub async fn payload(&mut self, consume: bool) -> Result<PutPayload, BlobError> {
        let mut parts: Vec<Bytes> = self.full.clone();
        match (consume, self.filling.take()) {
            (true, Some(b)) => parts.push(b.freeze()),
            (false, Some(b)) => {
                parts.push(Block::copy_of(&b)?);
                self.filling = Some(b);
            }
            (_, None) => {}
        }
        if let Some(file) = self.file.clone() {
            parts.extend(read_blocks(file, 0, self.file_len).await?);
        }
        if consume {
            self.full.clear();
            self.permits.clear();
            self.file = None;
            self.file_len = 0;
        }
        Ok(parts.into_iter().filter(|b| !b.is_empty()).collect())
    }
}

/// Bytes `[start, end)` of the spool file, read back in blocks (see [`Block::read_at`]),
/// not one buffer of a whole part's size.
async fn read_blocks(
    file: Arc<std::fs::File>,
    start: u64,
    end: u64,
) -> Result<Vec<Bytes>, BlobError> {
    blocking(move || {
        let mut out = Vec::new();
        let mut pos = start;
        while pos < end {
            let n = (end - pos).min(BLOCK as u64) as usize;
            out.push(Block::read_at(&file, n, pos)?);
            pos += n as u64;
        }
        Ok(out)
    })
    .await
}
