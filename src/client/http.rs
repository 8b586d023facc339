//! HTTP with the client's retry policy: exponential backoff with jitter on network
//! errors, 5xx, 408, 409/423 (the caller re-reads the offset), 429 (honouring
//! `Retry-After`) and 460 (checksum mismatch: send again). Chunk bodies stream in
//! pieces of at most 256 KiB so progress and `--limit-rate` pacing are smooth.
//!
//! A network that went away is told apart from a server that said no: a request whose
//! body made no progress for [`Retry::stall`] (the kernel takes more body bytes only as
//! the server acknowledges earlier ones) is abandoned rather than left to TCP's
//! backed-off retransmission timer, and while connections cannot be made the client
//! probes every second or so ([`Step::Offline`]) for up to [`Retry::patience`], so it
//! continues on a fresh connection within about a second of the network coming back.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use futures_util::StreamExt;

use super::link::Link;
use super::{ClientError, Progress, PushOptions};

/// Retry policy.
#[derive(Debug, Clone)]
pub struct Retry {
    /// Attempts per request before giving up.
    pub max_attempts: u32,
    pub base: Duration,
    pub max: Duration,
    /// A request whose body made no progress for this long is abandoned and resumed on
    /// a fresh connection (`Duration::ZERO`: never).
    pub stall: Duration,
    /// How long the client keeps probing while no connection can be made (or every
    /// request stalls) before giving up; such attempts do not count in `max_attempts`.
    pub patience: Duration,
}

/// The longest wait between two probes while the network is away.
pub const PROBE: Duration = Duration::from_secs(1);

/// How long making a connection may take: a lost SYN is sent again after 1 s, so a
/// network that came back is found within about a second (see [`PROBE`]).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

impl Default for Retry {
    fn default() -> Self {
        // 20 attempts capped at 30 s for servers that refuse; 10 minutes of probing for
        // a network that is away (a laptop lid, a Wi-Fi roam, a server restart).
        Self {
            max_attempts: 20,
            base: Duration::from_millis(250),
            max: Duration::from_secs(30),
            stall: Duration::from_secs(3),
            patience: Duration::from_secs(600),
        }
    }
}

impl Retry {
    /// The stall limits of a chunk written at `start` while the server holds `held`
    /// contiguous bytes. A chunk past them is staged whole or not at all, so abandoning
    /// its body costs every byte it sent: the body gets [`ANSWER_STALLS`] times longer,
    /// and its connection usually recovers by itself while the chunk at the offset,
    /// abandoned and resumed on a fresh connection, keeps the link busy.
    pub fn stall_at(&self, start: u64, held: u64) -> Stall {
        Stall {
            body: match start <= held {
                true => self.stall,
                false => self.stall * ANSWER_STALLS,
            },
            answer: self.stall * ANSWER_STALLS,
        }
    }

    /// The stall limits of a request at the server's offset, or without a body.
    pub fn stall_at_offset(&self) -> Stall {
        self.stall_at(0, 0)
    }

    /// Delay before attempt `n` (1-based), with ±50 % jitter.
    pub fn delay(&self, n: u32) -> Duration {
        let exp = self.base.saturating_mul(1u32 << n.min(16)).min(self.max);
        let mut r = [0u8; 2];
        let _ = getrandom::fill(&mut r);
        let jitter = 0.5 + f64::from(u16::from_le_bytes(r)) / f64::from(u16::MAX);
        exp.mul_f64(jitter)
    }
}

/// Whether a status is worth another attempt.
pub fn retryable(status: u16) -> bool {
    matches!(status, 408 | 409 | 423 | 429 | 460) || (500..600).contains(&status) && status != 501
}

/// `Retry-After` in seconds, if the answer has one.
pub fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A shared HTTP client.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

/// A timeout for sending `bytes`: generous for slow uplinks (32 KiB/s), so only a dead
/// connection hits it.
pub fn timeout_for(bytes: u64) -> Duration {
    Duration::from_secs(30) + Duration::from_secs(bytes / (32 * 1024))
}

/// When a request's body last made progress: the stall watchdog of [`timed`]. The body
/// stream touches it at every piece the connection takes and finishes it at its end;
/// a request without a body is watched from the start as one whose body was sent.
#[derive(Clone)]
pub struct Watch(Arc<WatchState>);

