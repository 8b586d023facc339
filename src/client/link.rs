//! The network as the client sees it. Every body byte goes through [`Link::transmit`],
//! every request pays [`Link::round_trip`], and backoff waits go through
//! [`Link::sleep`], so the same client runs over the real network (optionally paced,
//! `--limit-rate`), over a modeled link in real time, or over a modeled link in virtual
//! time (the load tester's bandwidth model: no sleeping, a clock that advances by what
//! the link would take).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;

#[async_trait]
pub trait Link: Send + Sync {
    /// `n` body bytes are about to be sent. Returns how many get through before the
    /// link goes down (`n` when it stays up); the caller then aborts the request.
    async fn transmit(&self, n: u64) -> u64;
    /// The fixed cost of one request (its round trip).
    async fn round_trip(&self) {}
    /// Waits `d` (backoff between attempts).
    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
    /// Preferred size of the pieces a body is streamed in.
    fn piece(&self) -> usize {
        1 << 20
    }
}

/// The real network, paced to `rate` bytes per second when `rate > 0`.
pub struct Paced {
    rate: u64,
    start: tokio::time::Instant,
    sent: AtomicU64,
}

impl Paced {
    pub fn new(rate: u64) -> Self {
        Self {
            rate,
            start: tokio::time::Instant::now(),
            sent: AtomicU64::new(0),
        }
    }
}

#[async_trait]
impl Link for Paced {
    async fn transmit(&self, n: u64) -> u64 {
        if self.rate > 0 {
            let total = self.sent.fetch_add(n, Ordering::Relaxed) + n;
            let due = self.start + Duration::from_secs_f64(total as f64 / self.rate as f64);
            tokio::time::sleep_until(due).await;
        }
        n
    }

    fn piece(&self) -> usize {
        if self.rate > 0 {
            64 * 1024 // smooth pacing
        } else {
            1 << 20 // fewer writes
        }
    }
}
