//! Flags every scenario shares (target, clock, link model, output), and the checks on
//! them: a non-loopback target needs `--allow-remote`.

use std::net::ToSocketAddrs;
use std::path::PathBuf;

use clap::Args;
use upgate::client::Protocol;
use upgate_proto::size::parse_size;

use crate::engine::{ClientKind, Clock, Plan, UploadSpec};
use crate::link::{Drop, Model};

pub fn size(s: &str) -> Result<u64, String> {
    parse_size(s).map_err(|e| e.to_string())
}

#[derive(Debug, Clone, Args)]
pub struct Common {
    #[arg(long, value_enum, default_value = "files")]
    pub protocol: Protocol,
    #[arg(long, value_enum, default_value = "virtual")]
    pub clock: Clock,
    /// Link rate in Mbit/s of payload (0 = unlimited).
    #[arg(long, default_value_t = 10.0)]
    pub link_mbps: f64,
    #[arg(long, default_value_t = 30.0)]
    pub rtt_ms: f64,
    /// Packet loss in percent, modeled as that share of the rate lost to retransmission.
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Seconds after an outage before the client has reconnected.
    #[arg(long, default_value_t = 0.5)]
    pub detect_secs: f64,
    #[arg(long, default_value = "8MiB", value_parser = size)]
    pub chunk_size: u64,
    /// A running gateway (default: one started in this process).
    #[arg(long)]
    pub url: Option<String>,
    /// Allow a non-loopback --url.
    #[arg(long)]
    pub allow_remote: bool,
    /// Kaltura credentials for --url targets: partner id and user secret.
    #[arg(long)]
    pub partner_id: Option<i64>,
    #[arg(long)]
    pub secret: Option<String>,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Write an SVG plot of bytes acknowledged over time.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Give up after this many seconds of wall time.
    #[arg(long, default_value_t = 900)]
    pub max_seconds: u64,
}

impl Common {
    /// Payload bytes per second (infinite when unlimited).
    pub fn rate(&self) -> f64 {
        if self.link_mbps <= 0.0 {
            return f64::INFINITY;
        }
        self.link_mbps * 1e6 / 8.0 * (1.0 - self.loss / 100.0).clamp(0.01, 1.0)
    }

    pub fn model(&self, drops: Vec<Drop>) -> Model {
        Model {
            rate: self.rate(),
            rtt: self.rtt_ms / 1000.0,
            drops,
            detect: self.detect_secs,
        }
    }

    pub fn partner(&self) -> Option<(i64, String)> {
        match (self.partner_id, &self.secret) {
            (Some(p), Some(s)) => Some((p, s.clone())),
            _ => None,
        }
    }

    /// A plan with this target, clock and link: the resumable client, sequential chunks,
    /// no gap between waves (scenarios override what they need).
    pub fn plan(&self, scenario: &str, waves: Vec<Vec<UploadSpec>>, model: Model) -> Plan {
        Plan {
            scenario: scenario.into(),
            protocol: self.protocol,
            client: ClientKind::Resumable,
            clock: self.clock,
            chunk_size: self.chunk_size,
            parallel: 1,
            waves,
            gap_secs: 0.0,
            model,
            url: self.url.clone(),
            partner: self.partner(),
            max_seconds: self.max_seconds,
        }
    }

    /// Refuses targets outside the loopback range unless allowed.
    pub fn check_target(&self) -> Result<(), String> {
        let Some(url) = &self.url else { return Ok(()) };
        if self.allow_remote {
            return Ok(());
        }
        let hostport = url
            .split("://")
            .nth(1)
            .unwrap_or(url)
            .split('/')
            .next()
            .unwrap_or("");
        let addrs = hostport
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {hostport}: {e}"))?;
        for a in addrs {
            if !a.ip().is_loopback() {
                return Err(format!(
                    "refusing non-loopback target {a} (use --allow-remote)"
                ));
            }
        }
        Ok(())
    }
}
