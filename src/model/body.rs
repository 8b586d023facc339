//! The request body as the core sees it: a pull-based source of byte chunks. The HTTP
//! layer adapts hyper's body (with its read timeout) to [`ChunkBody`]; tests feed
//! vectors. A [`Throttle`] paces a body's frames (the rate limiter implements it; the
//! HTTP layer calls it without knowing who is limited or how). A [`Gather`] holds a
//! body's frames back to hand them on in batches.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

/// Why a body stopped before its end.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BodyError {
    /// The connection broke or the client hung up.
    #[error("client disconnected: {0}")]
    Disconnected(String),
    /// No bytes arrived within the read timeout.
    #[error("body read timed out")]
    Timeout,
}

/// A source of body chunks; `Ok(None)` is the clean end.
pub trait ChunkBody: Send {
    fn next_chunk(&mut self) -> impl Future<Output = Result<Option<Bytes>, BodyError>> + Send;
}

/// An in-memory body (tests, and bodies the adapters already hold).
pub struct VecBody(pub std::collections::VecDeque<Bytes>);

impl VecBody {
    pub fn new(chunks: impl IntoIterator<Item = Bytes>) -> Self {
        Self(chunks.into_iter().collect())
    }

    pub fn empty() -> Self {
        Self(Default::default())
    }
}

impl ChunkBody for VecBody {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        Ok(self.0.pop_front())
    }
}

/// Paces a request body: called with each frame's size before the frame is handed on.
pub trait Throttle: Send + Sync {
    /// Waits until `bytes` more body bytes may be read.
    fn wait(&self, bytes: usize) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// Frames held back to be handed on together: whoever takes them (a writer thread, a
/// hashing task) is woken once per batch, not once per frame.
#[derive(Default)]
pub struct Gather {
    frames: Vec<Bytes>,
    len: usize,
}

impl Gather {
    /// Adds a frame; true once the frames held reach `limit` bytes.
    pub fn push(&mut self, frame: Bytes, limit: usize) -> bool {
        self.len += frame.len();
        self.frames.push(frame);
        self.len >= limit
    }

    /// The frames held, if any, leaving none.
    pub fn take(&mut self) -> Option<Vec<Bytes>> {
        if self.frames.is_empty() {
            return None;
        }
        self.len = 0;
        Some(std::mem::take(&mut self.frames))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_reports_a_full_batch_and_hands_it_on_whole() {
        let mut g = Gather::default();
        assert!(g.take().is_none());
        assert!(!g.push(Bytes::from_static(b"abc"), 5));
        assert!(g.push(Bytes::from_static(b"de"), 5));
        let batch = g.take().expect("frames held");
        assert_eq!(batch.concat(), b"abcde");
        assert!(g.take().is_none());
        assert!(
            !g.push(Bytes::from_static(b"f"), 5),
            "the count starts over"
        );
    }
}
