//! The [`RateLimiter`] contract, as public functions run against every backend (the
//! in-process [`super::local::LocalLimiter`] and [`super::redis::RedisLimiter`] on a
//! real Redis), like the state and blob suites. Real time: Redis keeps its own clock,
//! so the checks allow generous slack for a loaded machine and assert lower bounds
//! where the contract is "not before".

#![allow(clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Budget, RateLimiter};
use crate::model::new_id;

/// Runs every check below (keys are fresh, so a store may be reused).
pub async fn run_all(l: Arc<dyn RateLimiter>) {
    burst_then_refusal_with_wait(&*l).await;
    refusals_take_nothing(&*l).await;
    keys_are_independent(&*l).await;
    reserve_paces_in_debt(&*l).await;
    tallies_count_per_window(&*l).await;
}

fn key(what: &str) -> String {
    format!("conf:{what}:{}", new_id())
}

/// A budget admits its burst at once, then refuses and says how long to wait (about
/// one emission interval).
pub async fn burst_then_refusal_with_wait(l: &dyn RateLimiter) {
    let k = key("burst");
    let b = Budget { rate: 10, burst: 5 };
    for i in 0..5 {
        assert_eq!(
            l.check(&k, b, 1).await.expect("check"),
            None,
            "burst unit {i}"
        );
    }
    let wait = l
        .check(&k, b, 1)
        .await
        .expect("check")
        .expect("refused past the burst");
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_millis(150),
        "wait {wait:?} for a 10/s budget"
    );
}

/// A refused check takes nothing: after the wait it said, the unit is there.
pub async fn refusals_take_nothing(l: &dyn RateLimiter) {
    let k = key("refuse");
    let b = Budget { rate: 20, burst: 2 };
    for _ in 0..2 {
        assert_eq!(l.check(&k, b, 1).await.expect("check"), None);
    }
    let mut wait = Duration::ZERO;
    for _ in 0..5 {
        // Refused again and again: none of these may eat into the next unit.
        wait = l.check(&k, b, 1).await.expect("check").expect("refused");
    }
    tokio::time::sleep(wait + Duration::from_millis(20)).await;
    assert_eq!(
        l.check(&k, b, 1).await.expect("check"),
        None,
        "available after the wait"
    );
}

/// Spending one key's budget leaves another key's alone.
pub async fn keys_are_independent(l: &dyn RateLimiter) {
    let (a, c) = (key("a"), key("c"));
    let b = Budget { rate: 1, burst: 1 };
    assert_eq!(l.check(&a, b, 1).await.expect("check"), None);
    assert!(l.check(&a, b, 1).await.expect("check").is_some());
    assert_eq!(l.check(&c, b, 1).await.expect("check"), None);
}

/// `reserve` always takes its cost and makes the caller wait for it (inside the call or
/// by the returned duration): 10 units beyond a 10-unit burst at 100/s take ~100 ms.
pub async fn reserve_paces_in_debt(l: &dyn RateLimiter) {
    let k = key("reserve");
    let b = Budget {
        rate: 100,
        burst: 10,
    };
    let t = Instant::now();
    let first = l.reserve(&k, b, 10).await.expect("reserve");
    assert!(
        first + t.elapsed() < Duration::from_millis(60),
        "the burst is free"
    );
    let t = Instant::now();
    let second = l.reserve(&k, b, 10).await.expect("reserve");
    let paced = second + t.elapsed();
    assert!(
        paced >= Duration::from_millis(80) && paced <= Duration::from_millis(500),
        "10 units over the burst at 100/s waited {paced:?}"
    );
}

/// A tally counts what is added within its window, reads without adding, keeps keys
/// apart, and starts again from zero when the window has passed.
pub async fn tallies_count_per_window(l: &dyn RateLimiter) {
    let (k, other) = (key("tally"), key("tally-other"));
    let w = Duration::from_millis(300);
    assert_eq!(l.tally(&k, 0, w).await.expect("tally"), 0);
    assert_eq!(l.tally(&k, 1, w).await.expect("tally"), 1);
    assert_eq!(l.tally(&k, 2, w).await.expect("tally"), 3);
    assert_eq!(
        l.tally(&k, 0, w).await.expect("tally"),
        3,
        "reading adds nothing"
    );
    assert_eq!(l.tally(&other, 0, w).await.expect("tally"), 0);
    tokio::time::sleep(w + Duration::from_millis(100)).await;
    assert_eq!(l.tally(&k, 0, w).await.expect("tally"), 0, "a new window");
    assert_eq!(l.tally(&k, 1, w).await.expect("tally"), 1);
}
