//! Comparing re-sent bytes with the bytes already stored at their position (a client
//! that re-sends a chunk after a lost answer must send the same bytes).

use bytes::Buf;

use super::Result;
use crate::blob::{BlobError, ByteStream};

/// Compares re-sent bytes with stored ones, read in order from a blob range. When the
/// storage cannot read them back yet (parts of an unfinished object-store multipart
/// upload), re-sent bytes are accepted unverified: the stored bytes win either way.
pub(super) struct Comparer {
    rx: Option<ByteStream>,
    buf: bytes::Bytes,
}

impl Comparer {
    /// A comparer over the result of [`crate::blob::Assembler::read`].
    pub(super) fn of(read: std::result::Result<ByteStream, BlobError>) -> Result<Self> {
        let rx = match read {
            Ok(rx) => Some(rx),
            Err(BlobError::Unreadable(why)) => {
                tracing::debug!(%why, "re-sent bytes not compared");
                None
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Comparer {
            rx,
            buf: bytes::Bytes::new(),
        })
    }

    /// Whether `data` equals the next stored bytes (false when the stored range ends
    /// first).
    pub(super) async fn same(&mut self, mut data: &[u8]) -> Result<bool> {
        let Some(rx) = self.rx.as_mut() else {
            return Ok(true);
        };
        while !data.is_empty() {
            if self.buf.is_empty() {
                match rx.recv().await {
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
