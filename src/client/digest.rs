//! The file's own SHA-256, computed from the chunks the push reads to send (offered in
//! any order, hashed in order, each step on the blocking pool: no thread is held while
//! a slow push waits, so a thousand pushes at once do not need a thousand threads), so
//! the file is read once, not twice.
//! What was never offered — the part before a resumed offset, chunks that came too far
//! ahead or while the task was busy — is read from the file at the end. A file whose
//! size or modification time changed during the push is an error, not a digest.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};

use bytes::Bytes;
use sha2::Digest;

use super::source::Source;
use super::ClientError;

/// Offers read chunks to the hashing task; never waits (a chunk it cannot take now
/// is read again from the file at the end).
#[derive(Debug, Clone)]
pub struct Tap(tokio::sync::mpsc::Sender<(u64, Bytes)>);

impl Tap {
    pub fn offer(&self, at: u64, data: &Bytes) {
        let _ = self.0.try_send((at, data.clone()));
    }

    /// Ends the offers: the digest is then completed from the file.
    pub async fn close(&self) {
        let _ = self.0.send((END, Bytes::new())).await;
    }
}

/// The offset that closes a [`Tap`].
const END: u64 = u64::MAX;

/// Chunks held ahead of the hashed position before the gap is read from the file.
const AHEAD: usize = 32 << 20;
/// Chunks waiting for the task.
const QUEUE: usize = 4;

/// Starts hashing `src`; the task ends after [`Tap::close`], with the hex digest.
pub fn spawn(src: &Source) -> (Tap, tokio::task::JoinHandle<Result<String, ClientError>>) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(QUEUE);
    let src = src.clone();
    let task = tokio::spawn(async move {
        let size = src.size;
        let mut h = step(&src, None, |_| Ok(())).await?;
        while let Some((at, data)) = rx.recv().await {
            if at == END {
                break;
            }
            h = step(&src, Some(h), move |h| h.take(at, data)).await?;
        }
        let h = step(&src, Some(h), move |h| h.fill_to(size)).await?;
        if Source::open(&src.path)?.version() != src.version() {
            return Err(src.error(std::io::Error::other(
                "the file changed while it was being uploaded",
            )));
        }
        Ok(upgate_proto::hex::hex(&h.hash.finalize()))
    });
    (Tap(tx), task)
}

/// Runs `f` on the state (opened first when `None`) on the blocking pool.
async fn step(
    src: &Source,
    h: Option<InOrder>,
    f: impl FnOnce(&mut InOrder) -> std::io::Result<()> + Send + 'static,
) -> Result<InOrder, ClientError> {
    let path = src.path.clone();
    let out = tokio::task::spawn_blocking(move || {
        let mut h = match h {
            Some(h) => h,
            None => InOrder::new(&path)?,
        };
        f(&mut h).map(|()| h)
    })
    .await
    .map_err(|e| src.error(std::io::Error::other(e.to_string())))?;
    out.map_err(|e| src.error(e))
}

/// The hash of the file's bytes `[0, next)` and the chunks offered beyond it.
struct InOrder {
    file: std::fs::File,
    hash: sha2::Sha256,
    next: u64,
    ahead: BTreeMap<u64, Bytes>,
    ahead_len: usize,
}

impl InOrder {
    fn new(path: &std::path::Path) -> std::io::Result<Self> {
        Ok(Self {
            file: std::fs::File::open(path)?,
            hash: sha2::Sha256::new(),
            next: 0,
            ahead: BTreeMap::new(),
            ahead_len: 0,
        })
    }

    fn take(&mut self, at: u64, data: Bytes) -> std::io::Result<()> {
        if at > self.next {
            self.ahead_len += data.len();
            if let Some(old) = self.ahead.insert(at, data) {
                self.ahead_len -= old.len();
            }
            while self.ahead_len > AHEAD {
                let first = self.ahead.keys().next().copied().unwrap_or(self.next);
                self.read_file(first)?;
            }
            return Ok(());
        }
        self.hash_from(at, &data);
        self.drain();
        Ok(())
    }

    /// Hashes the part of `data` (at `at <= next`) past `next`.
    fn hash_from(&mut self, at: u64, data: &[u8]) {
        let end = at + data.len() as u64;
        if end > self.next {
            self.hash.update(&data[(self.next - at) as usize..]);
            self.next = end;
        }
    }

    /// Hashes the chunks held ahead that the hashed position reached.
    fn drain(&mut self) {
        while let Some(e) = self.ahead.first_entry() {
            if *e.key() > self.next {
                break;
            }
            let (at, data) = e.remove_entry();
            self.ahead_len -= data.len();
            self.hash_from(at, &data);
        }
    }

    /// Hashes the file's bytes from `next` to `end`, then what that reaches.
    fn read_file(&mut self, end: u64) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(self.next))?;
        let mut buf = vec![0u8; 1 << 20];
        while self.next < end {
            let want = buf.len().min((end - self.next) as usize);
            let n = self.file.read(&mut buf[..want])?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.hash.update(&buf[..n]);
            self.next += n as u64;
        }
        self.drain();
        Ok(())
    }

    /// Hashes everything up to `size`.
    fn fill_to(&mut self, size: u64) -> std::io::Result<()> {
        while self.next < size {
            let upto = self.ahead.keys().next().map_or(size, |&k| k.min(size));
            self.read_file(upto)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Offers `chunks` (offset, length) of a file, then asks for the digest.
    async fn digest_of(data: &[u8], chunks: &[(usize, usize)]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, data).unwrap();
        let src = Source::open(&path).unwrap();
        let (tap, task) = spawn(&src);
        for &(at, len) in chunks {
            tap.offer(at as u64, &Bytes::copy_from_slice(&data[at..at + len]));
            tokio::task::yield_now().await;
        }
        tap.close().await;
        task.await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn any_order_of_offers_gives_the_files_digest() {
        let mib = 1 << 20;
        let data: Vec<u8> = (0..40 * mib as u32).map(|i| (i % 253) as u8).collect();
        let want = upgate_proto::hex::hex(&sha2::Sha256::digest(&data));
        let in_order: Vec<_> = (0..40).map(|i| (i * mib, mib)).collect();
        let reversed: Vec<_> = in_order.iter().rev().copied().collect();
        let cases: Vec<Vec<(usize, usize)>> = vec![
            in_order.clone(),
            vec![],                  // nothing offered: all from the file
            in_order[10..].to_vec(), // a resumed push
            reversed,                // far ahead: past the hold, read
            vec![(0, 3 * mib), (mib, mib), (2 * mib + 5, 7 * mib), (0, 1)], // overlaps
            vec![(5, 10), (0, 5), (15, 40 * mib - 15)], // a gap closed by a later offer
        ];
        for chunks in cases {
            assert_eq!(digest_of(&data, &chunks).await, want, "{chunks:?}");
        }
    }

    #[tokio::test]
    async fn a_file_changed_meanwhile_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"first").unwrap();
        let src = Source::open(&path).unwrap();
        let (tap, task) = spawn(&src);
        std::fs::write(&path, b"second, longer").unwrap();
        tap.close().await;
        let e = task.await.unwrap().unwrap_err();
        assert!(e.to_string().contains("changed"), "{e}");
    }
}
