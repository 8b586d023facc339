//! Kaltura protocol: a session (given, or started with a partner secret),
//! `uploadToken.add`, then positional chunks (`resume`, `resumeAt`) — idempotent, so a
//! chunk whose answer was lost is simply sent again — the first alone, the rest in
//! parallel and the final one once they are acknowledged (retried while the server
//! answers `UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE`). Resume reads `uploadToken.get`. With
//! `create_entry`, `media.add` + `media.addContent` make a media entry.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use upgate_proto::form::form_encode;
use upgate_proto::kaltura::errors::ErrorCode;

use super::http::{self, retrying, Step};
use super::resume::Saved;
use super::run::{Failure, Run};
use super::{Auth, ClientError, Progress, PushOptions, PushResult};

/// Kaltura error codes worth another attempt.
const RETRY_CODES: [ErrorCode; 4] = [
    ErrorCode::UploadTokenCannotMatchExpectedSize,
    ErrorCode::LockTimedOut,
    ErrorCode::ServiceUnavailable,
    ErrorCode::RequestRateExceeded,
];

struct Api<'a> {
    opts: &'a PushOptions,
    http: http::Pool,
    progress: Arc<dyn Progress>,
    base: String,
    sent: Arc<AtomicU64>,
    /// The contiguous size the server last reported (for [`http::Retry::stall_at`]).
    held: AtomicU64,
}

