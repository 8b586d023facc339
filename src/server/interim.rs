//! Informational (1xx) responses on HTTP/1.1, which hyper's server cannot send (it
//! writes `100 Continue` itself and nothing else; its 1xx API is client-side only).
//! Resumable uploads need one: `104 Upload Resumption Supported` tells the client the
//! upload's URL before the body of the creation request has ended.
//!
//! [`InterimIo`] wraps a connection's byte stream under hyper. A handler finds an
//! [`Interim`] in its request's extensions (HTTP/1.1 requests only: HTTP/1.0 clients
//! must not get 1xx, and HTTP/2 would need hyper's own framing) and queues a complete
//! 1xx message; the wrapper writes it between hyper's messages, never inside one:
//!
//! - hyper calls `poll_flush` on the stream only once its write buffer is empty, and
//!   a request's head is read only after the previous response was wholly encoded; so
//!   after a successful flush and before hyper's next write, everything hyper has
//!   written ends at a message boundary (the previous response, or a `100 Continue`).
//!   The wrapper starts a queued message only there ("clean"), and once started it
//!   finishes it before passing on any byte of hyper's.
//! - a handler's queue is closed when its response is produced (the router's service
//!   function calls [`Interim::close`]): a message not yet started is dropped (1xx
//!   responses are optional), so none can land after the final response begins, or
//!   in front of the next request's answer. Later sends on a closed handle do nothing.
//!
//! Writing happens from the connection's own task (on its reads, writes and flushes),
//! which the handler wakes when it queues a message.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};

