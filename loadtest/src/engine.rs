//! The upload engine behind every upload scenario: waves of uploads (each a file of a
//! given size) pushed with the shared client library through modeled links, recording
//! bytes acknowledged over time, request latencies (HDR histograms per request kind) and
//! errors by status; a wave starts when the previous one is done, after a gap.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use upgate::client::http::Retry;
use upgate::client::link::Link;
use upgate::client::{push_file, Auth, Progress, Protocol, PushOptions, PushResult};

use crate::gateway::{self, Local};
use crate::link::{Drop, Model, RealLink, VirtualLink};
use crate::report::{Report, Timeline};
use crate::stats::Stats;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Clock {
    /// Simulated time: deterministic, seconds of wall time for minutes of link time.
    Virtual,
    /// The wall clock: the link model paces the client.
    Real,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientKind {
    /// Resumes from the server's offset after a failure (upgate's client).
    Resumable,
    /// Starts the whole upload again after a failure.
    Naive,
}

/// A link of either clock.
pub enum AnyLink {
    V(Arc<VirtualLink>),
    R(Arc<RealLink>),
}

impl AnyLink {
    pub fn new(clock: Clock, model: Model) -> Arc<Self> {
        Arc::new(match clock {
            Clock::Virtual => AnyLink::V(Arc::new(VirtualLink::new(model))),
            Clock::Real => AnyLink::R(Arc::new(RealLink::new(model))),
        })
    }

    pub fn now(&self) -> f64 {
        match self {
            AnyLink::V(l) => l.now(),
            AnyLink::R(l) => l.now(),
        }
    }

    fn link(&self) -> Arc<dyn Link> {
        match self {
            AnyLink::V(l) => l.clone(),
            AnyLink::R(l) => l.clone(),
        }
    }

    async fn sleep(&self, secs: f64) {
        self.link().sleep(Duration::from_secs_f64(secs)).await;
    }
}

struct Recorder {
    link: Arc<AnyLink>,
    points: Mutex<Vec<(f64, u64)>>,
    stats: Arc<Stats>,
}

impl Recorder {
    /// Records that `bytes` of the file are acknowledged now.
    fn point(&self, bytes: u64) {
        self.points
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((self.link.now(), bytes));
    }
}

impl Progress for Recorder {
    fn start(&self, _file: &str, _total: u64, done: u64) {
        self.point(done);
    }
    fn acknowledged(&self, offset: u64) {
        self.point(offset);
    }
    fn request(&self, kind: &str, status: u16, secs: f64) {
        self.stats.record(kind, status, secs);
    }
    fn retrying(&self, why: &str, _delay: Duration) {
        if std::env::var_os("UPGATE_LOADTEST_DEBUG").is_some() {
            eprintln!("[{:.1}s] retry: {why}", self.link.now());
        }
        self.stats.retried();
    }
}

/// One upload of a plan.
#[derive(Debug, Clone)]
pub struct UploadSpec {
    pub size: u64,
    /// Its own link (with its own drops); `None` shares the plan's link.
    pub model: Option<Model>,
}

impl UploadSpec {
    /// `n` uploads of `size` bytes on the shared link.
    pub fn same(n: usize, size: u64) -> Vec<UploadSpec> {
        (0..n).map(|_| UploadSpec { size, model: None }).collect()
    }
}

/// What to run.
pub struct Plan {
    pub scenario: String,
    pub protocol: Protocol,
    pub client: ClientKind,
    pub clock: Clock,
    pub chunk_size: u64,
    pub parallel: usize,
    /// Uploads in waves; a wave starts `gap_secs` after the previous one finished.
    pub waves: Vec<Vec<UploadSpec>>,
    pub gap_secs: f64,
    pub model: Model,
    pub url: Option<String>,
    pub partner: Option<(i64, String)>,
    pub max_seconds: u64,
}

/// Deterministic file content.
pub fn write_file(path: &std::path::Path, len: u64, seed: u64) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut left = len;
    let mut block = vec![0u8; 1 << 20];
    while left > 0 {
        for c in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.copy_from_slice(&x.to_le_bytes()[..c.len()]);
        }
        let n = left.min(block.len() as u64) as usize;
        f.write_all(&block[..n])?;
        left -= n as u64;
    }
    f.flush()
}

/// The physical floor: uploads sharing the plan's link need their bytes at its rate plus
/// its outages; an upload on its own link needs its bytes plus its own outages; waves add
/// up, their uploads overlap.
fn floor(waves: &[Vec<UploadSpec>], shared: &Model) -> f64 {
    let secs = |bytes: u64, m: &Model| {
        let t = if m.rate.is_finite() {
            bytes as f64 / m.rate
        } else {
            0.0
        };
        t + m.drops.iter().map(|d| d.secs).sum::<f64>()
    };
    waves
        .iter()
        .map(|w| {
            let shared_bytes: u64 = w.iter().filter(|u| u.model.is_none()).map(|u| u.size).sum();
            let own = w
                .iter()
                .filter_map(|u| u.model.as_ref().map(|m| secs(u.size, m)))
                .fold(0.0, f64::max);
            let on_shared = if shared_bytes > 0 {
                secs(shared_bytes, shared)
            } else {
                0.0
            };
            on_shared.max(own)
        })
        .sum()
}