/// `uploadedFileSize` of an upload token (a string in Kaltura's JSON), 0 when absent.
fn uploaded_size(v: &serde_json::Value) -> u64 {
    v["uploadedFileSize"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn kaltura_error(v: &serde_json::Value) -> Option<(String, String)> {
    (v["objectType"] == "KalturaAPIException").then(|| {
        (
            v["code"].as_str().unwrap_or("").to_owned(),
            v["message"].as_str().unwrap_or("").to_owned(),
        )
    })
}

impl Api<'_> {
    /// One API call with form parameters (format=1), retried on network errors, 5xx and
    /// retryable Kaltura codes.
    async fn call(
        &self,
        service_action: &str,
        params: &[(&str, String)],
    ) -> Result<serde_json::Value, ClientError> {
        let url = format!("{}/api_v3/service/{service_action}", self.base);
        let kind = service_action.replace("/action/", ".");
        let mut form = vec![("format".to_owned(), "1".to_owned())];
        form.extend(params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect();
        let body = body.join("&");
        retrying(self.opts, &*self.progress, |_| {
            let body = body.clone();
            let url = url.clone();
            let kind = kind.clone();
            async move {
                let rb = self
                    .http
                    .client()
                    .post(&url)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .timeout(Duration::from_secs(120))
                    .body(body);
                let watch = http::Watch::answer();
                let answer = Some((&watch, self.opts.retry.stall_at_offset()));
                let r = self.http.send(&*self.progress, &kind, rb, answer).await;
                self.answer(&url, r).await
            }
        })
        .await
    }

    async fn answer(
        &self,
        url: &str,
        r: Result<reqwest::Response, http::SendError>,
    ) -> Step<serde_json::Value> {
        let r = match r {
            Err(e) => return Step::unanswered(url, &e),
            Ok(r) => r,
        };
        if r.status().as_u16() != 200 {
            return http::step_for(r).await;
        }
        let after = http::retry_after(&r);
        let text = r.text().await.unwrap_or_default();
        let v: serde_json::Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(_) => {
                return Step::Fail(ClientError::Protocol(format!(
                    "not a Kaltura JSON answer: {text:.200}"
                )))
            }
        };
        match kaltura_error(&v) {
            Some((code, message)) if RETRY_CODES.iter().any(|c| c.name() == code) => Step::Retry {
                why: format!("{code}: {message}"),
                after,
            },
            Some((code, message)) => Step::Fail(ClientError::Kaltura { code, message }),
            None => Step::Done(v),
        }
    }

    /// `uploadToken.upload` of one chunk starting at `start` (multipart: fields, then
    /// `fileData`); returns the contiguous size the server then holds. A retry first
    /// asks `uploadToken.get`: bytes of this chunk the server already holds (a cut
    /// request keeps what arrived) are not sent again.
    async fn upload(
        &self,
        ks: &str,
        token: &str,
        data: Bytes,
        first: bool,
        final_chunk: bool,
        start: u64,
    ) -> Result<u64, ClientError> {
        let end = start + data.len() as u64;
        retrying(self.opts, &*self.progress, |attempt| {
            let data = data.clone();
            async move {
                let mut at = start;
                if attempt > 1 {
                    let got = self
                        .call(
                            "uploadtoken/action/get",
                            &[("ks", ks.to_owned()), ("uploadTokenId", token.to_owned())],
                        )
                        .await;
                    let held = match got {
                        Ok(v) => self.held_from(&v),
                        Err(e) => return Step::Fail(e),
                    };
                    if held >= end && !final_chunk {
                        return Step::Done(held);
                    }
                    if held > start {
                        at = held.min(end); // a final chunk may become empty: it still finalizes
                    }
                }
                let body = data.slice((at - start) as usize..);
                self.upload_once(ks, token, body, !first || at > 0, final_chunk, at)
                    .await
                    .map(|v| self.held_from(&v))
            }
        })
        .await
    }

    /// `uploadedFileSize` of an answer, remembered as what the server holds.
    fn held_from(&self, v: &serde_json::Value) -> u64 {
        let held = uploaded_size(v);
        self.held.fetch_max(held, Ordering::SeqCst);
        held
    }

    /// One attempt of `uploadToken.upload`.
    async fn upload_once(
        &self,
        ks: &str,
        token: &str,
        data: Bytes,
        resume: bool,
        final_chunk: bool,
        resume_at: u64,
    ) -> Step<serde_json::Value> {
        let url = format!("{}/api_v3/service/uploadtoken/action/upload", self.base);
        let form = ChunkForm::new(ks, token, resume, final_chunk, resume_at);
        let (head, tail) = (form.head.clone(), form.tail.clone());
        let total = head.len() + data.len() + tail.len();
        let watch = http::Watch::default();
        let parts = stream_parts(
            head,
            data,
            tail,
            self.progress.clone(),
            self.opts.link.clone(),
            self.sent.clone(),
            watch.clone(),
        );
        let rb = self
            .http
            .client()
            .post(&url)
            .header("Content-Type", form.content_type)
            .header("Content-Length", total.to_string())
            .timeout(http::timeout_for(total as u64))
            .body(parts);
        let held = self.held.load(Ordering::SeqCst);
        let stall = Some((&watch, self.opts.retry.stall_at(resume_at, held)));
        let r = self
            .http
            .send(&*self.progress, "uploadtoken.upload", rb, stall)
            .await;
        self.answer(&url, r).await
    }
}

/// The `uploadToken.upload` multipart form around one chunk's bytes: the fields, then
/// the `fileData` part (`head`, the bytes, `tail`).
pub struct ChunkForm {
    pub content_type: String,
    pub head: Bytes,
    pub tail: Bytes,
}

impl ChunkForm {
    pub fn new(ks: &str, token: &str, resume: bool, final_chunk: bool, resume_at: u64) -> Self {
        let boundary = format!("upgate{}", crate::model::new_id());
        let mut head = String::new();
        for (k, v) in [
            ("format", "1".to_owned()),
            ("ks", ks.to_owned()),
            ("uploadTokenId", token.to_owned()),
            ("resume", resume.to_string()),
            ("finalChunk", final_chunk.to_string()),
            ("resumeAt", resume_at.to_string()),
        ] {
            head.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
            ));
        }
        head.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"fileData\"; filename=\"chunk\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        ));
        Self {
            content_type: format!("multipart/form-data; boundary={boundary}"),
            head: Bytes::from(head),
            tail: Bytes::from(format!("\r\n--{boundary}--\r\n")),
        }
    }
}

