//! The resumable upload client shared by `upgate push` and the load tester: uploads a
//! file over the native protocol (tus creation + parallel ranged `PUT`, or sequential
//! `PATCH` with per-chunk checksums), the Kaltura protocol (`uploadToken` with
//! positional chunks) or Resumable Uploads for HTTP (sequential appends), resumes from the server's offset after any failure, retries with
//! backoff and jitter, and verifies the whole file's SHA-256 against the server.
//!
//! Owns: request building, retry policy, resume state. Must not: print (progress goes
//! through [`Progress`]), or hold more than `chunk_size × parallel` bytes in memory.

mod digest;
pub mod files;
pub mod http;
pub mod ietf;
pub mod kaltura;
pub mod link;
pub mod resume;
mod run;
pub mod source;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

/// Which wire protocol to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Native: tus 1.0 creation, ranged PUT (parallel) or PATCH (sequential).
    Files,
    /// Kaltura API v3 uploadToken.
    Kaltura,
    /// Resumable Uploads for HTTP (IETF draft, interop version 8): sequential appends.
    Ietf,
}

/// How the client proves who it is.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    /// A Kaltura session.
    Ks(String),
    /// Start a session with a partner secret.
    Secret {
        partner_id: i64,
        secret: String,
        user: String,
    },
}

/// Options of one push.
#[derive(Clone)]
pub struct PushOptions {
    /// Gateway base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    pub protocol: Protocol,
    pub auth: Auth,
    pub chunk_size: u64,
    /// Chunks in flight per file.
    pub parallel: usize,
    /// Verify each chunk (tus `Upload-Checksum`) and the whole file (SHA-256).
    pub checksum: bool,
    /// Kaltura: create a media entry with this name once the upload is complete.
    pub create_entry: Option<String>,
    /// Where resume state is kept.
    pub state_dir: PathBuf,
    pub retry: http::Retry,
    /// The network the bytes go through (pacing, modeled links).
    pub link: Arc<dyn link::Link>,
}

/// What happened to one file.
#[derive(Debug, Clone, Serialize)]
pub struct PushResult {
    pub file: String,
    /// `ok` or `failed`.
    pub status: String,
    pub size: u64,
    /// Bytes already on the server when this run started.
    pub resumed_from: u64,
    /// Body bytes sent by this run (re-sent chunks counted again).
    pub bytes_sent: u64,
    pub sha256: String,
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Progress callbacks (the CLI draws bars; tests and the load tester count).
pub trait Progress: Send + Sync {
    /// The upload starts; `done` bytes are already on the server.
    fn start(&self, _file: &str, _total: u64, _done: u64) {}
    /// `n` more body bytes left this machine.
    fn sent(&self, _n: u64) {}
    /// The server acknowledged everything up to `offset` (contiguous).
    fn acknowledged(&self, _offset: u64) {}
    /// One HTTP request finished: its kind (`patch`, `uploadtoken.upload`, …), the
    /// status (0 for a network error) and how long it took.
    fn request(&self, _kind: &str, _status: u16, _secs: f64) {}
    /// A retry is coming after `delay`, because of `why`.
    fn retrying(&self, _why: &str, _delay: Duration) {}
    fn finished(&self, _result: &PushResult) {}
}

/// A progress sink that ignores everything.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Errors of the client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot read {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot reach {url}: {why}")]
    Network { url: String, why: String },
    #[error("server answered {status}: {body}")]
    Http { status: u16, body: String },
    #[error("Kaltura error {code}: {message}")]
    Kaltura { code: String, message: String },
    #[error("{0}")]
    Protocol(String),
    #[error("checksum mismatch: local {local}, server {server}")]
    Checksum { local: String, server: String },
    #[error("gave up after {attempts} attempts: {last}")]
    GaveUp { attempts: u32, last: String },
}

/// Uploads one file with resume, retries and verification.
pub async fn push_file(path: &Path, opts: &PushOptions, progress: Arc<dyn Progress>) -> PushResult {
    let started = std::time::Instant::now();
    let display = path.display().to_string();
    let outcome = match (&opts.protocol, &opts.auth) {
        (Protocol::Files | Protocol::Ietf, Auth::Secret { .. }) => {
            // The native protocols take a KS as Bearer: start one with the secret.
            match kaltura::start_session(opts, progress.clone()).await {
                Ok(ks) => {
                    let opts = PushOptions {
                        auth: Auth::Ks(ks),
                        ..opts.clone()
                    };
                    match opts.protocol {
                        Protocol::Ietf => ietf::push(path, &opts, progress.clone()).await,
                        _ => files::push(path, &opts, progress.clone()).await,
                    }
                }
                Err(e) => Err((e, None)),
            }
        }
        (Protocol::Files, _) => files::push(path, opts, progress.clone()).await,
        (Protocol::Kaltura, _) => kaltura::push(path, opts, progress.clone()).await,
        (Protocol::Ietf, _) => ietf::push(path, opts, progress.clone()).await,
    };
    let result = match outcome {
        Ok(mut r) => {
            r.seconds = started.elapsed().as_secs_f64();
            r
        }
        Err((e, partial)) => PushResult {
            file: display.clone(),
            status: "failed".into(),
            seconds: started.elapsed().as_secs_f64(),
            error: Some(e.to_string()),
            ..partial.unwrap_or_else(|| empty_result(&display))
        },
    };
    progress.finished(&result);
    result
}

pub(crate) fn empty_result(file: &str) -> PushResult {
    PushResult {
        file: file.to_owned(),
        status: "failed".into(),
        size: 0,
        resumed_from: 0,
        bytes_sent: 0,
        sha256: String::new(),
        seconds: 0.0,
        upload_url: None,
        token_id: None,
        entry_id: None,
        error: None,
    }
}
