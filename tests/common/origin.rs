//! A source server for URL-import tests, on loopback port 0: serves generated files
//! with `Range`, `ETag`/`Last-Modified` and `If-Range`, and scripted trouble — cut
//! connections at given offsets, a stall, 5xx answers, a file that changes while it is
//! read, ignored ranges, a required `Authorization`, redirects, a bandwidth cap. It
//! records every request (host, auth, range) and the bytes it sent, and the most bodies
//! it was sending at once.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::Frame;
use hyper::{Request, Response};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

/// One served file and its script.
#[derive(Clone, Default)]
pub struct Source {
    pub seed: u64,
    pub len: u64,
    /// Send an `ETag` (else only `Last-Modified`).
    pub etag: bool,
    /// Cut the connection once the body reaches each of these offsets (once each).
    pub drops: Vec<u64>,
    /// Stop sending at this offset, once, and hold the connection open.
    pub stall_at: Option<u64>,
    /// Answer 503 to this many requests first.
    pub fail_first: u32,
    /// Once a body passes this offset the file is replaced (new content and validator).
    pub change_at: Option<u64>,
    /// Answer every request with the whole file.
    pub ignore_range: bool,
    /// `Authorization` value required (else 401).
    pub require_auth: Option<String>,
    /// Bytes per second of each body.
    pub rate: Option<u64>,
    /// Wait before answering.
    pub delay: Duration,
    /// Answer 302 with this `Location`.
    pub redirect_to: Option<String>,
    /// Omit `Content-Length` (chunked body).
    pub chunked: bool,
    /// Times the file was replaced.
    pub version: u64,
    /// Serve these bytes instead of generated ones.
    pub fixed: Option<Arc<Vec<u8>>>,
}

impl Source {
    /// A file with the given content.
    pub fn fixed(content: &[u8]) -> Self {
        Self {
            len: content.len() as u64,
            etag: true,
            fixed: Some(Arc::new(content.to_vec())),
            ..Default::default()
        }
    }

    pub fn new(seed: u64, len: u64) -> Self {
        Self {
            seed,
            len,
            etag: true,
            ..Default::default()
        }
    }

    fn content_seed(&self) -> u64 {
        self.seed
            .wrapping_add(self.version.wrapping_mul(0x9e37_79b9))
    }

    fn validator(&self) -> String {
        format!("\"v{}-{}\"", self.seed, self.version)
    }

    fn last_modified(&self) -> String {
        httpdate::fmt_http_date(
            std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + self.version * 60),
        )
    }
}

/// One request the origin saw.
#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub host: String,
    pub auth: Option<String>,
    pub range: Option<String>,
    pub if_range: Option<String>,
    pub status: u16,
}

#[derive(Default)]
struct State {
    sources: HashMap<String, Source>,
    hits: Vec<Hit>,
    bytes_sent: u64,
    active: usize,
    max_active: usize,
    /// Most bodies at once per `user` query parameter.
    active_by_tag: HashMap<String, usize>,
    max_by_tag: HashMap<String, usize>,
}

pub struct Origin {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The generated content: 8-byte blocks of a hash of (seed, block index).
pub fn pattern(seed: u64, offset: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 16);
    let mut block = offset / 8;
    let skip = (offset % 8) as usize;
    while out.len() < len + skip {
        let mut z = seed ^ block.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
        block += 1;
    }
    out.drain(..skip);
    out.truncate(len);
    out
}

/// SHA-256 (hex) of `len` bytes of `pattern(seed, …)`.
pub fn pattern_sha256(seed: u64, len: u64) -> String {
    let mut h = Sha256::new();
    let mut pos = 0;
    while pos < len {
        let n = (len - pos).min(1 << 20);
        h.update(pattern(seed, pos, n as usize));
        pos += n;
    }
    super::hex(&h.finalize())
}

/// SHA-256 of a source's content as it is now (after any replacement).
pub fn source_sha256(s: &Source) -> String {
    pattern_sha256(s.content_seed(), s.len)
}

struct ChanBody(mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl http_body::Body for ChanBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.0.poll_recv(cx) {
            Poll::Ready(Some(Ok(b))) => Poll::Ready(Some(Ok(Frame::data(b)))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Origin {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1").await
    }

    /// Listens on `ip` (any loopback address: 127.0.0.2 is a different host).
    pub async fn start_on(ip: &str) -> Self {
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let st = st.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let st = st.clone();
                        async move { Ok::<_, Infallible>(serve(st, req).await) }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, svc)
                        .await;
                });
            }
        });
        Self { addr, state, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn add(&self, path: &str, s: Source) {
        self.state
            .lock()
            .unwrap()
            .sources
            .insert(path.to_owned(), s);
    }

    pub fn source(&self, path: &str) -> Source {
        self.state.lock().unwrap().sources[path].clone()
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.state.lock().unwrap().hits.clone()
    }

    pub fn bytes_sent(&self) -> u64 {
        self.state.lock().unwrap().bytes_sent
    }

    pub fn max_active(&self) -> usize {
        self.state.lock().unwrap().max_active
    }

    /// Most bodies sent at once to requests tagged `?user=TAG`.
    pub fn max_active_of(&self, tag: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .max_by_tag
            .get(tag)
            .copied()
            .unwrap_or(0)
    }
}

