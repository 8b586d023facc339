//! HTTP plumbing with no protocol knowledge: the accept loop, connection limits and
//! timeouts, graceful shutdown, and the body/response types adapters use.
//!
//! Limits (defaults live in [`crate::config`], with the reasons):
//! - at most `max_connections` connections are served; further accepts wait;
//! - a request head must arrive within `header_timeout` (slowloris), at most 128 KiB
//!   (`431` beyond it);
//! - each body frame must arrive within `body_timeout` ([`body::HyperBody`]); hyper has
//!   no body timeout of its own.
//!
//! On shutdown the listener closes, active upload writers are told to commit what
//! arrived ([`crate::core::UploadService::stop_writers`]), and open connections get
//! `shutdown_grace` to finish their current request.

pub mod body;
pub mod interim;
pub mod tls;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use body::{empty, full, HyperBody, Resp, RespBody};

/// The connection's peer address, in every request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

/// When the request's head was read (before its work was scheduled): which of two
/// requests on one upload is the newer, however late their work starts.
#[derive(Debug, Clone, Copy)]
pub struct Arrival(pub std::time::Instant);

/// The client's address: the peer's, or, when the peer is a trusted proxy
/// (`--trusted-proxy`), the one its `Forwarded` / `X-Forwarded-For` names. In every
/// request's extensions; limits on anonymous requests and logs use it.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub std::net::IpAddr);

/// The client's address for a request from `peer` (see [`ClientIp`]).
fn client_ip(
    req: &Req,
    peer: std::net::IpAddr,
    trusted: &[upgate_proto::net::Cidr],
) -> std::net::IpAddr {
    if trusted.is_empty() {
        return peer;
    }
    let values = |name: &str| -> Vec<&str> {
        req.headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    };
    upgate_proto::forwarded::client_ip(
        peer,
        &values("forwarded"),
        &values("x-forwarded-for"),
        trusted,
    )
}

/// hyper's per-connection read buffer limit, when few connections are open: bounds a
/// request head (431 beyond it) and the size of body reads. 128 KiB reads bodies in
/// frames large enough for full speed (measured: `single` and `parallel` within noise
/// of 256 KiB; 64 KiB cost 13 %).
const MAX_BUF: usize = 128 * 1024;

/// The smallest read buffer a connection gets (and so the largest request head
/// accepted while the server is crowded): ample for any real head.
const MIN_BUF: usize = 16 * 1024;

/// Bytes a connection may make the server hold for it, shared over the connections
/// open when it is accepted: HTTP/2's largest frame (read whole before it is handed on)
/// and flow-control windows (what a client may send that the server has not yet read,
/// e.g. while storage is slow). The first few connections get the full sizes, later
/// ones a share of this budget down to the protocol's small defaults. Over a thousand
/// connections accepted one after another that is ~250 MiB of HTTP/2 windows should
/// every one of them stall at once (instead of up to 32 GiB); a lone fast upload keeps
/// its large windows.
const CONN_BUDGET: usize = 32 << 20;

/// The same for hyper's HTTP/1.1 read buffer, which it never shrinks (and can double
/// when a read lands on unread bytes): a buffer is held for as long as its connection
/// stays open, read from or not, so it has a smaller budget. Over a thousand
/// connections accepted one after another that is ~32 MiB of read buffers (measured
/// with heaptrack at the peak of a thousand slow uploads: 104 MiB with the 32 MiB
/// budget, the largest item on the heap).
const READ_BUDGET: usize = 8 << 20;

/// What a connection accepted while `open` connections are open may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ConnSizes {
    read_buf: usize,
    h2_max_frame: u32,
    h2_stream_window: u32,
    h2_conn_window: u32,
}

fn conn_sizes(open: usize) -> ConnSizes {
    let share = (CONN_BUDGET / open.max(1)) as u32;
    let h2_stream_window = share.clamp(H2_MIN_WINDOW, H2_STREAM_WINDOW);
    ConnSizes {
        read_buf: (READ_BUDGET / open.max(1)).clamp(MIN_BUF, MAX_BUF),
        h2_max_frame: share.clamp(H2_MIN_FRAME, H2_MAX_FRAME),
        h2_stream_window,
        h2_conn_window: share.clamp(h2_stream_window, H2_CONNECTION_WINDOW),
    }
}

/// An incoming request.
pub type Req = hyper::Request<Incoming>;

/// Largest request head (URI and header lines) served: 128 KiB. hyper bounds its read
/// buffer by [`MAX_BUF`], not what a head may add up to, so this is checked once parsed.
const MAX_HEAD: usize = MAX_BUF;

/// Bytes of the request line and header lines, as sent (near enough: names, values,
/// separators).
fn head_bytes(req: &Req) -> usize {
    let uri = req.uri().to_string().len();
    req.headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum::<usize>()
        + uri
        + 16
}

/// `431 Request Header Fields Too Large`; the connection is closed.
fn head_too_large() -> Resp {
    let mut r = hyper::Response::new(full("request head too large (at most 128 KiB)\n"));
    *r.status_mut() = hyper::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
    let h = r.headers_mut();
    h.insert(
        hyper::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        hyper::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    h.insert(
        "x-content-type-options",
        http::HeaderValue::from_static("nosniff"),
    );
    r
}

/// What the server calls for every request; implemented by the protocol router.
pub trait Handler: Send + Sync + 'static {
    fn handle(self: Arc<Self>, req: Req) -> Pin<Box<dyn Future<Output = Resp> + Send>>;
    /// Called once when shutdown starts, before connections are drained.
    fn on_shutdown(&self) {}
}

