//! One run: write the file, push it with the shared client through the balancer while
//! the plan's faults happen, then judge: the client's own verdict, and the bytes the
//! gateways serve back (downloaded from one of them and hashed) against the source.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde::Serialize;
use sha2::Digest;
use upgate::client::http::Retry;
use upgate::client::kaltura::{Calls, ChunkForm};
use upgate::client::resume::ResumeStore;
use upgate::client::source::Source;
use upgate::client::{push_file, Auth, NoProgress, Protocol as Wire, PushOptions, PushResult};

use super::cluster::{self, Cluster};
use super::plan::{Fault, Plan, Protocol};
use super::proxy::Proxy;
use super::rng::Rng;
use crate::link::{Model, RealLink};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Complete, and the stored bytes hash to the source's SHA-256.
    Ok,
    /// The client gave up with an error it reported.
    ClientError,
    /// The client or the stored bytes disagree with the source.
    ShaMismatch,
    /// Neither complete nor failed within the run's deadline.
    Stuck,
    /// The harness could not do what the plan said (a process did not come back).
    HarnessError,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub run: u64,
    pub plan: String,
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub seconds: f64,
    pub bytes_sent: u64,
    pub bytes_resent: u64,
    /// What each fault did (`duplicate: 409`, `gateway-kill: gateway 2 back`).
    pub faults: Vec<String>,
}

/// What a run needs from the campaign.
pub struct Env {
    pub cluster: Arc<Mutex<Cluster>>,
    pub proxy: Arc<Proxy>,
    pub work: PathBuf,
    pub seed: u64,
    /// The run is stuck when the client has not ended after this long.
    pub deadline: Duration,
}

pub async fn execute(env: &Env, plan: &Plan) -> Outcome {
    let started = tokio::time::Instant::now();
    let mut out = Outcome {
        run: plan.run,
        plan: plan.describe(),
        verdict: Verdict::Ok,
        reason: None,
        seconds: 0.0,
        bytes_sent: 0,
        bytes_resent: 0,
        faults: Vec::new(),
    };
    let path = env.work.join(format!("run-{}.bin", plan.run));
    let state_dir = env.work.join(format!("state-{}", plan.run));
    if let Err(e) = write_source(&path, plan.size, env.seed, plan.run) {
        out.verdict = Verdict::HarnessError;
        out.reason = Some(e);
        return out;
    }
    let opts = options(env, plan, &state_dir);
    let judged = judge(env, plan, &opts, &path, started, &mut out).await;
    if let Err(e) = judged {
        out.verdict = Verdict::HarnessError;
        out.reason = Some(e);
    }
    out.seconds = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_dir_all(&state_dir);
    out
}

fn options(env: &Env, plan: &Plan, state_dir: &Path) -> PushOptions {
    let rate = plan.link_mbps * 1e6 / 8.0;
    PushOptions {
        url: env.proxy.url.clone(),
        protocol: match plan.protocol {
            Protocol::Kaltura => Wire::Kaltura,
            _ => Wire::Files,
        },
        auth: Auth::Secret {
            partner_id: cluster::PARTNER,
            secret: cluster::USER_SECRET.into(),
            user: format!("chaos-{}", plan.run),
        },
        chunk_size: plan.chunk_size,
        parallel: plan.parallel,
        checksum: true,
        create_entry: None,
        state_dir: state_dir.to_owned(),
        // Faults last seconds: retry often, and give up only after a minute of them.
        retry: Retry {
            max_attempts: 40,
            base: Duration::from_millis(100),
            max: Duration::from_secs(2),
            patience: Duration::from_secs(60),
            ..Retry::default()
        },
        link: Arc::new(RealLink::new(Model {
            rate,
            rtt: 0.001,
            drops: Vec::new(),
            detect: 0.0,
        })),
    }
}

/// The file of run `run`: reproducible bytes from the seed.
fn write_source(path: &Path, size: u64, seed: u64, run: u64) -> Result<(), String> {
    use std::io::Write;
    let mut r = Rng::for_run(seed ^ 0x5eed_da7a, run);
    let f = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    let mut left = size;
    while left > 0 {
        let word = r.next().to_le_bytes();
        let n = left.min(8) as usize;
        w.write_all(&word[..n]).map_err(|e| e.to_string())?;
        left -= n as u64;
    }
    w.flush().map_err(|e| e.to_string())
}

