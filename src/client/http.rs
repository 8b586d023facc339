//! HTTP with the client's retry policy: exponential backoff with jitter on network
//! errors, 5xx, 408, 409/423 (the caller re-reads the offset), 429 (honouring
//! `Retry-After`) and 460 (checksum mismatch: send again). Chunk bodies stream in
//! 64 KiB pieces so progress and `--limit-rate` pacing are smooth.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

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
}

impl Default for Retry {
    fn default() -> Self {
        // 20 attempts capped at 30 s: rides out ~8 minutes of outage (a laptop lid,
        // a Wi-Fi roam, a server restart) before giving up.
        Self {
            max_attempts: 20,
            base: Duration::from_millis(250),
            max: Duration::from_secs(30),
        }
    }
}

impl Retry {
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
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

/// A timeout for sending `bytes`: generous for slow uplinks (32 KiB/s), so only a dead
/// connection hits it.
pub fn timeout_for(bytes: u64) -> Duration {
    Duration::from_secs(30) + Duration::from_secs(bytes / (32 * 1024))
}

/// `data` as a stream of pieces, each passed through the link (paced, or cut when the
/// link goes down: the stream then ends with an error and the request is aborted) and
/// counted as sent.
pub fn counted_stream(
    data: Bytes,
    progress: Arc<dyn Progress>,
    link: Arc<dyn Link>,
    sent: Arc<AtomicU64>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    enum State {
        More(Bytes),
        Cut,
        Done,
    }
    let piece_len = link.piece().max(1);
    futures_util::stream::unfold(State::More(data), move |state| {
        let (progress, link, sent) = (progress.clone(), link.clone(), sent.clone());
        async move {
            match state {
                State::Done => None,
                State::Cut => {
                    // Give the connection a moment to flush what got through, then cut.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    let e = std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "link down");
                    Some((Err(e), State::Done))
                }
                State::More(mut rest) => {
                    if rest.is_empty() {
                        return None;
                    }
                    let mut piece = rest.split_to(rest.len().min(piece_len));
                    let through = link.transmit(piece.len() as u64).await as usize;
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
) -> reqwest::Body {
    reqwest::Body::wrap_stream(counted_stream(data, progress, link, sent))
}

/// Sends a request and reports its kind, status and duration to `progress`.
pub async fn timed(
    progress: &dyn Progress,
    kind: &str,
    rb: reqwest::RequestBuilder,
) -> Result<reqwest::Response, reqwest::Error> {
    let t = std::time::Instant::now();
    let r = rb.send().await;
    let status = r.as_ref().map_or(0, |r| r.status().as_u16());
    progress.request(kind, status, t.elapsed().as_secs_f64());
    r
}

/// Classifies a send error.
pub fn network(url: &str, e: &reqwest::Error) -> ClientError {
    let mut why = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        why = format!("{why}: {s}");
        src = s.source();
    }
    ClientError::Network {
        url: url.to_owned(),
        why,
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
    Fail(ClientError),
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
    loop {
        opts.link.round_trip().await;
        match f(attempt).await {
            Step::Done(t) => return Ok(t),
            Step::Fail(e) => return Err(e),
            Step::Retry { why, after } => {
                if attempt >= retry.max_attempts {
                    return Err(ClientError::GaveUp {
                        attempts: attempt,
                        last: why,
                    });
                }
                let d = after.unwrap_or_else(|| retry.delay(attempt));
                progress.retrying(&why, d);
                opts.link.sleep(d).await;
                attempt += 1;
            }
        }
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
    retrying(opts, progress, |_| async {
        match timed(progress, "digest", head().header("Want-Digest", "sha-256")).await {
            Err(e) => Step::Retry {
                why: network(url, &e).to_string(),
                after: None,
            },
            Ok(r) if r.status().as_u16() == 200 => {
                let d = r
                    .headers()
                    .get("digest")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("sha-256="))
                    .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
                match d {
                    Some(d) => Step::Done(upgate_proto::hex::hex(&d)),
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