struct WatchState {
    start: Instant,
    /// Milliseconds from `start` to the last progress.
    last: AtomicU64,
    done: AtomicBool,
    /// The client's link is pacing the body (`--limit-rate`, a modeled link).
    pacing: AtomicBool,
}

impl Default for Watch {
    fn default() -> Self {
        Self(Arc::new(WatchState {
            start: Instant::now(),
            last: AtomicU64::new(0),
            done: AtomicBool::new(false),
            pacing: AtomicBool::new(false),
        }))
    }
}

impl Watch {
    /// The watch of a request without a body.
    pub fn answer() -> Self {
        let w = Self::default();
        w.finish();
        w
    }

    fn touch(&self) {
        let ms = self.0.start.elapsed().as_millis() as u64;
        self.0.last.fetch_max(ms, Ordering::Relaxed);
    }

    /// Marks the time the client's own link holds a piece back: touched at both ends.
    fn pace(&self, on: bool) {
        self.touch();
        self.0.pacing.store(on, Ordering::Relaxed);
    }

    fn finish(&self) {
        self.touch();
        self.0.done.store(true, Ordering::Relaxed);
    }

    /// Whether the body made no progress for `stall.body`, or was sent and no answer
    /// came for `stall.answer`.
    fn stalled(&self, stall: Stall) -> bool {
        let idle = self.0.start.elapsed().as_millis() as u64 - self.0.last.load(Ordering::Relaxed);
        let limit = match self.0.done.load(Ordering::Relaxed) {
            false => stall.body,
            true => stall.answer,
        };
        !self.0.pacing.load(Ordering::Relaxed) && idle >= limit.as_millis() as u64
    }
}

/// How long a request may make no progress before it is abandoned: its body (no piece
/// taken), then its answer (none after the body was sent). Zero: never.
#[derive(Debug, Clone, Copy)]
pub struct Stall {
    pub body: Duration,
    pub answer: Duration,
}

/// Once a body is sent, the server commits it before answering (a sync, an object
/// storage part): an answer may take this many stall times before the request is
/// abandoned (the bytes then still count: the next attempt asks the server's offset).
pub const ANSWER_STALLS: u32 = 5;

/// The client's connections, replaced when the network looked gone (a stall, no
/// connection): the requests that follow do not ride on pooled connections that went
/// silent with it (after a roam or a NAT change they never come back).
pub struct Pool(std::sync::Mutex<reqwest::Client>);

impl Default for Pool {
    fn default() -> Self {
        Self(std::sync::Mutex::new(client()))
    }
}

