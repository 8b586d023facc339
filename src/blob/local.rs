//! Upload data in a local directory: the single-machine default.
//!
//! Layout under the root:
//! - `partial/ID`            the contiguous data, appended and fsync'd at commit points
//! - `staged/ID.START.RAND`  one out-of-order range each, fsync'd before it is recorded
//! - `complete/ID`           the finished file, renamed from `partial/ID` (no copy)
//!
//! - `partial/ID.end`        where a trusted writer's bytes reach (see below)
//!
//! Each writer owns one blocking thread that performs the writes. The async side
//! gathers a request's frames (`Bytes` handles, no copy) into batches of `GATHER` bytes
//! and moves them through a bounded channel (`QUEUE` batches): network reads and disk
//! writes overlap, memory stays bounded, and the thread is woken once per batch rather
//! than once per frame (a frame is often 16-64 KiB; the wake-ups cost more than the
//! writes). A batch goes early when the client's next bytes are not there yet
//! ([`BlobWriter::idle`]) and before a commit, so every byte that arrived is in the file
//! (the page cache) moments later, even when the client then stalls. The thread writes
//! each batch (and whatever else is queued, up to `BATCH` bytes) with one `writev`.
//! Absorbing a staged range copies it with `copy_file_range` (std's `io::copy` between
//! files).
//!
//! **The tail a crash keeps.** Committing (fsync + offset) every few seconds would lose
//! those seconds to a `kill -9`; but a process crash does not lose the page cache. A
//! writer whose bytes need no later check (no checksum pending: [`BlobWriter::trust_tail`])
//! records, beside the file, the kernel's boot id and how far its bytes reach, each time
//! it catches up with its queue (and every `MARK_EVERY` bytes). After a crash,
//! [`Assembler::tail`] offers those bytes when the boot id is still the current one (the
//! page cache survived: only the process died) and [`Assembler::keep_tail`] fsyncs them
//! before the core moves the offset: the offset still never passes durable bytes. After
//! a reboot the mark is ignored. Opening a writer resets the mark to its offset.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::{Assembler, BlobError, BlobWriter, ByteStream, CommitPoint, StageWriter};
use crate::model::body::Gather;
use crate::model::{is_valid_id, new_id, StagedRange};

/// Batches queued between the async side and the writer thread.
const QUEUE: usize = 4;
/// The async side hands frames on once it holds this many bytes.
const GATHER: usize = 512 * 1024;
/// Queued batches are written with one `writev` of at most this many bytes.
const BATCH: usize = 1 << 20;
/// A writer thread's stack: it only loops over commands (its batches live on the heap).
const WRITER_STACK: usize = 256 * 1024;
/// A trusted writer's mark is refreshed at least every this many bytes.
const MARK_EVERY: u64 = 4 << 20;
/// Size of the mark record (`BOOT_ID END`, padded).
const MARK_LEN: usize = 64;
/// Read size for downloads.
const READ_CHUNK: usize = 256 * 1024;

/// The local-directory [`Assembler`].
#[derive(Debug, Clone)]
pub struct LocalAssembler {
    root: PathBuf,
    /// One lock per upload, held by its append writer's thread until that thread has
    /// finished: a new writer never starts while an old one may still write.
    writers: Arc<std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl LocalAssembler {
    /// Uses `root`, creating its sub-directories.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, BlobError> {
        let root = root.into();
        for sub in ["partial", "staged", "complete"] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        Ok(Self {
            root,
            writers: Arc::default(),
        })
    }

    fn writer_lock(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.writers.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(id.to_owned()).or_default().clone()
    }