/// head ‖ counted, paced file bytes ‖ tail, as one streaming body.
fn stream_parts(
    head: Bytes,
    data: Bytes,
    tail: Bytes,
    progress: Arc<dyn Progress>,
    link: Arc<dyn super::link::Link>,
    sent: Arc<AtomicU64>,
    watch: http::Watch,
) -> reqwest::Body {
    use futures_util::StreamExt;
    let once = |b: Bytes| futures_util::stream::iter([Ok::<Bytes, std::io::Error>(b)]);
    let file = http::counted_stream(data, progress, link, sent, watch);
    reqwest::Body::wrap_stream(once(head).chain(file).chain(once(tail)))
}

impl<'a> Api<'a> {
    fn new(opts: &'a PushOptions, progress: Arc<dyn Progress>, sent: Arc<AtomicU64>) -> Self {
        Api {
            opts,
            http: http::Pool::default(),
            progress,
            base: opts.url.trim_end_matches('/').to_owned(),
            sent,
            held: AtomicU64::new(0),
        }
    }

    /// `session.start` with the partner secret of `--partner-id/--secret/--user`.
    async fn start_session(&self) -> Result<String, ClientError> {
        let Auth::Secret {
            partner_id,
            secret,
            user,
        } = &self.opts.auth
        else {
            return Err(ClientError::Protocol("no partner secret given".into()));
        };
        let v = self
            .call(
                "session/action/start",
                &[
                    ("partnerId", partner_id.to_string()),
                    ("secret", secret.clone()),
                    ("userId", user.clone()),
                    ("type", "0".into()),
                ],
            )
            .await?;
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Protocol("session.start gave no KS".into()))
    }
}

/// API v3 calls for commands other than push (`upgate import`): JSON answers, push's
/// retries, the session given or started from the partner secret.
pub struct Calls<'a> {
    api: Api<'a>,
    ks: String,
}

impl<'a> Calls<'a> {
    pub async fn open(opts: &'a PushOptions) -> Result<Self, ClientError> {
        let api = Api::new(opts, Arc::new(super::NoProgress), Arc::default());
        let ks = match &opts.auth {
            Auth::Ks(k) => k.clone(),
            Auth::Secret { .. } => api.start_session().await?,
            Auth::None => {
                return Err(ClientError::Protocol(
                    "a session is needed: --ks, or --partner-id with --secret".into(),
                ))
            }
        };
        Ok(Self { api, ks })
    }

    /// The session the calls carry.
    pub fn ks(&self) -> &str {
        &self.ks
    }

    /// One call with the session added.
    pub async fn call(
        &self,
        service_action: &str,
        params: &[(&str, String)],
    ) -> Result<serde_json::Value, ClientError> {
        let mut p = vec![("ks", self.ks.clone())];
        p.extend(params.iter().cloned());
        self.api.call(service_action, &p).await
    }
}

/// A KS from the partner secret in `opts` (for the native protocol's Bearer header).
pub(crate) async fn start_session(
    opts: &PushOptions,
    progress: Arc<dyn Progress>,
) -> Result<String, ClientError> {
    Api::new(opts, progress, Arc::default())
        .start_session()
        .await
}

