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

use tokio::sync::mpsc;

use crate::model::body::{BodyError, ChunkBody, Throttle};

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

/// A response body streamed from a channel of chunks (storage reads), `len` bytes long.
pub fn stream<E>(rx: mpsc::Receiver<Result<Bytes, E>>, len: u64) -> RespBody
where
    E: Into<std::io::Error> + Send + 'static,
{
    StreamBody { rx, left: len }.boxed()
}

struct StreamBody<E> {
    rx: mpsc::Receiver<Result<Bytes, E>>,
    left: u64,
}

impl<E: Into<std::io::Error>> Body for StreamBody<E> {
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
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
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
    throttle: Option<Box<dyn Throttle>>,
    /// Body bytes read so far (counted in `upgate_body_bytes_received_total` once, when
    /// the body is dropped, not per frame).
    received: u64,
}

impl Drop for HyperBody {
    fn drop(&mut self) {
        if self.received > 0 {
            metrics::counter!("upgate_body_bytes_received_total").increment(self.received);
        }
    }
}

impl HyperBody {
    pub fn new(inner: Incoming, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            throttle: None,
            received: 0,
        }
    }

    /// Paces every later frame (a user's bandwidth budget).
    pub fn set_throttle(&mut self, throttle: Option<Box<dyn Throttle>>) {
        self.throttle = throttle;
    }
}

impl HyperBody {
    /// Reads and discards what is left of the body, up to `DRAIN_LIMIT` bytes or
    /// `DRAIN_TIME`, stopping early when the client pauses. Called before answering an error to a request whose body was not
    /// read: a client still sending would otherwise see a connection reset instead of
    /// the answer (which tells it the offset to resume from).
    pub async fn discard_rest(&mut self) {
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
                            self.received += data.len() as u64;
                            if let Some(t) = &self.throttle {
                                t.wait(data.len()).await;
                            }
                            return Ok(Some(data));
                        }
                    }
                }
            }
        }
    }
}
