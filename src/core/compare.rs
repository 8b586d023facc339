//! Comparing re-sent bytes with the bytes already stored at their position (a client
//! that re-sends a chunk after a lost answer must send the same bytes).

use bytes::Buf;

use super::Result;
use crate::blob::ByteStream;

/// Compares re-sent bytes with stored ones, read in order from a blob range.
pub(super) struct Comparer {
    rx: ByteStream,
    buf: bytes::Bytes,
}

impl Comparer {
    pub(super) fn new(rx: ByteStream) -> Self {
        Comparer {
            rx,
            buf: bytes::Bytes::new(),
        }
    }

    /// Whether `data` equals the next stored bytes (false when the stored range ends
    /// first).
    pub(super) async fn same(&mut self, mut data: &[u8]) -> Result<bool> {
        while !data.is_empty() {
            if self.buf.is_empty() {
                match self.rx.recv().await {
                    Some(Ok(b)) => self.buf = b,
                    Some(Err(e)) => return Err(e.into()),
                    None => return Ok(false),
                }
            }
            let n = self.buf.len().min(data.len());
            if self.buf[..n] != data[..n] {
                return Ok(false);
            }
            self.buf.advance(n);
            data = &data[n..];
        }
        Ok(true)
    }
}
