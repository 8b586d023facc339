//! `upgate push`: uploads files and directories with the resumable client, drawing
//! progress bars on a terminal (per file and in total: bytes, rate, ETA), printing a
//! summary table, or with `--json` one JSON document of results on stdout. The exit code
//! is non-zero when any file failed, and the failures are named on stderr.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::ProgressBar;
use tokio::sync::Semaphore;

use crate::client::http::Retry;
use crate::client::{push_file, resume, Progress, PushOptions, PushResult};
use crate::config::PushArgs;

/// Every regular file under `paths` (directories recursively, sorted).
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            out.extend(collect(&entries)?);
        } else if meta.is_file() {
            out.push(p.clone());
        }
    }
    Ok(out)
}

struct Bars {
    file: ProgressBar,
    total: ProgressBar,
    shown: AtomicU64,
}

impl Progress for Bars {
    fn start(&self, _file: &str, total: u64, done: u64) {
        self.file.set_length(total);
        self.file.set_position(done);
        self.shown.store(done, Ordering::Relaxed);
        self.total.inc(done);
    }

    fn sent(&self, n: u64) {
        // Sent bytes, never moving backwards (a re-sent chunk does not count twice).
        let before = self.shown.load(Ordering::Relaxed);
        let now = (self.file.position() + n).min(self.file.length().unwrap_or(u64::MAX));
        if now > before {
            self.shown.store(now, Ordering::Relaxed);
            self.file.set_position(now);
            self.total.inc(now - before);
        }
    }

    fn retrying(&self, why: &str, delay: Duration) {
        self.file
            .set_message(format!("retry in {:.1}s: {why:.60}", delay.as_secs_f64()));
    }

    fn finished(&self, r: &PushResult) {
        let left = self
            .file
            .length()
            .unwrap_or(0)
            .saturating_sub(self.shown.load(Ordering::Relaxed));
        self.total.inc(if r.status == "ok" { left } else { 0 });
        match r.status.as_str() {
            "ok" => self.file.finish_with_message("done"),
            _ => self
                .file
                .abandon_with_message(format!("FAILED: {}", r.error.as_deref().unwrap_or(""))),
        }
    }
}

/// Runs the command; returns the process exit code.
pub async fn run(args: PushArgs) -> u8 {
    let files = match collect(&args.paths) {
        Ok(f) if f.is_empty() => {
            eprintln!("upgate push: no files to upload");
            return 2;
        }
        Ok(f) => f,
        Err(e) => {
            eprintln!("upgate push: {e}");
            return 2;
        }
    };
    let auth = match args.cred.auth() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("upgate push: {e}");
            return 2;
        }
    };
    let total_bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let (multi, style) = super::bars(
        args.json,
        "{prefix:>20.bold} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
    );
    let total = multi.add(
        ProgressBar::new(total_bytes)
            .with_style(style.clone())
            .with_prefix("total"),
    );
    let sem = Arc::new(Semaphore::new(args.files_parallel.max(1)));
    let mut tasks = Vec::new();
    for path in files {
        let opts = PushOptions {
            url: args.cred.url.trim_end_matches('/').to_owned(),
            protocol: args.protocol,
            auth: auth.clone(),
            chunk_size: args.chunk_size.max(1),
            parallel: args.parallel.max(1),
            checksum: args.checksum.is_some(),
            create_entry: args
                .create_entry
                .then(|| args.name.clone().unwrap_or_else(|| file_stem(&path))),
            state_dir: args.state_dir.clone().unwrap_or_else(resume::default_dir),
            retry: Retry {
                max_attempts: args.retries.max(1),
                stall: args.stall,
                patience: args.patience,
                ..Retry::default()
            },
            link: Arc::new(crate::client::link::Paced::new(args.limit_rate)),
        };
        let name: String = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let bar = multi.insert_before(
            &total,
            ProgressBar::new(0)
                .with_style(style.clone())
                .with_prefix(super::shorten(&name, 40)),
        );
        let progress = Arc::new(Bars {
            file: bar,
            total: total.clone(),
            shown: AtomicU64::new(0),
        });
        let sem = sem.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await;
            push_file(&path, &opts, progress).await
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        match t.await {
            Ok(r) => results.push(r),
            Err(e) => eprintln!("upgate push: upload task failed: {e}"),
        }
    }
    total.finish();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&results).unwrap_or_default()
        );
    } else {
        eprintln!(
            "\n{:<40} {:>7} {:>11} {:>11} {:>11} {:>10}",
            "file", "status", "size", "resumed", "sent", "rate"
        );
        for r in &results {
            let rate = if r.seconds > 0.0 {
                super::human(r.bytes_sent as f64 / r.seconds) + "/s"
            } else {
                "-".into()
            };
            eprintln!(
                "{:<40} {:>7} {:>11} {:>11} {:>11} {:>10}",
                super::shorten(&r.file, 40),
                r.status,
                super::human(r.size as f64),
                super::human(r.resumed_from as f64),
                super::human(r.bytes_sent as f64),
                rate
            );
        }
    }
    let failed: Vec<&PushResult> = results.iter().filter(|r| r.status != "ok").collect();
    for f in &failed {
        eprintln!(
            "upgate push: FAILED {}: {}",
            f.file,
            f.error.as_deref().unwrap_or("unknown error")
        );
    }
    if failed.is_empty() && !results.is_empty() {
        0
    } else {
        1
    }
}

fn file_stem(p: &Path) -> String {
    p.file_stem()
        .map_or_else(|| "upload".into(), |s| s.to_string_lossy().into_owned())
}