impl Pool {
    pub fn client(&self) -> reqwest::Client {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// [`timed`], starting over with new connections when the network looked gone.
    pub async fn send(
        &self,
        progress: &dyn Progress,
        kind: &str,
        rb: reqwest::RequestBuilder,
        watch: Option<(&Watch, Stall)>,
    ) -> Result<reqwest::Response, SendError> {
        let r = timed(progress, kind, rb, watch).await;
        if r.as_ref().is_err_and(SendError::offline) {
            *self.0.lock().unwrap_or_else(|p| p.into_inner()) = client();
        }
        r
    }
}

/// The largest piece a body is written in: at 1 Mbit/s the connection takes one every
/// 2 s, so a stall (no piece taken for [`Retry::stall`]) is not mistaken for a slow link.
const MAX_PIECE: usize = 256 * 1024;

/// `data` as a stream of pieces, each passed through the link (paced, or cut when the
/// link goes down: the stream then ends with an error and the request is aborted),
/// counted as sent and reported to `watch`.
pub fn counted_stream(
    data: Bytes,
    progress: Arc<dyn Progress>,
    link: Arc<dyn Link>,
    sent: Arc<AtomicU64>,
    watch: Watch,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    enum State {
        More(Bytes),
        Cut,
        Done,
    }
    let piece_len = link.piece().clamp(1, MAX_PIECE);
    futures_util::stream::unfold(State::More(data), move |state| {
        let (progress, link, sent) = (progress.clone(), link.clone(), sent.clone());
        let watch = watch.clone();
        async move {
            watch.touch();
            match state {
                State::Done => {
                    watch.finish();
                    None
                }
                State::Cut => {
                    // Give the connection a moment to flush what got through, then cut.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    let e = std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "link down");
                    Some((Err(e), State::Done))
                }
                State::More(mut rest) => {
                    if rest.is_empty() {
                        watch.finish();
                        return None;
                    }
                    let mut piece = rest.split_to(rest.len().min(piece_len));
                    // The link's own pacing is not a stall.
                    watch.pace(true);
                    let through = link.transmit(piece.len() as u64).await as usize;
                    watch.pace(false);
                    let next = if through < piece.len() {
                        piece.truncate(through);
                        State::Cut
                    } else {
                        State::More(rest)
                    };
                    progress.sent(piece.len() as u64);
                    sent.fetch_add(piece.len() as u64, Ordering::Relaxed);
                    Some((Ok(piece), next))
                }
            }
        }
    })
    .filter(|r| futures_util::future::ready(!matches!(r, Ok(b) if b.is_empty())))
}

/// A request body that streams `data` through the link, counting sent bytes.
pub fn body(
    data: Bytes,
    progress: Arc<dyn Progress>,
    link: Arc<dyn Link>,
    sent: Arc<AtomicU64>,
    watch: Watch,
) -> reqwest::Body {
    reqwest::Body::wrap_stream(counted_stream(data, progress, link, sent, watch))
}

/// Why a request got no answer.
#[derive(Debug)]
pub enum SendError {
    Http(reqwest::Error),
    /// No progress (body or answer) within the request's [`Stall`] limits: abandoned.
    Stalled,
}

impl SendError {
    /// Whether the network (not the server) is the likely cause: no connection could be
    /// made (other than refused: the host answered, nothing listens there yet), or the
    /// request stopped moving. The client then probes instead of backing off.
    pub fn offline(&self) -> bool {
        match self {
            Self::Http(e) => e.is_connect() && !refused(e),
            Self::Stalled => true,
        }
    }
}

/// Whether a connection was refused (somewhere in the error's sources).
fn refused(e: &reqwest::Error) -> bool {
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
        }
        src = s.source();
    }
    false
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Http(e) => {
                write!(f, "{e}")?;
                let mut src = std::error::Error::source(e);
                while let Some(s) = src {
                    write!(f, ": {s}")?;
                    src = s.source();
                }
                Ok(())
            }
            Self::Stalled => write!(f, "the connection stopped moving: abandoned"),
        }
    }
}

impl From<reqwest::Error> for SendError {
    fn from(e: reqwest::Error) -> Self {
        Self::Http(e)
    }
}

/// Sends a request and reports its kind, status and duration to `progress`. With a
/// `watch` on its body, the request is abandoned once the body made no progress for
/// `stall` (never when `stall` is zero).
pub async fn timed(
    progress: &dyn Progress,
    kind: &str,
    rb: reqwest::RequestBuilder,
    watch: Option<(&Watch, Stall)>,
) -> Result<reqwest::Response, SendError> {
    let t = Instant::now();
    let send = rb.send();
    let r = match watch {
        Some((w, stall)) if !stall.body.is_zero() => {
            tokio::pin!(send);
            let tick = (stall.body / 4).max(Duration::from_millis(50));
            loop {
                tokio::select! {
                    r = &mut send => break r.map_err(SendError::from),
                    _ = tokio::time::sleep(tick) => if w.stalled(stall) {
                        break Err(SendError::Stalled);
                    },
                }
            }
        }
        _ => send.await.map_err(SendError::from),
    };
    let status = r.as_ref().map_or(0, |r| r.status().as_u16());
    progress.request(kind, status, t.elapsed().as_secs_f64());
    r
}

/// Classifies a send error.
pub fn network(url: &str, e: &SendError) -> ClientError {
    ClientError::Network {
        url: url.to_owned(),
        why: e.to_string(),
    }
}

/// One attempt's outcome.
pub enum Step<T> {
    Done(T),
    /// Try again (after `after`, or the policy's backoff).
    Retry {
        why: String,
        after: Option<Duration>,
    },
    /// The network is away: probe again soon, for up to [`Retry::patience`].
    Offline {
        why: String,
    },
    Fail(ClientError),
}

