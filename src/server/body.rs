//! Request bodies as [`ChunkBody`] (with the per-frame read timeout) and response bodies
//! (fixed bytes, or a stream from storage).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;

use crate::blob::{BlobError, ByteStream};
use crate::core::body::{BodyError, ChunkBody};
use crate::ratelimit::Pacer;

/// The response body type of every handler.
pub type RespBody = BoxBody<Bytes, std::io::Error>;
/// A response.
pub type Resp = hyper::Response<RespBody>;

/// A response body of fixed bytes.
pub fn full(data: impl Into<Bytes>) -> RespBody {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty response body.
pub fn empty() -> RespBody {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// A response body streamed from storage, `len` bytes long.
pub fn stream(rx: ByteStream, len: u64) -> RespBody {
    StreamBody { rx, left: len }.boxed()
}

struct StreamBody {
    rx: ByteStream,
    left: u64,
}

impl Body for StreamBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Ok(b))) => {
                self.left = self.left.saturating_sub(b.len() as u64);
                Poll::Ready(Some(Ok(Frame::data(b))))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(match e {
                BlobError::Io(io) => io,
                other => std::io::Error::other(other.to_string()),
            }))),
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

/// hyper's body with a per-frame read timeout.
pub struct HyperBody {
    inner: Incoming,
    timeout: Duration,
    pacer: Option<Pacer>,
}

impl HyperBody {
    pub fn new(inner: Incoming, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            pacer: None,
        }
    }

    /// Paces every later frame by the subject's bandwidth budget.
    pub fn set_pacer(&mut self, pacer: Option<Pacer>) {
        self.pacer = pacer;
    }
}

impl HyperBody {
    /// Reads and discards what is left of the body, up to `DRAIN_LIMIT` bytes or
    /// `DRAIN_TIME`, stopping early when the client pauses. Called before answering an error to a request whose body was not
    /// read: a client still sending would otherwise see a connection reset instead of
    /// the answer (which tells it the offset to resume from).
    pub async fn drain(&mut self) {
        const DRAIN_LIMIT: u64 = 8 << 20;
        const DRAIN_TIME: Duration = Duration::from_secs(2);
        const DRAIN_IDLE: Duration = Duration::from_millis(200);
        let deadline = tokio::time::Instant::now() + DRAIN_TIME;
        let mut seen = 0u64;
        while seen < DRAIN_LIMIT {
            let idle = (tokio::time::Instant::now() + DRAIN_IDLE).min(deadline);
            match tokio::time::timeout_at(idle, self.inner.frame()).await {
                Ok(Some(Ok(f))) => seen += f.data_ref().map_or(0, |d| d.len() as u64),
                _ => return, // end, error, idle client or time up
            }
        }
    }
}

impl ChunkBody for HyperBody {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        loop {
            match tokio::time::timeout(self.timeout, self.inner.frame()).await {
                Err(_) => return Err(BodyError::Timeout),
                Ok(None) => return Ok(None),
                Ok(Some(Err(e))) => return Err(BodyError::Disconnected(e.to_string())),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        if !data.is_empty() {
                            if let Some(p) = &self.pacer {
                                p.limits.pace(&p.subject, data.len()).await;
                            }
                            return Ok(Some(data));
                        }
                    }
                }
            }
        }
    }
}