use futures_util::task::AtomicWaker;
use http::{HeaderMap, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[derive(Default)]
struct Queue {
    messages: VecDeque<Vec<u8>>,
    /// Bytes of the front message already written.
    sent: usize,
    /// The request whose handler may queue; bumped by [`Interim::close`].
    generation: u64,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    /// Something is queued (fast path: the stream checks this before locking).
    queued: AtomicBool,
    waker: AtomicWaker,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A connection's 1xx sender, one per request (in its extensions).
#[derive(Clone)]
pub struct Interim {
    shared: Arc<Shared>,
    generation: u64,
}

impl Interim {
    /// Queues an informational response with `headers`; false if this request's
    /// answer has begun (or the status is not 1xx).
    pub fn send(&self, status: StatusCode, headers: &HeaderMap) -> bool {
        if !status.is_informational() || status == StatusCode::SWITCHING_PROTOCOLS {
            return false;
        }
        let reason = match status.as_u16() {
            104 => "Upload Resumption Supported",
            _ => status.canonical_reason().unwrap_or("Informational"),
        };
        let mut msg = format!("HTTP/1.1 {} {reason}\r\n", status.as_u16()).into_bytes();
        for (name, value) in headers {
            msg.extend_from_slice(name.as_str().as_bytes());
            msg.extend_from_slice(b": ");
            msg.extend_from_slice(value.as_bytes()); // HeaderValue has no CR or LF
            msg.extend_from_slice(b"\r\n");
        }
        msg.extend_from_slice(b"\r\n");
        {
            let mut q = self.shared.lock();
            if q.generation != self.generation {
                return false;
            }
            q.messages.push_back(msg);
            self.shared.queued.store(true, Ordering::Release);
        }
        self.shared.waker.wake();
        true
    }

    /// The request's final answer is being produced: drops what was not started.
    pub fn close(&self) {
        let mut q = self.shared.lock();
        if q.generation != self.generation {
            return;
        }
        q.generation += 1;
        let started = q.sent > 0;
        q.messages.truncate(usize::from(started));
        if q.messages.is_empty() {
            self.shared.queued.store(false, Ordering::Release);
        }
    }
}

/// A connection's stream with room for 1xx messages (see the module docs).
pub struct InterimIo<T> {
    inner: T,
    shared: Arc<Shared>,
    /// Everything hyper wrote so far was flushed, at a message boundary.
    clean: bool,
}

impl<T> InterimIo<T> {
    /// Wraps a connection's stream; `handle` opens the senders of its requests.
    pub fn new(inner: T, handle: InterimHandle) -> Self {
        Self {
            inner,
            shared: handle.0,
            clean: true,
        }
    }
}

/// Opens an [`Interim`] per request of one connection.
#[derive(Clone, Default)]
pub struct InterimHandle(Arc<Shared>);

impl InterimHandle {
    pub fn open(&self) -> Interim {
        let generation = self.0.lock().generation;
        Interim {
            shared: self.0.clone(),
            generation,
        }
    }
}

impl<T: AsyncWrite + Unpin> InterimIo<T> {
    /// Whether a queued message must or may be written now.
    fn due(&self) -> bool {
        self.shared.queued.load(Ordering::Acquire) && (self.clean || self.shared.lock().sent > 0)
    }

    /// Writes queued messages until none is left (or the socket is full).
    fn drive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut q = self.shared.lock();
        while let Some(front) = q.messages.front() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &front[q.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            q.sent += n;
            if q.sent == q.messages.front().map_or(0, Vec::len) {
                q.messages.pop_front();
                q.sent = 0;
            }
        }
        self.shared.queued.store(false, Ordering::Release);
        Poll::Ready(Ok(()))
    }

    /// Before one of hyper's writes: a started message is finished, a queued one is
    /// written if hyper's stream is at a boundary.
    fn before_write(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.shared.waker.register(cx.waker());
        if self.due() {
            ready!(self.drive(cx))?;
        }
        self.clean = false;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for InterimIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.shared.waker.register(cx.waker());
        if this.due() {
            match this.drive(cx) {
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {
                    let _ = Pin::new(&mut this.inner).poll_flush(cx);
                }
                Poll::Pending => {} // the rest goes when the socket takes it
            }
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for InterimIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.before_write(cx))?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.before_write(cx))?;
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.shared.waker.register(cx.waker());
        if this.shared.queued.load(Ordering::Acquire) && this.shared.lock().sent > 0 {
            ready!(this.drive(cx))?;
        }
        ready!(Pin::new(&mut this.inner).poll_flush(cx))?;
        // hyper flushes the stream only with its own buffer empty: a boundary.
        this.clean = true;
        if this.due() {
            ready!(this.drive(cx))?;
            ready!(Pin::new(&mut this.inner).poll_flush(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    /// Messages go between the writer's flushed messages, never inside one; a closed
    /// request's unsent messages are dropped.
    #[tokio::test]
    async fn interim_messages_land_on_boundaries() {
        let (a, mut b) = tokio::io::duplex(1 << 16);
        let handle = InterimHandle::default();
        let mut io = InterimIo::new(a, handle.clone());
        let first = handle.open();
        assert!(first.send(
            StatusCode::from_u16(104).unwrap(),
            &headers(&[("location", "/files/x")])
        ));
        io.write_all(b"HTTP/1.1 100 Continue\r\n").await.unwrap();
        // Queued after a write that was not flushed: not clean, so it waits.
        assert!(first.send(
            StatusCode::from_u16(104).unwrap(),
            &headers(&[("upload-offset", "5")])
        ));
        io.write_all(b"\r\n").await.unwrap();
        io.flush().await.unwrap(); // boundary: the queued message goes now
        first.close();
        assert!(!first.send(StatusCode::from_u16(104).unwrap(), &HeaderMap::new()));
        let second = handle.open();
        assert!(!second.send(StatusCode::OK, &HeaderMap::new()));
        assert!(second.send(StatusCode::from_u16(104).unwrap(), &HeaderMap::new()));
        second.close(); // dropped: never started
        io.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
            .await
            .unwrap();
        io.flush().await.unwrap();
        drop(io);
        let mut got = String::new();
        b.read_to_string(&mut got).await.unwrap();
        assert_eq!(
            got,
            "HTTP/1.1 104 Upload Resumption Supported\r\nlocation: /files/x\r\n\r\n\
             HTTP/1.1 100 Continue\r\n\r\n\
             HTTP/1.1 104 Upload Resumption Supported\r\nupload-offset: 5\r\n\r\n\
             HTTP/1.1 204 No Content\r\n\r\n"
        );
    }
}