    fn forget_writer_lock(&self, id: &str) {
        self.writers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    fn checked(id: &str) -> Result<&str, BlobError> {
        if is_valid_id(id) {
            Ok(id)
        } else {
            Err(BlobError::NotFound(format!("invalid id {id:?}")))
        }
    }

    fn partial(&self, id: &str) -> Result<PathBuf, BlobError> {
        Ok(self.root.join("partial").join(Self::checked(id)?))
    }

    /// The tail mark beside `partial/ID`.
    fn mark_path(&self, id: &str) -> Result<PathBuf, BlobError> {
        Ok(self
            .root
            .join("partial")
            .join(format!("{}.end", Self::checked(id)?)))
    }

    fn complete_path(&self, id: &str) -> Result<PathBuf, BlobError> {
        Ok(self.root.join("complete").join(Self::checked(id)?))
    }

    fn staged(&self, key: &str) -> Result<PathBuf, BlobError> {
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
            || key.starts_with('.')
        {
            return Err(BlobError::NotFound(format!("invalid staged key {key:?}")));
        }
        Ok(self.root.join("staged").join(key))
    }
}

enum Cmd {
    Write(Vec<Bytes>),
    Copy {
        path: PathBuf,
        from: u64,
        len: u64,
    },
    Sync(oneshot::Sender<std::io::Result<()>>),
    /// From now on, keep the tail mark up to date.
    Trust,
}

/// The kernel's boot id: a crash mark written under another boot is stale.
fn boot_id() -> Option<&'static str> {
    static BOOT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    BOOT.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty() && s.len() < 40)
    })
    .as_deref()
}

/// Writes the mark `BOOT END` (fixed size, in place; no fsync: it only has to outlive
/// the process, like the bytes it describes).
fn write_mark(mark: &File, end: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let Some(boot) = boot_id() else {
        return Ok(());
    };
    let mut rec = format!("{boot} {end}");
    rec.extend(std::iter::repeat_n(
        ' ',
        MARK_LEN.saturating_sub(rec.len() + 1),
    ));
    rec.push('\n');
    mark.write_all_at(rec.as_bytes(), 0)
}

/// The end a mark records, if it was written under the current boot.
fn read_mark(text: &str) -> Option<u64> {
    let (boot, end) = text.trim().split_once(' ')?;
    (Some(boot) == boot_id()).then_some(())?;
    end.trim().parse().ok()
}

/// What the writer thread keeps between commands.
struct ThreadState {
    file: File,
    /// Absolute position of the file cursor.
    pos: u64,
    mark: Option<File>,
    trusted: bool,
    marked: u64,
    failed: Option<std::io::Error>,
}

impl ThreadState {
    fn write(&mut self, batch: &[Bytes]) {
        if self.failed.is_some() {
            return;
        }
        match write_all_vectored(&mut self.file, batch) {
            Ok(()) => self.pos += batch.iter().map(|b| b.len() as u64).sum::<u64>(),
            Err(e) => self.failed = Some(e),
        }
    }

    /// Refreshes the mark (when trusted): always when the queue ran dry, else every
    /// `MARK_EVERY` bytes.
    fn mark(&mut self, idle: bool) {
        if !self.trusted || self.failed.is_some() || self.pos == self.marked {
            return;
        }
        if !idle && self.pos - self.marked < MARK_EVERY {
            return;
        }
        if let Some(m) = &self.mark {
            if write_mark(m, self.pos).is_ok() {
                self.marked = self.pos;
            }
        }
    }
}

