//! One run's plan, drawn from the seeded generator: the protocol and how the client
//! drives it, the file, the client's link, and the faults with their moments.

use serde::Serialize;

use super::rng::Rng;

/// How the client talks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// tus 1.0 creation, then sequential `PATCH` with per-chunk checksums.
    Tus,
    /// tus creation, then ranged `PUT`s in parallel (chunks arrive out of order).
    RangedPut,
    /// Kaltura `uploadToken` with positional chunks in parallel (out of order).
    Kaltura,
}

/// What goes wrong, and when (seconds from the run's start).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fault {
    /// `SIGKILL` of a gateway, started again on its address after `down` seconds.
    /// `gateway` counts from the one the client's new connections go to (0: that one).
    GatewayKill { at: f64, gateway: usize, down: f64 },
    /// `SIGTERM` (graceful drain) of a gateway, started again after `down` seconds.
    GatewayTerm { at: f64, gateway: usize, down: f64 },
    /// `SIGKILL` of Redis, started again (AOF replay) after `down` seconds.
    RedisRestart { at: f64, down: f64 },
    /// `SIGKILL` of the S3 server, started again on the same data after `down` seconds.
    S3Restart { at: f64, down: f64 },
    /// Every open client connection closed.
    Cut { at: f64 },
    /// Every open client connection frozen for `secs`.
    Stall { at: f64, secs: f64 },
    /// A chunk the server already acknowledged sent again (same bytes) beside the client.
    Duplicate { at: f64 },
    /// The client's new connections go to another gateway.
    Hop { at: f64 },
}

impl Fault {
    pub fn at(&self) -> f64 {
        match *self {
            Fault::GatewayKill { at, .. }
            | Fault::GatewayTerm { at, .. }
            | Fault::RedisRestart { at, .. }
            | Fault::S3Restart { at, .. }
            | Fault::Cut { at }
            | Fault::Stall { at, .. }
            | Fault::Duplicate { at }
            | Fault::Hop { at } => at,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Fault::GatewayKill { .. } => "gateway-kill",
            Fault::GatewayTerm { .. } => "gateway-term",
            Fault::RedisRestart { .. } => "redis-restart",
            Fault::S3Restart { .. } => "s3-restart",
            Fault::Cut { .. } => "cut",
            Fault::Stall { .. } => "stall",
            Fault::Duplicate { .. } => "duplicate",
            Fault::Hop { .. } => "hop",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub run: u64,
    pub protocol: Protocol,
    pub size: u64,
    pub chunk_size: u64,
    pub parallel: usize,
    /// The client's link in Mbit/s (payload).
    pub link_mbps: f64,
    pub faults: Vec<Fault>,
}

impl Plan {
    /// Run `run` of the campaign seeded `seed`, files up to `max_size` bytes, on
    /// `gateways` gateways.
    pub fn draw(seed: u64, run: u64, max_size: u64, gateways: usize) -> Self {
        let mut r = Rng::for_run(seed, run);
        let protocol = r.pick(&[Protocol::Tus, Protocol::RangedPut, Protocol::Kaltura]);
        // Sizes spread over three decades, rarely a round number.
        let size = (r.float(0.0, 1.0).powi(2) * max_size as f64) as u64 + r.range(1, 1 << 20);
        let size = size.min(max_size).max(1);
        let chunk_size = r.pick(&[1u64 << 20, 2 << 20, 4 << 20, (3 << 20) + 4097]);
        let parallel = match protocol {
            Protocol::Tus => 1,
            _ => r.range(2, 6) as usize,
        };
        let link_mbps = r.float(40.0, 160.0);
        let transfer = size as f64 * 8.0 / (link_mbps * 1e6);
        let n = r.pick(&[1usize, 1, 2, 2, 3, 4]);
        let mut faults: Vec<Fault> = (0..n)
            .map(|_| {
                let at = transfer * r.float(0.05, 0.95);
                // Half the time the gateway the client is talking to.
                let gateway = match r.range(0, 1) {
                    0 => 0,
                    _ => r.range(0, gateways as u64 - 1) as usize,
                };
                match r.range(0, 9) {
                    0 | 1 => Fault::GatewayKill {
                        at,
                        gateway,
                        down: r.float(0.1, 1.5),
                    },
                    2 => Fault::GatewayTerm {
                        at,
                        gateway,
                        down: r.float(0.1, 1.0),
                    },
                    3 => Fault::RedisRestart {
                        at,
                        down: r.float(0.1, 1.0),
                    },
                    4 => Fault::S3Restart {
                        at,
                        down: r.float(0.1, 1.0),
                    },
                    5 => Fault::Cut { at },
                    6 => Fault::Stall {
                        at,
                        secs: r.float(0.5, 6.0),
                    },
                    7 => Fault::Duplicate { at },
                    _ => Fault::Hop { at },
                }
            })
            .collect();
        faults.sort_by(|a, b| a.at().total_cmp(&b.at()));
        Self {
            run,
            protocol,
            size,
            chunk_size,
            parallel,
            link_mbps,
            faults,
        }
    }

    /// One line: `tus 12.3 MiB ×1 at 80 Mbit/s: gateway-kill@1.2s, cut@2.0s`.
    pub fn describe(&self) -> String {
        let faults: Vec<String> = self
            .faults
            .iter()
            .map(|f| format!("{}@{:.1}s", f.kind(), f.at()))
            .collect();
        format!(
            "{} {:.1} MiB, chunks {:.1} MiB ×{}, {:.0} Mbit/s: {}",
            serde_json::to_value(self.protocol)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            self.size as f64 / 1048576.0,
            self.chunk_size as f64 / 1048576.0,
            self.parallel,
            self.link_mbps,
            faults.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_replay_and_stay_in_bounds() {
        for run in 0..200 {
            let p = Plan::draw(9, run, 32 << 20, 3);
            assert_eq!(p.describe(), Plan::draw(9, run, 32 << 20, 3).describe());
            assert!(p.size >= 1 && p.size <= 32 << 20);
            assert!(!p.faults.is_empty());
            assert!(p.faults.windows(2).all(|w| w[0].at() <= w[1].at()));
            for f in &p.faults {
                if let Fault::GatewayKill { gateway, .. } | Fault::GatewayTerm { gateway, .. } = f {
                    assert!(*gateway < 3);
                }
            }
        }
    }
}