impl<T> Step<T> {
    /// The same step with its result passed through `f`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Step<U> {
        match self {
            Step::Done(t) => Step::Done(f(t)),
            Step::Retry { why, after } => Step::Retry { why, after },
            Step::Offline { why } => Step::Offline { why },
            Step::Fail(e) => Step::Fail(e),
        }
    }

    /// The step after a request that got no answer.
    pub fn unanswered(url: &str, e: &SendError) -> Self {
        let why = network(url, e).to_string();
        if e.offline() {
            Step::Offline { why }
        } else {
            Step::Retry { why, after: None }
        }
    }
}

/// Runs `f` until it is done, fails, or the attempts run out. Each attempt pays the
/// link's round trip; waits between attempts go through the link's clock.
pub async fn retrying<T, F, Fut>(
    opts: &PushOptions,
    progress: &dyn Progress,
    mut f: F,
) -> Result<T, ClientError>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Step<T>>,
{
    let retry = &opts.retry;
    let mut attempt = 1;
    // Attempts the server answered (or refused) count against `max_attempts`; a streak
    // of offline ones against `patience`.
    let mut counted = 0;
    let mut offline_since: Option<Instant> = None;
    loop {
        opts.link.round_trip().await;
        let (why, d) = match f(attempt).await {
            Step::Done(t) => return Ok(t),
            Step::Fail(e) => return Err(e),
            Step::Retry { why, after } => {
                offline_since = None;
                counted += 1;
                if counted >= retry.max_attempts {
                    return Err(ClientError::GaveUp {
                        attempts: attempt,
                        last: why,
                    });
                }
                let d = after.unwrap_or_else(|| retry.delay(counted));
                (why, d)
            }
            Step::Offline { why } => {
                let since = *offline_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= retry.patience {
                    return Err(ClientError::GaveUp {
                        attempts: attempt,
                        last: why,
                    });
                }
                (why, retry.delay(attempt).min(PROBE))
            }
        };
        progress.retrying(&why, d);
        opts.link.sleep(d).await;
        attempt += 1;
    }
}

/// The step for an HTTP answer that is not a success: retry or fail.
pub async fn step_for<T>(resp: reqwest::Response) -> Step<T> {
    let status = resp.status().as_u16();
    let after = retry_after(&resp);
    let body: String = resp
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    if retryable(status) {
        Step::Retry {
            why: format!("HTTP {status} {}", body.trim()),
            after,
        }
    } else {
        Step::Fail(ClientError::Http {
            status,
            body: body.trim().to_owned(),
        })
    }
}

/// How many times a filled upload's digest is asked for before giving up (the waits
/// between them add up to about a minute).
const DIGEST_ASKS: u32 = 8;

/// The SHA-256 (hex) the server reports for a completed upload: `HEAD` with
/// `Want-Digest: sha-256`, answered with `Digest: sha-256=BASE64`. `head` builds the
/// request (with whatever authentication the protocol uses).
pub async fn server_sha256(
    opts: &PushOptions,
    progress: &dyn Progress,
    url: &str,
    head: impl Fn() -> reqwest::RequestBuilder,
) -> Result<String, ClientError> {
    use base64::Engine;
    let head = &head;
    retrying(opts, progress, |attempt| async move {
        let rb = head().header("Want-Digest", "sha-256");
        match timed(progress, "digest", rb, None).await {
            Err(e) => Step::unanswered(url, &e),
            Ok(r) if r.status().as_u16() == 200 => {
                let d = r
                    .headers()
                    .get("digest")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("sha-256="))
                    .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
                match d {
                    Some(d) => Step::Done(upgate_proto::hex::hex(&d)),
                    // A server may send it only once the upload is assembled, which
                    // can take a while behind slow storage: asked again for about a
                    // minute (a server that never sends one is not waited for longer).
                    None if attempt < DIGEST_ASKS => Step::Retry {
                        why: "server did not send a Digest (upload still being assembled?)".into(),
                        after: None,
                    },
                    None => {
                        Step::Fail(ClientError::Protocol("server did not send a Digest".into()))
                    }
                }
            }
            Ok(r) => step_for(r).await,
        }
    })
    .await
}
