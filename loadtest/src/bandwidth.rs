//! `bandwidth`: uploads through a modeled link (rate, RTT, scheduled drops) and reports
//! how long they took against the physical floor, how many bytes were sent twice, and
//! whether the stored file is byte-identical. `--client naive` restarts from zero after
//! every failure, for contrast with the resumable client.

use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use upgate::client::http::Retry;
use upgate::client::link::Link;
use upgate::client::{push_file, Auth, Progress, Protocol, PushOptions, PushResult};
use upgate_proto::size::parse_size;

use crate::gateway::{self, Local};
use crate::link::{Model, RealLink, VirtualLink};
use crate::report::{Report, Timeline};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Clock {
    /// Simulated time: deterministic, seconds of wall time for minutes of link time.
    Virtual,
    /// The wall clock: the link model paces the client.
    Real,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientKind {
    /// Resumes from the server's offset after a failure (upgate's client).
    Resumable,
    /// Starts the whole upload again after a failure.
    Naive,
}

fn size(s: &str) -> Result<u64, String> {
    parse_size(s).map_err(|e| e.to_string())
}

/// Flags of `bandwidth` (defaults: the mission's headline case).
#[derive(Debug, Clone, Args)]
pub struct BandwidthArgs {
    #[arg(long, value_enum, default_value = "files")]
    pub protocol: Protocol,
    #[arg(long, value_enum, default_value = "virtual")]
    pub clock: Clock,
    #[arg(long, value_enum, default_value = "resumable")]
    pub client: ClientKind,
    /// Size of each upload.
    #[arg(long, default_value = "250MB", value_parser = size)]
    pub size: u64,
    /// Uploads sharing the link at once.
    #[arg(long, default_value_t = 1)]
    pub uploads: usize,
    /// Link rate in Mbit/s of payload.
    #[arg(long, default_value_t = 10.0)]
    pub link_mbps: f64,
    #[arg(long, default_value_t = 30.0)]
    pub rtt_ms: f64,
    /// Packet loss in percent, modeled as that share of the rate lost to retransmission.
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Number of outages, spread evenly over the transfer (or randomly with --drop-seed).
    #[arg(long, default_value_t = 3)]
    pub drops: usize,
    #[arg(long, default_value_t = 5.0)]
    pub drop_secs: f64,
    #[arg(long)]
    pub drop_seed: Option<u64>,
    /// Seconds after an outage before the client has reconnected.
    #[arg(long, default_value_t = 0.5)]
    pub detect_secs: f64,
    #[arg(long, default_value = "8MiB", value_parser = size)]
    pub chunk_size: u64,
    /// Chunks in flight per upload (1: sequential PATCH).
    #[arg(long, default_value_t = 1)]
    pub parallel: usize,
    /// A running gateway (default: one started in this process).
    #[arg(long)]
    pub url: Option<String>,
    /// Allow a non-loopback --url.
    #[arg(long)]
    pub allow_remote: bool,
    /// Kaltura credentials for --url targets (partner id, user secret).
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

enum AnyLink {
    V(Arc<VirtualLink>),
    R(Arc<RealLink>),
}

impl AnyLink {
    fn now(&self) -> f64 {
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
}

struct Recorder {
    link: Arc<AnyLink>,
    points: Mutex<Vec<(f64, u64)>>,
    retries: std::sync::atomic::AtomicU64,
}

impl Progress for Recorder {
    fn start(&self, _file: &str, _total: u64, done: u64) {
        self.points
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((self.link.now(), done));
    }
    fn acknowledged(&self, offset: u64) {
        self.points
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((self.link.now(), offset));
    }
    fn retrying(&self, why: &str, _delay: Duration) {
        if std::env::var_os("UPGATE_LOADTEST_DEBUG").is_some() {
            eprintln!("[{:.1}s] retry: {why}", self.link.now());
        }
        self.retries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Refuses targets outside the loopback range unless allowed.
pub fn check_target(url: &str, allow_remote: bool) -> Result<(), String> {
    if allow_remote {
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

/// Deterministic file content.
fn write_file(path: &std::path::Path, len: u64, seed: u64) -> std::io::Result<()> {
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

/// Runs the scenario.
pub async fn run(a: &BandwidthArgs) -> Result<Report, String> {
    let rate = a.link_mbps * 1e6 / 8.0 * (1.0 - a.loss / 100.0).clamp(0.01, 1.0);
    let total = a.size * a.uploads as u64;
    let drops = match a.drop_seed {
        Some(seed) => Model::random_drops(total, rate, a.drops, a.drop_secs, seed),
        None => Model::even_drops(total, rate, a.drops, a.drop_secs),
    };
    let model = Model {
        rate,
        rtt: a.rtt_ms / 1000.0,
        drops: drops.clone(),
        detect: a.detect_secs,
    };
    let link = Arc::new(match a.clock {
        Clock::Virtual => AnyLink::V(Arc::new(VirtualLink::new(model))),
        Clock::Real => AnyLink::R(Arc::new(RealLink::new(model))),
    });
    let local = match &a.url {
        Some(u) => {
            check_target(u, a.allow_remote)?;
            None
        }
        None => Some(Local::start().await?),
    };
    let url = a
        .url
        .clone()
        .or_else(|| local.as_ref().map(|l| l.url.clone()))
        .unwrap_or_default();
    let auth = match (a.partner_id, &a.secret) {
        (Some(p), Some(s)) => Auth::Secret {
            partner_id: p,
            secret: s.clone(),
            user: "loadtest".into(),
        },
        _ => Auth::Secret {
            partner_id: gateway::PARTNER,
            secret: gateway::USER_SECRET.into(),
            user: "loadtest".into(),
        },
    };
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut files = Vec::new();
    for i in 0..a.uploads {
        let p = work.path().join(format!("lecture-{i}.mp4"));
        write_file(&p, a.size, i as u64 + 1).map_err(|e| e.to_string())?;
        files.push(p);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, path) in files.into_iter().enumerate() {
        let recorder = Arc::new(Recorder {
            link: link.clone(),
            points: Mutex::new(Vec::new()),
            retries: Default::default(),
        });
        let base = PushOptions {
            url: url.clone(),
            protocol: a.protocol,
            auth: auth.clone(),
            chunk_size: a.chunk_size,
            parallel: a.parallel.max(1),
            checksum: false,
            create_entry: None,
            state_dir: work.path().join(format!("state-{i}")),
            retry: Retry {
                max_attempts: 200,
                base: Duration::from_millis(250),
                max: Duration::from_secs(10),
            },
            link: link.link(),
        };
        let naive = a.client == ClientKind::Naive;
        tasks.push(tokio::spawn(async move {
            let mut sent = 0;
            let mut last: Option<PushResult> = None;
            for attempt in 0..50 {
                let mut opts = base.clone();
                if naive {
                    // No memory of earlier attempts: a new upload from byte 0 each time.
                    opts.state_dir = opts.state_dir.join(format!("attempt-{attempt}"));
                    opts.retry.max_attempts = 1;
                }
                let r = push_file(&path, &opts, recorder.clone()).await;
                sent += r.bytes_sent;
                let ok = r.status == "ok";
                last = Some(r);
                if ok || !naive {
                    break;
                }
            }
            let mut r = last.unwrap_or_else(|| unreachable_result(&path));
            r.bytes_sent = sent;
            (r, recorder)
        }));
    }
    let mut results = Vec::new();
    let deadline = Duration::from_secs(a.max_seconds);
    for t in tasks {
        let left = deadline.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, t).await {
            Ok(Ok(x)) => results.push(x),
            Ok(Err(e)) => return Err(format!("upload task failed: {e}")),
            Err(_) => return Err(format!("gave up after {} s of wall time", a.max_seconds)),
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let modeled = link.now();
    if let Some(l) = local {
        l.stop().await;
    }
    let bytes_sent: u64 = results.iter().map(|(r, _)| r.bytes_sent).sum();
    let resent = bytes_sent.saturating_sub(total);
    let secs = modeled.max(1e-9);
    Ok(Report {
        scenario: "bandwidth".into(),
        protocol: format!("{:?}", a.protocol).to_lowercase(),
        clock: format!("{:?}", a.clock).to_lowercase(),
        client: format!("{:?}", a.client).to_lowercase(),
        size: a.size,
        uploads: a.uploads,
        link_mbps: a.link_mbps,
        rtt_ms: a.rtt_ms,
        floor_seconds: total as f64 / rate + drops.iter().map(|d| d.secs).sum::<f64>(),
        drops,
        modeled_seconds: modeled,
        wall_seconds: wall,
        bytes_sent,
        bytes_resent: resent,
        resent_percent: 100.0 * resent as f64 / total.max(1) as f64,
        throughput_mbps: bytes_sent as f64 * 8.0 / secs / 1e6,
        goodput_mbps: total as f64 * 8.0 / secs / 1e6,
        retries: results
            .iter()
            .map(|(_, p)| p.retries.load(std::sync::atomic::Ordering::Relaxed))
            .sum(),
        sha256_match: results.iter().all(|(r, _)| r.status == "ok"),
        errors: results
            .iter()
            .filter_map(|(r, _)| r.error.clone())
            .collect(),
        timelines: results
            .iter()
            .map(|(r, p)| Timeline {
                label: r.file.clone(),
                points: p.points.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            })
            .collect(),
    })
}

fn unreachable_result(path: &std::path::Path) -> PushResult {
    PushResult {
        file: path.display().to_string(),
        status: "failed".into(),
        size: 0,
        resumed_from: 0,
        bytes_sent: 0,
        sha256: String::new(),
        seconds: 0.0,
        upload_url: None,
        token_id: None,
        entry_id: None,
        error: Some("no attempt ran".into()),
    }
}
