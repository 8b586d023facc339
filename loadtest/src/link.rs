//! Modeled links: a rate, a round-trip time, and scheduled drops (the link is down for a
//! while; what was in flight is cut). [`VirtualLink`] advances a clock instead of
//! sleeping, so a 250 MB upload over 10 Mbit/s runs in seconds of wall time and the same
//! schedule always gives the same modeled time; [`RealLink`] sleeps in real time.
//!
//! When the link goes down mid-request, the bytes that fit before the drop are sent and
//! the request is aborted (the gateway keeps them); the client notices after `detect`
//! seconds past the end of the outage (a client that watches for stalls reconnects
//! quickly) and then resumes from the server's offset.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use upgate::client::link::Link;

/// A drop: the link is down for `[start, start + secs)` (seconds from the start).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Drop {
    pub start: f64,
    pub secs: f64,
}

/// The link model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Model {
    /// Payload bytes per second.
    pub rate: f64,
    pub rtt: f64,
    pub drops: Vec<Drop>,
    /// Seconds after an outage before the client has reconnected.
    pub detect: f64,
}

impl Model {
    /// `n` drops of `secs` each, spread evenly over the transfer of `size` bytes.
    pub fn even_drops(size: u64, rate: f64, n: usize, secs: f64) -> Vec<Drop> {
        let transfer = size as f64 / rate;
        (1..=n)
            .map(|k| Drop {
                start: transfer * k as f64 / (n + 1) as f64 + secs * (k - 1) as f64,
                secs,
            })
            .collect()
    }

    /// `n` drops of `secs` at reproducible random times (xorshift from `seed`).
    pub fn random_drops(size: u64, rate: f64, n: usize, secs: f64, seed: u64) -> Vec<Drop> {
        let transfer = size as f64 / rate;
        let mut x = seed.wrapping_mul(6364136223846793005) | 1;
        let mut starts: Vec<f64> = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                transfer * (0.05 + 0.9 * (x % 10_000) as f64 / 10_000.0)
            })
            .collect();
        starts.sort_by(f64::total_cmp);
        starts
            .iter()
            .enumerate()
            .map(|(k, s)| Drop {
                start: s + secs * k as f64,
                secs,
            })
            .collect()
    }

    /// The drop covering time `t`, if the link is down then.
    fn down_at(&self, t: f64) -> Option<Drop> {
        self.drops
            .iter()
            .copied()
            .find(|d| t >= d.start && t < d.start + d.secs)
    }

    /// The first drop starting in `(from, to)`.
    fn next_drop(&self, from: f64, to: f64) -> Option<Drop> {
        self.drops
            .iter()
            .copied()
            .find(|d| d.start > from && d.start < to)
    }
}

/// The model in virtual time.
pub struct VirtualLink {
    pub model: Model,
    now: Mutex<f64>,
}

impl VirtualLink {
    pub fn new(model: Model) -> Self {
        Self {
            model,
            now: Mutex::new(0.0),
        }
    }

    /// Modeled seconds since the start.
    pub fn now(&self) -> f64 {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Link for VirtualLink {
    async fn transmit(&self, n: u64) -> u64 {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = self.model.down_at(*now) {
            *now = d.start + d.secs + self.model.detect;
            return 0;
        }
        let need = n as f64 / self.model.rate;
        match self.model.next_drop(*now, *now + need) {
            Some(d) => {
                let through = ((d.start - *now) * self.model.rate) as u64;
                *now = d.start + d.secs + self.model.detect;
                through.min(n)
            }
            None => {
                *now += need;
                n
            }
        }
    }

    async fn round_trip(&self) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += self.model.rtt;
        if let Some(d) = self.model.down_at(*now) {
            *now = d.start + d.secs + self.model.detect;
        }
    }

    async fn sleep(&self, d: Duration) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) += d.as_secs_f64();
        // Virtual time compresses the wait, but the gateway still needs real time to
        // notice the cut connection and commit what arrived (a real backoff gives it
        // that): yield a little wall time.
        tokio::time::sleep(d.min(Duration::from_millis(50))).await;
    }

    fn piece(&self) -> usize {
        256 * 1024
    }
}

/// The model in real time: pacing and outages by the wall clock.
pub struct RealLink {
    pub model: Model,
    start: tokio::time::Instant,
    busy_until: Mutex<f64>,
}

impl RealLink {
    pub fn new(model: Model) -> Self {
        Self {
            model,
            start: tokio::time::Instant::now(),
            busy_until: Mutex::new(0.0),
        }
    }

    pub fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    async fn until(&self, t: f64) {
        tokio::time::sleep_until(self.start + Duration::from_secs_f64(t.max(0.0))).await;
    }
}

#[async_trait]
impl Link for RealLink {
    async fn transmit(&self, n: u64) -> u64 {
        let now = self.now();
        if let Some(d) = self.model.down_at(now) {
            self.until(d.start + d.secs + self.model.detect).await;
            return 0;
        }
        // The link is shared: bytes queue behind what is already on the wire.
        let (begin, end) = {
            let mut busy = self.busy_until.lock().unwrap_or_else(|p| p.into_inner());
            let begin = busy.max(now);
            let end = begin + n as f64 / self.model.rate;
            *busy = end;
            (begin, end)
        };
        match self.model.next_drop(begin, end) {
            Some(d) => {
                self.until(d.start).await;
                let through = ((d.start - begin) * self.model.rate) as u64;
                *self.busy_until.lock().unwrap_or_else(|p| p.into_inner()) = d.start + d.secs;
                self.until(d.start + d.secs + self.model.detect).await;
                through.min(n)
            }
            None => {
                self.until(end).await;
                n
            }
        }
    }

    async fn round_trip(&self) {
        tokio::time::sleep(Duration::from_secs_f64(self.model.rtt)).await;
        if let Some(d) = self.model.down_at(self.now()) {
            self.until(d.start + d.secs + self.model.detect).await;
        }
    }

    fn piece(&self) -> usize {
        64 * 1024
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        Model {
            rate: 1000.0,
            rtt: 0.0,
            drops: vec![Drop {
                start: 2.0,
                secs: 5.0,
            }],
            detect: 0.5,
        }
    }

    #[tokio::test]
    async fn virtual_link_cuts_at_the_drop() {
        let l = VirtualLink::new(model());
        assert_eq!(l.transmit(1000).await, 1000);
        assert_eq!(l.now(), 1.0);
        // 1500 bytes need 1.5 s, the drop starts after 1 s: 1000 get through.
        assert_eq!(l.transmit(1500).await, 1000);
        assert_eq!(l.now(), 7.5);
        assert_eq!(l.transmit(500).await, 500);
        assert_eq!(l.now(), 8.0);
        l.sleep(Duration::from_millis(250)).await;
        assert_eq!(l.now(), 8.25);
    }

    #[test]
    fn drop_schedules() {
        let even = Model::even_drops(250_000_000, 1_250_000.0, 3, 5.0);
        let starts: Vec<f64> = even.iter().map(|d| d.start).collect();
        assert_eq!(starts, vec![50.0, 105.0, 160.0]);
        let a = Model::random_drops(1000, 10.0, 3, 1.0, 7);
        assert_eq!(a, Model::random_drops(1000, 10.0, 3, 1.0, 7));
        assert!(a.windows(2).all(|w| w[0].start < w[1].start));
    }
}
