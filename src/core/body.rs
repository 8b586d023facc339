//! The streaming checksums computed over request bodies ([`crate::model::body::ChunkBody`]).

use bytes::Bytes;
use sha2::Digest;
use upgate_proto::checksum::Algorithm;

use crate::model::body::Gather;

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

impl Feed for Hasher {
    fn feed(&mut self, data: &[u8]) {
        self.update(data);
    }
}

impl Feed for sha2::Sha256 {
    fn feed(&mut self, data: &[u8]) {
        self.update(data);
    }
}

/// What a [`Pipe`] runs: a hash fed frames in order.
pub trait Feed: Send + 'static {
    fn feed(&mut self, data: &[u8]);
}

/// What the pipe's task is handed: frames, or a look at the hash so far.
enum Msg<H> {
    Data(Vec<Bytes>),
    Look(Box<dyn FnOnce(&H) + Send>),
}

/// A hash computed beside the network read and the disk write instead of between them:
/// frames are handed over (reference-counted) in batches of 256 KiB to a task that
/// hashes on the blocking pool: one wake-up and one trip to the pool per batch, not per
/// frame. A batch goes early when the body pauses ([`Pipe::idle`]), so a slow body's
/// frames are hashed and released as they come. No thread is held while a slow body
/// waits for bytes, so a thousand slow uploads do not occupy a thousand threads.
pub struct Pipe<H> {
    tx: tokio::sync::mpsc::Sender<Msg<H>>,
    pending: Gather,
    result: tokio::sync::oneshot::Receiver<H>,
}

/// Hashing steps on the blocking pool at once, over the process: the CPU hashes only
/// so many at a time, and a thousand slow uploads each hashing a few bytes must not
/// become a thousand threads (each with its stack and a share of the allocator's
/// arenas).
const HASH_SLOTS: usize = 8;

fn hash_slots() -> std::sync::Arc<tokio::sync::Semaphore> {
    static SLOTS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::OnceLock::new();
    SLOTS
        .get_or_init(|| std::sync::Arc::new(tokio::sync::Semaphore::new(HASH_SLOTS)))
        .clone()
}

/// The checksum extension's pipe.
pub type HashPipe = Pipe<Hasher>;

impl HashPipe {
    pub fn spawn(alg: Algorithm) -> Self {
        Pipe::start(Hasher::new(alg))
    }

    /// The digest of everything passed to `update`, or `None` if the hashing failed.
    pub async fn finish(self) -> Option<Vec<u8>> {
        self.end().await.map(Hasher::finish)
    }
}

impl<H: Feed> Pipe<H> {
    const BATCH: usize = 256 * 1024;
    /// Batches queued for the hashing task: room to keep reading while it is woken.
    const QUEUE: usize = 16;

    /// Starts the task with `h` (fresh, or resumed from a saved state).
    pub fn start(h: H) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Msg<H>>(Self::QUEUE);
        let (done, result) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let mut h = h;
            while let Some(first) = rx.recv().await {
                // On the blocking pool until the queue is empty, then back here to
                // wait without a thread; a few at once over the process.
                let Ok(slot) = hash_slots().acquire_owned().await else {
                    return;
                };
                let step = tokio::task::spawn_blocking(move || {
                    let _slot = slot;
                    let mut next = Some(first);
                    while let Some(m) = next.take() {
                        match m {
                            Msg::Data(batch) => batch.iter().for_each(|b| h.feed(b)),
                            Msg::Look(f) => f(&h),
                        }
                        next = rx.try_recv().ok();
                    }
                    (h, rx)
                });
                match step.await {
                    Ok(back) => (h, rx) = back,
                    Err(_) => return, // `end` and `look` then answer None
                }
            }
            let _ = done.send(h);
        });
        Self {
            tx,
            pending: Gather::default(),
            result,
        }
    }

    async fn flush(&mut self) {
        if let Some(batch) = self.pending.take() {
            // If the task is gone, `end` reports it by returning None.
            let _ = self.tx.send(Msg::Data(batch)).await;
        }
    }

    /// Hands `data` over, gathered into batches (waiting for room once a batch is full).
    pub async fn update(&mut self, data: &Bytes) {
        if self.pending.push(data.clone(), Self::BATCH) {
            self.flush().await;
        }
    }

    /// The body pauses: hands over what was gathered.
    pub async fn idle(&mut self) {
        self.flush().await;
    }

    /// `f` of the hash of everything passed to `update` so far (waits for the task to
    /// catch up), or `None` if the hashing failed.
    pub async fn look<R: Send + 'static>(
        &mut self,
        f: impl FnOnce(&H) -> R + Send + 'static,
    ) -> Option<R> {
        self.flush().await;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let look = Msg::Look(Box::new(move |h: &H| {
            let _ = tx.send(f(h));
        }));
        self.tx.send(look).await.ok()?;
        rx.await.ok()
    }

    /// The hash of everything passed to `update`, or `None` if the hashing failed.
    pub async fn end(mut self) -> Option<H> {
        self.flush().await;
        drop(self.tx);
        self.result.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    static HASHING: AtomicUsize = AtomicUsize::new(0);
    static MOST: AtomicUsize = AtomicUsize::new(0);

    /// Counts its bytes, and how many of its kind hash at once (each step takes a while).
    struct Slow(u64);

    impl Feed for Slow {
        fn feed(&mut self, data: &[u8]) {
            let now = HASHING.fetch_add(1, SeqCst) + 1;
            MOST.fetch_max(now, SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(20));
            HASHING.fetch_sub(1, SeqCst);
            self.0 += data.len() as u64;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_pipes_hash_a_few_at_a_time_and_each_gets_all_its_bytes() {
        let pipes: Vec<_> = (0..64u64)
            .map(|i| {
                tokio::spawn(async move {
                    let mut p = Pipe::start(Slow(0));
                    for _ in 0..3 {
                        p.update(&Bytes::from(vec![7u8; 100 + i as usize])).await;
                        tokio::task::yield_now().await;
                    }
                    p.end().await.map(|h| h.0)
                })
            })
            .collect();
        for (i, p) in pipes.into_iter().enumerate() {
            assert_eq!(p.await.unwrap(), Some(3 * (100 + i as u64)));
        }
        let most = MOST.load(SeqCst);
        assert!(most <= HASH_SLOTS, "{most} pipes hashed at once");
    }
}