async fn judge(
    env: &Env,
    plan: &Plan,
    opts: &PushOptions,
    path: &Path,
    started: tokio::time::Instant,
    out: &mut Outcome,
) -> Result<(), String> {
    let source_sha = Source::open(path)
        .map_err(|e| e.to_string())?
        .sha256()
        .await
        .map_err(|e| e.to_string())?;
    let ks = Calls::open(opts)
        .await
        .map_err(|e| format!("session.start: {e}"))?
        .ks()
        .to_owned();
    let push = {
        let (path, opts) = (path.to_owned(), opts.clone());
        tokio::spawn(async move { push_file(&path, &opts, Arc::new(NoProgress)).await })
    };
    let faults: Vec<_> = plan
        .faults
        .iter()
        .map(|f| {
            let (f, env_cluster, proxy) = (*f, env.cluster.clone(), env.proxy.clone());
            let (opts, path, ks, protocol) =
                (opts.clone(), path.to_owned(), ks.clone(), plan.protocol);
            tokio::spawn(async move {
                tokio::time::sleep_until(started + Duration::from_secs_f64(f.at())).await;
                inject(f, &env_cluster, &proxy, &opts, &path, &ks, protocol).await
            })
        })
        .collect();
    let pushed = tokio::time::timeout(env.deadline, push).await;
    let mut harness = Vec::new();
    for f in faults {
        match f.await {
            Ok(Ok(what)) => out.faults.push(what),
            Ok(Err(e)) => harness.push(e),
            Err(e) => harness.push(e.to_string()),
        }
    }
    if !harness.is_empty() {
        return Err(harness.join("; "));
    }
    let result: PushResult = match pushed {
        Err(_) => {
            out.verdict = Verdict::Stuck;
            out.reason = Some(format!("no end after {:?}", env.deadline));
            return Ok(());
        }
        Ok(Err(e)) => return Err(format!("client task: {e}")),
        Ok(Ok(r)) => r,
    };
    out.bytes_sent = result.bytes_sent;
    out.bytes_resent = result.bytes_sent.saturating_sub(plan.size);
    if result.status != "ok" {
        let why = result.error.unwrap_or_default();
        out.verdict = if why.contains("checksum mismatch") {
            Verdict::ShaMismatch
        } else {
            Verdict::ClientError
        };
        out.reason = Some(why);
        return Ok(());
    }
    if result.sha256 != source_sha {
        out.verdict = Verdict::ShaMismatch;
        out.reason = Some(format!(
            "client reported {} for {source_sha}",
            result.sha256
        ));
        return Ok(());
    }
    let id = result
        .token_id
        .clone()
        .or_else(|| {
            result
                .upload_url
                .as_deref()
                .and_then(|u| u.rsplit('/').next())
                .map(str::to_owned)
        })
        .ok_or("the client reported no upload id")?;
    let gateways = env
        .cluster
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .addrs();
    let gateway = &gateways[plan.run as usize % gateways.len()];
    let (len, stored_sha) = download(gateway, &id, &ks).await?;
    if len != plan.size || stored_sha != source_sha {
        out.verdict = Verdict::ShaMismatch;
        out.reason = Some(format!(
            "gateway {gateway} serves {len} bytes with SHA-256 {stored_sha}, the source has {} with {source_sha}",
            plan.size
        ));
        return Ok(());
    }
    // Done: free the bucket for the next runs (and check termination on the way).
    let c = upgate::client::http::client();
    let r = c
        .delete(format!("http://{gateway}/files/{id}"))
        .header("Tus-Resumable", "1.0.0")
        .bearer_auth(&ks)
        .send()
        .await
        .map_err(|e| format!("DELETE /files/{id}: {e}"))?;
    if r.status() != 204 {
        return Err(format!("DELETE /files/{id} answered {}", r.status()));
    }
    Ok(())
}

