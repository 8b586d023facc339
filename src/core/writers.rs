//! The writers active in this process: one entry per upload whose lease a local request
//! holds. Lets a newcomer stop a stalled holder (tusd's "ask the holder to stop"), lets
//! termination stop a writer, and lets shutdown stop them all so each commits what
//! arrived before the process exits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

struct Entry {
    holder: String,
    cancel: CancellationToken,
    progress: Arc<AtomicU64>,
}

/// Registry of local writers.
pub struct Writers {
    epoch: Instant,
    map: Mutex<HashMap<String, Entry>>,
    shutdown: CancellationToken,
}

impl Default for Writers {
    fn default() -> Self {
        Self { epoch: Instant::now(), map: Mutex::default(), shutdown: CancellationToken::new() }
    }
}

/// Held by a writing request; unregisters on drop.
pub struct Active {
    writers: Arc<Writers>,
    id: String,
    holder: String,
    pub cancel: CancellationToken,
    progress: Arc<AtomicU64>,
}

impl Active {
    /// Records that bytes arrived just now.
    pub fn progress(&self) {
        self.progress.store(self.writers.now_ms(), Ordering::Relaxed);
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        let mut map = self.writers.map();
        if map.get(&self.id).is_some_and(|e| e.holder == self.holder) {
            map.remove(&self.id);
        }
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
        let cancel = self.shutdown.child_token();
        let progress = Arc::new(AtomicU64::new(self.now_ms()));
        self.map().insert(
            id.to_owned(),
            Entry { holder: holder.to_owned(), cancel: cancel.clone(), progress: progress.clone() },
        );
        Active { writers: self.clone(), id: id.to_owned(), holder: holder.to_owned(), cancel, progress }
    }

    /// Stops the local writer of `id` if no bytes reached it for `stall`. Returns true
    /// when a writer was asked to stop (it commits what it has, then releases).
    pub fn stop_if_stalled(&self, id: &str, stall: Duration) -> bool {
        let now = self.now_ms();
        let map = self.map();
        match map.get(id) {
            Some(e) if now.saturating_sub(e.progress.load(Ordering::Relaxed)) >= stall.as_millis() as u64 => {
                e.cancel.cancel();
                true
            }
            _ => false,
        }
    }

    /// Stops the local writer of `id`, if any (termination).
    pub fn stop(&self, id: &str) -> bool {
        self.map().get(id).map(|e| e.cancel.cancel()).is_some()
    }

    /// True while some local request writes `id`.
    pub fn is_active(&self, id: &str) -> bool {
        self.map().contains_key(id)
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
