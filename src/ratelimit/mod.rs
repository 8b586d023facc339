//! Per-user and per-partner limits: request rate, bandwidth and concurrent uploads.
//!
//! Owns: counting requests and body bytes against keyed budgets, and telling callers
//! how long to wait. Must not: parse requests, know protocols or touch upload state.
//! The adapters resolve a [`Subject`] (the verified session's partner and user, or the
//! peer address for anonymous requests) and ask [`Limits`]:
//!
//! * [`Limits::admit_request`] once per HTTP request: over the request rate of the
//!   user (or of its partner), or — for a request that writes upload bytes — over the
//!   user's uploads in flight on this instance, it answers [`Denied`] with the wait,
//!   which the adapters turn into `429` + `Retry-After` (native) or
//!   `REQUEST_RATE_EXCEEDED` + `Retry-After` (Kaltura, PS2). Otherwise the returned
//!   [`Admission`] holds the request's slot and its body's [`Pacer`].
//! * [`Limits::pace`] for every body frame: waits until the user's (and partner's)
//!   byte budget allows it, so bandwidth is shaped, never refused. Waiters of one user
//!   share its rate; other users are unaffected.
//!
//! Backends ([`RateLimiter`]): [`local::LocalLimiter`] (`governor`, keyed, 1 cell =
//! 1 KiB for bytes, idle keys evicted) for one instance, [`redis::RedisLimiter`] (a GCRA
//! in Lua, one key per budget) so limits hold across instances sharing Redis. Both pass
//! the `conformance` suite (compiled for tests only).

pub mod concurrency;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod local;
pub mod redis;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::model::body::Throttle;

/// Who a request counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A verified session (KS or API token).
    User { partner: i64, user: String },
    /// No session: the peer address.
    Anonymous(String),
}

impl Subject {
    /// The key of the user's budgets.
    pub fn user_key(&self) -> String {
        match self {
            Self::User { partner, user } => format!("u:{partner}:{user}"),
            Self::Anonymous(addr) => format!("ip:{addr}"),
        }
    }

    /// The key of the partner's budgets, if any.
    pub fn partner_key(&self) -> Option<String> {
        match self {
            Self::User { partner, .. } => Some(format!("p:{partner}")),
            Self::Anonymous(_) => None,
        }
    }
}

/// A request over a limit: retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied {
    pub retry_after: Duration,
    /// Which limit, for the answer's text.
    pub what: &'static str,
}

/// An admitted request: its place among the user's uploads in flight (held while this
/// lives) and the pacer for its body.
pub struct Admission {
    _slot: Option<concurrency::Slot>,
    /// Paces the request body by the subject's bandwidth budgets (`None`: unpaced).
    pub throttle: Option<Box<dyn Throttle>>,
}

impl Denied {
    /// Whole seconds for `Retry-After` (at least 1).
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_millis().div_ceil(1000).max(1) as u64
    }
}

/// One budget: `rate` units per second with bursts up to `burst` units; `rate == 0`
/// disables it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Budget {
    pub rate: u64,
    pub burst: u64,
}

impl Budget {
    pub fn is_on(&self) -> bool {
        self.rate > 0
    }

    /// A byte budget in KiB cells: `bytes_per_sec` with a quarter second of burst (at
    /// least one pacing step), so a quiet user starts at once without a big overshoot.
    pub fn bytes(bytes_per_sec: u64) -> Self {
        let kib = bytes_per_sec.div_ceil(1024);
        Self {
            rate: kib,
            burst: (kib / 4).max(PACE_STEP_KIB),
        }
    }
}

/// The configured limits.
#[derive(Debug, Clone, Copy, Default)]
pub struct LimitConfig {
    /// Requests per second of one user.
    pub user_requests: Budget,
    /// Body KiB per second of one user.
    pub user_bytes: Budget,
    /// Requests per second of all users of one partner.
    pub partner_requests: Budget,
    /// Body KiB per second of all users of one partner.
    pub partner_bytes: Budget,
    /// Upload-writing requests of one user in flight in this instance (0: unlimited).
    pub user_concurrency: usize,
}