/// `GET /files/ID` from one gateway: the length and SHA-256 of what it serves.
async fn download(gateway: &str, id: &str, ks: &str) -> Result<(u64, String), String> {
    let c = upgate::client::http::client();
    let mut last = String::new();
    // The gateway may have just come back from a fault: a few tries.
    for _ in 0..20 {
        match c
            .get(format!("http://{gateway}/files/{id}"))
            .bearer_auth(ks)
            .send()
            .await
        {
            Ok(r) if r.status() == 200 => {
                let mut h = sha2::Sha256::new();
                let mut len = 0u64;
                let mut body = r.bytes_stream();
                while let Some(piece) = body.next().await {
                    let piece = piece.map_err(|e| format!("download: {e}"))?;
                    len += piece.len() as u64;
                    h.update(&piece);
                }
                return Ok((len, upgate_proto::hex::hex(&h.finalize())));
            }
            Ok(r) => last = format!("GET /files/{id} answered {}", r.status()),
            Err(e) => last = format!("GET /files/{id}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(last)
}

/// A change to the cluster, run on a blocking thread.
type ClusterJob = dyn FnOnce(&mut Cluster) -> Result<(), String> + Send;

/// Applies one fault; says what happened.
async fn inject(
    f: Fault,
    cluster: &Arc<Mutex<Cluster>>,
    proxy: &Proxy,
    opts: &PushOptions,
    path: &Path,
    ks: &str,
    protocol: Protocol,
) -> Result<String, String> {
    let blocking = |job: Box<ClusterJob>| {
        let cluster = cluster.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                job(&mut cluster.lock().unwrap_or_else(|p| p.into_inner()))
            })
            .await
            .map_err(|e| e.to_string())?
        }
    };
    let secs = Duration::from_secs_f64;
    match f {
        Fault::GatewayKill { gateway, down, .. } | Fault::GatewayTerm { gateway, down, .. } => {
            let graceful = matches!(f, Fault::GatewayTerm { .. });
            let n = cluster
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .gateways
                .len();
            let gateway = (proxy.preferred() + gateway) % n;
            blocking(Box::new(move |c| {
                c.restart_gateway(gateway, graceful, secs(down))
            }))
            .await?;
            return Ok(format!("{}: gateway {gateway}", f.kind()));
        }
        Fault::RedisRestart { down, .. } => {
            blocking(Box::new(move |c| c.redis.kill_and_restart(secs(down)))).await?;
        }
        Fault::S3Restart { down, .. } => {
            blocking(Box::new(move |c| c.s3.kill_and_restart(secs(down)))).await?;
        }
        Fault::Cut { .. } => proxy.cut(),
        Fault::Stall { secs: s, .. } => proxy.stall(secs(s)),
        Fault::Hop { .. } => proxy.hop(),
        Fault::Duplicate { .. } => {
            return Ok(format!(
                "duplicate: {}",
                duplicate(opts, path, ks, protocol).await
            ));
        }
    }
    Ok(f.kind().to_owned())
}

/// Sends the file's first chunk again, beside the client, through the balancer.
async fn duplicate(opts: &PushOptions, path: &Path, ks: &str, protocol: Protocol) -> String {
    let Ok(src) = Source::open(path) else {
        return "no source".into();
    };
    let wire = if protocol == Protocol::Kaltura {
        "kaltura"
    } else {
        "files"
    };
    let saved = ResumeStore::new(&opts.state_dir).load(&ResumeStore::key(&opts.url, wire, &src));
    let n = opts.chunk_size.min(src.size);
    let Ok(data) = src.read(0, n).await else {
        return "cannot read the source".into();
    };
    let c = upgate::client::http::client();
    let sent = match (protocol, saved.upload_url, saved.token_id) {
        (Protocol::Tus, Some(url), _) => {
            c.patch(url)
                .header("Tus-Resumable", "1.0.0")
                .header("Upload-Offset", "0")
                .header("Content-Type", "application/offset+octet-stream")
                .bearer_auth(ks)
                .body(data)
                .send()
                .await
        }
        (Protocol::RangedPut, Some(url), _) => {
            c.put(url)
                .header("Content-Range", format!("bytes 0-{}/{}", n - 1, src.size))
                .bearer_auth(ks)
                .body(data)
                .send()
                .await
        }
        (Protocol::Kaltura, _, Some(token)) => {
            // The client's own form, at byte 0, not final.
            let form = ChunkForm::new(ks, &token, true, false, 0);
            let body = [form.head, data, form.tail].concat();
            c.post(format!(
                "{}/api_v3/service/uploadtoken/action/upload",
                opts.url
            ))
            .header("Content-Type", form.content_type)
            .body(body)
            .send()
            .await
        }
        _ => return "skipped (no upload yet, or already complete)".into(),
    };
    match sent {
        Ok(r) => {
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            let code = text
                .split("\"code\":\"")
                .nth(1)
                .and_then(|t| t.split('"').next())
                .map(|c| format!(" {c}"))
                .unwrap_or_default();
            format!("{status}{code}")
        }
        Err(e) => format!("network error ({e})"),
    }
}
