//! `upgate-loadtest chaos`: a seeded fault campaign over a real cluster. It starts a
//! private `redis-server` (unix socket), an S3 server (s3s-fs) and three gateways on
//! Redis + S3, puts a balancer in front of them, and for each run draws from the seed a
//! protocol (tus `PATCH`, ranged `PUT` in parallel, Kaltura chunks out of order), a file
//! and a link, and faults at random moments (gateway `SIGKILL` and `SIGTERM` with
//! restart, Redis and S3 restarts, cut and stalled connections, a duplicated chunk, the
//! client hopping to another gateway). Every upload must end complete with the
//! source's SHA-256 (checked by the client and again by downloading it from a gateway)
//! or with an error the client reported; never corrupted, never stuck.
//!
//! `--seed S --run K` replays run K alone on a fresh cluster.

mod cluster;
mod plan;
mod proxy;
mod rng;
mod run;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use crate::common::size;
use plan::Plan;
use run::{Outcome, Verdict};

#[derive(Debug, Clone, Args)]
pub struct ChaosArgs {
    /// Runs in the campaign.
    #[arg(long, default_value_t = 10)]
    pub runs: u64,
    /// The seed every choice comes from.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only this run (a reproduction), on a fresh cluster.
    #[arg(long)]
    pub run: Option<u64>,
    /// Largest file.
    #[arg(long, default_value = "32MiB", value_parser = size)]
    pub max_size: u64,
    /// Gateways behind the balancer.
    #[arg(long, default_value_t = 3)]
    pub gateways: usize,
    /// A run whose client has not ended after this many seconds is stuck.
    #[arg(long, default_value_t = 180)]
    pub deadline: u64,
    /// Start no new run after this many seconds.
    #[arg(long, default_value_t = 3600)]
    pub max_seconds: u64,
    /// The S3 server (default: `$UPGATE_S3S_FS`, else `~/.cache/upgate-tools/bin/s3s-fs`,
    /// where `tests/run.sh` installs it).
    #[arg(long)]
    pub s3_server: Option<PathBuf>,
    #[arg(long, default_value = "redis-server")]
    pub redis_server: PathBuf,
    /// An `upgate` binary for the gateways (default: this program runs `upgate serve`).
    #[arg(long)]
    pub upgate: Option<PathBuf>,
    /// Keep the cluster's directory (data and gateway logs) when a run fails.
    #[arg(long)]
    pub keep: bool,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
pub struct Failure {
    pub run: u64,
    pub verdict: Verdict,
    pub reason: String,
    pub plan: String,
    pub reproduce: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub seed: u64,
    pub runs: u64,
    pub ok: u64,
    pub client_errors: u64,
    pub sha_mismatch: u64,
    pub stuck: u64,
    pub harness_errors: u64,
    pub bytes_sent: u64,
    pub bytes_resent: u64,
    pub faults: BTreeMap<String, u64>,
    /// Every run that did not end `ok`, with its one-line reproduction.
    pub failed: Vec<Failure>,
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_dir: Option<String>,
}

impl Report {
    fn new(seed: u64, outcomes: &[Outcome], seconds: f64) -> Self {
        let count = |v: Verdict| outcomes.iter().filter(|o| o.verdict == v).count() as u64;
        let mut faults = BTreeMap::new();
        for o in outcomes {
            for f in &o.faults {
                let kind = f.split(':').next().unwrap_or(f);
                *faults.entry(kind.to_owned()).or_insert(0) += 1;
            }
        }
        Self {
            seed,
            runs: outcomes.len() as u64,
            ok: count(Verdict::Ok),
            client_errors: count(Verdict::ClientError),
            sha_mismatch: count(Verdict::ShaMismatch),
            stuck: count(Verdict::Stuck),
            harness_errors: count(Verdict::HarnessError),
            bytes_sent: outcomes.iter().map(|o| o.bytes_sent).sum(),
            bytes_resent: outcomes.iter().map(|o| o.bytes_resent).sum(),
            faults,
            failed: outcomes
                .iter()
                .filter(|o| o.verdict != Verdict::Ok)
                .map(|o| Failure {
                    run: o.run,
                    verdict: o.verdict,
                    reason: o.reason.clone().unwrap_or_default(),
                    plan: o.plan.clone(),
                    reproduce: format!("upgate-loadtest chaos --seed {seed} --run {}", o.run),
                })
                .collect(),
            seconds,
            kept_dir: None,
        }
    }

