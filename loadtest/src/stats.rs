//! Request statistics shared by the scenarios: latency histograms per request kind
//! (HDR, microseconds), errors by kind and status, retries. The engine records into
//! [`Stats`]; reports print its [`Latency`] figures.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latency figures of one request kind (milliseconds).
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub count: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Shared request statistics.
#[derive(Default)]
pub struct Stats {
    hist: Mutex<BTreeMap<String, Histogram<u64>>>,
    errors: Mutex<BTreeMap<String, u64>>,
    retries: AtomicU64,
}

impl Stats {
    pub fn record(&self, kind: &str, status: u16, secs: f64) {
        let us = (secs * 1e6).max(1.0) as u64;
        let mut h = self.hist.lock().unwrap_or_else(|p| p.into_inner());
        if !h.contains_key(kind) {
            // Three significant digits never fail to allocate a histogram.
            if let Ok(fresh) = Histogram::new(3) {
                h.insert(kind.to_owned(), fresh);
            }
        }
        if let Some(entry) = h.get_mut(kind) {
            let _ = entry.record(us);
        }
        if status == 0 || status >= 400 {
            let key = if status == 0 {
                format!("{kind}:network")
            } else {
                format!("{kind}:{status}")
            };
            *self
                .errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(key)
                .or_insert(0) += 1;
        }
    }

    pub fn latencies(&self) -> BTreeMap<String, Latency> {
        let h = self.hist.lock().unwrap_or_else(|p| p.into_inner());
        h.iter()
            .map(|(k, v)| {
                let ms = |q: f64| v.value_at_quantile(q) as f64 / 1000.0;
                (
                    k.clone(),
                    Latency {
                        count: v.len(),
                        p50_ms: ms(0.5),
                        p95_ms: ms(0.95),
                        p99_ms: ms(0.99),
                        max_ms: v.max() as f64 / 1000.0,
                    },
                )
            })
            .collect()
    }

    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Counts one retry.
    pub fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Retries so far.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
}
