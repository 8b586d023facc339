//! The writers active in this process: one entry per upload whose lease a local request
//! holds. Lets a newcomer stop a stalled holder (tusd's "ask the holder to stop"), lets
//! a status query wait for a writer that is committing what arrived before a hangup,
//! lets termination stop a writer, and lets shutdown stop them all so each commits
//! what arrived before the process exits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

struct Entry {
    holder: String,
    /// When the writing request arrived (a newer request may end an older one).
    since: Instant,
    cancel: CancellationToken,
    progress: Arc<AtomicU64>,
    closing: Arc<AtomicBool>,
    /// Notified when this writer is gone.
    gone: Arc<Notify>,
    /// Every byte is durable; it is assembling the upload.
    assembling: bool,
}

/// Registry of local writers.
pub struct Writers {
    epoch: Instant,
    map: Mutex<HashMap<String, Entry>>,
    shutdown: CancellationToken,
}

impl Default for Writers {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            map: Mutex::default(),
            shutdown: CancellationToken::new(),
        }
    }
}

/// Held by a writing request; unregisters on drop.
pub struct Active {
    writers: Arc<Writers>,
    id: String,
    holder: String,
    pub cancel: CancellationToken,
    progress: Arc<AtomicU64>,
    closing: Arc<AtomicBool>,
    gone: Arc<Notify>,
}

impl Active {
    /// Records that bytes arrived just now.
    pub fn progress(&self) {
        self.progress
            .store(self.writers.now_ms(), Ordering::Relaxed);
    }

    /// The body has ended (or broke): what arrived is being committed. Others asking
    /// about this upload wait for that instead of reading a stale offset.
    pub fn closing(&self) {
        self.closing.store(true, Ordering::SeqCst);
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        metrics::gauge!("upgate_writers_active").decrement(1);
        let mut map = self.writers.map();
        if map.get(&self.id).is_some_and(|e| e.holder == self.holder) {
            map.remove(&self.id);
        }
        drop(map);
        self.gone.notify_waiters();
    }
}

impl Writers {
    fn map(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Registers the lease holder `holder` of upload `id`.
    pub fn register(self: &Arc<Self>, id: &str, holder: &str) -> Active {
        self.register_since(id, holder, Instant::now())
    }

    /// [`Self::register`] for a request that arrived at `since`.
    pub fn register_since(self: &Arc<Self>, id: &str, holder: &str, since: Instant) -> Active {
        metrics::gauge!("upgate_writers_active").increment(1);
        let cancel = self.shutdown.child_token();
        let progress = Arc::new(AtomicU64::new(self.now_ms()));
        let closing = Arc::new(AtomicBool::new(false));
        let gone = Arc::new(Notify::new());
        let entry = Entry {
            holder: holder.to_owned(),
            since,
            cancel: cancel.clone(),
            progress: progress.clone(),
            closing: closing.clone(),
            gone: gone.clone(),
            assembling: false,
        };
        self.map().insert(id.to_owned(), entry);
        Active {
            writers: self.clone(),
            id: id.to_owned(),
            holder: holder.to_owned(),
            cancel,
            progress,
            closing,
            gone,
        }
    }

    /// Waits until the local writer of `id` is gone, for at most `max`, woken by its
    /// going (not by polling: a thousand clients retrying at once must not make a
    /// thousand waiters spin). False at once when there is none.
    pub async fn wait_gone(&self, id: &str, max: Duration) -> bool {
        let Some(gone) = self.map().get(id).map(|e| e.gone.clone()) else {
            return false;
        };
        let notified = gone.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        // Gone (or replaced) between the lookup and the registration above?
        if !self
            .map()
            .get(id)
            .is_some_and(|e| Arc::ptr_eq(&e.gone, &gone))
        {
            return true;
        }
        let _ = tokio::time::timeout(max, notified).await;
        true
    }

    /// Returns true when the local writer of `id` is finishing, or was silent for
    /// `stall` and has now been asked to stop: either way it commits what it has and
    /// releases soon, so the caller should wait for it.
    pub fn stop_if_stalled(&self, id: &str, stall: Duration) -> bool {
        let map = self.map();
        map.get(id).is_some_and(|e| self.ask_stop(e, stall, false))
    }

    /// Whether `e` is finishing, or (silent for `quiet`, or `force`) now asked to stop.
    fn ask_stop(&self, e: &Entry, quiet: Duration, force: bool) -> bool {
        if e.closing.load(Ordering::SeqCst) {
            return true;
        }
        let idle = self
            .now_ms()
            .saturating_sub(e.progress.load(Ordering::Relaxed));
        if force || idle >= quiet.as_millis() as u64 {
            e.cancel.cancel();
            return true;
        }
        false
    }

    /// The local writer of `id` whose request arrived before `t`: asks it to stop when
    /// it is silent for `quiet` or when `force`. `None`: there is no such writer (none,
    /// or a newer request's); else whether it is finishing or was asked to stop.
    pub fn end_older(&self, id: &str, t: Instant, quiet: Duration, force: bool) -> Option<bool> {
        let map = self.map();
        let e = map.get(id).filter(|e| e.since < t)?;
        Some(self.ask_stop(e, quiet, force))
    }

    /// Stops the local writer of `id`, if any (termination).
    pub fn stop(&self, id: &str) -> bool {
        self.map().get(id).map(|e| e.cancel.cancel()).is_some()
    }

    /// True while some local request writes `id`.
    pub fn is_active(&self, id: &str) -> bool {
        self.map().contains_key(id)
    }

    /// Records that `holder`, the writer of `id`, has made every byte durable and is
    /// assembling the upload (which behind busy object storage can take long).
    pub fn assembling(&self, id: &str, holder: &str) {
        if let Some(e) = self.map().get_mut(id).filter(|e| e.holder == holder) {
            e.assembling = true;
        }
    }

    /// True while some local request writes `id` and has bytes still to make durable:
    /// its upload's record may not show them yet.
    pub fn is_receiving(&self, id: &str) -> bool {
        self.map().get(id).is_some_and(|e| !e.assembling)
    }

    /// Stops every writer (graceful shutdown): each commits what arrived.
    pub fn stop_all(&self) {
        self.shutdown.cancel();
    }

    /// True once [`Writers::stop_all`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Number of active writers.
    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn waiters_wake_when_the_writer_goes_not_at_their_timeout() {
        let w = Arc::new(Writers::default());
        assert!(
            !w.wait_gone("u", Duration::from_secs(60)).await,
            "none to wait for"
        );
        let active = w.register("u", "h1");
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let w = w.clone();
                tokio::spawn(async move {
                    let t = tokio::time::Instant::now();
                    assert!(w.wait_gone("u", Duration::from_secs(60)).await);
                    t.elapsed()
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_secs(2)).await;
        drop(active);
        for h in waiters {
            let waited = h.await.unwrap();
            assert!(waited >= Duration::from_secs(2) && waited < Duration::from_secs(3));
        }
        assert!(!w.is_active("u"));
        // A writer that stays is waited for only as long as asked.
        let _stays = w.register("u", "h2");
        let t = tokio::time::Instant::now();
        assert!(w.wait_gone("u", Duration::from_secs(5)).await);
        assert_eq!(t.elapsed(), Duration::from_secs(5));
    }
}