/// The writer thread: applies commands in order, gathering queued frames into one
/// `writev`; the first error sticks and is reported at the next sync.
fn writer_thread(st: ThreadState, mut rx: mpsc::Receiver<Cmd>, abandoned: Arc<AtomicBool>) {
    let mut st = st;
    let mut next = rx.blocking_recv();
    while let Some(cmd) = next.take() {
        // After the writer was dropped, queued bytes are uncommitted by definition:
        // discard them (a successor may already own these positions).
        if abandoned.load(Ordering::SeqCst) {
            next = rx.blocking_recv();
            continue;
        }
        match cmd {
            Cmd::Write(first) => {
                let mut batch = first;
                let mut len: usize = batch.iter().map(Bytes::len).sum();
                while len < BATCH {
                    match rx.try_recv() {
                        Ok(Cmd::Write(b)) => {
                            len += b.iter().map(Bytes::len).sum::<usize>();
                            batch.extend(b);
                        }
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                st.write(&batch);
            }
            Cmd::Copy { path, from, len } if st.failed.is_none() => {
                let copied = File::open(&path).and_then(|mut src| {
                    src.seek(SeekFrom::Start(from))?;
                    std::io::copy(&mut src.take(len), &mut st.file)
                });
                match copied {
                    Ok(n) if n == len => st.pos += n,
                    Ok(n) => {
                        st.failed = Some(std::io::Error::other(format!(
                            "staged range short: {n} of {len}"
                        )))
                    }
                    Err(e) => st.failed = Some(e),
                }
            }
            Cmd::Copy { .. } => {}
            Cmd::Sync(reply) => {
                let res = match st.failed.take() {
                    Some(e) => Err(e),
                    None => st.file.sync_data(),
                };
                let _ = reply.send(res);
            }
            Cmd::Trust => st.trusted = true,
        }
        if next.is_none() {
            next = match rx.try_recv() {
                Ok(cmd) => {
                    st.mark(false);
                    Some(cmd)
                }
                Err(_) => {
                    // Caught up with the queue: the mark reaches every byte received.
                    st.mark(true);
                    rx.blocking_recv()
                }
            };
        }
    }
}

/// Writes every byte of `batch` with as few `writev` calls as the kernel allows.
fn write_all_vectored(file: &mut File, batch: &[Bytes]) -> std::io::Result<()> {
    let mut slices: Vec<std::io::IoSlice<'_>> =
        batch.iter().map(|b| std::io::IoSlice::new(b)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => std::io::IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Async handle to a writer thread, tracking the absolute position. Frames cross as
/// `Bytes` handles (no copy); the thread batches them.
struct ThreadWriter {
    tx: mpsc::Sender<Cmd>,
    pos: u64,
    pending: Gather,
    abandoned: Arc<AtomicBool>,
}

impl Drop for ThreadWriter {
    fn drop(&mut self) {
        self.abandoned.store(true, Ordering::SeqCst);
    }
}

impl ThreadWriter {
    /// Starts the writer thread at `pos` (with the tail mark `mark`, if any); `guard`
    /// (if any) is held until the thread has finished.
    ///
    /// A thread of its own, not tokio's blocking pool: a writer lives as long as its
    /// request, so a thousand slow uploads would hold the pool's 512 threads and leave
    /// none for the state store's commits they wait for (measured: 700 slow uploads
    /// stalled for good).
    fn spawn(
        file: File,
        pos: u64,
        mark: Option<File>,
        guard: Option<tokio::sync::OwnedMutexGuard<()>>,
    ) -> Result<Self, BlobError> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let abandoned = Arc::new(AtomicBool::new(false));
        let flag = abandoned.clone();
        let st = ThreadState {
            file,
            pos,
            mark,
            trusted: false,
            marked: pos,
            failed: None,
        };
        std::thread::Builder::new()
            .name("upgate-writer".into())
            .stack_size(WRITER_STACK)
            .spawn(move || {
                writer_thread(st, rx, flag);
                drop(guard);
            })?;
        Ok(Self {
            tx,
            pos,
            pending: Gather::default(),
            abandoned,
        })
    }

    async fn send(&self, cmd: Cmd) -> Result<(), BlobError> {
        self.tx
            .send(cmd)
            .await
            .map_err(|_| BlobError::Io(std::io::Error::other("writer thread stopped")))
    }

    async fn write(&mut self, data: Bytes) -> Result<(), BlobError> {
        if data.is_empty() {
            return Ok(());
        }
        self.pos += data.len() as u64;
        if self.pending.push(data, GATHER) {
            self.flush().await?;
        }
        Ok(())
    }

    /// Hands the gathered frames to the thread.
    async fn flush(&mut self) -> Result<(), BlobError> {
        match self.pending.take() {
            Some(batch) => self.send(Cmd::Write(batch)).await,
            None => Ok(()),
        }
    }

    /// Appends `len` bytes of the file at `path` from `from` (copy_file_range).
    async fn copy(&mut self, path: PathBuf, from: u64, len: u64) -> Result<(), BlobError> {
        self.flush().await?;
        self.send(Cmd::Copy { path, from, len }).await?;
        self.pos += len;
        Ok(())
    }

    async fn sync(&mut self) -> Result<(), BlobError> {
        self.flush().await?;
        let (tx, rx) = oneshot::channel();
        self.send(Cmd::Sync(tx)).await?;
        rx.await
            .map_err(|_| BlobError::Io(std::io::Error::other("writer thread stopped")))??;
        Ok(())
    }
}

struct LocalWriter {
    inner: ThreadWriter,
    root: LocalAssembler,
}

#[async_trait]
impl BlobWriter for LocalWriter {
    async fn write(&mut self, data: Bytes) -> Result<(), BlobError> {
        self.inner.write(data).await
    }

    async fn absorb(&mut self, range: &StagedRange, from: u64) -> Result<(), BlobError> {
        if from < range.start || from > range.end {
            return Err(BlobError::Backend(format!(
                "absorb from {from} outside {}..{}",
                range.start, range.end
            )));
        }
        let path = self.root.staged(&range.key)?;
        let len = range.end - from;
        self.inner.copy(path, from - range.start, len).await
    }

    async fn absorb_upload(&mut self, other_id: &str, len: u64) -> Result<(), BlobError> {
        let path = self.root.complete_path(other_id)?;
        self.inner.copy(path, 0, len).await
    }

    async fn idle(&mut self) -> Result<(), BlobError> {
        self.inner.flush().await
    }

    async fn commit(&mut self) -> Result<CommitPoint, BlobError> {
        self.inner.sync().await?;
        Ok(CommitPoint {
            offset: self.inner.pos,
            assembly: None,
        })
    }

    async fn trust_tail(&mut self) -> Result<(), BlobError> {
        self.inner.flush().await?;
        self.inner.send(Cmd::Trust).await
    }
}

struct LocalStage {
    inner: ThreadWriter,
    key: String,
}

#[async_trait]
impl StageWriter for LocalStage {
    fn key(&self) -> &str {
        &self.key
    }

    async fn write(&mut self, data: Bytes) -> Result<(), BlobError> {
        self.inner.write(data).await
    }

    async fn finish(mut self: Box<Self>) -> Result<String, BlobError> {
        self.inner.sync().await?;
        Ok(self.key)
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BlobError::Io(std::io::Error::other(e.to_string())))?
        .map_err(BlobError::Io)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[async_trait]
impl Assembler for LocalAssembler {
    async fn create(&self, id: &str, _length: Option<u64>) -> Result<String, BlobError> {
        // The data file is created by the first writer (or at completion of an empty
        // upload): creation stays one state-store insert, no file system work.
        self.partial(id)?;
        Ok(String::new())
    }

    async fn open(
        &self,
        id: &str,
        offset: u64,
        _assembly: &str,
    ) -> Result<Box<dyn BlobWriter>, BlobError> {
        let path = self.partial(id)?;
        // Wait until an earlier writer's thread of this upload has finished.
        let lock = self.writer_lock(id);
        let guard = tokio::time::timeout(std::time::Duration::from_secs(30), lock.lock_owned())
            .await
            .map_err(|_| {
                BlobError::Backend("the previous writer of this upload is still running".into())
            })?;
        let mark_path = self.mark_path(id)?;
        let (file, mark) = blocking(move || {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)?;
            f.seek(SeekFrom::Start(offset))?;
            // The mark starts at the committed offset: an older writer's tail is
            // overwritten from here on and must not be offered any more.
            let mark = match boot_id() {
                Some(_) => {
                    let m = OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(false)
                        .open(&mark_path)?;
                    write_mark(&m, offset)?;
                    Some(m)
                }
                None => None,
            };
            Ok((f, mark))
        })
        .await?;
        Ok(Box::new(LocalWriter {
            inner: ThreadWriter::spawn(file, offset, mark, Some(guard))?,
            root: self.clone(),
        }))
    }

    async fn stage(&self, id: &str, start: u64) -> Result<Box<dyn StageWriter>, BlobError> {
        let key = format!("{}.{start}.{}", Self::checked(id)?, &new_id()[..12]);
        let path = self.staged(&key)?;
        let file =
            blocking(move || OpenOptions::new().write(true).create_new(true).open(&path)).await?;
        Ok(Box::new(LocalStage {
            inner: ThreadWriter::spawn(file, start, None, None)?,
            key,
        }))
    }

    async fn discard_staged(&self, _id: &str, key: &str) -> Result<(), BlobError> {
        let path = self.staged(key)?;
        blocking(move || match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        })
        .await
    }

    async fn complete(&self, id: &str, length: u64, _assembly: &str) -> Result<(), BlobError> {
        let (from, to) = (self.partial(id)?, self.complete_path(id)?);
        let mark = self.mark_path(id)?;
        self.forget_writer_lock(id);
        blocking(move || {
            let _ = std::fs::remove_file(&mark);
            if !from.exists() && to.exists() {
                return Ok(()); // already done (crash after the rename)
            }
            let f = OpenOptions::new()
                .write(true)
                .create(true) // an empty upload never had a writer
                .truncate(false)
                .open(&from)?;
            if f.metadata()?.len() != length {
                f.set_len(length)?; // drop uncommitted bytes past the end
            }
            f.sync_all()?;
            std::fs::rename(&from, &to)?;
            if let Some(dir) = to.parent() {
                sync_dir(dir)?;
            }
            Ok(())
        })
        .await
    }

    async fn read(
        &self,
        id: &str,
        start: u64,
        end: u64,
        complete: bool,
    ) -> Result<ByteStream, BlobError> {
        let path = if complete {
            self.complete_path(id)?
        } else {
            self.partial(id)?
        };
        let file = blocking(move || File::open(&path))
            .await
            .map_err(|e| match e {
                BlobError::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
                    BlobError::NotFound(id.to_owned())
                }
                other => other,
            })?;
        // One positional read at a time on the blocking pool, waiting for the reader in
        // between without a thread: a thousand slow downloads must not hold the pool.
        let file = Arc::new(file);
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let mut at = start;
            while at < end {
                let (f, want) = (file.clone(), READ_CHUNK.min((end - at) as usize));
                let read = tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0u8; want];
                    let n = std::os::unix::fs::FileExt::read_at(&*f, &mut buf, at)?;
                    buf.truncate(n);
                    Ok(buf)
                })
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
                let chunk = match read {
                    Ok(buf) if buf.is_empty() => Err(std::io::ErrorKind::UnexpectedEof.into()),
                    Ok(buf) => {
                        at += buf.len() as u64;
                        Ok(Bytes::from(buf))
                    }
                    Err(e) => Err(e),
                };
                let last = chunk.is_err();
                if tx.send(chunk.map_err(BlobError::Io)).await.is_err() || last {
                    return; // the reader went away, or this was the error
                }
            }
        });
        Ok(rx)
    }

    async fn tail(&self, id: &str, offset: u64) -> Result<Option<u64>, BlobError> {
        let (path, mark) = (self.partial(id)?, self.mark_path(id)?);
        blocking(move || {
            let end = match std::fs::read_to_string(&mark) {
                Ok(text) => read_mark(&text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            };
            let Some(end) = end.filter(|e| *e > offset) else {
                return Ok(None);
            };
            let len = std::fs::metadata(&path)?.len();
            Ok(Some(end.min(len)).filter(|e| *e > offset))
        })
        .await
    }

    async fn keep_tail(&self, id: &str, end: u64) -> Result<u64, BlobError> {
        let path = self.partial(id)?;
        blocking(move || {
            let f = OpenOptions::new().write(true).open(&path)?;
            f.sync_data()?;
            Ok(f.metadata()?.len().min(end))
        })
        .await
    }

    async fn delete(&self, id: &str, _assembly: &str) -> Result<(), BlobError> {
        let paths = [
            self.partial(id)?,
            self.complete_path(id)?,
            self.mark_path(id)?,
        ];
        self.forget_writer_lock(id);
        let staged_dir = self.root.join("staged");
        let prefix = format!("{id}.");
        blocking(move || {
            for p in paths {
                match std::fs::remove_file(&p) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            for entry in std::fs::read_dir(&staged_dir)? {
                let entry = entry?;
                if entry.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
            Ok(())
        })
        .await
    }
}