/// Uploads `path` with the Kaltura protocol.
pub async fn push(
    path: &Path,
    opts: &PushOptions,
    progress: Arc<dyn Progress>,
) -> Result<PushResult, Failure> {
    let mut run = Run::start(path, opts, "kaltura").map_err(|e| (e, None))?;
    let api = Api::new(opts, progress.clone(), run.sent.clone());
    let ks = match &opts.auth {
        Auth::Ks(k) => k.clone(),
        Auth::Secret { .. } => api.start_session().await.map_err(|e| run.fail(e))?,
        Auth::None => {
            return Err(run.fail(ClientError::Protocol(
                "the Kaltura protocol needs --ks or --partner-id/--secret/--user".into(),
            )))
        }
    };
    // Resume: the remembered token, as the server sees it now.
    let mut token = None;
    let mut offset = 0u64;
    let mut complete = false;
    if let Some(t) = run.saved().token_id {
        match api
            .call(
                "uploadtoken/action/get",
                &[("ks", ks.clone()), ("uploadTokenId", t.clone())],
            )
            .await
        {
            Ok(v) => {
                offset = uploaded_size(&v);
                complete = v["status"].as_i64().is_some_and(|s| s >= 2);
                token = Some(t);
            }
            Err(ClientError::Kaltura { code, .. })
                if code == ErrorCode::UploadTokenNotFound.name() =>
            {
                run.forget()
            }
            Err(e) => return Err(run.fail(e)),
        }
    }
    let token = match token {
        Some(t) => t,
        None => {
            let v = api
                .call(
                    "uploadtoken/action/add",
                    &[
                        ("ks", ks.clone()),
                        ("uploadToken:fileName", run.src.name()),
                        ("uploadToken:fileSize", run.src.size.to_string()),
                    ],
                )
                .await
                .map_err(|e| run.fail(e))?;
            let t = v["id"].as_str().unwrap_or("").to_owned();
            if t.is_empty() {
                return Err(run.fail(ClientError::Protocol("uploadToken.add gave no id".into())));
            }
            run.remember(&Saved {
                upload_url: None,
                token_id: Some(t.clone()),
            });
            t
        }
    };
    run.result.token_id = Some(token.clone());
    run.result.upload_url = Some(format!("{}/files/{token}", api.base));
    run.result.resumed_from = offset;
    progress.start(&run.file, run.src.size, offset);
    if !complete {
        let size = run.src.size;
        let chunk = opts.chunk_size.max(1);
        let send = |start: u64| {
            let (api, src, ks, token) = (&api, &run.src, &ks, &token);
            async move {
                let len = chunk.min(size - start);
                let data = src.read(start, len).await?;
                let last = start + len >= size;
                // The very first chunk (re)starts the file; every other one is positional.
                let acked = api.upload(ks, token, data, start == 0, last, start).await?;
                api.progress.acknowledged(acked);
                Ok::<u64, ClientError>(acked)
            }
        };
        let mut next = offset;
        if next == 0 {
            send(0).await.map_err(|e| run.fail(e))?; // chunk 0 alone (creates the file)
            next = chunk.min(size.max(1));
        }
        let starts: Vec<u64> = (next..size).step_by(chunk as usize).collect();
        if let Some((&final_start, middle)) = starts.split_last() {
            let queue = std::sync::Mutex::new(
                middle
                    .iter()
                    .copied()
                    .collect::<std::collections::VecDeque<u64>>(),
            );
            let worker = || async {
                loop {
                    let Some(s) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
                    else {
                        return Ok(());
                    };
                    send(s).await?;
                }
            };
            let workers: Vec<_> = (0..opts.parallel.max(1)).map(|_| worker()).collect();
            // The final chunk goes last, once the others are acknowledged: sent early,
            // the server would hold it (its answer could not tell a stall from the hold).
            for r in futures_util::future::join_all(workers).await {
                r.map_err(|e: ClientError| run.fail(e))?;
            }
            send(final_start).await.map_err(|e| run.fail(e))?;
        }
    }
    if let Some(name) = &opts.create_entry {
        let e = api
            .call(
                "media/action/add",
                &[
                    ("ks", ks.clone()),
                    ("entry:name", name.clone()),
                    ("entry:mediaType", "1".into()),
                ],
            )
            .await
            .map_err(|e| run.fail(e))?;
        let entry = e["id"].as_str().unwrap_or("").to_owned();
        api.call(
            "media/action/addContent",
            &[
                ("ks", ks.clone()),
                ("entryId", entry.clone()),
                (
                    "resource:objectType",
                    "KalturaUploadedFileTokenResource".into(),
                ),
                ("resource:token", token.clone()),
            ],
        )
        .await
        .map_err(|e| run.fail(e))?;
        run.result.entry_id = Some(entry);
    }
    run.verified_by(verify_digest(&api, &token, &ks)).await
}

async fn verify_digest(api: &Api<'_>, token: &str, ks: &str) -> Result<String, ClientError> {
    let url = format!("{}/files/{token}", api.base);
    http::server_sha256(api.opts, &*api.progress, &url, || {
        api.http
            .client()
            .head(&url)
            .header("Tus-Resumable", "1.0.0")
            .header("Authorization", format!("Bearer {ks}"))
    })
    .await
}