/// Errors of a limiter backend (its store is away). Callers fail open: a limiter
/// outage must not stop uploads.
#[derive(Debug, thiserror::Error)]
#[error("rate limiter unavailable: {0}")]
pub struct LimiterError(pub String);

/// A store of keyed budgets.
#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Takes `cost` units from `key` if they are available now; otherwise takes nothing
    /// and says how long until they would be.
    async fn check(
        &self,
        key: &str,
        budget: Budget,
        cost: u64,
    ) -> Result<Option<Duration>, LimiterError>;
    /// Reserves `cost` units from `key` even when that means going into debt, and
    /// returns how long the caller must wait before using them (pacing).
    async fn reserve(&self, key: &str, budget: Budget, cost: u64)
        -> Result<Duration, LimiterError>;
    /// Counts events of `key` in fixed windows of `window`: adds `add` (0: only reads)
    /// and returns the count of the current window (failed logins, say).
    async fn tally(&self, key: &str, add: u64, window: Duration) -> Result<u64, LimiterError>;
}

/// The limits of a gateway: a backend plus the configuration.
#[derive(Clone)]
pub struct Limits {
    backend: Arc<dyn RateLimiter>,
    cfg: LimitConfig,
    concurrency: Arc<concurrency::Concurrency>,
}

/// Bytes are paced in steps of at most this many KiB.
const PACE_STEP_KIB: u64 = 64;

/// Failed `session.start` attempts tolerated from one peer address per window, and for
/// one partner from all peers (higher: a partner-wide block would let anyone lock a
/// partner's integrations out), before further attempts are refused until the window
/// ends. Guessing a 128-bit secret is hopeless anyway; this keeps the attempts visible
/// and cheap.
pub const SESSION_FAILURES_PER_PEER: u64 = 10;
pub const SESSION_FAILURES_PER_PARTNER: u64 = 100;
/// The window of those counts.
pub const SESSION_FAILURE_WINDOW: Duration = Duration::from_secs(60);

impl Limits {
    pub fn new(backend: Arc<dyn RateLimiter>, cfg: LimitConfig) -> Self {
        Self {
            backend,
            cfg,
            concurrency: Arc::new(concurrency::Concurrency::new(cfg.user_concurrency)),
        }
    }

    /// No limits at all.
    pub fn off() -> Self {
        Self::new(Arc::new(local::LocalLimiter::new()), LimitConfig::default())
    }

    pub fn config(&self) -> &LimitConfig {
        &self.cfg
    }

    /// Counts one request of `s`. Anonymous requests are not limited: they exist only
    /// where the operator chose an open native protocol (`--files-auth off`) or before a
    /// session exists (`session.start`), and behind a balancer every peer is the balancer.
    pub async fn admit(&self, s: &Subject) -> Result<(), Denied> {
        if matches!(s, Subject::Anonymous(_)) {
            return Ok(());
        }
        for (key, budget) in budgets(s, self.cfg.user_requests, self.cfg.partner_requests) {
            match self.backend.check(&format!("req:{key}"), budget, 1).await {
                Ok(None) => {}
                Ok(Some(wait)) => {
                    return Err(Denied {
                        retry_after: wait,
                        what: "too many requests",
                    })
                }
                Err(e) => tracing::warn!(error = %e, "request limit not checked"),
            }
        }
        Ok(())
    }

    /// The whole gate of one request: the request rate, then (for a request that
    /// writes upload bytes) a place among the user's uploads in flight, and the pacer
    /// its body is read through.
    pub async fn admit_request(&self, s: &Subject, writes: bool) -> Result<Admission, Denied> {
        let out = self.admit_request_inner(s, writes).await;
        if let Err(d) = &out {
            metrics::counter!("upgate_limit_refusals_total", "limit" => d.what).increment(1);
        }
        out
    }