/// Runs a plan against `plan.url` or an in-process gateway.
pub async fn run(plan: Plan) -> Result<Report, String> {
    let local = match &plan.url {
        Some(_) => None,
        None => Some(Local::start().await?),
    };
    let url = plan
        .url
        .clone()
        .or_else(|| local.as_ref().map(|l| l.url.clone()))
        .unwrap_or_default();
    let auth = match &plan.partner {
        Some((p, s)) => Auth::Secret {
            partner_id: *p,
            secret: s.clone(),
            user: "loadtest".into(),
        },
        None => Auth::Secret {
            partner_id: gateway::PARTNER,
            secret: gateway::USER_SECRET.into(),
            user: "loadtest".into(),
        },
    };
    let shared = AnyLink::new(plan.clock, plan.model.clone());
    let stats = Arc::new(Stats::default());
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    // Files first, so the clock measures uploads only.
    let mut k = 0usize;
    let mut paths: Vec<Vec<std::path::PathBuf>> = Vec::new();
    for wave in &plan.waves {
        let mut ps = Vec::new();
        for spec in wave {
            k += 1;
            let path = work.path().join(format!("upload-{k}.mp4"));
            write_file(&path, spec.size, k as u64).map_err(|e| e.to_string())?;
            ps.push(path);
        }
        paths.push(ps);
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(plan.max_seconds);
    let mut results: Vec<(PushResult, Arc<Recorder>)> = Vec::new();
    let mut links: Vec<Arc<AnyLink>> = vec![shared.clone()];
    let mut n = 0usize;
    let total: u64 = plan.waves.iter().flatten().map(|u| u.size).sum();
    for (w, wave) in plan.waves.iter().enumerate() {
        if w > 0 && plan.gap_secs > 0.0 {
            shared.sleep(plan.gap_secs).await;
        }
        let mut tasks = Vec::new();
        for (spec, path) in wave.iter().zip(paths[w].iter().cloned()) {
            n += 1;
            let link = match &spec.model {
                Some(m) => {
                    let l = AnyLink::new(plan.clock, m.clone());
                    links.push(l.clone());
                    l
                }
                None => shared.clone(),
            };
            let recorder = Arc::new(Recorder {
                link: link.clone(),
                points: Mutex::new(Vec::new()),
                stats: stats.clone(),
            });
            let base = PushOptions {
                url: url.clone(),
                protocol: plan.protocol,
                auth: auth.clone(),
                chunk_size: plan.chunk_size,
                parallel: plan.parallel.max(1),
                checksum: false,
                create_entry: None,
                state_dir: work.path().join(format!("state-{n}")),
                retry: Retry {
                    max_attempts: 200,
                    base: Duration::from_millis(250),
                    max: Duration::from_secs(10),
                    ..Retry::default()
                },
                link: link.link(),
            };
            let naive = plan.client == ClientKind::Naive;
            tasks.push(tokio::spawn(async move {
                let mut sent = 0;
                let mut last = None;
                for attempt in 0..50 {
                    let mut opts = base.clone();
                    if naive {
                        // No memory of earlier attempts: a new upload from byte 0 each time.
                        opts.state_dir = opts.state_dir.join(format!("attempt-{attempt}"));
                        opts.retry.max_attempts = 1;
                        opts.retry.patience = Duration::ZERO;
                    }
                    let r = push_file(&path, &opts, recorder.clone()).await;
                    sent += r.bytes_sent;
                    let ok = r.status == "ok";
                    last = Some(r);
                    if ok || !naive {
                        break;
                    }
                }
                let _ = std::fs::remove_file(&path);
                last.map(|mut r: PushResult| {
                    r.bytes_sent = sent;
                    (r, recorder)
                })
            }));
        }
        for t in tasks {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, t).await {
                Ok(Ok(Some(x))) => results.push(x),
                Ok(Ok(None)) => return Err("an upload ran no attempt".into()),
                Ok(Err(e)) => return Err(format!("upload task failed: {e}")),
                Err(_) => return Err(format!("gave up after {} s of wall time", plan.max_seconds)),
            }
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let modeled = links.iter().map(|l| l.now()).fold(0.0, f64::max);
    if let Some(l) = local {
        l.stop().await;
    }
    let bytes_sent: u64 = results.iter().map(|(r, _)| r.bytes_sent).sum();
    let resent = bytes_sent.saturating_sub(total);
    let secs = modeled.max(1e-9);
    let rate = plan.model.rate;
    let drops: Vec<Drop> = plan.model.drops.clone();
    let mut per_upload: Vec<f64> = results.iter().map(|(r, _)| r.seconds).collect();
    per_upload.sort_by(f64::total_cmp);
    Ok(Report {
        scenario: plan.scenario,
        protocol: format!("{:?}", plan.protocol).to_lowercase(),
        clock: format!("{:?}", plan.clock).to_lowercase(),
        client: format!("{:?}", plan.client).to_lowercase(),
        size: total,
        uploads: results.len(),
        link_mbps: if rate.is_finite() {
            rate * 8.0 / 1e6
        } else {
            0.0
        },
        rtt_ms: plan.model.rtt * 1000.0,
        floor_seconds: floor(&plan.waves, &plan.model),
        drops,
        modeled_seconds: modeled,
        wall_seconds: wall,
        bytes_sent,
        bytes_resent: resent,
        resent_percent: 100.0 * resent as f64 / total.max(1) as f64,
        throughput_mbps: bytes_sent as f64 * 8.0 / secs / 1e6,
        goodput_mbps: total as f64 * 8.0 / secs / 1e6,
        retries: stats.retries(),
        sha256_match: results.iter().all(|(r, _)| r.status == "ok"),
        errors: results
            .iter()
            .filter_map(|(r, _)| r.error.clone())
            .collect(),
        errors_by_status: stats.errors(),
        latency: stats.latencies(),
        upload_wall_seconds_p50: per_upload.get(per_upload.len() / 2).copied().unwrap_or(0.0),
        upload_wall_seconds_max: per_upload.last().copied().unwrap_or(0.0),
        timelines: results
            .iter()
            .map(|(r, p)| Timeline {
                label: r.file.clone(),
                points: p.points.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            })
            .collect(),
    })
}