fn tag_of(req: &Request<hyper::body::Incoming>) -> String {
    req.uri()
        .query()
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("user=")))
        .unwrap_or("")
        .to_owned()
}

async fn serve(st: Arc<Mutex<State>>, req: Request<hyper::body::Incoming>) -> Response<ChanBody> {
    let path = req.uri().path().to_owned();
    let h = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let hit = Hit {
        path: path.clone(),
        host: h("host").unwrap_or_default(),
        auth: h("authorization"),
        range: h("range"),
        if_range: h("if-range"),
        status: 0,
    };
    let tag = tag_of(&req);
    let source = st.lock().unwrap().sources.get(&path).cloned();
    let (tx, rx) = mpsc::channel(4);
    let mut resp = Response::new(ChanBody(rx));
    let answer = |st: &Arc<Mutex<State>>, mut hit: Hit, status: u16, resp: Response<ChanBody>| {
        hit.status = status;
        st.lock().unwrap().hits.push(hit);
        resp
    };
    let Some(mut src) = source else {
        *resp.status_mut() = http::StatusCode::NOT_FOUND;
        return answer(&st, hit, 404, resp);
    };
    tokio::time::sleep(src.delay).await;
    if let Some(to) = &src.redirect_to {
        *resp.status_mut() = http::StatusCode::FOUND;
        resp.headers_mut().insert("location", to.parse().unwrap());
        return answer(&st, hit, 302, resp);
    }
    if src.require_auth.is_some() && src.require_auth != hit.auth {
        *resp.status_mut() = http::StatusCode::UNAUTHORIZED;
        return answer(&st, hit, 401, resp);
    }
    if src.fail_first > 0 {
        st.lock()
            .unwrap()
            .sources
            .get_mut(&path)
            .unwrap()
            .fail_first -= 1;
        *resp.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
        return answer(&st, hit, 503, resp);
    }
    let validators = [src.validator(), src.last_modified()];
    let range_ok =
        !src.ignore_range && hit.if_range.as_ref().is_none_or(|v| validators.contains(v));
    let start = hit
        .range
        .as_deref()
        .filter(|_| range_ok)
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|n| *n < src.len);
    let hs = resp.headers_mut();
    if src.etag {
        hs.insert("etag", src.validator().parse().unwrap());
    }
    hs.insert("last-modified", src.last_modified().parse().unwrap());
    hs.insert("accept-ranges", "bytes".parse().unwrap());
    let from = start.unwrap_or(0);
    if !src.chunked {
        hs.insert(
            "content-length",
            (src.len - from).to_string().parse().unwrap(),
        );
    }
    let status = if let Some(s) = start {
        hs.insert(
            "content-range",
            format!("bytes {s}-{}/{}", src.len - 1, src.len)
                .parse()
                .unwrap(),
        );
        *resp.status_mut() = http::StatusCode::PARTIAL_CONTENT;
        206
    } else {
        200
    };
    {
        let mut g = st.lock().unwrap();
        g.active += 1;
        g.max_active = g.max_active.max(g.active);
        let n = g.active_by_tag.entry(tag.clone()).or_default();
        *n += 1;
        let n = *n;
        let m = g.max_by_tag.entry(tag.clone()).or_default();
        *m = (*m).max(n);
    }
    let st2 = st.clone();
    let seed = src.content_seed();
    tokio::spawn(async move {
        let mut pos = from;
        let t0 = tokio::time::Instant::now();
        let mut sent_here = 0u64;
        while pos < src.len {
            let mut end = (pos + (64 << 10)).min(src.len);
            let cut = src
                .drops
                .iter()
                .copied()
                .filter(|d| *d > pos && *d <= end)
                .min();
            let stall = src.stall_at.filter(|d| *d > pos && *d <= end);
            if let Some(d) = cut.or(stall) {
                end = d;
            }
            let chunk = match &src.fixed {
                Some(f) => Bytes::copy_from_slice(&f[pos as usize..end as usize]),
                None => Bytes::from(pattern(seed, pos, (end - pos) as usize)),
            };
            if tx.send(Ok(chunk)).await.is_err() {
                break;
            }
            let n = end - pos;
            sent_here += n;
            pos = end;
            {
                let mut g = st2.lock().unwrap();
                g.bytes_sent += n;
                let s = g.sources.get_mut(&path).unwrap();
                if s.change_at.is_some_and(|c| pos >= c) {
                    s.change_at = None;
                    s.version += 1;
                }
                if cut == Some(end) {
                    s.drops.retain(|d| *d != end);
                }
                if stall == Some(end) {
                    s.stall_at = None;
                }
            }
            if let Some(rate) = src.rate.filter(|_| pos < src.len) {
                let due = Duration::from_secs_f64(sent_here as f64 / rate as f64);
                tokio::time::sleep_until(t0 + due).await;
            }
            if cut == Some(end) {
                src.drops.retain(|d| *d != end);
                let _ = tx
                    .send(Err(std::io::Error::other("scripted connection drop")))
                    .await;
                break;
            }
            if stall == Some(end) {
                tokio::select! {
                    _ = tx.closed() => {}
                    _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
                }
                break;
            }
        }
        let mut g = st2.lock().unwrap();
        g.active -= 1;
        *g.active_by_tag.entry(tag).or_default() -= 1;
    });
    answer(&st, hit, status, resp)
}
