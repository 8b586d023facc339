//! Cluster-wide budgets: a GCRA in Lua on the Redis that holds the upload state, so a
//! user's limits hold across every gateway instance.
//!
//! One key per budget, `P rl:{KEY}` (prefix from `--redis-prefix`), holding the
//! theoretical arrival time (TAT) in microseconds of Redis's own clock (`TIME`), so
//! instance clocks do not matter. The key expires once the budget is full again.
//! `check` takes the cost only when allowed; `reserve` always takes it and returns
//! the wait (requests queue up in arrival order: fair pacing across instances).
//! Tallies (`P tl:{KEY}`) are counters that expire with their window.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::Script;

use super::{Budget, LimiterError, RateLimiter};

/// KEYS: the budget key. ARGV: emission interval in µs per unit, burst tolerance in µs,
/// cost, mode ('check' | 'reserve'). Returns the wait in µs (0: allowed now); in check
/// mode a positive wait means nothing was taken.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + cost * interval
local allow_at = new_tat - tau
local wait = 0
if allow_at > now then wait = allow_at - now end
if wait > 0 and ARGV[4] == 'check' then return wait end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return wait
";

/// KEYS: the counter. ARGV: amount to add, window in ms. Returns the count of the
/// current window; the key expires with the window that its first event opened.
const TALLY: &str = r"
local add = tonumber(ARGV[1])
if add == 0 then return tonumber(redis.call('GET', KEYS[1]) or '0') end
local n = redis.call('INCRBY', KEYS[1], add)
if n == add then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return n
";

/// The Redis-backed [`RateLimiter`].
pub struct RedisLimiter {
    con: ConnectionManager,
    prefix: String,
    script: Script,
    tally: Script,
}

impl RedisLimiter {
    /// Uses the connection of the Redis state store.
    pub fn new(con: ConnectionManager, prefix: &str) -> Self {
        Self {
            con,
            prefix: prefix.to_owned(),
            script: Script::new(GCRA),
            tally: Script::new(TALLY),
        }
    }

    async fn run(
        &self,
        key: &str,
        budget: Budget,
        cost: u64,
        mode: &str,
    ) -> Result<Duration, LimiterError> {
        let interval = 1e6 / budget.rate.max(1) as f64;
        let tau = interval * budget.burst.max(1) as f64;
        let mut con = self.con.clone();
        let wait: i64 = self
            .script
            .key(format!("{}rl:{{{key}}}", self.prefix))
            .arg(interval)
            .arg(tau)
            .arg(cost)
            .arg(mode)
            .invoke_async(&mut con)
            .await
            .map_err(|e| LimiterError(e.to_string()))?;
        Ok(Duration::from_micros(wait.max(0) as u64))
    }
}

#[async_trait]
impl RateLimiter for RedisLimiter {
    async fn check(
        &self,
        key: &str,
        budget: Budget,
        cost: u64,
    ) -> Result<Option<Duration>, LimiterError> {
        let wait = self.run(key, budget, cost, "check").await?;
        Ok((!wait.is_zero()).then_some(wait))
    }

    async fn reserve(
        &self,
        key: &str,
        budget: Budget,
        cost: u64,
    ) -> Result<Duration, LimiterError> {
        self.run(key, budget, cost, "reserve").await
    }

    async fn tally(&self, key: &str, add: u64, window: Duration) -> Result<u64, LimiterError> {
        let mut con = self.con.clone();
        let n: i64 = self
            .tally
            .key(format!("{}tl:{{{key}}}", self.prefix))
            .arg(add)
            .arg(window.as_millis().max(1) as u64)
            .invoke_async(&mut con)
            .await
            .map_err(|e| LimiterError(e.to_string()))?;
        Ok(n.max(0) as u64)
    }
}
