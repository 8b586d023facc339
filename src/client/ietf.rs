//! Resumable Uploads for HTTP (IETF draft, interop version 8), as `upgate push
//! --protocol ietf`: a careful creation (no content, `Upload-Complete: ?0`, the length
//! and file name), then sequential `PATCH`es of `application/partial-upload` at
//! `Upload-Offset`, the last with `Upload-Complete: ?1` and `Want-Repr-Digest:
//! sha-256`, whose `Repr-Digest` is checked against the file's own SHA-256. After any
//! failure the client retrieves the offset (`HEAD`, which also ends a request the
//! server still thinks is running) and continues from there. The protocol allows one
//! transfer at a time per upload, so `--parallel` does not apply.

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use upgate_proto::rufh;

use super::http::{self, retrying, step_for, Step};
use super::run::{Failure, Run};
use super::source::{ReadAhead, Source};
use super::{ClientError, Progress, PushOptions, PushResult};

/// The interop version this client speaks.
const VERSION: &str = "8";

/// The upload's state as the server reports it.
struct State {
    offset: u64,
    complete: bool,
}

struct Ctx<'a> {
    opts: &'a PushOptions,
    http: http::Pool,
    progress: Arc<dyn Progress>,
    sent: Arc<AtomicU64>,
    src: Source,
}

fn header<'r>(r: &'r reqwest::Response, name: &str) -> Option<&'r str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

fn state_of(r: &reqwest::Response) -> Option<State> {
    Some(State {
        offset: rufh::parse_sf_u64("Upload-Offset", header(r, "upload-offset")?).ok()?,
        complete: header(r, "upload-complete")
            .and_then(|v| rufh::parse_sf_bool("Upload-Complete", v).ok())
            .unwrap_or(false),
    })
}

/// `Content-Disposition` naming the file (RFC 8187 for any name).
fn disposition(name: &str) -> String {
    let mut enc = String::new();
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => enc.push(b as char),
            _ => enc.push_str(&format!("%{b:02X}")),
        }
    }
    format!("inline; filename*=UTF-8''{enc}")
}

