//! In-process budgets with `governor`: one keyed GCRA limiter per distinct budget,
//! timed by Tokio's clock (so tests can pause time). Keys idle for longer than their
//! budget's refill time are evicted every few thousand calls.
//!
//! governor does not queue, so pacing waiters of one key line up on a FIFO async
//! mutex and only the head polls governor: a user's parallel uploads take turns, one
//! pacing step each, instead of whoever wakes first winning.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use governor::clock::Clock;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::Quota;

use super::{Budget, LimiterError, RateLimiter};

/// governor's clock on top of `tokio::time::Instant`.
#[derive(Debug, Clone)]
pub struct TokioClock {
    start: tokio::time::Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        self.start.elapsed()
    }
}

type Keyed = governor::RateLimiter<
    String,
    DefaultKeyedStateStore<String>,
    TokioClock,
    governor::middleware::NoOpMiddleware<Duration>,
>;

/// The in-process [`RateLimiter`].
pub struct LocalLimiter {
    clock: TokioClock,
    limiters: Mutex<HashMap<Budget, Arc<Keyed>>>,
    queues: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Tallies: key → (end of its window, count).
    tallies: Mutex<HashMap<String, (tokio::time::Instant, u64)>>,
    calls: AtomicU64,
}

impl Default for LocalLimiter {
    fn default() -> Self {
        Self::new()
    }
}

/// Evict idle keys every this many calls.
const EVICT_EVERY: u64 = 4096;

fn nz(v: u64) -> NonZeroU32 {
    NonZeroU32::new(v.clamp(1, u32::MAX as u64) as u32).unwrap_or(NonZeroU32::MIN)
}

impl LocalLimiter {
    pub fn new() -> Self {
        Self {
            clock: TokioClock {
                start: tokio::time::Instant::now(),
            },
            limiters: Mutex::default(),
            queues: Mutex::default(),
            tallies: Mutex::default(),
            calls: AtomicU64::new(0),
        }
    }

    fn limiter(&self, budget: Budget) -> Arc<Keyed> {
        let mut map = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        if self.calls.fetch_add(1, Ordering::Relaxed) % EVICT_EVERY == EVICT_EVERY - 1 {
            for l in map.values() {
                l.retain_recent();
                l.shrink_to_fit();
            }
            // Queues nobody waits in.
            self.queues
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|_, q| Arc::strong_count(q) > 1);
        }
        map.entry(budget)
            .or_insert_with(|| {
                let quota = Quota::per_second(nz(budget.rate)).allow_burst(nz(budget.burst));
                Arc::new(governor::RateLimiter::new(
                    quota,
                    DefaultKeyedStateStore::default(),
                    self.clock.clone(),
                ))
            })
            .clone()
    }

    /// Keys currently tracked (after eviction), for tests and metrics.
    pub fn tracked_keys(&self) -> usize {
        let map = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        map.values()
            .map(|l| {
                l.retain_recent();
                l.len()
            })
            .sum()
    }
}

#[async_trait]
impl RateLimiter for LocalLimiter {
    async fn check(
        &self,
        key: &str,
        budget: Budget,
        cost: u64,
    ) -> Result<Option<Duration>, LimiterError> {
        let l = self.limiter(budget);
        let key = key.to_owned();
        match l.check_key_n(&key, nz(cost.min(budget.burst.max(1)))) {
            Ok(Ok(())) => Ok(None),
            Ok(Err(not_until)) => Ok(Some(not_until.wait_time_from(self.clock.now()))),
            Err(_) => Ok(Some(Duration::from_secs(1))),
        }
    }

    async fn reserve(
        &self,
        key: &str,
        budget: Budget,
        cost: u64,
    ) -> Result<Duration, LimiterError> {
        // governor does not lend: wait here, in line behind earlier waiters of this key,
        // until the cells are there, then take them.
        let l = self.limiter(budget);
        let key = key.to_owned();
        let queue = self
            .queues
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        let _turn = queue.lock().await;
        let n = nz(cost.min(budget.burst.max(1)));
        loop {
            match l.check_key_n(&key, n) {
                Ok(Ok(())) => return Ok(Duration::ZERO),
                Ok(Err(not_until)) => {
                    tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await
                }
                Err(_) => return Ok(Duration::ZERO),
            }
        }
    }

