//! `create-storm`: creation rate only — `--concurrency` clients creating uploads
//! (`POST /files/` or `uploadToken.add`) for `--duration` seconds (at most `--max`
//! requests), over keep-alive connections. Reports requests per second and latency.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;
use upgate::client::Protocol;

use crate::common::Common;
use crate::gateway::{self, Local};
use crate::stats::{Latency, Stats};

#[derive(Debug, Clone, Args)]
pub struct CreateStormArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Upper bound on requests.
    #[arg(long, default_value_t = 1_000_000)]
    pub max: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CreateReport {
    pub scenario: String,
    pub protocol: String,
    pub concurrency: usize,
    pub requests: u64,
    pub wall_seconds: f64,
    pub requests_per_second: f64,
    pub errors_by_status: std::collections::BTreeMap<String, u64>,
    pub latency: std::collections::BTreeMap<String, Latency>,
}

impl CreateReport {
    pub fn summary(&self) -> String {
        let mut s = format!(
            "scenario create-storm ({} protocol): {} requests in {:.2} s = {:.0} req/s with {} clients\n",
            self.protocol, self.requests, self.wall_seconds, self.requests_per_second, self.concurrency
        );
        for (k, l) in &self.latency {
            s.push_str(&format!(
                "  {k}: p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms\n",
                l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms
            ));
        }
        for (k, n) in &self.errors_by_status {
            s.push_str(&format!("  failed {k}: {n}\n"));
        }
        s
    }
}

pub async fn run(a: &CreateStormArgs) -> Result<CreateReport, String> {
    let c = &a.common;
    let local = match &c.url {
        Some(_) => None,
        None => Some(Local::start().await?),
    };
    let base = c
        .url
        .clone()
        .or_else(|| local.as_ref().map(|l| l.url.clone()))
        .unwrap_or_default();
    let http = reqwest::Client::new();
    let ks = match c.protocol {
        Protocol::Files | Protocol::Ietf => String::new(),
        Protocol::Kaltura => {
            let (pid, secret) = c
                .partner()
                .unwrap_or((gateway::PARTNER, gateway::USER_SECRET.into()));
            let url = format!("{base}/api_v3/service/session/action/start?format=1&partnerId={pid}&secret={secret}&userId=storm");
            let text = http
                .get(url)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .text()
                .await
                .map_err(|e| e.to_string())?;
            text.trim_matches('"').to_owned()
        }
    };
    let stats = Arc::new(Stats::default());
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let stop = started + Duration::from_secs_f64(a.duration.clamp(0.1, 600.0));
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency.clamp(1, 1024) {
        let (http, stats, count, base, ks) = (
            http.clone(),
            stats.clone(),
            count.clone(),
            base.clone(),
            ks.clone(),
        );
        let (protocol, max) = (c.protocol, a.max);
        tasks.push(tokio::spawn(async move {
            while Instant::now() < stop && count.fetch_add(1, Ordering::Relaxed) < max {
                let (kind, rb) = match protocol {
                    Protocol::Files => (
                        "create",
                        http.post(format!("{base}/files/"))
                            .header("Tus-Resumable", "1.0.0")
                            .header("Upload-Length", "1048576"),
                    ),
                    Protocol::Ietf => (
                        "create",
                        http.post(format!("{base}/files/"))
                            .header("Upload-Draft-Interop-Version", "8")
                            .header("Upload-Complete", "?0")
                            .header("Upload-Length", "1048576"),
                    ),
                    Protocol::Kaltura => (
                        "uploadtoken.add",
                        http.post(format!("{base}/api_v3/service/uploadtoken/action/add"))
                            .header("Content-Type", "application/x-www-form-urlencoded")
                            .body(format!("format=1&ks={ks}")),
                    ),
                };
                let t = Instant::now();
                let status = match rb.send().await {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        let body = r.text().await.unwrap_or_default();
                        if body.contains("KalturaAPIException") {
                            500
                        } else {
                            s
                        }
                    }
                    Err(_) => 0,
                };
                stats.record(kind, status, t.elapsed().as_secs_f64());
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let wall = started.elapsed().as_secs_f64();
    if let Some(l) = local {
        l.stop().await;
    }
    let latency = stats.latencies();
    let requests = latency.values().map(|l| l.count).sum();
    Ok(CreateReport {
        scenario: "create-storm".into(),
        protocol: format!("{:?}", c.protocol).to_lowercase(),
        concurrency: a.concurrency,
        requests,
        wall_seconds: wall,
        requests_per_second: requests as f64 / wall.max(1e-9),
        errors_by_status: stats.errors(),
        latency,
    })
}
