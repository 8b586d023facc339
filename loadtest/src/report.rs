//! Results: a readable summary, one JSON object (`--json`), and an SVG plot of bytes
//! acknowledged over (modeled) time per upload (`--plot`), drops shaded.

use std::fmt::Write;

use serde::Serialize;

use crate::link::Drop;

/// One upload's timeline: (seconds, acknowledged bytes).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    pub label: String,
    pub points: Vec<(f64, u64)>,
}

/// What a scenario reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub protocol: String,
    pub clock: String,
    pub client: String,
    pub size: u64,
    pub uploads: usize,
    pub link_mbps: f64,
    pub rtt_ms: f64,
    pub drops: Vec<Drop>,
    /// Seconds on the modeled link (virtual clock) or on the wall clock (real clock).
    pub modeled_seconds: f64,
    pub wall_seconds: f64,
    /// The physical floor: bytes at link rate plus the outages.
    pub floor_seconds: f64,
    pub bytes_sent: u64,
    pub bytes_resent: u64,
    pub resent_percent: f64,
    pub throughput_mbps: f64,
    pub goodput_mbps: f64,
    pub retries: u64,
    pub sha256_match: bool,
    pub errors: Vec<String>,
    /// Failed requests by `kind:status` (`network` for connection errors).
    pub errors_by_status: std::collections::BTreeMap<String, u64>,
    /// Request latency per kind (wall clock), from HDR histograms.
    pub latency: std::collections::BTreeMap<String, crate::stats::Latency>,
    pub upload_wall_seconds_p50: f64,
    pub upload_wall_seconds_max: f64,
    #[serde(skip)]
    pub timelines: Vec<Timeline>,
}

impl Report {
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "scenario {} ({} protocol, {} clock, {} client)",
            self.scenario, self.protocol, self.clock, self.client
        );
        let _ = writeln!(
            s,
            "  {} upload(s) of {:.1} MB over {} Mbit/s, RTT {} ms, {} drop(s)",
            self.uploads,
            self.size as f64 / 1e6,
            self.link_mbps,
            self.rtt_ms,
            self.drops.len()
        );
        let _ = writeln!(
            s,
            "  time: {:.1} s modeled (floor {:.1} s), {:.2} s wall",
            self.modeled_seconds, self.floor_seconds, self.wall_seconds
        );
        let _ = writeln!(
            s,
            "  sent {:.1} MB, re-sent {:.2} MB ({:.2} %), goodput {:.2} Mbit/s, retries {}",
            self.bytes_sent as f64 / 1e6,
            self.bytes_resent as f64 / 1e6,
            self.resent_percent,
            self.goodput_mbps,
            self.retries
        );
        let _ = writeln!(
            s,
            "  SHA-256 {}",
            if self.sha256_match {
                "matches"
            } else {
                "MISMATCH"
            }
        );
        for e in &self.errors {
            let _ = writeln!(s, "  error: {e}");
        }
        s
    }

    /// An SVG line chart of acknowledged MB over seconds.
    pub fn svg(&self) -> String {
        let (w, h, pad) = (800.0, 420.0, 50.0);
        let t_max = self
            .timelines
            .iter()
            .flat_map(|t| t.points.iter().map(|p| p.0))
            .fold(self.modeled_seconds, f64::max)
            .max(1.0);
        let y_max = (self.size as f64 / 1e6).max(1e-6);
        let x = |t: f64| pad + (w - 2.0 * pad) * t / t_max;
        let y = |mb: f64| h - pad - (h - 2.0 * pad) * mb / y_max;
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        );
        for d in &self.drops {
            let _ = writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"{pad}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#fed7d7\"><title>link down {:.0}–{:.0} s</title></rect>",
                x(d.start),
                (x(d.start + d.secs) - x(d.start)).max(1.0),
                h - 2.0 * pad,
                d.start,
                d.start + d.secs
            );
        }
        let _ = writeln!(
            s,
            "<line x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>",
            h - pad,
            w - pad,
            h - pad
        );
        let _ = writeln!(
            s,
            "<line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{}\" stroke=\"black\"/>",
            h - pad
        );
        for i in 0..=5 {
            let t = t_max * i as f64 / 5.0;
            let mb = y_max * i as f64 / 5.0;
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{t:.0} s</text>",
                x(t),
                h - pad + 18.0
            );
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{mb:.0} MB</text>",
                pad - 6.0,
                y(mb) + 4.0
            );
        }
        let colors = ["#2b6cb0", "#2f855a", "#b7791f", "#805ad5", "#c53030"];
        for (i, tl) in self.timelines.iter().enumerate() {
            let pts: Vec<String> = tl
                .points
                .iter()
                .map(|(t, b)| format!("{:.1},{:.1}", x(*t), y(*b as f64 / 1e6)))
                .collect();
            let _ = writeln!(
                s,
                "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"><title>{}</title></polyline>",
                colors[i % colors.len()],
                pts.join(" "),
                tl.label
            );
        }
        let _ = writeln!(
            s,
            "<text x=\"{pad}\" y=\"30\" font-size=\"14\">{}: bytes acknowledged over {} time ({:.1} s; floor {:.1} s)</text>",
            self.scenario, self.clock, self.modeled_seconds, self.floor_seconds
        );
        s.push_str("</svg>\n");
        s
    }
}