/// Connection-level limits.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub shutdown_grace: Duration,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` are believed.
    pub trusted_proxies: Arc<Vec<upgate_proto::net::Cidr>>,
    /// TLS on the listener (else plain TCP: HTTP/1.1, or HTTP/2 by prior knowledge).
    pub tls: Option<Arc<tls::Tls>>,
}

/// HTTP/2 flow-control windows: large enough that one stream carries a large body at
/// full speed over a long path (the default 64 KiB would cap it at 64 KiB per round trip).
const H2_STREAM_WINDOW: u32 = 8 << 20;
const H2_CONNECTION_WINDOW: u32 = 32 << 20;
/// HTTP/2's initial window and smallest frame limit (the protocol's defaults).
const H2_MIN_WINDOW: u32 = 64 << 10;
const H2_MIN_FRAME: u32 = 16 << 10;
/// Largest DATA frame a client may send: 1 MiB instead of 16 KiB, fewer frames per
/// chunk (clients choose the size up to this).
const H2_MAX_FRAME: u32 = 1 << 20;
/// Streams one HTTP/2 connection may have open at once.
const H2_MAX_STREAMS: u32 = 128;

/// The connection builder: HTTP/1.1 with the head timeout, HTTP/2 with its stream
/// and head limits; which one is chosen by ALPN on TLS or by the client's preface.
/// Buffer sizes and windows are set per connection ([`sized`]).
fn builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    b.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(H2_MAX_STREAMS)
        .max_header_list_size(MAX_HEAD as u32)
        .keep_alive_interval(Some(Duration::from_secs(30)));
    b
}

/// `base` with the buffer sizes and windows of a connection accepted while `open`
/// connections are open ([`conn_sizes`]).
fn sized(base: &auto::Builder<TokioExecutor>, open: usize) -> auto::Builder<TokioExecutor> {
    let z = conn_sizes(open);
    let mut b = base.clone();
    b.http1().max_buf_size(z.read_buf);
    b.http2()
        .max_frame_size(z.h2_max_frame)
        .initial_stream_window_size(z.h2_stream_window)
        .initial_connection_window_size(z.h2_conn_window);
    b
}

/// Serves `handler` on `listener` until `shutdown` resolves, then drains.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let builder = builder(&limits);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let h = handler.clone();
        let trusted = limits.trusted_proxies.clone();
        let interims = interim::InterimHandle::default();
        let conn_interims = interims.clone();
        let svc = service_fn(move |mut req: Req| {
            let h = h.clone();
            let ip = client_ip(&req, peer.ip(), &trusted);
            req.extensions_mut()
                .insert(Arrival(std::time::Instant::now()));
            req.extensions_mut().insert(Peer(peer));
            req.extensions_mut().insert(ClientIp(ip));
            // 1xx only to HTTP/1.1 clients (see `interim`).
            let interim = (req.version() == hyper::Version::HTTP_11).then(|| interims.open());
            if let Some(i) = &interim {
                req.extensions_mut().insert(i.clone());
            }
            async move {
                if head_bytes(&req) > MAX_HEAD {
                    return Ok(head_too_large());
                }
                let resp = h.handle(req).await;
                if let Some(i) = interim {
                    i.close();
                }
                Ok::<_, std::convert::Infallible>(resp)
            }
        });
        let open = limits.max_connections.max(1) - permits.available_permits();
        let builder = sized(&builder, open);
        let (watcher, tls) = (graceful.watcher(), limits.tls.clone());
        let handshake = limits.header_timeout;
        tokio::spawn(async move {
            let served = match tls {
                None => {
                    let stream = interim::InterimIo::new(stream, conn_interims);
                    let conn = builder.serve_connection(TokioIo::new(stream), svc);
                    watcher.watch(conn.into_owned()).await
                }
                Some(tls) => {
                    match tokio::time::timeout(handshake, tls.acceptor().accept(stream)).await {
                        Ok(Ok(stream)) => {
                            let stream = interim::InterimIo::new(stream, conn_interims);
                            let conn = builder.serve_connection(TokioIo::new(stream), svc);
                            watcher.watch(conn.into_owned()).await
                        }
                        Ok(Err(e)) => Err(e.into()),
                        Err(_) => Err("TLS handshake timed out".into()),
                    }
                }
            };
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: committing in-flight uploads");
    handler.on_shutdown();
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the grace period; closing them");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_get_less_as_more_are_open_and_stay_within_the_budget() {
        let full = ConnSizes {
            read_buf: MAX_BUF,
            h2_max_frame: H2_MAX_FRAME,
            h2_stream_window: H2_STREAM_WINDOW,
            h2_conn_window: H2_CONNECTION_WINDOW,
        };
        assert_eq!(conn_sizes(0), full);
        assert_eq!(conn_sizes(1), full);
        let crowded = ConnSizes {
            read_buf: MIN_BUF,
            h2_max_frame: H2_MIN_FRAME,
            h2_stream_window: H2_MIN_WINDOW,
            h2_conn_window: H2_MIN_WINDOW,
        };
        assert_eq!(conn_sizes(100_000), crowded);
        // Never more per connection than the one before it got; what a thousand
        // connections accepted one after another may hold stays near the budget.
        let (mut reads, mut windows) = (0, 0u64);
        for open in 1..=1000 {
            let (z, next) = (conn_sizes(open), conn_sizes(open + 1));
            assert!(next.read_buf <= z.read_buf && next.h2_conn_window <= z.h2_conn_window);
            assert!(z.h2_conn_window >= z.h2_stream_window, "{open}: {z:?}");
            reads += z.read_buf;
            windows += u64::from(z.h2_conn_window);
        }
        assert!(reads <= 33 << 20, "{reads}"); // ~32 MiB, as documented
        assert!(windows <= 8 * CONN_BUDGET as u64, "{windows}");
    }
}