    /// Corruption, a stuck upload or a broken harness fail the campaign; an error the
    /// client reported is an allowed ending (listed).
    pub fn passed(&self) -> bool {
        self.sha_mismatch == 0 && self.stuck == 0 && self.harness_errors == 0
    }

    pub fn summary(&self) -> String {
        let mut s = format!(
            "chaos seed {}: {} runs in {:.0} s: {} ok, {} client errors, {} SHA-256 mismatches, {} stuck, {} harness errors\n\
             bytes sent {:.1} MiB, re-sent {:.1} MiB\nfaults:",
            self.seed,
            self.runs,
            self.seconds,
            self.ok,
            self.client_errors,
            self.sha_mismatch,
            self.stuck,
            self.harness_errors,
            self.bytes_sent as f64 / 1048576.0,
            self.bytes_resent as f64 / 1048576.0,
        );
        for (k, n) in &self.faults {
            s.push_str(&format!(" {k} {n},"));
        }
        s.pop();
        s.push('\n');
        for f in &self.failed {
            s.push_str(&format!(
                "run {} {:?}: {}\n  plan: {}\n  reproduce: {}\n",
                f.run, f.verdict, f.reason, f.plan, f.reproduce
            ));
        }
        if let Some(d) = &self.kept_dir {
            s.push_str(&format!("cluster data and logs kept in {d}\n"));
        }
        s
    }
}

fn programs(a: &ChaosArgs) -> Result<cluster::Programs, String> {
    let s3s_fs = a.s3_server.clone().unwrap_or_else(|| {
        std::env::var_os("UPGATE_S3S_FS").map_or_else(
            || {
                let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
                PathBuf::from(home).join(".cache/upgate-tools/bin/s3s-fs")
            },
            Into::into,
        )
    });
    if !s3s_fs.exists() {
        return Err(format!(
            "no S3 server at {} (tests/run.sh installs s3s-fs; or --s3-server PATH)",
            s3s_fs.display()
        ));
    }
    let gateway = match &a.upgate {
        Some(p) => (p.clone(), vec!["serve".to_owned()]),
        None => (
            std::env::current_exe().map_err(|e| e.to_string())?,
            vec!["serve-upgate".to_owned()],
        ),
    };
    Ok(cluster::Programs {
        redis: a.redis_server.clone(),
        s3s_fs,
        gateway,
    })
}

/// Runs the campaign.
pub async fn campaign(a: &ChaosArgs) -> Result<Report, String> {
    let programs = programs(a)?;
    let started = tokio::time::Instant::now();
    let gateways = a.gateways.max(1);
    let c = tokio::task::spawn_blocking(move || cluster::Cluster::start(programs, gateways))
        .await
        .map_err(|e| e.to_string())??;
    let proxy = Arc::new(proxy::Proxy::start(c.addrs()).await?);
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let env = run::Env {
        cluster: Arc::new(Mutex::new(c)),
        proxy,
        work: work.path().to_owned(),
        seed: a.seed,
        deadline: Duration::from_secs(a.deadline),
    };
    let runs: Vec<u64> = match a.run {
        Some(k) => vec![k],
        None => (0..a.runs).collect(),
    };
    let mut outcomes = Vec::new();
    for (i, k) in runs.iter().enumerate() {
        if started.elapsed() > Duration::from_secs(a.max_seconds) {
            eprintln!("chaos: --max-seconds {} reached; stopping", a.max_seconds);
            break;
        }
        let plan = Plan::draw(a.seed, *k, a.max_size, gateways);
        let o = run::execute(&env, &plan).await;
        eprintln!(
            "chaos run {}/{} (#{k}) {:?} in {:.1} s, re-sent {:.1} MiB: {} [{}]{}",
            i + 1,
            runs.len(),
            o.verdict,
            o.seconds,
            o.bytes_resent as f64 / 1048576.0,
            o.plan,
            o.faults.join(", "),
            o.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
        outcomes.push(o);
    }
    let mut report = Report::new(a.seed, &outcomes, started.elapsed().as_secs_f64());
    drop(env.proxy);
    let cluster = Arc::try_unwrap(env.cluster)
        .map_err(|_| "cluster still shared".to_owned())?
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    if a.keep && !report.failed.is_empty() {
        report.kept_dir = Some(cluster.keep().display().to_string());
    }
    Ok(report)
}