impl Ctx<'_> {
    fn req(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let r = self
            .http
            .client()
            .request(method, url)
            .header("Upload-Draft-Interop-Version", VERSION);
        match &self.opts.auth {
            super::Auth::Ks(ks) => r.header("Authorization", format!("Bearer {ks}")),
            _ => r,
        }
    }

    /// The server's state of the upload, or `None` when it is gone.
    async fn state(&self, url: &str) -> Result<Option<State>, ClientError> {
        retrying(self.opts, &*self.progress, |_| async {
            let rb = self.req(reqwest::Method::HEAD, url);
            let watch = http::Watch::answer();
            let answer = Some((&watch, self.opts.retry.stall_at_offset()));
            match self.http.send(&*self.progress, "head", rb, answer).await {
                Err(e) => Step::unanswered(url, &e),
                Ok(r) if r.status().is_success() => match state_of(&r) {
                    Some(s) => Step::Done(Some(s)),
                    None => Step::Fail(ClientError::Protocol(
                        "offset answer without Upload-Offset".into(),
                    )),
                },
                Ok(r) if matches!(r.status().as_u16(), 404 | 410) => Step::Done(None),
                Ok(r) => step_for(r).await,
            }
        })
        .await
    }

    async fn create(&self) -> Result<String, ClientError> {
        let base = self.opts.url.trim_end_matches('/');
        let url = format!("{base}/files/");
        retrying(self.opts, &*self.progress, |_| async {
            let rb = self
                .req(reqwest::Method::POST, &url)
                .header("Upload-Complete", "?0")
                .header("Upload-Length", self.src.size.to_string())
                .header("Content-Disposition", disposition(&self.src.name()))
                // Asked now, the server keeps the digest as the bytes arrive.
                .header("Want-Repr-Digest", "sha-256=10")
                .header("Content-Length", "0");
            match self.http.send(&*self.progress, "create", rb, None).await {
                Err(e) => Step::unanswered(&url, &e),
                Ok(r) if r.status().as_u16() == 201 => match header(&r, "location") {
                    Some(loc) if loc.starts_with("http") => Step::Done(loc.to_owned()),
                    Some(loc) => Step::Done(format!("{base}{loc}")),
                    None => Step::Fail(ClientError::Protocol(
                        "creation answer without Location".into(),
                    )),
                },
                Ok(r) => step_for(r).await,
            }
        })
        .await
    }

    /// Appends from `offset` to the end; returns the server's `Repr-Digest` (hex) from
    /// the answer that completed the upload.
    async fn append_all(&self, url: &str, mut offset: u64) -> Result<String, ClientError> {
        let size = self.src.size;
        let mut reader = ReadAhead::new(&self.src, self.opts.chunk_size);
        loop {
            let len = self.opts.chunk_size.min(size - offset);
            let last = offset + len == size;
            let data = reader.read(offset, len).await?;
            let start = offset;
            let (end, digest) = retrying(self.opts, &*self.progress, |attempt| {
                let data = data.clone();
                async move {
                    // After a failure the server may hold part of the chunk: ask first.
                    let mut at = start;
                    if attempt > 1 {
                        match self.state(url).await {
                            Ok(Some(s)) if s.complete && s.offset < size => {
                                return Step::Fail(ClientError::Protocol(format!(
                                    "the server completed the upload at {} of {size} bytes",
                                    s.offset
                                )))
                            }
                            Ok(Some(s)) if s.offset < start || s.offset > start + len => {
                                return Step::Done((s.offset, None)); // continue from there
                            }
                            Ok(Some(s)) if s.offset == start + len && !last => {
                                return Step::Done((s.offset, None));
                            }
                            Ok(Some(s)) => at = s.offset,
                            Ok(None) => {
                                return Step::Fail(ClientError::Protocol(
                                    "the upload is gone from the server".into(),
                                ))
                            }
                            Err(e) => return Step::Fail(e),
                        }
                    }
                    // The last append (possibly empty, after a lost answer) completes the
                    // upload and asks for its digest.
                    let body = data.slice((at - start) as usize..);
                    let mut rb = self
                        .req(reqwest::Method::PATCH, url)
                        .header("Content-Type", "application/partial-upload")
                        .header("Upload-Offset", at.to_string())
                        .header("Upload-Complete", if last { "?1" } else { "?0" })
                        .header("Content-Length", body.len().to_string())
                        .timeout(http::timeout_for(body.len() as u64));
                    if last {
                        rb = rb.header("Want-Repr-Digest", "sha-256=10");
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
                        Ok(r) if r.status().is_success() => {
                            let end = state_of(&r).map_or(start + len, |s| s.offset);
                            let digest = header(&r, "repr-digest")
                                .and_then(|d| rufh::parse_sha256_digest(d).ok().flatten())
                                .map(|d| upgate_proto::hex::hex(&d));
                            Step::Done((end, digest))
                        }
                        Ok(r) => step_for(r).await,
                    }
                }
            })
            .await?;
            offset = end;
            self.progress.acknowledged(offset);
            match digest {
                Some(d) => return Ok(d),
                None if last && end == size => {
                    return Err(ClientError::Protocol(
                        "the completing answer has no Repr-Digest".into(),
                    ))
                }
                None => {}
            }
        }
    }
}

/// Uploads `path` with Resumable Uploads for HTTP.
pub async fn push(
    path: &Path,
    opts: &PushOptions,
    progress: Arc<dyn Progress>,
) -> Result<PushResult, Failure> {
    let mut run = Run::start(path, opts, "ietf").map_err(|e| (e, None))?;
    let ctx = Ctx {
        opts,
        http: http::Pool::default(),
        progress: progress.clone(),
        sent: run.sent.clone(),
        src: run.src.clone(),
    };
    // A completed upload re-sends nothing: the empty completing append brings its digest.
    let (c, size) = (&ctx, run.src.size);
    let probe = |u: String| async move {
        let state = c.state(&u).await?;
        Ok(state.map(|s| s.offset.min(size)))
    };
    let (url, offset) = run.upload_url(probe, || c.create()).await?;
    progress.start(&run.file, run.src.size, offset);
    let server = ctx
        .append_all(&url, offset)
        .await
        .map_err(|e| run.fail(e))?;
    run.verified(&server).await
}
