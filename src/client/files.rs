//! Native protocol: tus creation, then either sequential `PATCH` (with per-chunk
//! `Upload-Checksum: sha256`) or parallel ranged `PUT`s. After any failure the client
//! asks the server for its offset and continues from there, so no acknowledged byte is
//! sent twice. The whole file is verified with `Want-Digest: sha-256`.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use base64::Engine;
use sha2::Digest;

use super::http::{self, retrying, step_for, Step};
use super::run::{Failure, Run};
use super::source::{ReadAhead, Source};
use super::{ClientError, Progress, PushOptions, PushResult};

struct Ctx<'a> {
    opts: &'a PushOptions,
    http: http::Pool,
    progress: Arc<dyn Progress>,
    sent: Arc<AtomicU64>,
    src: Source,
}

fn auth_header(opts: &PushOptions) -> Option<String> {
    match &opts.auth {
        super::Auth::Ks(ks) => Some(format!("Bearer {ks}")),
        _ => None,
    }
}

impl Ctx<'_> {
    fn req(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let r = self
            .http
            .client()
            .request(method, url)
            .header("Tus-Resumable", "1.0.0");
        match auth_header(self.opts) {
            Some(a) => r.header("Authorization", a),
            None => r,
        }
    }

    /// The offset of an upload that must still be there (a retry mid-upload).
    async fn live_offset(&self, url: &str) -> Result<u64, ClientError> {
        self.offset(url)
            .await?
            .ok_or_else(|| ClientError::Protocol("the upload is gone from the server".into()))
    }

    /// The server's offset, or `None` when the upload is gone.
    async fn offset(&self, url: &str) -> Result<Option<u64>, ClientError> {
        retrying(self.opts, &*self.progress, |_| async {
            let rb = self.req(reqwest::Method::HEAD, url);
            let watch = http::Watch::answer();
            let answer = Some((&watch, self.opts.retry.stall_at_offset()));
            match self.http.send(&*self.progress, "head", rb, answer).await {
                Err(e) => Step::unanswered(url, &e),
                Ok(r) if r.status().as_u16() == 200 => {
                    let off = r
                        .headers()
                        .get("upload-offset")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse().ok());
                    match off {
                        Some(o) => Step::Done(Some(o)),
                        None => Step::Fail(ClientError::Protocol(
                            "HEAD answer without Upload-Offset".into(),
                        )),
                    }
                }
                Ok(r) if matches!(r.status().as_u16(), 404 | 410) => Step::Done(None),
                Ok(r) => step_for(r).await,
            }
        })
        .await
    }

    async fn create(&self) -> Result<String, ClientError> {
        let url = format!("{}/files/", self.opts.url.trim_end_matches('/'));
        let meta = format!(
            "filename {}",
            base64::engine::general_purpose::STANDARD.encode(self.src.name())
        );
        retrying(self.opts, &*self.progress, |_| async {
            let rb = self
                .req(reqwest::Method::POST, &url)
                .header("Upload-Length", self.src.size.to_string())
                .header("Upload-Metadata", meta.clone())
                // Asked now, the server keeps the digest as the bytes arrive.
                .header("Want-Digest", "sha-256");
            let r = self.http.send(&*self.progress, "create", rb, None).await;
            match r {
                Err(e) => Step::unanswered(&url, &e),
                Ok(r) if r.status().as_u16() == 201 => {
                    match r.headers().get("location").and_then(|v| v.to_str().ok()) {
                        Some(loc) if loc.starts_with("http") => Step::Done(loc.to_owned()),
                        Some(loc) => {
                            Step::Done(format!("{}{loc}", self.opts.url.trim_end_matches('/')))
                        }
                        None => Step::Fail(ClientError::Protocol(
                            "creation answer without Location".into(),
                        )),
                    }
                }
                Ok(r) => step_for(r).await,
            }
        })
        .await
    }

    /// Sequential PATCHes from `offset` to the end.
    async fn patch_all(&self, url: &str, mut offset: u64) -> Result<(), ClientError> {
        let size = self.src.size;
        let mut reader = ReadAhead::new(&self.src, self.opts.chunk_size);
        while offset < size {
            let len = self.opts.chunk_size.min(size - offset);
            let data = reader.read(offset, len).await?;
            let sum = self.opts.checksum.then(|| {
                format!(
                    "sha256 {}",
                    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&data))
                )
            });
            let start = offset;
            let next = retrying(self.opts, &*self.progress, |attempt| {
                let data = data.clone();
                let sum = sum.clone();
                async move {
                    // After a failure the server may hold part of the chunk: ask first.
                    let at = if attempt > 1 {
                        match self.live_offset(url).await {
                            Ok(o) => o,
                            Err(e) => return Step::Fail(e),
                        }
                    } else {
                        start
                    };
                    if at >= start + data.len() as u64 || at < start {
                        return Step::Done(at); // moved on (or back): continue from the server's offset
                    }
                    let body = data.slice((at - start) as usize..);
                    let mut rb = self
                        .req(reqwest::Method::PATCH, url)
                        .header("Upload-Offset", at.to_string())
                        .header("Content-Type", "application/offset+octet-stream")
                        .header("Content-Length", body.len().to_string())
                        .timeout(http::timeout_for(body.len() as u64));
                    if at == start {
                        if let Some(s) = &sum {
                            rb = rb.header("Upload-Checksum", s.clone());
                        }
                    }
                    let watch = http::Watch::default();
                    let rb = rb.body(http::body(
                        body,
                        self.progress.clone(),
                        self.opts.link.clone(),
                        self.sent.clone(),
                        watch.clone(),
                    ));
                    let stall = Some((&watch, self.opts.retry.stall_at_offset()));
                    match self.http.send(&*self.progress, "patch", rb, stall).await {
                        Err(e) => Step::unanswered(url, &e),
                        Ok(r) if r.status().as_u16() == 204 => {
                            let o = r
                                .headers()
                                .get("upload-offset")
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| v.parse().ok());
                            Step::Done(o.unwrap_or(start + data.len() as u64))
                        }
                        Ok(r) => step_for(r).await,
                    }
                }
            })
            .await?;
            offset = next;
            self.progress.acknowledged(offset);
        }
        Ok(())
    }

    /// Parallel ranged PUTs of every chunk from `offset`.
    async fn put_all(&self, url: &str, offset: u64) -> Result<(), ClientError> {
        let size = self.src.size;
        let chunk = self.opts.chunk_size;
        let next = AtomicU64::new(offset);
        let acked = Arc::new(AtomicU64::new(offset));
        let worker = || async {
            loop {
                let start = next.fetch_add(chunk, Ordering::SeqCst);
                if start >= size {
                    return Ok::<(), ClientError>(());
                }
                let len = chunk.min(size - start);
                let data = self.src.read(start, len).await?;
                retrying(self.opts, &*self.progress, |attempt| {
                    let data = data.clone();
                    let held = acked.load(Ordering::SeqCst);
                    async move {
                        // After a failure the server may hold the head of this chunk (a
                        // cut chunk at its offset keeps what arrived): ask first.
                        let mut at = start;
                        if attempt > 1 && start <= held {
                            match self.live_offset(url).await {
                                Ok(o) if o >= start + len => return Step::Done(o),
                                Ok(o) => at = at.max(o),
                                Err(e) => return Step::Fail(e),
                            }
                        }
                        let body = data.slice((at - start) as usize..);
                        let watch = http::Watch::default();
                        let rb = self
                            .req(reqwest::Method::PUT, url)
                            .header(
                                "Content-Range",
                                format!("bytes {at}-{}/{size}", start + len - 1),
                            )
                            .header("Content-Length", body.len().to_string())
                            .timeout(http::timeout_for(body.len() as u64))
                            .body(http::body(
                                body,
                                self.progress.clone(),
                                self.opts.link.clone(),
                                self.sent.clone(),
                                watch.clone(),
                            ));
                        let stall = Some((&watch, self.opts.retry.stall_at(at, held)));
                        match self.http.send(&*self.progress, "put", rb, stall).await {
                            Err(e) => Step::unanswered(url, &e),
                            Ok(r) if matches!(r.status().as_u16(), 201 | 308) => {
                                let prefix = match r.status().as_u16() {
                                    201 => size,
                                    _ => r
                                        .headers()
                                        .get("range")
                                        .and_then(|v| v.to_str().ok())
                                        .and_then(|v| v.rsplit('-').next())
                                        .and_then(|v| v.parse::<u64>().ok())
                                        .map_or(0, |last| last + 1),
                                };
                                Step::Done(prefix)
                            }
                            Ok(r) => step_for(r).await,
                        }
                    }
                })
                .await
                .map(|prefix| {
                    let now = acked.fetch_max(prefix, Ordering::SeqCst).max(prefix);
                    self.progress.acknowledged(now);
                })?;
            }
        };
        let workers: Vec<_> = (0..self.opts.parallel.max(1)).map(|_| worker()).collect();
        for r in futures_util::future::join_all(workers).await {
            r?;
        }
        Ok(())
    }

    /// The server's SHA-256 of the completed upload (hex).
    async fn server_sha256(&self, url: &str) -> Result<String, ClientError> {
        http::server_sha256(self.opts, &*self.progress, url, || {
            self.req(reqwest::Method::HEAD, url)
        })
        .await
    }
}

/// Uploads `path` over the native protocol.
pub async fn push(
    path: &Path,
    opts: &PushOptions,
    progress: Arc<dyn Progress>,
) -> Result<PushResult, Failure> {
    let mut run = Run::start(path, opts, "files").map_err(|e| (e, None))?;
    let ctx = Ctx {
        opts,
        http: http::Pool::default(),
        progress: progress.clone(),
        sent: run.sent.clone(),
        src: run.src.clone(),
    };
    let c = &ctx;
    let (url, offset) = run
        .upload_url(|u| async move { c.offset(&u).await }, || c.create())
        .await?;
    progress.start(&run.file, run.src.size, offset);
    let sent = if opts.parallel <= 1 {
        ctx.patch_all(&url, offset).await
    } else {
        ctx.put_all(&url, offset).await
    };
    sent.map_err(|e| run.fail(e))?;
    run.verified_by(ctx.server_sha256(&url)).await
}