    async fn admit_request_inner(&self, s: &Subject, writes: bool) -> Result<Admission, Denied> {
        if matches!(s, Subject::Anonymous(_)) {
            return Ok(Admission {
                _slot: None,
                throttle: None,
            });
        }
        self.admit(s).await?;
        let slot = match writes {
            false => None,
            true => Some(self.enter(s).ok_or(Denied {
                retry_after: Duration::from_secs(1),
                what: "too many uploads in flight for this user",
            })?),
        };
        Ok(Admission {
            _slot: slot,
            throttle: self.pacer(s).map(|p| Box::new(p) as Box<dyn Throttle>),
        })
    }

    /// Waits until `bytes` more body bytes of `s` may be read.
    pub async fn pace(&self, s: &Subject, bytes: usize) {
        for (key, budget) in budgets(s, self.cfg.user_bytes, self.cfg.partner_bytes) {
            let key = format!("bw:{key}");
            let mut left = (bytes as u64).div_ceil(1024);
            while left > 0 {
                let step = left.min(PACE_STEP_KIB).min(budget.burst.max(1));
                left -= step;
                match self.backend.reserve(&key, budget, step).await {
                    Ok(wait) if !wait.is_zero() => tokio::time::sleep(wait).await,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "bandwidth limit not applied");
                        return;
                    }
                }
            }
        }
    }

    /// Counts `add` events of `key` in windows of `window` (see [`RateLimiter::tally`]).
    pub async fn tally(&self, key: &str, add: u64, window: Duration) -> Result<u64, LimiterError> {
        self.backend.tally(key, add, window).await
    }

    /// Whether `session.start` attempts from `peer` for `partner` are refused now
    /// (too many failures in the current window).
    pub async fn session_start_blocked(&self, peer: &str, partner: i64) -> Option<Denied> {
        for (key, max) in session_failure_keys(peer, partner) {
            match self.backend.tally(&key, 0, SESSION_FAILURE_WINDOW).await {
                Ok(n) if n >= max => {
                    metrics::counter!("upgate_limit_refusals_total", "limit" => "too many failed session starts")
                        .increment(1);
                    return Some(Denied {
                        retry_after: SESSION_FAILURE_WINDOW,
                        what: "too many failed session starts",
                    });
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "session start failures not checked"),
            }
        }
        None
    }

    /// Counts a failed `session.start` (logged once a limit is reached).
    pub async fn session_start_failed(&self, peer: &str, partner: i64) {
        for (key, max) in session_failure_keys(peer, partner) {
            match self.backend.tally(&key, 1, SESSION_FAILURE_WINDOW).await {
                Ok(n) if n == max => {
                    tracing::warn!(%peer, partner, key, "failed session starts: limit reached, refusing for a while")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "session start failure not counted"),
            }
        }
    }

    /// Enters an upload-writing request of `s`; `None` when the user already has the
    /// configured number in flight here. The guard leaves on drop.
    fn enter(&self, s: &Subject) -> Option<concurrency::Slot> {
        self.concurrency.enter(&s.user_key())
    }

    /// The pacer for bodies of `s`, when any bandwidth budget is configured.
    pub fn pacer(&self, s: &Subject) -> Option<Pacer> {
        (self.cfg.user_bytes.is_on() || self.cfg.partner_bytes.is_on()).then(|| Pacer {
            limits: self.clone(),
            subject: s.clone(),
        })
    }
}

fn session_failure_keys(peer: &str, partner: i64) -> [(String, u64); 2] {
    [
        (format!("ssfail:ip:{peer}"), SESSION_FAILURES_PER_PEER),
        (format!("ssfail:p:{partner}"), SESSION_FAILURES_PER_PARTNER),
    ]
}

/// The budgets `s` spends from, those that are on: its own, then its partner's.
fn budgets(s: &Subject, user: Budget, partner: Budget) -> Vec<(String, Budget)> {
    let mut out = vec![(s.user_key(), user)];
    if let Some(p) = s.partner_key() {
        out.push((p, partner));
    }
    out.retain(|(_, b)| b.is_on());
    out
}

/// What paces a request body: the limits and whose budget it spends.
#[derive(Clone)]
pub struct Pacer {
    pub limits: Limits,
    pub subject: Subject,
}

impl Throttle for Pacer {
    fn wait(
        &self,
        bytes: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(self.limits.pace(&self.subject, bytes))
    }
}