    async fn tally(&self, key: &str, add: u64, window: Duration) -> Result<u64, LimiterError> {
        let now = tokio::time::Instant::now();
        let mut t = self.tallies.lock().unwrap_or_else(|p| p.into_inner());
        if self.calls.fetch_add(1, Ordering::Relaxed) % EVICT_EVERY == EVICT_EVERY - 1 {
            t.retain(|_, (end, _)| *end > now);
        }
        let entry = t.entry(key.to_owned()).or_insert((now + window, 0));
        if entry.0 <= now {
            *entry = (now + window, 0);
        }
        entry.1 += add;
        Ok(entry.1)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ratelimit::{LimitConfig, Limits, Subject};

    fn alice() -> Subject {
        Subject::User {
            partner: 1,
            user: "alice".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn request_rate_burst_then_refill() {
        let limits = Limits::new(
            Arc::new(LocalLimiter::new()),
            LimitConfig {
                user_requests: Budget {
                    rate: 20,
                    burst: 40,
                },
                ..Default::default()
            },
        );
        for i in 0..40 {
            assert!(limits.admit(&alice()).await.is_ok(), "burst request {i}");
        }
        let denied = limits.admit(&alice()).await.unwrap_err();
        assert!(
            denied.retry_after <= Duration::from_millis(50),
            "{denied:?}"
        );
        assert_eq!(denied.retry_after_secs(), 1);
        // Another user is not affected.
        let bob = Subject::User {
            partner: 1,
            user: "bob".into(),
        };
        assert!(limits.admit(&bob).await.is_ok());
        // One second later, 20 more.
        tokio::time::advance(Duration::from_secs(1)).await;
        for i in 0..20 {
            assert!(limits.admit(&alice()).await.is_ok(), "refilled request {i}");
        }
        assert!(limits.admit(&alice()).await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn partner_ceiling_covers_all_its_users() {
        let limits = Limits::new(
            Arc::new(LocalLimiter::new()),
            LimitConfig {
                user_requests: Budget {
                    rate: 100,
                    burst: 100,
                },
                partner_requests: Budget {
                    rate: 10,
                    burst: 10,
                },
                ..Default::default()
            },
        );
        for i in 0..10 {
            let s = Subject::User {
                partner: 7,
                user: format!("u{i}"),
            };
            assert!(limits.admit(&s).await.is_ok());
        }
        let s = Subject::User {
            partner: 7,
            user: "u99".into(),
        };
        assert!(limits.admit(&s).await.is_err(), "partner ceiling reached");
        let other = Subject::User {
            partner: 8,
            user: "u0".into(),
        };
        assert!(
            limits.admit(&other).await.is_ok(),
            "other partner unaffected"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn bandwidth_is_paced_not_refused() {
        // 1 MiB/s with a 256 KiB burst: 4 MiB take 3.75 s.
        let limits = Limits::new(
            Arc::new(LocalLimiter::new()),
            LimitConfig {
                user_bytes: Budget::bytes(1 << 20),
                ..Default::default()
            },
        );
        let t = tokio::time::Instant::now();
        for _ in 0..64 {
            limits.pace(&alice(), 64 << 10).await;
        }
        let took = t.elapsed().as_secs_f64();
        assert!((3.7..3.9).contains(&took), "took {took} s");
    }

    #[tokio::test(start_paused = true)]
    async fn idle_keys_are_evicted() {
        let l = LocalLimiter::new();
        let b = Budget {
            rate: 10,
            burst: 10,
        };
        for i in 0..100 {
            l.check(&format!("k{i}"), b, 1).await.unwrap();
        }
        assert_eq!(l.tracked_keys(), 100);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(l.tracked_keys(), 0, "idle keys dropped");
    }
}
