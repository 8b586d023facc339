//! The streaming checksums computed over request bodies ([`crate::model::body::ChunkBody`]).

use bytes::Bytes;
use sha2::Digest;
use upgate_proto::checksum::Algorithm;

/// A streaming hash for the checksum extension.
pub enum Hasher {
    Sha256(sha2::Sha256),
    Sha1(sha1::Sha1),
    Md5(md5::Md5),
    Crc32c(u32),
}

impl Hasher {
    pub fn new(alg: Algorithm) -> Self {
        match alg {
            Algorithm::Sha256 => Self::Sha256(sha2::Sha256::new()),
            Algorithm::Sha1 => Self::Sha1(sha1::Sha1::new()),
            Algorithm::Md5 => Self::Md5(md5::Md5::new()),
            Algorithm::Crc32c => Self::Crc32c(0),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(data),
            Self::Sha1(h) => h.update(data),
            Self::Md5(h) => h.update(data),
            Self::Crc32c(c) => *c = crc32c::crc32c_append(*c, data),
        }
    }

    pub fn finish(self) -> Vec<u8> {
        match self {
            Self::Sha256(h) => h.finalize().to_vec(),
            Self::Sha1(h) => h.finalize().to_vec(),
            Self::Md5(h) => h.finalize().to_vec(),
            Self::Crc32c(c) => c.to_be_bytes().to_vec(),
        }
    }
}

/// A [`Hasher`] on its own blocking thread: frames are handed over (reference-counted,
/// gathered into 256 KiB batches) so the digest is computed beside the network read
/// and the disk write instead of between them.
pub struct HashPipe {
    tx: tokio::sync::mpsc::Sender<Vec<Bytes>>,
    pending: Vec<Bytes>,
    pending_len: usize,
    result: tokio::sync::oneshot::Receiver<Vec<u8>>,
}

impl HashPipe {
    const BATCH: usize = 256 * 1024;

    pub fn spawn(alg: Algorithm) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Bytes>>(4);
        let (done, result) = tokio::sync::oneshot::channel();
        tokio::task::spawn_blocking(move || {
            let mut h = Hasher::new(alg);
            while let Some(batch) = rx.blocking_recv() {
                for b in &batch {
                    h.update(b);
                }
            }
            let _ = done.send(h.finish());
        });
        Self {
            tx,
            pending: Vec::new(),
            pending_len: 0,
            result,
        }
    }

    async fn flush(&mut self) {
        if !self.pending.is_empty() {
            let batch = std::mem::take(&mut self.pending);
            self.pending_len = 0;
            // If the thread is gone, `finish` reports it by returning None.
            let _ = self.tx.send(batch).await;
        }
    }

    pub async fn update(&mut self, data: &Bytes) {
        self.pending_len += data.len();
        self.pending.push(data.clone());
        if self.pending_len >= Self::BATCH {
            self.flush().await;
        }
    }

    /// The digest of everything passed to `update`, or `None` if the thread failed.
    pub async fn finish(mut self) -> Option<Vec<u8>> {
        self.flush().await;
        drop(self.tx);
        self.result.await.ok()
    }
}
